package drift_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/drift"
	"pgtenant/engine/migrate"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

const (
	policiesFile  = "../../policies.hcl"
	migrationsDir = "../../migrations"
)

func model(t *testing.T) *schema.Model {
	t.Helper()
	m, _, diags := schema.Load(policiesFile)
	require.False(t, diags.HasErrors(), "%v", diags)
	return m
}

// scratchServer returns a URL to the test cluster for a fresh login role that may create databases and roles but
// is not a superuser: the least a dev database server needs.
func scratchServer(t *testing.T) string { return pgtest.NewEmpty(t).DevServerURL(t) }

func read(t *testing.T, db drift.DB) *drift.Catalog {
	t.Helper()
	cat, err := drift.Read(t.Context(), db)
	require.NoError(t, err)
	return cat
}

// TestPlan_NoDrift: a database migrated from migrations/ (as pgtest.New makes it, by its owner) has no difference
// from the declaration applied to a scratch database by another role.
func TestPlan_NoDrift(t *testing.T) {
	db := pgtest.New(t)
	diffs, err := drift.Plan(t.Context(), db.Owner, scratchServer(t), model(t))
	require.NoError(t, err)
	assert.Empty(t, drift.Script(diffs))
}

// TestDeclared_LeavesNothing: the scratch database is dropped and the catalog holds what the declaration makes.
func TestDeclared_LeavesNothing(t *testing.T) {
	serverURL := scratchServer(t)
	want, err := drift.Declared(t.Context(), serverURL, model(t))
	require.NoError(t, err)
	require.Contains(t, want.Tables, "public.content_tag")
	tag := want.Tables["public.content_tag"]
	assert.True(t, tag.RowSecurity && tag.ForceRowSecurity)
	assert.Contains(t, tag.Policies, "tenant_isolation")
	assert.Contains(t, want.Functions, "pgtenant.lookup_token(bytea)")
	assert.Equal(t, []string{drift.Owner}, want.Tables["pgtenant.audit_log"].Policies["audit_owner_read"].Roles)

	conn, err := pgx.Connect(t.Context(), serverURL)
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	var n int
	require.NoError(t, conn.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_database WHERE datname LIKE 'pgtenant\_plan\_%'
		   AND datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)`).Scan(&n))
	assert.Zero(t, n, "the scratch database is dropped")
}

// TestPlan_Drift makes each kind of drift by hand, as the owner, on a freshly migrated database; Compare must
// report it, and the SQL it prints, applied as one script, must leave no difference.
func TestPlan_Drift(t *testing.T) {
	want, err := drift.Declared(t.Context(), scratchServer(t), model(t))
	require.NoError(t, err)
	tests := []struct {
		name  string
		drift string
		what  []string // each in the What of some difference
		sql   []string // each in the script
	}{{
		name:  "table by hand without RLS",
		drift: `CREATE TABLE public.notes (id int PRIMARY KEY, body text); CREATE INDEX notes_body ON public.notes (body)`,
		what:  []string{"is not declared in policies.hcl", "it has no row-level security"},
		sql:   []string{"declare it in policies.hcl", "DROP TABLE public.notes;"},
	}, {
		name:  "table by hand with RLS not forced",
		drift: `CREATE TABLE pgtenant.notes (id int); ALTER TABLE pgtenant.notes ENABLE ROW LEVEL SECURITY`,
		what:  []string{"row-level security is enabled but not forced"},
		sql:   []string{"DROP TABLE pgtenant.notes;"},
	}, {
		name:  "RLS disabled",
		drift: `ALTER TABLE content_tag DISABLE ROW LEVEL SECURITY`,
		what:  []string{"row-level security is disabled"},
		sql:   []string{"ALTER TABLE public.content_tag ENABLE ROW LEVEL SECURITY;"},
	}, {
		name:  "RLS not forced",
		drift: `ALTER TABLE content_tag NO FORCE ROW LEVEL SECURITY`,
		what:  []string{"row-level security is not forced"},
		sql:   []string{"ALTER TABLE public.content_tag FORCE ROW LEVEL SECURITY;"},
	}, {
		name:  "missing policy",
		drift: `DROP POLICY tenant_isolation ON content_tag`,
		what:  []string{"is missing"},
		sql: []string{"CREATE POLICY tenant_isolation ON public.content_tag AS RESTRICTIVE FOR ALL TO PUBLIC\n" +
			"    USING ((tenant_id = ( SELECT (NULLIF(current_setting('app.current_tenant_id'::text, true), ''::text))::uuid AS \"nullif\")))"},
	}, {
		name: "altered policy",
		drift: `DROP POLICY reader_access ON content_tag;
			CREATE POLICY reader_access ON content_tag AS PERMISSIVE FOR SELECT TO reader USING (true)`,
		what: []string{"has USING true, want (tenant_id = "},
		sql:  []string{"DROP POLICY reader_access ON public.content_tag;\nCREATE POLICY reader_access ON public.content_tag AS PERMISSIVE FOR SELECT TO reader"},
	}, {
		name:  "policy by hand",
		drift: `CREATE POLICY everyone ON content_tag AS PERMISSIVE FOR SELECT USING (true)`,
		what:  []string{"is not declared in policies.hcl: PERMISSIVE FOR SELECT TO public USING true"},
		sql:   []string{"DROP POLICY everyone ON public.content_tag;"},
	}, {
		name:  "missing owner policy",
		drift: `DROP POLICY audit_owner_read ON pgtenant.audit_log`,
		what:  []string{"is missing"},
		sql:   []string{"CREATE POLICY audit_owner_read ON pgtenant.audit_log AS PERMISSIVE FOR SELECT TO pgtest_owner"},
	}, {
		name:  "missing index",
		drift: `DROP INDEX content_tag_namespace_slug`,
		what:  []string{"is missing"},
		sql:   []string{"CREATE UNIQUE INDEX content_tag_namespace_slug ON public.content_tag USING btree (tenant_id, namespace_id, slug);"},
	}, {
		name:  "index by hand",
		drift: `CREATE INDEX content_tag_name ON content_tag (name)`,
		what:  []string{"is not declared in policies.hcl"},
		sql:   []string{"DROP INDEX public.content_tag_name;"},
	}, {
		name:  "column by hand",
		drift: `ALTER TABLE content_tag ADD COLUMN color text DEFAULT 'red'`,
		what:  []string{"is not declared in policies.hcl (added by hand?)"},
		sql:   []string{"ALTER TABLE public.content_tag DROP COLUMN color;"},
	}, {
		name:  "missing column",
		drift: `ALTER TABLE content_tag DROP COLUMN created_at`,
		what:  []string{"is missing", "role app lacks INSERT (created_at), UPDATE (created_at)"},
		sql: []string{"ALTER TABLE public.content_tag ADD COLUMN created_at timestamp with time zone NOT NULL DEFAULT now();",
			"GRANT INSERT (created_at) ON TABLE public.content_tag TO app;"},
	}, {
		name:  "changed default",
		drift: `ALTER TABLE content_tag ALTER COLUMN created_at SET DEFAULT '2020-01-01'`,
		what:  []string{"has default '2020-01-01 00:00:00+00'::timestamp with time zone, want now()"},
		sql:   []string{"ALTER TABLE public.content_tag ALTER COLUMN created_at SET DEFAULT now();"},
	}, {
		name:  "changed type, nullability and a dropped foreign key",
		drift: `ALTER TABLE content_tag DROP CONSTRAINT content_tag_namespace_id_fkey, ALTER COLUMN name TYPE varchar(50), ALTER COLUMN slug DROP NOT NULL`,
		what:  []string{"is missing", "has type character varying(50), want text", "is nullable, want NOT NULL"},
		sql: []string{"ADD CONSTRAINT content_tag_namespace_id_fkey FOREIGN KEY (tenant_id, namespace_id) REFERENCES public.content_namespace(tenant_id, id) ON DELETE CASCADE;",
			"ALTER TABLE public.content_tag ALTER COLUMN name TYPE text USING name::text;",
			"ALTER TABLE public.content_tag ALTER COLUMN slug SET NOT NULL;"},
	}, {
		name:  "constraint by hand",
		drift: `ALTER TABLE content_tag ADD CONSTRAINT content_tag_name_nonempty CHECK (name <> '')`,
		what:  []string{"is not declared in policies.hcl: CHECK"},
		sql:   []string{"ALTER TABLE public.content_tag DROP CONSTRAINT content_tag_name_nonempty;"},
	}, {
		name:  "dropped grant",
		drift: `REVOKE SELECT ON content_tag FROM reader`,
		what:  []string{"role reader lacks SELECT"},
		sql:   []string{"GRANT SELECT ON TABLE public.content_tag TO reader;"},
	}, {
		name:  "dropped column grants",
		drift: `REVOKE INSERT ON content_tag FROM app`,
		what:  []string{"role app lacks INSERT (id, namespace_id, slug, name, created_at)"},
		sql:   []string{"GRANT INSERT (id, namespace_id, slug, name, created_at) ON TABLE public.content_tag TO app;"},
	}, {
		name:  "table-wide grant by hand",
		drift: `GRANT INSERT, TRUNCATE ON content_tag TO app`,
		what:  []string{"role app has INSERT, TRUNCATE, not declared"},
		// Revoking INSERT on the table revokes it on every column too: the declared column grants come back.
		sql: []string{"REVOKE INSERT, TRUNCATE ON TABLE public.content_tag FROM app;\n" +
			"GRANT INSERT (id, namespace_id, slug, name, created_at) ON TABLE public.content_tag TO app;"},
	}, {
		name:  "dropped table",
		drift: `DROP TABLE webpages_webpage_tags`,
		what:  []string{"is missing", "is missing (its table is missing)"},
		sql: []string{"CREATE TABLE public.webpages_webpage_tags (\n    tenant_id uuid NOT NULL DEFAULT",
			"ALTER TABLE public.webpages_webpage_tags FORCE ROW LEVEL SECURITY;",
			"CREATE POLICY tenant_isolation ON public.webpages_webpage_tags AS RESTRICTIVE",
			"ADD CONSTRAINT webpages_webpage_tags_tag_id_fkey FOREIGN KEY"},
	}, {
		name: "comments, schema and function privileges",
		drift: `COMMENT ON TABLE content_language IS 'changed'; COMMENT ON COLUMN content_tag.tenant_id IS NULL;
			REVOKE EXECUTE ON FUNCTION pgtenant.tenant_directory() FROM reader; REVOKE USAGE ON SCHEMA pgtenant FROM reader`,
		what: []string{"has comment 'changed', want 'ISO 639", "has no comment, want 'Tenant owning the row.",
			"role reader lacks EXECUTE", "role reader lacks USAGE"},
		sql: []string{"COMMENT ON TABLE public.content_language IS 'ISO 639 languages a namespace can be written in.';",
			"GRANT EXECUTE ON FUNCTION pgtenant.tenant_directory() TO reader;", "GRANT USAGE ON SCHEMA pgtenant TO reader;"},
	}, {
		name:  "dropped function and its triggers",
		drift: `DROP FUNCTION pgtenant.notify_registry_change() CASCADE`,
		what:  []string{"is missing"},
		sql: []string{"CREATE OR REPLACE FUNCTION pgtenant.notify_registry_change()", "END\n$function$;\n",
			"REVOKE ALL ON FUNCTION pgtenant.notify_registry_change() FROM PUBLIC;",
			"CREATE TRIGGER tenants_notify AFTER DELETE OR UPDATE OF id, identifier, is_active, rate_limit_rps, rate_limit_burst OR TRUNCATE ON pgtenant.tenants"},
	}, {
		name:  "disabled trigger",
		drift: `ALTER TABLE pgtenant.tokens DISABLE TRIGGER tokens_notify`,
		what:  []string{"is disabled, want enabled"},
		sql:   []string{"ALTER TABLE pgtenant.tokens ENABLE TRIGGER tokens_notify;"},
	}, {
		// Issue 11: a trigger that moves the transaction to the tenant a new row names let one tenant read
		// another's rows. Made by hand, it is drift.
		name: "trigger by hand on a tenant table",
		drift: `CREATE FUNCTION public.steal() RETURNS trigger LANGUAGE plpgsql AS $f$
			BEGIN PERFORM set_config('app.current_tenant_id', NEW.name, true); RETURN NEW; END $f$;
			CREATE TRIGGER steal BEFORE INSERT ON public.content_tag FOR EACH ROW EXECUTE FUNCTION public.steal()`,
		what: []string{"is not declared: CREATE TRIGGER steal BEFORE INSERT ON public.content_tag"},
		sql:  []string{"DROP TRIGGER steal ON public.content_tag;"},
	}, {
		name:  "dropped view and the function returning its rows",
		drift: `DROP FUNCTION search_pages(text); DROP VIEW published_pages`,
		what:  []string{"is missing"},
		sql: []string{"CREATE VIEW public.published_pages WITH (security_invoker = true, security_barrier = true) AS\nSELECT p.id,",
			"GRANT SELECT ON TABLE public.published_pages TO app;", "COMMENT ON COLUMN public.published_pages.theme_name IS 'Null when the page has no theme.';",
			"CREATE OR REPLACE FUNCTION public.search_pages(q text)", "REVOKE ALL ON FUNCTION public.search_pages(text) FROM PUBLIC;",
			"GRANT EXECUTE ON FUNCTION public.search_pages(text) TO app;"},
	}, {
		// A view that runs as its owner applies the owner's row-level security, not the caller's role's.
		name:  "view without security_invoker",
		drift: `ALTER VIEW published_pages SET (security_invoker = false)`,
		what:  []string{"has options security_barrier=true, security_invoker=false, want security_barrier=true, security_invoker=true"},
		sql:   []string{"CREATE OR REPLACE VIEW public.published_pages WITH (security_invoker = true, security_barrier = true) AS"},
	}, {
		name:  "view with another query",
		drift: `CREATE OR REPLACE VIEW published_pages AS SELECT p.id, p.namespace_id, p.slug, p.title, p.published_at, 'x'::text AS theme_name FROM webpages_webpage p`,
		what:  []string{"has a different query"},
		sql:   []string{"CREATE OR REPLACE VIEW public.published_pages WITH (security_invoker = true, security_barrier = true) AS\nSELECT p.id,"},
	}, {
		name:  "view by hand",
		drift: `CREATE VIEW public.every_page AS SELECT * FROM webpages_webpage; GRANT SELECT ON every_page TO reader`,
		what:  []string{"is not declared"},
		sql:   []string{"DROP VIEW public.every_page;"},
	}, {
		name:  "function with another body, executable by PUBLIC",
		drift: `CREATE OR REPLACE FUNCTION publish_page(page_id uuid) RETURNS webpages_webpage LANGUAGE sql AS 'SELECT * FROM webpages_webpage'; GRANT EXECUTE ON FUNCTION publish_page(uuid) TO PUBLIC`,
		what:  []string{"has a different definition", "PUBLIC has EXECUTE, not declared"},
		sql:   []string{"CREATE OR REPLACE FUNCTION public.publish_page(page_id uuid)", "REVOKE EXECUTE ON FUNCTION public.publish_page(uuid) FROM PUBLIC;"},
	}, {
		// The altered policy reads the column added by hand: it must be replaced before the column is dropped.
		name: "policy on a column by hand",
		drift: `ALTER TABLE content_tag ADD COLUMN color text; DROP POLICY reader_access ON content_tag;
			CREATE POLICY reader_access ON content_tag AS PERMISSIVE FOR SELECT TO reader USING (color = 'red')`,
		what: []string{"has USING (color = 'red'::text)", "(added by hand?)"},
		sql:  []string{"ALTER TABLE public.content_tag DROP COLUMN color;"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			pgtest.ExecScript(t, db.Owner, tt.drift)
			diffs := drift.Compare(want, read(t, db.Owner))
			script := drift.Script(diffs)
			require.NotEmpty(t, diffs, "the drift is not reported")
			for _, w := range tt.what {
				assert.True(t, slices.ContainsFunc(diffs, func(d drift.Difference) bool { return strings.Contains(d.What, w) }),
					"no difference says %q:\n%s", w, script)
			}
			for _, s := range tt.sql {
				assert.Contains(t, script, s)
			}
			if t.Failed() {
				return
			}
			pgtest.ExecScript(t, db.Owner, script)
			assert.Empty(t, drift.Script(drift.Compare(want, read(t, db.Owner))), "after applying:\n%s", script)
		})
	}
}

// TestPlan_EmptyDatabase: against an empty database the plan creates everything, and its SQL runs as one script
// (the schema, tables, functions, then keys, policies and triggers) to a database that matches the declaration.
// The plan creates no roles: pgtest.New makes sure the declared roles exist in the test cluster.
func TestPlan_EmptyDatabase(t *testing.T) {
	pgtest.New(t)
	want, err := drift.Declared(t.Context(), scratchServer(t), model(t))
	require.NoError(t, err)
	db := pgtest.NewEmpty(t)
	diffs := drift.Compare(want, read(t, db.Owner))
	script := drift.Script(diffs)
	assert.Contains(t, script, "-- schema pgtenant: is missing (were the migrations ever applied? `pgtenant migrate up` makes everything, roles too)\nCREATE SCHEMA pgtenant;")
	assert.Contains(t, script, "-- table public.webpages_webpage: is missing\nCREATE TABLE public.webpages_webpage (")
	pgtest.ExecScript(t, db.Owner, script)
	assert.Empty(t, drift.Script(drift.Compare(want, read(t, db.Owner))), "after applying:\n%s", script)
}

// TestPlan_Order: differences come in an order in which their SQL runs; drops of what depends on other objects
// come before the drops of what they depend on.
func TestPlan_Order(t *testing.T) {
	want, err := drift.Declared(t.Context(), scratchServer(t), model(t))
	require.NoError(t, err)
	db := pgtest.New(t)
	pgtest.ExecScript(t, db.Owner, `DROP TABLE webpages_webpage_tags, content_tag;
		ALTER TABLE content_namespace ADD COLUMN note text;
		CREATE POLICY by_note ON content_namespace USING (note IS NULL);
		CREATE INDEX content_namespace_note ON content_namespace (note)`)
	diffs := drift.Compare(want, read(t, db.Owner))
	index := func(object string) int {
		i := slices.IndexFunc(diffs, func(d drift.Difference) bool { return d.Object == object })
		require.GreaterOrEqual(t, i, 0, "no difference about %s:\n%s", object, drift.Script(diffs))
		return i
	}
	assert.Less(t, index("policy by_note on public.content_namespace"), index("column public.content_namespace.note"))
	assert.Less(t, index("index public.content_namespace_note on public.content_namespace"), index("column public.content_namespace.note"))
	assert.Less(t, index("table public.content_tag"), index("constraint webpages_webpage_tags_tag_id_fkey on public.webpages_webpage_tags"))
	assert.Equal(t, diffs, drift.Compare(want, read(t, db.Owner)), "deterministic")
	pgtest.ExecScript(t, db.Owner, drift.Script(diffs))
	assert.Empty(t, drift.Script(drift.Compare(want, read(t, db.Owner))))
}

// TestMigrations_MatchDeclaration is the CI check of issue 6: every migration in migrations/, applied in order
// to an empty database, gives the catalog a fresh first migration of policies.hcl gives; and the down migrations,
// in reverse, leave the database empty again.
func TestMigrations_MatchDeclaration(t *testing.T) {
	db := pgtest.NewEmpty(t)
	from, to, err := migrate.Up(t.Context(), db.OwnerURL, migrationsDir)
	require.NoError(t, err)
	require.Zero(t, from)
	require.NotZero(t, to)

	want, err := drift.Declared(t.Context(), scratchServer(t), model(t))
	require.NoError(t, err)
	assert.Empty(t, drift.Script(drift.Compare(want, read(t, db.Owner))),
		"%s and %s disagree: run `pgtenant generate`", migrationsDir, policiesFile)

	st, err := migrate.ReadStatus(t.Context(), db.OwnerURL, migrationsDir)
	require.NoError(t, err)
	_, to, err = migrate.Down(t.Context(), db.OwnerURL, migrationsDir, len(st.Available))
	require.NoError(t, err)
	require.Zero(t, to)
	assert.Empty(t, relations(t, db.Owner), "relations left in public after the down migrations")
	var schemas int
	require.NoError(t, db.Owner.QueryRow(t.Context(),
		`SELECT count(*) FROM pg_namespace WHERE nspname = 'pgtenant'`).Scan(&schemas))
	assert.Zero(t, schemas, "schema pgtenant is left after the down migrations")
	empty := read(t, db.Owner)
	assert.Empty(t, empty.Tables)
	assert.Empty(t, empty.Functions)
	assert.Empty(t, empty.Schemas)
}

// relations lists the relations of schema public but golang-migrate's own.
func relations(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT relname::text FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relname NOT LIKE 'schema\_migrations%' ORDER BY 1`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func TestDifference_String(t *testing.T) {
	d := drift.Difference{Object: "table public.x", What: "row-level security is disabled",
		SQL: "ALTER TABLE public.x ENABLE ROW LEVEL SECURITY;"}
	assert.Equal(t, "-- table public.x: row-level security is disabled\nALTER TABLE public.x ENABLE ROW LEVEL SECURITY;",
		d.String())
	assert.Equal(t, d.String()+"\n\n"+d.String()+"\n", drift.Script([]drift.Difference{d, d}))
	assert.Empty(t, drift.Script(nil))
}
