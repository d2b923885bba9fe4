package httpapi_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exchange sends raw on a new connection to addr and reads every response until the server closes the
// connection or stops answering (within a second of the last response); closed says whether it closed.
func exchange(t *testing.T, addr, raw string) (responses []*http.Response, bodies []string, closed bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, raw)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	for {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Second)))
		resp, err := http.ReadResponse(br, nil)
		var ne net.Error
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return responses, bodies, true
		case errors.As(err, &ne) && ne.Timeout():
			return responses, bodies, false
		}
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		responses, bodies = append(responses, resp), append(bodies, string(b))
	}
}

// TestTransferEncoding_Refused: RFC 9112 §6.1. Go's server frames a request that has both Content-Length and
// Transfer-Encoding by the chunked coding and drops the Content-Length, so a proxy in front that frames by
// Content-Length forwards a second, smuggled request inside the first one's body, which was answered on the same
// connection. Every request with a transfer coding is now refused with 400 PGT032 and its connection closed: the
// smuggled request is never read.
func TestTransferEncoding_Refused(t *testing.T) {
	api := newBenchServer(t, fakeRunner{rows: 1})
	ts := httptest.NewServer(api)
	defer ts.Close()
	admin := httptest.NewServer(api.AdminHandler(prometheus.NewRegistry()))
	defer admin.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")

	auth := "Authorization: Token " + benchToken + "\r\nX-Tenant-ID: t100\r\n"
	smuggled := "GET /api/v1/webpages_webpage HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"
	chunkedEnd := "0\r\n\r\n"

	tests := []struct {
		name, addr, raw string
	}{
		{"Content-Length then Transfer-Encoding", addr, "POST /api/v1/webpages_pagetheme HTTP/1.1\r\nHost: x\r\n" + auth +
			"Content-Type: application/json\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", len(chunkedEnd+smuggled)) + "Transfer-Encoding: chunked\r\n\r\n" +
			chunkedEnd + smuggled},
		{"Transfer-Encoding then Content-Length", addr, "POST /api/v1/webpages_pagetheme HTTP/1.1\r\nHost: x\r\n" + auth +
			"Transfer-Encoding: chunked\r\n" + fmt.Sprintf("Content-Length: %d\r\n", len(chunkedEnd+smuggled)) +
			"Content-Type: application/json\r\n\r\n" + chunkedEnd + smuggled},
		{"on a GET, without credentials", addr, "GET /api/v1/webpages_webpage HTTP/1.1\r\nHost: x\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", len(chunkedEnd+smuggled)) + "Transfer-Encoding: chunked\r\n\r\n" +
			chunkedEnd + smuggled},
		{"Transfer-Encoding alone", addr, "POST /api/v1/webpages_pagetheme HTTP/1.1\r\nHost: x\r\n" + auth +
			"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"10\r\n{\"name\":\"theme\"}\r\n" + chunkedEnd + smuggled},
		{"on the admin listener", strings.TrimPrefix(admin.URL, "http://"), "GET /healthz HTTP/1.1\r\nHost: x\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", len(chunkedEnd+"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")) +
			"Transfer-Encoding: chunked\r\n\r\n" + chunkedEnd + "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			responses, bodies, closed := exchange(t, tt.addr, tt.raw)
			require.Len(t, responses, 1, "the smuggled request is never answered: %q", bodies)
			r := responses[0]
			assert.Equal(t, http.StatusBadRequest, r.StatusCode)
			assert.True(t, r.Close, "Connection: close")
			assert.True(t, closed, "the server closed the connection")
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(bodies[0]), &body), bodies[0])
			assert.Equal(t, "PGT032", body["code"])
			assert.Contains(t, body, "hint")
		})
	}

	t.Run("Content-Length alone keeps the connection", func(t *testing.T) {
		body := `{"name":"theme"}`
		post := "POST /api/v1/webpages_pagetheme HTTP/1.1\r\nHost: x\r\n" + auth +
			fmt.Sprintf("Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)) + body
		responses, _, closed := exchange(t, addr, post+smuggled)
		require.Len(t, responses, 2, "two requests, two answers")
		assert.Equal(t, http.StatusCreated, responses[0].StatusCode)
		assert.Equal(t, http.StatusOK, responses[1].StatusCode)
		assert.False(t, closed)
	})
}
