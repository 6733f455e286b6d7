package scenarios

import (
	"github.com/spotdrill/spotdrill/internal/textsafe"

	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Problem is one thing wrong with a scenario, at the place it was found.
type Problem struct {
	File string
	// Line and Col are 1-based. They are 0 when the problem has no place in
	// the file: it is missing, too large or empty.
	Line, Col int
	// Field is the path of the offending value, such as "waves[1].at".
	Field string
	// Msg says what is wrong and, in parentheses, what was expected.
	Msg string
}

// String prints "file:line:col: field: what is wrong (expected ...)",
// leaving out the parts the problem does not have.
// Its text is escaped (internal/textsafe): a file name, a field path or a
// message quoting a value from the file never reaches a terminal raw.
func (p Problem) String() string {
	var b strings.Builder
	file := p.File
	if file == "" {
		file = "<scenario>"
	}
	b.WriteString(file)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return textsafe.Clean(b.String())
}

// Errors is every problem found in a scenario. Parse and Load return it as
// their error, so that a caller can list each problem or print them all.
type Errors struct {
	Problems []Problem
	// cause is the I/O error behind a file that could not be read, kept so
	// that errors.Is(err, fs.ErrNotExist) works.
	cause error
}

// Error prints one problem per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the I/O error behind the problems, if there is one.
func (e *Errors) Unwrap() error { return e.cause }

// newErrors sorts problems by place so that they read top to bottom; the
// sort is stable so problems at one place keep the order they were found in.
func newErrors(probs []Problem) *Errors {
	slices.SortStableFunc(probs, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return &Errors{Problems: probs}
}

// fileProblem is a problem with the file as a whole.
func fileProblem(file, format string, args ...any) *Errors {
	return &Errors{Problems: []Problem{{File: file, Msg: fmt.Sprintf(format, args...)}}}
}

// yamlProblem turns an error of the YAML library into a problem with the
// place of the token it carries and a message without the library's source
// snippet. ix, when not nil, names the field at that place.
func yamlProblem(file string, err error, ix *index) Problem {
	p := Problem{File: file, Msg: yamlMessage(err)}
	var yerr yaml.Error
	if errors.As(err, &yerr) && yerr.GetToken() != nil && yerr.GetToken().Position != nil {
		pos := yerr.GetToken().Position
		p.Line, p.Col = max(pos.Line, 0), max(pos.Column, 0)
		if ix != nil {
			p.Field = ix.fieldAt(position{p.Line, p.Col})
		}
	}
	var unknown *yaml.UnknownFieldError
	if errors.As(err, &unknown) && p.Field != "" {
		// Say which fields the mapping does take, as checkShape does.
		if t := typeAtPath(parentPath(p.Field)); t != nil {
			for t.Kind() == reflect.Pointer {
				t = t.Elem()
			}
			if t.Kind() == reflect.Struct {
				p.Msg += " (expected one of " + strings.Join(fieldNames(t), ", ") + ")"
			}
		}
	}
	return p
}

func yamlMessage(err error) string {
	var (
		syntax   *yaml.SyntaxError
		typ      *yaml.TypeError
		overflow *yaml.OverflowError
		node     *yaml.UnexpectedNodeTypeError
		yerr     yaml.Error
	)
	switch {
	case errors.As(err, &syntax):
		return "invalid YAML: " + syntax.Message + " (expected well-formed YAML)"
	case errors.As(err, &typ):
		got := "a " + kindName(typ.SrcType)
		if typ.Token != nil && typ.SrcType != nil && !slices.Contains([]reflect.Kind{reflect.Map, reflect.Slice, reflect.Struct}, typ.SrcType.Kind()) {
			got = strconv.Quote(typ.Token.Value)
		}
		return fmt.Sprintf("got %s (expected %s)", got, expectation(typ.DstType))
	case errors.As(err, &overflow):
		return fmt.Sprintf("%s is too large (expected %s)", overflow.SrcNum, expectation(overflow.DstType))
	case errors.As(err, &node):
		return fmt.Sprintf("got a %s (expected a %s)", node.Actual.YAMLName(), node.Expected.YAMLName())
	case errors.As(err, &yerr):
		return yerr.GetMessage()
	}
	return err.Error()
}

// kindName names a Go type the way a scenario author thinks of it.
func kindName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.Map, reflect.Struct:
		return "mapping"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	}
	return t.Kind().String()
}

// expectation says what a value of type t looks like in a scenario.
func expectation(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[Duration]():
		return "a duration like 90s, 5m, 1h30m"
	case reflect.TypeFor[Percent]():
		return "a percentage like 25%"
	case reflect.TypeFor[Condition]():
		return `a condition like "ttr.p95 <= 2m"`
	case reflect.TypeFor[Dist]():
		return "a duration like 20m, or a distribution like {dist: uniform, min: 1m, max: 5m}"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	default:
		return "a " + kindName(t)
	}
}
