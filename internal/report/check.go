package report

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// checkFields refuses a field that item's type has not, before anything
// runs, so that a typo is an error even when there is nothing to list. It
// reads the fields taken from the dot of each row; inside range and with,
// where the dot changes, the template finds out when it runs.
func checkFields(t *template.Template, item any) error {
	typ := reflect.TypeOf(item)
	if typ == nil || typ.Kind() != reflect.Struct {
		return nil
	}
	c := checker{tree: t.Tree, typ: typ}
	return c.walk(t.Tree.Root)
}

type checker struct {
	tree *parse.Tree
	typ  reflect.Type
}

func (c checker) walk(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		return c.list(n)
	case *parse.ActionNode:
		return c.walk(n.Pipe)
	case *parse.PipeNode:
		return c.pipe(n)
	case *parse.IfNode:
		return c.all(n.Pipe, n.List, n.ElseList)
	case *parse.RangeNode:
		return c.all(n.Pipe, n.ElseList)
	case *parse.WithNode:
		return c.all(n.Pipe, n.ElseList)
	case *parse.FieldNode:
		return c.chain(n, n.Ident)
	case *parse.ChainNode:
		return c.walk(n.Node)
	}
	return nil
}

func (c checker) list(l *parse.ListNode) error {
	if l == nil {
		return nil
	}
	for _, n := range l.Nodes {
		if err := c.walk(n); err != nil {
			return err
		}
	}
	return nil
}

func (c checker) pipe(p *parse.PipeNode) error {
	if p == nil {
		return nil
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			if err := c.walk(arg); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c checker) all(p *parse.PipeNode, lists ...*parse.ListNode) error {
	if err := c.pipe(p); err != nil {
		return err
	}
	for _, l := range lists {
		if err := c.list(l); err != nil {
			return err
		}
	}
	return nil
}

// chain follows .A.B.C through struct fields and methods; a map, an
// interface or a slice on the way ends what can be known before running.
func (c checker) chain(n parse.Node, names []string) error {
	typ := c.typ
	for _, name := range names {
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct {
			return nil
		}
		next, ok := member(typ, name)
		if !ok {
			loc, _ := c.tree.ErrorContext(n)
			return fmt.Errorf("template: %s: can't evaluate field %s in type %s (it has %s)", loc, name, typeName(typ), strings.Join(members(typ), ", "))
		}
		typ = next
	}
	return nil
}

func member(typ reflect.Type, name string) (reflect.Type, bool) {
	for _, t := range []reflect.Type{typ, reflect.PointerTo(typ)} {
		if m, ok := t.MethodByName(name); ok && m.Type.NumOut() > 0 {
			return m.Type.Out(0), true
		}
	}
	if f, ok := typ.FieldByName(name); ok && f.IsExported() {
		return f.Type, true
	}
	return nil, false
}

// members lists what a template may name on typ, sorted.
func members(typ reflect.Type) []string {
	var out []string
	for _, f := range reflect.VisibleFields(typ) {
		if f.IsExported() && !f.Anonymous {
			out = append(out, f.Name)
		}
	}
	for m := range reflect.PointerTo(typ).Methods() {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func typeName(t reflect.Type) string {
	if t.Name() != "" {
		return t.Name()
	}
	return t.String()
}
