package httpapi_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// citusCase is the repository's declaration in its Citus form, with its golden first migration.
const citusCase = "../ddl/testdata/citus/create/cms"

// TestCitus_HTTPIsolation runs the HTTP isolation suite against the API served on a Citus coordinator, with the
// Citus profile's migrations and acme and globex on different workers; then the reader token and a request with no
// tenant.
func TestCitus_HTTPIsolation(t *testing.T) {
	c := pgtest.NewCitus(t)
	db := c.DB(t)
	c.Migrate(t, filepath.Join(citusCase, "want.up.sql"))
	declared, _, diags := schema.Load(filepath.Join(citusCase, "input.hcl"))
	require.False(t, diags.HasErrors(), "%s", diags)
	e := newEnvFor(t, db, declared)
	require.True(t, e.declared.Tenancy.Citus())

	// globex to a shard of its own on the worker acme is not on, if they share one (README "Scaling out on Citus").
	_, err := db.Owner.Exec(t.Context(), `SELECT isolate_tenant_to_new_shard('content_namespace', $1::uuid, 'CASCADE',
		shard_transfer_mode => 'block_writes')`, e.globex.ID)
	require.NoError(t, err)
	_, err = db.Owner.Exec(t.Context(), `WITH sh AS (SELECT identifier, get_shard_id_for_distribution_column('content_namespace', id) AS shard FROM pgtenant.tenants),
		node AS (SELECT sh.identifier, sh.shard, n.nodename, n.nodeport FROM sh JOIN pg_dist_placement p ON p.shardid = sh.shard JOIN pg_dist_node n ON n.groupid = p.groupid)
		SELECT citus_move_shard_placement(g.shard, g.nodename, g.nodeport, d.nodename, d.nodeport, shard_transfer_mode => 'block_writes')
		  FROM node g JOIN node a ON a.nodeport = g.nodeport JOIN pg_dist_node d ON d.groupid <> 0 AND d.nodeport <> g.nodeport
		 WHERE g.identifier = 'globex' AND a.identifier = 'acme'`)
	require.NoError(t, err)
	var workers int
	require.NoError(t, db.Owner.QueryRow(t.Context(), `SELECT count(DISTINCT n.nodeport) FROM pgtenant.tenants t
		JOIN pg_dist_placement p ON p.shardid = get_shard_id_for_distribution_column('content_namespace', t.id)
		JOIN pg_dist_node n ON n.groupid = p.groupid WHERE t.identifier IN ('acme', 'globex')`).Scan(&workers))
	require.Equal(t, 2, workers, "acme and globex on different workers")

	s := e.start(t, serverOpts{})
	isolationSuite(t, s)

	t.Run("the reader token sees acme's published pages only", func(t *testing.T) {
		r := s.as(e.tokReader, e.acme.Identifier).get(t, "/webpages_webpage?select=tenant_id,is_published").requireStatus(t, http.StatusOK)
		for _, row := range r.rows(t) {
			assert.Equal(t, e.acme.ID, row["tenant_id"])
			assert.Equal(t, true, row["is_published"], fmt.Sprint(row))
		}
	})
	t.Run("no tenant: refused", func(t *testing.T) {
		s.as(e.tokAcme, "").get(t, "/webpages_webpage").requireStatus(t, http.StatusForbidden)
	})
}
