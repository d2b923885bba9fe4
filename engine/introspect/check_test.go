package introspect_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/internal/pgtest"
)

func declaredNames(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, tbl := range declaration(t).Tables {
		out = append(out, tbl.Name)
	}
	return out
}

// connect opens a connection closed when t ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// admin runs setup SQL as the superuser.
func admin(t *testing.T, db *pgtest.DB, sql string) {
	t.Helper()
	_, err := connect(t, db.AdminURL).Exec(t.Context(), sql)
	require.NoError(t, err)
}

// loginName is the role a pgtest login URL connects as.
func loginName(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	return cfg.User
}

func TestCheck_AppLoginMayServe(t *testing.T) {
	db := pgtest.New(t)
	problems, err := introspect.Check(t.Context(), db.Login(t, "app"), declaredNames(t))
	require.NoError(t, err)
	assert.Empty(t, problems)

	problems, err = introspect.Check(t.Context(), db.Login(t, "reader"), declaredNames(t))
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// TestCheck_NothingDeclared checks that tables the API would expose are checked even when none is declared.
func TestCheck_NothingDeclared(t *testing.T) {
	db := pgtest.New(t)
	pgtest.ExecScript(t, db.Owner, "CREATE TABLE public.notes (body text); GRANT SELECT ON public.notes TO app")
	problems, err := introspect.Check(t.Context(), db.Login(t, "app"), nil)
	require.NoError(t, err)
	require.Len(t, problems, 1, "the migrated tables have forced row-level security: %v", problems)
	assert.Equal(t, "table public.notes", problems[0].Object)
}

// TestCheck_Problems sets up one way to defeat row-level security per case and checks that Check names it, with
// a fix. want lists the problems expected (matched by Object and by a part of Reason and of Fix); exact says
// that no other problem may be reported.
func TestCheck_Problems(t *testing.T) {
	type problem struct{ object, reason, fix string }
	tests := []struct {
		name     string
		setup    func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) // the connection and its role
		declared []string                                                       // added to the declared tables
		want     []problem
		exact    bool
	}{
		{
			name: "superuser",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				return connect(t, db.AdminURL), loginName(t, db.AdminURL)
			},
			want: []problem{
				{"role {role}", "is a superuser", "CREATE ROLE pgtenant_api LOGIN NOSUPERUSER NOBYPASSRLS"},
			},
		},
		{
			name: "bypassrls",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				url := db.LoginURL(t, "app")
				admin(t, db, "ALTER ROLE "+ddl.Ident(loginName(t, url))+" BYPASSRLS")
				return connect(t, url), loginName(t, url)
			},
			want:  []problem{{"role {role}", "has BYPASSRLS", "ALTER ROLE {role} NOBYPASSRLS;"}},
			exact: true,
		},
		{
			name: "table owner",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				return db.Owner, loginName(t, db.OwnerURL)
			},
			want: []problem{{"role {role}", "owns public.content_category, public.content_language",
				"ALTER TABLE public.webpages_webpage OWNER TO"}},
		},
		{
			name: "member of the owner role",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				url := db.LoginURL(t, "app")
				// NOINHERIT: the membership gives no privileges until SET ROLE, and still lets it alter the tables.
				admin(t, db, "ALTER ROLE "+ddl.Ident(loginName(t, url))+" NOINHERIT; GRANT "+
					ddl.Ident(loginName(t, db.OwnerURL))+" TO "+ddl.Ident(loginName(t, url)))
				return connect(t, url), loginName(t, url)
			},
			want: []problem{
				{"role {role}", "is a member of role pgtest_owner, which owns public.content_category",
					"REVOKE pgtest_owner FROM {role};"},
				// golang-migrate's own table, which the owner role can reach.
				{"table public.schema_migrations", "not declared but reachable", "ENABLE ROW LEVEL SECURITY"},
			},
			exact: true,
		},
		{
			name: "row-level security not forced",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				pgtest.ExecScript(t, db.Owner, "ALTER TABLE webpages_webpage NO FORCE ROW LEVEL SECURITY")
				url := db.LoginURL(t, "app")
				return connect(t, url), loginName(t, url)
			},
			want: []problem{{"table public.webpages_webpage", "enabled but not forced",
				"ALTER TABLE public.webpages_webpage FORCE ROW LEVEL SECURITY;"}},
			exact: true,
		},
		{
			name: "row-level security disabled",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				pgtest.ExecScript(t, db.Owner, "ALTER TABLE content_tag DISABLE ROW LEVEL SECURITY; "+
					"ALTER TABLE content_tag NO FORCE ROW LEVEL SECURITY")
				url := db.LoginURL(t, "app")
				return connect(t, url), loginName(t, url)
			},
			want: []problem{{"table public.content_tag", "neither enabled nor forced",
				"ALTER TABLE public.content_tag ENABLE ROW LEVEL SECURITY; " +
					"ALTER TABLE public.content_tag FORCE ROW LEVEL SECURITY;"}},
			exact: true,
		},
		{
			name: "declared table missing",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				url := db.LoginURL(t, "app")
				return connect(t, url), loginName(t, url)
			},
			declared: []string{"not_migrated"},
			want:     []problem{{"table public.not_migrated", "missing", "pgtenant migrate up"}},
			exact:    true,
		},
		{
			name: "reachable undeclared table without row-level security",
			setup: func(t *testing.T, db *pgtest.DB) (introspect.Querier, string) {
				pgtest.ExecScript(t, db.Owner, "CREATE TABLE public.notes (body text); "+
					"GRANT SELECT ON public.notes TO app; CREATE TABLE public.unreachable (body text)")
				url := db.LoginURL(t, "app")
				return connect(t, url), loginName(t, url)
			},
			want: []problem{{"table public.notes", "not declared but reachable",
				"ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; ALTER TABLE public.notes FORCE ROW LEVEL SECURITY;"}},
			exact: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := pgtest.New(t)
			conn, role := tt.setup(t, db)
			problems, err := introspect.Check(t.Context(), conn, append(declaredNames(t), tt.declared...))
			require.NoError(t, err)
			for _, p := range problems {
				t.Log(p)
				assert.NotEmpty(t, p.Reason)
				assert.NotEmpty(t, p.Fix)
			}
			if tt.exact {
				assert.Len(t, problems, len(tt.want))
			}
			for _, w := range tt.want {
				object := strings.ReplaceAll(w.object, "{role}", role)
				fix := strings.ReplaceAll(w.fix, "{role}", role)
				assert.True(t, hasProblem(problems, object, w.reason, fix),
					"want %s: …%s…; fix: …%s…\ngot %v", object, w.reason, fix, problems)
			}
		})
	}
}

func hasProblem(problems []introspect.Problem, object, reason, fix string) bool {
	for _, p := range problems {
		if p.Object == object && strings.Contains(p.Reason, reason) && strings.Contains(p.Fix, fix) {
			return true
		}
	}
	return false
}
