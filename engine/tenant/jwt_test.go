package tenant_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/tenant"
)

const (
	jwtSecret   = "0123456789abcdef0123456789abcdef-test-secret"
	jwtAudience = "pgtenant"
	jwtIssuer   = "https://issuer.example"
)

// jwtKeys are the keys of one test: the ones the server trusts and an
// impostor of each kind.
type jwtKeys struct {
	rsa, otherRSA *rsa.PrivateKey
	ec, otherEC   *ecdsa.PrivateKey
	jwksFile      string
}

func newJWTKeys(t *testing.T) *jwtKeys {
	t.Helper()
	k := &jwtKeys{}
	var err error
	for _, p := range []**rsa.PrivateKey{&k.rsa, &k.otherRSA} {
		*p, err = rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
	}
	for _, p := range []**ecdsa.PrivateKey{&k.ec, &k.otherEC} {
		*p, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
	}
	k.jwksFile = writeJWKS(t, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &k.rsa.PublicKey, KeyID: "rsa1", Use: "sig"},
		{Key: &k.ec.PublicKey, KeyID: "ec1", Algorithm: "ES256"},
		// An encryption key, as identity providers publish next to
		// signing keys: skipped.
		{Key: &k.otherRSA.PublicKey, KeyID: "enc1", Use: "enc", Algorithm: "RSA-OAEP"},
	}})
	return k
}

