package httpapi

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/query"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// stream answers a read whose response is a plain JSON array (q.Streams):
// each row PostgreSQL returns is written to the client as it arrives, so a
// large result never sits whole in memory, and the first bytes leave before
// the last row is read. The statement counts its rows in every row
// (query.RowsSQL), so the status and Content-Range go out with the first
// one. The body is the same JSON array json_agg would build.
//
// PostgreSQL reads every row before it sends the first, so an error of the
// statement arrives before anything is written and gets the usual error
// response. Past the first row only the connection can fail (the client or
// the database went away); the response is then cut off, never completed,
// so that the client sees a broken response rather than a short array.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, req *request, q *query.Query, b tenant.Binding, role *schema.Role) {
	sql, args := q.RowsSQL()
	started := false
	err := s.cfg.Runner.Query(r.Context(), s.scope(r.Context(), req, b, role), func(rows pgx.Rows) error {
		for rows.Next() {
			if !started {
				var n int64
				if err := rows.Scan(&n, nil); err != nil {
					return err
				}
				s.startArray(w, q.Offset(), n)
				started = true
			} else if _, err := w.Write(comma); err != nil {
				return err
			}
			if _, err := w.Write(rows.RawValues()[1]); err != nil {
				return err
			}
		}
		return rows.Err()
	}, sql, args...)
	switch {
	case err != nil && !started:
		s.writeError(w, r, err)
	case err != nil:
		s.cfg.Logger.Warn("response cut off", "request_id", requestIDFrom(r.Context()), "err", err.Error())
		panic(http.ErrAbortHandler)
	case !started:
		s.startArray(w, q.Offset(), 0)
		_, _ = w.Write(closeBracket)
	default:
		_, _ = w.Write(closeBracket)
	}
}

var (
	comma        = []byte(",")
	openBracket  = []byte("[")
	closeBracket = []byte("]")
)

// startArray writes the status and headers of an array of n rows from
// first, and the opening bracket.
func (s *Server) startArray(w http.ResponseWriter, first, n int64) {
	h := w.Header()
	h.Set("Content-Range", contentRange(first, n, nil))
	h.Set("Content-Type", contentJSON)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openBracket)
}
