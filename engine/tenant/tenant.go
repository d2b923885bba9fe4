package tenant

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Tenant is one entry of the tenant registry.
type Tenant struct {
	ID         string // canonical lower-case UUID
	Identifier string // lower-case slug, e.g. "acme"
	Name       string
	Active     bool
	// RateRPS and RateBurst are the tenant's own rate limit (requests per
	// second and bucket size); 0 means the server's default.
	RateRPS   float64
	RateBurst int
}

// Credential is an API token as the server sees it: never the secret, only
// what it may do.
type Credential struct {
	ID      string
	Name    string
	Role    string   // the database role its requests run as
	Tenants []string // ids of the tenants it may act for
}

// Allows reports whether the credential may act for tenant id.
func (c *Credential) Allows(id string) bool {
	for _, t := range c.Tenants {
		if t == id {
			return true
		}
	}
	return false
}

// Store reads the tenant registry. engine/registry implements it over
// PostgreSQL.
type Store interface {
	// Tenants returns every registered tenant.
	Tenants(ctx context.Context) ([]Tenant, error)
	// Credential returns the live (not revoked) token whose SHA-256 hash is
	// hash, or nil and no error when there is none.
	Credential(ctx context.Context, hash []byte) (*Credential, error)
}

// HashToken is how tokens are stored and looked up: only this hash of a
// token ever reaches the database.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Binding is what a request acts as: one tenant, through one credential.
type Binding struct {
	Tenant     Tenant
	Credential Credential
}

type ctxKey struct{}

// NewContext returns ctx carrying b.
func NewContext(ctx context.Context, b Binding) context.Context {
	return context.WithValue(ctx, ctxKey{}, b)
}

// FromContext returns the binding of the request, if it was resolved.
func FromContext(ctx context.Context) (Binding, bool) {
	b, ok := ctx.Value(ctxKey{}).(Binding)
	return b, ok
}

// The reasons a request is refused. The HTTP layer maps each to one status
// and one body; see README "Errors".
var (
	// ErrNoCredential: no Authorization header (401).
	ErrNoCredential = errors.New("tenant: no credential")
	// ErrBadCredential: an Authorization header that is malformed, names an
	// unknown or revoked token, or is given twice (401). A Bearer JWT that
	// does not verify (signature, key, exp, nbf, iat, aud, iss, claims) is
	// this error too, wrapping the reason for the log.
	ErrBadCredential = errors.New("tenant: invalid credential")
	// ErrWrongScheme: a registry token (TokenPrefix…) sent as `Authorization: Bearer`, the JWT scheme. It is
	// ErrBadCredential (401) too; the answer's hint says to send it as `Token`.
	ErrWrongScheme = fmt.Errorf("%w: a pgtenant token sent with the Bearer scheme, which is for JWTs", ErrBadCredential)
	// ErrDuplicateCredential: two Authorization headers (400).
	ErrDuplicateCredential = errors.New("tenant: more than one Authorization header")
	// ErrNoTenant: no tenant header while a tenant is required (403).
	ErrNoTenant = errors.New("tenant: no tenant")
	// ErrTenantRefused: the tenant is unknown, inactive, or not allowed for
	// this credential. One error for all three, so that tenants cannot be
	// enumerated (403).
	ErrTenantRefused = errors.New("tenant: tenant refused")
	// ErrDuplicateTenant: the tenant header given twice (400).
	ErrDuplicateTenant = errors.New("tenant: more than one tenant header")
	// ErrMalformedTenant: a tenant header that is neither a UUID nor an
	// identifier (400).
	ErrMalformedTenant = errors.New("tenant: malformed tenant header")
)
