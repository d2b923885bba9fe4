package ddl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"pgtenant/schema"
)

// Options tune an incremental migration.
type Options struct {
	// ConcurrentIndexes builds indexes added to existing tables with CREATE INDEX CONCURRENTLY, which does not
	// block writes but cannot run in a transaction: they go in Migration.Concurrent, not in Changes.
	ConcurrentIndexes bool
}

// Migration is what Incremental plans: the changes of one transactional migration, and the indexes to build
// concurrently, each in a migration file of its own that runs outside a transaction.
type Migration struct {
	Changes    []Change
	Concurrent []Change
	// Name describes the change in a few words, for the migration's file name ("add_table_content_tag").
	Name string
}

// Destructive returns the changes that can lose data.
func (m *Migration) Destructive() []Change {
	var out []Change
	for _, c := range m.Changes {
		if c.Destructive != "" {
			out = append(out, c)
		}
	}
	return out
}

// Incremental plans the migration that takes a database built from prev (the model the last migration produced)
// to next. Equal models give an empty migration. A rename is never guessed: a table or column that is gone from
// next and another that is new are a drop and an add, unless next marks the new one with renamed_from. Every new
// tenant table gets everything the first migration gives one (createTable is shared), and the down changes undo
// the up changes step by step.
func Incremental(prev, next *schema.Model, opts Options) (*Migration, error) {
	if Equal(prev, next) {
		return &Migration{}, nil
	}
	if prev.Tenancy.Citus() != next.Tenancy.Citus() {
		// Distributing existing tables, or undistributing them, moves every row: it is a data migration, not a
		// schema change, and the policies of one profile are unsafe in the other while it runs.
		return nil, fmt.Errorf("ddl: scale_out changes from %q to %q: a migration cannot move a database between "+
			"one PostgreSQL and a Citus cluster; set up the new database from the first migration and copy the "+
			"tenants' rows over", orNone(prev.Tenancy.ScaleOut), orNone(next.Tenancy.ScaleOut))
	}
	d := &differ{next: next, opts: opts}
	old, err := d.renames(prev)
	if err != nil {
		return nil, err
	}
	d.old = old
	d.classify()
	d.planRoutines()
	d.createRoles()
	d.dropRoutines()
	d.dropPolicies()
	d.revokeGrants()
	d.dropConstraintsAndIndexes()
	d.dropTables()
	d.dropColumns()
	d.alterColumns()
	d.addColumns()
	d.createTables()
	d.addConstraintsAndIndexes()
	d.comments()
	d.tenantDefaults()
	d.grantGrants()
	d.createPolicies()
	d.registryAccess()
	d.createRoutines()
	d.dropRoles()
	if len(d.out) == 0 && len(d.concurrent) == 0 {
		d.add("tenancy", "", Change{
			Object: "tenancy",
			Comment: fmt.Sprintf("The tenancy header is now %s (was %s). The API reads it from the declaration; "+
				"nothing changes in the database.", next.Tenancy.Header, prev.Tenancy.Header),
			Up:   []Stmt{NoOp{Why: "nothing to do"}},
			Down: []Stmt{NoOp{Why: "nothing to do"}},
		})
	}
	return &Migration{Changes: d.out, Concurrent: d.concurrent, Name: d.name()}, nil
}

// differ holds the state of one Incremental plan. old is prev with next's renames applied: what the database
// looks like after the rename statements, which come first.
type differ struct {
	old, next  *schema.Model
	opts       Options
	out        []Change
	concurrent []Change
	names      []string

	kept     map[string]bool // tables in both old and next, of the same kind (tenant or shared)
	renamed  bool            // the migration renames tables or columns first
	routines routinePlan
	retyped  map[string]bool // "table.column" whose type changes
}

func (d *differ) add(name string, destructive string, c Change) {
	c.Destructive = destructive
	d.out = append(d.out, c)
	if name != "" && !slices.Contains(d.names, name) {
		d.names = append(d.names, name)
	}
}

func (d *differ) name() string {
	if len(d.names) == 0 {
		return "change"
	}
	n := d.names[0]
	if len(d.names) > 1 {
		n += "_and_more"
	}
	if len(n) > 60 {
		n = strings.TrimRight(n[:60], "_")
	}
	return n
}

// clone copies a model deeply; source ranges are not kept.
func clone(m *schema.Model) *schema.Model {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // a model is plain data
	}
	var out schema.Model
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

