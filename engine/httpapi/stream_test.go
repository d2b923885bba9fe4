package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/pgtx"
)

// gatedRunner hands out n rows of benchRow and, before the last one, waits
// until the client has read the first byte of the response.
type gatedRunner struct {
	fakeRunner
	firstByte <-chan struct{}
}

func (g gatedRunner) Query(_ context.Context, _ pgtx.Scope, fn func(pgx.Rows) error, _ string, _ ...any) error {
	return fn(&gatedRows{fakeRows: fakeRows{n: g.rows}, firstByte: g.firstByte})
}

type gatedRows struct {
	fakeRows
	firstByte <-chan struct{}
	waited    bool
}

func (r *gatedRows) Next() bool {
	if r.i == r.n-1 && !r.waited {
		r.waited = true
		select {
		case <-r.firstByte:
		case <-time.After(10 * time.Second):
			panic("the client got no byte before the last row was read")
		}
	}
	return r.fakeRows.Next()
}

// TestStream_FirstByteBeforeLastRow checks that a large read is streamed: the
// client receives the start of the response while the server has not yet
// read the statement's last row (make bench's scenario 6), and the body is
// still the whole JSON array.
func TestStream_FirstByteBeforeLastRow(t *testing.T) {
	const rows = 10000
	firstByte := make(chan struct{})
	s := newBenchServer(t, gatedRunner{fakeRunner: fakeRunner{rows: rows}, firstByte: firstByte})
	ts := httptest.NewServer(s)
	defer ts.Close()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+"/api/v1/webpages_webpage?select=*", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token "+benchToken)
	req.Header.Set("X-Tenant-ID", "t100")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "0-9999/*", resp.Header.Get("Content-Range"))
	first := make([]byte, 1)
	_, err = io.ReadFull(resp.Body, first)
	require.NoError(t, err)
	close(firstByte)
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var got []json.RawMessage
	require.NoError(t, json.Unmarshal(append(first, rest...), &got))
	assert.Len(t, got, rows)
}
