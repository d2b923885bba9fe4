package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"pgtenant/engine/migrate"
	"pgtenant/internal/pglocal"
)

// CitusDatabase is the database Citus lives in on every node of a Citus test cluster.
const CitusDatabase = "pgtenant"

// Citus is a three-node Citus cluster on loopback, started for one test: a coordinator and two workers, each a
// private pglocal server with shared_preload_libraries = 'citus', the citus extension in CitusDatabase, and the
// workers registered on the coordinator. Loopback connections need no password (the coordinator connects to the
// workers as whichever role runs a query), so every role created on the coordinator can be used on the workers.
type Citus struct {
	Coordinator *pglocal.Server
	Workers     []*pglocal.Server
}

// CoordinatorURL is the superuser's URL of CitusDatabase on the coordinator: for setup and inspection only.
func (c *Citus) CoordinatorURL() string { return c.Coordinator.URL(CitusDatabase) }

// WorkerURL is the superuser's URL of CitusDatabase on worker i.
func (c *Citus) WorkerURL(i int) string { return c.Workers[i].URL(CitusDatabase) }

// citusSettings are the nodes' extra settings. max_prepared_transactions: writes to reference tables commit on
// every node with two-phase commit. node_conninfo: the nodes talk over loopback without TLS (with TLS preferred,
// libpq in the server reads client certificates from the HOME of whoever started the test).
var citusSettings = []string{
	"shared_preload_libraries = 'citus'",
	"max_prepared_transactions = 100",
	"citus.node_conninfo = 'sslmode=disable'",
}

// CitusInstalled reports whether the local PostgreSQL has the Citus extension, and if not, why.
func CitusInstalled() (bool, string) {
	bin, err := pglocal.BinDir()
	if err != nil {
		return false, err.Error()
	}
	lib := filepath.Join(filepath.Dir(bin), "lib", "citus.so")
	if _, err := os.Stat(lib); err != nil {
		return false, fmt.Sprintf("Citus is not installed (no %s): run `sh .ci/deps citus` (builds it from "+
			"../shared/citus), or `make test`, which does when ../shared/citus is there", lib)
	}
	return true, ""
}

// NewCitus starts a coordinator and two workers for t, and stops and removes them when t ends. Without Citus the
// test skips, saying so, unless PGTEST_CITUS=1 (CI), where it fails.
func NewCitus(t testing.TB) *Citus {
	t.Helper()
	if ok, why := CitusInstalled(); !ok {
		if os.Getenv("PGTEST_CITUS") == "1" {
			t.Fatalf("pgtest: PGTEST_CITUS=1 but %s", why)
		}
		t.Skipf("skipping the Citus suite: %s", why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*setupTimeout)
	defer cancel()
	begin := time.Now()
	dir, err := tempDir(ctx, tempPrefix+"citus-")
	if err != nil {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		t.Fatal(err)
	}
	c := &Citus{}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var errs []error
		for _, s := range append([]*pglocal.Server{c.Coordinator}, c.Workers...) {
			if s != nil {
				errs = append(errs, s.Stop(ctx))
			}
		}
		if err := errors.Join(errs...); err != nil {
			t.Errorf("pgtest: stop the Citus cluster: %v", err)
			return
		}
		_ = os.RemoveAll(dir)
	})
	names := []string{"coordinator", "worker1", "worker2"}
	servers := make([]*pglocal.Server, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			servers[i], _, errs[i] = pglocal.Start(ctx, pglocal.Options{
				Dir: filepath.Join(dir, name), Settings: citusSettings, TrustLoopback: true,
			})
		})
	}
	wg.Wait()
	c.Coordinator, c.Workers = servers[0], servers[1:]
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("pgtest: start the Citus nodes: %v", err)
	}
	for _, s := range servers {
		if err := execAll(ctx, s.URL("postgres"), "CREATE DATABASE "+CitusDatabase); err != nil {
			t.Fatal(err)
		}
		if err := execAll(ctx, s.URL(CitusDatabase), "CREATE EXTENSION citus"); err != nil {
			t.Fatal(err)
		}
	}
	register := []string{fmt.Sprintf("SELECT citus_set_coordinator_host('127.0.0.1', %d)", c.Coordinator.Port)}
	for _, w := range c.Workers {
		register = append(register, fmt.Sprintf("SELECT citus_add_node('127.0.0.1', %d)", w.Port))
	}
	if err := execAll(ctx, c.CoordinatorURL(), register...); err != nil {
		t.Fatal(err)
	}
	t.Logf("pgtest: Citus coordinator on port %d, workers on %d and %d, ready in %s", c.Coordinator.Port,
		c.Workers[0].Port, c.Workers[1].Port, time.Since(begin).Round(time.Millisecond))
	return c
}

// execAll runs statements one by one on one connection to url.
func execAll(ctx context.Context, url string, statements ...string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(context.Background())
	for _, sql := range statements {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("pgtest: %s: %w", strings.SplitN(sql, "(", 2)[0], err)
		}
	}
	return nil
}

// DB returns the cluster's CitusDatabase on the coordinator as a *DB, for tests written against pgtest.DB (the
// HTTP suite): the caller applies the migrations. Owner is the coordinator's superuser, since Citus creates the
// shards on the workers as the tables' owner, which there is no one else on a fresh cluster; LoginURL makes
// NOSUPERUSER NOBYPASSRLS logins as on a single server (Citus sends the role to the workers).
func (c *Citus) DB(t testing.TB) *DB {
	t.Helper()
	u, err := url.Parse(c.CoordinatorURL())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	admin, err := pgxpool.New(t.Context(), c.CoordinatorURL())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(admin.Close)
	return &DB{Name: CitusDatabase, AdminURL: c.CoordinatorURL(), Owner: admin, OwnerURL: c.CoordinatorURL(),
		c: &cluster{adminURL: u, admin: admin}}
}

// Migrate applies migrations to the coordinator as the superuser, with `pgtenant migrate up`'s code (which sends
// a Citus migration one statement at a time): each of ups is an up file whose down file sits beside it, its name
// with ".up." for ".down." (golden files: want.up.sql, want.down.sql), applied in the order given.
func (c *Citus) Migrate(t testing.TB, ups ...string) {
	t.Helper()
	dir := t.TempDir()
	for i, up := range ups {
		for _, half := range []string{"up", "down"} {
			sql, err := os.ReadFile(strings.Replace(up, ".up.", "."+half+".", 1))
			if err != nil {
				t.Fatalf("pgtest: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%06d_m.%s.sql", i+1, half)), sql, 0o600); err != nil {
				t.Fatalf("pgtest: %v", err)
			}
		}
	}
	if _, _, err := migrate.Up(t.Context(), c.CoordinatorURL(), dir); err != nil {
		t.Fatalf("pgtest: migrate the Citus cluster: %v", err)
	}
}
