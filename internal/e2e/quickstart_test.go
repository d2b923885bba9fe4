package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pglocal"
)

// goShim makes `go run ./cmd/pgtenant …`, as `make run` prints it and README's Quickstart writes it, run the binary
// the test built, so that the lines run as written without compiling the program once per line.
const goShim = `go() { if [ "$1" = run ] && [ "$2" = ./cmd/pgtenant ]; then shift 2; "$PGTENANT_BIN" "$@"; else command go "$@"; fi; }
`

// TestQuickstart is README's Quickstart, as a new user runs it: `pgtenant dev` (what `make run` runs) on a fresh
// data directory, then every command it prints, pasted in order into bash: the psql line and the curl lines (the
// psql line must show exactly the rows the API shows, before and after the POST), and `verify --server …
// --drills`, which must pass every check; then README's "As a new user" shell block and its postgrest-js snippet.
// The only change to the README's text is the port: the test's server listens on a free one, not 3000.
func TestQuickstart(t *testing.T) {
	if _, err := pglocal.BinDir(); err != nil {
		skipOrFail(t, "no PostgreSQL binaries: "+err.Error())
	}
	for _, tool := range []string{"bash", "curl", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, tool+" is not installed")
		}
	}
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "pg")
	tmp := t.TempDir()
	base := append(cleanEnv(), "TMPDIR="+tmp)

	printed := startDev(t, bin, root, dataDir, append(slices.Clone(base), "PGTENANT_DATA_DIR="+dataDir,
		"LISTEN_ADDR=localhost:0", "ADMIN_LISTEN_ADDR=127.0.0.1:0", "LOG_LEVEL=warn"))
	var exports, psqlLine, verifyLine string
	var curls []string
	for _, l := range printed {
		l = strings.TrimPrefix(l, "  ")
		switch {
		case strings.HasPrefix(l, "export "):
			exports += l + "\n"
		case strings.HasPrefix(l, "psql "):
			psqlLine = l
		case strings.HasPrefix(l, "curl "):
			curls = append(curls, l)
		case strings.Contains(l, " verify --server "):
			// `go run ./cmd/pgtenant verify …` under make run; here the binary's path, as dev prints it for a
			// binary that PATH does not find.
			verifyLine = l
		}
		assert.NotContains(t, l, "<tenant", "no placeholder to fill in: %s", l)
	}
	require.Equal(t, 2, strings.Count(exports, "export "), "the two export lines:\n%s", strings.Join(printed, "\n"))
	require.NotEmpty(t, psqlLine)
	require.Len(t, curls, 4)
	require.NotEmpty(t, verifyLine)

	shellEnv := append(slices.Clone(base), "PGTENANT_BIN="+bin)
	sh := func(t *testing.T, script string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "bash", "-c", "set -euo pipefail\n"+exports+goShim+script)
		cmd.Dir, cmd.Env = root, shellEnv
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s\n%s", script, out)
		return string(out)
	}

	// The psql line and the first curl show the same pages of acme, before and after the POST.
	samePages := func(t *testing.T) []string {
		var api []map[string]any
		body := sh(t, curls[0])
		require.NoError(t, json.Unmarshal([]byte(body), &api), body)
		var fromAPI []string
		for _, row := range api {
			fromAPI = append(fromAPI, row["slug"].(string))
		}
		assert.Equal(t, fromAPI, psqlSlugs(sh(t, psqlLine)), "psql shows what the API shows")
		return fromAPI
	}
	assert.Equal(t, []string{"welcome"}, samePages(t))
	// The embedding curl prints what README's Quickstart and Embedding sections say.
	const embedded = `[{"slug":"welcome","webpages_pagetheme":{"name":"default"},"content_tag":[{"name":"Go"},{"name":"News"}]}]`
	assert.Equal(t, strings.ReplaceAll(embedded, "},{", "}, {"), sh(t, curls[1]), "json_agg's spacing")
	var created []map[string]any
	body := sh(t, curls[2])
	require.NoError(t, json.Unmarshal([]byte(body), &created), body)
	require.Len(t, created, 1)
	assert.Equal(t, false, created[0]["is_published"])
	assert.Len(t, samePages(t), 2, "the new, unpublished page shows in psql too")
	var refused map[string]any
	body = sh(t, curls[3])
	require.NoError(t, json.Unmarshal([]byte(body), &refused), body)
	assert.Equal(t, "PGT011", refused["code"])

	out := sh(t, verifyLine)
	// Every check passes, however many the checklist has: "N of N checks passed."
	m := regexp.MustCompile(`(?m)^(\d+) of (\d+) checks passed\.$`).FindStringSubmatch(out)
	if assert.NotNil(t, m, out) {
		assert.Equal(t, m[2], m[1], "verify --server … --drills passes on the make run database:\n%s", out)
		assert.NotContains(t, out, "✗", "no check fails")
		assert.Contains(t, out, "✓ backups tested", "the drills ran")
		assert.Contains(t, out, "✓ monitoring in place", "the HTTP checks ran")
	}

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	port := regexp.MustCompile(`http://[^/]+:(\d+)/api/v1`).FindStringSubmatch(curls[0])[1]
	newUser := strings.ReplaceAll(codeBlock(t, string(readme), "### As a new user", "sh"), "localhost:3000",
		"localhost:"+port)
	out = sh(t, newUser+"\necho \"TOKEN=$TOKEN\"\n")
	assert.Regexp(t, `(?i)content-range: 0-0/1`, out, "one page left: about")
	assert.Contains(t, out, `"slug":"about"`)
	// The view and the functions: publish_page returns the page as an object, the view and search_pages list it.
	assert.Contains(t, out, `{"slug":"about","is_published":true}`)
	assert.Equal(t, 2, strings.Count(out, `[{"slug":"about","title":"About us"}]`), "published_pages and search_pages:\n%s", out)
	assert.Contains(t, out, "[]\nTOKEN=", "the last curl, a search that matches nothing, answers []")
	token := regexp.MustCompile(`(?m)^TOKEN=(pgt_\S+)$`).FindStringSubmatch(out)
	require.NotNil(t, token, out)

	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not installed: the postgrest-js snippet did not run")
	}
	modules, err := filepath.Abs("node_modules")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(modules, "@supabase", "postgrest-js")); err != nil {
		skipOrFail(t, "@supabase/postgrest-js is not installed: run `make test` (npm ci in internal/e2e)")
	}
	js := strings.ReplaceAll(codeBlock(t, string(readme), "Or point `@supabase/postgrest-js` at it", "js"),
		"localhost:3000", "localhost:"+port)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "quickstart.mjs"), []byte(js), 0o644))
	require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))
	cmd := exec.CommandContext(t.Context(), node, "quickstart.mjs")
	cmd.Dir, cmd.Env = dir, append(slices.Clone(base), "TOKEN="+token[1])
	jsOut, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", jsOut)
	assert.Contains(t, string(jsOut), "slug: 'about', title: 'About us'", "the snippet prints initech's page")

	// README's embedding snippet, with acme's token as make run printed it.
	acmeToken := regexp.MustCompile(`Token (pgt_[^' ]+)`).FindStringSubmatch(curls[1])
	require.NotNil(t, acmeToken, curls[1])
	js = strings.ReplaceAll(codeBlock(t, string(readme), "### Embedding: related rows in one request", "js"),
		"localhost:3000", "localhost:"+port)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "embed.mjs"), []byte(js), 0o644))
	cmd = exec.CommandContext(t.Context(), node, "embed.mjs")
	cmd.Dir, cmd.Env = dir, append(slices.Clone(base), "TOKEN="+acmeToken[1])
	jsOut, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", jsOut)
	assert.Equal(t, embedded+"\n", string(jsOut), "the embedding snippet prints what README says")
	assert.Contains(t, js, "// "+embedded)
}

