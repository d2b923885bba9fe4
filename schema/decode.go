package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "tenancy"},
		{Type: "role", LabelNames: []string{"name"}},
		{Type: "table", LabelNames: []string{"name"}},
		{Type: "shared_table", LabelNames: []string{"name"}},
		{Type: "policy", LabelNames: []string{"name"}},
		{Type: "view", LabelNames: []string{"name"}},
		{Type: "function", LabelNames: []string{"name"}},
	},
}

var tenancySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "column"}, {Name: "setting"}, {Name: "header"}, {Name: "scale_out"}},
}

var roleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "privileges", Required: true}},
}

var tableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "comment"}, {Name: "renamed_from"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "column", LabelNames: []string{"name"}},
		{Type: "primary_key"},
		{Type: "index", LabelNames: []string{"name"}},
		{Type: "foreign_key", LabelNames: []string{"name"}},
		{Type: "check", LabelNames: []string{"name"}},
	},
}

var columnSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "null"}, {Name: "default"}, {Name: "references"},
		{Name: "on_delete"}, {Name: "comment"}, {Name: "renamed_from"},
	},
}

var primaryKeySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "columns", Required: true}},
}

var indexSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "columns", Required: true}, {Name: "unique"}, {Name: "where"}},
}

var foreignKeySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "columns", Required: true}, {Name: "ref_columns", Required: true}, {Name: "on_delete"},
	},
}

var checkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "expr", Required: true}},
}

var policySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "on", Required: true}, {Name: "to"}, {Name: "for"}, {Name: "as"},
		{Name: "using"}, {Name: "check"},
	},
}

// decoder builds a Model from parsed bodies. References between tables are
// resolved once every table is known, by the functions queued in later.
type decoder struct {
	model      *Model
	later      []func() hcl.Diagnostics
	tenancySet bool
}

func newDecoder() *decoder {
	return &decoder{model: &Model{Tenancy: DefaultTenancy}}
}

func (d *decoder) file(body hcl.Body) hcl.Diagnostics {
	content, diags := body.Content(fileSchema)
	for _, b := range content.Blocks {
		switch b.Type {
		case "tenancy":
			diags = append(diags, d.tenancy(b)...)
		case "role":
			diags = append(diags, d.role(b)...)
		case "table", "shared_table":
			diags = append(diags, d.table(b)...)
		case "policy":
			diags = append(diags, d.policy(b)...)
		case "view":
			diags = append(diags, d.view(b)...)
		case "function":
			diags = append(diags, d.function(b)...)
		}
	}
	return diags
}

func (d *decoder) tenancy(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(tenancySchema)
	if d.tenancySet {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate tenancy block",
			Detail:   fmt.Sprintf("The tenancy block is already declared at %s; declare it once.", d.model.Tenancy.Range),
			Subject:  b.DefRange.Ptr(),
		})
		return diags
	}
	d.tenancySet = true
	t := &d.model.Tenancy
	t.Range = b.DefRange
	scaleOut := ""
	for name, field := range map[string]*string{"column": &t.Column, "setting": &t.Setting, "header": &t.Header,
		"scale_out": &scaleOut} {
		if a, ok := content.Attributes[name]; ok {
			v, ds := stringValue(a.Expr, "tenancy "+name)
			diags = append(diags, ds...)
			if !ds.HasErrors() {
				*field = v
				d.later = append(d.later, d.checkTenancyValue(name, v, a.Expr.Range()))
			}
		}
	}
	if scaleOut != ScaleOutNone {
		t.ScaleOut = scaleOut // "none" is the default, kept as ""
	}
	return diags
}

func (d *decoder) role(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(roleSchema)
	r := &Role{Name: b.Labels[0], Range: b.LabelRanges[0]}
	if a, ok := content.Attributes["privileges"]; ok {
		privs, ds := keywords(a.Expr, "privilege", Privileges)
		diags = append(diags, ds...)
		r.Privileges = privs
		if !ds.HasErrors() && len(privs) == 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Role without privileges",
				Detail:   "List at least one of SELECT, INSERT, UPDATE, DELETE.",
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}
	d.model.Roles = append(d.model.Roles, r)
	return diags
}

