package fragment_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/fragment"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// TestMain is this package's only one: pgtest.Run stops the test server after the tests.
func TestMain(m *testing.M) { pgtest.Run(m) }

// checkServer returns a URL to the test cluster for a fresh login role that may create databases and roles but is
// not a superuser (the least Check needs), its name, and a superuser connection for inspection.
func checkServer(t *testing.T) (serverURL, login string, admin *pgx.Conn) {
	t.Helper()
	db := pgtest.NewEmpty(t)
	serverURL = db.DevServerURL(t)
	u, err := url.Parse(serverURL)
	require.NoError(t, err)
	admin, err = pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	return serverURL, u.User.Username(), admin
}

// existingRoles returns which of the model's roles exist in the cluster.
func existingRoles(t *testing.T, admin *pgx.Conn, m *schema.Model) []string {
	t.Helper()
	var names []string
	for _, r := range m.Roles {
		names = append(names, r.Name)
	}
	rows, err := admin.Query(t.Context(), "SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname", names)
	require.NoError(t, err)
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return found
}

// checkSQL runs Check and asserts that it leaves nothing behind: no scratch database, no role.
func checkSQL(t *testing.T, m *schema.Model) hcl.Diagnostics {
	t.Helper()
	serverURL, login, admin := checkServer(t)
	before := existingRoles(t, admin, m)
	diags, err := fragment.Check(t.Context(), serverURL, m)
	require.NoError(t, err)

	var scratch int
	require.NoError(t, admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_database
		WHERE datname LIKE 'pgtenant\_check\_%' AND datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
		login).Scan(&scratch))
	assert.Zero(t, scratch, "the scratch database is dropped")
	assert.Equal(t, before, existingRoles(t, admin, m), "the roles the plan created are rolled back")
	return diags
}

// pos returns where the first occurrence of at starts in src, as hcl counts it.
func pos(t *testing.T, src, at string) hcl.Pos {
	t.Helper()
	require.Equal(t, 1, strings.Count(src, at), "%q must occur once in the declaration", at)
	i := strings.Index(src, at)
	return hcl.Pos{Line: strings.Count(src[:i], "\n") + 1, Column: i - strings.LastIndex(src[:i], "\n"), Byte: i}
}

var nonWord = regexp.MustCompile(`[^a-z0-9_]+`)

const pageTable = `
table "page" {
  column "id" {
    type    = uuid
    default = sql("gen_random_uuid()")
  }
  column "slug" { type = text }
  column "is_published" {
    type    = boolean
    default = false
  }
  column "created_at" {
    type    = timestamptz
    default = sql("now()")
  }
  primary_key { columns = [column.id] }
  EXTRA
}
`

