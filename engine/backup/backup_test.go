package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/backup"
)

// TestRoundTrip backs up tenant A of a database that also holds tenant B, restores it into a fresh database under
// another tenant id, and into the same database under a third tenant: each time every table reads back equal
// to A's, and a backup of the restored tenant has the same counts and checksums.
func TestRoundTrip(t *testing.T) {
	src := newEnv(t)
	a, b := src.tenant(t, "alpha"), src.tenant(t, "beta")
	src.seed(t, a, "alpha", 'a')
	bIDs := src.seed(t, b, "beta", 'b')
	want := src.dump(t, a)
	for name, rows := range want {
		require.NotEmpty(t, rows, "the seed writes rows in every tenant table: %s", name)
	}

	file, m := src.backupOf(t, a)
	assert.Equal(t, backup.Format, m.Format)
	assert.Equal(t, backup.FormatVersion, m.FormatVersion)
	assert.Equal(t, uint(1), m.SchemaVersion)
	assert.Len(t, m.SchemaHash, 64)
	assert.Equal(t, a, m.Tenant)
	assert.WithinDuration(t, time.Now(), m.CreatedAt, time.Minute)
	require.Len(t, m.Tables, len(want), "every tenant table, and no shared one")
	var total int64
	for _, tbl := range m.Tables {
		assert.Equal(t, int64(len(want[tbl.Name])), tbl.Rows, tbl.Name)
		assert.NotContains(t, tbl.Columns, tenancy.Column, "the tenant column is never written")
		total += tbl.Rows
	}
	assert.Equal(t, total, m.Rows)
	names := make([]string, len(m.Tables))
	for i, tbl := range m.Tables {
		names[i] = tbl.Name
	}
	assert.Less(t, index(names, "content_namespace"), index(names, "content_category"), "foreign key order")
	assert.Less(t, index(names, "object_storage_objectinstance"), index(names, "file_manager_mediafile"))
	assert.Less(t, index(names, "webpages_webpage"), index(names, "webpages_webpage_tags"))

	// Nothing of B: not its id, not its identifier, not one of its rows' ids or texts (all carry "beta").
	assert.NotContains(t, string(file), b.ID)
	assert.NotContains(t, string(file), "beta")
	for _, id := range bIDs {
		assert.NotContains(t, string(file), id)
	}
	assert.Contains(t, string(file), "alpha-home", "A's rows are there")

	// The layout: header, then per table a marker, rows and \., then the manifest and the file's checksum.
	ls := lines(file)
	require.Equal(t, "", ls[len(ls)-1], "the file ends with a newline")
	ls = ls[:len(ls)-1]
	assert.True(t, strings.HasPrefix(ls[0], `{"format":"pgtenant-backup","format_version":2,`), ls[0])
	assert.Equal(t, `{"table":"`+m.Tables[0].Name+`"}`+"\n", ls[1])
	var trailer backup.Manifest
	require.NoError(t, json.Unmarshal([]byte(ls[len(ls)-2]), &trailer))
	assert.Equal(t, *m, trailer)
	sum := sha256.Sum256(file[:len(file)-len(ls[len(ls)-1])])
	assert.True(t, strings.HasPrefix(ls[len(ls)-1], `{"sha256":"`+hex.EncodeToString(sum[:])+`","hmac_sha256":"`), ls[len(ls)-1])
	assert.Equal(t, backup.MACAlgorithm, m.MAC)
	assert.Equal(t, testKey.ID(), m.KeyID)
	verified, err := backup.Verify(bytes.NewReader(file), trust)
	require.NoError(t, err)
	assert.True(t, verified.Authenticated)
	verified.Authenticated = false
	assert.Equal(t, m, verified)

	// Into a fresh database under another tenant id.
	dst := newEnv(t)
	c := dst.tenant(t, "gamma")
	restored, err := backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(file))
	require.NoError(t, err)
	assert.True(t, restored.Authenticated)
	restored.Authenticated = false
	assert.Equal(t, m, restored)
	assert.Equal(t, want, dst.dump(t, c))
	again, m2 := dst.backupOf(t, c)
	assert.Equal(t, m.Tables, m2.Tables, "same counts and checksums")
	assert.Equal(t, c, m2.Tenant)
	assert.NotContains(t, string(again), a.ID)

	// Into the same database under a third tenant, then over A itself with Replace: A and B are untouched.
	d := src.tenant(t, "delta")
	_, err = backup.Restore(t.Context(), src.runner, src.target(d), bytes.NewReader(file))
	require.NoError(t, err)
	assert.Equal(t, want, src.dump(t, d))
	wantB := src.dump(t, b)
	over := src.target(a)
	over.Replace = true
	_, err = backup.Restore(t.Context(), src.runner, over, bytes.NewReader(file))
	require.NoError(t, err)
	assert.Equal(t, want, src.dump(t, a))
	assert.Equal(t, wantB, src.dump(t, b))
}

