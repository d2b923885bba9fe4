package main

import (
	"cmp"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestConfig_Isolation checks the settings that keep tenants from stalling
// each other: defaults, values and problems.
func TestConfig_Isolation(t *testing.T) {
	c := DefaultConfig()
	assert.Equal(t, 30*time.Second, c.WriteTimeout)
	assert.Equal(t, 1.0, c.AuthFailureRPS)
	assert.Equal(t, 20, c.AuthFailureBurst)

	t.Setenv("WRITE_TIMEOUT", "5s")
	t.Setenv("AUTH_FAILURE_RPS", "0.5")
	t.Setenv("AUTH_FAILURE_BURST", "3")
	t.Setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.9,2001:db8::/32")
	c, problems := LoadConfig()
	assert.Empty(t, problems)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.9/32"),
		netip.MustParsePrefix("2001:db8::/32")}, c.TrustedProxies)
	assert.Equal(t, 5*time.Second, c.WriteTimeout)
	assert.Equal(t, 0.5, c.AuthFailureRPS)
	assert.Equal(t, 3, c.AuthFailureBurst)

	t.Setenv("WRITE_TIMEOUT", "soon")
	t.Setenv("AUTH_FAILURE_RPS", "-1")
	t.Setenv("AUTH_FAILURE_BURST", "many")
	t.Setenv("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal")
	_, problems = LoadConfig()
	for _, want := range []string{"WRITE_TIMEOUT", "AUTH_FAILURE_RPS", "AUTH_FAILURE_BURST", `TRUSTED_PROXIES: want addresses or CIDR ranges such as 10.0.0.0/8, got "proxy.internal"`} {
		assert.True(t, strings.Contains(strings.Join(problems, "\n"), want), "%s: %v", want, problems)
	}
}

// TestConfig_Operations checks the new settings' defaults and problems.
func TestConfig_Operations(t *testing.T) {
	c := DefaultConfig()
	assert.Equal(t, "127.0.0.1:3001", c.AdminListenAddr, "loopback by default")
	assert.Equal(t, time.Second, c.SlowRequestThreshold)
	assert.Zero(t, c.RateLimitRPS, "no rate limit by default")

	t.Setenv("ADMIN_LISTEN_ADDR", "127.0.0.1:9100")
	t.Setenv("RATE_LIMIT_RPS", "2.5")
	t.Setenv("RATE_LIMIT_BURST", "10")
	t.Setenv("SLOW_REQUEST_THRESHOLD", "250ms")
	c, problems := LoadConfig()
	assert.Empty(t, problems)
	assert.Equal(t, "127.0.0.1:9100", c.AdminListenAddr)
	assert.Equal(t, 2.5, c.RateLimitRPS)
	assert.Equal(t, 10, c.RateLimitBurst)
	assert.Equal(t, 250*time.Millisecond, c.SlowRequestThreshold)

	t.Setenv("ADMIN_LISTEN_ADDR", "nowhere")
	t.Setenv("RATE_LIMIT_RPS", "-1")
	t.Setenv("RATE_LIMIT_BURST", "many")
	t.Setenv("SLOW_REQUEST_THRESHOLD", "later")
	_, problems = LoadConfig()
	for _, want := range []string{"ADMIN_LISTEN_ADDR", "RATE_LIMIT_RPS", "RATE_LIMIT_BURST", "SLOW_REQUEST_THRESHOLD"} {
		assert.True(t, strings.Contains(strings.Join(problems, "\n"), want), "%s: %v", want, problems)
	}
}

// TestConfig_CacheControl: CACHE_CONTROL defaults to private, no-store; a value that is not Cache-Control, or
// that would let a shared cache keep an answer, refuses to start.
func TestConfig_CacheControl(t *testing.T) {
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
			t.Setenv("CACHE_CONTROL", tt.value)
			c, problems := LoadConfig()
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
	t.Setenv("BACKUP_KEY", "hunter2-hunter2")
	_, problems := LoadConfig()
	all := strings.Join(problems, "\n")
	assert.Contains(t, all, "BACKUP_KEY: want at least 32 bytes (e.g. `openssl rand -base64 48`), got 15")
	assert.NotContains(t, all, "hunter2")
	t.Setenv("BACKUP_KEY", strings.Repeat("k", 32))
	c, problems := LoadConfig()
	assert.Empty(t, problems)
	assert.Equal(t, strings.Repeat("k", 32), c.BackupKey)
}