// renames applies next's renames to a copy of prev and emits the statements that do the same to the database:
// tables and columns marked with renamed_from, a renamed tenant column, and the generated names (keys,
// covering indexes) that follow from them.
func (d *differ) renames(prev *schema.Model) (*schema.Model, error) {
	before := clone(prev)
	old := clone(prev)
	var problems []string
	var stmts, undo []Stmt
	var renamed [][3]string // {old table name, old column name or "", table name in old}
	for _, t := range d.next.Tables {
		if t.RenamedFrom == "" || old.Table(t.Name) != nil {
			continue
		}
		ot := old.Table(t.RenamedFrom)
		if ot == nil {
			problems = append(problems, fmt.Sprintf("table %q has renamed_from = %q, but the last migration has no table %q",
				t.Name, t.RenamedFrom, t.RenamedFrom))
			continue
		}
		from := ot.Name
		renameTable(old, from, t.Name)
		stmts = append(stmts, Rename{Table: Qualified(Schema, from), To: t.Name})
		undo = append(undo, Rename{Table: Qualified(Schema, t.Name), To: from})
		d.names = append(d.names, "rename_table_"+from)
		renamed = append(renamed, [3]string{from, "", ""})
	}
	for _, t := range d.next.Tables {
		ot := old.Table(t.Name)
		if ot == nil {
			continue
		}
		for _, c := range t.Columns {
			if c.RenamedFrom == "" || ot.Column(c.Name) != nil {
				continue
			}
			if ot.Column(c.RenamedFrom) == nil {
				problems = append(problems, fmt.Sprintf("column %s.%s has renamed_from = %q, but the last migration has no column %s.%s",
					t.Name, c.Name, c.RenamedFrom, t.Name, c.RenamedFrom))
				continue
			}
			renameColumn(old, t.Name, c.RenamedFrom, c.Name)
			stmts = append(stmts, Rename{Table: TableName(ot), Column: c.RenamedFrom, To: c.Name})
			undo = append(undo, Rename{Table: TableName(ot), Column: c.Name, To: c.RenamedFrom})
			d.names = append(d.names, "rename_column_"+t.Name+"_"+c.RenamedFrom)
			renamed = append(renamed, [3]string{before.Tables[slices.Index(old.Tables, ot)].Name, c.RenamedFrom, t.Name})
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("ddl: %s", strings.Join(problems, "; "))
	}
	if col := d.next.Tenancy.Column; old.Tenancy.Column != col {
		for _, t := range old.Tables {
			if !t.Shared {
				stmts = append(stmts, Rename{Table: TableName(t), Column: old.Tenancy.Column, To: col})
				undo = append(undo, Rename{Table: TableName(t), Column: col, To: old.Tenancy.Column})
			}
		}
		old.Tenancy.Column = col
		d.names = append(d.names, "rename_tenant_column")
	}
	// The generated names that follow from the new ones. before and old have the same tables in the same order.
	for i, bt := range before.Tables {
		t := old.Tables[i]
		name := TableName(t)
		renameConstraint := func(from, to string) {
			if from == to {
				return
			}
			stmts = append(stmts, Rename{Table: name, Constraint: from, To: to})
			undo = append(undo, Rename{Table: name, Constraint: to, To: from})
		}
		renameConstraint(schema.PrimaryKeyName(bt.Name), schema.PrimaryKeyName(t.Name))
		if !t.Shared {
			renameConstraint(before.TenantForeignKeyName(bt), old.TenantForeignKeyName(t))
		}
		for j, fk := range t.ForeignKeys {
			bfk := bt.ForeignKeys[j]
			if bfk.Name == schema.ForeignKeyName(bt.Name, bfk.Columns) {
				fk.Name = schema.ForeignKeyName(t.Name, fk.Columns)
				renameConstraint(bfk.Name, fk.Name)
			}
		}
		bix, ix := before.CoveringIndexes(bt), old.CoveringIndexes(t)
		for j := range min(len(bix), len(ix)) {
			if bix[j].Name != ix[j].Name {
				stmts = append(stmts, Rename{Index: Qualified(Schema, bix[j].Name), To: ix[j].Name})
				undo = append(undo, Rename{Index: Qualified(Schema, ix[j].Name), To: bix[j].Name})
			}
		}
	}
	d.dropStale(before, old, renamed)
	if len(stmts) > 0 {
		d.renamed = true
		slices.Reverse(undo)
		d.add("", "", Change{
			Object:  "renames",
			Comment: "Renames declared with renamed_from (and the tenant column), with the generated key and index names that follow them. Rows are kept.",
			Up:      stmts,
			Down:    undo,
		})
	}
	return old, nil
}

// dropStale drops, before the renames, the checks, partial indexes and declared policies whose SQL text names
// a renamed table or column, and leaves them out of old, so that they are created again from next's text after
// the renames. Their down statements then run after the renames are undone, with the text that names the old
// names. (PostgreSQL itself follows a rename in what it stored; the declaration's text is what changes.)
func (d *differ) dropStale(before, old *schema.Model, renamed [][3]string) {
	names := func(text string) bool {
		for _, r := range renamed {
			if mentions(text, r[0]) || (r[1] != "" && mentions(text, r[1])) {
				return true
			}
		}
		return false
	}
	for i, bt := range before.Tables {
		ot := old.Tables[i]
		for j := len(bt.Checks) - 1; j >= 0; j-- {
			if c := bt.Checks[j]; names(c.Expr) {
				d.add("", "", Change{Object: "table " + bt.Name,
					Comment: fmt.Sprintf("Check %s names a renamed table or column: dropped here, added again below.", c.Name),
					Up:      []Stmt{dropConstraint(bt, c.Name)}, Down: []Stmt{addConstraint(bt, Constraint{Name: c.Name, Check: c.Expr})}})
				ot.Checks = slices.Delete(ot.Checks, j, j+1)
			}
		}
		for j := len(bt.Indexes) - 1; j >= 0; j-- {
			if ix := bt.Indexes[j]; ix.Where != "" && names(ix.Where) {
				d.add("", "", Change{Object: "table " + bt.Name,
					Comment: fmt.Sprintf("Index %s names a renamed table or column: dropped here, created again below.", ix.Name),
					Up:      []Stmt{dropIndex(ix)}, Down: []Stmt{createIndex(before, bt, ix, false)}})
				ot.Indexes = slices.Delete(ot.Indexes, j, j+1)
			}
		}
	}
	for j := len(before.Policies) - 1; j >= 0; j-- {
		if p := before.Policies[j]; names(p.Using) || names(p.Check) {
			t := TableName(before.Table(p.Table))
			d.add("", "", Change{Object: "policy " + p.Name,
				Comment: fmt.Sprintf("Policy %s names a renamed table or column: dropped here, created again below.", p.Name),
				Up:      []Stmt{DropPolicy{Name: p.Name, Table: t}}, Down: []Stmt{declaredPolicy(p, t)}})
			old.Policies = slices.Delete(old.Policies, j, j+1)
		}
	}
}

// renameTable renames table from to to in m, with every reference to it.
func renameTable(m *schema.Model, from, to string) {
	for _, t := range m.Tables {
		if t.Name == from {
			t.Name = to
		}
		for _, fk := range t.ForeignKeys {
			if fk.RefTable == from {
				fk.RefTable = to
			}
		}
	}
	for _, p := range m.Policies {
		if p.Table == from {
			p.Table = to
		}
	}
}

// renameColumn renames column from of table to to in m, with every reference to it.
func renameColumn(m *schema.Model, table, from, to string) {
	sub := func(cols []string) {
		for i, c := range cols {
			if c == from {
				cols[i] = to
			}
		}
	}
	for _, t := range m.Tables {
		if t.Name == table {
			t.Column(from).Name = to
			if t.PrimaryKey != nil {
				sub(t.PrimaryKey.Columns)
			}
			for _, ix := range t.Indexes {
				sub(ix.Columns)
			}
			for _, fk := range t.ForeignKeys {
				sub(fk.Columns)
			}
		}
		for _, fk := range t.ForeignKeys {
			if fk.RefTable == table {
				sub(fk.RefColumns)
			}
		}
	}
}

// classify finds the tables both models have, of the same kind, and the columns whose type changes.
func (d *differ) classify() {
	d.kept, d.retyped = map[string]bool{}, map[string]bool{}
	for _, t := range d.old.Tables {
		if n := d.next.Table(t.Name); n != nil && n.Shared == t.Shared {
			d.kept[t.Name] = true
			for _, c := range t.Columns {
				if nc := n.Column(c.Name); nc != nil && schema.CanonicalType(nc.Type) != schema.CanonicalType(c.Type) {
					d.retyped[t.Name+"."+c.Name] = true
				}
			}
		}
	}
}

// pair returns the old and next version of each table both have.
func (d *differ) pairs() [][2]*schema.Table {
	var out [][2]*schema.Table
	for _, t := range d.next.Tables {
		if d.kept[t.Name] {
			out = append(out, [2]*schema.Table{d.old.Table(t.Name), t})
		}
	}
	return out
}

func (d *differ) createRoles() {
	// Name the migration after what changes at the top: roles and tenancy settings come before what follows.
	for _, r := range d.old.Roles {
		if d.next.Role(r.Name) == nil {
			d.names = append(d.names, "drop_role_"+r.Name)
		}
	}
	if d.old.Tenancy.Setting != d.next.Tenancy.Setting {
		d.names = append(d.names, "change_tenancy_setting")
	}
	for _, r := range d.next.Roles {
		if d.old.Role(r.Name) == nil {
			d.add("add_role_"+r.Name, "", createRole(d.next, r))
		}
	}
}

func (d *differ) dropRoles() {
	for i := len(d.old.Roles) - 1; i >= 0; i-- {
		r := d.old.Roles[i]
		if d.next.Role(r.Name) == nil {
			c := createRole(d.old, r)
			d.add("drop_role_"+r.Name, "", Change{Object: c.Object,
				Comment: fmt.Sprintf("Role %s is no longer declared: dropped when nothing else depends on it (roles are cluster-wide).", r.Name),
				Up:      c.Down, Down: c.Up})
		}
	}
}

// policySet returns the policies of table t in m by name: the generated ones and the declared ones.
func policySet(m *schema.Model, t *schema.Table) map[string]Stmt {
	out := map[string]Stmt{}
	for _, p := range Policies(m, t) {
		if slices.Contains(m.Policies, p) {
			out[p.Name] = declaredPolicy(p, TableName(t))
		} else {
			out[p.Name] = PolicyStmt(p, TableName(t))
		}
	}
	return out
}

// same reports whether two statements are written alike.
func same(a, b []Stmt) bool { return SQL(SingleNode, a...) == SQL(SingleNode, b...) }

// policyChanged reports whether policy p of table must be dropped (and created again if next has it): it is
// gone or different, or it names a column whose type changes (PostgreSQL cannot change the type of a column a
// policy uses). The generated policies use only the tenant column, whose type never changes.
func (d *differ) policyChanged(table string, p *schema.Policy, oldStmt, nextStmt Stmt) bool {
	if !same([]Stmt{oldStmt}, []Stmt{nextStmt}) {
		return true
	}
	for k := range d.retyped {
		col, ok := strings.CutPrefix(k, table+".")
		if ok && (mentions(p.Using, col) || mentions(p.Check, col)) {
			return true
		}
	}
	return false
}

// mentions reports whether the SQL expression text refers to ident (a column, a table), as PostgreSQL's parser
// reads it; text that does not parse counts as naming it.
func mentions(sql, ident string) bool { return sql != "" && schema.Mentions(sql, ident) }

func (d *differ) dropPolicies() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		op, np := policySet(d.old, o), policySet(d.next, n)
		for _, p := range Policies(d.old, o) {
			if st, ok := np[p.Name]; !ok || d.policyChanged(o.Name, p, op[p.Name], st) {
				name := ""
				if !ok && slices.Contains(d.old.Policies, p) {
					name = "drop_policy_" + p.Name
				}
				d.add(name, "", Change{Object: "policy " + p.Name,
					Comment: fmt.Sprintf("Policy %s on %s: dropped (it is gone or changes).", p.Name, o.Name),
					Up:      []Stmt{DropPolicy{Name: p.Name, Table: TableName(o)}}, Down: []Stmt{op[p.Name]}})
			}
		}
	}
	// Declared policies of tables that are dropped go with their table; createTable does not make them.
	for _, p := range d.old.Policies {
		if !d.kept[p.Table] && declaredApart(d.old, d.old.Table(p.Table)) {
			t := d.old.Table(p.Table)
			d.add("", "", Change{Object: "policy " + p.Name,
				Comment: fmt.Sprintf("Policy %s on %s: dropped with its table.", p.Name, p.Table),
				Up:      []Stmt{DropPolicy{Name: p.Name, Table: TableName(t)}}, Down: []Stmt{declaredPolicy(p, TableName(t))}})
		}
	}
}

