package schema

import (
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// This file turns the static expressions of the declaration into plain values:
// keywords (SELECT, SET_NULL), references (table.x, column.y, role.z), types
// (uuid, varchar(8), sql("text[]")) and defaults. Nothing here evaluates
// variables: the declaration is data.

// ref is a reference as written, kept with its range until it is resolved.
type ref struct {
	Name  string
	Range hcl.Range
}

// Suggest returns the option closest to given when it is close enough to be a
// likely typo, else "". It uses the same distance and threshold as hcl's own
// "Did you mean" for attribute and block names. It is the one rule for every
// "did you mean": the declaration's diagnostics and the API's hints.
func Suggest(given string, options []string) string {
	best, bestDist := "", 3
	for _, o := range options {
		if d := levenshtein.Distance(strings.ToLower(given), strings.ToLower(o), nil); d < bestDist {
			best, bestDist = o, d
		}
	}
	return best
}

// didYouMean formats a suggestion as the end of a diagnostic detail.
func didYouMean(given string, options []string) string {
	if s := Suggest(given, options); s != "" {
		return fmt.Sprintf(" Did you mean %q?", s)
	}
	return ""
}

// keyword reads a bare word such as SELECT or SET_NULL and checks it is one of
// options.
func keyword[T ~string](expr hcl.Expression, what string, options []T) (T, hcl.Diagnostics) {
	names := make([]string, len(options))
	for i, o := range options {
		names[i] = string(o)
	}
	tr, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(tr) != 1 {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + what,
			Detail:   fmt.Sprintf("Expected one of %s, written without quotes.", strings.Join(names, ", ")),
			Subject:  expr.Range().Ptr(),
		}}
	}
	word := tr.RootName()
	for _, o := range options {
		if string(o) == word {
			return o, nil
		}
	}
	return "", hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + what,
		Detail: fmt.Sprintf("%q is not one of %s.%s", word, strings.Join(names, ", "),
			didYouMean(word, names)),
		Subject: expr.Range().Ptr(),
	}}
}

// keywords reads a list of bare words.
func keywords[T ~string](expr hcl.Expression, what string, options []T) ([]T, hcl.Diagnostics) {
	items, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		return nil, diags
	}
	var out []T
	for _, it := range items {
		v, d := keyword(it, what, options)
		diags = append(diags, d...)
		if !d.HasErrors() {
			out = append(out, v)
		}
	}
	return out, diags
}

// reference reads a traversal of the form kind.name (table.x, column.y,
// role.z).
func reference(expr hcl.Expression, kind string) (ref, hcl.Diagnostics) {
	tr, diags := hcl.AbsTraversalForExpr(expr)
	if !diags.HasErrors() && len(tr) == 2 && tr.RootName() == kind {
		if attr, ok := tr[1].(hcl.TraverseAttr); ok {
			return ref{Name: attr.Name, Range: tr.SourceRange()}, nil
		}
	}
	return ref{}, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + kind + " reference",
		Detail:   fmt.Sprintf("Expected a reference of the form %s.<name>, written without quotes.", kind),
		Subject:  expr.Range().Ptr(),
	}}
}

// references reads a list of kind.name traversals.
func references(expr hcl.Expression, kind string) ([]ref, hcl.Diagnostics) {
	items, diags := hcl.ExprList(expr)
	if diags.HasErrors() {
		return nil, diags
	}
	var out []ref
	for _, it := range items {
		r, d := reference(it, kind)
		diags = append(diags, d...)
		if !d.HasErrors() {
			out = append(out, r)
		}
	}
	return out, diags
}

// columnOfTable reads table.<t>.column.<c>, the long form of a referenced
// column used by foreign_key's ref_columns.
func columnOfTable(expr hcl.Expression) (table, column ref, diags hcl.Diagnostics) {
	tr, diags := hcl.AbsTraversalForExpr(expr)
	if !diags.HasErrors() && len(tr) == 4 && tr.RootName() == "table" {
		t, ok1 := tr[1].(hcl.TraverseAttr)
		k, ok2 := tr[2].(hcl.TraverseAttr)
		c, ok3 := tr[3].(hcl.TraverseAttr)
		if ok1 && ok2 && ok3 && k.Name == "column" {
			return ref{Name: t.Name, Range: hcl.RangeBetween(tr[0].SourceRange(), t.SrcRange)},
				ref{Name: c.Name, Range: c.SrcRange}, nil
		}
	}
	return ref{}, ref{}, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid column reference",
		Detail:   "Expected a reference of the form table.<table>.column.<column>.",
		Subject:  expr.Range().Ptr(),
	}}
}

// typeNames maps the bare type words a column may use to the SQL spelling the
// generator emits. Anything else is written as sql("…").
var typeNames = map[string]string{
	"bigint": "bigint", "boolean": "boolean", "bytea": "bytea", "date": "date",
	"double_precision": "double precision", "inet": "inet", "integer": "integer",
	"interval": "interval", "json": "json", "jsonb": "jsonb", "numeric": "numeric",
	"real": "real", "smallint": "smallint", "text": "text", "time": "time",
	"timestamp": "timestamp", "timestamptz": "timestamptz", "uuid": "uuid",
}

// typeCalls are the parameterised types: name → how many integer arguments it
// takes at least and at most.
var typeCalls = map[string][2]int{
	"varchar": {1, 1}, "char": {1, 1}, "numeric": {1, 2}, "timestamp": {1, 1},
	"timestamptz": {1, 1}, "time": {1, 1},
}

