package backup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"pgtenant/schema"
)

// Format is the value of every backup's "format" field.
const Format = "pgtenant-backup"

// FormatVersion is the version of the file format that Write writes and Restore and Verify read. Version 2 added
// the HMAC (Manifest.MAC); a version 1 file, which has none, is read only as an unauthenticated file.
const FormatVersion = 2

// MACAlgorithm is the Manifest.MAC of an authenticated backup: an HMAC-SHA256 keyed with a Key over every byte of
// the file before its last line.
const MACAlgorithm = "hmac-sha256"

// Tenant is the tenant a backup was taken from, or the one a restore writes into.
type Tenant struct {
	ID         string `json:"id"`         // the UUID the tenant column holds
	Identifier string `json:"identifier"` // the registry's slug, for people reading the manifest
}

// Manifest describes a backup. The file's header is the Manifest without the counts and checksums; its trailer is
// the whole Manifest.
type Manifest struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"format_version"`
	CreatedAt     time.Time `json:"created_at"`
	SchemaVersion uint      `json:"schema_version"` // golang-migrate's version of the source database
	SchemaHash    string    `json:"schema_hash"`    // SchemaHash of the source's served schema
	Tenant        Tenant    `json:"tenant"`         // the source tenant
	// MAC is MACAlgorithm when the file is authenticated with a Key, whose Key.ID is KeyID; empty otherwise.
	MAC    string  `json:"mac,omitempty"`
	KeyID  string  `json:"key_id,omitempty"`
	Tables []Table `json:"tables"` // in the order the file holds them: foreign key order
	Rows   int64   `json:"rows"`   // the sum of the tables' rows
	// Authenticated is set by Restore and Verify when the file's HMAC was verified with their Key: only then do
	// the manifest's claims (the source tenant, when and where it was made) come from a holder of the key. It is
	// not part of the file.
	Authenticated bool `json:"-"`
}

// Table is one table of a backup.
type Table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"` // every column but the tenant column, in the order of the rows' fields
	Rows    int64    `json:"rows"`
	SHA256  string   `json:"sha256"` // hex SHA-256 of the table's rows as written
}

// header is what the file's first line holds: the Manifest as known before any row is read.
type header struct {
	Format        string        `json:"format"`
	FormatVersion int           `json:"format_version"`
	CreatedAt     time.Time     `json:"created_at"`
	SchemaVersion uint          `json:"schema_version"`
	SchemaHash    string        `json:"schema_hash"`
	Tenant        Tenant        `json:"tenant"`
	MAC           string        `json:"mac,omitempty"`
	KeyID         string        `json:"key_id,omitempty"`
	Tables        []headerTable `json:"tables"`
}

type headerTable struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

// header returns the part of m known before the rows.
func (m *Manifest) header() header {
	h := header{Format: m.Format, FormatVersion: m.FormatVersion, CreatedAt: m.CreatedAt,
		SchemaVersion: m.SchemaVersion, SchemaHash: m.SchemaHash, Tenant: m.Tenant, MAC: m.MAC, KeyID: m.KeyID}
	for _, t := range m.Tables {
		h.Tables = append(h.Tables, headerTable{Name: t.Name, Columns: t.Columns})
	}
	return h
}

// manifest is the Manifest that h starts, without counts and checksums.
func (h header) manifest() *Manifest {
	m := &Manifest{Format: h.Format, FormatVersion: h.FormatVersion, CreatedAt: h.CreatedAt,
		SchemaVersion: h.SchemaVersion, SchemaHash: h.SchemaHash, Tenant: h.Tenant, MAC: h.MAC, KeyID: h.KeyID}
	for _, t := range h.Tables {
		m.Tables = append(m.Tables, Table{Name: t.Name, Columns: t.Columns})
	}
	return m
}

// equal reports whether two headers say the same, CreatedAt compared as an instant.
func (h header) equal(o header) bool {
	return h.Format == o.Format && h.FormatVersion == o.FormatVersion && h.CreatedAt.Equal(o.CreatedAt) &&
		h.SchemaVersion == o.SchemaVersion && h.SchemaHash == o.SchemaHash && h.Tenant == o.Tenant &&
		h.MAC == o.MAC && h.KeyID == o.KeyID &&
		slices.EqualFunc(h.Tables, o.Tables, func(a, b headerTable) bool {
			return a.Name == b.Name && slices.Equal(a.Columns, b.Columns)
		})
}

// Errors of this package; test for them with errors.Is.
var (
	// ErrUnsupported: the file is not a pgtenant backup, or one in a format version this build does not read.
	ErrUnsupported = errors.New("backup: unsupported file")
	// ErrCorrupt: the file was damaged or changed: a checksum, a row count or its structure is wrong.
	ErrCorrupt = errors.New("backup: corrupt backup file")
	// ErrTruncated: the file ends early. It wraps ErrCorrupt.
	ErrTruncated = fmt.Errorf("%w: truncated", ErrCorrupt)
	// ErrTenantHasRows: the target tenant already has rows and Target.Replace is not set.
	ErrTenantHasRows = errors.New("backup: the target tenant already has rows")
	// ErrMismatch: after a restore, a table reads back with another row count or checksum than the backup's (a
	// trigger changed rows, or another transaction wrote the tenant's rows meanwhile); nothing is kept.
	ErrMismatch = errors.New("backup: the restored rows read back differently from the backup")
	// ErrCycle: tenant tables reference each other in a cycle, so no insertion order satisfies their foreign keys.
	ErrCycle = errors.New("backup: tenant tables reference each other in a cycle")
	// ErrNoPrimaryKey: a tenant table has no primary key to order its rows by.
	ErrNoPrimaryKey = errors.New("backup: a tenant table has no primary key")
	// ErrDirty: the database's last migration failed (schema_migrations is dirty).
	ErrDirty = errors.New("backup: the database's schema version is dirty")
	// ErrNoRole: no declared role can do the job without a restrictive policy narrowing what it sees.
	ErrNoRole = errors.New("backup: no suitable declared role")
	// ErrUnauthenticated: the file's origin cannot be verified (it has no HMAC, or no Key was given to check
	// it) and Trust.AllowUnauthenticated is not set.
	ErrUnauthenticated = errors.New("backup: the backup's origin cannot be verified")
	// ErrForged: the file's HMAC does not verify with the Key: the file was changed after it was written, or it
	// was written with another key. Nothing allows such a file.
	ErrForged = errors.New("backup: the backup's HMAC does not verify")
	// ErrEncrypted: the file is encrypted with age and no identity that can decrypt it was given.
	ErrEncrypted = errors.New("backup: the backup is encrypted")
)