func (d *differ) createPolicies() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		op, np := policySet(d.old, o), policySet(d.next, n)
		for _, p := range Policies(d.next, n) {
			if st, ok := op[p.Name]; !ok || d.policyChanged(n.Name, p, st, np[p.Name]) {
				name := "change_policy_" + p.Name
				if !ok {
					name = "add_policy_" + p.Name
				}
				if slices.Contains(generatedPolicies(d.next, n), p) {
					name = ""
				}
				d.add(name, "", Change{Object: "policy " + p.Name,
					Comment: fmt.Sprintf("Policy %s on %s.", p.Name, n.Name),
					Up:      []Stmt{np[p.Name]}, Down: []Stmt{DropPolicy{Name: p.Name, Table: TableName(n)}}})
			}
		}
	}
	for _, p := range d.next.Policies {
		if !d.kept[p.Table] && declaredApart(d.next, d.next.Table(p.Table)) {
			d.add("add_policy_"+p.Name, "", createPolicy(d.next, p))
		}
	}
}

// grantSet is each role's GRANT statements on t.
func grantSet(m *schema.Model, t *schema.Table) map[string][]Stmt {
	out := map[string][]Stmt{}
	for _, r := range m.Roles {
		out[r.Name] = roleGrants(m, t, r)
	}
	return out
}

