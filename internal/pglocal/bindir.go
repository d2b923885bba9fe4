package pglocal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned by BinDir (and so by Start) when no PostgreSQL server binaries are installed.
var ErrNoBinaries = errors.New("pglocal: no PostgreSQL server binaries (initdb, pg_ctl) found")

// debianBinGlob is where Debian and Ubuntu install each major version's server binaries, which are not on PATH.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// BinDir returns the directory that holds the PostgreSQL server binaries (initdb, pg_ctl, postgres). It tries, in
// order, `pg_config --bindir`, the directory of an initdb found on PATH, and the newest /usr/lib/postgresql/*/bin.
// Each candidate must contain initdb and pg_ctl: on Debian, pg_config comes with libpq-dev and may name a bindir
// whose server package is not installed. Returns an error wrapping ErrNoBinaries, saying how to install them, if
// none does.
func BinDir() (string, error) {
	return findBinDir(exec.LookPath, debianBinGlob)
}

// findBinDir is BinDir with its two look-ups passed in, so that the not-found path can be tested on a machine that
// has PostgreSQL installed.
func findBinDir(lookPath func(string) (string, error), glob string) (string, error) {
	var candidates []string
	if pgConfig, err := lookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	if initdb, err := lookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
	}
	candidates = append(candidates, newestFirst(glob)...)
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (looked at `pg_config --bindir`, initdb on PATH and %s): install the PostgreSQL "+
		"server, e.g. `apt-get install postgresql-15` (Debian/Ubuntu) or `brew install postgresql@15` (macOS), "+
		"or put its bin directory on PATH", ErrNoBinaries, glob)
}

// newestFirst returns the directories matching glob (one path element of which is a major version number such as
// 15), highest version first.
func newestFirst(glob string) []string {
	dirs, _ := filepath.Glob(glob) // the only possible error is a malformed pattern, and ours is constant
	version := func(dir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	return dirs
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
