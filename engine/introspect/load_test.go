package introspect_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/introspect"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

func declaration(t testing.TB) *schema.Model {
	t.Helper()
	m, _, diags := schema.Load("../../policies.hcl")
	require.False(t, diags.HasErrors(), diags.Error())
	return m
}

// tableView is what the model read back must share with the declaration. Types are compared apart, with
// SameType; defaults only by presence (PostgreSQL prints 'x'::character varying for the declared "x").
type tableView struct {
	Name        string
	Shared      bool
	Comment     string
	Columns     []string // name, nullability, default present, comment
	PrimaryKey  []string
	Unique      []string // name(columns)
	ForeignKeys []string // name(columns) → table(columns) action
	Checks      []string // names
}

func view(m *schema.Model) []tableView {
	var out []tableView
	for _, t := range m.Tables {
		v := tableView{Name: t.Name, Shared: t.Shared, Comment: t.Comment}
		for _, c := range t.Columns {
			v.Columns = append(v.Columns,
				fmt.Sprintf("%s null=%t default=%t comment=%q", c.Name, c.Null, c.Default != "", c.Comment))
		}
		if t.PrimaryKey != nil {
			v.PrimaryKey = t.PrimaryKey.Columns
		}
		for _, ix := range t.Indexes {
			if ix.Unique && ix.Where == "" { // plain and partial indexes are not read back
				v.Unique = append(v.Unique, fmt.Sprintf("%s(%s)", ix.Name, strings.Join(ix.Columns, ", ")))
			}
		}
		for _, fk := range t.ForeignKeys {
			action := fk.OnDelete
			if action == "" {
				action = schema.NoAction
			}
			v.ForeignKeys = append(v.ForeignKeys, fmt.Sprintf("%s(%s) → %s(%s) %s", fk.Name,
				strings.Join(fk.Columns, ", "), fk.RefTable, strings.Join(fk.RefColumns, ", "), action))
		}
		for _, c := range t.Checks {
			v.Checks = append(v.Checks, c.Name)
		}
		slices.Sort(v.Unique)
		slices.Sort(v.ForeignKeys)
		slices.Sort(v.Checks)
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b tableView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// TestLoad_MatchesDeclaration reads the migrated database back as the app login and finds exactly the declared
// tables, columns and keys: the migrations and Load agree on the declaration's shape.
func TestLoad_MatchesDeclaration(t *testing.T) {
	want := declaration(t)
	db := pgtest.New(t)
	app := db.Login(t, "app")
	require.NoError(t, app.Ping(t.Context())) // connect first: time Load alone

	begin := time.Now()
	got, err := introspect.Load(t.Context(), app, want.Tenancy)
	require.NoError(t, err)
	t.Logf("Load of %d tables in %s (first on the connection: statements prepared)", len(got.Tables), time.Since(begin))

	assert.Equal(t, want.Tenancy, got.Tenancy)
	assert.Empty(t, got.Roles)
	assert.Empty(t, got.Policies)
	assert.Equal(t, view(want), view(got))
	for _, wt := range want.Tables {
		gt := got.Table(wt.Name)
		if !assert.NotNil(t, gt, wt.Name) {
			continue
		}
		assert.Nil(t, gt.Column(want.Tenancy.Column), "%s: the tenant column is left out", wt.Name)
		for _, wc := range wt.Columns {
			if gc := gt.Column(wc.Name); assert.NotNil(t, gc, "%s.%s", wt.Name, wc.Name) {
				assert.True(t, introspect.SameType(wc.Type, gc.Type), "%s.%s: declared %s, catalog %s",
					wt.Name, wc.Name, wc.Type, gc.Type)
			}
		}
	}

	again, err := introspect.Load(t.Context(), app, want.Tenancy)
	require.NoError(t, err)
	assert.Equal(t, got, again, "Load is deterministic")

	// The model read back generates the declaration's keys: KeyColumns puts back what Load took out.
	wt, gt := want.Table("webpages_webpage"), got.Table("webpages_webpage")
	assert.Equal(t, want.KeyColumns(wt, wt.PrimaryKey.Columns), got.KeyColumns(gt, gt.PrimaryKey.Columns))
	assert.Equal(t, []string{"tenant_id", "id"}, got.KeyColumns(gt, gt.PrimaryKey.Columns))
}

// TestLoad_Values checks the catalog's spellings Load passes on as they are.
func TestLoad_Values(t *testing.T) {
	db := pgtest.New(t)
	got, err := introspect.Load(t.Context(), db.Login(t, "app"), schema.DefaultTenancy)
	require.NoError(t, err)
	page := got.Table("webpages_webpage")
	require.NotNil(t, page)
	assert.Equal(t, &schema.Column{Name: "slug", Type: "character varying(200)"}, page.Column("slug"))
	assert.Equal(t, &schema.Column{Name: "is_published", Type: "boolean", Default: "false"}, page.Column("is_published"))
	assert.Equal(t, &schema.Column{Name: "published_at", Type: "timestamp with time zone", Null: true},
		page.Column("published_at"))
	assert.Equal(t, "gen_random_uuid()", page.Column("id").Default)
	assert.Equal(t, "jsonb", got.Table("webpages_pagetheme").Column("settings").Type)
	assert.Equal(t, "integer", got.Table("content_category").Column("position").Type)
	assert.Equal(t, &schema.ForeignKey{
		Name: "webpages_webpage_theme_id_fkey", Columns: []string{"theme_id"},
		RefTable: "webpages_pagetheme", RefColumns: []string{"id"}, OnDelete: schema.SetNull,
	}, findFK(page, "webpages_webpage_theme_id_fkey"))
	// A foreign key from a tenant table to a shared one has no tenant column on either side.
	assert.Equal(t, &schema.ForeignKey{
		Name: "content_namespace_language_code_fkey", Columns: []string{"language_code"},
		RefTable: "content_language", RefColumns: []string{"code"}, OnDelete: schema.SetNull,
	}, findFK(got.Table("content_namespace"), "content_namespace_language_code_fkey"))
	assert.True(t, got.Table("content_language").Shared)
	assert.False(t, page.Shared)
}

func findFK(t *schema.Table, name string) *schema.ForeignKey {
	for _, fk := range t.ForeignKeys {
		if fk.Name == name {
			return fk
		}
	}
	return nil
}

// TestLoad_OnlyReachableTables checks that Load returns the tables the login holds a privilege on, through any
// role it is a member of, and no other.
func TestLoad_OnlyReachableTables(t *testing.T) {
	db := pgtest.New(t)
	ctx := t.Context()
	pgtest.ExecScript(t, db.Owner, `
		CREATE TABLE public.hidden (id int PRIMARY KEY);
		CREATE TABLE public.column_granted (id int PRIMARY KEY, note text);
		GRANT SELECT (note) ON public.column_granted TO app;
		CREATE TABLE public.for_reader_only (id int PRIMARY KEY);
		GRANT SELECT ON public.for_reader_only TO reader;
		CREATE VIEW public.a_view AS SELECT 1 AS one;
		GRANT SELECT ON public.a_view TO app;
		CREATE SCHEMA elsewhere;
		CREATE TABLE elsewhere.granted (id int PRIMARY KEY);
		GRANT USAGE ON SCHEMA elsewhere TO app;
		GRANT SELECT ON elsewhere.granted TO app;`)

	names := func(m *schema.Model) []string {
		var out []string
		for _, t := range m.Tables {
			out = append(out, t.Name)
		}
		return out
	}
	app, err := introspect.Load(ctx, db.Login(t, "app"), schema.DefaultTenancy)
	require.NoError(t, err)
	want := []string{"column_granted"}
	for _, tbl := range declaration(t).Tables {
		want = append(want, tbl.Name)
	}
	slices.Sort(want)
	assert.Equal(t, want, names(app), "declared tables plus the one with a column grant")

	reader, err := introspect.Load(ctx, db.Login(t, "reader"), schema.DefaultTenancy)
	require.NoError(t, err)
	assert.Contains(t, names(reader), "for_reader_only")
	assert.NotContains(t, names(reader), "column_granted")

	// A login granted nothing reaches nothing: the catalog itself is readable by all, but Load lists nothing.
	nobody, err := introspect.Load(ctx, db.Login(t), schema.DefaultTenancy)
	require.NoError(t, err)
	assert.Empty(t, nobody.Tables)
}

// TestLoad_KeysOutsideTheDeclarationsShape checks that keys of a tenant table that the generator could not have
// made are left out rather than read as tenant-led keys they are not.
func TestLoad_KeysOutsideTheDeclarationsShape(t *testing.T) {
	db := pgtest.New(t)
	pgtest.ExecScript(t, db.Owner, `
		CREATE TABLE public.odd (
		    tenant_id uuid NOT NULL,
		    id uuid NOT NULL PRIMARY KEY,                         -- not led by the tenant column
		    slug text NOT NULL,
		    code text NOT NULL,
		    ref uuid,
		    page_id uuid,
		    n int GENERATED BY DEFAULT AS IDENTITY,
		    CONSTRAINT odd_slug UNIQUE (slug),                    -- not led by the tenant column
		    CONSTRAINT odd_code UNIQUE (tenant_id, code) INCLUDE (slug),
		    CONSTRAINT odd_tenant_only UNIQUE (tenant_id),
		    CONSTRAINT odd_ref_fkey FOREIGN KEY (ref) REFERENCES public.odd (id),
		    CONSTRAINT odd_page_fkey FOREIGN KEY (tenant_id, page_id) REFERENCES public.webpages_webpage (tenant_id, id)
		);
		CREATE UNIQUE INDEX odd_partial ON public.odd (tenant_id, slug) WHERE slug <> '';
		CREATE UNIQUE INDEX odd_expr ON public.odd (tenant_id, lower(slug));
		CREATE INDEX odd_plain ON public.odd (tenant_id, slug);
		GRANT SELECT ON public.odd TO app;`)
	m, err := introspect.Load(t.Context(), db.Login(t, "app"), schema.DefaultTenancy)
	require.NoError(t, err)
	odd := m.Table("odd")
	require.NotNil(t, odd)
	assert.False(t, odd.Shared)
	assert.Nil(t, odd.PrimaryKey)
	assert.Equal(t, []*schema.Index{{Name: "odd_code", Columns: []string{"code"}, Unique: true}}, odd.Indexes)
	assert.Equal(t, []*schema.ForeignKey{{Name: "odd_page_fkey", Columns: []string{"page_id"},
		RefTable: "webpages_webpage", RefColumns: []string{"id"}, OnDelete: schema.NoAction}}, odd.ForeignKeys)
	assert.Equal(t, `nextval('public.odd_n_seq'::regclass)`, odd.Column("n").Default, "an identity column has a default")
}

// queryCounter counts the statements and batches a connection sends (pgx's QueryTracer and BatchTracer), and
// roundTrips the times its socket wrote after it had read: every exchange with PostgreSQL, whatever pgx sent.
type queryCounter struct{ n, roundTrips atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *queryCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (c *queryCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// countingConn counts round trips: a write that follows a read starts a new exchange.
type countingConn struct {
	net.Conn
	trips *atomic.Int64
	read  bool
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.read {
		c.trips.Add(1)
		c.read = false
	}
	return c.Conn.Write(p)
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.read = true
	return c.Conn.Read(p)
}

// countedConn connects to url with a queryCounter counting what the connection sends.
func countedConn(t *testing.T, url string) (*pgx.Conn, *queryCounter) {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	counter := &queryCounter{}
	cfg.Tracer = counter
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, trips: &counter.roundTrips}, nil
	}
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn, counter
}

// TestLoad_BoundedQueries checks that Load (introspect.Read) sends one batch in one round trip once the
// connection has prepared its statements, however many tables there are.
func TestLoad_BoundedQueries(t *testing.T) {
	db := pgtest.New(t)
	ctx := t.Context()
	conn, counter := countedConn(t, db.LoginURL(t, "app"))

	count := func() (queries, trips int64, tables int) {
		t.Helper()
		q0, r0 := counter.n.Load(), counter.roundTrips.Load()
		m, err := introspect.Load(ctx, conn, schema.DefaultTenancy)
		require.NoError(t, err)
		return counter.n.Load() - q0, counter.roundTrips.Load() - r0, len(m.Tables)
	}
	queries, trips, _ := count()
	assert.Equal(t, int64(1), queries, "one batch")
	assert.Equal(t, int64(2), trips, "cold: pgx prepares the batch's statements in a round trip of their own")
	queries, trips, tables := count()
	assert.Equal(t, int64(1), queries, "one batch")
	assert.Equal(t, int64(1), trips, "one round trip")

	var b strings.Builder
	for i := range 20 {
		fmt.Fprintf(&b, `CREATE TABLE public.extra_%d (tenant_id uuid NOT NULL, id uuid NOT NULL, ref uuid,
		    PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, ref),
		    FOREIGN KEY (tenant_id, ref) REFERENCES public.webpages_webpage (tenant_id, id));
		GRANT SELECT ON public.extra_%d TO app;`, i, i)
	}
	pgtest.ExecScript(t, db.Owner, b.String())
	more, moreTrips, moreTables := count()
	assert.Equal(t, tables+20, moreTables)
	assert.Equal(t, queries, more, "the number of batches does not grow with the number of tables")
	assert.Equal(t, trips, moreTrips, "nor that of round trips")
}

// TestRead_OneRoundTripInATransaction checks that Read in a caller's transaction is one batch and one round trip
// too (a savepoint, begun and rolled back in the batch), and leaves the transaction usable.
func TestRead_OneRoundTripInATransaction(t *testing.T) {
	db := pgtest.New(t)
	ctx := t.Context()
	conn, counter := countedConn(t, db.LoginURL(t, "app"))
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, err = introspect.Read(ctx, tx) // prepares the statements
	require.NoError(t, err)
	q0, r0 := counter.n.Load(), counter.roundTrips.Load()
	c, err := introspect.Read(ctx, tx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), counter.n.Load()-q0, "one batch")
	assert.Equal(t, int64(1), counter.roundTrips.Load()-r0, "one round trip")
	require.NotNil(t, c.Table("public", "webpages_webpage"))
	var path string
	require.NoError(t, tx.QueryRow(ctx, "SHOW search_path").Scan(&path))
	assert.NotEqual(t, "pg_catalog", path, "the savepoint's search_path is gone")
}

func BenchmarkLoad(b *testing.B) {
	db := pgtest.New(b)
	app := db.Login(b, "app")
	tenancy := declaration(b).Tenancy
	for b.Loop() {
		if _, err := introspect.Load(b.Context(), app, tenancy); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoad_ViewsAndFunctions: the declared views and functions come back with what the API serves them by: a
// view's columns and the roles that may read it, a function's arguments, return and volatility and the roles that
// may execute it (EXECUTE is revoked from PUBLIC).
func TestLoad_ViewsAndFunctions(t *testing.T) {
	want := declaration(t)
	db := pgtest.New(t)
	got, err := introspect.Load(t.Context(), db.Login(t, "app", "reader"), want.Tenancy)
	require.NoError(t, err)
	require.Len(t, got.Views, len(want.Views))
	for _, wv := range want.Views {
		gv := got.View(wv.Name)
		require.NotNil(t, gv, wv.Name)
		assert.Equal(t, wv.Comment, gv.Comment)
		assert.ElementsMatch(t, wv.To, gv.To, wv.Name)
		require.Len(t, gv.Columns, len(wv.Columns), wv.Name)
		for i, c := range wv.Columns {
			assert.Equal(t, c.Name, gv.Columns[i].Name)
			assert.True(t, introspect.SameType(c.Type, gv.Columns[i].Type), "%s.%s: %s, %s", wv.Name, c.Name, c.Type,
				gv.Columns[i].Type)
		}
	}
	assert.Contains(t, got.View("published_pages").ColumnsRead, "webpages_webpage.namespace_id", "the columns the view reads")
	assert.NotContains(t, got.View("published_pages").ColumnsRead, "webpages_webpage.body")
	require.Len(t, got.Functions, len(want.Functions))
	for _, wf := range want.Functions {
		gf := got.Function(wf.Name)
		require.NotNil(t, gf, wf.Name)
		assert.Equal(t, wf.Volatility, gf.Volatility, wf.Name)
		assert.ElementsMatch(t, wf.To, gf.To, wf.Name)
		assert.Equal(t, wf.Returns.Relation, gf.Returns.Relation, wf.Name)
		assert.Equal(t, wf.Returns.SetOf, gf.Returns.SetOf, wf.Name)
		assert.Equal(t, wf.Returns.Void, gf.Returns.Void, wf.Name)
		require.Len(t, gf.Args, len(wf.Args), wf.Name)
		for i, a := range wf.Args {
			assert.Equal(t, a.Name, gf.Args[i].Name)
			assert.True(t, introspect.SameType(a.Type, gf.Args[i].Type), "%s(%s): %s, %s", wf.Name, a.Name, a.Type,
				gf.Args[i].Type)
			assert.Equal(t, a.Default != "", gf.Args[i].Default != "")
		}
	}
	// A reader-only login reaches the view and search_pages, not publish_page (EXECUTE to app only).
	reader, err := introspect.Load(t.Context(), db.Login(t, "reader"), want.Tenancy)
	require.NoError(t, err)
	assert.NotNil(t, reader.View("published_pages"))
	assert.NotNil(t, reader.Function("search_pages"))
	assert.Nil(t, reader.Function("publish_page"))
}
