package scenarios

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// MaxFileSize is the largest scenario file the tool reads. Real scenarios
// are a few kilobytes; the cap keeps a wrong path (a disk image, a log) from
// being read into memory.
const MaxFileSize = 1 << 20

// Limits on the shape of a document. The YAML parser's time and memory grow
// with the square of the nesting depth and of the number of keys in one
// mapping, and aliases can expand a small file into billions of nodes; these
// caps keep any file of MaxFileSize parsing in well under a second. Real
// scenarios nest about six levels and hold a few hundred keys, at most a few
// dozen in one mapping; the largest allowed (MaxWaves one-line waves) holds
// about 40,000.
const (
	maxTokens        = 200_000
	maxDepth         = 64
	maxKeys          = 50_000
	maxMappingKeys   = 2_000
	maxExpandedNodes = 200_000
)

// document is a scenario's YAML syntax tree, checked to be one mapping of
// reasonable size, with the index of its fields' places.
type document struct {
	body ast.Node
	ix   *index
}

// readDocument parses data into a document, or says why it cannot.
func readDocument(data []byte, file string) (*document, *Errors) {
	if len(data) > MaxFileSize {
		return nil, fileProblem(file, "scenario file is %s, larger than the 1 MiB limit (expected a scenario file under 1 MiB)", formatSize(int64(len(data))))
	}
	if !utf8.Valid(data) {
		return nil, fileProblem(file, "the file is not UTF-8 text (expected a UTF-8 YAML file)")
	}
	// A byte order mark may start a YAML stream; the scanner would take it
	// for part of the first key.
	src := strings.TrimPrefix(string(data), "\ufeff")
	var tokens token.Tokens
	if err := safely(func() error { tokens = lexer.Tokenize(src); return nil }); err != nil {
		return nil, fileProblem(file, "%v", err)
	}
	if p := checkTokens(tokens); p != nil {
		p.File = file
		return nil, newErrors([]Problem{*p})
	}
	var f *ast.File
	err := safely(func() error {
		var err error
		f, err = parser.Parse(tokens, 0)
		return err
	})
	if err != nil {
		return nil, newErrors([]Problem{yamlProblem(file, err, nil)})
	}
	body, p := singleBody(f)
	if p != nil {
		p.File = file
		return nil, newErrors([]Problem{*p})
	}
	if n, aliases := expandedSize(body); n > maxExpandedNodes {
		pos := nodePos(body)
		msg := fmt.Sprintf("aliases expand the document to more than %d nodes (expected a scenario that uses aliases sparingly)", maxExpandedNodes)
		if aliases == 0 {
			msg = fmt.Sprintf("the document has more than %d nodes (expected a scenario of a few thousand lines at most)", maxExpandedNodes)
		}
		return nil, newErrors([]Problem{{File: file, Line: pos.line, Col: pos.col, Msg: msg}})
	}
	return &document{body: body, ix: newIndex(body)}, nil
}

// formatSize prints a byte count in decimal megabytes ("50.0 MB").
func formatSize(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// safely runs f, turning a panic inside the YAML library into an error: no
// scenario file, however broken, may crash the tool.
func safely(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the YAML parser failed on this input: %v (expected well-formed YAML)", r)
		}
	}()
	return f()
}

// checkTokens refuses token streams that would make the parser slow: too
// many tokens, too many keys, or nesting too deep. Block nesting is measured
// by the columns at which lines, "- " entries and "? " keys start.
func checkTokens(tokens token.Tokens) *Problem {
	if len(tokens) > maxTokens {
		return &Problem{Msg: fmt.Sprintf("the file has more than %d YAML tokens (expected a scenario of a few thousand lines at most)", maxTokens)}
	}
	var (
		flow, keys int
		lastLine   = -1
		columns    []int
		// Keys per mapping: flow mappings on a stack, block mappings by
		// the column of their keys, reset when the block they are in ends
		// or a new sequence entry starts a sibling mapping.
		flowKeys  []int
		blockKeys = map[int]int{}
		prev      *token.Token
	)
	resetBelow := func(c int) {
		for col := range blockKeys {
			if col > c {
				delete(blockKeys, col)
			}
		}
	}
	for _, tk := range tokens {
		if tk.Type == token.CommentType || tk.Position == nil {
			continue
		}
		first := tk.Position.Line != lastLine
		lastLine = tk.Position.Line
		if flow == 0 && first {
			resetBelow(tk.Position.Column)
		}
		inMapping := 0
		switch tk.Type {
		case token.MappingStartType:
			flowKeys = append(flowKeys, 0)
			flow++
		case token.SequenceStartType:
			flow++
		case token.MappingEndType:
			if len(flowKeys) > 0 {
				flowKeys = flowKeys[:len(flowKeys)-1]
			}
			flow = max(flow-1, 0)
		case token.SequenceEndType:
			flow = max(flow-1, 0)
		case token.SequenceEntryType:
			if flow == 0 {
				resetBelow(tk.Position.Column)
			}
		case token.MappingValueType:
			keys++
			switch {
			case flow > 0 && len(flowKeys) > 0:
				flowKeys[len(flowKeys)-1]++
				inMapping = flowKeys[len(flowKeys)-1]
			case flow == 0 && prev != nil:
				blockKeys[prev.Position.Column]++
				inMapping = blockKeys[prev.Position.Column]
			}
		}
		prev = tk
		if flow == 0 && (first || tk.Type == token.SequenceEntryType || tk.Type == token.MappingKeyType) {
			c := tk.Position.Column
			for len(columns) > 0 && columns[len(columns)-1] >= c {
				columns = columns[:len(columns)-1]
			}
			columns = append(columns, c)
		}
		switch {
		case flow+len(columns) > maxDepth:
			return tokenProblem(tk, fmt.Sprintf("nesting is deeper than %d levels (expected a scenario nested a few levels deep)", maxDepth))
		case keys > maxKeys:
			return tokenProblem(tk, fmt.Sprintf("the file has more than %d mapping keys (expected a scenario of a few thousand lines at most)", maxKeys))
		case inMapping > maxMappingKeys:
			return tokenProblem(tk, fmt.Sprintf("a mapping has more than %d keys (expected a few dozen at most in one mapping)", maxMappingKeys))
		}
	}
	return nil
}

