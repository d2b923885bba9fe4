// Package ddl turns a *schema.Model into the ordered SQL that makes
// PostgreSQL enforce it: roles, the tenant registry, tables whose keys lead
// with the tenant column, forced row-level security, policies and grants.
//
// It works as Atlas does, in two steps. Diff takes a previous and a next model
// and returns typed changes (Change), in the one order they must run: each
// holds the statements that do it and the statements that exactly undo it, as
// typed values (Stmt: CreateTable, AddColumn, DropColumn, CreatePolicy,
// DropPolicy, CreateIndex, CreateView, CreateFunction, Grant, Revoke, Comment, …), and a comment for the
// reviewing DBA. Render writes them as SQL for a Target (the single-node
// profile, or the Citus profile of a declaration with scale_out = "citus"): render.go and render_registry.go are the
// only places DDL text is written, for the migrations, for drift's
// reconciliation script (engine/drift) and for the checks of verify. Render
// also records where each declared SQL fragment landed (Fragment), which is
// how engine/fragment maps a PostgreSQL error back to the declaration.
//
// Objects and Upgrade are the generator's own versioning: migrations/schema.json
// records the generated objects as the migrations wrote them, and Upgrade plans
// the migration from those to what this version writes.
//
// The package is pure and deterministic: the same models always give the
// same bytes. It must not import pgx, net/http or log/slog.
package ddl
