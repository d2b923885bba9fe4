package layout_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rules: a package (or every package under a prefix ending in "/") must not
// depend, directly or not, on any of the listed packages or prefixes.
var rules = []struct {
	pkg       string
	forbidden []string
}{
	{"pgtenant/schema", []string{"pgtenant/engine/", "github.com/jackc/pgx/", "net/http"}},
	{"pgtenant/engine/ddl", []string{"github.com/jackc/pgx/", "net/http", "log/slog"}},
	{"pgtenant/engine/query", []string{"github.com/jackc/pgx/", "net/http", "log/slog"}},
	{"pgtenant/engine/introspect", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/migrate", []string{"net/http", "pgtenant/engine/httpapi", "pgtenant/engine/scratch", "pgtenant/engine/fragment"}},
	{"pgtenant/engine/scratch", []string{"net/http", "pgtenant/engine/httpapi", "pgtenant/engine/migrate"}},
	{"pgtenant/engine/fragment", []string{"net/http", "pgtenant/engine/httpapi", "pgtenant/engine/migrate"}},
	{"pgtenant/engine/pgtx", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/tenant", []string{"github.com/jackc/pgx/"}},
	{"pgtenant/engine/registry", []string{"pgtenant/engine/httpapi"}},
	{"pgtenant/engine/verify", []string{"net/http", "pgtenant/engine/httpapi", "pgtenant/engine/tenant", "pgtenant/engine/registry"}},
	{"pgtenant/engine/verify/httpcheck", []string{"pgtenant/engine/httpapi"}},
	{"pgtenant/engine/server", []string{"pgtenant/internal/", "pgtenant/engine/verify", "pgtenant/engine/migrate"}},
	{"pgtenant/engine/rls", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/backup", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/drift", []string{"net/http", "pgtenant/engine/httpapi", "pgtenant/engine/migrate"}},
}

// allowed: a package may import directly only the standard library, the module's own packages that its rules
// above allow, and the listed modules (a prefix ending in "/" stands for every package under it). schema is the
// pure reading of the declaration: HCL and cty decode it, levenshtein suggests names, and pg_query_go is
// PostgreSQL's own parser (libpg_query, with its parse tree as protobuf messages), with which schema checks the
// declaration's SQL fragments: it parses text and does no I/O.
var allowed = []struct {
	pkg     string
	modules []string
}{
	{"pgtenant/schema", []string{"github.com/hashicorp/hcl/v2", "github.com/zclconf/go-cty/", "github.com/agext/levenshtein",
		"github.com/pganalyze/pg_query_go/v6", "google.golang.org/protobuf/"}},
}

// deps lists every package of the module with its transitive dependencies.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "pgtenant/...").Output()
	require.NoError(t, err)
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	return m
}

func matches(pkg, pattern string) bool {
	if strings.HasSuffix(pattern, "/") {
		return strings.HasPrefix(pkg, pattern)
	}
	return pkg == pattern
}

func TestImportRules(t *testing.T) {
	all := deps(t)
	require.Contains(t, all, "pgtenant/schema")
	for _, r := range rules {
		d, ok := all[r.pkg]
		if !ok {
			continue // not written yet
		}
		for _, dep := range d {
			for _, f := range r.forbidden {
				assert.False(t, matches(dep, f), "%s must not depend on %s", r.pkg, dep)
			}
		}
	}
}

// TestHTTPAPIImporters checks who wires the HTTP layer: engine/httpapi is imported by engine/server (the
// server's lifecycle, which builds it) and by cmd (which fills its Config) alone, and engine/server by cmd alone.
func TestHTTPAPIImporters(t *testing.T) {
	importers := map[string][]string{
		"pgtenant/engine/httpapi": {"pgtenant/cmd/", "pgtenant/engine/httpapi", "pgtenant/engine/server"},
		"pgtenant/engine/server":  {"pgtenant/cmd/", "pgtenant/engine/server"},
	}
	for pkg, d := range deps(t) {
		for _, dep := range d {
			allowed, ruled := importers[dep]
			if !ruled {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || matches(pkg, a)
			}
			assert.True(t, ok, "%s must not import %s", pkg, dep)
		}
	}
}

// TestAllowedImports checks the direct imports of the packages with an allow-list.
func TestAllowedImports(t *testing.T) {
	for _, a := range allowed {
		out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, a.pkg).Output()
		require.NoError(t, err)
		for _, imp := range strings.Fields(string(out)) {
			if first, _, _ := strings.Cut(imp, "/"); !strings.Contains(first, ".") {
				continue // the standard library
			}
			ok := false
			for _, m := range a.modules {
				ok = ok || imp == m || strings.HasPrefix(imp, strings.TrimSuffix(m, "/")+"/")
			}
			assert.True(t, ok, "%s must not import %s (STYLE.md §1)", a.pkg, imp)
		}
	}
}

// trackerRE matches a mention of an internal tracker's item ("issue 7", "issue #7").
var trackerRE = regexp.MustCompile(`(?i)\bissues? #?\d+`)

