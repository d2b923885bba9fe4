package pgtest_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"pgtenant/internal/pgtest"
)

// TestNewCitus: the three nodes run, the coordinator knows both workers, and a distributed table's shards are
// spread over them.
func TestNewCitus(t *testing.T) {
	t.Parallel()
	c := pgtest.NewCitus(t)
	conn, err := pgx.Connect(t.Context(), c.CoordinatorURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var workers int
	if err := conn.QueryRow(t.Context(),
		"SELECT count(*) FROM pg_dist_node WHERE noderole = 'primary' AND groupid <> 0").Scan(&workers); err != nil {
		t.Fatal(err)
	}
	if workers != 2 {
		t.Fatalf("pg_dist_node lists %d workers, want 2", workers)
	}
	for _, sql := range []string{
		"CREATE TABLE t (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id))",
		"SELECT create_distributed_table('t', 'tenant_id')",
		"INSERT INTO t SELECT gen_random_uuid(), g FROM generate_series(1, 20) g",
	} {
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var nodes, rows int
	if err := conn.QueryRow(t.Context(),
		"SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 't'::regclass").Scan(&nodes); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM t").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if nodes != 2 || rows != 20 {
		t.Fatalf("shards on %d nodes, %d rows; want 2 nodes, 20 rows", nodes, rows)
	}
}
