// Package introspect is the one reader of the live database's catalog: every package that looks at what a
// database holds (drift, verify, rls, serve, the test helper pgtest) reads it here.
//
// Read reads, in one batch (one round trip), everything they use into a Catalog: the user's schemas, their
// tables with columns, defaults, constraints (foreign keys with their constrained and referenced columns),
// indexes, row-level security flags, policies, triggers, rules, the functions these call, privileges and
// comments; the other relations; the functions; and the connected role with the roles it is a member of. It reads
// from one snapshot, with search_path set to pg_catalog alone, so that every definition it returns is
// schema-qualified SQL.
//
// Load turns the Catalog into a *schema.Model of the tables in schema public that the connected role can reach,
// in the shape policies.hcl declares them: on a tenant table the tenant column is left out of the columns and of
// every key, exactly as the generator (engine/ddl) adds it. The API serves that model (identifiers in requests are
// looked up in it), and verify compares it with the declaration (SameType compares a declared type with the
// catalog's spelling of it).
//
// Check is the startup safety check: it lists every reason the connected role must not serve the API (superuser,
// BYPASSRLS, owner of a reachable table, a table without enabled and forced row-level security), each with the SQL
// that fixes it.
//
// Catalog SQL lives in the xxxQuery constants of read.go, one per kind of object, never one per table; no other
// package queries pg_catalog or information_schema (internal/layout checks it).
//
// CheckShards checks a Citus cluster's shards: it lists them on the coordinator (citus.go's citusShardsQuery,
// over Citus's pg_dist_* tables), then Reads every worker with the shards made visible, and compares each shard's
// row-level security with the coordinator's table and the generated policies.
//
// introspect imports pgx, schema and engine/ddl (for quoting); it must not import net/http or engine/httpapi.
package introspect
