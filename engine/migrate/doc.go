// Package migrate writes and reads the migrations directory and applies it with golang-migrate.
//
// The directory holds golang-migrate pairs, 000001_init.up.sql and 000001_init.down.sql, of plain SQL without
// BEGIN or COMMIT. Up, Down and ReadStatus run them through golang-migrate's library (its pgx/v5 driver and an
// io/fs source over the directory); the database records its version in golang-migrate's schema_migrations table
// (one row: version, dirty). We do not hand-write a runner.
//
// # Each file runs atomically
//
// The pgx/v5 driver sends a whole file as one simple-protocol Query message, and PostgreSQL runs the statements of
// such a message as one implicit transaction
// (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-MULTI-STATEMENT). So when any statement
// of a file fails, none of the file's statements take effect. golang-migrate, though, records the step's target
// version as dirty in its own transaction before it runs the file, and marks it clean after. So after a failed
// step schema_migrations says "version N, dirty" while the database is still exactly where it was before the step
// (for a failed up to N, at the version before N; for a failed down to N, at the version it came down from), and
// Up and Down refuse to run until Force records the real version. The recovery is: fix the file, Force the version
// the database is at, and run again.
//
// This holds only for files without transaction control: a BEGIN/COMMIT inside a file splits it into several
// transactions, and statements that cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM) fail
// unless they are alone in their file.
//
// Scratch databases (engine/scratch) and checking the declaration's SQL fragments (engine/fragment) are not
// migrate's: it knows the directory and the runner only.
//
// migrate imports pgx and golang-migrate; it must not import net/http, engine/httpapi, engine/scratch or
// engine/fragment.
package migrate
