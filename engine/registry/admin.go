package registry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/tenant"
)

// TenantInfo is a tenant as the administrator sees it.
type TenantInfo struct {
	tenant.Tenant
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CreateTenant registers a tenant, active, and returns it. db must be the
// table owner. Returns ErrInvalidIdentifier for an identifier that is not a
// lower-case slug, a *MissingError for an empty name or createdBy, and
// ErrTenantExists when the identifier is taken.
func CreateTenant(ctx context.Context, db DB, identifier, name, createdBy string) (tenant.Tenant, error) {
	if !ValidIdentifier(identifier) {
		return tenant.Tenant{}, fmt.Errorf("%w: %q", ErrInvalidIdentifier, identifier)
	}
	if strings.TrimSpace(name) == "" {
		return tenant.Tenant{}, &MissingError{Field: "name"}
	}
	if strings.TrimSpace(createdBy) == "" {
		return tenant.Tenant{}, &MissingError{Field: "created_by"}
	}
	var t tenant.Tenant
	err := db.QueryRow(ctx, `
		INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ($1, $2, $3)
		RETURNING id::text, identifier, name, is_active`, identifier, name, createdBy).
		Scan(&t.ID, &t.Identifier, &t.Name, &t.Active)
	if isViolation(err, "tenants_identifier_key") {
		return tenant.Tenant{}, fmt.Errorf("%w: %q", ErrTenantExists, identifier)
	}
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("registry: create tenant %q: %w", identifier, err)
	}
	return t, nil
}

// ListTenants returns every tenant, ordered by identifier, with its own rate
// limit (0: the server's default). db must be the table owner.
func ListTenants(ctx context.Context, db DB) ([]TenantInfo, error) {
	rows, err := db.Query(ctx, `
		SELECT id::text, identifier, name, is_active, created_by, created_at, updated_at,
		       coalesce(rate_limit_rps, 0), coalesce(rate_limit_burst, 0)
		  FROM pgtenant.tenants ORDER BY identifier`)
	if err != nil {
		return nil, fmt.Errorf("registry: list tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (TenantInfo, error) {
		var t TenantInfo
		err := row.Scan(&t.ID, &t.Identifier, &t.Name, &t.Active, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt,
			&t.RateRPS, &t.RateBurst)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: list tenants: %w", err)
	}
	return out, nil
}

// FindTenant returns the tenant that ref names: its id (a UUID, in any
// letter case) or its identifier, matched exactly. Inactive tenants are
// found too. Returns ErrUnknownTenant when there is none.
func FindTenant(ctx context.Context, db DB, ref string) (tenant.Tenant, error) {
	const cols = `SELECT id::text, identifier, name, is_active FROM pgtenant.tenants `
	var row pgx.Row
	if id, ok := isUUID(ref); ok {
		row = db.QueryRow(ctx, cols+`WHERE id = $1::uuid`, id)
	} else if ValidIdentifier(ref) {
		row = db.QueryRow(ctx, cols+`WHERE identifier = $1`, ref)
	} else {
		return tenant.Tenant{}, fmt.Errorf("%w %q", ErrUnknownTenant, ref)
	}
	var t tenant.Tenant
	err := row.Scan(&t.ID, &t.Identifier, &t.Name, &t.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Tenant{}, fmt.Errorf("%w %q", ErrUnknownTenant, ref)
	}
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("registry: find tenant %q: %w", ref, err)
	}
	return t, nil
}

// SetTenantActive activates or deactivates the tenant ref names (its id or
// identifier) and returns it. A running server refuses an inactive tenant's
// requests: the change is announced to servers with NOTIFY by the registry's
// triggers, when the transaction commits. updated_at records the time of the
// last change of state; setting the state a tenant already has changes
// nothing. db must be the table owner. Returns ErrUnknownTenant when ref
// names no tenant.
func SetTenantActive(ctx context.Context, db DB, ref string, active bool) (tenant.Tenant, error) {
	const set = `UPDATE pgtenant.tenants
		SET is_active = $2, updated_at = CASE WHEN is_active = $2 THEN updated_at ELSE now() END `
	const returning = ` RETURNING id::text, identifier, name, is_active`
	var row pgx.Row
	if id, ok := isUUID(ref); ok {
		row = db.QueryRow(ctx, set+`WHERE id = $1::uuid`+returning, id, active)
	} else if ValidIdentifier(ref) {
		row = db.QueryRow(ctx, set+`WHERE identifier = $1`+returning, ref, active)
	} else {
		return tenant.Tenant{}, fmt.Errorf("%w %q", ErrUnknownTenant, ref)
	}
	var t tenant.Tenant
	err := row.Scan(&t.ID, &t.Identifier, &t.Name, &t.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Tenant{}, fmt.Errorf("%w %q", ErrUnknownTenant, ref)
	}
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("registry: set tenant %q active=%t: %w", ref, active, err)
	}
	return t, nil
}

// ErrInvalidLimit is returned by SetTenantLimit for a rate or burst that is
// not positive.
var ErrInvalidLimit = errors.New("registry: a rate limit needs a positive rate and burst")

// SetTenantLimit gives the tenant ref names (its id or identifier) its own
// rate limit, rps requests per second with a bucket of burst requests, and
// returns it; rps and burst both 0 clear it, so that the server's default
// applies again. Running servers learn of it through the registry's NOTIFY
// trigger when the transaction commits. db must be the table owner. Returns
// ErrInvalidLimit unless both are positive or both are 0, and
// ErrUnknownTenant when ref names no tenant.
func SetTenantLimit(ctx context.Context, db DB, ref string, rps float64, burst int) (tenant.Tenant, error) {
	var rpsArg, burstArg any // NULL clears
	switch {
	case rps == 0 && burst == 0:
	case rps > 0 && burst > 0 && !math.IsInf(rps, 0):
		rpsArg, burstArg = rps, burst
	default:
		return tenant.Tenant{}, fmt.Errorf("%w: rps %v, burst %d", ErrInvalidLimit, rps, burst)
	}
	const set = `UPDATE pgtenant.tenants SET rate_limit_rps = $2, rate_limit_burst = $3, updated_at = now() `
	const returning = ` RETURNING id::text, identifier, name, is_active,
		coalesce(rate_limit_rps, 0), coalesce(rate_limit_burst, 0)`
	var row pgx.Row
	if id, ok := isUUID(ref); ok {
		row = db.QueryRow(ctx, set+`WHERE id = $1::uuid`+returning, id, rpsArg, burstArg)
	} else if ValidIdentifier(ref) {
		row = db.QueryRow(ctx, set+`WHERE identifier = $1`+returning, ref, rpsArg, burstArg)
	} else {
		return tenant.Tenant{}, fmt.Errorf("%w %q", ErrUnknownTenant, ref)
	}
	var t tenant.Tenant
	err := row.Scan(&t.ID, &t.Identifier, &t.Name, &t.Active, &t.RateRPS, &t.RateBurst)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Tenant{}, fmt.Errorf("%w %q", ErrUnknownTenant, ref)
	}
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("registry: set tenant %q rate limit: %w", ref, err)
	}
	return t, nil
}
