package query

import (
	"slices"
	"strings"

	"pgtenant/schema"
)

// Cardinality is how many rows of the embedded table one row of the
// embedding table reaches, in PostgREST's words.
type Cardinality string

// The cardinalities of a Relationship. A many-to-one or one-to-one embed is
// a JSON object (or null); a one-to-many or many-to-many embed is an array.
const (
	ManyToOne  Cardinality = "many-to-one"
	OneToMany  Cardinality = "one-to-many"
	OneToOne   Cardinality = "one-to-one"
	ManyToMany Cardinality = "many-to-many"
)

// ForeignKey is one foreign key as a catalog reader or the declaration knows
// it: the input of Relationships. Between two tenant tables the columns may
// include the tenant column (as the generated constraint does, leading both
// sides) or not (as the declaration spells it); Relationships accepts both.
type ForeignKey struct {
	Name       string   // the constraint name
	Table      string   // the referencing table
	Columns    []string // its columns
	RefTable   string   // the referenced table
	RefColumns []string // the referenced columns, in the order of Columns
}

// TableKeys is what Relationships needs to know of a table: its primary key
// and unique keys (with or without the leading tenant column) and whether it
// is shared.
type TableKeys struct {
	Name       string
	PrimaryKey []string
	// Unique lists the column sets of its unique constraints and unique
	// indexes without a WHERE: a foreign key over one of them (or over the
	// primary key) is one-to-one.
	Unique [][]string
	Shared bool
}

// Relationship is one way to embed Target in Table, as PostgREST derives
// them from foreign keys. Columns and TargetColumns never hold the tenant
// column: Tenant names it when both tables carry it, and then every join
// matches it as well as the key.
type Relationship struct {
	Kind   Cardinality
	Table  string // the embedding table (the origin)
	Target string // the embedded table
	// Constraint is the foreign key's name; for ManyToMany the junction's
	// foreign key toward Table.
	Constraint string
	// Columns are Table's columns of the join: the foreign key's for
	// ManyToOne, the referenced key's for OneToMany and ManyToMany.
	Columns []string
	// TargetColumns are Target's, pairwise with Columns (ManyToOne,
	// OneToMany) or with Junction.TargetColumns (ManyToMany).
	TargetColumns []string
	// Tenant is the tenant column joined between Table and Target
	// (ManyToOne, OneToMany); "" when either table is shared.
	Tenant string
	// Junction is the table between Table and Target of a ManyToMany.
	Junction *Junction
}

// Junction is the middle table of a many-to-many relationship: a table whose
// two foreign keys are both part of its primary key.
type Junction struct {
	Table string
	// Constraint and Columns are the foreign key toward the Relationship's
	// Table: Columns reference Relationship.Columns pairwise.
	Constraint string
	Columns    []string
	// TargetConstraint and TargetColumns are the foreign key toward the
	// Relationship's Target: TargetColumns reference
	// Relationship.TargetColumns pairwise.
	TargetConstraint string
	TargetColumns    []string
	// TableTenant and TargetTenant are the tenant column the junction joins
	// on with Table and with Target; "" where that side is shared.
	TableTenant, TargetTenant string
}

