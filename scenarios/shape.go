package scenarios

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// checkShape walks the syntax tree alongside the Go types and reports, with
// their places, every unknown field, every value of the wrong kind and every
// duration, percentage or distribution that does not parse. The YAML
// library stops at the first such error and reports errors of the custom
// value types without a place; this walk finds them all at once.
//
// Aliases are not followed: what they refer to is checked where it is
// defined, and the decoder catches the rest.
func checkShape(body ast.Node, ix *index, file string) []Problem {
	c := shapeChecker{file: file, ix: ix}
	c.check(body, reflect.TypeFor[Scenario](), "")
	return c.probs
}

type shapeChecker struct {
	file  string
	ix    *index
	probs []Problem
}

var (
	distType             = reflect.TypeFor[Dist]()
	valueUnmarshalerType = reflect.TypeFor[yaml.InterfaceUnmarshaler]()
)

// add reports a problem at a scalar's value or, for a mapping or a list, at
// its key.
func (c *shapeChecker) add(n ast.Node, field, msg string) {
	pos := nodePos(n)
	if !isScalar(n) {
		pos = c.ix.lookup(field)
	}
	c.probs = append(c.probs, Problem{File: c.file, Line: pos.line, Col: pos.col, Field: field, Msg: msg})
}

func (c *shapeChecker) check(n ast.Node, t reflect.Type, path string) {
	n = unwrap(n)
	if _, ok := n.(*ast.AliasNode); ok || n == nil {
		return
	}
	if t.Kind() == reflect.Pointer {
		if n.Type() == ast.NullType {
			return
		}
		t = t.Elem()
	}
	_, isMapping := mappingEntries(n)
	switch {
	case t == distType && isMapping:
		// The mapping form of a distribution decodes as its plain fields.
		c.checkStruct(n, reflect.TypeFor[distFields](), path)
	case reflect.PointerTo(t).Implements(valueUnmarshalerType) || isBasic(t):
		c.checkLeaf(n, t, path)
	case t.Kind() == reflect.Struct:
		c.checkStruct(n, t, path)
	case t.Kind() == reflect.Slice:
		c.checkSlice(n, t, path)
	case t.Kind() == reflect.Map:
		c.checkMap(n, t, path)
	}
}

func isBasic(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Slice, reflect.Map, reflect.Array, reflect.Interface, reflect.Pointer:
		return false
	}
	return true
}

// checkLeaf decodes one scalar on its own, with the YAML library's own rules
// for its type, and reports what went wrong at the scalar's place.
func (c *shapeChecker) checkLeaf(n ast.Node, t reflect.Type, path string) {
	if !isScalar(n) {
		c.add(n, path, fmt.Sprintf("got %s (expected %s)", describeNode(n), expectation(t)))
		return
	}
	v := reflect.New(t)
	err := safely(func() error { return yaml.NodeToValue(n, v.Interface()) })
	if err == nil {
		return
	}
	var (
		yerr     yaml.Error
		overflow *yaml.OverflowError
	)
	switch {
	case errors.As(err, &overflow):
		c.add(n, path, fmt.Sprintf("%s is too large (expected %s)", overflow.SrcNum, expectation(t)))
	case errors.As(err, &yerr):
		c.add(n, path, fmt.Sprintf("got %s (expected %s)", describeNode(n), expectation(t)))
	default:
		// The value types' own errors already say what was expected.
		c.add(n, path, err.Error())
	}
}

func (c *shapeChecker) checkStruct(n ast.Node, t reflect.Type, path string) {
	if n.Type() == ast.NullType {
		return
	}
	entries, ok := mappingEntries(n)
	if !ok {
		c.add(n, path, fmt.Sprintf("got %s (expected %s)", describeNode(n), expectation(t)))
		return
	}
	fields := yamlFields(t)
	for i, mv := range entries {
		if mv.Key != nil && mv.Key.IsMergeKey() && i > 0 {
			// The decoder lets whichever comes last win, where YAML says
			// the mapping's own keys do: with "<<" first both agree.
			c.add(mv.Key, path, `"<<" is not the first key of its mapping (expected "<<: *anchor" first, so that the keys after it override the merged ones)`)
		}
		if mv.Key != nil && mv.Key.IsMergeKey() {
			// A mapping merged in place holds fields of this struct; one
			// merged through an alias is checked by the decoder.
			if merged := unwrap(mv.Value); merged != nil && merged.Type() != ast.AliasType && merged.Type() != ast.SequenceType {
				c.checkStruct(merged, t, path)
			}
			continue
		}
		if mv.Key == nil {
			continue
		}
		key := keyText(mv.Key)
		f, ok := fields[key]
		if !ok {
			c.add(mv.Key, joinPath(path, key), fmt.Sprintf("unknown field %q (expected one of %s)", key, strings.Join(fieldNames(t), ", ")))
			continue
		}
		c.check(mv.Value, f.Type, joinPath(path, key))
	}
}

func (c *shapeChecker) checkSlice(n ast.Node, t reflect.Type, path string) {
	if n.Type() == ast.NullType {
		return
	}
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		c.add(n, path, fmt.Sprintf("got %s (expected a list)", describeNode(n)))
		return
	}
	for i, v := range seq.Values {
		c.check(v, t.Elem(), path+"["+strconv.Itoa(i)+"]")
	}
}

func (c *shapeChecker) checkMap(n ast.Node, t reflect.Type, path string) {
	if n.Type() == ast.NullType {
		return
	}
	entries, ok := mappingEntries(n)
	if !ok {
		c.add(n, path, fmt.Sprintf("got %s (expected a mapping)", describeNode(n)))
		return
	}
	for _, mv := range entries {
		if mv.Key == nil || mv.Key.IsMergeKey() {
			continue
		}
		c.check(mv.Value, t.Elem(), joinPath(path, keyText(mv.Key)))
	}
}

// yamlFields maps the yaml names of a struct's decoded fields to the fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	fields := make(map[string]reflect.StructField, t.NumField())
	for f := range t.Fields() {
		if name := yamlName(f); name != "" {
			fields[name] = f
		}
	}
	return fields
}

// fieldNames lists a struct's yaml names in declaration order, for messages.
func fieldNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if name := yamlName(f); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// typeAtPath returns the Go type of the field at a path such as
// "fleet.pools[0].zones", or nil if the path names no field.
func typeAtPath(path string) reflect.Type {
	t := reflect.TypeFor[Scenario]()
	for path != "" {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == distType {
			t = reflect.TypeFor[distFields]()
		}
		var seg string
		if strings.HasPrefix(path, "[") {
			end := strings.IndexByte(path, ']')
			if end < 0 || (t.Kind() != reflect.Slice && t.Kind() != reflect.Array) {
				return nil
			}
			t, path = t.Elem(), path[end+1:]
			continue
		}
		path = strings.TrimPrefix(path, ".")
		end := strings.IndexAny(path, ".[")
		if end < 0 {
			end = len(path)
		}
		seg, path = path[:end], path[end:]
		switch t.Kind() {
		case reflect.Struct:
			f, ok := yamlFields(t)[seg]
			if !ok {
				return nil
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}