func revokeAll(t *schema.Table, role string) []Stmt {
	return []Stmt{Revoke{On: "TABLE " + TableName(t), From: Roles(role)}}
}

func (d *differ) revokeGrants() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		og, ng := grantSet(d.old, o), grantSet(d.next, n)
		for _, r := range d.old.Roles {
			if !same(og[r.Name], ng[r.Name]) {
				d.add("", "", Change{Object: "table " + o.Name,
					Comment: fmt.Sprintf("Privileges of %s on %s change: revoked here, granted again below.", r.Name, o.Name),
					Up:      revokeAll(o, r.Name), Down: og[r.Name]})
			}
		}
	}
}

func (d *differ) grantGrants() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		og, ng := grantSet(d.old, o), grantSet(d.next, n)
		for _, r := range d.next.Roles {
			if !same(og[r.Name], ng[r.Name]) {
				d.add("change_privileges_"+r.Name, "", Change{Object: "table " + n.Name,
					Comment: fmt.Sprintf("Privileges of %s on %s.", r.Name, n.Name),
					Up:      ng[r.Name], Down: revokeAll(n, r.Name)})
			}
		}
	}
}

// constraint is a named constraint of a table as the migrations declare it; def is how it is written, to tell
// whether it changes.
type constraint struct {
	name string
	con  Constraint
	def  string
	fk   *schema.ForeignKey
}

