package tenant_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/tenant"
)

// TestResolve_TTLFallback is what a server that misses the NOTIFY of a
// deactivation or a revocation does: it trusts its caches for TTL (5s by
// default), then reads the registry again and refuses.
func TestResolve_TTLFallback(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	store := newStore()
	r := tenant.NewResolver(store, tenant.Config{Header: "X-Tenant-ID", Now: func() time.Time { return now }})
	acme := request("Authorization", "Token "+tokBoth, "X-Tenant-ID", "acme")
	globex := request("Authorization", "Token "+tokBoth, "X-Tenant-ID", "globex")
	_, err := r.Resolve(acme)
	require.NoError(t, err)

	store.mu.Lock()
	store.tenants[0].Active = false // acme, with no Invalidate
	store.mu.Unlock()
	now = now.Add(4900 * time.Millisecond)
	_, err = r.Resolve(acme)
	assert.NoError(t, err, "cached for the default TTL of 5s")
	now = now.Add(200 * time.Millisecond)
	_, err = r.Resolve(acme)
	assert.ErrorIs(t, err, tenant.ErrTenantRefused, "refused once the directory is older than the TTL")
	_, err = r.Resolve(globex)
	require.NoError(t, err)

	// The credential was read again by the last request (it was 5.1s old);
	// revoked now, with no Invalidate, it is trusted until 5s after that.
	store.mu.Lock()
	delete(store.tokens, hex.EncodeToString(tenant.HashToken(tokBoth)))
	store.mu.Unlock()
	now = now.Add(4800 * time.Millisecond)
	_, err = r.Resolve(globex)
	assert.NoError(t, err, "cached for the TTL")
	now = now.Add(300 * time.Millisecond)
	_, err = r.Resolve(globex)
	assert.ErrorIs(t, err, tenant.ErrBadCredential, "looked up again after the TTL: revoked")
}

// gatedStore is a fakeStore whose first Tenants or Credential call (as
// chosen) reads the registry, then waits for release before answering: a
// lookup begun before a change and finished after its Invalidate.
type gatedStore struct {
	*fakeStore
	gateTenants bool
	entered     chan struct{}
	release     chan struct{}
	once        sync.Once
}

func (g *gatedStore) wait(gated bool) {
	if !gated {
		return
	}
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.release
	}
}

func (g *gatedStore) Tenants(ctx context.Context) ([]tenant.Tenant, error) {
	list, err := g.fakeStore.Tenants(ctx)
	g.wait(g.gateTenants)
	return list, err
}

func (g *gatedStore) Credential(ctx context.Context, hash []byte) (*tenant.Credential, error) {
	c, err := g.fakeStore.Credential(ctx, hash)
	g.wait(!g.gateTenants)
	return c, err
}

// TestResolve_InvalidateDuringLookup: a lookup that read the registry before
// a change and returns after the Invalidate announcing it must not fill the
// cache with what it read, and requests after the Invalidate must not wait
// for it and share its answer.
func TestResolve_InvalidateDuringLookup(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tenants bool // gate the directory, else the credential
		change  func(*fakeStore)
		wantErr error
	}{
		{"deactivated tenant", true, func(f *fakeStore) { f.tenants[0].Active = false }, tenant.ErrTenantRefused},
		{"revoked token", false, func(f *fakeStore) { delete(f.tokens, hex.EncodeToString(tenant.HashToken(tokA))) }, tenant.ErrBadCredential},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := &gatedStore{fakeStore: newStore(), gateTenants: tt.tenants,
				entered: make(chan struct{}), release: make(chan struct{})}
			r := tenant.NewResolver(g, tenant.Config{Header: "X-Tenant-ID", TTL: time.Hour})
			req := func() *http.Request { return request("Authorization", "Token "+tokA, "X-Tenant-ID", "acme") }

			early := make(chan error, 1)
			go func() { _, err := r.Resolve(req()); early <- err }()
			<-g.entered // it has read the registry as it was
			g.mu.Lock()
			tt.change(g.fakeStore)
			g.mu.Unlock()
			r.Invalidate()

			late := make(chan error, 1)
			go func() { _, err := r.Resolve(req()); late <- err }()
			select {
			case err := <-late:
				assert.ErrorIs(t, err, tt.wantErr, "a request after Invalidate reads the registry itself")
			case <-time.After(5 * time.Second):
				t.Fatal("a request after Invalidate waited for a lookup begun before it")
			}

			close(g.release)
			assert.NoError(t, <-early, "the early request answers from what it read")
			_, err := r.Resolve(req())
			assert.ErrorIs(t, err, tt.wantErr, "what the early lookup read was not cached")
		})
	}
}
