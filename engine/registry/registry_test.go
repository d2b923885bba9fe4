package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// sqlState returns the SQLSTATE of a PostgreSQL error, or "".
func sqlState(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code
	}
	return ""
}

// twoTenants registers acme and globex as the owner.
func twoTenants(t *testing.T, owner registry.DB) (acme, globex tenant.Tenant) {
	t.Helper()
	acme, err := registry.CreateTenant(t.Context(), owner, "acme", "Acme Corp", "test")
	require.NoError(t, err)
	globex, err = registry.CreateTenant(t.Context(), owner, "globex", "Globex", "test")
	require.NoError(t, err)
	return acme, globex
}

func count(t *testing.T, db *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

// TestStore runs the server's side as a login that holds only app: it reads
// the registry through the SECURITY DEFINER functions.
func TestStore(t *testing.T) {
	db := pgtest.New(t)
	acme, globex := twoTenants(t, db.Owner)
	_, err := db.Owner.Exec(t.Context(), "UPDATE pgtenant.tenants SET is_active = false WHERE id = $1", globex.ID)
	require.NoError(t, err)
	token, cred, err := registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"globex", "acme"})
	require.NoError(t, err)

	store := registry.NewStore(db.Login(t, "app"))

	tenants, err := store.Tenants(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []tenant.Tenant{
		{ID: acme.ID, Identifier: "acme", Active: true},
		{ID: globex.ID, Identifier: "globex", Active: false},
	}, tenants)

	got, err := store.Credential(t.Context(), tenant.HashToken(token))
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, cred, *got)
	assert.Equal(t, "ci", got.Name)
	assert.Equal(t, "app", got.Role)
	assert.ElementsMatch(t, []string{acme.ID, globex.ID}, got.Tenants)
	assert.True(t, got.Allows(acme.ID))

	var used bool
	require.NoError(t, db.Owner.QueryRow(t.Context(),
		"SELECT last_used_at IS NOT NULL FROM pgtenant.tokens WHERE id = $1", cred.ID).Scan(&used))
	assert.True(t, used, "a lookup records the token's use")

	for name, hash := range map[string][]byte{
		"unknown":     tenant.HashToken(token + "x"),
		"wrong size":  []byte("short"),
		"empty":       nil,
		"token as is": []byte(token),
	} {
		got, err := store.Credential(t.Context(), hash)
		assert.NoError(t, err, name)
		assert.Nil(t, got, name)
	}

	_, err = db.Owner.Exec(t.Context(), "UPDATE pgtenant.tokens SET revoked_at = now() WHERE id = $1", cred.ID)
	require.NoError(t, err)
	got, err = store.Credential(t.Context(), tenant.HashToken(token))
	assert.NoError(t, err)
	assert.Nil(t, got, "a revoked token is not returned")
}

func TestStore_TokenWithoutTenants(t *testing.T) {
	db := pgtest.New(t)
	twoTenants(t, db.Owner)
	token, cred, err := registry.CreateToken(t.Context(), db.Owner, "orphan", "reader", []string{"acme"})
	require.NoError(t, err)
	_, err = db.Owner.Exec(t.Context(), "DELETE FROM pgtenant.token_tenants WHERE token_id = $1", cred.ID)
	require.NoError(t, err)

	got, err := registry.NewStore(db.Login(t, "reader")).Credential(t.Context(), tenant.HashToken(token))
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, []string{}, got.Tenants, "an empty array, not NULL")
	assert.Equal(t, "reader", got.Role)
}

// TestStore_Privileges checks what the login of the API may and may not do
// in the pgtenant schema, and how the functions are declared.
func TestStore_Privileges(t *testing.T) {
	db := pgtest.New(t)
	twoTenants(t, db.Owner)
	app := db.Login(t, "app")
	for _, q := range []string{
		"SELECT * FROM pgtenant.tokens",
		"SELECT token_hash FROM pgtenant.tokens",
		"SELECT * FROM pgtenant.tenants",
		"SELECT * FROM pgtenant.token_tenants",
		"INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ('evil', 'Evil', 'app')",
		"UPDATE pgtenant.tokens SET revoked_at = NULL",
	} {
		_, err := app.Exec(t.Context(), q)
		assert.Equal(t, "42501", sqlState(err), "%s: %v", q, err)
	}

	// A login holding no declared role may not call the functions either:
	// EXECUTE is revoked from PUBLIC.
	nobody := db.Login(t)
	for _, q := range []string{
		"SELECT * FROM pgtenant.tenant_directory()",
		"SELECT * FROM pgtenant.lookup_token('\\x00'::bytea)",
	} {
		_, err := nobody.Exec(t.Context(), q)
		assert.Equal(t, "42501", sqlState(err), "%s: %v", q, err)
	}
	_, err := registry.NewStore(nobody).Tenants(t.Context())
	assert.Equal(t, "42501", sqlState(err))

	rows, err := db.Owner.Query(t.Context(), `
		SELECT p.proname, p.prosecdef, p.proconfig::text
		  FROM pg_proc p WHERE p.pronamespace = 'pgtenant'::regnamespace ORDER BY p.proname`)
	require.NoError(t, err)
	type fn struct {
		Name    string
		Definer bool
		Config  string
	}
	fns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fn])
	require.NoError(t, err)
	assert.Equal(t, []fn{
		{"lookup_token", true, `{"search_path=pg_catalog, pg_temp"}`},
		{"notify_registry_change", false, `{"search_path=pg_catalog, pg_temp"}`},
		{"tenant_directory", true, `{"search_path=pg_catalog, pg_temp"}`},
	}, fns)
}

