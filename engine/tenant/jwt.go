package tenant

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// JWT credentials (Authorization: Bearer <jwt>), the second credential kind
// next to registry tokens. Verification is golang-jwt's; the JWKS file is
// read by go-jose. This file only chooses the key and the algorithm, and
// turns verified claims into a Credential.

// MinJWTSecretBytes is the shortest HS256 secret accepted: RFC 7518 §3.2
// asks for a key at least as long as the hash output (256 bits).
const MinJWTSecretBytes = 32

// errJWTOff is the reason a Bearer credential is refused when no JWT key is
// configured.
var errJWTOff = errors.New("tenant: jwt: bearer credentials are not enabled")

// ErrJWTCrit is the reason a JWT whose protected header has a crit
// parameter is refused (RFC 7515 §4.1.11): it lists extensions that a
// recipient must understand, and this server understands none. A crit that
// is empty or not an array is malformed, and refused the same way. It is
// wrapped in ErrBadCredential.
var ErrJWTCrit = errors.New("tenant: jwt: crit header lists extensions this server does not understand")

// maxJWTBytes bounds the Bearer value before any parsing.
const maxJWTBytes = 16 << 10

// maxJWTTenants bounds the tenant claim: each identifier in it may cost a
// directory lookup.
const maxJWTTenants = 100

// JWTConfig says which JSON Web Tokens the Resolver accepts as credentials.
// Exactly one of Secret and Keys is set.
type JWTConfig struct {
	// Secret is the HS256 key, at least MinJWTSecretBytes long.
	Secret []byte
	// Keys are RS256 and ES256 public keys (see LoadJWKS); a token names
	// the key that signed it in its kid header.
	Keys *JWKS
	// TenantClaim names the claim holding the tenant the bearer may act for
	// (a UUID or an identifier) or an array of them. Default "tenant_id".
	TenantClaim string
	// RoleClaim names the claim holding the database role. Default "role".
	RoleClaim string
	// Roles are the declared roles: a token whose role is not one of them
	// is refused.
	Roles []string
	// Audience, when set, must be in the token's aud claim, which is then
	// required.
	Audience string
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Leeway is the clock skew allowed when checking exp, nbf and iat;
	// zero allows none.
	Leeway time.Duration
}

// Validate reports the first problem of c that would make every token
// fail, or nil.
func (c *JWTConfig) Validate() error {
	switch {
	case len(c.Secret) > 0 && c.Keys != nil:
		return errors.New("tenant: jwt: both a secret and a key set are given; use one")
	case len(c.Secret) == 0 && c.Keys == nil:
		return errors.New("tenant: jwt: neither a secret nor a key set is given")
	case c.Keys == nil && len(c.Secret) < MinJWTSecretBytes:
		return fmt.Errorf("tenant: jwt: the HS256 secret has %d bytes; it needs at least %d", len(c.Secret), MinJWTSecretBytes)
	case c.Keys != nil && len(c.Keys.keys) == 0:
		return errors.New("tenant: jwt: the key set holds no signing key")
	case c.Leeway < 0:
		return errors.New("tenant: jwt: negative leeway")
	}
	return nil
}

// JWKS is a set of public keys that verify JWTs, by key id.
type JWKS struct {
	keys map[string]jwtKey
}

type jwtKey struct {
	alg string // the one algorithm this key verifies: RS256 or ES256
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// LoadJWKS reads a JSON Web Key Set file; see ParseJWKS.
func LoadJWKS(path string) (*JWKS, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tenant: read key set: %w", err)
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// ParseJWKS reads a JSON Web Key Set (RFC 7517): RSA keys of at least 2048
// bits, which verify RS256, and P-256 keys, which verify ES256. Every key
// needs a unique kid. A key's alg, when given, must be the one its type
// verifies. Keys marked "use": "enc" are skipped; symmetric and private
// keys are refused, as is any other key type or algorithm.
func ParseJWKS(data []byte) (*JWKS, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("tenant: parse key set: %w", err)
	}
	ks := &JWKS{keys: map[string]jwtKey{}}
	for i, k := range set.Keys {
		name := fmt.Sprintf("key %d", i)
		if k.KeyID != "" {
			name = fmt.Sprintf("key %q", k.KeyID)
		}
		if k.Use == "enc" {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			return nil, fmt.Errorf("tenant: %s: use %q: want sig", name, k.Use)
		}
		if _, symmetric := k.Key.([]byte); symmetric {
			return nil, fmt.Errorf("tenant: %s: a symmetric key; give an HS256 secret as the secret, not in the key set", name)
		}
		if !k.IsPublic() {
			return nil, fmt.Errorf("tenant: %s: a private key; the key set must hold only public keys", name)
		}
		if k.KeyID == "" {
			return nil, fmt.Errorf("tenant: %s: no kid; every key needs one", name)
		}
		if _, dup := ks.keys[k.KeyID]; dup {
			return nil, fmt.Errorf("tenant: %s: kid given twice", name)
		}
		var jk jwtKey
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if pub.N.BitLen() < 2048 {
				return nil, fmt.Errorf("tenant: %s: a %d-bit RSA key; want at least 2048 bits", name, pub.N.BitLen())
			}
			jk = jwtKey{alg: jwt.SigningMethodRS256.Alg(), key: pub}
		case *ecdsa.PublicKey:
			if pub.Curve != elliptic.P256() {
				return nil, fmt.Errorf("tenant: %s: curve %s; want P-256 (ES256)", name, pub.Curve.Params().Name)
			}
			jk = jwtKey{alg: jwt.SigningMethodES256.Alg(), key: pub}
		default:
			return nil, fmt.Errorf("tenant: %s: a %T key; want RSA (RS256) or EC P-256 (ES256)", name, k.Key)
		}
		if k.Algorithm != "" && k.Algorithm != jk.alg {
			return nil, fmt.Errorf("tenant: %s: alg %q; this key can verify only %s", name, k.Algorithm, jk.alg)
		}
		ks.keys[k.KeyID] = jk
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("tenant: the key set holds no signing key")
	}
	return ks, nil
}