// Relationships derives every relationship from foreign keys, as PostgREST
// does: each foreign key gives a many-to-one from its table and a
// one-to-many back; each pair of foreign keys of one table whose columns
// all belong to its primary key makes that table a junction, giving a
// many-to-many each way between the tables they reference. tenantColumn
// is the model's tenant column; tables lists every table with its key.
// Foreign keys naming an unknown table are skipped. The result is in a
// stable order: by foreign key, then by junction.
func Relationships(tenantColumn string, tables []TableKeys, fks []ForeignKey) []Relationship {
	byName := map[string]TableKeys{}
	for _, t := range tables {
		byName[t.Name] = t
	}
	type key struct {
		ForeignKey
		tenant string // the tenant column both sides join on, or ""
	}
	var keys []key
	for _, fk := range fks {
		from, ok1 := byName[fk.Table]
		to, ok2 := byName[fk.RefTable]
		if !ok1 || !ok2 || len(fk.Columns) != len(fk.RefColumns) {
			continue
		}
		k := key{ForeignKey: fk}
		if tenantColumn != "" && !from.Shared && !to.Shared {
			k.tenant = tenantColumn
			k.Columns, k.RefColumns = dropTenantPairs(tenantColumn, fk.Columns, fk.RefColumns)
			if len(k.Columns) == 0 {
				continue // the foreign key to the tenant registry, or only the tenant column
			}
		}
		keys = append(keys, k)
	}
	var out []Relationship
	for _, k := range keys {
		forward, back := ManyToOne, OneToMany
		if unique(byName[k.Table], tenantColumn, k.Columns) {
			forward, back = OneToOne, OneToOne
		}
		out = append(out,
			Relationship{Kind: forward, Table: k.Table, Target: k.RefTable, Constraint: k.Name,
				Columns: k.Columns, TargetColumns: k.RefColumns, Tenant: k.tenant},
			Relationship{Kind: back, Table: k.RefTable, Target: k.Table, Constraint: k.Name,
				Columns: k.RefColumns, TargetColumns: k.Columns, Tenant: k.tenant})
	}
	for _, t := range tables {
		pk := t.PrimaryKey
		if !t.Shared && tenantColumn != "" {
			pk = slices.DeleteFunc(slices.Clone(pk), func(c string) bool { return c == tenantColumn })
		}
		var own []key
		for _, k := range keys {
			if k.Table == t.Name && subset(k.Columns, pk) {
				own = append(own, k)
			}
		}
		for i, a := range own {
			for j, z := range own {
				if i == j {
					continue
				}
				out = append(out, Relationship{Kind: ManyToMany, Table: a.RefTable, Target: z.RefTable,
					Constraint: a.Name, Columns: a.RefColumns, TargetColumns: z.RefColumns,
					Junction: &Junction{Table: t.Name, Constraint: a.Name, Columns: a.Columns,
						TargetConstraint: z.Name, TargetColumns: z.Columns, TableTenant: a.tenant, TargetTenant: z.tenant}})
			}
		}
	}
	return out
}

// dropTenantPairs removes the tenant column where it is paired with itself,
// as the generated composite keys between tenant tables have it.
func dropTenantPairs(tenant string, cols, refs []string) ([]string, []string) {
	var c, r []string
	for i := range cols {
		if cols[i] == tenant && refs[i] == tenant {
			continue
		}
		c, r = append(c, cols[i]), append(r, refs[i])
	}
	return c, r
}

// unique reports whether cols (without the tenant column) are exactly the
// primary key or a unique key of t (without it), in any order.
func unique(t TableKeys, tenantColumn string, cols []string) bool {
	same := func(key []string) bool {
		if !t.Shared && tenantColumn != "" {
			key = slices.DeleteFunc(slices.Clone(key), func(c string) bool { return c == tenantColumn })
		}
		return len(key) == len(cols) && subset(cols, key)
	}
	if same(t.PrimaryKey) {
		return true
	}
	return slices.ContainsFunc(t.Unique, same)
}

func subset(cols, of []string) bool {
	for _, c := range cols {
		if !slices.Contains(of, c) {
			return false
		}
	}
	return len(cols) > 0
}

// ModelRelationships derives the relationships of a model from the foreign
// keys its tables carry (schema.Table.ForeignKeys, declared or introspected).
func ModelRelationships(m *schema.Model) []Relationship {
	var tables []TableKeys
	var fks []ForeignKey
	for _, t := range m.Tables {
		tk := TableKeys{Name: t.Name, Shared: t.Shared}
		if t.PrimaryKey != nil {
			tk.PrimaryKey = t.PrimaryKey.Columns
		}
		for _, ix := range t.Indexes {
			if ix.Unique && ix.Where == "" {
				tk.Unique = append(tk.Unique, ix.Columns)
			}
		}
		tables = append(tables, tk)
		for _, fk := range t.ForeignKeys {
			fks = append(fks, ForeignKey{Name: fk.Name, Table: t.Name, Columns: fk.Columns, RefTable: fk.RefTable,
				RefColumns: fk.RefColumns})
		}
	}
	return Relationships(m.Tenancy.Column, tables, fks)
}

