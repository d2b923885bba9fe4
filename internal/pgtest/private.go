package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"pgtenant/internal/pglocal"
)

// Private is a PostgreSQL server started for one test alone, with one migrated database on it (the embedded DB,
// as New returns it). The test may stop and start the server, a real database outage, without disturbing the
// other tests of its package, which share the test binary's server.
type Private struct {
	*DB

	c   *cluster
	srv *pglocal.Server
}

// NewPrivate starts a throwaway server from the local PostgreSQL binaries for t alone, even when
// TEST_DATABASE_URL names a shared cluster (a test must not stop that one), and returns it with a fresh database
// that has the repository's migrations applied. The server is stopped and removed when t ends. Without binaries
// the test skips, or fails when PGTEST_REQUIRED=1.
func NewPrivate(t testing.TB) *Private {
	t.Helper()
	if _, err := pglocal.BinDir(); err != nil {
		if errors.Is(err, pglocal.ErrNoBinaries) && os.Getenv("PGTEST_REQUIRED") != "1" {
			t.Skipf("a test that restarts PostgreSQL needs a server of its own, from the local binaries: %v", err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), setupTimeout)
	defer cancel()
	begin := time.Now()
	c := &cluster{}
	// Registered first, so that it runs last: after the database is dropped and its pools are closed.
	t.Cleanup(func() {
		if err := c.close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	if err := c.startLocal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.setup(ctx, c.local.URL("postgres")); err != nil {
		t.Fatal(err)
	}
	template, err := c.buildTemplate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pgtest: private server on port %d with template %s ready in %s", c.local.Port, template,
		time.Since(begin).Round(time.Millisecond))
	return &Private{DB: c.create(t, template), c: c, srv: c.local}
}

// Stop shuts the server down with `pg_ctl stop -m fast` and waits until it is down: every connection is closed
// (sessions get FATAL 57P01 admin_shutdown) and new ones are refused until Start.
func (p *Private) Stop(ctx context.Context) error {
	if err := p.srv.Stop(ctx); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// StopImmediate shuts the server down with `pg_ctl stop -m immediate`, as a crash would: sessions are cut off
// without a shutdown checkpoint, and Start then recovers from the WAL.
func (p *Private) StopImmediate(ctx context.Context) error {
	if err := p.srv.StopImmediate(ctx); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	return nil
}

// Start starts the stopped server again with `pg_ctl start`, on the same port and data directory, and returns
// once it accepts connections. pgtest's own pools (DB.Owner, and the superuser's that drops the database) are
// emptied, so that they do not hand out connections of the stopped server; pools a test opened are its own.
func (p *Private) Start(ctx context.Context) error {
	srv, _, err := pglocal.Start(ctx, pglocal.Options{Dir: p.srv.Dir, Port: p.srv.Port})
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	p.srv, p.c.local = srv, srv
	p.c.admin.Reset()
	p.Owner.Reset()
	return nil
}

// Dir is the directory of the server's files: its data directory is Dir/data and its log Dir/postgres.log.
func (p *Private) Dir() string { return p.srv.Dir }
