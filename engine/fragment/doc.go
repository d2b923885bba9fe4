// Package fragment checks the SQL fragments of a declaration (column types and defaults, check expressions,
// index predicates, policy clauses) against a real PostgreSQL, and reports each one the server rejects as an
// hcl.Diagnostic at the fragment's source range: what `pgtenant validate` shows.
//
// Check applies the first migration of the declaration to a scratch database (engine/scratch), change by change.
// Where each fragment lands in a change's SQL is what ddl.Render records (ddl.Fragment), so an error position is
// mapped back to the declaration by offsets, never by searching the SQL text.
//
// fragment imports pgx, schema, engine/ddl and engine/scratch; it must not import net/http or engine/httpapi.
package fragment
