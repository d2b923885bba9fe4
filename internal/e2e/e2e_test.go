// Package e2e_test drives a real `pgtenant serve` process with the
// @supabase/postgrest-js client from npm, as a frontend would.
package e2e_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/registry"
	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// TestPostgrestJS runs postgrest.test.mjs with node's test runner against
// the server binary, two tenants and a token for each.
func TestPostgrestJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed")
	}
	if _, err := os.Stat("node_modules/@supabase/postgrest-js"); err != nil {
		skipOrFail(t, "@supabase/postgrest-js is not installed: run `make test-deps` (npm ci in internal/e2e)")
	}
	db := pgtest.New(t)
	env := []string{"BASE_URL=" + startServer(t, db.LoginURL(t, "app", "reader"))}
	for i, name := range []string{"acme", "globex"} {
		tn, err := registry.CreateTenant(t.Context(), db.Owner, name, strings.ToUpper(name), "e2e")
		require.NoError(t, err)
		token, _, err := registry.CreateToken(t.Context(), db.Owner, "e2e-"+name, "app", []string{tn.ID})
		require.NoError(t, err)
		letter := []string{"A", "B"}[i]
		env = append(env, "TENANT_"+letter+"="+name, "TENANT_"+letter+"_ID="+tn.ID, "TOKEN_"+letter+"="+token,
			"NS_"+letter+"="+namespace(t, db, tn.ID))
	}
	cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=spec", "postgrest.test.mjs")
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err, "postgrest-js end-to-end tests failed")
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("PGTEST_REQUIRED") == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// namespace creates a namespace for tenant through a login holding app.
func namespace(t *testing.T, db *pgtest.DB, tenantID string) string {
	conn, err := pgx.Connect(t.Context(), db.LoginURL(t, "app"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var id string
	require.NoError(t, pgx.BeginFunc(t.Context(), conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(t.Context(), "SELECT set_config('app.current_tenant_id', $1, true)", tenantID); err != nil {
			return err
		}
		return tx.QueryRow(t.Context(), "INSERT INTO content_namespace (slug, name) VALUES ('www', 'Site') RETURNING id::text").Scan(&id)
	}))
	return id
}

var servingRE = regexp.MustCompile(`on (http://\S+)/`)

// buildBinary builds the pgtenant binary into the test's temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pgtenant")
	build := exec.Command("go", "build", "-o", bin, "pgtenant/cmd/pgtenant")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// cleanEnv is the environment of the processes a test starts: PATH and HOME, not the settings of the shell the
// tests run from (a DATABASE_URL exported after `make run`, say): each test passes the settings it means.
func cleanEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
}

// startServer builds the pgtenant binary, starts `serve` on a free loopback
// port as databaseURL, and returns the API's base URL. The process is
// stopped with SIGTERM, by its PID, when the test ends.
func startServer(t *testing.T, databaseURL string) string {
	t.Helper()
	bin := buildBinary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(cleanEnv(), "DATABASE_URL="+databaseURL, "LISTEN_ADDR=127.0.0.1:0", "ADMIN_LISTEN_ADDR=127.0.0.1:0",
		"POLICIES_FILE=../../policies.hcl", "LOG_FORMAT=text", "LOG_LEVEL=warn")
	lines := startProcess(t, cmd, nil)
	found := make(chan string, 1)
	go func() {
		for l := range lines {
			if m := servingRE.FindStringSubmatch(l); m != nil {
				found <- m[1]
				return
			}
		}
	}()
	select {
	case base := <-found:
		return base
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not start within 30s")
	}
	return ""
}

// startProcess starts cmd, its stderr to the test log, and returns its stdout line by line (lines nobody reads
// in time are dropped: the process never blocks on its output). When the test ends, the process is sent SIGTERM,
// by its PID, and killed if it has not exited 20 s later; then after runs, when not nil.
func startProcess(t *testing.T, cmd *exec.Cmd, after func()) <-chan string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = &testWriter{t: t}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		if after != nil {
			after()
		}
	})
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	return lines
}

// testWriter sends the server's log to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("server: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
