package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/internal/pgtest"
)

func updatedAt(t *testing.T, db registry.DB, id string) time.Time {
	t.Helper()
	var at time.Time
	require.NoError(t, db.QueryRow(t.Context(), "SELECT updated_at FROM pgtenant.tenants WHERE id = $1", id).Scan(&at))
	return at
}

func TestSetTenantActive(t *testing.T) {
	db := pgtest.New(t)
	acme, globex := twoTenants(t, db.Owner)
	created := updatedAt(t, db.Owner, acme.ID)
	store := registry.NewStore(db.Login(t, "app"))

	got, err := registry.SetTenantActive(t.Context(), db.Owner, "acme", false)
	require.NoError(t, err)
	assert.Equal(t, tenant.Tenant{ID: acme.ID, Identifier: "acme", Name: "Acme Corp", Active: false}, got)
	deactivated := updatedAt(t, db.Owner, acme.ID)
	assert.True(t, deactivated.After(created), "updated_at records the change")
	dir, err := store.Tenants(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []tenant.Tenant{
		{ID: acme.ID, Identifier: "acme", Active: false},
		{ID: globex.ID, Identifier: "globex", Active: true},
	}, dir, "the server's directory sees it; the other tenant is untouched")

	got, err = registry.SetTenantActive(t.Context(), db.Owner, strings.ToUpper(acme.ID), false)
	require.NoError(t, err, "deactivating an inactive tenant is no error")
	assert.False(t, got.Active)
	assert.Equal(t, deactivated, updatedAt(t, db.Owner, acme.ID), "and changes nothing")

	got, err = registry.SetTenantActive(t.Context(), db.Owner, acme.ID, true)
	require.NoError(t, err)
	assert.True(t, got.Active)
	assert.True(t, updatedAt(t, db.Owner, acme.ID).After(deactivated))

	for _, ref := range []string{"initech", "00000000-0000-0000-0000-000000000000", "Acme", ""} {
		_, err := registry.SetTenantActive(t.Context(), db.Owner, ref, false)
		assert.ErrorIs(t, err, registry.ErrUnknownTenant, ref)
	}
	list, err := registry.ListTenants(t.Context(), db.Owner)
	require.NoError(t, err)
	for _, tn := range list {
		assert.True(t, tn.Active, "%s: a refused call changes nothing", tn.Identifier)
	}
}

func TestRevokeToken(t *testing.T) {
	db := pgtest.New(t)
	twoTenants(t, db.Owner)
	store := registry.NewStore(db.Login(t, "app"))
	live := func(token string) bool {
		t.Helper()
		c, err := store.Credential(t.Context(), tenant.HashToken(token))
		require.NoError(t, err)
		return c != nil
	}
	ci, ciCred, err := registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"acme"})
	require.NoError(t, err)
	deploy, deployCred, err := registry.CreateToken(t.Context(), db.Owner, "deploy", "reader", []string{"globex"})
	require.NoError(t, err)
	require.True(t, live(ci))

	require.NoError(t, registry.RevokeToken(t.Context(), db.Owner, "ci"), "by name")
	assert.False(t, live(ci), "pgtenant.lookup_token no longer returns it")
	assert.True(t, live(deploy), "other tokens are untouched")

	err = registry.RevokeToken(t.Context(), db.Owner, "ci")
	assert.ErrorIs(t, err, registry.ErrAlreadyRevoked, "revoking twice says so")
	assert.Contains(t, err.Error(), ciCred.ID)
	err = registry.RevokeToken(t.Context(), db.Owner, strings.ToUpper(ciCred.ID))
	assert.ErrorIs(t, err, registry.ErrAlreadyRevoked, "by id, in any letter case")

	// A new token may take a revoked one's name: the name then means the live one.
	ci2, ci2Cred, err := registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"acme"})
	require.NoError(t, err)
	require.NoError(t, registry.RevokeToken(t.Context(), db.Owner, "ci"))
	assert.False(t, live(ci2))

	// Two live tokens of one name: refused, nothing revoked; the id decides.
	_, a, err := registry.CreateToken(t.Context(), db.Owner, "twin", "app", []string{"acme"})
	require.NoError(t, err)
	twin, b, err := registry.CreateToken(t.Context(), db.Owner, "twin", "app", []string{"acme"})
	require.NoError(t, err)
	err = registry.RevokeToken(t.Context(), db.Owner, "twin")
	assert.ErrorIs(t, err, registry.ErrAmbiguousToken)
	assert.Contains(t, err.Error(), a.ID)
	assert.Contains(t, err.Error(), b.ID)
	assert.True(t, live(twin))
	require.NoError(t, registry.RevokeToken(t.Context(), db.Owner, b.ID))
	assert.False(t, live(twin))

	for _, ref := range []string{"nope", "00000000-0000-0000-0000-000000000000", ""} {
		assert.ErrorIs(t, registry.RevokeToken(t.Context(), db.Owner, ref), registry.ErrUnknownToken, ref)
	}
	assert.True(t, live(deploy))

	list, err := registry.ListTokens(t.Context(), db.Owner)
	require.NoError(t, err)
	revoked := map[string]bool{}
	for _, k := range list {
		revoked[k.ID] = k.RevokedAt != nil
	}
	assert.Equal(t, map[string]bool{ciCred.ID: true, deployCred.ID: false, ci2Cred.ID: true, a.ID: false, b.ID: true}, revoked)
}

