package httpapi_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/httpapi"
	"pgtenant/engine/tenant"
)

// madeUpToken is a token that passes the format check (anyone can compute
// the checksum) but was never issued.
func madeUpToken(seed string) string { return tenant.FormatToken(sha256.Sum256([]byte(seed))) }

// TestBogusTokens_NoDatabaseWork: a token that fails the format check is
// refused with 401 PGT002 before any database work: 1,000 of them (random
// text, the earlier format, a wrong checksum) cost no statement at all.
// Before the checksum, any 16 to 512 characters were looked up (1,000 cost
// 1,131 transactions). A made-up token of the right format costs one
// lookup, then is remembered.
func TestBogusTokens_NoDatabaseWork(t *testing.T) {
	s := newServer(t)
	before := s.queries.Load()
	for i := range 1000 {
		var tok string
		switch i % 3 {
		case 0:
			tok = "pgt_" + madeUpToken(strconv.Itoa(i))[4:47] // the earlier format
		case 1:
			tok = madeUpToken(strconv.Itoa(i))[:47] + "AAAAAA" // a wrong checksum
		default:
			tok = fmt.Sprintf("pgt_%049d", i)
		}
		r := s.as(tok, "acme").get(t, "/webpages_webpage")
		r.requireStatus(t, http.StatusUnauthorized)
		require.Equal(t, "PGT002", r.error(t).Code)
	}
	assert.Zero(t, s.queries.Load()-before, "no statement for a malformed token")

	forged := s.as(madeUpToken("forged"), "acme")
	for range 100 {
		forged.get(t, "/webpages_webpage").requireStatus(t, http.StatusUnauthorized)
	}
	assert.Equal(t, int64(1), s.queries.Load()-before, "one lookup, then the negative cache")
}

// TestAuthFailureLimit: failed authentications are rate-limited per client
// address, before any database work: once an address has spent its burst,
// its requests get 429 PGT004 with Retry-After, whatever credential they
// carry, until its bucket refills.
func TestAuthFailureLimit(t *testing.T) {
	s := newEnv(t).start(t, serverOpts{authFailures: httpapi.AuthFailureLimit{RPS: 0.01, Burst: 5}})
	s.acmeApp().get(t, "/webpages_webpage").requireStatus(t, http.StatusOK) // successes cost nothing
	for i := range 5 {
		r := s.as(madeUpToken(strconv.Itoa(i)), "acme").get(t, "/webpages_webpage")
		r.requireStatus(t, http.StatusUnauthorized)
	}
	before := s.queries.Load()
	for _, c := range []client{s.as(madeUpToken("six"), "acme"), s.as("junk", "acme"), s.acmeApp()} {
		r := c.get(t, "/webpages_webpage")
		r.requireStatus(t, http.StatusTooManyRequests)
		assert.Equal(t, "PGT004", r.error(t).Code)
		assert.Equal(t, "100", r.Header.Get("Retry-After"), "a token every 100s")
	}
	assert.Zero(t, s.queries.Load()-before, "refused before any database work")
	n, ok := find(gather(t, s.reg), "pgtenant_auth_failure_rejections_total", map[string]string{})
	assert.True(t, ok)
	assert.Equal(t, 3.0, n)
}
