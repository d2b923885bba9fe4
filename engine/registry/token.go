package registry

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/tenant"
)

// TokenPrefix starts every token, so that a leaked one is recognisable (by
// secret scanners, in logs) and cannot be mistaken for a JWT.
const TokenPrefix = "pgt_"

// tokenBytes is the randomness in a token: 256 bits.
const tokenBytes = 32

// TokenInfo is a token as the administrator sees it: never its secret nor
// its hash.
type TokenInfo struct {
	ID         string
	Name       string
	Role       string
	Tenants    []string // identifiers of the tenants it may act for, sorted
	CreatedAt  time.Time
	LastUsedAt *time.Time // nil if never used
	RevokedAt  *time.Time // nil if live
}

// CreateToken makes a token that acts as the database role role for the
// tenants tenantRefs name (ids or identifiers, as FindTenant takes them), and
// returns the token, to be shown once, with what it may do. Only
// tenant.HashToken(token) is stored. Everything is written in one
// transaction: on any error nothing is. db must be the table owner.
//
// The caller checks that role is a declared role: this package does not
// read the declaration. Returns a *MissingError for an empty name or role,
// ErrNoTenants without tenants, and ErrUnknownTenant for a ref that names
// no tenant.
func CreateToken(ctx context.Context, db DB, name, role string, tenantRefs []string) (string, tenant.Credential, error) {
	if strings.TrimSpace(name) == "" {
		return "", tenant.Credential{}, &MissingError{Field: "name"}
	}
	if role == "" {
		return "", tenant.Credential{}, &MissingError{Field: "role"}
	}
	if len(tenantRefs) == 0 {
		return "", tenant.Credential{}, ErrNoTenants
	}
	token, err := newToken()
	if err != nil {
		return "", tenant.Credential{}, err
	}
	cred := tenant.Credential{Name: name, Role: role}
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for _, ref := range tenantRefs {
			t, err := FindTenant(ctx, tx, ref)
			if err != nil {
				return err
			}
			if !slices.Contains(cred.Tenants, t.ID) {
				cred.Tenants = append(cred.Tenants, t.ID)
			}
		}
		slices.Sort(cred.Tenants) // the order pgtenant.lookup_token gives
		if err := tx.QueryRow(ctx, `
			INSERT INTO pgtenant.tokens (name, token_hash, role) VALUES ($1, $2, $3) RETURNING id::text`,
			name, tenant.HashToken(token), role).Scan(&cred.ID); err != nil {
			return fmt.Errorf("registry: create token: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO pgtenant.token_tenants (token_id, tenant_id) SELECT $1::uuid, unnest($2::uuid[])`,
			cred.ID, cred.Tenants); err != nil {
			return fmt.Errorf("registry: create token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", tenant.Credential{}, err
	}
	return token, cred, nil
}

// newToken returns TokenPrefix and 32 random bytes in unpadded base64url.
func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("registry: make token: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// ListTokens returns every token, revoked ones included, oldest first. It
// never returns a secret or a hash. db must be the table owner.
func ListTokens(ctx context.Context, db DB) ([]TokenInfo, error) {
	rows, err := db.Query(ctx, `
		SELECT k.id::text, k.name, k.role,
		       ARRAY(SELECT t.identifier FROM pgtenant.token_tenants AS tt
		               JOIN pgtenant.tenants AS t ON t.id = tt.tenant_id
		              WHERE tt.token_id = k.id ORDER BY t.identifier),
		       k.created_at, k.last_used_at, k.revoked_at
		  FROM pgtenant.tokens AS k ORDER BY k.created_at, k.id`)
	if err != nil {
		return nil, fmt.Errorf("registry: list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (TokenInfo, error) {
		var k TokenInfo
		err := row.Scan(&k.ID, &k.Name, &k.Role, &k.Tenants, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list tokens: %w", err)
	}
	return out, nil
}
