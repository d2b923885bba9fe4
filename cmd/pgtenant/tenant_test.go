package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/engine/tenant"
	"pgtenant/internal/pgtest"
)

var uuidLine = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$`)

// TestTenantToken registers tenants and makes tokens through the CLI as the
// owner, then checks that the app login's Store accepts the token.
func TestTenantToken(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	db := pgtest.New(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	env["POLICIES_FILE"] = "../../policies.hcl"

	code, stdout, _ := pgtenant(t, env, "tenant", "list")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "No tenants")
	code, stdout, _ = pgtenant(t, env, "tenant", "list", "--json")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "[]\n", stdout)

	code, stdout, stderr := pgtenant(t, env, "tenant", "create", "--identifier", "acme", "--name", "Acme Corp", "--created-by", "alice")
	require.Equal(t, exitOK, code, stderr)
	require.Regexp(t, uuidLine, stdout, "the UUID alone")
	acme := strings.TrimSpace(stdout)
	code, stdout, stderr = pgtenant(t, env, "tenant", "create", "--identifier=globex", "--name=Globex", "--created-by=bob")
	require.Equal(t, exitOK, code, stderr)
	globex := strings.TrimSpace(stdout)

	code, stdout, stderr = pgtenant(t, env, "tenant", "create", "--identifier", "acme", "--name", "Again", "--created-by", "alice")
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "pgtenant tenant create: a tenant with this identifier exists: \"acme\"\n", stderr)

	code, stdout, _ = pgtenant(t, env, "tenant", "list")
	assert.Equal(t, exitOK, code)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^IDENTIFIER\s+ID\s+NAME\s+ACTIVE\s+RATE LIMIT\s+CREATED BY\s+CREATED AT$`, lines[0])
	assert.Regexp(t, `^acme\s+`+acme+`\s+Acme Corp\s+yes\s+default\s+alice\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, lines[1])
	assert.Regexp(t, `^globex\s+`+globex+`\s+Globex\s+yes\s+default\s+bob\s+`, lines[2])

	code, stdout, _ = pgtenant(t, env, "tenant", "list", "--json")
	assert.Equal(t, exitOK, code)
	var tenants []tenantJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &tenants), stdout)
	require.Len(t, tenants, 2)
	assert.Equal(t, acme, tenants[0].ID)
	assert.Equal(t, "acme", tenants[0].Identifier)
	assert.Equal(t, "Acme Corp", tenants[0].Name)
	assert.True(t, tenants[0].Active)
	assert.Equal(t, "alice", tenants[0].CreatedBy)
	assert.False(t, tenants[0].CreatedAt.IsZero())

	// A token for both tenants, one named by identifier and one by its UUID
	// in capitals; the role defaults to the first declared role.
	code, stdout, stderr = pgtenant(t, env, "token", "create", "--tenant", "acme", "--tenant", strings.ToUpper(globex), "--name", "ci")
	require.Equal(t, exitOK, code, stderr)
	require.Regexp(t, `^pgt_[A-Za-z0-9_-]{49}\n$`, stdout, "the token alone")
	token := strings.TrimSpace(stdout)
	assert.Contains(t, stderr, "shown only this once")
	assert.NotContains(t, stderr, token)

	code, stdout, stderr = pgtenant(t, env, "token", "create", "--tenant", "globex", "--name", "dashboard", "--role", "reader")
	require.Equal(t, exitOK, code, stderr)
	readerToken := strings.TrimSpace(stdout)

	code, stdout, stderr = pgtenant(t, env, "token", "create", "--tenant", "acme", "--tenant", "nope", "--name", "x")
	assert.Equal(t, exitFailure, code)
	assert.Empty(t, stdout)
	assert.Equal(t, "pgtenant token create: unknown tenant \"nope\"\n", stderr)

	code, stdout, stderr = pgtenant(t, env, "token", "create", "--tenant", "acme", "--name", "x", "--role", "admin")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, `--role "admin" is not a role of ../../policies.hcl; declared roles: app, reader`)
	assert.Contains(t, stderr, "Usage: pgtenant token create")

	code, stdout, _ = pgtenant(t, env, "token", "list")
	assert.Equal(t, exitOK, code)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 3, "the refused tokens were not created")
	assert.Regexp(t, `^NAME\s+ID\s+ROLE\s+TENANTS\s+CREATED\s+LAST USED\s+REVOKED$`, lines[0])
	assert.Regexp(t, `^ci\s+\S+\s+app\s+acme,globex\s+\S+\s+never\s+-$`, lines[1])
	assert.Regexp(t, `^dashboard\s+\S+\s+reader\s+globex\s+`, lines[2])

	// The app login's Store (what the server uses) accepts the token.
	store := registry.NewStore(db.Login(t, "app"))
	cred, err := store.Credential(t.Context(), tenant.HashToken(token))
	require.NoError(t, err)
	require.NotNil(t, cred)
	assert.Equal(t, "ci", cred.Name)
	assert.Equal(t, "app", cred.Role)
	assert.ElementsMatch(t, []string{acme, globex}, cred.Tenants)
	cred, err = store.Credential(t.Context(), tenant.HashToken(readerToken))
	require.NoError(t, err)
	require.NotNil(t, cred)
	assert.Equal(t, "reader", cred.Role)

	code, stdout, _ = pgtenant(t, env, "token", "list", "--json")
	assert.Equal(t, exitOK, code)
	for _, secret := range []string{token, readerToken, strings.TrimPrefix(token, "pgt_")} {
		assert.NotContains(t, stdout, secret, "a token is never listed")
	}
	var tokens []tokenJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &tokens), stdout)
	require.Len(t, tokens, 2)
	assert.Equal(t, "ci", tokens[0].Name)
	assert.Equal(t, []string{"acme", "globex"}, tokens[0].Tenants)
	assert.NotNil(t, tokens[0].LastUsedAt, "used above")
	assert.Nil(t, tokens[0].RevokedAt)
	assert.Contains(t, stdout, `"revoked_at": null`)
}

func TestTenantToken_Usage(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	env["POLICIES_FILE"] = "../../policies.hcl"
	env["ADMIN_DATABASE_URL"] = ""
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tenant"}, exitUsage, "say create or list"},
		{[]string{"tenant", "-h"}, exitOK, "Usage: pgtenant tenant <action>"},
		{[]string{"tenant", "delete"}, exitUsage, `unknown action "delete"`},
		{[]string{"tenant", "create"}, exitUsage, "--identifier is required"},
		{[]string{"tenant", "create", "--identifier", "acme", "--name", "Acme"}, exitUsage, "--created-by is required"},
		{[]string{"tenant", "create", "--identifier", "Acme-Corp", "--name", "A", "--created-by", "me"}, exitUsage, `--identifier "Acme-Corp": want a lower-case letter`},
		{[]string{"tenant", "create", "--identifier", "acme", "--name", "A", "--created-by", "me", "extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"tenant", "create", "--identifier", "acme", "--name", "A", "--created-by", "me"}, exitFailure, "pgtenant tenant create: ADMIN_DATABASE_URL is not set"},
		{[]string{"tenant", "list", "--yaml"}, exitUsage, "flag provided but not defined"},
		{[]string{"tenant", "list"}, exitFailure, "pgtenant tenant list: ADMIN_DATABASE_URL is not set"},
		{[]string{"token"}, exitUsage, "Usage: pgtenant token <action>"},
		{[]string{"token", "create", "--tenant", "acme"}, exitUsage, "--name is required"},
		{[]string{"token", "create", "--name", "ci"}, exitUsage, "--tenant is required"},
		{[]string{"token", "create", "--name", "ci", "--tenant", "acme", "--role", "root"}, exitUsage, "declared roles: app, reader"},
		{[]string{"token", "create", "--name", "ci", "--tenant", "acme"}, exitFailure, "pgtenant token create: ADMIN_DATABASE_URL is not set"},
		{[]string{"token", "list"}, exitFailure, "pgtenant token list: ADMIN_DATABASE_URL is not set"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := pgtenant(t, env, tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			if tt.code == exitOK { // a usage asked for goes to stdout
				assert.Contains(t, stdout, tt.want)
				assert.Empty(t, stderr)
				return
			}
			assert.Contains(t, stderr, tt.want)
			assert.Empty(t, stdout)
			if tt.code == exitUsage {
				assert.Contains(t, stderr, "Usage: pgtenant "+tt.args[0])
			}
		})
	}
}

// TestTenant_NotMigrated points the CLI at a database without the registry.
func TestTenant_NotMigrated(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	db := pgtest.NewEmpty(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	code, _, stderr := pgtenant(t, env, "tenant", "list")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "pgtenant migrate up")
	assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %s", stderr)
}

// TestTenantSetLimit: `tenant set-limit` stores a tenant's own rate limit, `tenant list` shows it, the app
// login's directory reads it, and --clear removes it.
func TestTenantSetLimit(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	db := pgtest.New(t)
	env["ADMIN_DATABASE_URL"] = db.OwnerURL
	env["POLICIES_FILE"] = "../../policies.hcl"
	code, _, stderr := pgtenant(t, env, "tenant", "create", "--identifier", "acme", "--name", "Acme Corp", "--created-by", "alice")
	require.Equal(t, exitOK, code, stderr)

	code, stdout, stderr := pgtenant(t, env, "tenant", "set-limit", "acme", "--rps", "2.5", "--burst", "10")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "limited to 2.5/s burst 10")
	code, stdout, _ = pgtenant(t, env, "tenant", "list")
	require.Equal(t, exitOK, code)
	assert.Regexp(t, `\nacme\s+\S+\s+Acme Corp\s+yes\s+2\.5/s burst 10\s+alice`, stdout)
	code, stdout, _ = pgtenant(t, env, "tenant", "list", "--json")
	require.Equal(t, exitOK, code)
	var list []tenantJSON
	require.NoError(t, json.Unmarshal([]byte(stdout), &list), stdout)
	require.Len(t, list, 1)
	require.NotNil(t, list[0].RateLimitRPS)
	assert.Equal(t, 2.5, *list[0].RateLimitRPS)
	assert.Equal(t, 10, *list[0].RateLimitBurst)
	dir, err := registry.NewStore(db.Login(t, "app")).Tenants(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []tenant.Tenant{{ID: list[0].ID, Identifier: "acme", Active: true, RateRPS: 2.5, RateBurst: 10}}, dir)

	for _, args := range [][]string{
		{"acme"}, {"acme", "--rps", "1"}, {"acme", "--burst", "1"}, {"acme", "--rps", "0", "--burst", "1"},
		{"acme", "--rps", "1", "--burst", "0"}, {"acme", "--clear", "--rps", "1"}, {"--clear"},
	} {
		code, _, _ := pgtenant(t, env, append([]string{"tenant", "set-limit"}, args...)...)
		assert.Equal(t, exitUsage, code, "%q", args)
	}
	code, _, stderr = pgtenant(t, env, "tenant", "set-limit", "initech", "--clear")
	assert.Equal(t, exitFailure, code, stderr)

	code, stdout, stderr = pgtenant(t, env, "tenant", "set-limit", "acme", "--clear")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "no rate limit of its own")
	code, stdout, _ = pgtenant(t, env, "tenant", "list", "--json")
	require.Equal(t, exitOK, code)
	require.NoError(t, json.Unmarshal([]byte(stdout), &list), stdout)
	assert.Nil(t, list[0].RateLimitRPS)
	assert.Contains(t, stdout, `"rate_limit_rps": null`)
}
