package tenant_test

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/tenant"
)

// fakeStore is an in-memory registry that counts lookups.
type fakeStore struct {
	mu          sync.Mutex
	tenants     []tenant.Tenant
	tokens      map[string]*tenant.Credential // hex(hash) → credential
	tenantCalls atomic.Int64
	credCalls   atomic.Int64
	fail        error
}

func (f *fakeStore) Tenants(context.Context) ([]tenant.Tenant, error) {
	f.tenantCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tenant.Tenant(nil), f.tenants...), f.fail
}

func (f *fakeStore) Credential(_ context.Context, hash []byte) (*tenant.Credential, error) {
	f.credCalls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens[hex.EncodeToString(hash)], f.fail
}

const (
	acmeID   = "6f1c2a8e-3b7d-4e0f-9a51-2c4b8d7e6f10"
	globexID = "0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b"
	sleepyID = "11111111-2222-4333-8444-555555555555"
)

// Tokens of the real format (they pass tenant.CheckToken).
var (
	tokA    = token("acme")
	tokBoth = token("both")
)

func newStore() *fakeStore {
	return &fakeStore{
		tenants: []tenant.Tenant{
			{ID: acmeID, Identifier: "acme", Active: true},
			{ID: globexID, Identifier: "globex", Active: true},
			{ID: sleepyID, Identifier: "sleepy", Active: false},
		},
		tokens: map[string]*tenant.Credential{
			hex.EncodeToString(tenant.HashToken(tokA)):    {Name: "a", Role: "app", Tenants: []string{acmeID, sleepyID}},
			hex.EncodeToString(tenant.HashToken(tokBoth)): {Name: "both", Role: "app", Tenants: []string{acmeID, globexID}},
		},
	}
}

func request(headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/v1/webpages_webpage", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name    string
		cfg     tenant.Config
		headers []string
		want    string // tenant id
		wantErr error
	}{
		{"token and identifier", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "acme"}, acmeID, nil},
		{"uuid in upper case", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "6F1C2A8E-3B7D-4E0F-9A51-2C4B8D7E6F10"}, acmeID, nil},
		{"scheme is case-insensitive", tenant.Config{}, []string{"Authorization", "token " + tokA, "X-Tenant-ID", "acme"}, acmeID, nil},
		{"no credential", tenant.Config{}, []string{"X-Tenant-ID", "acme"}, "", tenant.ErrNoCredential},
		{"credential checked before the tenant is looked up", tenant.Config{}, []string{"Authorization", "Token " + token("nosuch"), "X-Tenant-ID", "initech"}, "", tenant.ErrBadCredential},
		{"missing tenant header refused before credentials", tenant.Config{Require: true}, nil, "", tenant.ErrNoTenant},
		{"two credentials", tenant.Config{}, []string{"Authorization", "Token " + tokA, "Authorization", "Token " + tokA, "X-Tenant-ID", "acme"}, "", tenant.ErrDuplicateCredential},
		{"bearer is not a token", tenant.Config{}, []string{"Authorization", "Bearer " + tokA, "X-Tenant-ID", "acme"}, "", tenant.ErrBadCredential},
		{"malformed token", tenant.Config{}, []string{"Authorization", "Token a b", "X-Tenant-ID", "acme"}, "", tenant.ErrBadCredential},
		{"no tenant header", tenant.Config{Require: true}, []string{"Authorization", "Token " + tokA}, "", tenant.ErrNoTenant},
		{"empty tenant header is missing", tenant.Config{Require: true}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", ""}, "", tenant.ErrNoTenant},
		{"no default without require is still refused", tenant.Config{}, []string{"Authorization", "Token " + tokA}, "", tenant.ErrNoTenant},
		{"default tenant when not required", tenant.Config{DefaultTenant: "acme"}, []string{"Authorization", "Token " + tokA}, acmeID, nil},
		{"default tenant ignored when required", tenant.Config{Require: true, DefaultTenant: "acme"}, []string{"Authorization", "Token " + tokA}, "", tenant.ErrNoTenant},
		{"two tenant headers", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "acme", "X-Tenant-ID", "acme"}, "", tenant.ErrDuplicateTenant},
		{"malformed tenant", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "ACME Corp"}, "", tenant.ErrMalformedTenant},
		{"unknown tenant", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "initech"}, "", tenant.ErrTenantRefused},
		{"tenant not allowed for the token", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "globex"}, "", tenant.ErrTenantRefused},
		{"inactive tenant", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "sleepy"}, "", tenant.ErrTenantRefused},
		{"other allowed tenant", tenant.Config{}, []string{"Authorization", "Token " + tokBoth, "X-Tenant-ID", globexID}, globexID, nil},

		// RFC 9110 §5.6.3: optional whitespace is SP and HTAB only. Other
		// Unicode spaces are part of the value, which is then malformed.
		{"tenant header with SP and HTAB around it", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", " \tacme\t "}, acmeID, nil},
		{"tenant header after a no-break space", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "\u00a0acme"}, "", tenant.ErrMalformedTenant},
		{"tenant header before an em space", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "acme\u2003"}, "", tenant.ErrMalformedTenant},
		{"tenant header after a vertical tab", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "\vacme"}, "", tenant.ErrMalformedTenant},
		{"tenant uuid before a no-break space", tenant.Config{}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", acmeID + "\u00a0"}, "", tenant.ErrMalformedTenant},
		{"only a no-break space is not a missing header", tenant.Config{Require: true}, []string{"Authorization", "Token " + tokA, "X-Tenant-ID", "\u00a0"}, "", tenant.ErrMalformedTenant},
		{"token with HTAB around it", tenant.Config{}, []string{"Authorization", "\tToken \t" + tokA + "\t", "X-Tenant-ID", "acme"}, acmeID, nil},
		{"token before a no-break space", tenant.Config{}, []string{"Authorization", "Token " + tokA + "\u00a0", "X-Tenant-ID", "acme"}, "", tenant.ErrBadCredential},
		{"token after an ideographic space", tenant.Config{}, []string{"Authorization", "Token \u3000" + tokA, "X-Tenant-ID", "acme"}, "", tenant.ErrBadCredential},
		{"an Authorization of a no-break space is not missing", tenant.Config{}, []string{"Authorization", "\u00a0", "X-Tenant-ID", "acme"}, "", tenant.ErrBadCredential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Header = "X-Tenant-ID"
			b, err := tenant.NewResolver(newStore(), cfg).Resolve(request(tt.headers...))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, b.Tenant.ID)
			assert.Equal(t, "app", b.Credential.Role)
		})
	}
}