// listen returns a function that waits up to d for the next notification on
// channel pgtenant and returns its payload, or "" when none came.
func listen(t *testing.T, url string) func(d time.Duration) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(t.Context(), "LISTEN pgtenant")
	require.NoError(t, err)
	return func(d time.Duration) string {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		n, err := conn.WaitForNotification(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return ""
		}
		require.NoError(t, err)
		return n.Payload
	}
}

// TestNotify checks which registry changes the triggers announce to running
// servers: exactly those that change what a server caches. A token lookup,
// which updates last_used_at on every uncached request, must not, or every
// request would empty every server's caches.
func TestNotify(t *testing.T) {
	db := pgtest.New(t)
	next := listen(t, db.LoginURL(t, "app"))
	store := registry.NewStore(db.Login(t, "app"))
	const quiet = 300 * time.Millisecond
	exec := func(sql string, args ...any) func() error {
		return func() error { _, err := db.Owner.Exec(t.Context(), sql, args...); return err }
	}
	var token string
	var cred tenant.Credential
	steps := []struct {
		name   string
		do     func() error
		notify bool
	}{
		{"create a tenant", func() error { _, _, err := twoTenantsErr(t.Context(), db.Owner); return err }, false},
		{"create a token", func() (err error) {
			token, cred, err = registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"acme", "globex"})
			return err
		}, true},
		{"look a token up (updates last_used_at)", func() error { _, err := store.Credential(t.Context(), tenant.HashToken(token)); return err }, false},
		{"read the directory", func() error { _, err := store.Tenants(t.Context()); return err }, false},
		{"rename a tenant", exec("UPDATE pgtenant.tenants SET name = 'ACME' WHERE identifier = 'acme'"), false},
		{"deactivate", func() error { _, err := registry.SetTenantActive(t.Context(), db.Owner, "acme", false); return err }, true},
		{"activate", func() error { _, err := registry.SetTenantActive(t.Context(), db.Owner, "acme", true); return err }, true},
		{"set a rate limit", func() error { _, err := registry.SetTenantLimit(t.Context(), db.Owner, "acme", 5, 10); return err }, true},
		{"clear a rate limit", func() error { _, err := registry.SetTenantLimit(t.Context(), db.Owner, "acme", 0, 0); return err }, true},
		{"change an identifier", exec("UPDATE pgtenant.tenants SET identifier = 'acme2' WHERE identifier = 'acme'"), true},
		{"take a tenant from a token", func() error {
			return exec("DELETE FROM pgtenant.token_tenants WHERE token_id = $1 AND tenant_id = $2", cred.ID, cred.Tenants[0])()
		}, true},
		{"change a token's role", func() error {
			return exec("UPDATE pgtenant.tokens SET role = 'reader' WHERE id = $1", cred.ID)()
		}, true},
		{"a rolled-back revocation", func() error {
			tx, err := db.Owner.Begin(t.Context())
			require.NoError(t, err)
			_, err = tx.Exec(t.Context(), "UPDATE pgtenant.tokens SET revoked_at = now()")
			require.NoError(t, err)
			return tx.Rollback(t.Context())
		}, false},
		{"revoke", func() error { return registry.RevokeToken(t.Context(), db.Owner, "ci") }, true},
		{"revoke again", func() error {
			if err := registry.RevokeToken(t.Context(), db.Owner, "ci"); !errors.Is(err, registry.ErrAlreadyRevoked) {
				return err
			}
			return nil
		}, false},
		{"delete a token", exec("DELETE FROM pgtenant.tokens"), true},
		{"delete a tenant", exec("DELETE FROM pgtenant.tenants WHERE identifier = 'globex'"), true},
	}
	for _, s := range steps {
		require.NoError(t, s.do(), s.name)
		if s.notify {
			assert.Equal(t, "registry", next(5*time.Second), "%s: NOTIFY pgtenant, 'registry'", s.name)
			assert.Empty(t, next(quiet), "%s: one notification per transaction", s.name)
		} else {
			assert.Empty(t, next(quiet), "%s: no notification", s.name)
		}
	}
}

