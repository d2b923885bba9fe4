package main

import (
	"testing"

	"pgtenant/internal/pgtest"
)

// TestMain runs the tests against one PostgreSQL cluster for the package (pgtest). No test reads or changes the
// process's environment: each runs the CLI with an environment of its own (cliEnv), so the settings of the shell
// the tests were started from (a DATABASE_URL exported after `make run`, say) never leak in, and tests run in
// parallel.
func TestMain(m *testing.M) {
	pgtest.Run(m)
}
