// Package schema reads the pgtenant declaration (policies.hcl) into a plain
// data Model and checks it.
//
// Input is one or more HCL files; output is a *Model plus hcl.Diagnostics that
// carry a source range for every problem, all of them at once. The model is
// what the SQL generator (engine/ddl) reads and what migrations/schema.json
// stores. Naming and key rules that both validation and generation need live
// here (keys.go), so that what is checked is what is emitted.
//
// Package schema is pure: it must not import engine/*, pgx or net/http.
package schema
