package query

import (
	"strconv"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// Embedded resources are rendered into the one statement as correlated
// sub-selects, as PostgREST's LATERAL joins with json_agg/row_to_json do:
//
//	to-one   (SELECT row_to_json(pgrst_2) FROM (SELECT pgrst_1.name FROM public.webpages_pagetheme AS pgrst_1
//	          WHERE pgrst_1.id = pgrst_source.theme_id AND pgrst_1.tenant_id = pgrst_source.tenant_id
//	          AND pgrst_1.tenant_id = $1) AS pgrst_2) AS webpages_pagetheme
//	to-many  (SELECT coalesce(json_agg(pgrst_4), '[]') FROM (SELECT … FROM … WHERE … ORDER BY … LIMIT …) AS pgrst_4)
//	m-to-m   FROM public.content_tag AS pgrst_1 JOIN public.webpages_webpage_tags AS pgrst_2
//	          ON pgrst_2.tag_id = pgrst_1.id AND pgrst_2.tenant_id = pgrst_1.tenant_id
//	          WHERE pgrst_2.tenant_id = $1 AND pgrst_2.webpage_id = <parent>.id AND pgrst_2.tenant_id = <parent>.tenant_id …
//	!inner   AND EXISTS (SELECT 1 FROM <the embed's source>) in the parent level's WHERE
//	...spread one (SELECT <column> FROM <the embed's source>) per column of the spread
//
// Every embedded tenant table carries "tenant_column = $tenant" itself, and
// every join between tenant tables matches the tenant column as well as the
// key (DESIGN.md §9, invariant 4). The sub-selects read the parent row only
// through the join columns; row-level security still applies to every table
// they read.

// self is the SQL name of the level's row: the alias of an embedded table,
// or the table itself at the top (its WHERE and ORDER BY read it unaliased).
func (q *Query) self() string {
	if q.qual != "" {
		return q.qual
	}
	return ddl.Ident(q.tb.t.Name)
}

func (b *builder) nextAlias() string {
	b.alias++
	return "pgrst_" + strconv.Itoa(b.alias)
}

// tenantArg is the $n of the request's tenant, allocated once.
func (q *Query) tenantArg(b *builder) string {
	if b.tenant == "" {
		b.tenant = b.arg(q.tenant)
	}
	return b.tenant
}

// checkEmbedTenant hands the request's tenant to every embedded level.
func (q *Query) checkEmbedTenant() error {
	return walkEmbeds(q.sel, nil, func(e *embed, _ []string) error {
		e.q.tenant = q.tenant
		return nil
	})
}

// tenantPred is the tenant predicate of an embedded tenant table or
// junction under alias: "alias.tenant_column = $tenant", or false when the
// request has no tenant (a shared table read without one): no tenant
// means no rows, as row-level security has it too.
func (q *Query) tenantPred(b *builder, alias string) string {
	if q.tenant == "" {
		return "false"
	}
	return alias + "." + ddl.Ident(q.tb.model.Tenancy.Column) + " = " + q.tenantArg(b)
}

// pairs is "l.a = r.x AND …" over two column lists.
func pairs(l string, lcols []string, r string, rcols []string) []string {
	out := make([]string, len(lcols))
	for i := range lcols {
		out[i] = l + "." + ddl.Ident(lcols[i]) + " = " + r + "." + ddl.Ident(rcols[i])
	}
	return out
}

// embedSource renders the FROM … WHERE … of e's rows for one row of its
// parent, named parent in SQL, and returns the embedded level to render
// over it: e's query with its alias.
func (q *Query) embedSource(b *builder, e *embed, parent string) (*Query, string) {
	lv := *e.q
	lv.qual = b.nextAlias()
	lv.sel = e.Items
	r := e.rel
	from := ddl.TableName(lv.tb.t) + " AS " + lv.qual
	var conds []string
	if j := r.Junction; j != nil {
		ja := b.nextAlias()
		jt := lv.tb.model.Table(j.Table)
		jname := ddl.Qualified(ddl.Schema, j.Table)
		on := pairs(ja, j.TargetColumns, lv.qual, r.TargetColumns)
		if j.TargetTenant != "" {
			on = append(on, pairs(ja, []string{j.TargetTenant}, lv.qual, []string{j.TargetTenant})...)
		}
		from += " JOIN " + jname + " AS " + ja + " ON " + strings.Join(on, " AND ")
		if jt == nil || !jt.Shared {
			conds = append(conds, lv.tenantPred(b, ja))
		}
		conds = append(conds, pairs(ja, j.Columns, parent, r.Columns)...)
		if j.TableTenant != "" {
			conds = append(conds, pairs(ja, []string{j.TableTenant}, parent, []string{j.TableTenant})...)
		}
	} else {
		conds = append(conds, pairs(lv.qual, r.TargetColumns, parent, r.Columns)...)
		if r.Tenant != "" {
			conds = append(conds, pairs(lv.qual, []string{r.Tenant}, parent, []string{r.Tenant})...)
		}
	}
	if lv.tb.tenant != "" {
		conds = append(conds, lv.tenantPred(b, lv.qual))
	}
	for _, c := range lv.where {
		conds = append(conds, lv.condSQL(b, c))
	}
	conds = append(conds, lv.innerEmbedsSQL(b, lv.qual)...)
	return &lv, "FROM " + from + " WHERE " + strings.Join(conds, " AND ")
}

// innerEmbedsSQL is the EXISTS of every !inner embed of the level, whose
// row is named self in SQL: a parent without a matching row is dropped.
func (q *Query) innerEmbedsSQL(b *builder, self string) []string {
	var out []string
	for _, it := range q.sel {
		if it.Embed == nil || !it.Embed.inner() {
			continue
		}
		_, from := q.embedSource(b, it.Embed, self)
		out = append(out, "EXISTS (SELECT 1 "+from+")")
	}
	return out
}

// embedNullSQL renders rel=is.null (the parent has no matching row: NOT
// EXISTS) and rel=not.is.null (it has one: EXISTS), PostgREST's null
// filtering on embedded resources.
func (q *Query) embedNullSQL(b *builder, f *filter) string {
	_, from := q.embedSource(b, f.Embed, q.self())
	s := "EXISTS (SELECT 1 " + from + ")"
	if !f.Not {
		s = "NOT " + s
	}
	return s
}

// orderFieldSQL is an order term's expression: a column of the level, or
// for order=rel(col) the column of the to-one embed's row.
func (q *Query) orderFieldSQL(b *builder, t orderTerm) string {
	if t.Rel == nil {
		return q.fieldSQL(b, t.Field)
	}
	lv, from := q.embedSource(b, t.Rel, q.self())
	return "(SELECT " + lv.fieldSQL(b, t.Field) + " " + from + ")"
}

// part is one key of a response object and its SQL.
type part struct {
	key     string
	modeled bool // key is a name from the model: SQL may spell it as an identifier
	expr    string
	plain   bool // expr is the column of that name itself
}

// partsSQL renders the level's select items; parent names the level's row
// for its embeds.
func (q *Query) partsSQL(b *builder, parent string) []part {
	var out []part
	for _, it := range q.sel {
		switch {
		case it.Star:
			for _, c := range q.tb.columns() {
				out = append(out, part{key: c.Name, modeled: true, expr: q.fieldSQL(b, fieldRef{Name: c.Name}),
					plain: q.qual == ""})
			}
		case it.Embed != nil && it.Embed.Spread:
			lv, from := q.embedSource(b, it.Embed, parent)
			for _, p := range lv.partsSQL(b, lv.qual) {
				p.expr, p.plain = "(SELECT "+p.expr+" "+from+")", false
				out = append(out, p)
			}
		case it.Embed != nil:
			out = append(out, part{key: it.Embed.key(), modeled: it.Embed.modeledKey(),
				expr: q.embedSQL(b, it.Embed, parent)})
		default:
			c, _ := q.tb.column(it.Field.Name)
			key := it.Alias
			if key == "" {
				key = it.Field.key()
			}
			e := q.fieldSQL(b, it.Field)
			plain := q.qual == "" && len(it.Field.Path) == 0 && key == c.Name
			if it.Cast != "" {
				e, plain = "CAST("+e+" AS "+it.Cast+")", false
			}
			out = append(out, part{key: key, modeled: key == c.Name, expr: e, plain: plain})
		}
	}
	return out
}

// rowSQL is the select list of a level's rows: a record of identifiers
// when every key is a model name, else one json_build_object column,
// pgrst_row, with the request's keys as arguments (built).
func rowSQL(b *builder, parts []part) (list string, built bool) {
	modeled := true
	for _, p := range parts {
		modeled = modeled && p.modeled
	}
	if modeled {
		cols := make([]string, len(parts))
		for i, p := range parts {
			cols[i] = p.expr
			if !p.plain {
				cols[i] += " AS " + ddl.Ident(p.key)
			}
		}
		return strings.Join(cols, ", "), false
	}
	kv := make([]string, len(parts))
	for i, p := range parts {
		k := schema.QuoteLiteral(p.key)
		if !p.modeled {
			k = b.arg(p.key) + "::text"
		}
		kv[i] = k + ", " + p.expr
	}
	return "json_build_object(" + strings.Join(kv, ", ") + ") AS pgrst_row", true
}

// embedSQL is the JSON of embed e for one row of its parent: an object or
// null (to-one), or an array.
func (q *Query) embedSQL(b *builder, e *embed, parent string) string {
	lv, from := q.embedSource(b, e, parent)
	list, built := rowSQL(b, lv.partsSQL(b, lv.qual))
	sub := "SELECT " + list + " " + from
	if !e.rel.toOne() {
		if o := lv.orderSQL(b); o != "" {
			sub += " " + o
		}
		if p := lv.pageSQL(b); p != "" {
			sub += " " + p
		}
	}
	r := b.nextAlias()
	row := "row_to_json(" + r + ")"
	if built {
		row = r + ".pgrst_row"
	}
	if e.rel.toOne() {
		return "(SELECT " + row + " FROM (" + sub + ") AS " + r + ")"
	}
	return "(SELECT coalesce(json_agg(" + row + "), '[]') FROM (" + sub + ") AS " + r + ")"
}

// embedInnerSQL is innerSQL for a select with embeds.
func (q *Query) embedInnerSQL(b *builder) (inner, row string) {
	list, built := rowSQL(b, q.partsSQL(b, "pgrst_source"))
	if built {
		return "SELECT " + list + " FROM pgrst_source", "_postgrest_t.pgrst_row"
	}
	return "SELECT " + list + " FROM pgrst_source", "_postgrest_t"
}

// modeledKey reports whether e's key is its table's name, which SQL may
// spell as an identifier; an alias, a constraint or a column name used as
// the embed's name is a request's key, passed as an argument.
func (e *embed) modeledKey() bool { return e.Alias == "" && e.Name == e.rel.Target }

// outputs lists the keys e adds to its parent's rows: its own, or a
// spread's columns.
func (e *embed) outputs() []output {
	if !e.Spread {
		return []output{{key: e.key(), modeled: e.modeledKey(), item: selectItem{Embed: e}}}
	}
	lv := &Query{tb: e.q.tb, sel: e.Items}
	return lv.outputs()
}
