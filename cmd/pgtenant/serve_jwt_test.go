package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// TestServe_JWT runs the real server with JWT_JWKS_FILE and sends Bearer
// tokens: a reader JWT reads only its tenant's published pages and cannot
// write, an app JWT sees every page of its tenant, and bad tokens get 401
// or the tenancy 403, with bodies that say nothing about why.
func TestServe_JWT(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	declared, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors())
	ctx := t.Context()
	acme, err := registry.CreateTenant(ctx, db.Owner, "acme", "Acme", "test")
	require.NoError(t, err)
	_, err = registry.CreateTenant(ctx, db.Owner, "globex", "Globex", "test")
	require.NoError(t, err)
	appToken, _, err := registry.CreateToken(ctx, db.Owner, "seed", "app", []string{"acme", "globex"})
	require.NoError(t, err)

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}})
	require.NoError(t, err)
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(jwksFile, set, 0o600))

	cfg := DefaultConfig()
	cfg.DatabaseURL = db.LoginURL(t, "app", "reader")
	cfg.JWTJWKSFile = jwksFile
	cfg.JWTAudience = "pgtenant-test"
	require.Empty(t, cfg.Validate())
	cfg.ListenAddr, cfg.AdminListenAddr = "127.0.0.1:0", "127.0.0.1:0"
	logs := &lockedBuffer{}
	srv, err := startServer(ctx, cfg, declared, slog.New(slog.NewJSONHandler(logs, nil)))
	require.NoError(t, err)
	defer srv.Close()

	type response struct {
		status int
		body   string
	}
	send := func(method, path, auth, tenantRef, body string) response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://%s/api/v1/%s", srv.Addr(), path), strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Tenant-ID", tenantRef)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Prefer", "return=representation")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return response{resp.StatusCode, string(b)}
	}
	do := func(method, auth, tenantRef, body string) response {
		t.Helper()
		return send(method, "webpages_webpage?select=slug&order=slug", auth, tenantRef, body)
	}
	for tenantRef, slugs := range map[string][]string{"acme": {"a-published", "a-draft"}, "globex": {"g-published"}} {
		r := send(http.MethodPost, "content_namespace", "Token "+appToken, tenantRef, `{"slug":"www","name":"site"}`)
		require.Equal(t, http.StatusCreated, r.status, r.body)
		var ns []struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(r.body), &ns))
		require.Len(t, ns, 1)
		for _, slug := range slugs {
			published := !strings.HasSuffix(slug, "draft")
			page, err := json.Marshal(map[string]any{"namespace_id": ns[0].ID, "slug": slug, "title": slug,
				"is_published": published, "published_at": map[bool]any{true: "2026-01-01T00:00:00Z"}[published]})
			require.NoError(t, err)
			r = send(http.MethodPost, "webpages_webpage", "Token "+appToken, tenantRef, string(page))
			require.Equal(t, http.StatusCreated, r.status, r.body)
		}
	}

	now := time.Now()
	bearer := func(k *ecdsa.PrivateKey, edit func(jwt.MapClaims)) string {
		c := jwt.MapClaims{"sub": "svc-reporting", "tenant_id": "acme", "role": "reader", "aud": "pgtenant-test",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		require.NoError(t, err)
		return "Bearer " + s
	}

	r := do(http.MethodGet, bearer(key, nil), "acme", "")
	assert.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `[{"slug":"a-published"}]`, r.body, "a reader JWT sees only its tenant's published pages")

	r = do(http.MethodGet, bearer(key, func(c jwt.MapClaims) { c["role"] = "app"; c["tenant_id"] = acme.ID }), "acme", "")
	assert.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `[{"slug":"a-draft"},{"slug":"a-published"}]`, r.body, "an app JWT sees every page of its tenant")

	r = do(http.MethodGet, bearer(key, func(c jwt.MapClaims) { c["tenant_id"] = []string{"globex", "acme"} }), "globex", "")
	assert.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `[{"slug":"g-published"}]`, r.body)

	r = do(http.MethodPost, bearer(key, nil), "acme", `{"slug":"x","title":"X"}`)
	assert.Equal(t, http.StatusForbidden, r.status, r.body)
	assert.True(t, json.Valid([]byte(r.body)), r.body)

	// The tenancy refusal is the body of an unknown tenant, byte for byte.
	unknown := do(http.MethodGet, bearer(key, nil), "initech", "")
	require.Equal(t, http.StatusForbidden, unknown.status)
	assert.Contains(t, unknown.body, `"PGT011"`)
	r = do(http.MethodGet, bearer(key, func(c jwt.MapClaims) { c["tenant_id"] = "globex" }), "acme", "")
	assert.Equal(t, unknown, r, "a JWT for another tenant")

	badBody := do(http.MethodGet, "Bearer not-a-jwt", "acme", "")
	require.Equal(t, http.StatusUnauthorized, badBody.status)
	assert.Contains(t, badBody.body, `"PGT002"`)
	for name, auth := range map[string]string{
		"expired":         bearer(key, func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }),
		"not yet valid":   bearer(key, func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }),
		"wrong audience":  bearer(key, func(c jwt.MapClaims) { c["aud"] = "someone-else" }),
		"wrong key":       bearer(other, nil),
		"undeclared role": bearer(key, func(c jwt.MapClaims) { c["role"] = "postgres" }),
		"no exp":          bearer(key, func(c jwt.MapClaims) { delete(c, "exp") }),
		"crit":            withCrit(t, key),
	} {
		r := do(http.MethodGet, auth, "acme", "")
		assert.Equal(t, badBody, r, "%s: 401 with the one body, no reason", name)
	}
	// The reason is in the request's log line.
	assert.Eventually(t, func() bool { return strings.Contains(logs.String(), "token is expired") }, 5*time.Second, 10*time.Millisecond)
	assert.Contains(t, logs.String(), "token has invalid audience")
	assert.Contains(t, logs.String(), `\"postgres\" is not a declared role`)
	assert.Contains(t, logs.String(), "crit header lists extensions this server does not understand")
}