func TestCreateTenant(t *testing.T) {
	db := pgtest.New(t)
	acme, err := registry.CreateTenant(t.Context(), db.Owner, "acme", "Acme Corp", "alice")
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, acme.ID)
	assert.Equal(t, tenant.Tenant{ID: acme.ID, Identifier: "acme", Name: "Acme Corp", Active: true}, acme)

	tests := []struct {
		name                         string
		identifier, tenant, createBy string
		wantErr                      error
		wantField                    string
	}{
		{name: "duplicate", identifier: "acme", tenant: "Other", createBy: "bob", wantErr: registry.ErrTenantExists},
		{name: "upper case", identifier: "Acme", tenant: "X", createBy: "bob", wantErr: registry.ErrInvalidIdentifier},
		{name: "leading digit", identifier: "1acme", tenant: "X", createBy: "bob", wantErr: registry.ErrInvalidIdentifier},
		{name: "hyphen", identifier: "prod-org", tenant: "X", createBy: "bob", wantErr: registry.ErrInvalidIdentifier},
		{name: "empty identifier", identifier: "", tenant: "X", createBy: "bob", wantErr: registry.ErrInvalidIdentifier},
		{name: "too long", identifier: "a" + strings.Repeat("b", 63), tenant: "X", createBy: "bob", wantErr: registry.ErrInvalidIdentifier},
		{name: "uuid", identifier: acme.ID, tenant: "X", createBy: "bob", wantErr: registry.ErrInvalidIdentifier},
		{name: "empty name", identifier: "initech", tenant: " ", createBy: "bob", wantField: "name"},
		{name: "empty created by", identifier: "initech", tenant: "Initech", createBy: "", wantField: "created_by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := registry.CreateTenant(t.Context(), db.Owner, tt.identifier, tt.tenant, tt.createBy)
			if tt.wantField != "" {
				missing, ok := errors.AsType[*registry.MissingError](err)
				require.True(t, ok, "%v", err)
				assert.Equal(t, tt.wantField, missing.Field)
				return
			}
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
	_, err = registry.CreateTenant(t.Context(), db.Owner, "a"+strings.Repeat("b", 62), "Longest", "bob")
	assert.NoError(t, err, "63 bytes is the longest identifier")
	assert.Equal(t, 2, count(t, db.Owner, "pgtenant.tenants"))
}

func TestListTenants(t *testing.T) {
	db := pgtest.New(t)
	list, err := registry.ListTenants(t.Context(), db.Owner)
	require.NoError(t, err)
	assert.Empty(t, list)

	acme, globex := twoTenants(t, db.Owner)
	list, err = registry.ListTenants(t.Context(), db.Owner)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, acme, list[0].Tenant)
	assert.Equal(t, globex, list[1].Tenant)
	assert.Equal(t, "test", list[0].CreatedBy)
	assert.False(t, list[0].CreatedAt.IsZero())
	assert.Equal(t, list[0].CreatedAt, list[0].UpdatedAt)
}

func TestFindTenant(t *testing.T) {
	db := pgtest.New(t)
	acme, _ := twoTenants(t, db.Owner)
	for _, ref := range []string{"acme", acme.ID, strings.ToUpper(acme.ID)} {
		got, err := registry.FindTenant(t.Context(), db.Owner, ref)
		require.NoError(t, err, ref)
		assert.Equal(t, acme, got, ref)
	}
	for _, ref := range []string{"ACME", "acme ", "", "nope", "00000000-0000-0000-0000-000000000000",
		strings.ReplaceAll(acme.ID, "-", ""), "{" + acme.ID + "}", "acme'; --"} {
		_, err := registry.FindTenant(t.Context(), db.Owner, ref)
		assert.ErrorIs(t, err, registry.ErrUnknownTenant, "%q", ref)
	}
}

