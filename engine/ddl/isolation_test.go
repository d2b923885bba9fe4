package ddl_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// These tests prove that the committed migrations (migrations/, which
// `generate --check` keeps equal to what this package generates from
// policies.hcl) make PostgreSQL itself isolate tenants. They connect as a
// login role granted `app` (not a superuser, no BYPASSRLS, owns nothing), as
// one granted `reader`, and as the non-superuser table owner, for which only
// FORCE ROW LEVEL SECURITY keeps the policies on. Every tenant table of the
// declaration is covered, so a table added later is tested too.

// world is a migrated database with two tenants and one generated row per
// tenant in every tenant table.
type world struct {
	db             *pgtest.DB
	m              *schema.Model
	app, reader    *pgxpool.Pool
	owner          *pgxpool.Pool
	a, b           string                       // tenant ids
	rows           map[string][2]map[string]any // table → tenant index → the inserted row
	sharedRowCount int
	seq            int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	m := load(t, "../../policies.hcl")
	db := pgtest.New(t)
	w := &world{db: db, m: m, owner: db.Owner, rows: map[string][2]map[string]any{}}
	w.app = db.Login(t, "app")
	w.reader = db.Login(t, "reader")

	admin, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer admin.Close(context.Background())
	// The owner gets the app role's policies, as a DBA's maintenance login
	// would; FORCE must still confine it to one tenant.
	var owner string
	require.NoError(t, db.Owner.QueryRow(t.Context(), "SELECT current_user").Scan(&owner))
	_, err = admin.Exec(t.Context(), "GRANT app TO "+ddl.Ident(owner))
	require.NoError(t, err)
	// Shared reference data can only be written by a superuser: no role,
	// not even the owner, has a policy that allows writes.
	_, err = admin.Exec(t.Context(), "INSERT INTO content_language (code, name) VALUES ('en', 'English'), ('fr', 'French')")
	require.NoError(t, err)
	w.sharedRowCount = 2

	for i, name := range []string{"tenant_a", "tenant_b"} {
		var id string
		require.NoError(t, db.Owner.QueryRow(t.Context(),
			"INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ($1, $2, 'test') RETURNING id::text",
			name, strings.ToUpper(name)).Scan(&id))
		if i == 0 {
			w.a = id
		} else {
			w.b = id
		}
	}
	for i, tenant := range []string{w.a, w.b} {
		w.inTenant(t, w.app, tenant, func(tx pgx.Tx) {
			for _, tbl := range w.tenantTables() {
				row, err := w.insert(t.Context(), tx, tbl, i, nil)
				require.NoError(t, err, "seed %s", tbl.Name)
				r := w.rows[tbl.Name]
				r[i] = row
				w.rows[tbl.Name] = r
			}
		}, true)
	}
	return w
}

// tenantTables lists the tenant tables in an order where every table comes
// after the tables it references.
func (w *world) tenantTables() []*schema.Table {
	var out []*schema.Table
	done := map[string]bool{}
	for len(out) < len(w.m.Tables) {
		progress := false
		for _, t := range w.m.Tables {
			if done[t.Name] {
				continue
			}
			ready := true
			for _, fk := range t.ForeignKeys {
				if fk.RefTable != t.Name && !done[fk.RefTable] {
					ready = false
				}
			}
			if ready {
				done[t.Name] = true
				out = append(out, t)
				progress = true
			}
		}
		if !progress {
			panic("cycle between tables: extend tenantTables")
		}
	}
	return slices.DeleteFunc(out, func(t *schema.Table) bool { return t.Shared })
}

// inTenant runs fn in a transaction bound to tenant ("" binds none), then
// commits or rolls it back.
func (w *world) inTenant(t *testing.T, pool *pgxpool.Pool, tenant string, fn func(pgx.Tx), commit bool) {
	t.Helper()
	tx, err := pool.Begin(t.Context())
	require.NoError(t, err)
	defer tx.Rollback(context.Background()) //nolint:errcheck // a no-op after commit
	if tenant != "" {
		_, err = tx.Exec(t.Context(), "SELECT set_config($1, $2, true)", w.m.Tenancy.Setting, tenant)
		require.NoError(t, err)
	}
	fn(tx)
	if commit {
		require.NoError(t, tx.Commit(t.Context()))
	}
}

