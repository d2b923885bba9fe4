package verify_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADME_Checklist: README's production checklist maps each of the fifteen items to a check and to tests,
// and every test it names exists.
func TestREADME_Checklist(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n### The checklist, item by item\n")
	require.True(t, ok, "README has the section")
	section, _, _ = strings.Cut(section, "\n### ")

	tests := map[string]bool{}
	require.NoError(t, filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range regexp.MustCompile(`(?m)^func (Test\w+)\(`).FindAllStringSubmatch(string(b), -1) {
				tests[m[1]] = true
			}
		}
		return nil
	}))

	rows := regexp.MustCompile(`(?m)^\| (\d+) \| (.+?) \| (.+?) \| (.+?) \|$`).FindAllStringSubmatch(section, -1)
	require.Len(t, rows, 15, "fifteen items")
	for i, r := range rows {
		assert.Equal(t, strings.TrimSpace(r[1]), itoa(i+1))
		named := regexp.MustCompile("`(Test\\w+)`").FindAllStringSubmatch(r[4], -1)
		assert.NotEmpty(t, named, "item %s names its tests", r[1])
		for _, n := range named {
			assert.True(t, tests[n[1]], "item %s names %s, which does not exist", r[1], n[1])
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