// TestNoTrackerMentions: what users read (the READMEs, the changelog, the generated SQL and policies.hcl, and
// the program's own text: every non-test Go file, whose strings become CLI output and error messages) never
// refers to an internal tracker's items, which mean nothing outside the team. Tests may.
func TestNoTrackerMentions(t *testing.T) {
	root := "../.."
	var files []string
	for _, f := range []string{"README.md", "deploy/README.md", "CHANGELOG.md", "policies.hcl", "Makefile"} {
		files = append(files, filepath.Join(root, f))
	}
	sql, err := filepath.Glob(filepath.Join(root, "migrations", "*.sql"))
	require.NoError(t, err)
	files = append(files, sql...)
	for _, dir := range []string{"cmd", "engine", "schema", "internal", "deploy"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		}))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, line := range strings.Split(string(b), "\n") {
			if m := trackerRE.FindString(line); m != "" {
				t.Errorf("%s:%d mentions %q: say what it is instead", f, i+1, m)
			}
		}
	}
}

// envReadRE matches a read of the process environment.
var envReadRE = regexp.MustCompile(`\bos\.(Getenv|LookupEnv|Environ)\(`)

// envReaders are the only non-test files that may read the process environment: main, which hands os.Getenv to
// run (cmd reads every setting through it, flags first); the test helpers, which read TEST_DATABASE_URL and
// PGTEST_REQUIRED; and the private-PostgreSQL launcher, which passes the environment on to initdb and pg_ctl
// without the PG* variables.
var envReaders = []string{"cmd/pgtenant/main.go", "internal/pgtest/", "internal/pgbouncer/", "internal/pglocal/pglocal.go"}

// TestEnvReadOnlyInMain: cmd is the only reader of the environment, and only main touches it (STYLE.md §7):
// everything else gets plain values, so that a test can run a command with an environment of its own.
func TestEnvReadOnlyInMain(t *testing.T) {
	root := "../.."
	for _, dir := range []string{"cmd", "engine", "schema", "internal"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			rel, _ := filepath.Rel(root, path)
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			for _, allowed := range envReaders {
				if rel == allowed || (strings.HasSuffix(allowed, "/") && strings.HasPrefix(rel, allowed)) {
					return nil
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				if m := envReadRE.FindString(line); m != "" {
					t.Errorf("%s:%d reads the environment (%s): take the value as a parameter, which cmd reads "+
						"through run's getenv", rel, i+1, strings.TrimSuffix(m, "("))
				}
			}
			return nil
		}))
	}
}

// catalogRE matches SQL that reads PostgreSQL's catalog: its tables and views, information_schema, to_regclass.
var catalogRE = regexp.MustCompile(`\bpg_(class|namespace|attribute|attrdef|constraint|index|indexes|policy|` +
	`policies|roles|authid|auth_members|shdepend|trigger|rewrite|proc|depend|description|tables|database|` +
	`my_temp_schema)\b|\binformation_schema\b|\bto_regclass\b`)

// catalogReaders are the files outside engine/introspect whose strings may name the catalog, and why.
var catalogReaders = map[string]string{
	// The generated migrations' DO blocks check the roles where they run; no Go code reads the answer.
	"engine/ddl/render.go": "generated DDL",
	// The policy comparison reads pg_policies inside its own transaction, with search_path public, on the
	// temporary copies of the tables that transaction creates: what introspect.Read cannot see.
	"engine/verify/rls.go": "the policy comparison's temporary copies",
	// validate's scratch check reads the columns of a view it has just created, on the raw connection and inside
	// the savepoint it applies the declaration in (introspect.Read takes a pgx connection and reads everything).
	"engine/fragment/check.go": "a just-created view's columns",
	// Cluster bootstrapping, before any database to read exists: the dev database and role, the test server's
	// owner role and template databases.
	"cmd/pgtenant/dev.go":       "cluster bootstrapping",
	"internal/pgtest/server.go": "cluster bootstrapping",
}

// TestCatalogReadOnlyInIntrospect checks that engine/introspect is the one reader of the live catalog: no string
// of another package's non-test Go file names a catalog table, information_schema or to_regclass, except in the
// files of catalogReaders. Comments may.
func TestCatalogReadOnlyInIntrospect(t *testing.T) {
	root := "../.."
	for _, dir := range []string{"cmd", "engine", "schema", "internal"} {
		require.NoError(t, filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if strings.HasPrefix(rel, "engine/introspect/") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				if m := catalogRE.FindString(lit.Value); m != "" && catalogReaders[rel] == "" {
					t.Errorf("%s reads the catalog (%s): read it with introspect.Read", rel, m)
				}
				return true
			})
			return nil
		}))
	}
	for rel := range catalogReaders {
		_, err := os.Stat(filepath.Join(root, rel))
		assert.NoError(t, err, "catalogReaders names %s, which is gone: take it out", rel)
	}
}
