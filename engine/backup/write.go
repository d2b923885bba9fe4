package backup

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/introspect"
	"pgtenant/engine/pgtx"
	"pgtenant/schema"
)

// Source is what Write backs up.
type Source struct {
	Tenancy       schema.Tenancy // the declaration's tenancy: the tenant column and the setting the policies read
	Tenant        Tenant         // the tenant whose rows are written
	Role          string         // the declared role to read as: it needs SELECT, and no policy should narrow it
	SchemaVersion uint           // the database's migration version (SchemaVersion), recorded in the manifest
	CreatedAt     time.Time      // recorded in the manifest; zero means now
	// Key, when set, authenticates the file: its manifest names the key and its last line carries an HMAC-SHA256
	// of every byte before it. Nil: the file has only its SHA-256s, which detect damage but not a forgery.
	Key *Key
}

// endOfRows ends a table's rows, as in psql's COPY files.
var endOfRows = []byte("\\.\n")

// bufferSize is the size of the buffers between the connection and the file: what a backup or a restore holds in
// memory beyond one row.
const bufferSize = 64 << 10

// Write writes a backup of src.Tenant's rows in every tenant table to w and returns its manifest. It reads
// through runner as the login (DATABASE_URL) acting as src.Role, in one REPEATABLE READ, READ ONLY transaction
// bound to the tenant: one snapshot of every table, with the tenant's policies applied. Rows are streamed from
// COPY to w through fixed-size buffers, never held in memory. Returns ErrCycle or ErrNoPrimaryKey for a schema it
// cannot restore, and any error of the database or of w; what was written to w before an error is not a valid
// backup (it has no trailer).
func Write(ctx context.Context, runner *pgtx.Runner, src Source, w io.Writer) (*Manifest, error) {
	created := src.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	scope := pgtx.Scope{Setting: src.Tenancy.Setting, Tenant: src.Tenant.ID, Role: src.Role, ReadOnly: true,
		Isolation: pgx.RepeatableRead, Citus: src.Tenancy.Citus()}
	var m *Manifest
	err := runner.Tx(ctx, scope, func(ctx context.Context, tx pgx.Tx) (bool, error) {
		if _, err := tx.Exec(ctx, formatSQL); err != nil {
			return false, fmt.Errorf("backup: set the output format: %w", err)
		}
		model, err := introspect.Load(ctx, tx, src.Tenancy)
		if err != nil {
			return false, fmt.Errorf("backup: %w", err)
		}
		tables, err := order(model)
		if err != nil {
			return false, err
		}
		m = &Manifest{Format: Format, FormatVersion: FormatVersion, CreatedAt: created.UTC().Truncate(time.Microsecond),
			SchemaVersion: src.SchemaVersion, SchemaHash: SchemaHash(model), Tenant: src.Tenant}
		if src.Key != nil {
			m.MAC, m.KeyID = MACAlgorithm, src.Key.ID()
		}
		for _, t := range tables {
			m.Tables = append(m.Tables, Table{Name: t.Name, Columns: columnNames(t)})
		}
		return false, write(ctx, tx, model, tables, m, src.Key, w)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// write streams the file: header, each table's rows, trailer, checksum (and HMAC with key). It fills in m's counts
// and checksums.
func write(ctx context.Context, tx pgx.Tx, model *schema.Model, tables []*schema.Table, m *Manifest, key *Key,
	w io.Writer) error {
	bw := bufio.NewWriterSize(w, bufferSize)
	file := &sums{sha: sha256.New()}
	if key != nil {
		file.mac = key.hash()
	}
	out := io.MultiWriter(bw, file)
	if err := writeJSONLine(out, m.header()); err != nil {
		return err
	}
	for i, t := range tables {
		if err := writeJSONLine(out, sectionLine{Table: t.Name}); err != nil {
			return err
		}
		rows := &rowsWriter{w: out, sum: sha256.New()}
		tag, err := tx.Conn().PgConn().CopyTo(ctx, rows, copyOutSQL(model, t))
		if rows.err != nil {
			return rows.err
		}
		if err != nil {
			return fmt.Errorf("backup: read table %s: %w", t.Name, err)
		}
		if tag.RowsAffected() != rows.rows {
			return fmt.Errorf("backup: table %s: COPY reported %d rows, %d lines were written", t.Name, tag.RowsAffected(), rows.rows)
		}
		if _, err := out.Write(endOfRows); err != nil {
			return fmt.Errorf("backup: write: %w", err)
		}
		m.Tables[i].Rows = rows.rows
		m.Tables[i].SHA256 = hex.EncodeToString(rows.sum.Sum(nil))
		m.Rows += rows.rows
	}
	if err := writeJSONLine(out, m); err != nil {
		return err
	}
	last := checksumLine{SHA256: hex.EncodeToString(file.sha.Sum(nil))}
	if file.mac != nil {
		last.HMAC = hex.EncodeToString(file.mac.Sum(nil))
	}
	if err := writeJSONLine(bw, last); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

// sectionLine starts a table's rows.
type sectionLine struct {
	Table string `json:"table"`
}

// checksumLine is the file's last line: the SHA-256 of every byte before it and, for an authenticated file, their
// HMAC-SHA256.
type checksumLine struct {
	SHA256 string `json:"sha256"`
	HMAC   string `json:"hmac_sha256,omitempty"`
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

func columnNames(t *schema.Table) []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// rowsWriter passes COPY's output on, counting its lines (one per row: COPY's text format escapes newlines in
// values) and hashing it.
type rowsWriter struct {
	w    io.Writer
	sum  hash.Hash
	rows int64
	err  error
}

func (r *rowsWriter) Write(p []byte) (int, error) {
	r.sum.Write(p)
	r.rows += int64(bytes.Count(p, []byte{'\n'}))
	n, err := r.w.Write(p)
	if err != nil {
		r.err = fmt.Errorf("backup: write: %w", err)
	}
	return n, err
}
