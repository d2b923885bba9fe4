package query

import (
	"strings"
)

// Streams reports whether the response is a plain JSON array that can be
// sent row by row as PostgreSQL returns it (RowsSQL): a GET that is neither
// singular nor CSV, asks for no count and reads no call's result. Its status and Content-Range need
// only the number of rows, which every row of RowsSQL carries.
func (q *Query) Streams() bool {
	return q.method == "GET" && !q.singular && !q.csv && q.prefer.Count == "" && q.call == nil
}

// RowsColumns names the columns of each row of RowsSQL.
var RowsColumns = []string{"page_total", "body"}

// RowsSQL renders a query that Streams as a statement returning one row per
// element of the response array, in order: page_total, the number of rows
// (the same in every row), and body, the element's JSON text, exactly as
// json_agg would embed it in SQL's array. No row means an empty array.
//
// count(*) OVER () makes PostgreSQL read every row before it sends the first,
// so an error (a bad cast, the statement timeout) comes before the response
// has begun; the rows are then sent to the client as they are read, so that a
// large response never sits whole in the server's memory.
func (q *Query) RowsSQL() (string, []any) {
	b := &builder{}
	src := q.readSQL(b)
	inner, row := q.innerSQL(b)
	var s strings.Builder
	s.WriteString("WITH pgrst_source AS (\n  ")
	s.WriteString(strings.Join(src, "\n  "))
	s.WriteString("\n)\nSELECT pg_catalog.count(*) OVER () AS page_total, pgrst_body AS body\nFROM (SELECT to_json(")
	s.WriteString(row)
	s.WriteString(")::text AS pgrst_body FROM (")
	s.WriteString(inner)
	s.WriteString(") _postgrest_t) _postgrest_r")
	return s.String(), b.args
}
