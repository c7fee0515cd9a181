package tmpl

import (
	"text/template"
	"text/template/parse"
)

// UsesField reports whether t (or a template it defines) refers to the field name of the
// data it is executed with: .name where dot is still that data, or $.name anywhere. Dot is
// the data outside range and with, in their else branches, and — since a caller may pass
// it along — at the top of a defined template. Other references to a field of that name
// (.Values.name, or .name inside {{ with .Values }}) are not the data's field.
func UsesField(t *template.Template, name string) bool {
	for _, tt := range t.Templates() {
		if tt.Tree != nil && usesField(tt.Tree.Root, name, true) {
			return true
		}
	}
	return false
}

// usesField walks n; root says whether dot is the data there.
func usesField(n parse.Node, name string, root bool) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if usesField(c, name, root) {
				return true
			}
		}
	case *parse.ActionNode:
		return usesField(n.Pipe, name, root)
	case *parse.IfNode:
		return usesField(n.Pipe, name, root) || usesField(n.List, name, root) || usesField(n.ElseList, name, root)
	case *parse.WithNode:
		return usesField(n.Pipe, name, root) || usesField(n.List, name, false) || usesField(n.ElseList, name, root)
	case *parse.RangeNode:
		return usesField(n.Pipe, name, root) || usesField(n.List, name, false) || usesField(n.ElseList, name, root)
	case *parse.TemplateNode:
		return usesField(n.Pipe, name, root)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if usesField(c, name, root) {
				return true
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if usesField(a, name, root) {
				return true
			}
		}
	case *parse.ChainNode:
		return usesField(n.Node, name, root)
	case *parse.FieldNode:
		return root && len(n.Ident) > 0 && n.Ident[0] == name
	case *parse.VariableNode:
		return len(n.Ident) > 1 && n.Ident[0] == "$" && n.Ident[1] == name
	}
	return false
}
