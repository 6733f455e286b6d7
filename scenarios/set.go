package scenarios

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Set replaces one scalar field of a scenario before it is decoded, as
// `spotdrill sweep --set PATH=VALUE` does. Path addresses the field by its
// YAML keys: "fleet.evictionRate", "workload.checkpoint.interval", and list
// items by index or by name: "fleet.pools[0].capacity",
// "fleet.pools[batch-spot].capacity", "waves[first-strike].at".
//
// The value is YAML, written as it would be in the file, and goes through
// exactly the decoding, defaults and validation of the file's own values:
// a value the file could not hold is refused with the path.
type Set struct {
	Path  string
	Value string
}

func (s Set) String() string { return s.Path + "=" + s.Value }

// Limits on a set: a path is a few keys, a value a scalar.
const (
	maxSetPath  = 256
	maxSetValue = 1024
)

// ParseWith is Parse with the sets applied to the document first, in order.
// A problem caused by a set names it.
func ParseWith(data []byte, file string, sets []Set) (*Scenario, error) {
	return parseWith(data, file, sets, nil)
}

// parseWith is ParseWith with the environment passed in, for tests; nil
// means the process's own.
func parseWith(data []byte, file string, sets []Set, lookupEnv func(string) (string, bool)) (*Scenario, error) {
	doc, errs := readDocument(data, file)
	if errs != nil {
		return nil, errs
	}
	fields := make([]string, len(sets))
	for i, s := range sets {
		field, p := applySet(doc.body, s)
		if p != nil {
			p.File = "--set " + s.String()
			return nil, newErrors([]Problem{*p})
		}
		fields[i] = field
	}
	if len(sets) > 0 {
		doc.ix = newIndex(doc.body)
	}
	sc, err := decodeDocument(doc, file, lookupEnv)
	if err == nil {
		return sc, nil
	}
	if e, ok := err.(*Errors); ok {
		for i := range e.Problems {
			p := &e.Problems[i]
			for j, f := range fields {
				if p.Field == f || strings.HasPrefix(p.Field, f+".") || strings.HasPrefix(p.Field, f+"[") {
					p.Msg += fmt.Sprintf(" (the value comes from --set %s)", sets[j])
				}
			}
		}
	}
	return nil, err
}

// applySet puts the set's value in the document and returns the canonical
// path of the field it set (list items by index, as problems name them).
func applySet(body ast.Node, s Set) (string, *Problem) {
	if len(s.Path) > maxSetPath || len(s.Value) > maxSetValue {
		return "", &Problem{Msg: fmt.Sprintf("the path or value is too long (expected a path under %d bytes and a scalar value under %d)", maxSetPath, maxSetValue)}
	}
	segs, err := splitSetPath(s.Path)
	if err != nil {
		return "", &Problem{Msg: err.Error()}
	}
	value, err := scalarNode(s.Value)
	if err != nil {
		return "", &Problem{Field: s.Path, Msg: err.Error()}
	}
	node := body
	canonical := ""
	for i, seg := range segs {
		last := i == len(segs)-1
		entries, ok := mappingEntries(unwrap(node))
		if !ok {
			return "", &Problem{Field: canonical, Msg: fmt.Sprintf("%q is not a mapping (expected a path through mappings and lists to one field)", orRoot(canonical))}
		}
		var found *ast.MappingValueNode
		for _, mv := range entries {
			if mv.Key != nil && !mv.Key.IsMergeKey() && keyText(mv.Key) == seg.key {
				found = mv
			}
		}
		canonical = joinPath(canonical, seg.key)
		if found == nil {
			if typeAtPath(canonical) == nil {
				return "", &Problem{Field: canonical, Msg: "no such field in a scenario (expected a path such as fleet.evictionRate or workload.checkpoint.interval)"}
			}
			if !last || seg.sel != "" {
				return "", &Problem{Field: canonical, Msg: fmt.Sprintf("the scenario has no %s to set a field in (expected a path whose mappings and lists the file writes)", canonical)}
			}
			if p := settable(canonical); p != nil {
				return "", p
			}
			if p := insertEntry(node, seg.key, value); p != nil {
				p.Field = canonical
				return "", p
			}
			return canonical, nil
		}
		if seg.sel != "" {
			seq, ok := unwrap(found.Value).(*ast.SequenceNode)
			if !ok {
				return "", &Problem{Field: canonical, Msg: fmt.Sprintf("%s is not a list (expected [index] or [name] only after a list)", canonical)}
			}
			idx, p := selectItem(seq, seg.sel, canonical)
			if p != nil {
				return "", p
			}
			canonical += "[" + strconv.Itoa(idx) + "]"
			if last {
				return "", &Problem{Field: canonical, Msg: "a list item is not a scalar field (expected a path that ends at one field of the item)"}
			}
			node = seq.Values[idx]
			continue
		}
		if !last {
			node = found.Value
			continue
		}
		if p := settable(canonical); p != nil {
			return "", p
		}
		if _, isAlias := found.Value.(*ast.AliasNode); isAlias || !isScalar(found.Value) {
			return "", &Problem{Field: canonical, Msg: fmt.Sprintf("%s is not a scalar in the file (expected a path to a single value such as a number, a duration or a name)", canonical)}
		}
		movePositions(value, found.Value.GetToken())
		found.Value = value
		return canonical, nil
	}
	return "", &Problem{Msg: "empty path (expected a field such as fleet.evictionRate)"}
}

func orRoot(path string) string {
	if path == "" {
		return "the document"
	}
	return path
}

