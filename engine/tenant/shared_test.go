package tenant_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/tenant"
)

// heldStore is a fakeStore whose lookups (the directory's or the
// credential's, as chosen) wait for release, or give up with their
// context's error when it ends first, as a query does.
type heldStore struct {
	*fakeStore
	holdTenants bool
	entered     chan struct{} // one value per lookup that started waiting
	release     chan struct{}
	deadline    chan time.Time // the deadline of each held lookup's context
}

func (h *heldStore) hold(ctx context.Context, held bool) error {
	if !held {
		return nil
	}
	d, _ := ctx.Deadline()
	h.deadline <- d
	h.entered <- struct{}{}
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *heldStore) Tenants(ctx context.Context) ([]tenant.Tenant, error) {
	if err := h.hold(ctx, h.holdTenants); err != nil {
		return nil, err
	}
	return h.fakeStore.Tenants(ctx)
}

func (h *heldStore) Credential(ctx context.Context, hash []byte) (*tenant.Credential, error) {
	if err := h.hold(ctx, !h.holdTenants); err != nil {
		return nil, err
	}
	return h.fakeStore.Credential(ctx, hash)
}

// TestResolve_SharedLookupOutlivesItsCaller: concurrent requests share one
// lookup of a credential or of the tenant directory. When the request that
// started it goes away, the lookup goes on for the others: it runs under a
// context of its own, bounded by LookupTimeout, not under its first caller's.
// The caller that went away stops waiting at once.
func TestResolve_SharedLookupOutlivesItsCaller(t *testing.T) {
	for _, tt := range []struct {
		name    string
		tenants bool // hold the directory, else the credential
	}{{"credential", false}, {"tenant directory", true}} {
		t.Run(tt.name, func(t *testing.T) {
			h := &heldStore{fakeStore: newStore(), holdTenants: tt.tenants, entered: make(chan struct{}, 4),
				release: make(chan struct{}), deadline: make(chan time.Time, 4)}
			r := tenant.NewResolver(h, tenant.Config{Header: "X-Tenant-ID", LookupTimeout: time.Minute})
			req := func(ctx context.Context) *http.Request {
				return request("Authorization", "Token "+tokA, "X-Tenant-ID", "acme").WithContext(ctx)
			}

			ctxA, cancelA := context.WithCancel(t.Context())
			a := make(chan error, 1)
			go func() { _, err := r.Resolve(req(ctxA)); a <- err }()
			<-h.entered
			d := <-h.deadline
			assert.WithinDuration(t, time.Now().Add(time.Minute), d, 10*time.Second, "bounded by LookupTimeout")
			b := make(chan error, 1)
			go func() { _, err := r.Resolve(req(t.Context())); b <- err }()
			time.Sleep(50 * time.Millisecond) // b joins the lookup under way

			cancelA()
			select {
			case err := <-a:
				assert.ErrorIs(t, err, context.Canceled, "the request that went away stops waiting")
			case <-time.After(5 * time.Second):
				t.Fatal("the request that went away still waits for the lookup")
			}
			select {
			case err := <-b:
				t.Fatalf("the joined request ended with the caller that went away: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
			close(h.release)
			require.NoError(t, <-b, "the joined request gets the lookup's answer")
			assert.Empty(t, h.entered, "one lookup, shared")
		})
	}
}
