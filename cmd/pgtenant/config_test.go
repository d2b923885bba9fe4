package main

import (
	"cmp"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
	"pgtenant/schema"
)

// TestConfig_Isolation checks the settings that keep tenants from stalling
// each other: defaults, values and problems.
func TestConfig_Isolation(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	c := DefaultConfig()
	assert.Equal(t, 30*time.Second, c.WriteTimeout)
	assert.Equal(t, 30*time.Second, c.RequestTimeout)
	assert.Equal(t, 1.0, c.AuthFailureRPS)
	assert.Equal(t, 20, c.AuthFailureBurst)

	env["WRITE_TIMEOUT"] = "5s"
	env["REQUEST_TIMEOUT"] = "2s"
	env["AUTH_FAILURE_RPS"] = "0.5"
	env["AUTH_FAILURE_BURST"] = "3"
	env["TRUSTED_PROXIES"] = "10.0.0.0/8, 192.0.2.9,2001:db8::/32"
	c, problems := LoadConfig(DefaultConfig(), env.get)
	assert.Empty(t, problems)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.9/32"),
		netip.MustParsePrefix("2001:db8::/32")}, c.TrustedProxies)
	assert.Equal(t, 5*time.Second, c.WriteTimeout)
	assert.Equal(t, 2*time.Second, c.RequestTimeout)
	assert.Equal(t, 0.5, c.AuthFailureRPS)
	assert.Equal(t, 3, c.AuthFailureBurst)

	env["WRITE_TIMEOUT"] = "soon"
	env["REQUEST_TIMEOUT"] = "-1s"
	env["AUTH_FAILURE_RPS"] = "-1"
	env["AUTH_FAILURE_BURST"] = "many"
	env["TRUSTED_PROXIES"] = "10.0.0.0/8,proxy.internal"
	_, problems = LoadConfig(DefaultConfig(), env.get)
	for _, want := range []string{"WRITE_TIMEOUT", "REQUEST_TIMEOUT", "AUTH_FAILURE_RPS", "AUTH_FAILURE_BURST", `TRUSTED_PROXIES: want addresses or CIDR ranges such as 10.0.0.0/8, got "proxy.internal"`} {
		assert.True(t, strings.Contains(strings.Join(problems, "\n"), want), "%s: %v", want, problems)
	}
}

// TestConfig_Operations checks the new settings' defaults and problems.
func TestConfig_Operations(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	c := DefaultConfig()
	assert.Equal(t, "127.0.0.1:3001", c.AdminListenAddr, "loopback by default")
	assert.Equal(t, time.Second, c.SlowRequestThreshold)
	assert.Zero(t, c.RateLimitRPS, "no rate limit by default")

	env["ADMIN_LISTEN_ADDR"] = "127.0.0.1:9100"
	env["RATE_LIMIT_RPS"] = "2.5"
	env["RATE_LIMIT_BURST"] = "10"
	env["SLOW_REQUEST_THRESHOLD"] = "250ms"
	c, problems := LoadConfig(DefaultConfig(), env.get)
	assert.Empty(t, problems)
	assert.Equal(t, "127.0.0.1:9100", c.AdminListenAddr)
	assert.Equal(t, 2.5, c.RateLimitRPS)
	assert.Equal(t, 10, c.RateLimitBurst)
	assert.Equal(t, 250*time.Millisecond, c.SlowRequestThreshold)

	env["ADMIN_LISTEN_ADDR"] = "nowhere"
	env["RATE_LIMIT_RPS"] = "-1"
	env["RATE_LIMIT_BURST"] = "many"
	env["SLOW_REQUEST_THRESHOLD"] = "later"
	_, problems = LoadConfig(DefaultConfig(), env.get)
	for _, want := range []string{"ADMIN_LISTEN_ADDR", "RATE_LIMIT_RPS", "RATE_LIMIT_BURST", "SLOW_REQUEST_THRESHOLD"} {
		assert.True(t, strings.Contains(strings.Join(problems, "\n"), want), "%s: %v", want, problems)
	}
}

// TestConfig_CacheControl: CACHE_CONTROL defaults to private, no-store; a value that is not Cache-Control, or
// that would let a shared cache keep an answer, refuses to start.
func TestConfig_CacheControl(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "private, no-store", DefaultConfig().CacheControl)
	tests := []struct {
		value string
		want  string // a fragment of the problem; "" when valid
	}{
		{"", ""}, // unset: the default
		{"no-store", ""},
		{"private, max-age=60", ""},
		{`private, no-cache="Set-Cookie"`, ""},
		{"no-store, max-age=0, must-revalidate", ""},
		{"max-age=60", "lacks private or no-store"},
		{"public, max-age=60", `"public" would let a shared cache`},
		{"private, s-maxage=60", `"s-maxage=60" would let a shared cache`},
		{"no store", "is not a Cache-Control directive"},
		{"no-store\u00a0", "is not a Cache-Control directive"},
		{`private="x`, "is not a Cache-Control directive"},
		{" , ", "want Cache-Control directives"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			c, problems := LoadConfig(DefaultConfig(), cliEnv{"CACHE_CONTROL": tt.value}.get)
			if tt.want == "" {
				assert.Empty(t, problems)
				assert.Equal(t, cmp.Or(tt.value, "private, no-store"), c.CacheControl)
				return
			}
			assert.Contains(t, strings.Join(problems, "\n"), "CACHE_CONTROL: ")
			assert.Contains(t, strings.Join(problems, "\n"), tt.want)
		})
	}
}

