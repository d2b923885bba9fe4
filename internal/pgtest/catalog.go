package pgtest

import (
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// catalogQueries describe what a migration can create in a database, one
// line per object, so that two snapshots can be compared: schemas,
// relations with their RLS flags, columns, constraints, indexes, policies,
// triggers, privileges and comments. Roles are left out (they are cluster-wide), and
// so is golang-migrate's own schema_migrations table.
var catalogQueries = []string{
	`SELECT 'schema ' || nspname FROM pg_namespace
	  WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'`,
	`SELECT format('relation %s.%s kind=%s rls=%s force=%s acl=%s', n.nspname, c.relname, c.relkind,
	               c.relrowsecurity, c.relforcerowsecurity, c.relacl)
	   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' AND c.relname NOT LIKE 'schema\_migrations%'`,
	`SELECT format('column %s.%s %s notnull=%s default=%s acl=%s', c.relname, a.attname,
	               format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attacl)
	   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
	  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname NOT LIKE 'schema\_migrations%'
	    AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'`,
	`SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
	   FROM pg_constraint WHERE connamespace::regnamespace::text NOT LIKE 'pg\_%'
	    AND connamespace::regnamespace::text <> 'information_schema' AND conrelid::regclass::text <> 'schema_migrations'`,
	`SELECT 'index ' || indexdef FROM pg_indexes
	  WHERE schemaname NOT LIKE 'pg\_%' AND schemaname <> 'information_schema' AND tablename <> 'schema_migrations'`,
	`SELECT format('policy %s.%s %s %s %s roles=%s using=%s check=%s', schemaname, tablename, policyname,
	               permissive, cmd, roles, qual, with_check) FROM pg_policies`,
	`SELECT format('comment %s %s %s', classoid::regclass, objoid, description) FROM pg_description
	  WHERE objoid >= 16384`,
	`SELECT format('trigger %s %s', tgrelid::regclass, pg_get_triggerdef(oid)) FROM pg_trigger WHERE NOT tgisinternal`,
	`SELECT format('function %s', p.oid::regprocedure) FROM pg_proc p
	  WHERE p.pronamespace::regnamespace::text NOT LIKE 'pg\_%'
	    AND p.pronamespace::regnamespace::text <> 'information_schema'`,
}

// Catalog returns a sorted, line-per-object description of the database's
// own objects, for comparing a database before and after migrations.
func Catalog(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	var lines []string
	for _, q := range catalogQueries {
		rows, err := pool.Query(t.Context(), q)
		if err != nil {
			t.Fatalf("pgtest: catalog: %v", err)
		}
		for rows.Next() {
			var s *string
			if err := rows.Scan(&s); err != nil {
				t.Fatalf("pgtest: catalog: %v", err)
			}
			if s != nil {
				lines = append(lines, *s)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("pgtest: catalog: %v", err)
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// ExecScript runs a multi-statement SQL script in one implicit transaction,
// as `psql --single-transaction` would.
func ExecScript(t testing.TB, pool *pgxpool.Pool, script string) {
	t.Helper()
	// With no arguments pgx sends the simple protocol, where a multi-statement
	// string runs as one implicit transaction.
	if _, err := pool.Exec(t.Context(), script); err != nil {
		t.Fatalf("pgtest: exec script: %v", err)
	}
}
