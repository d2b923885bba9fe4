package layout_test

import (
	"os/exec"
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
	{"pgtenant/engine/migrate", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/pgtx", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/tenant", []string{"github.com/jackc/pgx/"}},
	{"pgtenant/engine/registry", []string{"pgtenant/engine/httpapi"}},
	{"pgtenant/engine/verify", []string{"net/http", "pgtenant/engine/httpapi", "pgtenant/engine/tenant", "pgtenant/engine/registry"}},
	{"pgtenant/engine/rls", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/backup", []string{"net/http", "pgtenant/engine/httpapi"}},
	{"pgtenant/engine/drift", []string{"net/http", "pgtenant/engine/httpapi"}},
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

// TestHTTPAPIOnlyFromCmd checks that only the command wires the HTTP layer.
func TestHTTPAPIOnlyFromCmd(t *testing.T) {
	for pkg, d := range deps(t) {
		if strings.HasPrefix(pkg, "pgtenant/cmd/") || strings.HasPrefix(pkg, "pgtenant/engine/httpapi") {
			continue
		}
		for _, dep := range d {
			assert.NotEqual(t, "pgtenant/engine/httpapi", dep, "%s must not import engine/httpapi", pkg)
		}
	}
}
