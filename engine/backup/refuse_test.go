package backup_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/backup"
)

// damage returns a copy of file with the byte at i replaced by c (or flipped when c is 0).
func damage(file []byte, i int, c byte) []byte {
	out := bytes.Clone(file)
	if c == 0 {
		out[i] ^= 0x01
	} else {
		out[i] = c
	}
	return out
}

// TestRestore_RefusesDamagedFiles: a flipped byte anywhere, or a file cut anywhere, is refused by Verify and by
// Restore, with an error that says so, and nothing is written.
func TestRestore_RefusesDamagedFiles(t *testing.T) {
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.seed(t, a, "alpha", 'a')
	file, _ := src.backupOf(t, a)
	ls := lines(file)
	at := func(s string) int { // the offset of s, which must be in the file
		i := bytes.Index(file, []byte(s))
		require.GreaterOrEqual(t, i, 0, s)
		return i
	}
	lastLine := len(file) - len(ls[len(ls)-2])
	trailer := lastLine - len(ls[len(ls)-3])
	uuid := at("\na0000000") + 1 // the first row of content_category: its id

	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"a flipped byte in a row", damage(file, at("alpha-home")+2, 0), backup.ErrCorrupt},
		{"an id PostgreSQL rejects", damage(file, uuid+3, 'z'), backup.ErrCorrupt},
		{"a tab turned into a newline", damage(file, at("\t"), '\n'), backup.ErrCorrupt},
		{"a newline turned into a tab", damage(file, at("\n\\.\n"), '\t'), backup.ErrCorrupt},
		{"a flipped byte in an end marker", damage(file, at("\n\\.\n")+2, 0), backup.ErrCorrupt},
		{"a flipped byte in a table marker", damage(file, at(`{"table":"content_tag"}`)+12, 0), backup.ErrCorrupt},
		{"a flipped byte in the header's identifier", damage(file, at(`"alpha"`)+1, 0), backup.ErrCorrupt},
		{"a flipped byte in the header's columns", damage(file, at(`"slug"`)+1, 0), backup.ErrCorrupt},
		{"a flipped byte in the manifest", damage(file, trailer+len(ls[len(ls)-3])-30, 0), backup.ErrCorrupt},
		{"a flipped byte in the checksum", damage(file, lastLine+15, 0), backup.ErrCorrupt},
		{"a flipped byte in the HMAC", damage(file, len(file)-5, 0), backup.ErrForged},
		{"data after the end", append(bytes.Clone(file), 'x'), backup.ErrCorrupt},
		{"the manifest left out", append(bytes.Clone(file[:trailer]), ls[len(ls)-2]...), backup.ErrCorrupt},
		{"cut in half", file[:len(file)/2], backup.ErrTruncated},
		{"cut after the header", file[:len(ls[0])], backup.ErrTruncated},
		{"cut inside a row", file[:at("alpha-home")], backup.ErrTruncated},
		{"cut before the checksum", file[:lastLine], backup.ErrTruncated},
		{"the last newline cut", file[:len(file)-1], backup.ErrTruncated},
		{"empty", nil, backup.ErrUnsupported},
		{"not a backup", []byte("COPY public.content_tag FROM stdin;\n"), backup.ErrUnsupported},
		{"another format version", []byte(strings.Replace(string(file), `"format_version":2`, `"format_version":3`, 1)), backup.ErrUnsupported},
	}
	dst := newEnv(t)
	c := dst.tenant(t, "gamma")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, file, tt.file)
			_, err := backup.Verify(bytes.NewReader(tt.file), trust)
			require.ErrorIs(t, err, tt.want)
			_, err = backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(tt.file))
			require.ErrorIs(t, err, tt.want)
			t.Log(err)
			assert.Zero(t, dst.total(t), "nothing is written")
		})
	}
	// The undamaged file restores.
	_, err := backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(file))
	require.NoError(t, err)
	assert.NotZero(t, dst.total(t))
}