func newConstraint(c Constraint, fk *schema.ForeignKey) constraint {
	return constraint{name: c.Name, con: c, def: SQL(SingleNode, AddConstraint{Constraint: c}), fk: fk}
}

func constraints(m *schema.Model, t *schema.Table) []constraint {
	out := []constraint{newConstraint(primaryKey(m, t), nil)}
	for _, c := range t.Checks {
		out = append(out, newConstraint(Constraint{Name: c.Name, Check: c.Expr}, nil))
	}
	for _, fk := range t.ForeignKeys {
		out = append(out, newConstraint(foreignKeyDef(m, t, fk), fk))
	}
	return out
}

// indexSet is every index the migrations create on t (declared and covering), and how each is written, by name.
func indexSet(m *schema.Model, t *schema.Table) ([]*schema.Index, map[string]string, map[string]CreateIndex) {
	all := append(slices.Clone(t.Indexes), m.CoveringIndexes(t)...)
	sql, stmts := map[string]string{}, map[string]CreateIndex{}
	for _, ix := range all {
		stmts[ix.Name] = createIndex(m, t, ix, false)
		sql[ix.Name] = SQL(SingleNode, stmts[ix.Name])
	}
	return all, sql, stmts
}

// dropIndex drops a declared or covering index.
func dropIndex(ix *schema.Index) DropIndex { return DropIndex{Name: Qualified(Schema, ix.Name)} }

// keyChanged reports whether the key a foreign key references (refCols of table, as emitted) is dropped: then
// the foreign key is dropped first and added again after.
func (d *differ) keyChanged(table string, refCols []string) bool {
	if !d.kept[table] {
		return true
	}
	o, n := d.old.Table(table), d.next.Table(table)
	same := func(cols []string) bool {
		return len(cols) == len(refCols) && !slices.ContainsFunc(cols, func(c string) bool { return !slices.Contains(refCols, c) })
	}
	if oc, nc := constraints(d.old, o), constraints(d.next, n); same(d.old.KeyColumns(o, o.PrimaryKey.Columns)) && oc[0].def != nc[0].def {
		return true
	}
	_, oi, _ := indexSet(d.old, o)
	_, ni, _ := indexSet(d.next, n)
	for _, ix := range o.Indexes {
		if ix.Unique && same(d.old.KeyColumns(o, ix.Columns)) && oi[ix.Name] != ni[ix.Name] {
			return true
		}
	}
	return false
}

// constraintChanged reports whether constraint c of table t must be dropped (and added again if next has it).
func (d *differ) constraintChanged(t string, c constraint, next map[string]string) bool {
	nd, ok := next[c.name]
	if !ok || nd != c.def {
		return true
	}
	if c.fk == nil {
		return false
	}
	if ref := d.old.Table(c.fk.RefTable); ref != nil {
		_, refCols := d.old.ForeignKeyColumns(d.old.Table(t), c.fk)
		if d.keyChanged(c.fk.RefTable, refCols) {
			return true
		}
	}
	for _, col := range c.fk.Columns {
		if d.retyped[t+"."+col] {
			return true
		}
	}
	for _, col := range c.fk.RefColumns {
		if d.retyped[c.fk.RefTable+"."+col] {
			return true
		}
	}
	return false
}

func defs(cs []constraint) map[string]string {
	out := map[string]string{}
	for _, c := range cs {
		out[c.name] = c.def
	}
	return out
}

// goneName names a dropped constraint's change after it when next no longer has it; "" when it is only
// replaced.
func (d *differ) goneName(t *schema.Table, name string) string {
	if n := d.next.Table(t.Name); n != nil && defs(constraints(d.next, n))[name] != "" {
		return ""
	}
	return "drop_" + name
}

// addName names the change that adds name: new, or changed when it existed.
func addName(existed bool, name string) string {
	if existed {
		return "change_" + name
	}
	return "add_" + name
}

func dropConstraint(t *schema.Table, name string) Stmt {
	return DropConstraint{Table: TableName(t), Name: name}
}

func addConstraint(t *schema.Table, c Constraint) Stmt {
	return AddConstraint{Table: TableName(t), Constraint: c}
}

// replacedConstraints finds the constraints of kept tables that are dropped (and added again if next has them),
// by "table.name": gone, different, or depending on something that changes (constraintChanged).
func (d *differ) replacedConstraints() map[string]bool {
	out := map[string]bool{}
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		next := defs(constraints(d.next, n))
		for _, c := range constraints(d.old, o) {
			if d.constraintChanged(o.Name, c, next) {
				out[o.Name+"."+c.name] = true
			}
		}
	}
	return out
}