func TestCheck(t *testing.T) {
	type want struct {
		at   string // the diagnostic's subject starts at this text of the declaration
		code string // SQLSTATE
	}
	tests := []struct {
		// static: schema.Parse itself refuses the fragment (PostgreSQL's grammar
		// does not read it as exactly one expression or type), so it never
		// reaches the database.
		static bool
		name   string
		extra  string // added to table "page"
		rest   string // added after it
		want   []want
	}{{
		name: "policy using names an unknown column",
		rest: `policy "page_published" {
  on    = table.page
  for   = SELECT
  using = "is_publishd"
}`,
		want: []want{{at: `is_publishd"`, code: "42703"}},
	}, {
		name: "check expr with a syntax error", static: true,
		extra: `check "page_slug_lower" { expr = "slug = = lower(slug)" }`,
		want:  []want{{at: `= lower(slug)"`, code: "42601"}},
	}, {
		name: "partial index calling a volatile function",
		extra: `index "page_recent" {
    columns = [column.slug]
    where   = "created_at > now()"
  }`,
		want: []want{{at: `"created_at > now()"`, code: "42P17"}},
	}, {
		name: "second of two partial indexes calls a volatile function",
		extra: `index "page_published" {
    columns = [column.slug]
    where   = "is_published"
  }
  index "page_recent" {
    columns = [column.created_at]
    where   = "created_at > now() - interval '1 day'"
  }`,
		// No position: the statements that completed before the failing one tell which index it is.
		want: []want{{at: `"created_at > now() - interval '1 day'"`, code: "42P17"}},
	}, {
		name: "sql default calling an unknown function",
		extra: `column "views" {
    type    = integer
    default = sql("nosuchfn()")
  }`,
		want: []want{{at: `nosuchfn()")`, code: "42883"}},
	}, {
		name:  "sql type that does not exist",
		extra: `column "tags" { type = sql("nosuchtype[]") }`,
		want:  []want{{at: `nosuchtype[]")`, code: "42704"}},
	}, {
		name: "default of the wrong type, reported without a position",
		extra: `column "views" {
    type    = integer
    default = sql("'many'::text")
  }`,
		want: []want{{at: `sql("'many'::text")`, code: "42804"}},
	}, {
		name: "where that leaves a parenthesis open", static: true,
		extra: `index "page_slug" {
    columns = [column.slug]
    where   = "(slug <> ''"
  }`,
		want: []want{{at: `(slug <> ''"`, code: "42601"}},
	}, {
		name: "sql type that leaves a bracket open", static: true,
		extra: `column "tags" { type = sql("text[") }`,
		want:  []want{{at: `[")`, code: "42601"}},
	}, {
		name: "check with an unterminated string", static: true,
		extra: `check "page_slug_x" { expr = "slug <> 'x" }`,
		// PostgreSQL's lexer finds the quote that is never closed.
		want: []want{{at: `'x"`, code: "42601"}},
	}, {
		name: "using that comments out the rest of the statement", static: true,
		rest: `policy "page_published" {
  on    = table.page
  using = "is_published -- only those"
}`,
		want: []want{{at: `-- only those"`, code: "42601"}},
	}, {
		name: "policy check clause names an unknown column",
		rest: `policy "page_own_slug" {
  on    = table.page
  using = "slug <> ''"
  check = "slug <> slugg"
}`,
		want: []want{{at: `slugg"`, code: "42703"}},
	}, {
		name: "view query names an unknown column",
		rest: `view "recent_pages" {
  to    = [role.ROLE]
  query = "SELECT id, slugg FROM page"
  column "id" { type = uuid }
  column "slugg" { type = text }
}`,
		want: []want{{at: `slugg FROM`, code: "42703"}},
	}, {
		name: "sql function body names an unknown table",
		rest: `function "page_count" {
  to      = [role.ROLE]
  returns = bigint
  body    = "SELECT count(*) FROM pages"
}`,
		want: []want{{at: `pages"`, code: "42P01"}},
	}, {
		name: "plpgsql body declares a variable of an unknown type",
		rest: `function "first_page" {
  to       = [role.ROLE]
  language = plpgsql
  returns  = uuid
  body     = <<-SQL
    DECLARE
      r pagez;
    BEGIN
      SELECT * INTO r FROM page LIMIT 1;
      RETURN r.id;
    END
  SQL
}`,
		want: []want{{at: `pagez;`, code: "42704"}},
	}, {
		name: "function argument default of the wrong type",
		rest: `function "pages_after" {
  to      = [role.ROLE]
  arg "n" {
    type    = integer
    default = sql("'many'::text")
  }
  returns = bigint
  body    = "SELECT count(*) + n FROM page"
}`,
		want: []want{{at: `'many'::text")`, code: "42804"}},
	}, {
		name: "every problem at once",
		extra: `check "page_slug_short" { expr = "length(slug) < 'x'" }
  column "views" {
    type    = integer
    default = sql("nosuchfn()")
  }`,
		rest: `policy "page_published" {
  on    = table.page
  using = "is_publishd"
}

table "gallery" {
  column "id" { type = sql("nosuchtype") }
  primary_key { columns = [column.id] }
}

table "picture" {
  column "id" { type = uuid }
  column "gallery_id" { references = table.gallery }
  primary_key { columns = [column.id] }
}

policy "picture_mine" {
  on    = table.picture
  using = "also_not_a_column"
}`,
		// The page's policy is checked although page had errors (they are replaced); picture and its policy are
		// not, since gallery could not be created.
		want: []want{
			{at: `'x'"`, code: "22P02"},
			{at: `nosuchfn()")`, code: "42883"},
			{at: `is_publishd"`, code: "42703"},
			{at: `nosuchtype")`, code: "42704"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := "check_" + nonWord.ReplaceAllString(tt.name, "_")
			role = role[:min(len(role), 40)] // room for the generated policy name
			src := `role "` + role + `" { privileges = [SELECT, INSERT, UPDATE, DELETE] }` + "\n" +
				strings.Replace(pageTable, "EXTRA", tt.extra, 1) + "\n" + strings.ReplaceAll(tt.rest, "role.ROLE", "role."+role) + "\n"
			m, _, diags := schema.Parse(schema.Source{Filename: "policies.hcl", Bytes: []byte(src)})
			if tt.static {
				require.Len(t, diags, 1, "%s", diags)
				assert.Equal(t, "Invalid SQL fragment", diags[0].Summary)
				assert.Equal(t, pos(t, src, tt.want[0].at), diags[0].Subject.Start)
				return
			}
			require.False(t, diags.HasErrors(), "%s\n%s", diags, src)

			diags = checkSQL(t, m)
			require.Len(t, diags, len(tt.want), "%s", diags)
			for i, w := range tt.want {
				d := diags[i]
				assert.Equal(t, hcl.DiagError, d.Severity)
				assert.Equal(t, "Invalid SQL", d.Summary)
				assert.Contains(t, d.Detail, "(SQLSTATE "+w.code+")")
				require.NotNil(t, d.Subject)
				assert.Equal(t, "policies.hcl", d.Subject.Filename)
				assert.Equal(t, pos(t, src, w.at), d.Subject.Start, "%s: %s", w.at, d.Detail)
			}
		})
	}
}

func TestCheck_Detail(t *testing.T) {
	src := `role "check_detail" { privileges = [SELECT] }` + strings.Replace(pageTable, "EXTRA", "", 1) + `
policy "page_published" {
  on    = table.page
  using = "is_publishd"
}
`
	m, _, diags := schema.Parse(schema.Source{Filename: "policies.hcl", Bytes: []byte(src)})
	require.False(t, diags.HasErrors(), "%s", diags)
	diags = checkSQL(t, m)
	require.Len(t, diags, 1)
	d := diags[0]
	assert.Equal(t, `column "is_publishd" does not exist (SQLSTATE 42703). `+
		`Hint: Perhaps you meant to reference the column "page.is_published".`, d.Detail)
	// The subject is the unknown name, inside the whole string.
	assert.Equal(t, "is_publishd", src[d.Subject.Start.Byte:d.Subject.End.Byte])
	require.NotNil(t, d.Context)
	assert.Equal(t, `"is_publishd"`, src[d.Context.Start.Byte:d.Context.End.Byte])

	src = strings.Replace(src, `"is_publishd"`, `"slug ~ 1"`, 1)
	m, _, diags = schema.Parse(schema.Source{Filename: "policies.hcl", Bytes: []byte(src)})
	require.False(t, diags.HasErrors(), "%s", diags)
	diags = checkSQL(t, m)
	require.Len(t, diags, 1)
	assert.Contains(t, diags[0].Detail, "operator does not exist: text ~ integer (SQLSTATE 42883). Hint: No operator")
}

// TestCheck_ViewColumns: the columns PostgreSQL gives a view's query are compared with the declared ones.
func TestCheck_ViewColumns(t *testing.T) {
	src := `role "check_view_columns" { privileges = [SELECT] }` + strings.Replace(pageTable, "EXTRA", "", 1) + `
view "page_slugs" {
  to    = [role.check_view_columns]
  query = "SELECT id, slug, created_at FROM page"
  column "id" { type = uuid }
  column "slug" { type = integer }
}
`
	m, _, diags := schema.Parse(schema.Source{Filename: "policies.hcl", Bytes: []byte(src)})
	require.False(t, diags.HasErrors(), "%s", diags)
	diags = checkSQL(t, m)
	var got []string
	for _, d := range diags {
		got = append(got, d.Summary)
	}
	// In the order of the declaration: the extra column is reported on the view, the type on the column.
	assert.Equal(t, []string{"Undeclared view column", "Mismatched view column type"}, got)
	assert.Equal(t, pos(t, src, `integer }`), diags[1].Subject.Start)
}

func TestCheck_Valid(t *testing.T) {
	m, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	assert.Empty(t, checkSQL(t, m))
}

func TestCheck_Errors(t *testing.T) {
	m, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), "%s", diags)
	_, err := fragment.Check(t.Context(), "postgres://nobody:wrong@127.0.0.1:1/none?sslmode=disable&connect_timeout=5", m)
	assert.Error(t, err)

	// A role that may not create databases cannot check anything: that is an error, not a diagnostic.
	db := pgtest.NewEmpty(t)
	diags, err = fragment.Check(t.Context(), db.LoginURL(t), m)
	assert.ErrorContains(t, err, "create a scratch database")
	assert.Nil(t, diags)
}