// values makes a valid new row for tbl: foreign keys point at the rows of
// tenant index `of`, other required columns get fresh values; override wins.
func (w *world) values(tbl *schema.Table, of int, override map[string]any) map[string]any {
	w.seq++
	vals := map[string]any{}
	fkCols := map[string]bool{}
	for _, fk := range tbl.ForeignKeys {
		target := w.m.Table(fk.RefTable)
		for i, c := range fk.Columns {
			fkCols[c] = true
			if tbl.Column(c).Null || target.Shared {
				continue
			}
			vals[c] = w.rows[fk.RefTable][of][fk.RefColumns[i]]
		}
	}
	for _, c := range tbl.Columns {
		if fkCols[c.Name] || c.Null || (c.Default != "" && !slices.Contains(tbl.PrimaryKey.Columns, c.Name)) {
			continue
		}
		switch {
		case c.Type == "uuid":
			vals[c.Name] = fmt.Sprintf("00000000-0000-4000-8000-%012d", w.seq)
		case c.Type == "text" || strings.HasPrefix(c.Type, "varchar"):
			vals[c.Name] = fmt.Sprintf("%s-%d", c.Name, w.seq)
		case c.Type == "integer" || c.Type == "bigint" || c.Type == "smallint":
			vals[c.Name] = 1
		case c.Type == "boolean":
			vals[c.Name] = false
		case c.Type == "timestamptz":
			vals[c.Name] = time.Now()
		case c.Type == "jsonb":
			vals[c.Name] = "{}"
		default:
			panic("isolation test: give a value for type " + c.Type)
		}
	}
	maps.Copy(vals, override)
	return vals
}

// insert inserts a new row into tbl and returns it as stored.
func (w *world) insert(ctx context.Context, tx pgx.Tx, tbl *schema.Table, of int, override map[string]any) (map[string]any, error) {
	vals := w.values(tbl, of, override)
	cols := slices.Sorted(maps.Keys(vals))
	args := make([]any, len(cols))
	ph := make([]string, len(cols))
	for i, c := range cols {
		args[i] = vals[c]
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	sql := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) RETURNING *", ddl.TableName(tbl), ddl.Idents(cols), strings.Join(ph, ", "))
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectExactlyOneRow(rows, pgx.RowToMap)
}

func count(t *testing.T, tx pgx.Tx, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, tx.QueryRow(t.Context(), sql, args...).Scan(&n))
	return n
}

func exec(t *testing.T, tx pgx.Tx, sql string, args ...any) int64 {
	t.Helper()
	tag, err := tx.Exec(t.Context(), sql, args...)
	require.NoError(t, err, sql)
	return tag.RowsAffected()
}

// sqlstate returns the SQLSTATE of a PostgreSQL error, "" for nil.
func sqlstate(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	if err != nil {
		return "not a PostgreSQL error: " + err.Error()
	}
	return ""
}

// firstData returns a non-key column that a plain UPDATE can set to itself.
func firstData(tbl *schema.Table) string {
	for _, c := range tbl.Columns {
		if !slices.Contains(tbl.PrimaryKey.Columns, c.Name) {
			return c.Name
		}
	}
	return tbl.PrimaryKey.Columns[0]
}

