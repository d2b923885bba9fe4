package main

import (
	"os"
	"testing"

	"pgtenant/internal/pgtest"
)

// TestMain runs the tests without the pgtenant settings of the environment the tests were started from (a
// DATABASE_URL exported after `make run`, say): each test sets what it needs with t.Setenv, and nothing else
// leaks in. TMPDIR and GOGC stay: they are the machine's, and tests that depend on TMPDIR set their own.
func TestMain(m *testing.M) {
	for _, s := range settings {
		if s.name != "TMPDIR" && s.name != "GOGC" {
			_ = os.Unsetenv(s.name)
		}
	}
	pgtest.Run(m)
}
