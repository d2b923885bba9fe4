// Package golden compares test output with files under testdata and rewrites
// them when the test binary runs with -update. It is only imported by tests.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files with the current output")

// Check compares got with the file at path, or writes it there under -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test with -update to create it")
	assert.Equal(t, string(want), string(got), "output differs from %s; run go test with -update and review the diff", path)
}

// Cases returns the case directories under dir and fails the test when there
// are none, so that a testdata tree cannot silently stop testing anything.
func Cases(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	require.NotEmpty(t, out, "no test cases under %s", dir)
	return out
}
