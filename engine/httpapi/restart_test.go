package httpapi_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"pgtenant/internal/pgtest"
)

// TestOutage_PostgresRestart restarts PostgreSQL itself under load: a server
// of the test's own (the package's is shared by every test), stopped with
// `pg_ctl stop -m fast` (every session gets FATAL 57P01, new connections are
// refused), kept down 2 s and started again on the same port; then again
// with `-m immediate`, as in a crash (sessions are cut off without a word,
// and the start recovers from the WAL). The API server keeps running through
// both, with the production defaults (pgx's cache_statement exec mode) and a
// pool of 4. Issue 5's contract: every answer that is not a 200 is 503 JSON
// PGT503 with Retry-After, given within a second; the service answers 200
// again, and /readyz turns true, within 5 s of PostgreSQL accepting
// connections again, without a restart; /readyz is false while it is down;
// and no response ever carries a row of another tenant.
func TestOutage_PostgresRestart(t *testing.T) {
	pg := pgtest.NewPrivate(t)
	s := newEnvOn(t, pg.DB).start(t, serverOpts{maxConns: 4})
	s.acmeApp().seed(t, "A")
	s.globexApp().seed(t, "G")
	for _, tt := range []struct {
		name string
		stop func(context.Context) error
	}{
		{"fast", pg.Stop},
		{"immediate", pg.StopImmediate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			underOutage(t, s, tt.stop, pg.Start).check(t, "PostgreSQL")
		})
	}
	if t.Failed() {
		if b, err := os.ReadFile(filepath.Join(pg.Dir(), "postgres.log")); err == nil {
			t.Logf("postgres.log:\n%s", b)
		}
	}
}
