package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/backup"
	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/engine/pgtx"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

func TestMain(m *testing.M) { pgtest.Run(m) }

var tenancy = schema.DefaultTenancy

// testKey is the BACKUP_KEY of the tests' databases: every backup they write is authenticated with it, and every
// restore verifies it.
var testKey = mustKey("0123456789abcdef0123456789abcdef-backup-key")

// trust is what the tests' restores accept: files whose HMAC verifies with testKey.
var trust = backup.Trust{Key: testKey}

func mustKey(secret string) *backup.Key {
	k, err := backup.NewKey([]byte(secret))
	if err != nil {
		panic(err)
	}
	return k
}

// env is one database as the backup sees it: its login (holding the declared roles), its schema and version.
type env struct {
	db      *pgtest.DB
	runner  *pgtx.Runner
	model   *schema.Model
	version uint
}

// newEnv returns a fresh database with the migrations applied and the shared language "en" that namespaces
// reference (shared tables are not part of a tenant's backup: every database has its own).
func newEnv(t *testing.T) *env {
	t.Helper()
	db := pgtest.New(t)
	login := db.Login(t, "app", "reader")
	model, err := introspect.Load(t.Context(), login, tenancy)
	require.NoError(t, err)
	version, err := backup.SchemaVersion(t.Context(), db.Owner)
	require.NoError(t, err)
	superuser(t, db, `INSERT INTO content_language (code, name) VALUES ('en', 'English')`)
	return &env{db: db, runner: pgtx.New(login), model: model, version: version}
}

// superuser runs sql as the superuser: setup and inspection only.
func superuser(t *testing.T, db *pgtest.DB, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), db.AdminURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	_, err = conn.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

// tenant registers a tenant as the owner.
func (e *env) tenant(t *testing.T, identifier string) backup.Tenant {
	t.Helper()
	var id string
	require.NoError(t, e.db.Owner.QueryRow(t.Context(),
		`INSERT INTO pgtenant.tenants (identifier, name, created_by) VALUES ($1, $1, 'test') RETURNING id::text`,
		identifier).Scan(&id))
	return backup.Tenant{ID: id, Identifier: identifier}
}

// as runs fn in a committed transaction bound to tenant as the app role, as the API would.
func (e *env) as(t *testing.T, tenant backup.Tenant, fn func(ctx context.Context, tx pgx.Tx) error) {
	t.Helper()
	s := pgtx.Scope{Setting: tenancy.Setting, Tenant: tenant.ID, Role: "app"}
	require.NoError(t, e.runner.Tx(t.Context(), s, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		return true, fn(ctx, tx)
	}))
}

