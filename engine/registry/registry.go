package registry

import (
	"context"
	"errors"
	"fmt"
	"pgtenant/engine/tenant"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what the functions of this package need: a *pgxpool.Pool, a
// *pgx.Conn or a pgx.Tx. Begin is used by CreateToken, which writes in one
// transaction (a savepoint when db is already a transaction).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Errors the administrator's operations return. Each is wrapped with the
// value at fault; test for them with errors.Is.
var (
	// ErrInvalidIdentifier: a tenant identifier that is not a lower-case
	// slug (^[a-z][a-z0-9_]{0,62}$).
	ErrInvalidIdentifier = errors.New("registry: invalid tenant identifier (want a lower-case letter, then up to 62 lower-case letters, digits or underscores)")
	// ErrTenantExists: a tenant with the same identifier is registered.
	ErrTenantExists = errors.New("registry: a tenant with this identifier exists")
	// ErrUnknownTenant: no tenant has this id or identifier.
	ErrUnknownTenant = errors.New("registry: unknown tenant")
	// ErrNoTenants: a token was asked for without any tenant to act for.
	ErrNoTenants = errors.New("registry: a token needs at least one tenant")
	// ErrUnknownToken: no token has this id or name.
	ErrUnknownToken = errors.New("registry: unknown token")
	// ErrAmbiguousToken: more than one live token has this name; name one
	// by its id.
	ErrAmbiguousToken = errors.New("registry: more than one live token has this name")
	// ErrAlreadyRevoked: RevokeToken found the token revoked already. Not a
	// failure (the token is revoked either way): it says that nothing changed.
	ErrAlreadyRevoked = errors.New("registry: token already revoked")
)

// MissingError reports a required value that was empty.
type MissingError struct {
	Field string // as the column is named: "name", "created_by", "role"
}

func (e *MissingError) Error() string { return fmt.Sprintf("registry: %s must not be empty", e.Field) }

// uuidRE is a UUID in its canonical hyphenated form, in any letter case.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ValidIdentifier reports whether s may name a tenant: the CHECK constraint
// tenants_identifier_check, checked here first so that the mistake is
// reported without a database round trip.
func ValidIdentifier(s string) bool { return tenant.ValidIdentifier(s) }

// isUUID reports whether ref is a UUID rather than an identifier, and
// returns it in the canonical lower-case form PostgreSQL prints.
func isUUID(ref string) (string, bool) {
	if !uuidRE.MatchString(ref) {
		return "", false
	}
	return strings.ToLower(ref), true
}

// isViolation reports whether err is PostgreSQL's unique_violation (23505)
// of the named constraint.
func isViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}