func TestCreateToken(t *testing.T) {
	db := pgtest.New(t)
	acme, globex := twoTenants(t, db.Owner)

	token, cred, err := registry.CreateToken(t.Context(), db.Owner, "deploy", "reader",
		[]string{strings.ToUpper(globex.ID), "acme", acme.ID})
	require.NoError(t, err)
	assert.Regexp(t, `^pgt_[A-Za-z0-9_-]{49}$`, token, "pgt_, 32 bytes and a checksum in unpadded base64url")
	assert.NoError(t, tenant.CheckToken(token), "the server's format check accepts it")
	assert.Equal(t, "deploy", cred.Name)
	assert.Equal(t, "reader", cred.Role)
	assert.ElementsMatch(t, []string{acme.ID, globex.ID}, cred.Tenants, "each tenant once")

	var hash []byte
	var n int
	require.NoError(t, db.Owner.QueryRow(t.Context(), `
		SELECT token_hash, (SELECT count(*) FROM pgtenant.token_tenants WHERE token_id = k.id)
		  FROM pgtenant.tokens AS k WHERE id = $1`, cred.ID).Scan(&hash, &n))
	assert.Equal(t, tenant.HashToken(token), hash, "only the SHA-256 hash is stored")
	assert.Equal(t, 2, n)

	other, _, err := registry.CreateToken(t.Context(), db.Owner, "deploy", "reader", []string{"acme"})
	require.NoError(t, err)
	assert.NotEqual(t, token, other, "every token is new, even with the same name")

	tests := []struct {
		name      string
		token     string
		role      string
		refs      []string
		wantErr   error
		wantField string
	}{
		{name: "unknown tenant", token: "x", role: "app", refs: []string{"acme", "nope"}, wantErr: registry.ErrUnknownTenant},
		{name: "unknown tenant id", token: "x", role: "app", refs: []string{"00000000-0000-0000-0000-000000000000"}, wantErr: registry.ErrUnknownTenant},
		{name: "no tenant", token: "x", role: "app", wantErr: registry.ErrNoTenants},
		{name: "no name", token: "", role: "app", refs: []string{"acme"}, wantField: "name"},
		{name: "no role", token: "x", role: "", refs: []string{"acme"}, wantField: "role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, _, err := registry.CreateToken(t.Context(), db.Owner, tt.token, tt.role, tt.refs)
			assert.Empty(t, token)
			if tt.wantField != "" {
				missing, ok := errors.AsType[*registry.MissingError](err)
				require.True(t, ok, "%v", err)
				assert.Equal(t, tt.wantField, missing.Field)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			assert.Equal(t, 2, count(t, db.Owner, "pgtenant.tokens"), "a refused token writes nothing")
			assert.Equal(t, 3, count(t, db.Owner, "pgtenant.token_tenants"))
		})
	}
}

// TestCreateToken_InTransaction runs CreateToken inside a caller's
// transaction: its own becomes a savepoint, and a failure leaves the outer
// transaction usable.
func TestCreateToken_InTransaction(t *testing.T) {
	db := pgtest.New(t)
	twoTenants(t, db.Owner)
	tx, err := db.Owner.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, _, err = registry.CreateToken(t.Context(), tx, "bad", "app", []string{"nope"})
	require.ErrorIs(t, err, registry.ErrUnknownTenant)
	_, _, err = registry.CreateToken(t.Context(), tx, "good", "app", []string{"acme"})
	require.NoError(t, err)
	require.NoError(t, tx.Commit(t.Context()))
	list, err := registry.ListTokens(t.Context(), db.Owner)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "good", list[0].Name)
}

func TestListTokens(t *testing.T) {
	db := pgtest.New(t)
	acme, _ := twoTenants(t, db.Owner)
	list, err := registry.ListTokens(t.Context(), db.Owner)
	require.NoError(t, err)
	assert.Empty(t, list)

	token, cred, err := registry.CreateToken(t.Context(), db.Owner, "ci", "app", []string{"globex", acme.ID})
	require.NoError(t, err)
	_, _, err = registry.CreateToken(t.Context(), db.Owner, "old", "reader", []string{"acme"})
	require.NoError(t, err)
	_, err = db.Owner.Exec(t.Context(), "UPDATE pgtenant.tokens SET revoked_at = now() WHERE name = 'old'")
	require.NoError(t, err)
	_, err = registry.NewStore(db.Login(t, "app")).Credential(t.Context(), tenant.HashToken(token))
	require.NoError(t, err)

	list, err = registry.ListTokens(t.Context(), db.Owner)
	require.NoError(t, err)
	require.Len(t, list, 2)
	ci, old := list[0], list[1]
	assert.Equal(t, cred.ID, ci.ID)
	assert.Equal(t, "ci", ci.Name)
	assert.Equal(t, "app", ci.Role)
	assert.Equal(t, []string{"acme", "globex"}, ci.Tenants, "identifiers, sorted")
	assert.False(t, ci.CreatedAt.IsZero())
	assert.NotNil(t, ci.LastUsedAt)
	assert.Nil(t, ci.RevokedAt)
	assert.Equal(t, "old", old.Name)
	assert.Nil(t, old.LastUsedAt)
	assert.NotNil(t, old.RevokedAt)
}