func index(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// TestWrite_EmptyTenant: a tenant without rows gives a valid backup of empty tables, which restores to nothing.
func TestWrite_EmptyTenant(t *testing.T) {
	e := newEnv(t)
	a := e.tenant(t, "alpha")
	file, m := e.backupOf(t, a)
	assert.Zero(t, m.Rows)
	empty := hex.EncodeToString(func() []byte { s := sha256.Sum256(nil); return s[:] }())
	for _, tbl := range m.Tables {
		assert.Equal(t, empty, tbl.SHA256)
	}
	b := e.tenant(t, "beta")
	_, err := backup.Restore(t.Context(), e.runner, e.target(b), bytes.NewReader(file))
	require.NoError(t, err)
	assert.Zero(t, e.total(t))
}

// hookWriter calls hook once, on the first write that reaches it, then passes writes on; after failAfter bytes
// (when not zero) it fails.
type hookWriter struct {
	bytes.Buffer
	hook      func()
	failAfter int
}

var errDiskFull = errors.New("disk full")

func (w *hookWriter) Write(p []byte) (int, error) {
	if w.hook != nil {
		w.hook()
		w.hook = nil
	}
	if w.failAfter > 0 && w.Len()+len(p) > w.failAfter {
		return 0, errDiskFull
	}
	return w.Buffer.Write(p)
}

// TestWrite_OneSnapshot: a row committed while the backup runs (here, while the first table streams) is not in
// it, even in a table read later: every table comes from the snapshot the backup started with.
func TestWrite_OneSnapshot(t *testing.T) {
	e := newEnv(t)
	a := e.tenant(t, "alpha")
	e.as(t, a, func(ctx context.Context, tx pgx.Tx) error {
		// Enough rows in the first table for its output to pass the write buffer while it streams.
		_, err := tx.Exec(ctx, `INSERT INTO content_namespace (slug, name) SELECT 'ns-' || g, repeat('n', 100)
			FROM generate_series(1, 3000) g`)
		return err
	})
	w := &hookWriter{hook: func() {
		e.as(t, a, func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO webpages_pagetheme (name) VALUES ('committed-meanwhile')`)
			return err
		})
	}}
	m, err := backup.Write(t.Context(), e.runner, e.source(a), w)
	require.NoError(t, err)
	require.Nil(t, w.hook, "the hook ran during the backup")
	assert.Equal(t, "content_namespace", m.Tables[0].Name)
	assert.Equal(t, int64(3000), m.Rows)
	assert.NotContains(t, w.String(), "committed-meanwhile")
	assert.Len(t, e.dump(t, a)["webpages_pagetheme"], 1, "the row was committed")
}

// TestWrite_WriterFails: an error of the output is returned as such, and the output has no trailer, so no
// restore would take it.
func TestWrite_WriterFails(t *testing.T) {
	e := newEnv(t)
	a := e.tenant(t, "alpha")
	e.seed(t, a, "alpha", 'a')
	w := &hookWriter{failAfter: 1}
	_, err := backup.Write(t.Context(), e.runner, e.source(a), w)
	require.ErrorIs(t, err, errDiskFull)

	e.as(t, a, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO content_namespace (slug, name) SELECT 'ns-' || g, repeat('n', 100)
			FROM generate_series(1, 3000) g`)
		return err
	})
	w = &hookWriter{failAfter: 100 << 10} // in the middle of the rows
	_, err = backup.Write(t.Context(), e.runner, e.source(a), w)
	require.ErrorIs(t, err, errDiskFull)
	_, err = backup.Verify(bytes.NewReader(w.Bytes()), trust)
	require.ErrorIs(t, err, backup.ErrTruncated)
}
