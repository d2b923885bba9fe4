package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"pgtenant/internal/pgtest"
)

func TestServe_RefusesUnsafeRoles(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	// Ports of its own, should it get that far.
	env := cliEnv{"POLICIES_FILE": "../../policies.hcl", "LISTEN_ADDR": "127.0.0.1:0", "ADMIN_LISTEN_ADDR": "127.0.0.1:0"}
	for _, tt := range []struct {
		name, url, want string
	}{
		{"the table owner", db.OwnerURL, "owns"},
		{"a superuser", db.AdminURL, "superuser"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := pgtenant(t, env.with("DATABASE_URL", tt.url), "serve")
			assert.Equal(t, exitFailure, code)
			assert.Contains(t, stderr, "refusing to serve")
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestServe_RefusesBadConfig(t *testing.T) {
	t.Parallel()
	env := cliEnv{}
	code, _, stderr := pgtenant(t, env, "serve")
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, stderr, "DATABASE_URL is not set")

	env["MAX_ROWS"] = "lots"
	env["STATEMENT_TIMEOUT"] = "soon"
	env["REQUIRE_TENANT"] = "maybe"
	code, _, stderr = pgtenant(t, env, "serve")
	assert.Equal(t, exitUsage, code)
	for _, want := range []string{"MAX_ROWS", "STATEMENT_TIMEOUT", "REQUIRE_TENANT"} {
		assert.Contains(t, stderr, want, "one line per problem")
	}
}

// TestServe_ExecModeSetting checks DB_EXEC_MODE's values.
func TestServe_ExecModeSetting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		wantErr bool
	}{
		{"", false}, {"cache_statement", false}, {"cache_describe", false}, {"describe_exec", false},
		{"exec", false}, {"simple_protocol", false}, {"prepared", true}, {"EXEC", true},
	} {
		_, err := parseExecMode(tt.in)
		assert.Equal(t, tt.wantErr, err != nil, "%q: %v", tt.in, err)
		cfg := DefaultConfig()
		cfg.ExecMode = tt.in
		assert.Equal(t, tt.wantErr, len(cfg.Validate()) > 0, "%q", tt.in)
	}
}