func (d *decoder) table(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(tableSchema)
	t := &Table{Name: b.Labels[0], Shared: b.Type == "shared_table", Range: b.LabelRanges[0]}
	if a, ok := content.Attributes["comment"]; ok {
		v, ds := stringValue(a.Expr, "comment")
		diags = append(diags, ds...)
		t.Comment = v
	}
	if a, ok := content.Attributes["renamed_from"]; ok {
		v, ds := stringValue(a.Expr, "renamed_from")
		diags = append(diags, ds...)
		t.RenamedFrom, t.RenamedFromRange = v, a.Expr.Range().Ptr()
	}
	// Columns first: the other blocks refer to them.
	for _, cb := range content.Blocks.OfType("column") {
		diags = append(diags, d.column(t, cb)...)
	}
	for _, bb := range content.Blocks {
		switch bb.Type {
		case "primary_key":
			diags = append(diags, d.primaryKey(t, bb)...)
		case "index":
			diags = append(diags, d.index(t, bb)...)
		case "foreign_key":
			diags = append(diags, d.foreignKey(t, bb)...)
		case "check":
			diags = append(diags, d.check(t, bb)...)
		}
	}
	d.model.Tables = append(d.model.Tables, t)
	return diags
}

func (d *decoder) column(t *Table, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(columnSchema)
	c := &Column{Name: b.Labels[0], Range: b.LabelRanges[0]}
	attrs := content.Attributes
	if a, ok := attrs["type"]; ok {
		v, ds := columnType(a.Expr)
		diags = append(diags, ds...)
		c.Type = v
		c.TypeRange = a.Expr.Range().Ptr()
	}
	if a, ok := attrs["null"]; ok {
		v, ds := boolValue(a.Expr, "null")
		diags = append(diags, ds...)
		c.Null = v
	}
	if a, ok := attrs["default"]; ok {
		v, ds := defaultExpr(a.Expr)
		diags = append(diags, ds...)
		c.Default = v
		c.DefaultRange = a.Expr.Range().Ptr()
	}
	if a, ok := attrs["comment"]; ok {
		v, ds := stringValue(a.Expr, "comment")
		diags = append(diags, ds...)
		c.Comment = v
	}
	if a, ok := attrs["renamed_from"]; ok {
		v, ds := stringValue(a.Expr, "renamed_from")
		diags = append(diags, ds...)
		c.RenamedFrom, c.RenamedFromRange = v, a.Expr.Range().Ptr()
	}
	var onDelete Action
	if a, ok := attrs["on_delete"]; ok {
		v, ds := keyword(a.Expr, "on_delete action", Actions)
		diags = append(diags, ds...)
		onDelete = v
		if _, hasRef := attrs["references"]; !hasRef && !ds.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "on_delete without references",
				Detail:   "on_delete only applies to a column that references a table.",
				Subject:  a.Range.Ptr(),
			})
		}
	}
	if a, ok := attrs["references"]; ok {
		r, ds := reference(a.Expr, "table")
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			d.later = append(d.later, d.resolveColumnReference(t, c, r, onDelete, b.DefRange))
		}
	} else if _, hasType := attrs["type"]; !hasType {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing column type",
			Detail:   fmt.Sprintf("Column %q needs a type (or references = table.x, which takes the key's type).", c.Name),
			Subject:  b.DefRange.Ptr(),
		})
	}
	t.Columns = append(t.Columns, c)
	return diags
}

// tableColumns reads a list of column.x references and checks each names a
// column of t.
func tableColumns(t *Table, expr hcl.Expression) ([]string, hcl.Diagnostics) {
	refs, diags := references(expr, "column")
	if diags.HasErrors() {
		return nil, diags
	}
	if len(refs) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Empty column list",
			Detail:   "List at least one column, like [column.id].",
			Subject:  expr.Range().Ptr(),
		}}
	}
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		if t.Column(r.Name) == nil {
			diags = append(diags, unknownColumn(t, r))
			continue
		}
		out = append(out, r.Name)
	}
	return out, diags
}

func unknownColumn(t *Table, r ref) *hcl.Diagnostic {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unknown column",
		Detail:   fmt.Sprintf("Table %q has no column %q.%s", t.Name, r.Name, didYouMean(r.Name, names)),
		Subject:  r.Range.Ptr(),
	}
}

