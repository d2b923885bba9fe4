// Package pgtx runs statements in transactions bound to one tenant: the only
// door to tenant data. Every setting it makes (tenant, role, timeout,
// read-only) is transaction-local, so nothing outlives the request on a
// pooled connection (DESIGN.md §9 invariants 2 and 3).
//
// It imports pgx; it must not import net/http or engine/httpapi.
package pgtx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scope is what a transaction is bound to.
type Scope struct {
	Setting  string        // the session setting the policies read, e.g. app.current_tenant_id
	Tenant   string        // the tenant's UUID; "" binds no tenant (policies then show no rows)
	Role     string        // the database role to act as; "" keeps the login role
	ReadOnly bool          // refuse writes (GET and HEAD)
	Timeout  time.Duration // statement_timeout for this transaction; 0 keeps the server's
	// Isolation is the isolation level of a Tx (QueryRow's implicit transaction has the server's): "" keeps the
	// server's; pgx.RepeatableRead reads every statement from one snapshot, as a backup must.
	Isolation pgx.TxIsoLevel
	// Audit, when set, is a statement that must commit exactly when the transaction's statement does (the
	// audit record of a write). It goes in the batch pgtx sends anyway, so it costs no round trip: after the
	// statement in QueryRow, with the binding in Tx (a rolled-back Tx takes it back too).
	Audit *Statement
	// Citus binds the way a Citus cluster needs (scale_out = "citus"): the policies are checked on the workers,
	// and Citus forwards a setting to them only as SET LOCAL inside a transaction block, never set_config(). The
	// tenant is set with pgtenant.set_tenant($1) and the role with SET LOCAL ROLE, in an explicit BEGIN … COMMIT
	// that QueryRow and Query still send as one batch: one round trip (CITUS.md §4.7).
	Citus bool
}

// Statement is one SQL statement and its $n arguments.
type Statement struct {
	SQL  string
	Args []any
}

// CloseOnContext makes connections built from cfg close as soon as a
// statement's context ends (the client went away, or the request's deadline
// passed): the socket's deadline is set to now, the pending read fails, and
// pgx closes the connection, sending PostgreSQL a cancel request for that
// connection's own backend from its close path so that the server stops the
// statement too. The pool then opens a new connection for a later request:
// that is the cost of an abandoned statement.
//
// Why not keep the connection and only send a cancel request (pgx's
// CancelRequestContextWatcherHandler)? A cancel request names a backend, not a
// statement, and arrives when the postmaster gets to it: if the abandoned
// statement finishes first, the connection goes back to the pool and the late
// cancel ends the next statement on that backend, another tenant's request
// (pgx documents the handler as racy). A closed connection's backend serves
// nobody else, so a cancel can only ever end its own statement.
func CloseOnContext(cfg *pgconn.Config) {
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
}

// ErrNoScope is returned when a Scope names no tenant setting.
var ErrNoScope = errors.New("pgtx: scope without a tenant setting")

// Runner runs tenant-scoped statements on a pool.
type Runner struct {
	pool *pgxpool.Pool
}

// New returns a Runner over pool.
func New(pool *pgxpool.Pool) *Runner { return &Runner{pool: pool} }

// bindSQL sets the scope with set_config(…, true): the function form of
// SET LOCAL, which takes bind parameters (a role or tenant never becomes SQL
// text) and lasts only until the transaction ends, including the implicit
// transaction of a batch.
const bindSQL = `SELECT set_config($1, $2, true), set_config('role', $3, true), set_config('statement_timeout', $4, true)`

// bindReadOnlySQL also makes the transaction read-only. Turning
// transaction_read_only on is allowed at any point of a transaction.
const bindReadOnlySQL = bindSQL + `, set_config('transaction_read_only', 'on', true)`

// citusBindSQL binds the tenant on Citus: pgtenant.set_tenant (the Citus profile's migrations create it) runs
// SET LOCAL, which Citus forwards to the workers; the timeout only matters on the coordinator, which runs the
// statement. A NULL tenant sets the setting to the empty string, which the policies read as no tenant.
const citusBindSQL = `SELECT pgtenant.set_tenant($1::uuid), set_config('statement_timeout', $2, true)`

func (s Scope) queue(b *pgx.Batch) error {
	if s.Setting == "" {
		return ErrNoScope
	}
	if s.Citus {
		s.queueCitus(b)
		return nil
	}
	role := s.Role
	if role == "" {
		role = "none" // SET ROLE NONE: the login role itself
	}
	timeout := "0"
	if s.Timeout > 0 {
		timeout = strconv.FormatInt(s.Timeout.Milliseconds(), 10)
	}
	sql := bindSQL
	if s.ReadOnly {
		sql = bindReadOnlySQL
	}
	b.Queue(sql, s.Setting, s.Tenant, role, timeout)
	return nil
}

// queueCitus queues the Citus binding: the tenant, then the role as SET LOCAL ROLE (forwarded, so the workers
// check the policies as that role; it is a declared role, quoted, never request text), then read-only.
func (s Scope) queueCitus(b *pgx.Batch) {
	var tenant any
	if s.Tenant != "" {
		tenant = s.Tenant
	}
	timeout := "0"
	if s.Timeout > 0 {
		timeout = strconv.FormatInt(s.Timeout.Milliseconds(), 10)
	}
	b.Queue(citusBindSQL, tenant, timeout)
	role := "NONE"
	if s.Role != "" {
		role = pgx.Identifier{s.Role}.Sanitize()
	}
	b.Queue("SET LOCAL ROLE " + role)
	if s.ReadOnly {
		b.Queue("SET LOCAL transaction_read_only = on")
	}
}