// seed writes rows in every tenant table for tenant, with awkward values (tabs, newlines, backslashes, quotes,
// unicode, NULLs, JSON, microseconds, a category whose parent sorts after it), all carrying mark in their text and
// ids starting with the hex digit d. It returns every id it made.
func (e *env) seed(t *testing.T, tenant backup.Tenant, mark string, d byte) []string {
	t.Helper()
	var ids []string
	e.as(t, tenant, func(ctx context.Context, tx pgx.Tx) error {
		q := func(sql string, args ...any) string {
			var id string
			require.NoError(t, tx.QueryRow(ctx, sql+" RETURNING id::text", args...).Scan(&id), sql)
			ids = append(ids, id)
			return id
		}
		ns := q(`INSERT INTO content_namespace (slug, name, language_code) VALUES ($1, $2, 'en')`,
			mark+"-site", "Site\tof "+mark+"\nwith a newline, a \\ backslash, 'quotes' and ünïcödé ✓")
		ns2 := q(`INSERT INTO content_namespace (slug, name, language_code, created_at) VALUES ($1, '', NULL, $2)`,
			mark+"-docs", "2001-02-03 04:05:06.789012+00")
		parent := fmt.Sprintf("%cfffffff-0000-4000-8000-000000000002", d)
		child := fmt.Sprintf("%c0000000-0000-4000-8000-000000000001", d)
		q(`INSERT INTO content_category (id, namespace_id, slug, name) VALUES ($1, $2, $3, 'Parent')`, parent, ns, mark+"-parent")
		q(`INSERT INTO content_category (id, namespace_id, parent_id, slug, name, position) VALUES ($1, $2, $3, $4, 'Child', -7)`,
			child, ns, parent, mark+"-child")
		tag1 := q(`INSERT INTO content_tag (namespace_id, slug, name) VALUES ($1, $2, 'One')`, ns, mark+"-tag-1")
		tag2 := q(`INSERT INTO content_tag (namespace_id, slug, name) VALUES ($1, $2, 'Two')`, ns, mark+"-tag-2")
		obj := q(`INSERT INTO object_storage_objectinstance (bucket, object_key, size_bytes, checksum_sha256)
		          VALUES ('media', $1, 12345678901, repeat('ab', 32))`, mark+"/hero.png")
		media := q(`INSERT INTO file_manager_mediafile (object_id, title, width, uploaded_by) VALUES ($1, $2, 640, $3)`,
			obj, "Hero of "+mark, mark+"@example.com")
		theme := q(`INSERT INTO webpages_pagetheme (name, settings) VALUES ($1, $2)`, mark+"-theme",
			`{"colors": {"bg": "#fff"}, "quote": "it's \"q\"", "list": [1, 2.5, null], "mark": "`+mark+`"}`)
		q(`INSERT INTO webpages_pagetheme (name) VALUES ($1)`, mark+"-plain")
		home := q(`INSERT INTO webpages_webpage (namespace_id, category_id, theme_id, hero_media_id, slug, title, body,
		                                         is_published, published_at)
		           VALUES ($1, $2, $3, $4, $5, $6, $7, true, '2024-02-29 12:34:56.123456+05:30')`,
			ns, child, theme, media, mark+"-home", "Home \\ of "+mark, "line 1\nline 2\ttab \\. end\r\n\\.")
		draft := q(`INSERT INTO webpages_webpage (namespace_id, slug, title) VALUES ($1, $2, 'Draft')`, ns2, mark+"-draft")
		for _, pair := range [][2]string{{home, tag1}, {home, tag2}, {draft, tag1}} {
			_, err := tx.Exec(ctx, `INSERT INTO webpages_webpage_tags (webpage_id, tag_id) VALUES ($1, $2)`, pair[0], pair[1])
			require.NoError(t, err)
		}
		return nil
	})
	return ids
}

// dump reads every tenant table of tenant, as JSON without the tenant column, in primary key order.
func (e *env) dump(t *testing.T, tenant backup.Tenant) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	e.as(t, tenant, func(ctx context.Context, tx pgx.Tx) error {
		for _, tbl := range e.model.Tables {
			if tbl.Shared {
				continue
			}
			rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT (to_jsonb(x) - %s)::text FROM %s x ORDER BY %s`,
				schema.QuoteLiteral(tenancy.Column), ddl.TableName(tbl), ddl.Idents(tbl.PrimaryKey.Columns)))
			require.NoError(t, err)
			out[tbl.Name], err = pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			if out[tbl.Name] == nil {
				out[tbl.Name] = []string{}
			}
		}
		return nil
	})
	return out
}

// total counts the rows of every tenant table of the database, all tenants together, as the superuser.
func (e *env) total(t *testing.T) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), e.db.AdminURL)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	n := 0
	for _, tbl := range e.model.Tables {
		if tbl.Shared {
			continue
		}
		var c int
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM "+ddl.TableName(tbl)).Scan(&c))
		n += c
	}
	return n
}

func (e *env) source(tenant backup.Tenant) backup.Source {
	return backup.Source{Tenancy: tenancy, Tenant: tenant, Role: "app", SchemaVersion: e.version, Key: testKey}
}

func (e *env) target(tenant backup.Tenant) backup.Target {
	return backup.Target{Tenancy: tenancy, Tenant: tenant, Role: "app", SchemaVersion: e.version, Trust: trust}
}

// backupOf writes a backup of tenant and returns its bytes and manifest.
func (e *env) backupOf(t *testing.T, tenant backup.Tenant) ([]byte, *backup.Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := backup.Write(t.Context(), e.runner, e.source(tenant), &buf)
	require.NoError(t, err)
	return buf.Bytes(), m
}

// lines splits a backup into its lines, each with its "\n".
func lines(b []byte) []string { return strings.SplitAfter(string(b), "\n") }
