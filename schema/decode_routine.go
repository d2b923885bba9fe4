package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

var viewSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "query", Required: true}, {Name: "to", Required: true}, {Name: "comment"},
		// Accepted only as true: the generator always sets both (see View).
		{Name: "security_invoker"}, {Name: "security_barrier"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "column", LabelNames: []string{"name"}}},
}

var viewColumnSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type", Required: true}, {Name: "comment"}},
}

var functionSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "returns", Required: true}, {Name: "body", Required: true}, {Name: "to", Required: true},
		{Name: "language"}, {Name: "volatility"}, {Name: "comment"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "arg", LabelNames: []string{"name"}}},
}

var argSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type", Required: true}, {Name: "default"}},
}

func (d *decoder) view(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(viewSchema)
	v := &View{Name: b.Labels[0], Range: b.LabelRanges[0]}
	attrs := content.Attributes
	if a, ok := attrs["comment"]; ok {
		s, ds := stringValue(a.Expr, "comment")
		diags = append(diags, ds...)
		v.Comment = s
	}
	if a, ok := attrs["query"]; ok {
		s, ds := sqlText(a.Expr, "view query")
		diags = append(diags, ds...)
		v.Query, v.QueryRange = s, a.Expr.Range().Ptr()
	}
	for _, name := range []string{"security_invoker", "security_barrier"} {
		if a, ok := attrs[name]; ok {
			on, ds := boolValue(a.Expr, name)
			diags = append(diags, ds...)
			if !ds.HasErrors() && !on {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "View without " + name,
					Detail: fmt.Sprintf("pgtenant creates every view WITH (security_invoker = true, security_barrier = "+
						"true), so that the tables under it are read with the caller's row-level security; %s = "+
						"false is refused. Leave the attribute out.", name),
					Subject: a.Expr.Range().Ptr(),
				})
			}
		}
	}
	if a, ok := attrs["to"]; ok {
		v.To = d.roleList(a, &diags)
		v.ToRange = a.Expr.Range().Ptr()
	}
	for _, cb := range content.Blocks {
		cc, ds := cb.Body.Content(viewColumnSchema)
		diags = append(diags, ds...)
		c := &ViewColumn{Name: cb.Labels[0], Range: cb.LabelRanges[0]}
		if a, ok := cc.Attributes["type"]; ok {
			t, ds := columnType(a.Expr)
			diags = append(diags, ds...)
			c.Type, c.TypeRange = t, a.Expr.Range().Ptr()
		}
		if a, ok := cc.Attributes["comment"]; ok {
			s, ds := stringValue(a.Expr, "comment")
			diags = append(diags, ds...)
			c.Comment = s
		}
		v.Columns = append(v.Columns, c)
	}
	d.model.Views = append(d.model.Views, v)
	return diags
}

func (d *decoder) function(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(functionSchema)
	f := &Function{Name: b.Labels[0], Range: b.LabelRanges[0], Language: SQL, Volatility: Volatile}
	attrs := content.Attributes
	if a, ok := attrs["comment"]; ok {
		s, ds := stringValue(a.Expr, "comment")
		diags = append(diags, ds...)
		f.Comment = s
	}
	if a, ok := attrs["language"]; ok {
		l, ds := keyword(a.Expr, "function language", Languages)
		diags = append(diags, ds...)
		f.Language = l
	}
	if a, ok := attrs["volatility"]; ok {
		v, ds := keyword(a.Expr, "volatility", Volatilities)
		diags = append(diags, ds...)
		f.Volatility = v
	}
	if a, ok := attrs["body"]; ok {
		s, ds := sqlText(a.Expr, "function body")
		diags = append(diags, ds...)
		f.Body, f.BodyRange = s, a.Expr.Range().Ptr()
	}
	if a, ok := attrs["to"]; ok {
		f.To = d.roleList(a, &diags)
		f.ToRange = a.Expr.Range().Ptr()
	}
	if a, ok := attrs["returns"]; ok {
		diags = append(diags, d.returns(f, a.Expr)...)
	}
	for _, ab := range content.Blocks {
		ac, ds := ab.Body.Content(argSchema)
		diags = append(diags, ds...)
		arg := &Arg{Name: ab.Labels[0], Range: ab.LabelRanges[0]}
		if a, ok := ac.Attributes["type"]; ok {
			t, ds := columnType(a.Expr)
			diags = append(diags, ds...)
			arg.Type, arg.TypeRange = t, a.Expr.Range().Ptr()
		}
		if a, ok := ac.Attributes["default"]; ok {
			v, ds := defaultExpr(a.Expr)
			diags = append(diags, ds...)
			arg.Default, arg.DefaultRange = v, a.Expr.Range().Ptr()
		}
		f.Args = append(f.Args, arg)
	}
	d.model.Functions = append(d.model.Functions, f)
	return diags
}

