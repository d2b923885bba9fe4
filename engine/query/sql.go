package query

import (
	"strconv"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// Result is the one row every statement of this package returns. Scan it
// with row.Scan(res.Dest()...); ResultColumns names the columns in order.
type Result struct {
	// Total is the count of all rows matching the filters, ignoring limit and
	// offset (reads), or of the affected rows (writes); nil unless Prefer has
	// count=. It is the <total> of Content-Range.
	Total *int64
	// PageTotal is the number of rows returned (reads) or affected (writes):
	// the page size of Content-Range and the count max-affected checks. A
	// Singular request needs exactly 1, else the HTTP layer answers 406
	// (PGRST116) and rolls a write back.
	PageTotal int64
	// Inserted is the number of rows a POST inserted; below PageTotal only
	// for resolution=merge-duplicates when rows were updated instead, which
	// PostgREST answers with 200 rather than 201 when it is 0.
	Inserted int64
	// Body is the response body written by PostgreSQL: a JSON array, the first
	// row's object (Singular), CSV text, or empty (HEAD, return=minimal).
	Body []byte
}

// ResultColumns names the columns of Result in the order of Dest.
var ResultColumns = []string{"total", "page_total", "inserted", "body"}

// Dest returns pointers to r's fields in the order of ResultColumns.
func (r *Result) Dest() []any { return []any{&r.Total, &r.PageTotal, &r.Inserted, &r.Body} }

// builder accumulates arguments while the statement is rendered: every
// request value becomes $n, never SQL text.
type builder struct {
	args   []any
	tenant string  // the $n of the tenant, once allocated
	where  *string // the rendered WHERE, once rendered: the count reuses its arguments
	alias  int     // the last pgrst_<n> alias of an embedded table
}

func (b *builder) arg(v string) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// SQL renders the query as one statement returning one row (see Result),
// with its arguments: every value of the request is a string argument,
// every identifier comes from the model, quoted with ddl.Ident.
func (q *Query) SQL() (string, []any) {
	b := &builder{}
	call := q.callCTE(b)
	var src []string
	switch q.method {
	case "POST":
		src = q.insertSQL(b)
	case "PATCH":
		src = q.updateSQL(b)
	case "DELETE":
		src = q.deleteSQL(b)
	default:
		src = q.readSQL(b)
	}
	var s strings.Builder
	s.WriteString("WITH " + call + "pgrst_source AS (\n  ")
	s.WriteString(strings.Join(src, "\n  "))
	s.WriteString("\n)")
	total := "NULL::bigint"
	if q.prefer.Count != "" {
		if q.write == nil {
			s.WriteString(",\npgrst_source_count AS (\n  SELECT 1 FROM ")
			s.WriteString(q.source())
			if w := q.whereSQL(b); w != "" {
				s.WriteString(" WHERE ")
				s.WriteString(w)
			}
			s.WriteString("\n)")
			total = "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
		} else {
			total = "pg_catalog.count(*)"
		}
	}
	inserted := "0::bigint"
	if q.method == "POST" {
		inserted = "pg_catalog.count(*)"
		if q.write.merge {
			inserted = "(SELECT pg_catalog.count(*) FROM pgrst_source WHERE pgrst_inserted)"
		}
	}
	inner, row := q.innerSQL(b)
	s.WriteString("\nSELECT ")
	s.WriteString(total)
	s.WriteString(" AS total, pg_catalog.count(*) AS page_total, ")
	s.WriteString(inserted)
	s.WriteString(" AS inserted,\n  ")
	s.WriteString(q.bodySQL(b, row))
	s.WriteString(" AS body\nFROM (")
	s.WriteString(inner)
	s.WriteString(") _postgrest_t")
	return s.String(), b.args
}

// returnsBody reports whether the response carries rows: reads but HEAD,
// and writes with return=representation.
func (q *Query) returnsBody() bool {
	switch q.method {
	case "GET":
		return true
	case "HEAD":
		return false
	}
	return q.prefer.Return == "representation"
}

// bodySQL is the body column: ” when no rows are returned, else the rows
// as JSON (array or first object) or CSV. row is the JSON of one row.
func (q *Query) bodySQL(b *builder, row string) string {
	switch {
	case !q.returnsBody():
		return "''"
	case q.csv:
		if row == "_postgrest_t" {
			row = "row_to_json(_postgrest_t)"
		}
		return b.arg(q.csvHeader()) + "::text || E'\\n' || coalesce(string_agg((SELECT string_agg(" +
			"CASE WHEN pgrst_c.v IS NULL THEN '' WHEN pgrst_c.v = '' OR pgrst_c.v ~ '[\",\\r\\n]' " +
			"THEN '\"' || replace(pgrst_c.v, '\"', '\"\"') || '\"' ELSE pgrst_c.v END, ',' ORDER BY pgrst_c.n)\n" +
			"    FROM json_each_text(" + row + ") WITH ORDINALITY AS pgrst_c(k, v, n)), E'\\n'), '')"
	case q.singular:
		return "coalesce((json_agg(" + row + ") -> 0)::text, '')"
	default:
		return "coalesce(json_agg(" + row + "), '[]')::text"
	}
}

// output is one entry of the response: its JSON key and its SQL.
type output struct {
	key     string
	col     column
	expr    string // rendered lazily: it may allocate arguments
	item    selectItem
	modeled bool // key is the column's own name, so SQL may spell it as an identifier
}

// outputs expands * and lists what each row of the response holds.
func (q *Query) outputs() []output {
	out := make([]output, 0, q.outputCount())
	for _, it := range q.sel {
		if it.Star {
			for _, c := range q.tb.columns() {
				out = append(out, output{key: c.Name, col: c, item: selectItem{Field: fieldRef{Name: c.Name}}, modeled: true})
			}
			continue
		}
		if it.Embed != nil {
			out = append(out, it.Embed.outputs()...)
			continue
		}
		c, _ := q.tb.column(it.Field.Name)
		key := it.Alias
		if key == "" {
			key = it.Field.key()
		}
		out = append(out, output{key: key, col: c, item: it, modeled: key == c.Name})
	}
	return out
}

// plainSelect reports whether every select item is * or a column by its
// own name, with no alias, cast or JSON path.
func (q *Query) plainSelect() bool {
	for _, it := range q.sel {
		if !it.Star && (it.Alias != "" || it.Cast != "" || len(it.Field.Path) > 0 || it.Embed != nil) {
			return false
		}
	}
	return true
}

// outputCount is len(q.outputs()), without building them.
func (q *Query) outputCount() int {
	n := 0
	for _, it := range q.sel {
		switch {
		case it.Star:
			n += len(q.tb.columns())
		case it.Embed != nil && it.Embed.Spread:
			n += len(it.Embed.outputs())
		default:
			n++
		}
	}
	return n
}

// innerSQL is the sub-select that shapes each row, and the SQL of one row's
// JSON. When every key is a column's own name the row is a record of those
// columns; otherwise (an alias, a JSON path) it is built with
// json_build_object, the request's keys passed as arguments.
func (q *Query) innerSQL(b *builder) (inner, row string) {
	if !q.returnsBody() {
		return "SELECT * FROM pgrst_source", "_postgrest_t"
	}
	if q.sel.hasEmbeds() {
		return q.embedInnerSQL(b)
	}
	if q.plainSelect() {
		// The common case (select=* or plain column names), without the
		// outputs' bookkeeping: the row is a record of those columns.
		var s strings.Builder
		s.WriteString("SELECT")
		sep := " "
		for _, it := range q.sel {
			if !it.Star {
				s.WriteString(sep + ddl.Ident(it.Field.Name))
				sep = ", "
				continue
			}
			for _, c := range q.tb.columns() {
				s.WriteString(sep + ddl.Ident(c.Name))
				sep = ", "
			}
		}
		s.WriteString(" FROM pgrst_source")
		return s.String(), "_postgrest_t"
	}
	outs := q.outputs()
	modeled := true
	for _, o := range outs {
		modeled = modeled && o.modeled
	}
	parts := make([]string, len(outs))
	if modeled {
		for i, o := range outs {
			e := q.fieldSQL(b, o.item.Field)
			if o.item.Cast != "" {
				e = "CAST(" + e + " AS " + o.item.Cast + ")"
			}
			if o.item.Cast != "" || len(o.item.Field.Path) > 0 {
				e += " AS " + ddl.Ident(o.col.Name)
			}
			parts[i] = e
		}
		if len(parts) == 0 {
			return "SELECT FROM pgrst_source", "_postgrest_t" // select=: every row is {}
		}
		return "SELECT " + strings.Join(parts, ", ") + " FROM pgrst_source", "_postgrest_t"
	}
	for i, o := range outs {
		k := schema.QuoteLiteral(o.key)
		if !o.modeled {
			k = b.arg(o.key) + "::text"
		}
		e := q.fieldSQL(b, o.item.Field)
		if o.item.Cast != "" {
			e = "CAST(" + e + " AS " + o.item.Cast + ")"
		}
		parts[i] = k + ", " + e
	}
	return "SELECT json_build_object(" + strings.Join(parts, ", ") + ") AS pgrst_row FROM pgrst_source", "_postgrest_t.pgrst_row"
}

// csvHeader is the CSV header line: the response keys, quoted as needed.
func (q *Query) csvHeader() string {
	outs := q.outputs()
	keys := make([]string, len(outs))
	for i, o := range outs {
		keys[i] = csvField(o.key)
	}
	return strings.Join(keys, ",")
}

func csvField(s string) string {
	if s == "" || strings.ContainsAny(s, "\",\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// fieldSQL is a column with its JSON path, each key or index an argument.
func (q *Query) fieldSQL(b *builder, f fieldRef) string {
	s := ddl.Ident(f.Name)
	if q.qual != "" {
		s = q.qual + "." + s // an embedded level: its table's alias
	}
	for _, p := range f.Path {
		if p.Text {
			s += " ->> "
		} else {
			s += " -> "
		}
		if p.Index {
			s += b.arg(p.Key) + "::integer"
		} else {
			s += b.arg(p.Key) + "::text"
		}
	}
	return s
}

// tenantSQL is the tenant predicate every statement on a tenant table
// carries itself, besides row-level security (DESIGN.md §9, invariant 4).
func (q *Query) tenantSQL(b *builder) string {
	if b.tenant == "" {
		b.tenant = b.arg(q.tenant)
	}
	return ddl.Ident(q.tb.tenant) + " = " + b.tenant
}

// whereSQL ANDs the tenant predicate and the request's filters; "" when
// there is neither (a shared table read without filters).
func (q *Query) whereSQL(b *builder) string {
	if b.where != nil {
		return *b.where
	}
	var parts []string
	if q.tb.tenant != "" {
		parts = append(parts, q.tenantSQL(b))
	}
	for _, c := range q.where {
		parts = append(parts, q.condSQL(b, c))
	}
	if q.write == nil {
		parts = append(parts, q.innerEmbedsSQL(b, q.self())...)
	}
	w := strings.Join(parts, " AND ")
	b.where = &w
	return w
}

// orderSQL is ORDER BY …, or "".
func (q *Query) orderSQL(b *builder) string {
	if len(q.order) == 0 {
		return ""
	}
	parts := make([]string, len(q.order))
	for i, t := range q.order {
		s := q.orderFieldSQL(b, t)
		switch t.Dir {
		case "asc":
			s += " ASC"
		case "desc":
			s += " DESC"
		}
		switch t.Nulls {
		case "nullsfirst":
			s += " NULLS FIRST"
		case "nullslast":
			s += " NULLS LAST"
		}
		parts[i] = s
	}
	return "ORDER BY " + strings.Join(parts, ", ")
}

// pageSQL is LIMIT … OFFSET …, or "".
func (q *Query) pageSQL(b *builder) string {
	var parts []string
	if q.win.Limit >= 0 {
		// The limit is a literal, as PostgREST writes it: with an argument,
		// PostgreSQL's generic plan assumes a tenth of the rows are read and
		// costs more than the custom plans, so it never caches a plan and
		// plans every execution afresh. An integer has no quoting to get
		// wrong. The offset stays an argument: it changes from page to page,
		// and a literal would make each page a statement of its own.
		parts = append(parts, "LIMIT "+strconv.FormatInt(q.win.Limit, 10))
	}
	if q.win.Offset > 0 {
		parts = append(parts, "OFFSET "+b.arg(strconv.FormatInt(q.win.Offset, 10)))
	}
	return strings.Join(parts, " ")
}

// readSQL is the source of GET and HEAD.
func (q *Query) readSQL(b *builder) []string {
	lines := []string{"SELECT * FROM " + q.source()}
	if w := q.whereSQL(b); w != "" {
		lines = append(lines, "WHERE "+w)
	}
	if o := q.orderSQL(b); o != "" {
		lines = append(lines, o)
	}
	if p := q.pageSQL(b); p != "" {
		lines = append(lines, p)
	}
	return lines
}