// TestRestore_RefusesAnotherSchema: a backup of another schema version, or of a database whose tables differ at
// the same version, is refused before anything is written.
func TestRestore_RefusesAnotherSchema(t *testing.T) {
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.seed(t, a, "alpha", 'a')
	dst := newEnv(t)
	c := dst.tenant(t, "gamma")

	// A file written by a database at version 7: a valid file, from another schema version.
	var buf bytes.Buffer
	s := src.source(a)
	s.SchemaVersion = 7
	_, err := backup.Write(t.Context(), src.runner, s, &buf)
	require.NoError(t, err)
	_, err = backup.Verify(bytes.NewReader(buf.Bytes()), trust)
	require.NoError(t, err, "the file itself is sound")
	_, err = backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(buf.Bytes()))
	var se *backup.SchemaError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "backup: backup is from schema version 7, this database is at 1", err.Error())
	assert.Zero(t, dst.total(t))

	// The same version, but a column was added to the target behind the migrations' back.
	file, _ := src.backupOf(t, a)
	superuser(t, dst.db, `ALTER TABLE webpages_pagetheme ADD COLUMN extra text`)
	_, err = backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(file))
	require.ErrorAs(t, err, &se)
	assert.Contains(t, err.Error(), "backup is from schema version 1, as is this database, but their tables or columns differ")
	assert.Zero(t, dst.total(t))
}

// TestRestore_TenantWithRows: a tenant that has rows is refused unless Replace is set, which replaces them all.
func TestRestore_TenantWithRows(t *testing.T) {
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.seed(t, a, "alpha", 'a')
	file, _ := src.backupOf(t, a)
	want := src.dump(t, a)

	dst := newEnv(t)
	c := dst.tenant(t, "gamma")
	dst.as(t, c, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webpages_pagetheme (name) VALUES ('gamma-own')`)
		return err
	})
	before := dst.dump(t, c)
	_, err := backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(file))
	require.ErrorIs(t, err, backup.ErrTenantHasRows)
	assert.Contains(t, err.Error(), "webpages_pagetheme")
	assert.Equal(t, before, dst.dump(t, c), "nothing changed")

	// Another tenant's rows do not count.
	d := dst.tenant(t, "delta")
	_, err = backup.Restore(t.Context(), dst.runner, dst.target(d), bytes.NewReader(file))
	require.NoError(t, err)

	// With Replace, over a tenant with rows in every table (those of the backup, changed, and others): exactly the
	// backup's rows afterwards; the other tenant keeps its own.
	dst.seed(t, c, "gamma", 'c')
	replace := dst.target(c)
	replace.Replace = true
	_, err = backup.Restore(t.Context(), dst.runner, replace, bytes.NewReader(file))
	require.NoError(t, err)
	assert.Equal(t, want, dst.dump(t, c))
	assert.Equal(t, want, dst.dump(t, d))

	// A damaged file with Replace deletes nothing.
	_, err = backup.Restore(t.Context(), dst.runner, replace, bytes.NewReader(file[:len(file)-10]))
	require.ErrorIs(t, err, backup.ErrTruncated)
	assert.Equal(t, want, dst.dump(t, c))
}

// TestRestore_ReadBack: rows that read back differently than the backup wrote them (here, a trigger changes them)
// are refused.
func TestRestore_ReadBack(t *testing.T) {
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.seed(t, a, "alpha", 'a')
	file, _ := src.backupOf(t, a)
	dst := newEnv(t)
	c := dst.tenant(t, "gamma")
	superuser(t, dst.db, `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
		$$BEGIN NEW.name := NEW.name || '!'; RETURN NEW; END$$;
		CREATE TRIGGER touch BEFORE INSERT ON content_tag FOR EACH ROW EXECUTE FUNCTION touch()`)
	_, err := backup.Restore(t.Context(), dst.runner, dst.target(c), bytes.NewReader(file))
	require.ErrorIs(t, err, backup.ErrMismatch)
	assert.Contains(t, err.Error(), "content_tag")
	assert.Zero(t, dst.total(t))
}

// TestRestore_Role: the role must be able to write; a role the login does not hold is refused by PostgreSQL.
func TestRestore_Role(t *testing.T) {
	src := newEnv(t)
	a := src.tenant(t, "alpha")
	src.seed(t, a, "alpha", 'a')
	file, _ := src.backupOf(t, a)
	dst := newEnv(t)
	c := dst.tenant(t, "gamma")
	for _, role := range []string{"reader", "no_such_role"} {
		target := dst.target(c)
		target.Role = role
		_, err := backup.Restore(t.Context(), dst.runner, target, bytes.NewReader(file))
		require.Error(t, err, role)
		assert.False(t, errors.Is(err, backup.ErrCorrupt), "the file is sound: %v", err)
		assert.Zero(t, dst.total(t))
	}
}