// returns reads a function's return type: void, a type (uuid, varchar(8), sql("text[]")), table.x or view.x for
// the row of a declared table or view, or setof(…) of one of those.
func (d *decoder) returns(f *Function, expr hcl.Expression) hcl.Diagnostics {
	f.Returns.Range = expr.Range()
	if call, diags := hcl.ExprCall(expr); !diags.HasErrors() && call.Name == "setof" {
		if len(call.Arguments) != 1 {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid return type",
				Detail:   "setof() takes one table.x, view.x or type, like setof(table.webpages_webpage).",
				Subject:  expr.Range().Ptr(),
			}}
		}
		f.Returns.SetOf = true
		expr = call.Arguments[0]
	}
	tr, diags := hcl.AbsTraversalForExpr(expr)
	switch {
	case !diags.HasErrors() && len(tr) == 1 && tr.RootName() == "void":
		if f.Returns.SetOf {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid return type",
				Detail:   "A function returns void or a set of rows, not a set of void.",
				Subject:  expr.Range().Ptr(),
			}}
		}
		f.Returns.Void = true
		return nil
	case !diags.HasErrors() && len(tr) == 2 && (tr.RootName() == "table" || tr.RootName() == "view"):
		r, ds := reference(expr, tr.RootName())
		if ds.HasErrors() {
			return ds
		}
		f.Returns.Relation, f.Returns.RelationRange = r.Name, r.Range.Ptr()
		kind := tr.RootName()
		d.later = append(d.later, func() hcl.Diagnostics {
			if kind == "table" && d.model.Table(r.Name) == nil {
				return hcl.Diagnostics{d.unknownTable(r)}
			}
			if kind == "view" && d.model.View(r.Name) == nil {
				return hcl.Diagnostics{d.unknownView(r)}
			}
			return nil
		})
		return nil
	}
	t, ds := columnType(expr)
	f.Returns.Type = t
	return ds
}

// roleList reads `to = [role.x, …]` as roles does, and refuses an empty list.
func (d *decoder) roleList(a *hcl.Attribute, diags *hcl.Diagnostics) []string {
	out, ds := d.roles(a.Expr)
	*diags = append(*diags, ds...)
	if !ds.HasErrors() && len(out) == 0 {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty role list",
			Detail:   "List the roles that may use it, like [role.app, role.reader]; no role is granted by default.",
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return out
}

// roles reads a list of role references, [role.x, …], and queues the check that each role is declared.
func (d *decoder) roles(expr hcl.Expression) ([]string, hcl.Diagnostics) {
	refs, diags := references(expr, "role")
	var out []string
	for _, r := range refs {
		out = append(out, r.Name)
		d.later = append(d.later, func() hcl.Diagnostics {
			if d.model.Role(r.Name) == nil {
				return hcl.Diagnostics{d.unknownRole(r)}
			}
			return nil
		})
	}
	return out, diags
}

func (d *decoder) unknownView(r ref) *hcl.Diagnostic {
	names := make([]string, len(d.model.Views))
	for i, v := range d.model.Views {
		names[i] = v.Name
	}
	return unknown(r, "Unknown view", "view", names)
}

// sqlText reads a piece of SQL spelt as a string (quoted or heredoc) or as sql("…"), as the declaration spells
// its SQL expressions.
func sqlText(expr hcl.Expression, what string) (string, hcl.Diagnostics) {
	if call, d := hcl.ExprCall(expr); !d.HasErrors() && call.Name == "sql" {
		return sqlArg(call, expr)
	}
	v, d := expr.Value(nil)
	if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + what,
			Detail:   fmt.Sprintf("The %s must be a string of SQL: quoted, a heredoc (<<-SQL … SQL) or sql(\"…\").", what),
			Subject:  expr.Range().Ptr(),
		}}
	}
	return v.AsString(), nil
}