// sortedKeys lists the names of a map for suggestions and messages.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// columnType reads uuid, varchar(8), numeric(10,2) or sql("text[]").
func columnType(expr hcl.Expression) (string, hcl.Diagnostics) {
	if call, d := hcl.ExprCall(expr); !d.HasErrors() {
		if call.Name == "sql" {
			s, diags := sqlArg(call, expr)
			return s, diags
		}
		bounds, ok := typeCalls[call.Name]
		if !ok {
			return "", hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unknown type",
				Detail: fmt.Sprintf("%q is not a parameterised type (%s); write other types as sql(\"…\").%s",
					call.Name, strings.Join(sortedKeys(typeCalls), ", "), didYouMean(call.Name, sortedKeys(typeCalls))),
				Subject: call.NameRange.Ptr(),
			}}
		}
		if n := len(call.Arguments); n < bounds[0] || n > bounds[1] {
			return "", hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid type arguments",
				Detail:   fmt.Sprintf("%s takes %d to %d whole-number arguments.", call.Name, bounds[0], bounds[1]),
				Subject:  call.ArgsRange.Ptr(),
			}}
		}
		args := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			v, d := a.Value(nil)
			if d.HasErrors() || v.Type() != cty.Number || !v.IsKnown() || v.IsNull() {
				return "", hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Invalid type arguments",
					Detail:   fmt.Sprintf("%s takes whole numbers, like %s(10).", call.Name, call.Name),
					Subject:  a.Range().Ptr(),
				}}
			}
			bf := v.AsBigFloat()
			n, acc := bf.Int64()
			if acc != big.Exact || n < 0 || n > 10485760 {
				return "", hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Invalid type arguments",
					Detail:   fmt.Sprintf("%s takes whole numbers between 0 and 10485760.", call.Name),
					Subject:  a.Range().Ptr(),
				}}
			}
			args[i] = fmt.Sprint(n)
		}
		return call.Name + "(" + strings.Join(args, ",") + ")", nil
	}
	tr, d := hcl.AbsTraversalForExpr(expr)
	if d.HasErrors() || len(tr) != 1 {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid type",
			Detail:   `Expected a type such as uuid, text, varchar(80) or sql("text[]"), written without quotes.`,
			Subject:  expr.Range().Ptr(),
		}}
	}
	name := tr.RootName()
	if t, ok := typeNames[name]; ok {
		return t, nil
	}
	return "", hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Unknown type",
		Detail: fmt.Sprintf("%q is not a known type; write other types as sql(\"…\").%s",
			name, didYouMean(name, sortedKeys(typeNames))),
		Subject: expr.Range().Ptr(),
	}}
}

// sqlArg reads the one string argument of sql("…").
func sqlArg(call *hcl.StaticCall, expr hcl.Expression) (string, hcl.Diagnostics) {
	if len(call.Arguments) == 1 {
		v, d := call.Arguments[0].Value(nil)
		if !d.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() &&
			strings.TrimSpace(v.AsString()) != "" {
			return strings.TrimSpace(v.AsString()), nil
		}
	}
	return "", hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid sql() argument",
		Detail:   `sql() takes one non-empty string of SQL, like sql("now()").`,
		Subject:  expr.Range().Ptr(),
	}}
}

// defaultExpr reads a column default: a literal (false, 0, "draft") or
// sql("now()"), and returns SQL expression text.
func defaultExpr(expr hcl.Expression) (string, hcl.Diagnostics) {
	if call, d := hcl.ExprCall(expr); !d.HasErrors() {
		if call.Name != "sql" {
			return "", hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid default",
				Detail:   fmt.Sprintf("The only function a default may call is sql(\"…\"), not %s().", call.Name),
				Subject:  call.NameRange.Ptr(),
			}}
		}
		return sqlArg(call, expr)
	}
	v, d := expr.Value(nil)
	if d.HasErrors() || !v.IsKnown() {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid default",
			Detail:   `A default is a literal (false, 0, "draft") or sql("expression").`,
			Subject:  expr.Range().Ptr(),
		}}
	}
	switch {
	case v.IsNull():
		return "NULL", nil
	case v.Type() == cty.Bool:
		if v.True() {
			return "true", nil
		}
		return "false", nil
	case v.Type() == cty.Number:
		return v.AsBigFloat().Text('f', -1), nil
	case v.Type() == cty.String:
		return QuoteLiteral(v.AsString()), nil
	}
	return "", hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid default",
		Detail:   `A default is a literal (false, 0, "draft") or sql("expression").`,
		Subject:  expr.Range().Ptr(),
	}}
}

// QuoteLiteral quotes s as a SQL string literal: '…' with quotes doubled, or, when s holds a backslash, E'…'
// with backslashes doubled too. A plain '…' string that holds a backslash reads differently on a server with
// standard_conforming_strings off (a backslash then escapes the quote after it), so that a declared comment or
// default could end the string early there; an E'…' string reads the same either way.
func QuoteLiteral(s string) string {
	if strings.Contains(s, `\`) {
		return "E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// stringValue reads a literal string attribute.
func stringValue(expr hcl.Expression, what string) (string, hcl.Diagnostics) {
	v, d := expr.Value(nil)
	if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + what,
			Detail:   fmt.Sprintf("The %s must be a quoted string.", what),
			Subject:  expr.Range().Ptr(),
		}}
	}
	return v.AsString(), nil
}

// boolValue reads a literal true or false.
func boolValue(expr hcl.Expression, what string) (bool, hcl.Diagnostics) {
	v, d := expr.Value(nil)
	if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		return false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + what,
			Detail:   fmt.Sprintf("The %s must be true or false.", what),
			Subject:  expr.Range().Ptr(),
		}}
	}
	return v.True(), nil
}
