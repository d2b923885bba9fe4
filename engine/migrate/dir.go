package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// SnapshotFile is the model the last migration produced, kept beside the
// migrations so that the next one can be planned against it.
const SnapshotFile = "schema.json"

// Migration is one numbered pair of files in the migrations directory.
type Migration struct {
	Version uint
	Name    string
}

// UpFile is the name of the migration's up file.
func (m Migration) UpFile() string { return fmt.Sprintf("%06d_%s.up.sql", m.Version, m.Name) }

// DownFile is the name of the migration's down file.
func (m Migration) DownFile() string { return fmt.Sprintf("%06d_%s.down.sql", m.Version, m.Name) }

var fileRE = regexp.MustCompile(`^(\d+)_([a-z0-9_]+)\.(up|down)\.sql$`)

// List returns the migrations in dir in version order. A missing directory
// has none.
func List(dir string) ([]Migration, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	seen := map[uint]Migration{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", e.Name(), err)
		}
		if prev, ok := seen[uint(v)]; ok && prev.Name != m[2] {
			return nil, fmt.Errorf("migrate: version %d is used by both %q and %q", v, prev.Name, m[2])
		}
		seen[uint(v)] = Migration{Version: uint(v), Name: m[2]}
	}
	out := make([]Migration, 0, len(seen))
	for _, m := range seen {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Migration) int { return int(a.Version) - int(b.Version) })
	return out, nil
}

// Snapshot is what schema.json holds: the model the last migration produced, the version of the generator that
// wrote the migrations, and the generated objects as they wrote them (ddl.Objects), so that a later pgtenant that
// writes an object differently can plan the migration that brings the database up to date (ddl.Upgrade). A
// schema.json written before pgtenant recorded the generator has Generator 0 and no Objects.
type Snapshot struct {
	*schema.Model
	Generator int          `json:"generator,omitempty"`
	Objects   []ddl.Object `json:"objects,omitempty"`
}

// NewSnapshot is the snapshot of m as this pgtenant generates it.
func NewSnapshot(m *schema.Model) *Snapshot {
	return &Snapshot{Model: m, Generator: ddl.GeneratorVersion, Objects: ddl.Objects(m)}
}

// LoadSnapshot reads dir/schema.json; nil when there is none.
func LoadSnapshot(dir string) (*Snapshot, error) {
	b, err := os.ReadFile(filepath.Join(dir, SnapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	s := &Snapshot{Model: &schema.Model{}}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("migrate: %s: %w", SnapshotFile, err)
	}
	if s.Generator > ddl.GeneratorVersion {
		return nil, fmt.Errorf("migrate: %s was written by a newer pgtenant (generator %d; this one is %d): upgrade pgtenant",
			SnapshotFile, s.Generator, ddl.GeneratorVersion)
	}
	return s, nil
}

// ReadSnapshot reads the model in dir/schema.json; nil when there is none.
func ReadSnapshot(dir string) (*schema.Model, error) {
	s, err := LoadSnapshot(dir)
	if s == nil || err != nil {
		return nil, err
	}
	return s.Model, nil
}

// Bytes renders the snapshot as the contents of schema.json.
func (s *Snapshot) Bytes() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return append(b, '\n'), nil
}

// GenerateOptions tune Generate.
type GenerateOptions struct {
	// Name names the migration; "" takes a name from the change ("add_table_content_tag"). The first migration
	// is always "init".
	Name string
	// AllowDestructive lets the migration drop tables and columns and change types in ways that can lose data.
	AllowDestructive bool
	// ConcurrentIndexes puts each index added to an existing table in a non-transactional migration of its
	// own, built with CREATE INDEX CONCURRENTLY.
	ConcurrentIndexes bool
}

// DestructiveError is Generate's refusal of changes that can lose data without AllowDestructive.
type DestructiveError struct {
	Reasons []string // one per destructive change: "drops column webpages_webpage.subtitle and its data"
}

func (e *DestructiveError) Error() string {
	return "the declaration change is destructive:\n  - " + strings.Join(e.Reasons, "\n  - ") +
		"\nReview it, back up what you need (pgtenant backup), and run again with --allow-destructive. " +
		"To rename a table or column instead, declare renamed_from = \"old_name\"."
}

// UpgradeName names the migration that brings the objects of a deployment up to what this pgtenant generates
// for the same declaration (ddl.Upgrade): NNNNNN_generator_upgrade.
const UpgradeName = "generator_upgrade"