func writeJWKS(t *testing.T, set jose.JSONWebKeySet) string {
	t.Helper()
	data, err := json.Marshal(set)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "jwks.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

// sign makes a token with kid (none when empty).
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestResolve_JWT(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	keys := newJWTKeys(t)
	jwks, err := tenant.LoadJWKS(keys.jwksFile)
	require.NoError(t, err)
	pubPEM, err := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	require.NoError(t, err)
	pubPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubPEM})

	base := func(c *tenant.JWTConfig) *tenant.JWTConfig {
		c.Roles = []string{"app", "reader"}
		c.Audience, c.Issuer, c.Leeway = jwtAudience, jwtIssuer, 30*time.Second
		return c
	}
	hs := base(&tenant.JWTConfig{Secret: []byte(jwtSecret)})
	ks := base(&tenant.JWTConfig{Keys: jwks})
	custom := base(&tenant.JWTConfig{Secret: []byte(jwtSecret), TenantClaim: "https://example.com/tenant", RoleClaim: "db_role"})
	noChecks := &tenant.JWTConfig{Secret: []byte(jwtSecret), Roles: []string{"app"}}

	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"sub": "alice", "tenant_id": "acme", "role": "app", "aud": jwtAudience, "iss": jwtIssuer,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	set := func(kv ...any) func(jwt.MapClaims) {
		return func(c jwt.MapClaims) {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(c, kv[i].(string))
				} else {
					c[kv[i].(string)] = kv[i+1]
				}
			}
		}
	}
	hsTok := func(edit func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodHS256, []byte(jwtSecret), "", claims(edit))
	}
	rsTok := func(edit func(jwt.MapClaims)) string {
		return sign(t, jwt.SigningMethodRS256, keys.rsa, "rsa1", claims(edit))
	}
	// withHeader signs claims with extra protected header parameters.
	withHeader := func(method jwt.SigningMethod, key any, kid string, header map[string]any) string {
		tok := jwt.NewWithClaims(method, claims(nil))
		if kid != "" {
			tok.Header["kid"] = kid
		}
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	hsKey := []byte(jwtSecret)
	none := func(kid string) string {
		return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil))
	}

	tests := []struct {
		name       string
		cfg        *tenant.JWTConfig
		token      string
		tenant     string // the tenant header; "acme" when empty
		want       string // tenant id
		wantRole   string // "app" when empty
		wantName   string // "alice" when empty
		wantErr    error
		wantReason error // also wrapped, for the log
	}{
		{name: "HS256", cfg: hs, token: hsTok(nil), want: acmeID},
		{name: "RS256 from the key set", cfg: ks, token: rsTok(nil), want: acmeID},
		{name: "ES256 from the key set", cfg: ks, token: sign(t, jwt.SigningMethodES256, keys.ec, "ec1", claims(nil)), want: acmeID},
		{name: "reader role", cfg: hs, token: hsTok(set("role", "reader")), want: acmeID, wantRole: "reader"},
		{name: "tenant claim as a UUID in upper case", cfg: hs, token: hsTok(set("tenant_id", strings.ToUpper(acmeID))), want: acmeID},
		{name: "tenant claim as an array", cfg: hs, token: hsTok(set("tenant_id", []string{"globex", acmeID})), tenant: "globex", want: globexID},
		{name: "tenant claim as an array, other entry", cfg: hs, token: hsTok(set("tenant_id", []string{"globex", acmeID})), want: acmeID},
		{name: "array with an unknown identifier", cfg: hs, token: hsTok(set("tenant_id", []string{"initech", "acme"})), want: acmeID},
		{name: "aud as an array", cfg: hs, token: hsTok(set("aud", []string{"other", jwtAudience})), want: acmeID},
		{name: "no sub: named jwt", cfg: hs, token: hsTok(set("sub", nil)), want: acmeID, wantName: "jwt"},
		{name: "expired within the leeway", cfg: hs, token: hsTok(set("exp", now.Add(-10*time.Second).Unix())), want: acmeID},
		{name: "issued a little in the future (clock skew)", cfg: hs, token: hsTok(set("iat", now.Add(10*time.Second).Unix())), want: acmeID},
		{name: "custom claim names", cfg: custom, want: acmeID,
			token: hsTok(set("tenant_id", nil, "role", nil, "https://example.com/tenant", "acme", "db_role", "app"))},
		{name: "no aud or iss needed when not configured", cfg: noChecks, token: hsTok(set("aud", nil, "iss", nil)), want: acmeID},

		{name: "expired", cfg: hs, token: hsTok(set("exp", now.Add(-time.Minute).Unix())),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenExpired},
		{name: "expired, RS256", cfg: ks, token: rsTok(set("exp", now.Add(-time.Minute).Unix())),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenExpired},
		{name: "not yet valid", cfg: hs, token: hsTok(set("nbf", now.Add(5*time.Minute).Unix())),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenNotValidYet},
		{name: "issued in the future", cfg: hs, token: hsTok(set("iat", now.Add(5*time.Minute).Unix())),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenUsedBeforeIssued},
		{name: "missing exp", cfg: hs, token: hsTok(set("exp", nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong audience", cfg: hs, token: hsTok(set("aud", "someone-else")),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenInvalidAudience},
		{name: "missing audience when one is configured", cfg: hs, token: hsTok(set("aud", nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenRequiredClaimMissing},
		{name: "wrong issuer", cfg: hs, token: hsTok(set("iss", "https://evil.example")),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenInvalidIssuer},
		{name: "HS256 signed with another secret", cfg: hs,
			token:   sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-another"), "", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenSignatureInvalid},
		{name: "RS256 signed with another key under a trusted kid", cfg: ks,
			token:   sign(t, jwt.SigningMethodRS256, keys.otherRSA, "rsa1", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenSignatureInvalid},
		{name: "ES256 signed with another key under a trusted kid", cfg: ks,
			token:   sign(t, jwt.SigningMethodES256, keys.otherEC, "ec1", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenSignatureInvalid},
		{name: "unknown kid", cfg: ks, token: sign(t, jwt.SigningMethodRS256, keys.otherRSA, "rsa2", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenUnverifiable},
		{name: "no kid", cfg: ks, token: sign(t, jwt.SigningMethodRS256, keys.rsa, "", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenUnverifiable},
		{name: "encryption key is not a signing key", cfg: ks, token: sign(t, jwt.SigningMethodRS256, keys.otherRSA, "enc1", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenUnverifiable},
		{name: "RS256 under an EC kid", cfg: ks, token: sign(t, jwt.SigningMethodRS256, keys.rsa, "ec1", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenUnverifiable},
		{name: "alg none, secret config", cfg: hs, token: none(""),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenSignatureInvalid},
		{name: "alg none, key set config", cfg: ks, token: none("rsa1"),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenSignatureInvalid},
		{name: "algorithm confusion: HS256 keyed with the RSA public key", cfg: ks,
			token:   sign(t, jwt.SigningMethodHS256, pubPEM, "rsa1", claims(nil)),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenSignatureInvalid},
		{name: "RS256 token to a secret config", cfg: hs, token: rsTok(nil),
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenSignatureInvalid},
		{name: "not a JWT", cfg: hs, token: "acmeacmeacmeacmeacmeacme",
			wantErr: tenant.ErrBadCredential, wantReason: jwt.ErrTokenMalformed},
		// RFC 7515 §4.1.11: a recipient that does not understand an extension
		// listed in crit must refuse the token; this server understands none,
		// and a crit that is empty or not an array is malformed.
		{name: "crit lists a registered claim, HS256", cfg: hs,
			token:   withHeader(jwt.SigningMethodHS256, hsKey, "", map[string]any{"crit": []string{"exp"}}),
			wantErr: tenant.ErrBadCredential, wantReason: tenant.ErrJWTCrit},
		{name: "crit lists an unknown extension, RS256", cfg: ks,
			token: withHeader(jwt.SigningMethodRS256, keys.rsa, "rsa1",
				map[string]any{"crit": []string{"https://example.com/ext"}, "https://example.com/ext": true}),
			wantErr: tenant.ErrBadCredential, wantReason: tenant.ErrJWTCrit},
		{name: "crit b64=false, ES256", cfg: ks,
			token:   withHeader(jwt.SigningMethodES256, keys.ec, "ec1", map[string]any{"crit": []string{"b64"}, "b64": false}),
			wantErr: tenant.ErrBadCredential, wantReason: tenant.ErrJWTCrit},
		{name: "crit empty array", cfg: hs, token: withHeader(jwt.SigningMethodHS256, hsKey, "", map[string]any{"crit": []string{}}),
			wantErr: tenant.ErrBadCredential, wantReason: tenant.ErrJWTCrit},
		{name: "crit not an array", cfg: hs, token: withHeader(jwt.SigningMethodHS256, hsKey, "", map[string]any{"crit": "exp"}),
			wantErr: tenant.ErrBadCredential, wantReason: tenant.ErrJWTCrit},
		{name: "crit null", cfg: ks, token: withHeader(jwt.SigningMethodRS256, keys.rsa, "rsa1", map[string]any{"crit": nil}),
			wantErr: tenant.ErrBadCredential, wantReason: tenant.ErrJWTCrit},
		{name: "a registry token sent as Bearer", cfg: hs, token: "pgt_acmeacmeacmeacmeacmeacme",
			wantErr: tenant.ErrBadCredential, wantReason: tenant.ErrWrongScheme},
		{name: "unknown role", cfg: hs, token: hsTok(set("role", "postgres")), wantErr: tenant.ErrBadCredential},
		{name: "missing role", cfg: hs, token: hsTok(set("role", nil)), wantErr: tenant.ErrBadCredential},
		{name: "missing tenant claim", cfg: hs, token: hsTok(set("tenant_id", nil)), wantErr: tenant.ErrBadCredential},
		{name: "malformed tenant claim", cfg: hs, token: hsTok(set("tenant_id", "ACME Corp")), wantErr: tenant.ErrBadCredential},
		{name: "tenant claim not a string", cfg: hs, token: hsTok(set("tenant_id", 42)), wantErr: tenant.ErrBadCredential},
		{name: "empty tenant array", cfg: hs, token: hsTok(set("tenant_id", []string{})), wantErr: tenant.ErrBadCredential},
		{name: "JWT not configured", cfg: nil, token: hsTok(nil), wantErr: tenant.ErrBadCredential},
		{name: "invalid JWT config refuses every token", cfg: &tenant.JWTConfig{Secret: []byte("short"), Roles: []string{"app"}},
			token: sign(t, jwt.SigningMethodHS256, []byte("short"), "", claims(nil)), wantErr: tenant.ErrBadCredential},

		{name: "tenant claim for another tenant", cfg: hs, token: hsTok(set("tenant_id", "globex")), wantErr: tenant.ErrTenantRefused},
		{name: "tenant claim by id for another tenant", cfg: ks, token: rsTok(set("tenant_id", globexID)), wantErr: tenant.ErrTenantRefused},
		{name: "tenant claim for an unknown tenant", cfg: hs, token: hsTok(set("tenant_id", "initech")), wantErr: tenant.ErrTenantRefused},
		{name: "tenant claim for an inactive tenant", cfg: hs, token: hsTok(set("tenant_id", "sleepy")), tenant: "sleepy",
			wantErr: tenant.ErrTenantRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := tt.tenant
			if ref == "" {
				ref = "acme"
			}
			r := tenant.NewResolver(newStore(), tenant.Config{Header: "X-Tenant-ID", JWT: tt.cfg, Now: func() time.Time { return now }})
			b, err := r.Resolve(request("Authorization", "Bearer "+tt.token, "X-Tenant-ID", ref))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				if tt.wantReason != nil {
					assert.ErrorIs(t, err, tt.wantReason, "the reason is wrapped for the log")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, b.Tenant.ID)
			assert.Equal(t, cmpOr(tt.wantRole, "app"), b.Credential.Role)
			assert.Equal(t, cmpOr(tt.wantName, "alice"), b.Credential.Name)
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestResolve_JWTAndTokens checks that JWT support leaves registry tokens
// and the order of checks alone.
func TestResolve_JWTAndTokens(t *testing.T) {
	cfg := tenant.Config{Header: "X-Tenant-ID", Require: true, JWT: &tenant.JWTConfig{Secret: []byte(jwtSecret), Roles: []string{"app"}}}
	r := tenant.NewResolver(newStore(), cfg)
	b, err := r.Resolve(request("Authorization", "Token "+tokA, "X-Tenant-ID", "acme"))
	require.NoError(t, err)
	assert.Equal(t, acmeID, b.Tenant.ID)

	// A bad JWT is refused before the tenant is looked at, even an unknown one.
	_, err = r.Resolve(request("Authorization", "Bearer not.a.jwt", "X-Tenant-ID", "initech"))
	assert.ErrorIs(t, err, tenant.ErrBadCredential)
	_, err = r.Resolve(request("Authorization", "Bearer x", "Authorization", "Bearer y", "X-Tenant-ID", "acme"))
	assert.ErrorIs(t, err, tenant.ErrDuplicateCredential)
}

func TestParseJWKS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name    string
		keys    []jose.JSONWebKey
		wantErr string // a fragment of the message; "" for success
	}{
		{"rsa and ec", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "a"}, {Key: &ecKey.PublicKey, KeyID: "b", Use: "sig"}}, ""},
		{"alg given and matching", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "a", Algorithm: "RS256"}}, ""},
		{"no keys", nil, "no signing key"},
		{"only an encryption key", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "a", Use: "enc"}}, "no signing key"},
		{"private key", []jose.JSONWebKey{{Key: rsaKey, KeyID: "a"}}, "private key"},
		{"symmetric key", []jose.JSONWebKey{{Key: []byte(jwtSecret), KeyID: "a"}}, "symmetric"},
		{"no kid", []jose.JSONWebKey{{Key: &rsaKey.PublicKey}}, "no kid"},
		{"kid twice", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "a"}, {Key: &ecKey.PublicKey, KeyID: "a"}}, "twice"},
		{"weak rsa", []jose.JSONWebKey{{Key: &smallRSA.PublicKey, KeyID: "a"}}, "1024-bit"},
		{"other curve", []jose.JSONWebKey{{Key: &p384.PublicKey, KeyID: "a"}}, "P-384"},
		{"alg not for this key", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "a", Algorithm: "HS256"}}, "verify only RS256"},
		{"unsupported alg", []jose.JSONWebKey{{Key: &rsaKey.PublicKey, KeyID: "a", Algorithm: "PS256"}}, "verify only RS256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(jose.JSONWebKeySet{Keys: tt.keys})
			require.NoError(t, err)
			ks, err := tenant.ParseJWKS(data)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.NoError(t, (&tenant.JWTConfig{Keys: ks}).Validate())
		})
	}
	_, err = tenant.ParseJWKS([]byte(`{"keys": [`))
	assert.Error(t, err)
	_, err = tenant.LoadJWKS(filepath.Join(t.TempDir(), "missing.json"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestJWTConfig_Validate(t *testing.T) {
	ks, err := tenant.LoadJWKS(newJWTKeys(t).jwksFile)
	require.NoError(t, err)
	tests := []struct {
		name    string
		cfg     tenant.JWTConfig
		wantErr bool
	}{
		{"secret", tenant.JWTConfig{Secret: []byte(jwtSecret)}, false},
		{"key set", tenant.JWTConfig{Keys: ks}, false},
		{"both", tenant.JWTConfig{Secret: []byte(jwtSecret), Keys: ks}, true},
		{"neither", tenant.JWTConfig{}, true},
		{"short secret", tenant.JWTConfig{Secret: []byte(jwtSecret[:tenant.MinJWTSecretBytes-1])}, true},
		{"negative leeway", tenant.JWTConfig{Secret: []byte(jwtSecret), Leeway: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}
