// Package scratch makes throwaway databases and runs generated SQL on them statement by statement: With creates
// an empty database through a server URL (Atlas's "dev database") and drops it afterwards, ExecEach sends each
// statement of a script alone in the extended protocol, so that the server's own parser confirms every split.
//
// validate (engine/fragment), plan (engine/drift) and verify's drills use it. scratch imports pgx, schema (to
// split scripts) and engine/ddl (to quote a name); it must not import net/http, engine/httpapi or engine/migrate.
package scratch