// Generate returns the files (name → contents) of the next migrations that take the database described by dir
// to next, plus the new snapshot; nil when nothing changed. That is one pair of files, and with
// ConcurrentIndexes one more pair per index built concurrently.
//
// When this pgtenant writes a generated object (a policy) differently from how the migrations in dir wrote it,
// as schema.json records, the first new pair is NNNNNN_generator_upgrade: it replaces those objects, and only
// those, before the migration of the declaration's changes, if any. A schema.json that records no objects
// (written by an older pgtenant) is taken to match this generator, and is rewritten with them.
//
// Generate first runs schema.CheckFragments on next, as Load does: whoever built the model, no SQL of it that
// validation refuses is written into a migration (a function body that calls set_config on the tenant setting or
// SET ROLE among it). Before it returns them, Generate re-parses every file with PostgreSQL's parser and refuses them all unless
// each holds exactly the statements it generated (CheckStatements): as many, of the same kinds, in the same
// order as the same migrations generated with every SQL fragment of the declaration masked
// (schema.MaskFragments). schema.Load already refuses a fragment that is not exactly one expression; this
// catches what would get past it, in the declaration or in the generator.
func Generate(dir string, next *schema.Model, opts GenerateOptions) (map[string][]byte, error) {
	// The checks of validation that the generated SQL relies on, run again on a model that may not come from
	// schema.Load: each fragment one thing of its kind, calling nothing it may not, and no view or function body
	// that sets the tenant setting or the role, is SECURITY DEFINER, or runs dynamic SQL.
	if diags := schema.CheckFragments(next); diags.HasErrors() {
		return nil, fmt.Errorf("migrate: the declaration's SQL is refused: %w", diags)
	}
	existing, err := List(dir)
	if err != nil {
		return nil, err
	}
	snap, err := LoadSnapshot(dir)
	if err != nil {
		return nil, err
	}
	var prev *schema.Model
	var recorded []ddl.Object
	if snap != nil {
		prev, recorded = snap.Model, snap.Objects
		if snap.Objects == nil {
			recorded = ddl.Objects(prev)
		}
	}
	if prev == nil && len(existing) > 0 {
		return nil, fmt.Errorf("migrate: %s holds migrations but no %s, so the next one cannot be planned; "+
			"restore %s from version control", dir, SnapshotFile, SnapshotFile)
	}
	files, err := generate(prev, next, recorded, existing, opts)
	if err != nil {
		return nil, err
	}
	newSnap, err := NewSnapshot(next).Bytes()
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		// Nothing to migrate; the snapshot is rewritten only when it lacks what this pgtenant records.
		old, err := os.ReadFile(filepath.Join(dir, SnapshotFile))
		if err != nil || bytes.Equal(old, newSnap) {
			return nil, nil
		}
		return map[string][]byte{SnapshotFile: newSnap}, nil
	}
	masked, err := schema.MaskFragments(prev, next)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	want, err := generate(masked[0], masked[1], maskRecorded(recorded, prev, masked[0]), existing, opts)
	if err != nil {
		return nil, fmt.Errorf("migrate: generate the migration without its SQL fragments: %w", err)
	}
	if err := CheckStatements(files, want); err != nil {
		return nil, err
	}
	files[SnapshotFile] = newSnap
	return files, nil
}

// maskRecorded is recorded as the generation without SQL fragments sees it: an object recorded as this generator
// writes it for prev is recorded as it writes it for masked (prev with its fragments masked), so that the same
// objects differ in both generations. A nil prev has no objects.
func maskRecorded(recorded []ddl.Object, prev, masked *schema.Model) []ddl.Object {
	if prev == nil {
		return nil
	}
	cur, mcur := ddl.Objects(prev), ddl.Objects(masked)
	out := slices.Clone(recorded)
	for i, r := range out {
		for j, c := range cur {
			if c.Kind == r.Kind && c.Table == r.Table && c.Name == r.Name && c.SQL == r.SQL && j < len(mcur) {
				out[i].SQL = mcur[j].SQL
			}
		}
	}
	return out
}

// generate returns the migration files that take a database built from prev (nil: an empty one), whose generated
// objects are recorded, to next, given the existing migrations; nil when nothing changed.
func generate(prev, next *schema.Model, recorded []ddl.Object, existing []Migration, opts GenerateOptions) (map[string][]byte, error) {
	if prev == nil {
		changes, err := ddl.Diff(nil, next)
		if err != nil {
			return nil, err
		}
		m := Migration{Version: 1, Name: "init"}
		up, down := ddl.Render(changes, ddl.TargetFor(next)).Files()
		return map[string][]byte{m.UpFile(): []byte(up), m.DownFile(): []byte(down)}, nil
	}
	v := uint(1)
	if len(existing) > 0 {
		v = existing[len(existing)-1].Version + 1
	}
	files := map[string][]byte{}
	if upgrade := ddl.Upgrade(recorded, ddl.Objects(prev)); len(upgrade) > 0 {
		m := Migration{Version: v, Name: UpgradeName}
		up, down := ddl.Render(upgrade, ddl.TargetFor(next)).Files()
		files[m.UpFile()], files[m.DownFile()] = []byte(up), []byte(down)
		v++
	}
	mig, err := ddl.Incremental(prev, next, ddl.Options{ConcurrentIndexes: opts.ConcurrentIndexes})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if len(mig.Changes) == 0 && len(mig.Concurrent) == 0 {
		return files, nil
	}
	if bad := mig.Destructive(); len(bad) > 0 && !opts.AllowDestructive {
		e := &DestructiveError{}
		for _, c := range bad {
			e.Reasons = append(e.Reasons, c.Destructive)
		}
		return nil, e
	}
	name := opts.Name
	if name == "" {
		name = mig.Name
	}
	if len(mig.Changes) > 0 {
		m := Migration{Version: v, Name: name}
		up, down := ddl.Render(mig.Changes, ddl.TargetFor(next)).Files()
		files[m.UpFile()], files[m.DownFile()] = []byte(up), []byte(down)
		v++
	}
	for _, c := range mig.Concurrent {
		m := Migration{Version: v, Name: "index_" + strings.TrimPrefix(c.Object, "index ") + "_concurrently"}
		up, down := ddl.RenderNonTransactional(c, ddl.TargetFor(next))
		files[m.UpFile()], files[m.DownFile()] = []byte(up), []byte(down)
		v++
	}
	return files, nil
}

