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
const TokenPrefix = tenant.TokenPrefix

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

// RevokeToken revokes the token ref names: its id, or its name when one
// live token has that name (names need not be unique; a revoked token of the
// same name is ignored then). It sets revoked_at, after which
// pgtenant.lookup_token no longer returns the token, and the registry's
// triggers tell running servers with NOTIFY when the transaction commits.
// db must be the table owner.
//
// Returns ErrUnknownToken when ref names no token, ErrAmbiguousToken when
// several live tokens have the name ref, and ErrAlreadyRevoked, with the
// time of the revocation and nothing changed, when the token was revoked
// before: not a failure, the token is revoked either way.
func RevokeToken(ctx context.Context, db DB, ref string) error {
	id, _ := isUUID(ref) // "" matches no id
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT id::text, name, revoked_at FROM pgtenant.tokens
			 WHERE id::text = $1 OR name = $2
			 ORDER BY id::text = $1 DESC, revoked_at IS NULL DESC, created_at, id
			   FOR UPDATE`, id, ref)
		if err != nil {
			return fmt.Errorf("registry: revoke token %q: %w", ref, err)
		}
		type match struct {
			ID, Name  string
			RevokedAt *time.Time
		}
		found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[match])
		if err != nil {
			return fmt.Errorf("registry: revoke token %q: %w", ref, err)
		}
		switch {
		case len(found) == 0:
			return fmt.Errorf("%w %q", ErrUnknownToken, ref)
		case found[0].ID != id && len(found) > 1 && found[1].RevokedAt == nil:
			var ids []string
			for _, m := range found {
				if m.RevokedAt == nil {
					ids = append(ids, m.ID)
				}
			}
			return fmt.Errorf("%w: %q (ids %s); revoke one by its id", ErrAmbiguousToken, ref, strings.Join(ids, ", "))
		}
		k := found[0] // by id, else the live one, else the oldest revoked one
		if k.RevokedAt != nil {
			return fmt.Errorf("%w: %q (id %s) at %s", ErrAlreadyRevoked, k.Name, k.ID, k.RevokedAt.UTC().Format(time.RFC3339))
		}
		if _, err := tx.Exec(ctx, `UPDATE pgtenant.tokens SET revoked_at = now() WHERE id = $1::uuid`, k.ID); err != nil {
			return fmt.Errorf("registry: revoke token %q: %w", ref, err)
		}
		return nil
	})
}
