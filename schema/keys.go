package schema

import "strings"

// This file holds the naming and key rules shared by validation and the SQL
// generator, so that what is checked is exactly what is emitted.

// IsolationPolicy is the name of the RESTRICTIVE policy on every tenant table.
const IsolationPolicy = "tenant_isolation"

// SharedReadPolicy is the name of the read-only policy on every shared table.
const SharedReadPolicy = "shared_read"

// AccessPolicyName is the name of the PERMISSIVE policy that lets role reach
// its tenant's rows of a tenant table.
func AccessPolicyName(role string) string { return role + "_access" }

// PrimaryKeyName is the name of a table's primary key constraint (and index).
func PrimaryKeyName(table string) string { return table + "_pkey" }

// ForeignKeyName is the generated name of a foreign key over cols.
func ForeignKeyName(table string, cols []string) string {
	return table + "_" + strings.Join(cols, "_") + "_fkey"
}

// CoveringIndexName is the generated name of the index that covers a foreign
// key over cols.
func CoveringIndexName(table string, cols []string) string {
	return table + "_" + strings.Join(cols, "_") + "_idx"
}

// TenantForeignKeyName is the name of the foreign key from a tenant table's
// tenant column to the tenant registry.
func (m *Model) TenantForeignKeyName(t *Table) string {
	return ForeignKeyName(t.Name, []string{m.Tenancy.Column})
}

// KeyColumns returns cols as the generator emits them in keys and indexes of
// t: led by the tenant column on a tenant table, unchanged on a shared one.
func (m *Model) KeyColumns(t *Table, cols []string) []string {
	if t.Shared {
		return cols
	}
	return append([]string{m.Tenancy.Column}, cols...)
}

// ForeignKeyColumns returns both sides of fk as emitted: between two tenant
// tables the tenant column leads both, so a row can only reference a row of
// its own tenant.
func (m *Model) ForeignKeyColumns(t *Table, fk *ForeignKey) (cols, refCols []string) {
	target := m.Table(fk.RefTable)
	if t.Shared || target == nil || target.Shared {
		return fk.Columns, fk.RefColumns
	}
	return m.KeyColumns(t, fk.Columns), m.KeyColumns(target, fk.RefColumns)
}

// CoveringIndexes returns the indexes the generator adds so that every foreign
// key of t is covered (deletes and updates of the referenced row need one),
// unless the primary key or a declared index already leads with its columns.
func (m *Model) CoveringIndexes(t *Table) []*Index {
	var out []*Index
	for _, fk := range t.ForeignKeys {
		cols, _ := m.ForeignKeyColumns(t, fk)
		if m.covered(t, cols, out) {
			continue
		}
		out = append(out, &Index{
			Name:    CoveringIndexName(t.Name, fk.Columns),
			Columns: fk.Columns,
			Range:   fk.Range,
		})
	}
	return out
}

func (m *Model) covered(t *Table, cols []string, extra []*Index) bool {
	if t.PrimaryKey != nil && hasPrefix(m.KeyColumns(t, t.PrimaryKey.Columns), cols) {
		return true
	}
	for _, ix := range append(t.Indexes, extra...) {
		if ix.Where == "" && hasPrefix(m.KeyColumns(t, ix.Columns), cols) {
			return true
		}
	}
	return false
}

// hasPrefix reports whether the index columns idx start with cols, in order.
func hasPrefix(idx, cols []string) bool {
	if len(idx) < len(cols) {
		return false
	}
	for i, c := range cols {
		if idx[i] != c {
			return false
		}
	}
	return true
}
