// Package schema reads the pgtenant declaration (policies.hcl) into a plain
// data Model and checks it.
//
// Input is one or more HCL files; output is a *Model plus hcl.Diagnostics that
// carry a source range for every problem, all of them at once. The model is
// what the SQL generator (engine/ddl) reads and what migrations/schema.json
// stores. Naming and key rules that both validation and generation need live
// here (keys.go), so that what is checked is what is emitted.
//
// The SQL fragments of the declaration (types, defaults, checks, index predicates, policy clauses) are checked
// with PostgreSQL's own parser, libpg_query through pg_query_go (cgo): each must be exactly one expression or
// type of its kind and call nothing a fragment may not (fragment.go, forbidden.go). ParseScript and
// MaskFragments let the generator's callers re-parse what it writes (script.go). Declared views and functions
// (routine.go) are checked the same way: a view's query as one SELECT, a function body as SQL statements or,
// for plpgsql, with PostgreSQL's PL/pgSQL parser (body.go), so that none can leave the caller's tenant and role.
//
// Package schema is pure: it must not import engine/*, pgx or net/http. Besides the standard library it imports
// only hcl/v2, cty, levenshtein and pg_query_go with its protobuf tree (internal/layout checks it); the parser
// parses text and does no I/O.
package schema
