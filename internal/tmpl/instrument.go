package tmpl

import (
	"text/template"
	"text/template/parse"
)

// Names of the functions instrument adds to a parse tree. They are not in the parse-time
// function map, so a template's own text cannot call them (it would not parse).
const (
	fnEnter = "_tagflow_enter" // first node of every template: a template call
	fnStep  = "_tagflow_step"  // first node of every range body: an iteration
	fnPrint = "_tagflow_print" // last command of every printing action: measures the value
)

// instrument rewrites the parse trees of t and its associated templates: each template
// starts with a call of fnEnter, each range body with a call of fnStep, and each action
// that prints passes its value through fnPrint (which returns it unchanged, as a
// reflect.Value, so that printing is exactly as before: "<no value>" stays).
func instrument(t *template.Template) {
	for _, tt := range t.Templates() {
		tr := tt.Tree
		if tr == nil || tr.Root == nil {
			continue
		}
		instrumentList(tr, tr.Root)
		tr.Root.Nodes = append([]parse.Node{call(tr, tr.Root.Pos, fnEnter)}, tr.Root.Nodes...)
	}
}

// instrumented reports whether t's tree starts as instrument leaves it.
func instrumented(t *template.Template) bool {
	if t == nil || t.Tree == nil || t.Tree.Root == nil || len(t.Tree.Root.Nodes) == 0 {
		return false
	}
	a, ok := t.Tree.Root.Nodes[0].(*parse.ActionNode)
	if !ok || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	id, ok := a.Pipe.Cmds[0].Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == fnEnter
}

func instrumentList(tr *parse.Tree, l *parse.ListNode) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.ActionNode:
			if len(n.Pipe.Decl) == 0 {
				n.Pipe.Cmds = append(n.Pipe.Cmds, command(tr, n.Pos, fnPrint))
			}
		case *parse.IfNode:
			instrumentList(tr, n.List)
			instrumentList(tr, n.ElseList)
		case *parse.WithNode:
			instrumentList(tr, n.List)
			instrumentList(tr, n.ElseList)
		case *parse.RangeNode:
			instrumentList(tr, n.List)
			instrumentList(tr, n.ElseList)
			n.List.Nodes = append([]parse.Node{call(tr, n.List.Pos, fnStep)}, n.List.Nodes...)
		case *parse.ListNode:
			instrumentList(tr, n)
		}
	}
}

// call is the action {{ name }}; the functions it calls return "", so it prints nothing.
func call(tr *parse.Tree, pos parse.Pos, name string) *parse.ActionNode {
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: &parse.PipeNode{
		NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{command(tr, pos, name)},
	}}
}

func command(tr *parse.Tree, pos parse.Pos, name string) *parse.CommandNode {
	return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos,
		Args: []parse.Node{parse.NewIdentifier(name).SetTree(tr).SetPos(pos)}}
}

// usedFuncs returns the names of the functions that t and its associated templates call.
func usedFuncs(t *template.Template) map[string]bool {
	used := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IdentifierNode:
			used[n.Ident] = true
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree.Root)
		}
	}
	return used
}