func (d *decoder) primaryKey(t *Table, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(primaryKeySchema)
	if t.PrimaryKey != nil {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate primary key",
			Detail:   fmt.Sprintf("Table %q already declares its primary key at %s.", t.Name, t.PrimaryKey.Range),
			Subject:  b.DefRange.Ptr(),
		})
	}
	pk := &PrimaryKey{Range: b.DefRange}
	if a, ok := content.Attributes["columns"]; ok {
		cols, ds := tableColumns(t, a.Expr)
		diags = append(diags, ds...)
		pk.Columns = cols
	}
	t.PrimaryKey = pk
	return diags
}

func (d *decoder) index(t *Table, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(indexSchema)
	ix := &Index{Name: b.Labels[0], Range: b.LabelRanges[0]}
	if a, ok := content.Attributes["columns"]; ok {
		cols, ds := tableColumns(t, a.Expr)
		diags = append(diags, ds...)
		ix.Columns = cols
	}
	if a, ok := content.Attributes["unique"]; ok {
		v, ds := boolValue(a.Expr, "unique")
		diags = append(diags, ds...)
		ix.Unique = v
	}
	if a, ok := content.Attributes["where"]; ok {
		v, ds := stringValue(a.Expr, "where predicate")
		diags = append(diags, ds...)
		ix.Where = v
		ix.WhereRange = a.Expr.Range().Ptr()
	}
	t.Indexes = append(t.Indexes, ix)
	return diags
}

func (d *decoder) foreignKey(t *Table, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(foreignKeySchema)
	fk := &ForeignKey{Name: b.Labels[0], Range: b.LabelRanges[0]}
	if a, ok := content.Attributes["columns"]; ok {
		cols, ds := tableColumns(t, a.Expr)
		diags = append(diags, ds...)
		fk.Columns = cols
	}
	if a, ok := content.Attributes["on_delete"]; ok {
		v, ds := keyword(a.Expr, "on_delete action", Actions)
		diags = append(diags, ds...)
		fk.OnDelete = v
	}
	a, ok := content.Attributes["ref_columns"]
	if !ok {
		t.ForeignKeys = append(t.ForeignKeys, fk)
		return diags
	}
	items, ds := hcl.ExprList(a.Expr)
	diags = append(diags, ds...)
	var tables []ref
	var cols []ref
	for _, it := range items {
		tr, cr, ds := columnOfTable(it)
		diags = append(diags, ds...)
		if ds.HasErrors() {
			continue
		}
		if len(tables) > 0 && tables[0].Name != tr.Name {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid foreign key",
				Detail:   fmt.Sprintf("All ref_columns must belong to one table; %q is not %q.", tr.Name, tables[0].Name),
				Subject:  tr.Range.Ptr(),
			})
			continue
		}
		tables = append(tables, tr)
		cols = append(cols, cr)
	}
	if len(tables) == 0 {
		if !diags.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Empty column list",
				Detail:   "List the referenced columns, like [table.content_category.column.id].",
				Subject:  a.Expr.Range().Ptr(),
			})
		}
		t.ForeignKeys = append(t.ForeignKeys, fk)
		return diags
	}
	fk.RefTable = tables[0].Name
	d.later = append(d.later, func() hcl.Diagnostics {
		target := d.model.Table(tables[0].Name)
		if target == nil {
			return hcl.Diagnostics{d.unknownTable(tables[0])}
		}
		var diags hcl.Diagnostics
		for _, c := range cols {
			if target.Column(c.Name) == nil {
				diags = append(diags, unknownColumn(target, c))
				continue
			}
			fk.RefColumns = append(fk.RefColumns, c.Name)
		}
		return diags
	})
	t.ForeignKeys = append(t.ForeignKeys, fk)
	return diags
}

func (d *decoder) check(t *Table, b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(checkSchema)
	c := &Check{Name: b.Labels[0], Range: b.LabelRanges[0]}
	if a, ok := content.Attributes["expr"]; ok {
		v, ds := stringValue(a.Expr, "check expression")
		diags = append(diags, ds...)
		c.Expr = v
		c.ExprRange = a.Expr.Range().Ptr()
	}
	t.Checks = append(t.Checks, c)
	return diags
}