// ViewRelationships infers the relationships of m's views, a subset of what PostgREST infers through views: a
// many-to-one from a view to the table a foreign key references, when the view has every column of the foreign
// key under the same name and its query reads those columns of the foreign key's table (View.ColumnsRead). One per
// target and columns: foreign keys of several tables the view reads that match the same columns and target give
// one relationship, named by the first. A view has no tenant column (its rows are the tenant's by RLS), so the
// join carries none; the embedded table is filtered by the request's tenant as under a shared table.
func ViewRelationships(m *schema.Model) []Relationship {
	var out []Relationship
	for _, v := range m.Views {
		seen := map[string]bool{}
		for _, t := range m.Tables {
			for _, fk := range t.ForeignKeys {
				if m.Table(fk.RefTable) == nil || !viewExposes(v, t.Name, fk.Columns) {
					continue
				}
				k := fk.RefTable + "(" + strings.Join(fk.Columns, ",") + ")"
				if seen[k] {
					continue
				}
				seen[k] = true
				out = append(out, Relationship{Kind: ManyToOne, Table: v.Name, Target: fk.RefTable, Constraint: fk.Name,
					Columns: fk.Columns, TargetColumns: fk.RefColumns})
			}
		}
	}
	return out
}

// viewExposes reports whether v has each of cols and reads it from table.
func viewExposes(v *schema.View, table string, cols []string) bool {
	for _, c := range cols {
		if v.Column(c) == nil || !slices.Contains(v.ColumnsRead, table+"."+c) {
			return false
		}
	}
	return len(cols) > 0
}

// toOne reports whether the embed is an object rather than an array.
func (r Relationship) toOne() bool { return r.Kind == ManyToOne || r.Kind == OneToOne }

// matchesHint reports whether hint (the part after '!') picks r, as
// PostgREST's findRel: the constraint name or a single-column foreign key's
// column on either side; for a many-to-many, the junction table's name.
func (r Relationship) matchesHint(hint string) bool {
	if r.Junction != nil {
		return hint == r.Junction.Table
	}
	return hint == r.Constraint || hint == r.singleColumn() || hint == r.singleTargetColumn()
}

// singleColumn is the one column of Columns, or "" when there are more (or
// for a many-to-many).
func (r Relationship) singleColumn() string {
	if r.Junction != nil || len(r.Columns) != 1 {
		return ""
	}
	return r.Columns[0]
}

// singleTargetColumn is the one column of TargetColumns, or "".
func (r Relationship) singleTargetColumn() string {
	if r.Junction != nil || len(r.TargetColumns) != 1 {
		return ""
	}
	return r.TargetColumns[0]
}

// RelationshipDetail is one candidate listed in the details of PGRST201,
// in PostgREST's shape.
type RelationshipDetail struct {
	Cardinality  string `json:"cardinality"`
	Embedding    string `json:"embedding"`
	Relationship string `json:"relationship"`
}

// detail describes r as PostgREST's compressedRel does.
func (r Relationship) detail() RelationshipDetail {
	d := RelationshipDetail{Cardinality: string(r.Kind), Embedding: r.Table + " with " + r.Target}
	switch {
	case r.Junction != nil:
		j := r.Junction
		d.Relationship = j.Table + " using " + j.Constraint + parenList(j.Columns) + " and " +
			j.TargetConstraint + parenList(j.TargetColumns)
	default:
		d.Relationship = r.Constraint + " using " + r.Table + parenList(r.Columns) + " and " + r.Target +
			parenList(r.TargetColumns)
	}
	return d
}

// hintName is the '!' hint PostgREST suggests for r.
func (r Relationship) hintName() string {
	if r.Junction != nil {
		return r.Junction.Table
	}
	return r.Constraint
}

func parenList(cols []string) string {
	s := "("
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += c
	}
	return s + ")"
}
