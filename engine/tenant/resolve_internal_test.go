package tenant

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// emptyStore is a registry without tokens that counts its lookups.
type emptyStore struct{ lookups atomic.Int64 }

func (s *emptyStore) Tenants(context.Context) ([]Tenant, error) { return nil, nil }
func (s *emptyStore) Credential(context.Context, []byte) (*Credential, error) {
	s.lookups.Add(1)
	return nil, nil
}

// TestResolve_NegativeCacheBounded: made-up tokens that pass the format
// check (anyone can compute the checksum) each cost one lookup, and the
// cache of unknown tokens keeps at most NegativeCacheSize of them, the most
// recent: 40,000 of them leave it at its bound (before, every miss was kept
// until the next Invalidate: 6 MB of live heap for 40,000).
func TestResolve_NegativeCacheBounded(t *testing.T) {
	store := &emptyStore{}
	r := NewResolver(store, Config{Header: "X-Tenant-ID"})
	forged := func(i int) string {
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		return FormatToken(sha256.Sum256(seed[:]))
	}
	resolve := func(tok string) error {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Token "+tok)
		req.Header.Set("X-Tenant-ID", "acme")
		_, err := r.Resolve(req)
		return err
	}
	const n = 40000
	for i := range n {
		require.ErrorIs(t, resolve(forged(i)), ErrBadCredential)
	}
	assert.Equal(t, int64(n), store.lookups.Load(), "one lookup each")
	assert.Equal(t, 10000, r.unknown.Len(), "the default bound")
	assert.Empty(t, r.creds)

	require.ErrorIs(t, resolve(forged(n-1)), ErrBadCredential)
	assert.Equal(t, int64(n), store.lookups.Load(), "a recent unknown token is remembered")
	require.ErrorIs(t, resolve(forged(0)), ErrBadCredential)
	assert.Equal(t, int64(n+1), store.lookups.Load(), "the oldest were forgotten")
	assert.Equal(t, 10000, r.unknown.Len())
}