func TestIsolation_Catalog(t *testing.T) {
	w := newWorld(t)
	for _, tbl := range w.m.Tables {
		var rls, force bool
		require.NoError(t, w.owner.QueryRow(t.Context(),
			"SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass", ddl.TableName(tbl)).Scan(&rls, &force))
		assert.True(t, rls, "%s has RLS enabled", tbl.Name)
		assert.True(t, force, "%s has RLS forced", tbl.Name)
		if tbl.Shared {
			continue
		}
		var permissive string
		require.NoError(t, w.owner.QueryRow(t.Context(),
			"SELECT permissive FROM pg_policies WHERE schemaname = 'public' AND tablename = $1 AND policyname = $2",
			tbl.Name, schema.IsolationPolicy).Scan(&permissive))
		assert.Equal(t, "RESTRICTIVE", permissive, tbl.Name)
	}
	var super, bypass bool
	require.NoError(t, w.app.QueryRow(t.Context(),
		"SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super, &bypass))
	assert.False(t, super || bypass, "the app login must not bypass RLS, or these tests prove nothing")
}

// TestIsolation_TenantTables runs every check for every tenant table, as the
// app login and as the table owner.
func TestIsolation_TenantTables(t *testing.T) {
	w := newWorld(t)
	for _, tbl := range w.tenantTables() {
		t.Run(tbl.Name, func(t *testing.T) {
			for _, who := range []struct {
				name string
				pool *pgxpool.Pool
			}{{"app", w.app}, {"owner", w.owner}} {
				t.Run(who.name, func(t *testing.T) { w.checkTable(t, tbl, who.pool, who.name == "owner") })
			}
		})
	}
}

func (w *world) checkTable(t *testing.T, tbl *schema.Table, pool *pgxpool.Pool, isOwner bool) {
	name := ddl.TableName(tbl)
	col := ddl.Ident(w.m.Tenancy.Column)
	data := ddl.Ident(firstData(tbl))

	t.Run("sees only its own rows", func(t *testing.T) {
		w.inTenant(t, pool, w.a, func(tx pgx.Tx) {
			assert.Equal(t, 1, count(t, tx, "SELECT count(*) FROM "+name))
			assert.Equal(t, 0, count(t, tx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s <> $1", name, col), w.a))
			assert.Equal(t, 0, count(t, tx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = $1", name, col), w.b))
		}, false)
	})
	t.Run("cannot update or delete another tenant's rows", func(t *testing.T) {
		w.inTenant(t, pool, w.a, func(tx pgx.Tx) {
			assert.Zero(t, exec(t, tx, fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = $1", name, data, data, col), w.b))
			assert.Equal(t, int64(1), exec(t, tx, fmt.Sprintf("UPDATE %s SET %s = %s", name, data, data)),
				"an unfiltered update reaches only the tenant's own row")
			assert.Zero(t, exec(t, tx, fmt.Sprintf("DELETE FROM %s WHERE %s = $1", name, col), w.b))
		}, false)
		w.inTenant(t, w.owner, w.b, func(tx pgx.Tx) {
			assert.Equal(t, 1, count(t, tx, "SELECT count(*) FROM "+name), "B's row is still there")
		}, false)
	})
	t.Run("cannot insert a row for another tenant", func(t *testing.T) {
		w.inTenant(t, pool, w.a, func(tx pgx.Tx) {
			_, err := w.insert(t.Context(), tx, tbl, 1, map[string]any{w.m.Tenancy.Column: w.b})
			// The app role may not even name the tenant column (column
			// grants); the owner may, and RLS's WITH CHECK refuses the row.
			assert.Equal(t, "42501", sqlstate(err), "%v", err)
		}, false)
	})
	t.Run("cannot move a row to another tenant", func(t *testing.T) {
		w.inTenant(t, pool, w.a, func(tx pgx.Tx) {
			_, err := tx.Exec(t.Context(), fmt.Sprintf("UPDATE %s SET %s = $1", name, col), w.b)
			assert.Equal(t, "42501", sqlstate(err), "%v", err)
		}, false)
	})
	t.Run("no tenant means no rows", func(t *testing.T) {
		for _, setting := range []string{"", "empty"} {
			w.inTenant(t, pool, "", func(tx pgx.Tx) {
				if setting == "empty" {
					exec(t, tx, "SELECT set_config($1, '', true)", w.m.Tenancy.Setting)
				}
				assert.Zero(t, count(t, tx, "SELECT count(*) FROM "+name))
				assert.Zero(t, exec(t, tx, fmt.Sprintf("UPDATE %s SET %s = %s", name, data, data)))
				assert.Zero(t, exec(t, tx, "DELETE FROM "+name))
				_, err := w.insert(t.Context(), tx, tbl, 0, nil)
				assert.Contains(t, []string{"42501", "23502"}, sqlstate(err), "an insert without a tenant is refused: %v", err)
			}, false)
		}
	})
	t.Run("a reused connection keeps no tenant", func(t *testing.T) {
		conn, err := pool.Acquire(t.Context())
		require.NoError(t, err)
		defer conn.Release()
		tx, err := conn.Begin(t.Context())
		require.NoError(t, err)
		exec(t, tx, "SELECT set_config($1, $2, true)", w.m.Tenancy.Setting, w.a)
		assert.Equal(t, 1, count(t, tx, "SELECT count(*) FROM "+name))
		require.NoError(t, tx.Commit(t.Context()))
		var n int
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM "+name).Scan(&n))
		assert.Zero(t, n, "the setting reads as '' after its transaction, which must mean no rows")
	})
	t.Run("cannot reference another tenant's row", func(t *testing.T) {
		for _, fk := range tbl.ForeignKeys {
			target := w.m.Table(fk.RefTable)
			if target.Shared {
				continue
			}
			override := map[string]any{}
			for i, c := range fk.Columns {
				override[c] = w.rows[fk.RefTable][0][fk.RefColumns[i]] // A's row
			}
			w.inTenant(t, pool, w.b, func(tx pgx.Tx) {
				_, err := w.insert(t.Context(), tx, tbl, 1, override)
				assert.Equal(t, "23503", sqlstate(err), "%s → %s with A's key as B: %v", fk.Name, fk.RefTable, err)
			}, false)
		}
	})
	if !isOwner {
		t.Run("the tenant column is never granted for writes", func(t *testing.T) {
			w.inTenant(t, pool, w.a, func(tx pgx.Tx) {
				_, err := tx.Exec(t.Context(), fmt.Sprintf("UPDATE %s SET %s = %s", name, col, col))
				assert.Equal(t, "42501", sqlstate(err), "%v", err)
			}, false)
		})
	}
}

// TestIsolation_Reader checks that the reader role sees what its policies
// allow and writes nothing.
func TestIsolation_Reader(t *testing.T) {
	w := newWorld(t)
	// One published page for A: the reader sees it and nothing else of A's
	// pages, and no media (none is a published page's hero).
	w.inTenant(t, w.app, w.a, func(tx pgx.Tx) {
		_, err := w.insert(t.Context(), tx, w.m.Table("webpages_webpage"), 0,
			map[string]any{"is_published": true, "published_at": time.Now()})
		require.NoError(t, err)
	}, true)
	want := map[string]int{"webpages_webpage": 1, "file_manager_mediafile": 0}
	for _, tbl := range w.tenantTables() {
		t.Run(tbl.Name, func(t *testing.T) {
			n, restricted := want[tbl.Name]
			if !restricted {
				n = 1
			}
			w.inTenant(t, w.reader, w.a, func(tx pgx.Tx) {
				assert.Equal(t, n, count(t, tx, "SELECT count(*) FROM "+ddl.TableName(tbl)))
			}, false)
			w.inTenant(t, w.reader, w.b, func(tx pgx.Tx) {
				assert.Equal(t, 0, count(t, tx, fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = $1",
					ddl.TableName(tbl), ddl.Ident(w.m.Tenancy.Column)), w.a))
			}, false)
			w.inTenant(t, w.reader, w.a, func(tx pgx.Tx) {
				_, err := w.insert(t.Context(), tx, tbl, 0, nil)
				assert.Equal(t, "42501", sqlstate(err), "reader cannot insert: %v", err)
			}, false)
			w.inTenant(t, w.reader, w.a, func(tx pgx.Tx) {
				_, err := tx.Exec(t.Context(), "DELETE FROM "+ddl.TableName(tbl))
				assert.Equal(t, "42501", sqlstate(err), "reader cannot delete: %v", err)
			}, false)
		})
	}
	// With the page published, its hero image becomes visible to readers.
	w.inTenant(t, w.app, w.a, func(tx pgx.Tx) {
		exec(t, tx, "UPDATE webpages_webpage SET hero_media_id = $1 WHERE is_published", w.rows["file_manager_mediafile"][0]["id"])
	}, true)
	w.inTenant(t, w.reader, w.a, func(tx pgx.Tx) {
		assert.Equal(t, 1, count(t, tx, "SELECT count(*) FROM file_manager_mediafile"))
	}, false)
}

// TestIsolation_SharedTables checks that shared tables are readable by every
// role whatever the tenant, and writable by none, not even the owner.
func TestIsolation_SharedTables(t *testing.T) {
	w := newWorld(t)
	for _, tbl := range w.m.Tables {
		if !tbl.Shared {
			continue
		}
		name := ddl.TableName(tbl)
		for _, who := range []struct {
			name string
			pool *pgxpool.Pool
		}{{"app", w.app}, {"reader", w.reader}, {"owner", w.owner}} {
			t.Run(tbl.Name+"/"+who.name, func(t *testing.T) {
				for _, tenant := range []string{"", w.a} {
					w.inTenant(t, who.pool, tenant, func(tx pgx.Tx) {
						assert.Equal(t, w.sharedRowCount, count(t, tx, "SELECT count(*) FROM "+name))
					}, false)
				}
				w.inTenant(t, who.pool, w.a, func(tx pgx.Tx) {
					_, err := w.insert(t.Context(), tx, tbl, 0, nil)
					assert.Equal(t, "42501", sqlstate(err), "%v", err)
				}, false)
				w.inTenant(t, who.pool, w.a, func(tx pgx.Tx) {
					tag, err := tx.Exec(t.Context(), fmt.Sprintf("UPDATE %s SET %s = %[2]s", name, ddl.Ident(firstData(tbl))))
					if err == nil {
						assert.Zero(t, tag.RowsAffected(), "the owner's update reaches no row")
					} else {
						assert.Equal(t, "42501", sqlstate(err), "%v", err)
					}
				}, false)
			})
		}
	}
}

// TestIsolation_ViewsAndFunctions: the declared view and functions run as the caller, so each tenant, through
// each role, sees and changes only its own rows; a reader cannot execute what is granted to app only; nobody
// else can execute them (EXECUTE is revoked from PUBLIC).
func TestIsolation_ViewsAndFunctions(t *testing.T) {
	w := newWorld(t)
	pages := w.m.Table("webpages_webpage")
	ids := [2]any{w.rows[pages.Name][0]["id"], w.rows[pages.Name][1]["id"]}
	for _, tenant := range []string{w.a, w.b} {
		w.inTenant(t, w.app, tenant, func(tx pgx.Tx) {
			assert.Zero(t, count(t, tx, "SELECT count(*) FROM published_pages"), "no page is published yet")
		}, false)
	}
	// A publishes its page through the function; B cannot publish A's page.
	w.inTenant(t, w.app, w.a, func(tx pgx.Tx) {
		var id any
		require.NoError(t, tx.QueryRow(t.Context(), "SELECT (publish_page($1)).id", ids[0]).Scan(&id))
	}, true)
	w.inTenant(t, w.app, w.b, func(tx pgx.Tx) {
		_, err := tx.Exec(t.Context(), "SELECT publish_page($1)", ids[0])
		assert.Equal(t, "P0002", sqlstate(err), "B cannot see A's page to publish it: %v", err)
	}, false)
	for _, pool := range []*pgxpool.Pool{w.app, w.reader} {
		w.inTenant(t, pool, w.a, func(tx pgx.Tx) {
			assert.Equal(t, 1, count(t, tx, "SELECT count(*) FROM published_pages"))
			assert.Equal(t, 1, count(t, tx, "SELECT count(*) FROM search_pages($1)", ""))
		}, false)
		w.inTenant(t, pool, w.b, func(tx pgx.Tx) {
			assert.Zero(t, count(t, tx, "SELECT count(*) FROM published_pages"))
			assert.Zero(t, count(t, tx, "SELECT count(*) FROM search_pages($1)", ""))
		}, false)
		w.inTenant(t, pool, "", func(tx pgx.Tx) {
			assert.Zero(t, count(t, tx, "SELECT count(*) FROM published_pages"), "no tenant, no rows")
		}, false)
	}
	w.inTenant(t, w.reader, w.a, func(tx pgx.Tx) {
		_, err := tx.Exec(t.Context(), "SELECT publish_page($1)", ids[0])
		assert.Equal(t, "42501", sqlstate(err), "EXECUTE is granted to app only: %v", err)
	}, false)
	var public bool
	require.NoError(t, w.owner.QueryRow(t.Context(),
		"SELECT has_function_privilege('public', 'public.search_pages(text)', 'EXECUTE')").Scan(&public))
	assert.False(t, public, "EXECUTE is revoked from PUBLIC")
}
