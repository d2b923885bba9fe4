package verify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompareBackups: two backups compare equal when their rows are, whatever their headers and trailers say
// (they are made at different times), and the first differing row is named by table and position.
func TestCompareBackups(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) *os.File {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
		f, err := os.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		return f
	}
	const rows = `{"table":"a"}` + "\n1\tx\n2\ty\n\\.\n" + `{"table":"b"}` + "\n1\tz\n\\.\n"
	a := file("a", `{"format":"pgtenant-backup","created_at":"1"}`+"\n"+rows+`{"format":"pgtenant-backup","rows":3}`+"\n"+`{"sha256":"aa"}`+"\n")
	b := file("b", `{"format":"pgtenant-backup","created_at":"2"}`+"\n"+rows+`{"format":"pgtenant-backup","rows":3}`+"\n"+`{"sha256":"bb"}`+"\n")
	assert.NoError(t, compareBackups(a, b))

	c := file("c", `{"format":"pgtenant-backup"}`+"\n"+`{"table":"a"}`+"\n1\tx\n2\tY\n\\.\n"+`{"table":"b"}`+"\n1\tz\n\\.\n")
	assert.ErrorContains(t, compareBackups(a, c), `{"table":"a"}, row 2`)
	d := file("d", `{"format":"pgtenant-backup"}`+"\n"+`{"table":"a"}`+"\n1\tx\n\\.\n"+`{"table":"b"}`+"\n1\tz\n\\.\n")
	assert.ErrorContains(t, compareBackups(a, d), `{"table":"a"}, row 2`, "a missing row")
}