func tokenProblem(tk *token.Token, msg string) *Problem {
	return &Problem{Line: max(tk.Position.Line, 0), Col: max(tk.Position.Column, 0), Msg: msg}
}

// singleBody returns the one document of a file, which must be a mapping.
func singleBody(f *ast.File) (ast.Node, *Problem) {
	var bodies []*ast.DocumentNode
	for _, d := range f.Docs {
		if d == nil || d.Body == nil {
			continue
		}
		if _, ok := d.Body.(*ast.DirectiveNode); ok {
			continue // "%YAML 1.2" before the document
		}
		bodies = append(bodies, d)
	}
	switch {
	case len(bodies) == 0:
		return nil, &Problem{Msg: "the scenario file is empty (expected a GameDay document with apiVersion, kind, metadata, duration and target)"}
	case len(bodies) > 1:
		pos := nodePos(bodies[1].Body)
		if bodies[1].Start != nil && bodies[1].Start.Position != nil {
			pos = position{bodies[1].Start.Position.Line, bodies[1].Start.Position.Column}
		}
		return nil, &Problem{Line: pos.line, Col: pos.col,
			Msg: "a second YAML document (expected one scenario per file; remove the --- separator and what follows, or split the file)"}
	}
	body := bodies[0].Body
	if _, ok := mappingEntries(unwrap(body)); !ok {
		pos := nodePos(body)
		return nil, &Problem{Line: pos.line, Col: pos.col,
			Msg: fmt.Sprintf("the document is %s (expected a mapping with apiVersion, kind, metadata, duration and target)", describeNode(body))}
	}
	return body, nil
}

// expandedSize counts the nodes of a tree with every alias replaced by what
// it refers to, without expanding anything: each anchor's size is worked out
// once. The count saturates just above maxExpandedNodes. It also returns
// the number of aliases, to tell an alias bomb from a merely huge document.
func expandedSize(body ast.Node) (size, aliases int) {
	c := aliasCounter{anchors: map[string]int{}}
	return c.size(body), c.aliases
}

type aliasCounter struct {
	anchors map[string]int
	aliases int
}

func (c *aliasCounter) size(n ast.Node) int {
	switch v := n.(type) {
	case nil:
		return 0
	case *ast.AliasNode:
		c.aliases++
		if v.Value == nil {
			return 1
		}
		if s, ok := c.anchors[v.Value.String()]; ok {
			return s
		}
		return 1
	case *ast.AnchorNode:
		s := addSat(1, c.size(v.Value))
		if v.Name != nil {
			c.anchors[v.Name.GetToken().Value] = s
		}
		return s
	case *ast.MappingNode:
		s := 1
		for _, mv := range v.Values {
			s = addSat(s, c.size(mv))
		}
		return s
	case *ast.MappingValueNode:
		return addSat(addSat(1, c.size(v.Key)), c.size(v.Value))
	case *ast.MappingKeyNode:
		return addSat(1, c.size(v.Value))
	case *ast.SequenceNode:
		s := 1
		for _, e := range v.Values {
			s = addSat(s, c.size(e))
		}
		return s
	case *ast.TagNode:
		return addSat(1, c.size(v.Value))
	}
	return 1
}

// addSat adds sizes, stopping just above the budget so sums never overflow.
func addSat(a, b int) int {
	return min(a+b, maxExpandedNodes+1)
}

// describeNode names what a node is, for messages: a quoted scalar, "a
// mapping", "a list".
func describeNode(n ast.Node) string {
	switch v := unwrap(n).(type) {
	case nil:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "null"
	case *ast.AliasNode:
		return "an alias"
	default:
		tk := v.GetToken()
		if tk == nil {
			return "a value"
		}
		return fmt.Sprintf("%q", tk.Value)
	}
}
