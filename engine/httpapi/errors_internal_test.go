package httpapi

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
)

// TestErrorFor_LostDatabase: whichever way the database goes away under a
// request, the answer is 503 PGT503. A crash or `pg_ctl stop -m immediate`
// sends no FATAL message: the socket is reset or closed under the statement
// (TestOutage_PostgresRestart/immediate).
func TestErrorFor_LostDatabase(t *testing.T) {
	s := New(Config{}, nil)
	reset := &net.OpError{Op: "read", Net: "tcp", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"connection refused", &pgconn.ConnectError{}},
		{"admin shutdown", fmt.Errorf("pgtx: bind: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01"})},
		{"starting up", &pgconn.PgError{Severity: "FATAL", Code: "57P03"}},
		{"connection reset under a statement", fmt.Errorf("pgtx: bind: %w", reset)},
		{"connection closed under a statement", fmt.Errorf("pgtx: bind: %w", io.ErrUnexpectedEOF)},
		{"connection closed between messages", fmt.Errorf("pgtx: bind: %w", io.EOF)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := s.errorFor(tt.err)
			assert.Equal(t, http.StatusServiceUnavailable, e.status())
			assert.Equal(t, codeUnavailable, e.Code)
		})
	}
}

// TestReadBody_Truncated: a body that ends before its Content-Length is the
// client's fault, a 400, not a database outage, although it is a socket
// error too.
func TestReadBody_Truncated(t *testing.T) {
	s := New(Config{}, nil)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/t", io.MultiReader(strings.NewReader(`{"a":`),
		iotest.ErrReader(io.ErrUnexpectedEOF)))
	_, err := s.readBody(r)
	e := s.errorFor(err)
	assert.Equal(t, http.StatusBadRequest, e.status(), "%v", err)
	assert.Equal(t, "PGRST102", e.Code)
}

// TestStatusOf_EveryErrorType: the one table of error statuses has a 4xx or
// 5xx for every kind of failure, and no two kinds share a status.
func TestStatusOf_EveryErrorType(t *testing.T) {
	seen := map[int]errorType{}
	for typ := errorInternal; typ <= errorTimeout; typ++ {
		status := apiError{typ: typ}.status()
		// An ambiguous embed is PostgREST's 300 Multiple Choices (PGRST201); every other failure a 4xx or 5xx.
		assert.True(t, status >= 400 && status < 600 || typ == errorAmbiguous && status == 300, "type %d: status %d", typ, status)
		if prev, dup := seen[status]; dup {
			t.Errorf("types %d and %d share status %d", prev, typ, status)
		}
		seen[status] = typ
	}
	assert.Len(t, statusOf, int(errorTimeout)+1, "errorTimeout is the last type")
}
