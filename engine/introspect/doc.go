// Package introspect reads the live database back into the declaration's terms.
//
// Load turns pg_catalog into a *schema.Model of the tables in schema public that the connected role can reach,
// in the shape policies.hcl declares them: on a tenant table the tenant column is left out of the columns and of
// every key, exactly as the generator (engine/ddl) adds it. The API serves that model (identifiers in requests are
// looked up in it), and the drift check compares it with the declaration (SameType compares a declared type with
// the catalog's spelling of it).
//
// Check is the startup safety check: it lists every reason the connected role must not serve the API (superuser,
// BYPASSRLS, owner of a reachable table, a table without enabled and forced row-level security), each with the SQL
// that fixes it.
//
// Catalog SQL lives in the xxxQuery constants. The number of queries is fixed: one per kind of object (tables,
// columns, indexes, constraints), never one per table.
//
// introspect imports pgx, schema and engine/ddl (for quoting); it must not import net/http or engine/httpapi.
package introspect
