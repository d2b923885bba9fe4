package verify_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/verify"
	"pgtenant/internal/pgtest"
)

// superuser runs SQL as the cluster's superuser, for the breakages the owner cannot make.
func superuser(t *testing.T, db *pgtest.DB, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), sql)
	require.NoError(t, err)
}

// owner runs SQL as the tables' owner.
func owner(t *testing.T, db *pgtest.DB, sql string) {
	t.Helper()
	_, err := db.Owner.Exec(t.Context(), sql)
	require.NoError(t, err)
}

func userOf(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.User.Username()
}

// TestRun_Broken breaks a clean deployment in one way per case and expects exactly the checks that detect that
// breakage to fail, each naming what is wrong and the fix.
func TestRun_Broken(t *testing.T) {
	tests := []struct {
		name  string
		brk   func(t *testing.T, db *pgtest.DB, cfg *verify.Config)
		fails map[string][]string // check → substrings of its detail and fix
	}{{
		name: "webpages_webpage not forced",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY")
		},
		fails: map[string][]string{verify.CheckRLSDeclared: {"table public.webpages_webpage", "not forced",
			"ALTER TABLE public.webpages_webpage FORCE ROW LEVEL SECURITY"}},
	}, {
		name: "row-level security off on the probed table",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "ALTER TABLE content_namespace NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY")
		},
		fails: map[string][]string{
			verify.CheckRLSDeclared: {"public.content_namespace", "neither enabled nor forced",
				"ALTER TABLE public.content_namespace ENABLE ROW LEVEL SECURITY; ALTER TABLE public.content_namespace FORCE ROW LEVEL SECURITY;"},
			verify.CheckProbe: {"which has one row in public.content_namespace, sees 2", "touched 1 row(s)"},
		},
	}, {
		name: "superuser DATABASE_URL",
		brk: func(t *testing.T, db *pgtest.DB, cfg *verify.Config) {
			cfg.AppURL = db.AdminURL
		},
		fails: map[string][]string{
			verify.CheckAppRole:      {"is a superuser", "CREATE ROLE pgtenant_api LOGIN NOSUPERUSER"},
			verify.CheckRLSReachable: {"public.schema_migrations", "is not declared but reachable"},
		},
	}, {
		name: "login with BYPASSRLS",
		brk: func(t *testing.T, db *pgtest.DB, cfg *verify.Config) {
			superuser(t, db, "ALTER ROLE "+userOf(t, cfg.AppURL)+" BYPASSRLS")
		},
		fails: map[string][]string{verify.CheckAppRole: {"has BYPASSRLS", "NOBYPASSRLS"}},
	}, {
		name: "login can take a BYPASSRLS role",
		brk: func(t *testing.T, db *pgtest.DB, cfg *verify.Config) {
			superuser(t, db, "CREATE ROLE pgverify_bypass NOLOGIN BYPASSRLS; GRANT pgverify_bypass TO "+userOf(t, cfg.AppURL))
			t.Cleanup(func() { superuserCleanup(t, db, "DROP ROLE pgverify_bypass") })
		},
		fails: map[string][]string{verify.CheckAppRole: {"can SET ROLE to pgverify_bypass, which is BYPASSRLS",
			"REVOKE pgverify_bypass FROM"}},
	}, {
		name: "login is a member of the owner",
		brk: func(t *testing.T, db *pgtest.DB, cfg *verify.Config) {
			superuser(t, db, "GRANT pgtest_owner TO "+userOf(t, cfg.AppURL))
		},
		fails: map[string][]string{
			verify.CheckAppRole: {"is a member of role pgtest_owner, which owns", "public.webpages_webpage",
				"REVOKE pgtest_owner FROM"},
			// Through the owner it reaches golang-migrate's table too.
			verify.CheckRLSReachable: {"table public.schema_migrations is not declared but reachable"},
		},
	}, {
		name: "permissive true policy",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "CREATE POLICY open_all ON webpages_webpage AS PERMISSIVE FOR SELECT TO PUBLIC USING (true)")
		},
		fails: map[string][]string{
			verify.CheckPermissiveTrue: {"policy open_all on public.webpages_webpage is PERMISSIVE with USING (true)",
				"DROP POLICY open_all ON public.webpages_webpage;"},
			verify.CheckPolicies: {"policy open_all on public.webpages_webpage is not in policies.hcl"},
		},
	}, {
		// Issue 11: a trigger that moves the transaction to the tenant a new row names let one tenant read
		// another's rows, and every check passed. This one keeps the probe's tenant, so only CheckAttached sees it.
		name: "trigger that sets the tenant",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, `CREATE FUNCTION public.steal() RETURNS trigger LANGUAGE plpgsql AS $f$
				BEGIN PERFORM set_config('app.current_tenant_id', NEW.tenant_id::text, true); RETURN NEW; END $f$;
				CREATE TRIGGER steal BEFORE INSERT ON webpages_webpage FOR EACH ROW EXECUTE FUNCTION public.steal()`)
		},
		fails: map[string][]string{verify.CheckAttached: {
			"trigger steal on public.webpages_webpage (EXECUTE FUNCTION public.steal()) is not one the migrations create",
			"DROP TRIGGER steal ON public.webpages_webpage;"}},
	}, {
		name: "rule on a tenant table",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, `CREATE RULE tell AS ON INSERT TO content_tag DO ALSO NOTIFY pgtenant`)
		},
		fails: map[string][]string{verify.CheckAttached: {"rule tell on public.content_tag is not one the migrations create",
			"DROP RULE tell ON public.content_tag;"}},
	}, {
		name: "default calling a function pgtenant did not create",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, `CREATE FUNCTION public.stamp() RETURNS timestamptz LANGUAGE sql AS $$ SELECT now() $$;
				ALTER TABLE content_tag ALTER COLUMN created_at SET DEFAULT public.stamp()`)
		},
		fails: map[string][]string{verify.CheckAttached: {
			"the default of column created_at of public.content_tag calls public.stamp(), which the migrations do not create",
			"take the call out of the default of column created_at"}},
	}, {
		// A declaration that did not come through schema.Load: verify runs none of its SQL.
		name: "declaration with smuggled SQL",
		brk: func(t *testing.T, _ *pgtest.DB, cfg *verify.Config) {
			p := *cfg.Declared.Policies[0]
			p.Using = "is_published AND $x$'$x$ <> '' ); ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY; SELECT ( $y$'$y$ = ''"
			cfg.Declared.Policies[0] = &p
		},
		fails: map[string][]string{
			verify.CheckPolicies:       {"does not pass pgtenant validate", "closes a bracket the fragment did not open"},
			verify.CheckPermissiveTrue: {"does not pass pgtenant validate"},
			verify.CheckAttached:       {"does not pass pgtenant validate"},
			verify.CheckSchema:         {"policies.hcl differs from schema.json"},
		},
	}, {
		name: "registry trigger dropped",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, `DROP TRIGGER tokens_notify ON pgtenant.tokens`)
		},
		fails: map[string][]string{verify.CheckAttached: {"trigger tokens_notify on pgtenant.tokens is missing", "pgtenant plan"}},
	}, {
		name: "tenant_isolation dropped",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "DROP POLICY tenant_isolation ON webpages_webpage")
		},
		fails: map[string][]string{verify.CheckPolicies: {"policy tenant_isolation on public.webpages_webpage is missing",
			"CREATE POLICY tenant_isolation ON public.webpages_webpage AS RESTRICTIVE FOR ALL TO PUBLIC USING (tenant_id = (SELECT NULLIF(current_setting('app.current_tenant_id', true), '')::uuid))"}},
	}, {
		name: "tenant_isolation predicate changed",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "ALTER POLICY tenant_isolation ON content_tag USING (tenant_id IS NOT NULL)")
		},
		fails: map[string][]string{verify.CheckPolicies: {"policy tenant_isolation on public.content_tag differs",
			"USING ((tenant_id IS NOT NULL)), want", "DROP POLICY tenant_isolation ON public.content_tag; CREATE POLICY"}},
	}, {
		name: "declared policy widened to every role",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "ALTER POLICY webpage_published_only ON webpages_webpage TO PUBLIC")
		},
		fails: map[string][]string{verify.CheckPolicies: {"webpage_published_only", "it is TO public, want TO reader"}},
	}, {
		name: "undeclared table without RLS reachable by the app",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "CREATE TABLE public.leaky (id int); GRANT SELECT ON public.leaky TO app")
		},
		fails: map[string][]string{verify.CheckRLSReachable: {"table public.leaky is not declared but reachable",
			"ALTER TABLE public.leaky ENABLE ROW LEVEL SECURITY;", "REVOKE ALL ON TABLE public.leaky"}},
	}, {
		name: "index without the tenant column",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "CREATE INDEX webpages_webpage_title ON webpages_webpage (title)")
		},
		fails: map[string][]string{verify.CheckIndexes: {"index webpages_webpage_title on public.webpages_webpage does not lead with tenant_id",
			"DROP INDEX public.webpages_webpage_title; CREATE INDEX webpages_webpage_title ON public.webpages_webpage USING btree (tenant_id, title);"}},
	}, {
		name: "foreign key without the tenant column",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, `CREATE UNIQUE INDEX content_namespace_id_only ON content_namespace (id);
				ALTER TABLE content_category DROP CONSTRAINT content_category_namespace_id_fkey,
					ADD CONSTRAINT content_category_namespace_id_fkey FOREIGN KEY (namespace_id)
					REFERENCES content_namespace (id) ON DELETE CASCADE`)
		},
		fails: map[string][]string{
			verify.CheckIndexes: {"index content_namespace_id_only on public.content_namespace does not lead with tenant_id",
				"foreign key content_category_namespace_id_fkey of public.content_category references public.content_namespace without pairing tenant_id first",
				"FOREIGN KEY (tenant_id, namespace_id) REFERENCES public.content_namespace (tenant_id, id) ON DELETE CASCADE;"},
			verify.CheckProbe:  {"inserted a row of public.content_category that references tenant"},
			verify.CheckSchema: {"foreign key content_category_namespace_id_fkey is missing"},
		},
	}, {
		name: "pending migration",
		brk: func(t *testing.T, _ *pgtest.DB, cfg *verify.Config) {
			cfg.MigrationsDir = copyMigrations(t, map[string]string{
				"000002_more.up.sql": "SELECT 1;\n", "000002_more.down.sql": "SELECT 1;\n"})
		},
		fails: map[string][]string{verify.CheckMigrations: {"the database is at version 1; pending: 000002_more.up.sql",
			"pgtenant migrate up"}},
	}, {
		name: "dirty migration",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "UPDATE schema_migrations SET dirty = true")
		},
		fails: map[string][]string{verify.CheckMigrations: {"version 1 is marked dirty", "pgtenant migrate force"}},
	}, {
		name: "column changed outside the migrations",
		brk: func(t *testing.T, db *pgtest.DB, _ *verify.Config) {
			owner(t, db, "ALTER TABLE content_tag ALTER COLUMN name TYPE varchar(50), ALTER COLUMN name DROP NOT NULL")
		},
		fails: map[string][]string{verify.CheckSchema: {"table public.content_tag: column name is character varying(50), declared text",
			"column name is nullable, declared NOT NULL"}},
	}, {
		name: "declaration changed since the last migration",
		brk: func(t *testing.T, _ *pgtest.DB, cfg *verify.Config) {
			cfg.Declared.Table("content_tag").Columns = cfg.Declared.Table("content_tag").Columns[:3]
		},
		fails: map[string][]string{verify.CheckSchema: {"policies.hcl differs from schema.json",
			"column created_at is not declared", "pgtenant generate"}},
	}, {
		name: "REQUIRE_TENANT=false",
		brk: func(_ *testing.T, _ *pgtest.DB, cfg *verify.Config) {
			cfg.RequireTenant = false
		},
		fails: map[string][]string{verify.CheckProduction: {"REQUIRE_TENANT is false", "REQUIRE_TENANT=true"}},
	}, {
		name: "DEFAULT_TENANT_ID set",
		brk: func(_ *testing.T, _ *pgtest.DB, cfg *verify.Config) {
			cfg.RequireTenant, cfg.DefaultTenant = false, "acme"
		},
		fails: map[string][]string{verify.CheckProduction: {"REQUIRE_TENANT is false", "DEFAULT_TENANT_ID is set",
			"unset DEFAULT_TENANT_ID"}},
	}, {
		name: "no DATABASE_URL",
		brk: func(_ *testing.T, _ *pgtest.DB, cfg *verify.Config) {
			cfg.AppURL = ""
		},
		fails: map[string][]string{
			verify.CheckAppRole: {"DATABASE_URL is not set"}, verify.CheckPassword: {"DATABASE_URL is not set"},
			verify.CheckRLSDeclared: {"DATABASE_URL is not set"}, verify.CheckRLSReachable: {"DATABASE_URL is not set"},
			verify.CheckProbe: {"DATABASE_URL is not set"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, cfg := clean(t)
			tt.brk(t, db, &cfg)
			got := failures(verify.Run(t.Context(), cfg))
			for name, r := range got {
				t.Logf("✗ %s — %s\n    fix: %s", name, r.Detail, r.Fix)
			}
			require.ElementsMatch(t, keys(tt.fails), keys(got), "the checks that fail")
			for name, wants := range tt.fails {
				for _, want := range wants {
					assert.Contains(t, got[name].Detail+"\n"+got[name].Fix, want, name)
				}
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func superuserCleanup(t *testing.T, db *pgtest.DB, sql string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// TestRun_PasswordNotRequired lets the app login in without a password (a trust line in the throwaway cluster's
// pg_hba.conf for that role alone) and expects CheckPassword, and only it, to fail. It needs the cluster pgtest
// started itself: it never edits the pg_hba.conf of a cluster given by TEST_DATABASE_URL.
func TestRun_PasswordNotRequired(t *testing.T) {
	db, cfg := clean(t)
	if os.Getenv("TEST_DATABASE_URL") != "" {
		t.Skip("TEST_DATABASE_URL is set: this test edits pg_hba.conf, which it only does on its own throwaway cluster")
	}
	conn, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var hba string
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT current_setting('hba_file')").Scan(&hba))
	orig, err := os.ReadFile(hba)
	require.NoError(t, err, "the throwaway cluster's pg_hba.conf is readable by the test")
	login := userOf(t, cfg.AppURL)
	require.NoError(t, os.WriteFile(hba, append([]byte("host all "+login+" 127.0.0.1/32 trust\n"), orig...), 0o600))
	t.Cleanup(func() {
		require.NoError(t, os.WriteFile(hba, orig, 0o600))
		superuserCleanup(t, db, "SELECT pg_reload_conf()")
	})
	_, err = conn.Exec(t.Context(), "SELECT pg_reload_conf()")
	require.NoError(t, err)
	// The postmaster reloads asynchronously: wait until a wrong password gets in.
	wrong, err := url.Parse(cfg.AppURL)
	require.NoError(t, err)
	wrong.User = url.UserPassword(login, "not-the-password")
	require.Eventually(t, func() bool {
		c, err := pgx.Connect(t.Context(), wrong.String())
		if err == nil {
			_ = c.Close(context.Background())
		}
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)

	got := failures(verify.Run(t.Context(), cfg))
	require.ElementsMatch(t, []string{verify.CheckPassword}, keys(got))
	r := got[verify.CheckPassword]
	assert.Contains(t, r.Detail, "the server let role "+login+" log in with a wrong password")
	assert.Contains(t, r.Fix, "scram-sha-256")
}

// TestRun_NoDatabase: with neither URL, every database check fails saying so, and none hangs or panics.
func TestRun_NoDatabase(t *testing.T) {
	results := verify.Run(t.Context(), verify.Config{RequireTenant: true})
	require.Len(t, results, 13)
	for _, r := range results {
		if r.Name == verify.CheckProduction {
			assert.True(t, r.OK)
			continue
		}
		assert.False(t, r.OK, r.Name)
		assert.True(t, strings.Contains(r.Detail, "DATABASE_URL is not set"), "%s: %s", r.Name, r.Detail)
	}
}