// settable refuses a field the scenario type does not have, or one that is
// not a single value.
func settable(path string) *Problem {
	t := typeAtPath(path)
	if t == nil {
		return &Problem{Field: path, Msg: "no such field in a scenario (expected a path such as fleet.evictionRate or workload.checkpoint.interval)"}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	scalarLike := reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.InterfaceUnmarshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.BytesUnmarshaler]())
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return &Problem{Field: path, Msg: "a list or mapping cannot be swept (expected a path to a single value)"}
	case reflect.Struct:
		if !scalarLike {
			return &Problem{Field: path, Msg: "a mapping cannot be swept (expected a path to one of its fields)"}
		}
	}
	return nil
}

type setSeg struct{ key, sel string }

// splitSetPath splits "a.b[x].c" into its keys and selectors.
func splitSetPath(path string) ([]setSeg, error) {
	if path == "" {
		return nil, fmt.Errorf("empty path (expected a field such as fleet.evictionRate)")
	}
	var segs []setSeg
	for part := range strings.SplitSeq(path, ".") {
		seg := setSeg{key: part}
		if i := strings.IndexByte(part, '['); i >= 0 {
			if !strings.HasSuffix(part, "]") || i == len(part)-2 {
				return nil, fmt.Errorf("%q: a selector is written [index] or [name] at the end of a key (expected, for example, fleet.pools[batch-spot].capacity)", part)
			}
			seg.key, seg.sel = part[:i], part[i+1:len(part)-1]
			if strings.ContainsAny(seg.sel, "[]") {
				return nil, fmt.Errorf("%q: one selector per key (expected, for example, fleet.pools[0].capacity)", part)
			}
		}
		if seg.key == "" {
			return nil, fmt.Errorf("path %q has an empty key (expected keys separated by single dots)", path)
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// selectItem finds a list item by index or by its name field.
func selectItem(seq *ast.SequenceNode, sel, field string) (int, *Problem) {
	if i, err := strconv.Atoi(sel); err == nil {
		if i < 0 || i >= len(seq.Values) {
			return 0, &Problem{Field: field, Msg: fmt.Sprintf("index %d is outside the list of %d (expected 0 to %d, or an item's name)", i, len(seq.Values), len(seq.Values)-1)}
		}
		return i, nil
	}
	var names []string
	for i, item := range seq.Values {
		entries, ok := mappingEntries(unwrap(item))
		if !ok {
			continue
		}
		for _, mv := range entries {
			if mv.Key != nil && keyText(mv.Key) == "name" && isScalar(mv.Value) {
				name := scalarText(mv.Value)
				if name == sel {
					return i, nil
				}
				names = append(names, name)
			}
		}
	}
	return 0, &Problem{Field: field, Msg: fmt.Sprintf("no item named %q (expected one of: %s)", sel, strings.Join(names, ", "))}
}

func scalarText(n ast.Node) string {
	switch v := unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value
	default:
		if tk := n.GetToken(); tk != nil {
			return tk.Value
		}
	}
	return ""
}

// scalarNode parses a value as YAML and insists on a scalar.
func scalarNode(value string) (ast.Node, error) {
	if strings.ContainsAny(value, "\n\r") {
		return nil, fmt.Errorf("value %q spans lines (expected a single scalar value)", value)
	}
	f, err := parser.ParseBytes([]byte("v: "+value), 0)
	if err != nil {
		return nil, fmt.Errorf("value %q is not valid YAML (expected a scalar, quoted if it holds ': ' or '#')", value)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("value %q is not a scalar (expected a number, a duration, a percentage or a name)", value)
	}
	entries, ok := mappingEntries(f.Docs[0].Body)
	if !ok || len(entries) != 1 || entries[0].Value == nil {
		return nil, fmt.Errorf("value %q is not a scalar (expected a number, a duration, a percentage or a name)", value)
	}
	v := entries[0].Value
	switch v.(type) {
	case *ast.AliasNode, *ast.AnchorNode:
		return nil, fmt.Errorf("value %q uses an anchor or alias (expected a plain scalar)", value)
	}
	if !isScalar(v) {
		return nil, fmt.Errorf("value %q is not a scalar (expected a number, a duration, a percentage or a name)", value)
	}
	return v, nil
}

// insertEntry adds "key: value" to the mapping node.
func insertEntry(node ast.Node, key string, value ast.Node) *Problem {
	m, ok := unwrap(node).(*ast.MappingNode)
	if !ok {
		return &Problem{Msg: "the field is absent and its mapping holds a single key (expected a field the file writes, or a mapping of two keys or more to add it to)"}
	}
	f, err := parser.ParseBytes([]byte(strconv.Quote(key)+": x"), 0)
	if err != nil || len(f.Docs) != 1 {
		return &Problem{Msg: fmt.Sprintf("key %q cannot be written (expected a plain field name)", key)}
	}
	entries, ok := mappingEntries(f.Docs[0].Body)
	if !ok || len(entries) != 1 {
		return &Problem{Msg: fmt.Sprintf("key %q cannot be written (expected a plain field name)", key)}
	}
	mv := entries[0]
	pos := m.GetToken()
	if len(m.Values) > 0 && m.Values[len(m.Values)-1].Key != nil {
		pos = m.Values[len(m.Values)-1].Key.GetToken()
	}
	movePositions(mv, pos)
	movePositions(value, pos)
	mv.Value = value
	m.Values = append(m.Values, mv)
	return nil
}

// movePositions gives every token of n the position of at, so that the
// decoder's errors about a set value point where the value replaced, not
// into the one-line document it was parsed from.
func movePositions(n ast.Node, at *token.Token) {
	if at == nil || at.Position == nil {
		return
	}
	ast.Walk(positionMover{at.Position}, n)
}

type positionMover struct{ pos *token.Position }

func (m positionMover) Visit(n ast.Node) ast.Visitor {
	if tk := n.GetToken(); tk != nil {
		p := *m.pos
		tk.Position = &p
	}
	return m
}
