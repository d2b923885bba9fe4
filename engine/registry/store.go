package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/tenant"
)

// Store implements tenant.Store for the API server. Its connection is the
// app login, which holds the declared roles and may execute the registry's
// SECURITY DEFINER functions, but may not read the registry tables.
type Store struct {
	db DB
}

var _ tenant.Store = (*Store)(nil)

// NewStore returns a Store that reads the registry through db.
func NewStore(db DB) *Store { return &Store{db: db} }

// Calls to the two functions the first migration creates. ::text gives ids
// in the canonical lower-case form tenant.Tenant and tenant.Credential hold.
const (
	tenantDirectoryQuery = `SELECT id::text, identifier, is_active, coalesce(rate_limit_rps, 0), coalesce(rate_limit_burst, 0)
  FROM pgtenant.tenant_directory()`
	lookupTokenQuery = `SELECT id::text, name, role, tenants::text[] FROM pgtenant.lookup_token($1)`
)

// Tenants returns every registered tenant, ordered by identifier. Name is
// left empty: pgtenant.tenant_directory() gives the server only what tenant
// resolution and rate limiting need. RateRPS and RateBurst are 0 where the
// tenant has no limit of its own.
func (s *Store) Tenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.db.Query(ctx, tenantDirectoryQuery)
	if err != nil {
		return nil, fmt.Errorf("registry: read tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (tenant.Tenant, error) {
		var t tenant.Tenant
		err := row.Scan(&t.ID, &t.Identifier, &t.Active, &t.RateRPS, &t.RateBurst)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: read tenants: %w", err)
	}
	return out, nil
}

// Credential returns the live (not revoked) token whose SHA-256 hash is
// hash, or nil and no error when there is none. Finding it records its use
// (pgtenant.tokens.last_used_at), so it needs a writable connection.
func (s *Store) Credential(ctx context.Context, hash []byte) (*tenant.Credential, error) {
	if len(hash) != len(tenant.HashToken("")) {
		return nil, nil // no stored hash has another length (tokens_token_hash_check)
	}
	var c tenant.Credential
	err := s.db.QueryRow(ctx, lookupTokenQuery, hash).Scan(&c.ID, &c.Name, &c.Role, &c.Tenants)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: look up token: %w", err)
	}
	return &c, nil
}