func (d *differ) dropConstraintsAndIndexes() {
	replaced := d.replacedConstraints()
	drop := func(t *schema.Table, c constraint, what string) {
		d.add(d.goneName(t, c.name), "", Change{Object: "table " + t.Name,
			Comment: fmt.Sprintf("%s %s of %s: dropped (it is gone or changes).", what, c.name, t.Name),
			Up:      []Stmt{dropConstraint(t, c.name)}, Down: []Stmt{addConstraint(t, c.con)}})
	}
	// Foreign keys first (of every table: one may reference a key dropped below), then indexes, then checks and
	// primary keys (constraints() lists the key first).
	for _, pr := range d.pairs() {
		for _, c := range constraints(d.old, pr[0]) {
			if c.fk != nil && replaced[pr[0].Name+"."+c.name] {
				drop(pr[0], c, "Foreign key")
			}
		}
	}
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		all, oi, os := indexSet(d.old, o)
		_, ni, _ := indexSet(d.next, n)
		for _, ix := range all {
			if oi[ix.Name] != ni[ix.Name] {
				name := ""
				if _, ok := ni[ix.Name]; !ok && slices.Contains(o.Indexes, ix) {
					name = "drop_index_" + ix.Name
				}
				d.add(name, "", Change{Object: "table " + o.Name,
					Comment: fmt.Sprintf("Index %s of %s: dropped (it is gone or changes).", ix.Name, o.Name),
					Up:      []Stmt{dropIndex(ix)}, Down: []Stmt{os[ix.Name]}})
			}
		}
	}
	pairs := d.pairs()
	for i := len(pairs) - 1; i >= 0; i-- {
		cs := constraints(d.old, pairs[i][0])
		for j := len(cs) - 1; j >= 0; j-- {
			if c := cs[j]; c.fk == nil && replaced[pairs[i][0].Name+"."+c.name] {
				drop(pairs[i][0], c, "Constraint")
			}
		}
	}
}

func (d *differ) addConstraintsAndIndexes() {
	replaced := d.replacedConstraints()
	type added struct {
		t       *schema.Table
		c       constraint
		existed bool // by name, in old
		same    bool // with the same definition: added again only because something it depends on changes
	}
	var fks []added
	add := func(a added, what string) {
		name := addName(a.existed, a.c.name)
		if a.same {
			name = ""
		}
		d.add(name, "", Change{Object: "table " + a.t.Name,
			Comment: fmt.Sprintf("%s %s of %s.", what, a.c.name, a.t.Name),
			Up:      []Stmt{addConstraint(a.t, a.c.con)}, Down: []Stmt{dropConstraint(a.t, a.c.name)}})
	}
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		oldDefs := defs(constraints(d.old, o))
		for _, c := range constraints(d.next, n) {
			od, ok := oldDefs[c.name]
			if ok && od == c.def && !replaced[o.Name+"."+c.name] {
				continue
			}
			a := added{t: n, c: c, existed: ok, same: od == c.def}
			if c.fk != nil {
				fks = append(fks, a) // after every key and index they may reference
				continue
			}
			add(a, "Constraint")
		}
		all, ni, ns := indexSet(d.next, n)
		_, oi, _ := indexSet(d.old, o)
		for _, ix := range all {
			if oi[ix.Name] == ni[ix.Name] {
				continue
			}
			_, existed := oi[ix.Name]
			name := addName(existed, "index_"+ix.Name)
			if !slices.Contains(n.Indexes, ix) {
				name = "" // a covering index follows its foreign key
			}
			if d.opts.ConcurrentIndexes && name != "" {
				d.names = append(d.names, name)
				d.concurrent = append(d.concurrent, Change{Object: "index " + ix.Name,
					Comment: fmt.Sprintf("Index %s of %s, built without blocking writes. If it fails it leaves an INVALID index:\n"+
						"DROP INDEX CONCURRENTLY %s, then apply this migration again.", ix.Name, n.Name, Qualified(Schema, ix.Name)),
					Up:   []Stmt{createIndex(d.next, n, ix, true)},
					Down: []Stmt{DropIndex{Name: Qualified(Schema, ix.Name), Concurrently: true, IfExists: true}}})
				continue
			}
			d.add(name, "", Change{Object: "table " + n.Name,
				Comment: fmt.Sprintf("Index %s of %s.", ix.Name, n.Name),
				Up:      []Stmt{ns[ix.Name]}, Down: []Stmt{dropIndex(ix)}})
		}
	}
	for _, a := range fks {
		add(a, "Foreign key")
	}
}

