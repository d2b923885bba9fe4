// Package backup exports one tenant's rows to a file and loads such a file into one tenant, each under that
// tenant's row-level security context.
//
// Write reads every tenant table of the served schema (what introspect.Load finds) inside one pgtx transaction
// bound to the tenant, as a declared role, REPEATABLE READ and READ ONLY: every table comes from one snapshot, and
// PostgreSQL's policies, not only the query's own tenant filter, keep other tenants' rows out of the file. Each
// table is streamed with COPY (SELECT … WHERE <tenant predicate> ORDER BY <primary key>) TO STDOUT, which runs
// under the policies like any SELECT, so memory stays constant whatever the size of the tenant. Restore loads a file in one transaction bound to the target tenant: all or nothing.
//
// # File format, version 2
//
// A backup is UTF-8 text made of lines, each ending in "\n":
//
//	{"format":"pgtenant-backup","format_version":2,...}   the header: the Manifest without row counts and checksums
//	{"table":"content_namespace"}                         for each table of the header, in its order:
//	<rows>                                                  its rows in PostgreSQL's COPY text format, one per line
//	\.                                                      the end of the table's rows
//	...
//	{"format":"pgtenant-backup","format_version":2,...}   the trailer: the whole Manifest, with per-table rows and sha256
//	{"sha256":"<hex>","hmac_sha256":"<hex>"}              the SHA-256 and HMAC-SHA256 of every byte before this line
//
// A backup written with a Key (BACKUP_KEY) is authenticated: its manifest says "mac":"hmac-sha256" and names the
// key ("key_id", Key.ID), and its last line carries the HMAC. Without a key there is no "mac", "key_id" nor
// "hmac_sha256": the SHA-256s detect damage, not a forgery, since anyone can recompute them. Version 1 was version
// 2 without the HMAC; it is read as an unauthenticated file.
//
// # Origin
//
// Restore and Verify take a Trust. A file whose HMAC verifies with Trust.Key is Manifest.Authenticated. A file
// whose HMAC does not verify, or that names another key, is refused (ErrForged), whatever else Trust says. A file
// without an HMAC, or any file when no Key is given, cannot be authenticated: it is refused (ErrUnauthenticated)
// unless Trust.AllowUnauthenticated, and its manifest's claims (the source tenant, the time) are then only what the
// file says. What the header settles is refused before any row is read; the HMAC itself is verified at the end of
// the file, before the restore's transaction may commit.
//
// Encryption at rest is age's, around the whole file (see Decrypt): the HMAC is inside, verified after decryption.
//
// The Manifest holds the format and its version, when the backup was made, the schema version (golang-migrate's
// schema_migrations) and SchemaHash of the served schema, the source tenant's id and identifier, and per table its
// columns, its row count and the SHA-256 of its rows as written (the bytes between its two marker lines). The tenant
// column is never written: a restore fills it from the target transaction's tenant. Rows come in primary key
// order (text keys in the "C" collation), with the session's TimeZone UTC, DateStyle ISO, IntervalStyle postgres,
// extra_float_digits 1 and bytea_output hex, so two backups of equal data are equal byte for byte, whichever
// database they come from. In COPY's text format a row can never be the line "\.": a backslash in a value is
// written as "\\" and a newline as "\n".
//
// Tables come in foreign key order (a table after the tables it references), the order Restore inserts them in;
// a schema whose tenant tables reference each other in a cycle is refused (ErrCycle).
//
// # What Restore checks
//
// Before writing anything: the format and its version, the schema version and hash (equal to the target's, else a
// *SchemaError), the header's tables and columns against the target's, and that the target tenant has no rows
// (else ErrTenantHasRows, unless Target.Replace, which deletes them first in the same transaction). While
// loading: each table's row count and SHA-256 against the trailer, the trailer against the header, and the whole
// file's SHA-256 and HMAC. After loading, in the same transaction, every table is read back as Write would write it and
// must give the same count and checksum. Any failure rolls everything back; a damaged file (ErrCorrupt, including
// ErrTruncated) is reported as such even when PostgreSQL rejected its rows first. Verify runs the file checks
// alone, without a database.
//
// backup imports pgx, age, schema, engine/ddl, engine/introspect and engine/pgtx; it must not import net/http or
// engine/httpapi.
package backup
