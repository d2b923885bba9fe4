package pgbouncer_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pgbouncer"
	"pgtenant/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

// TestExecModes sends pgtx's kind of batch (transaction-local set_config, then a query reading it) through
// PgBouncer in transaction pooling mode, from more clients than it has server connections, in every pgx exec
// mode. The modes that never name a prepared statement (exec, simple_protocol) must work; the others depend on
// luck, since a statement prepared on one server connection is unknown on the next, and are only logged.
func TestExecModes(t *testing.T) {
	db := pgtest.New(t)
	login := db.LoginURL(t)
	pgb := pgbouncer.New(t, login)
	modes := []struct {
		name string
		mode pgx.QueryExecMode
		must bool
	}{
		{"cache_statement", pgx.QueryExecModeCacheStatement, false},
		{"cache_describe", pgx.QueryExecModeCacheDescribe, false},
		{"describe_exec", pgx.QueryExecModeDescribeExec, false},
		{"exec", pgx.QueryExecModeExec, true},
		{"simple_protocol", pgx.QueryExecModeSimpleProtocol, true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(pgb.URL(login))
			require.NoError(t, err)
			cfg.ConnConfig.DefaultQueryExecMode = m.mode
			cfg.MaxConns = 6
			pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
			require.NoError(t, err)
			defer pool.Close()
			errs := batches(t.Context(), pool, 6, 50)
			if m.must {
				assert.Empty(t, errs)
			} else {
				t.Logf("%s: %d of 300 batches failed; first: %v", m.name, len(errs), first(errs))
			}
		})
	}
}

// batches runs workers × n batches, each setting app.t transaction-locally to a value of its own and reading it
// back, and returns the errors (a wrong value read back is one).
func batches(ctx context.Context, pool *pgxpool.Pool, workers, n int) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				want := string(rune('a'+w)) + "-" + string(rune('0'+i%10))
				b := &pgx.Batch{}
				b.Queue("SELECT set_config('app.t', $1, true)", want)
				b.Queue("SELECT coalesce(current_setting('app.t', true), '') || $1::text", "")
				br := pool.SendBatch(ctx, b)
				_, err := br.Exec()
				var got string
				if err == nil {
					err = br.QueryRow().Scan(&got)
				}
				if cerr := br.Close(); err == nil {
					err = cerr
				}
				if err == nil && got != want {
					err = &mismatch{got: got, want: want}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}

type mismatch struct{ got, want string }

func (m *mismatch) Error() string { return "read back " + m.got + ", want " + m.want }

func first(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errs[0]
}