func (d *decoder) policy(b *hcl.Block) hcl.Diagnostics {
	content, diags := b.Body.Content(policySchema)
	p := &Policy{Name: b.Labels[0], For: All, As: Restrictive, Range: b.LabelRanges[0]}
	attrs := content.Attributes
	if a, ok := attrs["on"]; ok {
		r, ds := reference(a.Expr, "table")
		diags = append(diags, ds...)
		if !ds.HasErrors() {
			p.Table = r.Name
			d.later = append(d.later, func() hcl.Diagnostics {
				if d.model.Table(r.Name) == nil {
					return hcl.Diagnostics{d.unknownTable(r)}
				}
				return nil
			})
		}
	}
	if a, ok := attrs["to"]; ok {
		refs, ds := d.roles(a.Expr)
		diags = append(diags, ds...)
		p.To = refs
	}
	if a, ok := attrs["for"]; ok {
		v, ds := keyword(a.Expr, "policy command", Commands)
		diags = append(diags, ds...)
		p.For = v
	}
	if a, ok := attrs["as"]; ok {
		v, ds := keyword(a.Expr, "policy kind", Kinds)
		diags = append(diags, ds...)
		p.As = v
	}
	if a, ok := attrs["using"]; ok {
		v, ds := stringValue(a.Expr, "using expression")
		diags = append(diags, ds...)
		p.Using = v
		p.UsingRange = a.Expr.Range().Ptr()
	}
	if a, ok := attrs["check"]; ok {
		v, ds := stringValue(a.Expr, "check expression")
		diags = append(diags, ds...)
		p.Check = v
		p.CheckRange = a.Expr.Range().Ptr()
	}
	d.model.Policies = append(d.model.Policies, p)
	return diags
}

// resolveColumnReference turns `references = table.x` into a foreign key to
// x's single-column primary key, and gives the column that key's type when it
// declares none.
func (d *decoder) resolveColumnReference(t *Table, c *Column, r ref, onDelete Action, decl hcl.Range) func() hcl.Diagnostics {
	return func() hcl.Diagnostics {
		target := d.model.Table(r.Name)
		if target == nil {
			return hcl.Diagnostics{d.unknownTable(r)}
		}
		if target.PrimaryKey == nil || len(target.PrimaryKey.Columns) != 1 {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid reference",
				Detail: fmt.Sprintf("references = table.%s needs %q to have a one-column primary key; "+
					"use a foreign_key block with ref_columns instead.", r.Name, r.Name),
				Subject: r.Range.Ptr(),
			}}
		}
		key := target.Column(target.PrimaryKey.Columns[0])
		if c.Type == "" {
			if key.Type == "" {
				return hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Missing column type",
					Detail:   fmt.Sprintf("Give column %q a type: the key it references has none to copy.", c.Name),
					Subject:  decl.Ptr(),
				}}
			}
			c.Type = key.Type
		}
		t.ForeignKeys = append(t.ForeignKeys, &ForeignKey{
			Name:       ForeignKeyName(t.Name, []string{c.Name}),
			Columns:    []string{c.Name},
			RefTable:   target.Name,
			RefColumns: []string{key.Name},
			OnDelete:   onDelete,
			Range:      r.Range,
		})
		return nil
	}
}

func (d *decoder) unknownTable(r ref) *hcl.Diagnostic {
	names := make([]string, len(d.model.Tables))
	for i, t := range d.model.Tables {
		names[i] = t.Name
	}
	return unknown(r, "Unknown table", "table or shared_table", names)
}

func (d *decoder) unknownRole(r ref) *hcl.Diagnostic {
	names := make([]string, len(d.model.Roles))
	for i, x := range d.model.Roles {
		names[i] = x.Name
	}
	return unknown(r, "Unknown role", "role", names)
}

// unknown is the diagnostic for a reference r to no declared what, suggesting the closest of names.
func unknown(r ref, summary, what string, names []string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf("No %s %q is declared.%s", what, r.Name, didYouMean(r.Name, names)),
		Subject:  r.Range.Ptr(),
	}
}
