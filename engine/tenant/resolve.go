package tenant

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"

	"pgtenant/engine/header"
)

// Config says how requests name their tenant and how long lookups are
// trusted.
type Config struct {
	Header        string        // the tenant header, e.g. X-Tenant-ID
	Require       bool          // a request without the header is refused (REQUIRE_TENANT)
	DefaultTenant string        // used when the header is missing and Require is off: a UUID or identifier
	TTL           time.Duration // how long a credential or the tenant directory is trusted; default 5s
	NegativeTTL   time.Duration // how long an unknown token is remembered as unknown; default 5s
	// NegativeCacheSize bounds how many unknown tokens are remembered; the
	// least recently seen are forgotten first. Default 10000.
	NegativeCacheSize int
	// MinRefresh is the shortest interval between two directory reloads
	// caused by unknown tenants: a flood of made-up tenants costs at most
	// one query per interval. Default 1s.
	MinRefresh time.Duration
	// LookupTimeout bounds one registry lookup (a credential, the tenant
	// directory). Concurrent requests that need the same lookup share it, so
	// it runs under a context of its own, not under the request that started
	// it: a request that goes away stops waiting and fails no other.
	// Default 5s.
	LookupTimeout time.Duration
	Now           func() time.Time // the clock; time.Now by default
	// JWT, when set, accepts `Authorization: Bearer <jwt>` (see JWTConfig);
	// nil: a Bearer credential is ErrBadCredential.
	JWT *JWTConfig
}

var (
	uuidRE       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	identifierRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`) // as the registry's CHECK constraint
)

// Resolver resolves requests to a Binding, caching the registry.
type Resolver struct {
	store Store
	cfg   Config
	group singleflight.Group

	jwt    *jwtVerifier // nil: Bearer is refused (for jwtErr, when the JWT config is invalid)
	jwtErr error

	mu sync.Mutex
	// creds holds the live tokens found, by hash: no more than the registry
	// has live tokens. unknown holds the hashes found to name no live token,
	// until when they are trusted as unknown: at most NegativeCacheSize, so
	// a flood of made-up tokens cannot grow it.
	creds    map[tokenHash]credEntry
	unknown  *simplelru.LRU[tokenHash, time.Time]
	dir      directory
	dirStamp time.Time // when dir was loaded; zero: never
	// gen counts Invalidate calls. A lookup keeps its result only if gen
	// did not change while it ran: one that began before a revocation was
	// committed may have read the old row.
	gen uint64
}

type tokenHash [sha256.Size]byte

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
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = 5 * time.Second
	}
	if cfg.NegativeCacheSize <= 0 {
		cfg.NegativeCacheSize = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	unknown, _ := simplelru.NewLRU[tokenHash, time.Time](cfg.NegativeCacheSize, nil) // fails only for a size ≤ 0
	r := &Resolver{store: store, cfg: cfg, creds: map[tokenHash]credEntry{}, unknown: unknown}
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
	r.creds = map[tokenHash]credEntry{}
	r.unknown.Purge()
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
	case len(values) == 0 || (len(values) == 1 && header.TrimOWS(values[0]) == ""):
		return nil, ErrNoCredential
	case len(values) > 1:
		return nil, ErrDuplicateCredential
	}
	scheme, token, ok := strings.Cut(header.TrimOWS(values[0]), " ")
	token = header.TrimOWS(token)
	if ok && strings.EqualFold(scheme, "Bearer") {
		if strings.HasPrefix(token, TokenPrefix) {
			return nil, ErrWrongScheme
		}
		return r.bearer(req.Context(), token)
	}
	if !ok || !strings.EqualFold(scheme, "Token") {
		return nil, ErrBadCredential
	}
	if err := CheckToken(token); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCredential, err) // no lookup: the reason goes to the log
	}
	hash := tokenHash(HashToken(token))
	now := r.cfg.Now()
	r.mu.Lock()
	e, hit := r.creds[hash]
	if !hit {
		if until, unknown := r.unknown.Get(hash); unknown {
			e, hit = credEntry{expires: until}, true
		}
	}
	gen := r.gen
	r.mu.Unlock()
	if !hit || now.After(e.expires) {
		// gen in the key: a request after Invalidate never joins a lookup begun before it.
		v, err := r.shared(req.Context(), fmt.Sprintf("cred:%d:%x", gen, hash), func(ctx context.Context) (any, error) {
			c, err := r.store.Credential(ctx, hash[:])
			if err != nil {
				return nil, fmt.Errorf("tenant: look up credential: %w", err)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if c == nil {
				entry := credEntry{expires: r.cfg.Now().Add(r.cfg.NegativeTTL)}
				if r.gen == gen {
					delete(r.creds, hash)
					r.unknown.Add(hash, entry.expires)
				}
				return entry, nil
			}
			entry := credEntry{cred: c, expires: r.cfg.Now().Add(r.cfg.TTL)}
			if r.gen == gen {
				r.unknown.Remove(hash)
				r.creds[hash] = entry
			}
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
		ref = header.TrimOWS(values[0])
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
	v, err := r.shared(ctx, fmt.Sprintf("directory:%d", gen), func(ctx context.Context) (any, error) { return r.reload(ctx, gen) })
	if err != nil {
		return Tenant{}, err
	}
	if t, found = v.(directory).lookup(ref); !found {
		return Tenant{}, ErrTenantRefused
	}
	return t, nil
}

// shared runs lookup once for all concurrent callers with the same key
// (singleflight), under a context detached from any one request: it keeps
// ctx's values, not its cancellation, and ends after LookupTimeout. So a
// request that goes away never fails the requests that joined its lookup;
// it stops waiting, with its own context's error, and the lookup goes on
// (and fills the cache) for the others.
func (r *Resolver) shared(ctx context.Context, key string, lookup func(context.Context) (any, error)) (any, error) {
	ch := r.group.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.LookupTimeout)
		defer cancel()
		return lookup(lctx)
	})
	select {
	case res := <-ch:
		return res.Val, res.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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