// withCrit is a valid reader JWT for acme whose header has crit (RFC 7515 §4.1.11) naming an extension.
func withCrit(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"sub": "svc-reporting", "tenant_id": "acme",
		"role": "reader", "aud": "pgtenant-test", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	tok.Header["crit"] = []string{"exp"}
	s, err := tok.SignedString(k)
	require.NoError(t, err)
	return "Bearer " + s
}

// lockedBuffer is a log destination that the server's goroutines write to
// while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestConfig_JWT(t *testing.T) {
	t.Parallel()
	const secret = "a-secret-that-is-long-enough-0123456789"
	tests := []struct {
		name string
		env  map[string]string
		want []string // fragments of problems; none when valid
	}{
		{"off", nil, nil},
		{"secret", map[string]string{"JWT_SECRET": secret, "JWT_AUDIENCE": "api", "JWT_LEEWAY": "1m"}, nil},
		{"jwks file", map[string]string{"JWT_JWKS_FILE": "/etc/pgtenant/jwks.json"}, nil},
		{"both", map[string]string{"JWT_SECRET": secret, "JWT_JWKS_FILE": "/etc/pgtenant/jwks.json"}, []string{"both set"}},
		{"short secret", map[string]string{"JWT_SECRET": "hunter2"}, []string{"JWT_SECRET: want at least 32 bytes"}},
		{"audience without a key", map[string]string{"JWT_AUDIENCE": "api"}, []string{"JWT credentials are off"}},
		{"leeway too long", map[string]string{"JWT_SECRET": secret, "JWT_LEEWAY": "1h"}, []string{"JWT_LEEWAY: want at most"}},
		{"leeway not a duration", map[string]string{"JWT_SECRET": secret, "JWT_LEEWAY": "soon"}, []string{"JWT_LEEWAY: want a duration"}},
		{"same claim twice", map[string]string{"JWT_SECRET": secret, "JWT_ROLE_CLAIM": "tenant_id"}, []string{"must differ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, problems := LoadConfig(DefaultConfig(), cliEnv(tt.env).get)
			all := strings.Join(problems, "\n")
			if len(tt.want) == 0 {
				assert.Empty(t, problems)
			}
			for _, w := range tt.want {
				assert.Contains(t, all, w)
			}
			assert.NotContains(t, all, "hunter2", "a secret is never printed")
		})
	}

	cfg := DefaultConfig()
	cfg.JWTJWKSFile = filepath.Join(t.TempDir(), "missing.json")
	_, err := cfg.jwtConfig(nil)
	assert.ErrorContains(t, err, "JWT_JWKS_FILE")
}
