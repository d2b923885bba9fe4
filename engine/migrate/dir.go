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

// ReadSnapshot reads the model in dir/schema.json; nil when there is none.
func ReadSnapshot(dir string) (*schema.Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, SnapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var m schema.Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("migrate: %s: %w", SnapshotFile, err)
	}
	return &m, nil
}

// Snapshot renders a model as the contents of schema.json.
func Snapshot(m *schema.Model) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return append(b, '\n'), nil
}

// Generate returns the files (name → contents) of the next migration that
// takes the database described by dir to next, plus the new snapshot; nil
// when nothing changed. name names the migration; the first one is "init".
// Returns ddl.ErrIncremental when the declaration changed after the first
// migration.
func Generate(dir string, next *schema.Model, name string) (map[string][]byte, error) {
	existing, err := List(dir)
	if err != nil {
		return nil, err
	}
	prev, err := ReadSnapshot(dir)
	if err != nil {
		return nil, err
	}
	if prev == nil && len(existing) > 0 {
		return nil, fmt.Errorf("migrate: %s holds migrations but no %s, so the next one cannot be planned; "+
			"restore %s from version control", dir, SnapshotFile, SnapshotFile)
	}
	changes, err := ddl.Plan(prev, next)
	if err != nil || len(changes) == 0 {
		return nil, err
	}
	m := Migration{Version: 1, Name: "init"}
	if len(existing) > 0 {
		m = Migration{Version: existing[len(existing)-1].Version + 1, Name: name}
	}
	up, down := ddl.Render(changes)
	snap, err := Snapshot(next)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		m.UpFile():   []byte(up),
		m.DownFile(): []byte(down),
		SnapshotFile: snap,
	}, nil
}

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
	changes, err := ddl.Plan(nil, prev)
	if err != nil {
		return nil, err
	}
	up, down := ddl.Render(changes)
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