// SchemaError reports a backup from another schema than the target's.
type SchemaError struct {
	FileVersion, DBVersion uint
	FileHash, DBHash       string
}

func (e *SchemaError) Error() string {
	if e.FileVersion != e.DBVersion {
		return fmt.Sprintf("backup: backup is from schema version %d, this database is at %d", e.FileVersion, e.DBVersion)
	}
	return fmt.Sprintf("backup: backup is from schema version %d, as is this database, but their tables or columns "+
		"differ (schema hash %s in the file, %s here)", e.FileVersion, short(e.FileHash), short(e.DBHash))
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12] + "…"
	}
	return hash
}

// SchemaHash is the hex SHA-256 of a canonical text of m's tables: for each (sorted by name), whether it is a
// tenant or shared table, its columns with their types and nullability, its primary key and its foreign keys.
// Two databases with equal hashes have tables a backup of one can be restored into the other; defaults, indexes,
// checks and policies are not part of it.
func SchemaHash(m *schema.Model) string {
	var b strings.Builder
	tables := slices.Clone(m.Tables)
	slices.SortFunc(tables, func(a, b *schema.Table) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range tables {
		kind := "tenant"
		if t.Shared {
			kind = "shared"
		}
		fmt.Fprintf(&b, "table %q %s\n", t.Name, kind)
		for _, c := range t.Columns {
			fmt.Fprintf(&b, "column %q %q null=%t\n", c.Name, c.Type, c.Null)
		}
		if t.PrimaryKey != nil {
			fmt.Fprintf(&b, "primary key %q\n", t.PrimaryKey.Columns)
		}
		for _, fk := range t.ForeignKeys {
			fmt.Fprintf(&b, "foreign key %q %q references %q %q\n", fk.Name, fk.Columns, fk.RefTable, fk.RefColumns)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// order returns the tenant tables of m in foreign key order: each after the tenant tables it references (a
// reference to itself is checked at the end of its INSERT statement, so it needs no order), ties broken by name.
// Returns ErrCycle when tables reference each other in a cycle and ErrNoPrimaryKey for a table without a key.
func order(m *schema.Model) ([]*schema.Table, error) {
	var remaining []*schema.Table
	tenant := map[string]bool{}
	for _, t := range m.Tables {
		if t.Shared {
			continue
		}
		if t.PrimaryKey == nil {
			return nil, fmt.Errorf("%w: %s", ErrNoPrimaryKey, t.Name)
		}
		tenant[t.Name] = true
		remaining = append(remaining, t)
	}
	slices.SortFunc(remaining, func(a, b *schema.Table) int { return strings.Compare(a.Name, b.Name) })
	done := map[string]bool{}
	ready := func(t *schema.Table) bool {
		for _, fk := range t.ForeignKeys {
			if fk.RefTable != t.Name && tenant[fk.RefTable] && !done[fk.RefTable] {
				return false
			}
		}
		return true
	}
	var out []*schema.Table
	for len(remaining) > 0 {
		i := slices.IndexFunc(remaining, ready)
		if i < 0 {
			names := make([]string, len(remaining))
			for j, t := range remaining {
				names[j] = t.Name
			}
			return nil, fmt.Errorf("%w: among %s", ErrCycle, strings.Join(names, ", "))
		}
		out = append(out, remaining[i])
		done[remaining[i].Name] = true
		remaining = slices.Delete(remaining, i, i+1)
	}
	return out, nil
}

// Narrowing returns the names of the declared restrictive policies that apply to role (a policy without `to`
// applies to every role). A backup read as such a role can miss rows, and a restore as it can be refused rows.
func Narrowing(m *schema.Model, role string) []string {
	var out []string
	for _, p := range m.Policies {
		if p.As != schema.Permissive && (len(p.To) == 0 || slices.Contains(p.To, role)) {
			out = append(out, p.Name)
		}
	}
	return out
}

// DefaultRole returns the first declared role of m that holds every privilege in need and that no restrictive
// policy narrows (see Narrowing). Returns ErrNoRole when there is none.
func DefaultRole(m *schema.Model, need ...schema.Privilege) (string, error) {
	for _, r := range m.Roles {
		if !slices.ContainsFunc(need, func(p schema.Privilege) bool { return !r.Has(p) }) && len(Narrowing(m, r.Name)) == 0 {
			return r.Name, nil
		}
	}
	names := make([]string, len(need))
	for i, p := range need {
		names[i] = string(p)
	}
	return "", fmt.Errorf("%w: none holds %s without a restrictive policy narrowing it", ErrNoRole, strings.Join(names, ", "))
}
