package schema

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// views checks the declared views: names and columns. relationNames checks that a view's name is not a
// table's or an index's.
func (v *validator) views() {
	seen := map[string]*View{}
	for _, vw := range v.m.Views {
		v.name(vw.Range, "view", vw.Name)
		if first, ok := seen[vw.Name]; ok {
			v.errorf(vw.Range, "Duplicate view", "View %q is already declared at %s.", vw.Name, first.Range)
			continue
		}
		seen[vw.Name] = vw
		if len(vw.Columns) == 0 {
			v.errorf(vw.Range, "View without columns", "View %q needs a column block for each column its query "+
				"returns, with its type, like column \"id\" { type = uuid }.", vw.Name)
		}
		cols := map[string]*ViewColumn{}
		for _, c := range vw.Columns {
			v.name(c.Range, "column", c.Name)
			if first, ok := cols[c.Name]; ok {
				v.errorf(c.Range, "Duplicate column", "Column %q of view %q is already declared at %s.",
					c.Name, vw.Name, first.Range)
				continue
			}
			cols[c.Name] = c
		}
	}
}

// functions checks the declared functions: names, arguments and their defaults, return types.
func (v *validator) functions() {
	seen := map[string]*Function{}
	for _, f := range v.m.Functions {
		v.name(f.Range, "function", f.Name)
		if first, ok := seen[f.Name]; ok {
			v.errorf(f.Range, "Duplicate function", "Function %q is already declared at %s; pgtenant does not "+
				"overload functions (/rpc/%s names one).", f.Name, first.Range, f.Name)
		}
		seen[f.Name] = f
		switch {
		case watched(f.Name): // it would stand beside PostgreSQL's own, or a function whose calls validation refuses
			v.errorf(f.Range, "Reserved function name", "%q is the name of a function a declaration may not "+
				"call (it changes the session or acts on the server); choose another name.", f.Name)
		case v.m.Table(f.Name) != nil || v.m.View(f.Name) != nil:
			v.errorf(f.Range, "Duplicate function", "%q is already the name of a table or view; give the "+
				"function a name of its own, so that /%s and /rpc/%s are not confused.", f.Name, f.Name, f.Name)
		}
		args := map[string]*Arg{}
		var defaulted *Arg
		for _, a := range f.Args {
			v.name(a.Range, "argument", a.Name)
			if first, ok := args[a.Name]; ok {
				v.errorf(a.Range, "Duplicate argument", "Argument %q of function %q is already declared at %s.",
					a.Name, f.Name, first.Range)
				continue
			}
			args[a.Name] = a
			switch {
			case a.DefaultRange != nil:
				defaulted = a
			case defaulted != nil:
				v.errorf(a.Range, "Argument without default", "Argument %q follows %q, which has a default; "+
					"PostgreSQL needs a default on every argument after the first that has one.", a.Name, defaulted.Name)
			}
		}
	}
}

// CheckViewColumns compares the columns declared for view vw with got, the columns PostgreSQL gives its query
// (name and format_type of each, in order, as pg_attribute of the created view lists them), and returns a
// diagnostic per difference: a missing or extra column, another name or another type (compared with
// CanonicalType). `validate` with a database runs it once it has created the view on its scratch database.
func (m *Model) CheckViewColumns(vw *View, got []ViewColumn) hcl.Diagnostics {
	var diags hcl.Diagnostics
	add := func(rng hcl.Range, summary, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
			Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
	}
	names := make([]string, len(got))
	for i, c := range got {
		names[i] = c.Name
	}
	for i, c := range vw.Columns {
		if i >= len(got) {
			add(c.Range, "Unknown view column", "The query of view %q returns %d columns (%s); it has no column %q.",
				vw.Name, len(got), strings.Join(names, ", "), c.Name)
			continue
		}
		g := got[i]
		if g.Name != c.Name {
			add(c.Range, "Mismatched view column", "Column %d of view %q's query is %q, not %q; declare the "+
				"columns in the order the query returns them.", i+1, vw.Name, g.Name, c.Name)
			continue
		}
		if CanonicalType(g.Type) != CanonicalType(c.Type) {
			rng := c.Range
			if c.TypeRange != nil {
				rng = *c.TypeRange
			}
			add(rng, "Mismatched view column type", "The query of view %q returns %q as %s, not %s.",
				vw.Name, c.Name, g.Type, c.Type)
		}
	}
	if len(got) > len(vw.Columns) {
		var extra []string
		for _, g := range got[len(vw.Columns):] {
			extra = append(extra, g.Name)
		}
		add(vw.Range, "Undeclared view column", "The query of view %q also returns %s; declare a column block "+
			"for each.", vw.Name, strings.Join(extra, ", "))
	}
	return diags
}

// routineFragments checks the SQL of views and functions for CheckFragments: column, argument and return types,
// argument defaults, view queries (ViewProblems) and function bodies (FunctionProblems).
func routineFragments(m *Model, check func(kind FragmentKind, text string, rng *hcl.Range, fallback hcl.Range, what string, policy bool),
	report func(errs []*FragmentError, text string, rng *hcl.Range, fallback hcl.Range, what string)) {
	for _, vw := range m.Views {
		for _, c := range vw.Columns {
			check(TypeFragment, c.Type, c.TypeRange, c.Range, "type of column "+vw.Name+"."+c.Name, false)
		}
		if strings.TrimSpace(vw.Query) == "" {
			report([]*FragmentError{{Offset: -1, Summary: invalidFragment, Detail: "The query is empty."}},
				vw.Query, vw.QueryRange, vw.Range, "query of view "+vw.Name)
			continue
		}
		report(ViewProblems(vw.Query, m.Tenancy.Setting), vw.Query, vw.QueryRange, vw.Range, "query of view "+vw.Name)
	}
	for _, f := range m.Functions {
		for _, a := range f.Args {
			check(TypeFragment, a.Type, a.TypeRange, a.Range, "type of argument "+f.Name+"."+a.Name, false)
			check(DefaultFragment, a.Default, a.DefaultRange, a.Range, "default of argument "+f.Name+"."+a.Name, false)
		}
		if f.Returns.Type != "" {
			check(TypeFragment, f.Returns.Type, &f.Returns.Range, f.Range, "return type of function "+f.Name, false)
		}
		report(FunctionProblems(f, m.Tenancy.Setting), f.Body, f.BodyRange, f.Range, "body of function "+f.Name)
	}
}