// dropTables drops the tables next no longer has (or has as the other kind, tenant or shared), children first.
func (d *differ) dropTables() {
	var gone []*schema.Table
	exist := map[string]bool{}
	for _, t := range d.old.Tables {
		if d.kept[t.Name] {
			exist[t.Name] = true
		} else {
			gone = append(gone, t)
		}
	}
	order, deferred, anchor := citusOrder(d.old, gone, exist)
	for _, t := range order {
		for _, fk := range t.ForeignKeys {
			if deferred[fk] {
				c := addForeignKey(d.old, t, fk)
				c.Up, c.Down = c.Down, c.Up
				c.Comment = fmt.Sprintf("Foreign key %s, dropped before the tables of its cycle.", fk.Name)
				d.add("", "", c)
			}
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		t := order[i]
		c := createTable(d.old, t, deferred, anchor)
		why := fmt.Sprintf("drops table %s and every row in it", t.Name)
		verb := "drop_table_"
		if n := d.next.Table(t.Name); n != nil {
			why = fmt.Sprintf("turns table %s into a %s table: it is dropped and created again, and its rows are lost", t.Name, kind(n))
			verb = "recreate_table_"
		}
		d.add(verb+t.Name, why, Change{Object: c.Object,
			Comment: fmt.Sprintf("%s is no longer declared%s: DROP TABLE. The down migration creates it again, empty.",
				t.Name, map[bool]string{true: " as it was", false: ""}[d.next.Table(t.Name) != nil]),
			Up: c.Down, Down: c.Up})
	}
}

func kind(t *schema.Table) string {
	if t.Shared {
		return "shared"
	}
	return "tenant"
}

// createTables creates the tables old does not have, parents first, each with the full protection of the first
// migration.
func (d *differ) createTables() {
	var added []*schema.Table
	exist := map[string]bool{}
	for _, t := range d.next.Tables {
		if d.kept[t.Name] {
			exist[t.Name] = true
		} else {
			added = append(added, t)
		}
	}
	order, deferred, anchor := citusOrder(d.next, added, exist)
	for _, t := range order {
		d.add("add_table_"+t.Name, "", createTable(d.next, t, deferred, anchor))
	}
	for _, t := range order {
		for _, fk := range t.ForeignKeys {
			if deferred[fk] {
				d.add("", "", addForeignKey(d.next, t, fk))
			}
		}
	}
}

func (d *differ) dropColumns() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		for _, c := range o.Columns {
			if n.Column(c.Name) != nil {
				continue
			}
			down := []Stmt{AddColumn{Table: TableName(o), Column: columnDef(c)}}
			if c.Comment != "" {
				down = append(down, Comment{On: ColumnTarget(TableName(o), c.Name), Text: c.Comment})
			}
			d.add("drop_column_"+o.Name+"_"+c.Name, fmt.Sprintf("drops column %s.%s and its data", o.Name, c.Name), Change{
				Object:  "table " + o.Name,
				Comment: fmt.Sprintf("Column %s.%s is no longer declared. The down migration adds it again, without its data.", o.Name, c.Name),
				Up:      []Stmt{DropColumn{Table: TableName(o), Column: c.Name}},
				Down:    down})
		}
	}
}

func (d *differ) addColumns() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		for _, c := range n.Columns {
			if o.Column(c.Name) != nil {
				continue
			}
			note := ""
			if !c.Null && c.Default == "" {
				note = "\nNOT NULL without a default: this fails if the table has rows. Declare a default, or null = true first."
			}
			d.add("add_column_"+n.Name+"_"+c.Name, "", Change{Object: "table " + n.Name,
				Comment: fmt.Sprintf("Column %s.%s.%s", n.Name, c.Name, note),
				Up:      []Stmt{AddColumn{Table: TableName(n), Column: columnDef(c)}},
				Down:    []Stmt{DropColumn{Table: TableName(n), Column: c.Name}}})
		}
	}
}