// QueryRow binds s and runs sql in one implicit transaction, sent as one
// batch: a single round trip. It passes the statement's first row to scan;
// scan sees pgx.ErrNoRows when there is none. An error anywhere rolls the
// whole transaction back.
func (r *Runner) QueryRow(ctx context.Context, s Scope, scan func(pgx.Row) error, sql string, args ...any) error {
	return r.batch(ctx, s, sql, args, func(br pgx.BatchResults) error { return scan(br.QueryRow()) })
}

// Query binds s and runs sql in one implicit transaction, sent as one batch
// like QueryRow, and hands fn the statement's rows as they arrive, so that a
// large result can be passed on without being held whole. fn must not keep
// rows past its return; pgtx closes them. An error from fn, from the rows or
// anywhere in the batch rolls the whole transaction back.
func (r *Runner) Query(ctx context.Context, s Scope, fn func(pgx.Rows) error, sql string, args ...any) error {
	return r.batch(ctx, s, sql, args, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		err = fn(rows)
		rows.Close()
		if rerr := rows.Err(); err == nil {
			err = rerr
		}
		return err
	})
}

// batch sends the binding of s, sql and the audit statement of s as one batch, has read consume the statement's
// result, then reads the audit statement's.
func (r *Runner) batch(ctx context.Context, s Scope, sql string, args []any, read func(pgx.BatchResults) error) (err error) {
	defer func() { err = cancelled(ctx, err) }()
	if s.Citus {
		return r.citusBatch(ctx, s, sql, args, read)
	}
	b := &pgx.Batch{}
	if err := s.queue(b); err != nil {
		return err
	}
	b.Queue(sql, args...)
	if s.Audit != nil {
		b.Queue(s.Audit.SQL, s.Audit.Args...)
	}
	br := r.pool.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return fmt.Errorf("pgtx: bind: %w", err)
	}
	err = read(br)
	if err == nil && s.Audit != nil {
		if _, aerr := br.Exec(); aerr != nil {
			err = fmt.Errorf("pgtx: audit: %w", aerr)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// citusBatch is batch on Citus: BEGIN, the binding, sql, the audit statement and COMMIT, sent as one batch (SET
// LOCAL needs a transaction block; a pipelined BEGIN … COMMIT is still one round trip). When anything fails, the
// server skips the rest of the batch and leaves the transaction aborted, so it is rolled back before the
// connection goes back to the pool.
func (r *Runner) citusBatch(ctx context.Context, s Scope, sql string, args []any, read func(pgx.BatchResults) error) (err error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if err := s.queue(b); err != nil {
		return err
	}
	binding := b.Len()
	b.Queue(sql, args...)
	if s.Audit != nil {
		b.Queue(s.Audit.SQL, s.Audit.Args...)
	}
	b.Queue("COMMIT")
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	br := conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if conn.Conn().PgConn().TxStatus() != 'I' && !conn.Conn().IsClosed() {
			rctx, cancel := rollbackContext(ctx)
			_, _ = conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
	}()
	for range binding {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("pgtx: bind: %w", err)
		}
	}
	if err := read(br); err != nil {
		return err
	}
	if s.Audit != nil {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("pgtx: audit: %w", err)
		}
	}
	_, err = br.Exec()
	return err
}

// rollbackTimeout bounds the ROLLBACK that ends a failed or abandoned transaction. It runs after the request's
// context may have ended, so it cannot use that context; unbounded, a coordinator or server that stopped answering
// would hold the pool connection (and the request) for good, and other tenants would queue behind it. When the
// bound passes, CloseOnContext closes the connection and the pool opens another.
const rollbackTimeout = 5 * time.Second

// rollbackContext is ctx without its cancellation, bounded by rollbackTimeout.
func rollbackContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
}

// cancelled marks err with ctx's own error when ctx ended: the error is then the client going away or the
// request's deadline (CloseOnContext closed the connection under the statement), not a fault of the statement
// nor a statement_timeout of the server's. A 57014 while ctx is still live is PostgreSQL's statement_timeout.
func cancelled(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// Tx runs fn in an explicit transaction bound to s, for requests that must
// decide after the statement whether to keep it (Prefer: tx=rollback,
// max-affected, a singular response with the wrong row count). The
// transaction commits when fn returns commit = true and no error, and rolls
// back otherwise. It costs more round trips than QueryRow.
func (r *Runner) Tx(ctx context.Context, s Scope, fn func(ctx context.Context, tx pgx.Tx) (commit bool, err error)) (err error) {
	defer func() { err = cancelled(ctx, err) }()
	tx, err := r.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: s.Isolation})
	if err != nil {
		return err
	}
	defer func() {
		rctx, cancel := rollbackContext(ctx)
		_ = tx.Rollback(rctx) // a no-op after Commit
		cancel()
	}()
	if err := Bind(ctx, tx, s); err != nil {
		return err
	}
	commit, err := fn(ctx, tx)
	if err != nil || !commit {
		return err
	}
	return tx.Commit(ctx)
}

// Bind binds s on tx, a transaction the caller already holds, with the one statement QueryRow, Query and Tx send
// (and the audit statement of s after it): for code that must bind more than once in one transaction, such as
// verify's isolation probe, which switches between two tenants in savepoints, or that holds a *pgx.Conn rather
// than a pool. Every setting lasts until tx ends (or until the savepoint it was bound in is rolled back); the
// Isolation of s is not used, since tx has begun. Returns ErrNoScope when s names no tenant setting.
func Bind(ctx context.Context, tx pgx.Tx, s Scope) error {
	b := &pgx.Batch{}
	if err := s.queue(b); err != nil {
		return err
	}
	if s.Audit != nil {
		b.Queue(s.Audit.SQL, s.Audit.Args...)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("pgtx: bind: %w", err)
	}
	return nil
}