// jwtVerifier checks tokens against one JWTConfig.
type jwtVerifier struct {
	cfg    JWTConfig
	parser *jwt.Parser
}

func newJWTVerifier(c *JWTConfig, now func() time.Time) (*jwtVerifier, error) {
	if c == nil {
		return nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cfg := *c
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = "tenant_id"
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "role"
	}
	// Only the algorithms the configured keys can verify: "none" and, with
	// a key set, HS256 (whose "secret" would be the public key: algorithm
	// confusion) never reach the key function.
	methods := []string{jwt.SigningMethodHS256.Alg()}
	if cfg.Keys != nil {
		methods = []string{jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg()}
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(methods),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(now),
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	return &jwtVerifier{cfg: cfg, parser: jwt.NewParser(opts...)}, nil
}

// key picks the key that verifies t: the secret, or the key named by kid,
// which must be a key for the token's algorithm. A token with a crit header
// is refused (ErrJWTCrit).
func (v *jwtVerifier) key(t *jwt.Token) (any, error) {
	// golang-jwt ignores crit. Refuse it here, before any signature work:
	// whatever it lists, or however malformed, nothing here understands it.
	if crit, ok := t.Header["crit"]; ok {
		return nil, fmt.Errorf("%w: %v", ErrJWTCrit, crit)
	}
	alg := t.Method.Alg()
	if v.cfg.Keys == nil {
		if alg != jwt.SigningMethodHS256.Alg() {
			return nil, fmt.Errorf("alg %s: want HS256", alg)
		}
		return v.cfg.Secret, nil
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("no kid header")
	}
	k, ok := v.cfg.Keys.keys[kid]
	if !ok {
		return nil, fmt.Errorf("no key with kid %q", kid)
	}
	if alg != k.alg {
		return nil, fmt.Errorf("alg %s: key %q verifies only %s", alg, kid, k.alg)
	}
	return k.key, nil
}

// claims is what a verified token grants.
type claims struct {
	name    string
	role    string
	tenants []string // canonical UUIDs and identifiers
}

// verify checks the signature and the registered claims of token and reads
// the tenant, role and subject claims.
func (v *jwtVerifier) verify(token string) (claims, error) {
	if len(token) > maxJWTBytes {
		return claims{}, fmt.Errorf("token longer than %d bytes", maxJWTBytes)
	}
	mc := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, mc, v.key); err != nil {
		return claims{}, err
	}
	var c claims
	var err error
	if c.tenants, err = tenantClaim(mc[v.cfg.TenantClaim]); err != nil {
		return claims{}, fmt.Errorf("claim %q: %w", v.cfg.TenantClaim, err)
	}
	role, _ := mc[v.cfg.RoleClaim].(string)
	if !slices.Contains(v.cfg.Roles, role) {
		return claims{}, fmt.Errorf("claim %q: %q is not a declared role", v.cfg.RoleClaim, role)
	}
	c.role = role
	c.name = "jwt"
	if sub, _ := mc["sub"].(string); sub != "" {
		c.name = sub
	}
	return c, nil
}

// tenantClaim reads a tenant claim: one UUID or identifier, or a non-empty
// array of them.
func tenantClaim(v any) ([]string, error) {
	var refs []string
	switch x := v.(type) {
	case nil:
		return nil, errors.New("missing")
	case string:
		refs = []string{x}
	case []any:
		if len(x) == 0 || len(x) > maxJWTTenants {
			return nil, fmt.Errorf("want 1 to %d tenants, got %d", maxJWTTenants, len(x))
		}
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %T", e)
			}
			refs = append(refs, s)
		}
	default:
		return nil, fmt.Errorf("want a string or an array of strings, got %T", v)
	}
	for i, ref := range refs {
		switch {
		case uuidRE.MatchString(ref):
			refs[i] = strings.ToLower(ref)
		case identifierRE.MatchString(ref):
		default:
			return nil, fmt.Errorf("%q is neither a UUID nor a tenant identifier", ref)
		}
	}
	return refs, nil
}

// bearer turns a JWT into a Credential: ErrBadCredential, wrapping the
// reason for the log, unless the token verifies. Identifiers in the tenant
// claim are resolved through the tenant directory, as the tenant header
// is; unknown ones grant nothing.
func (r *Resolver) bearer(ctx context.Context, token string) (*Credential, error) {
	if r.jwt == nil {
		reason := r.jwtErr
		if reason == nil {
			reason = errJWTOff
		}
		return nil, fmt.Errorf("%w: %w", ErrBadCredential, reason)
	}
	c, err := r.jwt.verify(token)
	if err != nil {
		return nil, fmt.Errorf("%w: jwt: %w", ErrBadCredential, err)
	}
	cred := &Credential{Name: c.name, Role: c.role}
	for _, ref := range c.tenants {
		if uuidRE.MatchString(ref) {
			cred.Tenants = append(cred.Tenants, ref)
			continue
		}
		t, err := r.tenant(ctx, ref)
		switch {
		case errors.Is(err, ErrTenantRefused):
			continue
		case err != nil:
			return nil, err
		}
		cred.Tenants = append(cred.Tenants, t.ID)
	}
	return cred, nil
}
