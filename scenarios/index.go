package scenarios

import (
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// position is a 1-based line and column in the scenario file.
type position struct{ line, col int }

// index maps field paths such as "waves[1].at" to the place their value
// starts, so that problems found on the decoded Go value can point into the
// file. It is built by walking the YAML syntax tree once.
type index struct {
	byPath map[string]position
	// byPos names the field at a key's or a value's place, for errors of
	// the YAML library that carry only a token.
	byPos map[position]string
	root  position
}

func newIndex(body ast.Node) *index {
	ix := &index{byPath: map[string]position{}, byPos: map[position]string{}}
	ix.root = nodePos(body)
	ix.byPath[""] = ix.root
	ix.walk(body, "")
	return ix
}

// lookup returns the place of a field or, when the field is absent from the
// file (a missing required field, a default), of its nearest parent.
func (ix *index) lookup(path string) position {
	for {
		if p, ok := ix.byPath[path]; ok {
			return p
		}
		if path == "" {
			return ix.root
		}
		path = parentPath(path)
	}
}

// fieldAt names the field whose key or value starts at p, or "" if none.
func (ix *index) fieldAt(p position) string { return ix.byPos[p] }

// has reports whether the file writes a field itself.
func (ix *index) has(path string) bool {
	_, ok := ix.byPath[path]
	return ok
}

// parentPath drops the last ".key" or "[i]" of a path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func (ix *index) walk(n ast.Node, path string) {
	n = unwrap(n)
	if entries, ok := mappingEntries(n); ok {
		for _, mv := range entries {
			ix.entry(mv, path)
		}
		return
	}
	if seq, ok := n.(*ast.SequenceNode); ok {
		for i, v := range seq.Values {
			p := path + "[" + strconv.Itoa(i) + "]"
			pos := nodePos(v)
			ix.byPath[p] = pos
			ix.byPos[pos] = p
			ix.walk(v, p)
		}
	}
}

func (ix *index) entry(mv *ast.MappingValueNode, parent string) {
	if mv.Key == nil {
		return
	}
	if mv.Key.IsMergeKey() {
		// A mapping merged in place holds fields of this one. One merged
		// through an alias is indexed where its anchor is.
		ix.walk(mv.Value, parent)
		return
	}
	p := joinPath(parent, keyText(mv.Key))
	keyPos := nodePos(mv.Key)
	ix.byPos[keyPos] = p
	// A scalar is pointed at where its value starts; a mapping or a list at
	// its key, which is where a reader looks for it.
	if isScalar(mv.Value) {
		valuePos := nodePos(mv.Value)
		ix.byPath[p] = valuePos
		ix.byPos[valuePos] = p
	} else {
		ix.byPath[p] = keyPos
	}
	ix.walk(mv.Value, p)
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// unwrap looks through anchors and tags to the node they mark.
func unwrap(n ast.Node) ast.Node {
	for range 64 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			if v.Value == nil || isScalar(v.Value) {
				return n
			}
			n = v.Value
		default:
			return n
		}
	}
	return n
}

// mappingEntries returns the key-value pairs of a mapping. The parser gives
// a lone pair as a MappingValueNode rather than a one-entry MappingNode.
func mappingEntries(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}, true
	}
	return nil, false
}

func isScalar(n ast.Node) bool {
	switch unwrap(n).(type) {
	case nil, *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
		return false
	}
	return true
}

// keyText is the text of a mapping key.
func keyText(k ast.Node) string {
	for range 64 {
		switch v := k.(type) {
		case *ast.MappingKeyNode:
			k = v.Value
		case *ast.AnchorNode:
			k = v.Value
		case *ast.TagNode:
			k = v.Value
		case *ast.StringNode:
			return v.Value
		case nil:
			return ""
		default:
			if tk := k.GetToken(); tk != nil {
				return tk.Value
			}
			return ""
		}
	}
	return ""
}

// nodePos is where a node starts. A block mapping's own token is the colon
// of its first key, so it is placed at that key instead.
func nodePos(n ast.Node) position {
	if n == nil {
		return position{}
	}
	if entries, ok := mappingEntries(n); ok && !isFlowMapping(n) && len(entries) > 0 && entries[0].Key != nil {
		return nodePos(entries[0].Key)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return position{}
	}
	return position{max(tk.Position.Line, 0), max(tk.Position.Column, 0)}
}

func isFlowMapping(n ast.Node) bool {
	m, ok := n.(*ast.MappingNode)
	return ok && m.IsFlowStyle
}