func (d *differ) alterColumns() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		name := TableName(n)
		for _, nc := range n.Columns {
			oc := o.Column(nc.Name)
			if oc == nil {
				continue
			}
			col := nc.Name
			if d.retyped[n.Name+"."+nc.Name] {
				// A default goes while the type changes: PostgreSQL cannot always cast it, and it is set again after.
				up := AlterColumnType{Table: name, Column: col, Type: nc.Type}
				why := ""
				if !SafeTypeChange(oc.Type, nc.Type) {
					up.Using = true
					why = fmt.Sprintf("changes the type of column %s.%s from %s to %s, which can lose data or fail on existing rows",
						n.Name, nc.Name, oc.Type, nc.Type)
				}
				down := AlterColumnType{Table: name, Column: col, Type: oc.Type, Using: true}
				d.add("change_type_"+n.Name+"_"+nc.Name, why, Change{Object: "table " + n.Name,
					Comment: fmt.Sprintf("Column %s.%s: type %s → %s.", n.Name, nc.Name, oc.Type, nc.Type),
					Up:      withDefault(name, col, oc.Default, up, nc.Default),
					Down:    withDefault(name, col, nc.Default, down, oc.Default)})
			} else if oc.Default != nc.Default {
				d.add("change_default_"+n.Name+"_"+nc.Name, "", Change{Object: "table " + n.Name,
					Comment: fmt.Sprintf("Column %s.%s: default %s → %s.", n.Name, nc.Name, orNone(oc.Default), orNone(nc.Default)),
					Up:      []Stmt{SetDefault{Table: name, Column: col, Default: nc.Default}},
					Down:    []Stmt{SetDefault{Table: name, Column: col, Default: oc.Default}}})
			}
			if oc.Null != nc.Null {
				c := Change{Object: "table " + n.Name,
					Up:   []Stmt{SetNotNull{Table: name, Column: col}},
					Down: []Stmt{SetNotNull{Table: name, Column: col, NotNull: true}}}
				c.Comment = fmt.Sprintf("Column %s.%s may now be null.", n.Name, nc.Name)
				if !nc.Null {
					c.Up, c.Down = c.Down, c.Up
					c.Comment = fmt.Sprintf("Column %s.%s is now NOT NULL: this fails if a row holds NULL; update those rows first.", n.Name, nc.Name)
				}
				d.add("change_null_"+n.Name+"_"+nc.Name, "", c)
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// withDefault wraps a type change: the column's default from before is dropped first, the one after set last.
func withDefault(table, col, from string, alter Stmt, to string) []Stmt {
	var out []Stmt
	if from != "" {
		out = append(out, SetDefault{Table: table, Column: col})
	}
	out = append(out, alter)
	if to != "" {
		out = append(out, SetDefault{Table: table, Column: col, Default: to})
	}
	return out
}

// commentSet is every comment the migrations set on t, by what it is on.
func commentSet(m *schema.Model, t *schema.Table) map[string]Comment {
	out := map[string]Comment{}
	for _, c := range comments(m, t) {
		c := c.(Comment)
		out[c.On] = c
	}
	return out
}

func (d *differ) comments() {
	for _, pr := range d.pairs() {
		o, n := pr[0], pr[1]
		oc, nc := commentSet(d.old, o), commentSet(d.next, n)
		targets := make([]string, 0, len(oc)+len(nc))
		for k := range oc {
			targets = append(targets, k)
		}
		for k := range nc {
			if _, ok := oc[k]; !ok {
				targets = append(targets, k)
			}
		}
		slices.Sort(targets)
		for _, k := range targets {
			if oc[k] == nc[k] {
				continue
			}
			if _, ok := nc[k]; !ok && !d.hasTarget(n, k) {
				continue // a dropped column's comment goes with it
			}
			d.add("comment_"+n.Name, "", Change{Object: "table " + n.Name, Comment: "Comment on " + k + ".",
				Up: []Stmt{Comment{On: k, Text: nc[k].Text}}, Down: []Stmt{Comment{On: k, Text: oc[k].Text}}})
		}
	}
}

// hasTarget reports whether the object a COMMENT ON target names is in the next version of table n.
func (d *differ) hasTarget(n *schema.Table, target string) bool {
	for _, c := range n.Columns {
		if target == ColumnTarget(TableName(n), c.Name) {
			return true
		}
	}
	return !strings.HasPrefix(target, "COLUMN ") || (!n.Shared && target == ColumnTarget(TableName(n), d.next.Tenancy.Column))
}

// tenantDefaults points the tenant column's default at a changed tenancy setting.
func (d *differ) tenantDefaults() {
	if CurrentTenant(d.old) == CurrentTenant(d.next) {
		return
	}
	for _, pr := range d.pairs() {
		n := pr[1]
		if n.Shared {
			continue
		}
		col := d.next.Tenancy.Column
		d.add("change_tenancy_setting", "", Change{Object: "table " + n.Name,
			Comment: fmt.Sprintf("The tenant column of %s defaults to the new tenancy setting %s.", n.Name, d.next.Tenancy.Setting),
			Up:      []Stmt{SetDefault{Table: TableName(n), Column: col, Default: CurrentTenant(d.next)}},
			Down:    []Stmt{SetDefault{Table: TableName(n), Column: col, Default: CurrentTenant(d.old)}}})
	}
}

// registryAccess re-grants what the declared roles may do in the registry when the roles, the roles that can
// write, or the tenancy setting change.
func (d *differ) registryAccess() {
	if same(grantRegistry(d.old), grantRegistry(d.next)) {
		return
	}
	d.add("", "", Change{Object: "schema " + RegistrySchema,
		Comment: "The declared roles' access to the registry functions and the audit log, for the new roles or tenancy setting.",
		Up:      append(revokeRegistry(d.old), grantRegistry(d.next)...),
		Down:    append(revokeRegistry(d.next), grantRegistry(d.old)...)})
}

// registryFunctionList names the registry functions the declared roles may execute.
const registryFunctionList = tenantDirectoryFunc + ", " + lookupTokenFunc

// grantRegistry is what the first migration grants the declared roles in the registry, as statements of their
// own: EXECUTE on its functions, USAGE on its schema, and the audit log's tenant default, policies and grant.
func grantRegistry(m *schema.Model) []Stmt {
	var out []Stmt
	if roles := roleList(m); len(roles) > 0 {
		out = append(out, Grant{Privileges: []Privilege{{Type: "EXECUTE"}}, On: "FUNCTION " + registryFunctionList, To: Roles(roles...)},
			schemaUsage(roles, true))
	}
	out = append(out, SetDefault{Table: auditTable, Column: "tenant_id", Default: CurrentTenant(m)})
	return append(out, auditAccess(m)...)
}

// revokeRegistry undoes grantRegistry.
func revokeRegistry(m *schema.Model) []Stmt {
	out := revokeAuditAccess(m)
	if roles := roleList(m); len(roles) > 0 {
		out = append(out, schemaUsage(roles, false),
			Revoke{Privileges: []Privilege{{Type: "EXECUTE"}}, On: "FUNCTION " + registryFunctionList, From: Roles(roles...)})
	}
	if len(out) == 0 {
		return []Stmt{NoOp{Why: "no declared role"}}
	}
	return out
}