// startDev runs `pgtenant dev` from the repository root and returns what it printed up to the line that says
// where the metrics are, the last one before it serves. The process is stopped with SIGTERM, by its PID, and the
// private PostgreSQL it started is stopped, when the test ends.
func startDev(t *testing.T, bin, root, dataDir string, env []string) []string {
	t.Helper()
	cmd := exec.Command(bin, "dev")
	cmd.Dir, cmd.Env = root, env
	lines := startProcess(t, cmd, func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if bindir, err := pglocal.BinDir(); err == nil {
			if err := (&pglocal.Server{Dir: dataDir, BinDir: bindir}).Stop(ctx); err != nil {
				t.Errorf("stop the dev PostgreSQL: %v", err)
			}
		}
	})
	var printed []string
	deadline := time.After(3 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("pgtenant dev exited before serving:\n%s", strings.Join(printed, "\n"))
			}
			printed = append(printed, l)
			if strings.HasPrefix(l, "Metrics and probes:") {
				return printed
			}
		case <-deadline:
			t.Fatalf("pgtenant dev did not serve within 3 minutes:\n%s", strings.Join(printed, "\n"))
		}
	}
}

// psqlSlugs reads the slug column of psql's aligned output.
func psqlSlugs(out string) []string {
	var slugs []string
	for _, l := range strings.Split(out, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 2 || strings.TrimSpace(cells[0]) == "slug" {
			continue
		}
		slugs = append(slugs, strings.TrimSpace(cells[0]))
	}
	return slugs
}

// codeBlock returns the first fenced code block of language lang after the line that starts with heading.
func codeBlock(t *testing.T, doc, heading, lang string) string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading)
	require.GreaterOrEqual(t, i, 0, "README has %q", heading)
	_, rest, ok := strings.Cut(doc[i:], "\n```"+lang+"\n")
	require.True(t, ok, "a %s block after %q", lang, heading)
	block, _, ok := strings.Cut(rest, "\n```")
	require.True(t, ok)
	return block + "\n"
}
