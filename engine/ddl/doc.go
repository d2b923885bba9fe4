// Package ddl turns a *schema.Model into the ordered SQL that makes
// PostgreSQL enforce it: roles, the tenant registry, tables whose keys lead
// with the tenant column, forced row-level security, policies and grants.
//
// Input is a previous and a next model; output is a list of Changes, each
// with its statement, its exact reverse and a comment for the reviewing DBA.
// Render lays them out as the up and down migration files. The package is
// pure and deterministic: the same models always give the same bytes.
//
// This is one of the two places SQL text is produced (the query builder is
// the other). It must not import pgx, net/http or log/slog.
package ddl