// TestResolve_Cache checks that cached decisions take no lookup, refusals
// included, and that Invalidate and the TTL bring changes in.
func TestResolve_Cache(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	store := newStore()
	r := tenant.NewResolver(store, tenant.Config{Header: "X-Tenant-ID", Now: func() time.Time { return now }})
	ok := request("Authorization", "Token "+tokA, "X-Tenant-ID", "acme")
	_, err := r.Resolve(ok)
	require.NoError(t, err)
	base := store.tenantCalls.Load() + store.credCalls.Load()

	for range 100 {
		_, err = r.Resolve(ok)
		require.NoError(t, err)
		_, err = r.Resolve(request("Authorization", "Token "+tokA, "X-Tenant-ID", "globex"))
		require.ErrorIs(t, err, tenant.ErrTenantRefused)
		_, err = r.Resolve(request("Authorization", "Token "+tokA, "X-Tenant-ID", "initech"))
		require.ErrorIs(t, err, tenant.ErrTenantRefused)
		_, err = r.Resolve(request("Authorization", "Token "+tokA))
		require.ErrorIs(t, err, tenant.ErrNoTenant)
	}
	assert.Equal(t, base, store.tenantCalls.Load()+store.credCalls.Load(), "cached decisions make no lookup")

	// An unknown tenant reloads the directory at most once per MinRefresh.
	now = now.Add(2 * time.Second)
	for range 50 {
		_, _ = r.Resolve(request("Authorization", "Token "+tokA, "X-Tenant-ID", "initech"))
	}
	assert.Equal(t, int64(2), store.tenantCalls.Load())

	// A revoked token keeps working until the cache is invalidated, then not.
	store.mu.Lock()
	delete(store.tokens, hex.EncodeToString(tenant.HashToken(tokA)))
	store.mu.Unlock()
	_, err = r.Resolve(ok)
	require.NoError(t, err)
	r.Invalidate()
	_, err = r.Resolve(ok)
	assert.ErrorIs(t, err, tenant.ErrBadCredential)

	// Unknown tokens are remembered for NegativeTTL, then asked again.
	calls := store.credCalls.Load()
	_, _ = r.Resolve(ok)
	assert.Equal(t, calls, store.credCalls.Load())
	now = now.Add(6 * time.Second)
	_, _ = r.Resolve(ok)
	assert.Equal(t, calls+1, store.credCalls.Load())
}

func TestResolve_StoreError(t *testing.T) {
	store := newStore()
	store.fail = errors.New("connection refused")
	_, err := tenant.NewResolver(store, tenant.Config{Header: "X-Tenant-ID"}).
		Resolve(request("Authorization", "Token "+tokA, "X-Tenant-ID", "acme"))
	require.Error(t, err)
	for _, sentinel := range []error{tenant.ErrBadCredential, tenant.ErrTenantRefused, tenant.ErrNoCredential} {
		assert.NotErrorIs(t, err, sentinel, "an outage is not a refusal")
	}
}

func TestContext(t *testing.T) {
	_, ok := tenant.FromContext(context.Background())
	assert.False(t, ok)
	b := tenant.Binding{Tenant: tenant.Tenant{ID: acmeID}}
	got, ok := tenant.FromContext(tenant.NewContext(context.Background(), b))
	assert.True(t, ok)
	assert.Equal(t, b, got)
}