// TestConfig_BackupKey: BACKUP_KEY needs 32 bytes, and is never printed.
func TestConfig_BackupKey(t *testing.T) {
	t.Parallel()
	env := cliEnv{"BACKUP_KEY": "hunter2-hunter2"}
	_, problems := LoadConfig(DefaultConfig(), env.get)
	all := strings.Join(problems, "\n")
	assert.Contains(t, all, "BACKUP_KEY: want at least 32 bytes (e.g. `openssl rand -base64 48`), got 15")
	assert.NotContains(t, all, "hunter2")
	env["BACKUP_KEY"] = strings.Repeat("k", 32)
	c, problems := LoadConfig(DefaultConfig(), env.get)
	assert.Empty(t, problems)
	assert.Equal(t, strings.Repeat("k", 32), c.BackupKey)
}

// TestSettings_Flags: every setting is a flag, named by flagName, of each command that reads it, and the flag wins
// over the environment variable.
func TestSettings_Flags(t *testing.T) {
	t.Parallel()
	for setting, flag := range map[string]string{"DATABASE_URL": "database-url", "PGTENANT_DATA_DIR": "data-dir",
		"TMPDIR": "tmpdir", "STATEMENT_TIMEOUT": "statement-timeout"} {
		assert.Equal(t, flag, flagName(setting))
	}
	readers := map[string][]string{}
	for _, words := range everyCommand() {
		c, _, _ := lookup(words)
		for _, s := range c.env {
			readers[s] = append(readers[s], c.name)
		}
	}
	for _, s := range settings {
		assert.NotEmpty(t, readers[s.name], "no command reads %s, so no command has its flag", s.name)
	}

	missing := cliEnv{"POLICIES_FILE": filepath.Join(t.TempDir(), "missing.hcl")}
	for _, args := range [][]string{
		{"validate", "-offline", "--policies-file", "../../policies.hcl"},
		{"validate", "-offline", "-policies-file=../../policies.hcl"},
	} {
		code, stdout, stderr := pgtenant(t, missing, args...)
		assert.Equal(t, exitOK, code, "%v: %s", args, stderr)
		assert.Equal(t, "../../policies.hcl: the declaration is valid.\n", stdout, args)
	}

	// An invalid environment variable is no problem when its flag says otherwise; a bad flag is named as a flag.
	code, _, stderr := pgtenant(t, cliEnv{"REQUIRE_TENANT": "maybe"}, "serve", "--require-tenant=false")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "DATABASE_URL is not set", "the configuration was valid: serve got as far as DATABASE_URL")
	code, _, stderr = pgtenant(t, cliEnv{"MAX_ROWS": "5"}, "serve", "--max-rows", "lots")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "pgtenant: invalid configuration:\n  --max-rows: want a whole number ≥ 0, got \"lots\"\n")
	code, _, stderr = pgtenant(t, cliEnv{"REQUEST_TIMEOUT": "5s"}, "serve", "--request-timeout", "soon")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--request-timeout: want a duration such as 10s or 500ms, got \"soon\"")

	// A setting the command does not read is no flag of it.
	code, _, stderr = pgtenant(t, cliEnv{}, "validate", "--database-url", "postgres://api@127.0.0.1/app")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "flag provided but not defined: -database-url")
}

// TestConfig_DevDefaults: dev logs as text and listens on loopback unless told otherwise, by flag or environment.
func TestConfig_DevDefaults(t *testing.T) {
	t.Parallel()
	base := DefaultConfig()
	devDefaults(&base)
	c, problems := LoadConfig(base, cliEnv{}.get)
	require.Empty(t, problems)
	assert.Equal(t, "text", c.LogFormat)
	assert.Equal(t, "localhost:3000", c.ListenAddr)
	c, problems = LoadConfig(base, cliEnv{"LOG_FORMAT": "json", "LISTEN_ADDR": ":8080"}.get)
	require.Empty(t, problems)
	assert.Equal(t, "json", c.LogFormat)
	assert.Equal(t, ":8080", c.ListenAddr)
}

// TestConfig_MaxEmbedDepth checks MAX_EMBED_DEPTH: its default, a value, a refused value, and that it reaches the
// API's limits.
func TestConfig_MaxEmbedDepth(t *testing.T) {
	t.Parallel()
	assert.Equal(t, query.DefaultMaxEmbedDepth, DefaultConfig().MaxEmbedDepth)
	c, problems := LoadConfig(DefaultConfig(), cliEnv{"MAX_EMBED_DEPTH": "2"}.get)
	assert.Empty(t, problems)
	assert.Equal(t, 2, c.MaxEmbedDepth)
	declared := &schema.Model{}
	sc, err := c.serverConfig(declared, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, sc.API.Limits.MaxEmbedDepth)
	for _, bad := range []string{"0", "-1", "deep"} {
		_, problems = LoadConfig(DefaultConfig(), cliEnv{"MAX_EMBED_DEPTH": bad}.get)
		assert.Contains(t, strings.Join(problems, "\n"), "MAX_EMBED_DEPTH: want a whole number ≥ 1", bad)
	}
}