// twoTenantsErr is twoTenants for a step that reports its error.
func twoTenantsErr(ctx context.Context, owner registry.DB) (acme, globex tenant.Tenant, err error) {
	if acme, err = registry.CreateTenant(ctx, owner, "acme", "Acme Corp", "test"); err != nil {
		return
	}
	globex, err = registry.CreateTenant(ctx, owner, "globex", "Globex", "test")
	return
}

// TestSetTenantLimit: a tenant's own rate limit is stored with it, reaches the app login through
// pgtenant.tenant_directory() (0 where the server's default applies), shows in ListTenants, and is cleared again.
func TestSetTenantLimit(t *testing.T) {
	db := pgtest.New(t)
	acme, globex := twoTenants(t, db.Owner)
	store := registry.NewStore(db.Login(t, "app"))

	got, err := registry.SetTenantLimit(t.Context(), db.Owner, "acme", 2.5, 7)
	require.NoError(t, err)
	assert.Equal(t, tenant.Tenant{ID: acme.ID, Identifier: "acme", Name: "Acme Corp", Active: true, RateRPS: 2.5, RateBurst: 7}, got)
	dir, err := store.Tenants(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []tenant.Tenant{
		{ID: acme.ID, Identifier: "acme", Active: true, RateRPS: 2.5, RateBurst: 7},
		{ID: globex.ID, Identifier: "globex", Active: true},
	}, dir, "the app login reads the limit; the other tenant keeps the default")
	list, err := registry.ListTenants(t.Context(), db.Owner)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, 2.5, list[0].RateRPS)
	assert.Equal(t, 7, list[0].RateBurst)

	for _, bad := range []struct {
		rps   float64
		burst int
	}{{0, 5}, {5, 0}, {-1, 5}, {5, -1}} {
		_, err := registry.SetTenantLimit(t.Context(), db.Owner, "acme", bad.rps, bad.burst)
		assert.ErrorIs(t, err, registry.ErrInvalidLimit, "%v", bad)
	}
	_, err = registry.SetTenantLimit(t.Context(), db.Owner, "initech", 1, 1)
	assert.ErrorIs(t, err, registry.ErrUnknownTenant)

	got, err = registry.SetTenantLimit(t.Context(), db.Owner, acme.ID, 0, 0)
	require.NoError(t, err)
	assert.Zero(t, got.RateRPS)
	assert.Zero(t, got.RateBurst)
	dir, err = store.Tenants(t.Context())
	require.NoError(t, err)
	assert.Zero(t, dir[0].RateRPS, "cleared")

	// The columns refuse what the function refuses, whoever writes them.
	_, err = db.Owner.Exec(t.Context(), "UPDATE pgtenant.tenants SET rate_limit_rps = 0 WHERE id = $1", acme.ID)
	assert.Error(t, err, "rate_limit_rps > 0")
}
