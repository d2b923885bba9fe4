package scratch

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/schema"
)

// ExecEach runs the statements of sql on conn one by one, as PostgreSQL's parser splits them
// (schema.ParseScript), each alone in the extended protocol (Parse, Bind, Execute). The server's Parse refuses a
// message that holds more than one statement, so its own parser confirms every split: SQL hidden inside one
// statement cannot run as another, as it could in a simple-protocol Query message. It stops at the first error
// and returns the statements, how many of them completed, and the error: a *pgconn.PgError when the server
// refused statement stmts[completed], whose Position then counts in that statement's text.
//
// Code that runs SQL built from a declaration (the scratch database of validate and plan, verify's temporary
// copies) runs it through ExecEach, never as one simple-protocol script.
func ExecEach(ctx context.Context, conn *pgconn.PgConn, sql string) (stmts []schema.Statement, completed int, err error) {
	if stmts, err = schema.ParseScript(sql); err != nil {
		return nil, 0, fmt.Errorf("scratch: %w", err)
	}
	for _, st := range stmts {
		if _, err := conn.ExecParams(ctx, sql[st.Start:st.End], nil, nil, nil, nil).Close(); err != nil {
			return stmts, completed, err
		}
		completed++
	}
	return stmts, completed, nil
}
