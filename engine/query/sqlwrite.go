package query

import (
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// columnList is "a, b" of cols, quoted.
func columnList(cols []column) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return ddl.Idents(names)
}

// returningSQL is what a write's source returns: the whole rows when they
// are shown, else only what the counts need.
func (q *Query) returningSQL() string {
	switch {
	case q.returnsBody() && q.write.merge:
		return "RETURNING *, xmax = 0 AS pgrst_inserted"
	case q.returnsBody():
		return "RETURNING *"
	case q.write.merge:
		// A row inserted by this statement has no deleting or locking
		// transaction yet; one updated by ON CONFLICT DO UPDATE has ours.
		return "RETURNING xmax = 0 AS pgrst_inserted"
	default:
		return "RETURNING 1"
	}
}

// recordFrom is the FROM item that expands the JSON body (one argument)
// into rows of the table's type, as PostgREST's json_populate_recordset.
func (q *Query) recordFrom(b *builder) string {
	w := q.write
	tbl := ddl.TableName(q.tb.t)
	body := b.arg(w.body)
	switch {
	case !w.array:
		return "json_populate_record(NULL::" + tbl + ", " + body + "::json)"
	case len(w.defaults) > 0:
		return "jsonb_populate_recordset(NULL::" + tbl + ", (SELECT jsonb_agg(" + defaultsObject(w.defaults) +
			" || pgrst_e) FROM jsonb_array_elements(" + body + "::jsonb) AS pgrst_e))"
	default:
		return "json_populate_recordset(NULL::" + tbl + ", " + body + "::json)"
	}
}

// defaultsObject is a jsonb object of the columns' default values, from the
// model's default expressions, under which each body row is merged so that
// a missing key takes the default (Prefer: missing=default).
func defaultsObject(cols []column) string {
	var chunks []string
	for start := 0; start < len(cols); start += maxBuiltKeys {
		end := min(start+maxBuiltKeys, len(cols))
		parts := make([]string, 0, end-start)
		for _, c := range cols[start:end] {
			parts = append(parts, schema.QuoteLiteral(c.Name)+", "+c.Default)
		}
		chunks = append(chunks, "jsonb_build_object("+strings.Join(parts, ", ")+")")
	}
	return strings.Join(chunks, " || ")
}

// insertSQL is the source of a POST. It never names the tenant column: its
// default fills it from the transaction's tenant setting, and row-level
// security checks it.
func (q *Query) insertSQL(b *builder) []string {
	w := q.write
	tbl := ddl.TableName(q.tb.t)
	into := "INSERT INTO " + tbl
	sel := "SELECT "
	if len(w.columns) > 0 {
		into += " (" + columnList(w.columns) + ")"
		sel += columnList(w.columns) + " "
	}
	lines := []string{into, sel + "FROM " + q.recordFrom(b) + " AS pgrst_body"}
	if w.conflict != nil {
		on := "ON CONFLICT (" + ddl.Idents(w.conflict) + ") "
		if !w.merge || len(w.columns) == 0 {
			on += "DO NOTHING"
		} else {
			sets := make([]string, len(w.columns))
			for i, c := range w.columns {
				sets[i] = ddl.Ident(c.Name) + " = EXCLUDED." + ddl.Ident(c.Name)
			}
			on += "DO UPDATE SET " + strings.Join(sets, ", ")
			if q.tb.tenant != "" {
				on += " WHERE " + ddl.Ident(q.tb.t.Name) + "." + q.tenantSQL(b)
			}
		}
		lines = append(lines, on)
	}
	return append(lines, q.returningSQL())
}

// targetWhere is the WHERE of an UPDATE or DELETE: the tenant and the
// filters, or, with limit/offset, the rows a sub-select picks by ctid in
// the requested order (PostgREST's limited update and delete).
func (q *Query) targetWhere(b *builder) string {
	if q.win.Limit < 0 && q.win.Offset == 0 {
		return "WHERE " + q.whereSQL(b)
	}
	sub := "SELECT ctid FROM " + ddl.TableName(q.tb.t) + " WHERE " + q.whereSQL(b)
	if o := q.orderSQL(b); o != "" {
		sub += " " + o
	}
	sub += " " + q.pageSQL(b)
	return "WHERE " + q.tenantSQL(b) + " AND ctid IN (" + sub + ")"
}

// updateSQL is the source of a PATCH. The body is one argument, read once
// as a record of the table's type; a PATCH with nothing to set changes no
// row.
func (q *Query) updateSQL(b *builder) []string {
	w := q.write
	tbl := ddl.TableName(q.tb.t)
	if len(w.columns) == 0 && len(w.setDefault) == 0 {
		return []string{"SELECT * FROM " + tbl, "WHERE " + q.whereSQL(b) + " AND false"}
	}
	var sets []string
	if len(w.columns) > 0 {
		cols := columnList(w.columns)
		sets = append(sets, "("+cols+") = (SELECT "+cols+" FROM "+q.recordFrom(b)+")")
	}
	for _, c := range w.setDefault {
		sets = append(sets, ddl.Ident(c.Name)+" = DEFAULT")
	}
	return []string{"UPDATE " + tbl, "SET " + strings.Join(sets, ", "), q.targetWhere(b), q.returningSQL()}
}

// deleteSQL is the source of a DELETE.
func (q *Query) deleteSQL(b *builder) []string {
	return []string{"DELETE FROM " + ddl.TableName(q.tb.t), q.targetWhere(b), q.returningSQL()}
}
