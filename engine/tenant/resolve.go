package tenant

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Config says how requests name their tenant and how long lookups are
// trusted.
type Config struct {
	Header        string        // the tenant header, e.g. X-Tenant-ID
	Require       bool          // a request without the header is refused (REQUIRE_TENANT)
	DefaultTenant string        // used when the header is missing and Require is off: a UUID or identifier
	TTL           time.Duration // how long a credential or the tenant directory is trusted; default 5s
	NegativeTTL   time.Duration // how long an unknown token is remembered as unknown; default 5s
	// MinRefresh is the shortest interval between two directory reloads
	// caused by unknown tenants: a flood of made-up tenants costs at most
	// one query per interval. Default 1s.
	MinRefresh time.Duration
	Now        func() time.Time // the clock; time.Now by default
	// JWT, when set, accepts `Authorization: Bearer <jwt>` (see JWTConfig);
	// nil: a Bearer credential is ErrBadCredential.
	JWT *JWTConfig
}

var (
	uuidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	identifierRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`) // as the registry's CHECK constraint
)

// wellFormedToken reports whether s could be a token: 16 to 512 of
// A-Z a-z 0-9 _ - . ~ + / =. A loop rather than a regexp: it runs on every
// request, and the regexp's counted repetition made it a few per cent of
// the server's CPU under load.
func wellFormedToken(s string) bool {
	if len(s) < 16 || len(s) > 512 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_' || c == '-' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=':
		default:
			return false
		}
	}
	return true
}

// Resolver resolves requests to a Binding, caching the registry.
type Resolver struct {
	store Store
	cfg   Config
	group singleflight.Group

	jwt    *jwtVerifier // nil: Bearer is refused (for jwtErr, when the JWT config is invalid)
	jwtErr error

	mu       sync.Mutex
	creds    map[string]credEntry // hex(token hash) → entry
	dir      directory
	dirStamp time.Time // when dir was loaded; zero: never
	// gen counts Invalidate calls. A lookup keeps its result only if gen
	// did not change while it ran: one that began before a revocation was
	// committed may have read the old row.
	gen uint64
}

type credEntry struct {
	cred    *Credential // nil: no such live token
	expires time.Time
}

type directory struct {
	byID         map[string]Tenant
	byIdentifier map[string]Tenant
}

// NewResolver returns a Resolver reading store.
func NewResolver(store Store, cfg Config) *Resolver {
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Second
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 5 * time.Second
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Resolver{store: store, cfg: cfg, creds: map[string]credEntry{}}
	r.jwt, r.jwtErr = newJWTVerifier(cfg.JWT, cfg.Now)
	return r
}

// Invalidate forgets every cached credential and the tenant directory, so
// that the next request reads the registry again (after a revocation or a
// deactivation). What lookups already under way read is not cached, and
// later requests do not wait for them.
func (r *Resolver) Invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.creds = map[string]credEntry{}
	r.dirStamp = time.Time{}
	r.gen++
}

// Resolve decides what req acts as, in three steps:
//
//  1. the tenant header must be there (ErrNoTenant) and well-formed
//     (ErrDuplicateTenant, ErrMalformedTenant): a check of the request
//     alone, before any lookup;
//  2. the credential must be valid (ErrNoCredential, ErrBadCredential,
//     ErrDuplicateCredential);
//  3. the tenant must exist, be active and be allowed for the credential
//     (ErrTenantRefused, one error for all three).
//
// So a request without valid credentials learns nothing about which
// tenants exist. Other errors wrap a Store error: the registry could not be
// read.
func (r *Resolver) Resolve(req *http.Request) (Binding, error) {
	ref, err := r.tenantRef(req)
	if err != nil {
		return Binding{}, err
	}
	cred, err := r.credential(req)
	if err != nil {
		return Binding{}, err
	}
	t, err := r.tenant(req.Context(), ref)
	if err != nil {
		return Binding{}, err
	}
	if !t.Active || !cred.Allows(t.ID) {
		return Binding{}, ErrTenantRefused
	}
	return Binding{Tenant: t, Credential: *cred}, nil
}

// credential reads `Authorization: Token <t>` and looks the token up, or
// hands `Authorization: Bearer <jwt>` to bearer.
func (r *Resolver) credential(req *http.Request) (*Credential, error) {
	values := req.Header.Values("Authorization")
	switch {
	case len(values) == 0 || (len(values) == 1 && strings.TrimSpace(values[0]) == ""):
		return nil, ErrNoCredential
	case len(values) > 1:
		return nil, ErrDuplicateCredential
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimSpace(token)
	if ok && strings.EqualFold(scheme, "Bearer") {
		if strings.HasPrefix(token, TokenPrefix) {
			return nil, ErrWrongScheme
		}
		return r.bearer(req.Context(), token)
	}
	if !ok || !strings.EqualFold(scheme, "Token") || !wellFormedToken(token) {
		return nil, ErrBadCredential
	}
	hash := HashToken(token)
	key := hex.EncodeToString(hash)
	now := r.cfg.Now()
	r.mu.Lock()
	e, hit := r.creds[key]
	gen := r.gen
	r.mu.Unlock()
	if !hit || now.After(e.expires) {
		// gen in the key: a request after Invalidate never joins a lookup begun before it.
		v, err, _ := r.group.Do(fmt.Sprintf("cred:%d:%s", gen, key), func() (any, error) {
			c, err := r.store.Credential(req.Context(), hash)
			if err != nil {
				return nil, fmt.Errorf("tenant: look up credential: %w", err)
			}
			ttl := r.cfg.TTL
			if c == nil {
				ttl = r.cfg.NegativeTTL
			}
			entry := credEntry{cred: c, expires: r.cfg.Now().Add(ttl)}
			r.mu.Lock()
			if r.gen == gen {
				r.creds[key] = entry
			}
			r.mu.Unlock()
			return entry, nil
		})
		if err != nil {
			return nil, err
		}
		e = v.(credEntry)
	}
	if e.cred == nil {
		return nil, ErrBadCredential
	}
	return e.cred, nil
}

// tenantRef reads the tenant header, falling back to the default tenant.
func (r *Resolver) tenantRef(req *http.Request) (string, error) {
	values := req.Header.Values(r.cfg.Header)
	if len(values) > 1 {
		return "", ErrDuplicateTenant
	}
	ref := ""
	if len(values) == 1 {
		ref = strings.TrimSpace(values[0])
	}
	if ref == "" {
		if r.cfg.Require || r.cfg.DefaultTenant == "" {
			return "", ErrNoTenant
		}
		ref = r.cfg.DefaultTenant
	}
	switch {
	case uuidRE.MatchString(ref):
		return strings.ToLower(ref), nil
	case ValidIdentifier(ref):
		return ref, nil
	}
	return "", ErrMalformedTenant
}

// tenant finds ref (a canonical UUID or an identifier) in the directory,
// reloading it when it is stale, or when ref is unknown and the directory
// was not reloaded in the last MinRefresh.
func (r *Resolver) tenant(ctx context.Context, ref string) (Tenant, error) {
	now := r.cfg.Now()
	r.mu.Lock()
	t, found := r.dir.lookup(ref)
	age := now.Sub(r.dirStamp)
	loaded := !r.dirStamp.IsZero()
	gen := r.gen
	r.mu.Unlock()
	if loaded && age < r.cfg.TTL && (found || age < r.cfg.MinRefresh) {
		if !found {
			return Tenant{}, ErrTenantRefused
		}
		return t, nil
	}
	v, err, _ := r.group.Do(fmt.Sprintf("directory:%d", gen), func() (any, error) { return r.reload(ctx, gen) })
	if err != nil {
		return Tenant{}, err
	}
	if t, found = v.(directory).lookup(ref); !found {
		return Tenant{}, ErrTenantRefused
	}
	return t, nil
}

func (d directory) lookup(ref string) (Tenant, bool) {
	if t, ok := d.byID[ref]; ok {
		return t, true
	}
	t, ok := d.byIdentifier[ref]
	return t, ok
}

// reload reads the directory and returns it; it becomes the cache only if
// no Invalidate (generation gen) happened meanwhile.
func (r *Resolver) reload(ctx context.Context, gen uint64) (directory, error) {
	list, err := r.store.Tenants(ctx)
	if err != nil {
		return directory{}, fmt.Errorf("tenant: load tenant directory: %w", err)
	}
	d := directory{byID: make(map[string]Tenant, len(list)), byIdentifier: make(map[string]Tenant, len(list))}
	for _, t := range list {
		t.ID = strings.ToLower(t.ID)
		d.byID[t.ID] = t
		d.byIdentifier[t.Identifier] = t
	}
	r.mu.Lock()
	if r.gen == gen {
		r.dir, r.dirStamp = d, r.cfg.Now()
	}
	r.mu.Unlock()
	return d, nil
}

// ValidIdentifier reports whether s is a well-formed tenant identifier: a
// lower-case slug of at most 63 bytes, as pgtenant.tenants' CHECK requires.
func ValidIdentifier(s string) bool { return identifierRE.MatchString(s) }