// StatementError is CheckStatements' refusal of a migration file that holds other statements than pgtenant
// generated for it.
type StatementError struct {
	File string
	// Line is where the first statement that differs starts in the file; 0 when the file does not parse or only
	// lacks statements at its end.
	Line int
	// Got and Want are the statement kinds as PostgreSQL's parser names them ("AlterTableStmt"); Got is nil when
	// the file does not parse.
	Got, Want []string
	Err       error // why the file does not parse
}

func (e *StatementError) Error() string {
	msg := fmt.Sprintf("migrate: refusing to write %s: ", e.File)
	switch {
	case e.Err != nil:
		msg += fmt.Sprintf("PostgreSQL's parser cannot read it (%v)", e.Err)
	case len(e.Got) != len(e.Want):
		msg += fmt.Sprintf("it holds %d statements where pgtenant generated %d", len(e.Got), len(e.Want))
	default:
		msg += "it holds other statements than pgtenant generated"
	}
	for i := range max(len(e.Got), len(e.Want)) {
		if i < len(e.Got) && i < len(e.Want) && e.Got[i] == e.Want[i] {
			continue
		}
		got, want := "nothing", "nothing"
		if i < len(e.Got) {
			got = e.Got[i]
		}
		if i < len(e.Want) {
			want = e.Want[i]
		}
		msg += fmt.Sprintf("; statement %d", i+1)
		if e.Line > 0 {
			msg += fmt.Sprintf(" (line %d)", e.Line)
		}
		msg += fmt.Sprintf(" is %s where pgtenant wrote %s", got, want)
		break
	}
	return msg + ". A SQL fragment of the declaration changes the SQL around it: run `pgtenant validate`"
}

// CheckStatements compares migration files (got: name → contents) with the same migrations generated from the
// declaration with its SQL fragments masked (want; see Generate). Every SQL file of got must hold as many
// statements as its twin in want, of the same kinds and in the same order, as PostgreSQL's parser reads them
// (schema.ParseScript); the snapshot is not SQL and is left out. The error is a *StatementError about the first
// file that differs.
func CheckStatements(got, want map[string][]byte) error {
	names := make([]string, 0, len(got))
	for n := range got {
		if n != SnapshotFile {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		w, ok := want[name]
		if !ok {
			return &StatementError{File: name, Err: errors.New("pgtenant did not generate a file of that name")}
		}
		wantStmts, err := schema.ParseScript(string(w))
		if err != nil {
			return fmt.Errorf("migrate: %s without its SQL fragments: %w", name, err)
		}
		e := &StatementError{File: name}
		for _, st := range wantStmts {
			e.Want = append(e.Want, st.Kind)
		}
		sql := string(got[name])
		gotStmts, err := schema.ParseScript(sql)
		if err != nil {
			e.Err = err
			return e
		}
		for i, st := range gotStmts {
			e.Got = append(e.Got, st.Kind)
			if e.Line == 0 && (i >= len(e.Want) || st.Kind != e.Want[i]) {
				e.Line = lineOf(sql, st)
			}
		}
		if !slices.Equal(e.Got, e.Want) {
			return e
		}
	}
	return nil
}

// lineOf is the line a statement's first token is on.
func lineOf(sql string, st schema.Statement) int { return strings.Count(sql[:st.First], "\n") + 1 }

// Stale returns the files of dir that differ from what this version of
// pgtenant generates for them. Only a directory holding just the first
// migration can be regenerated from its snapshot; for others it returns nil.
func Stale(dir string) ([]string, error) {
	existing, err := List(dir)
	if err != nil || len(existing) != 1 || existing[0].Version != 1 {
		return nil, err
	}
	prev, err := ReadSnapshot(dir)
	if err != nil || prev == nil {
		return nil, err
	}
	changes, err := ddl.Diff(nil, prev)
	if err != nil {
		return nil, err
	}
	up, down := ddl.Render(changes, ddl.TargetFor(prev)).Files()
	var stale []string
	for name, want := range map[string]string{existing[0].UpFile(): up, existing[0].DownFile(): down} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		if !bytes.Equal(got, []byte(want)) {
			stale = append(stale, name)
		}
	}
	slices.Sort(stale)
	return stale, nil
}

// WriteFiles writes generated files into dir, creating it if needed.
func WriteFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}
