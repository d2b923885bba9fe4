// Package drift finds where a live database differs from the declaration, and the SQL that reconciles it: what
// `pgtenant plan` prints and CI's check that migrations/ agrees with policies.hcl.
//
// It compares catalogs, the way Atlas compares a database with a "dev database": Declared applies the first
// migration of the declaration (ddl.Diff(nil, m)) to a scratch database in one transaction, Read reads both
// catalogs, and Compare lists the Differences. Comparing what PostgreSQL made of the SQL, rather than the SQL or
// the model, makes every spelling the same: a policy, a default or an index reads back as PostgreSQL prints it on
// either side.
//
// Each Difference carries the typed ddl statements that reconcile it (Stmts), the same statements the
// migrations are made of, and their SQL as ddl.Render writes it: drift writes no DDL text of its own. Where the
// catalog already holds PostgreSQL's own text of an object (an index, a trigger or a function definition, a
// constraint's definition), the statement carries that text (ddl.Printed, ddl.Constraint.Def).
//
// A Catalog holds the objects of the schemas public and pgtenant that the migrations create: tables with their
// row-level security flags, columns (keyed by name: their order does not count), constraints, indexes, policies,
// triggers, privileges and comments, the pgtenant schema, and functions. golang-migrate's schema_migrations table
// and objects that belong to an extension are left out. Roles are cluster-wide and not read; they appear only by
// name, in policies and privileges. The owner of a table is a different role in each database, so its name is
// replaced by Owner in policies, and the owner's own privileges are not read.
//
// drift imports pgx, schema, engine/ddl (the first migration, quoting), engine/introspect (the catalog read) and
// engine/scratch (the scratch database); it must not import net/http or engine/httpapi.
package drift
