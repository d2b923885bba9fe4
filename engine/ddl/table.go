package ddl

import (
	"fmt"
	"strings"

	"pgtenant/schema"
)

// createRole creates a declared role when it is missing and refuses one that
// exists with SUPERUSER or BYPASSRLS, since either would defeat row-level
// security. The reverse drops the role only when nothing in any database
// still depends on it and no role is a member of it: roles are cluster-wide
// and may predate this migration.
//
// On Citus the role may log in: the coordinator opens its connections to the workers as the current role, which
// is the declared role once the API has switched to it (SET LOCAL ROLE), so the workers must let it log in (from
// the coordinator only: see the README's "Scaling out on Citus"). It also forwards SET LOCAL to the workers by
// default (citus.propagate_set_commands = 'local'), which pgtenant.set_tenant sets for its own transaction too.
func createRole(m *schema.Model, r *schema.Role) Change {
	c := Change{
		Object:  "role " + r.Name,
		Comment: fmt.Sprintf("Role %s: NOLOGIN, no BYPASSRLS, owns nothing. Grant it to a login role; never log in as the table owner.", r.Name),
		Up:      []Stmt{CreateRole{Name: r.Name}},
		Down:    []Stmt{DropRole{Name: r.Name}},
	}
	if m.Tenancy.Citus() {
		c.Comment = fmt.Sprintf("Role %s: LOGIN for the coordinator's connections to the workers, no BYPASSRLS, owns nothing. "+
			"Grant it to the API's login role;\nnever log in as the table owner.", r.Name)
		c.Up = append(c.Up, RoleLogin{Role: r.Name, Login: true},
			RoleSetting{Role: r.Name, Setting: propagateSetting, Value: "local"})
		c.Down = []Stmt{RoleSetting{Role: r.Name, Setting: propagateSetting}, RoleLogin{Role: r.Name}, DropRole{Name: r.Name}}
	}
	return c
}

// propagateSetting is the Citus setting that forwards SET LOCAL to the workers.
const propagateSetting = "citus.propagate_set_commands"

// createTable creates t with everything that belongs to it. Foreign keys in
// deferred are left out (they point at tables created later) and added by
// addForeignKey. The reverse is DROP TABLE, which removes all of it.
//
// On Citus (anchor is not "") the table is created without foreign keys, all of which are deferred (citusOrder),
// then made a reference table (shared) or distributed by the tenant column and co-located with anchor, the first
// tenant table; then it references the tenant registry, and gets its row-level security and grants (CITUS.md §4).
func createTable(m *schema.Model, t *schema.Table, deferred map[*schema.ForeignKey]bool, anchor string) Change {
	name := TableName(t)
	ct := CreateTable{Table: name}
	if !t.Shared {
		ct.Columns = append(ct.Columns, Column{Name: m.Tenancy.Column, Type: "uuid", NotNull: true, Default: CurrentTenant(m)})
	}
	for _, c := range t.Columns {
		ct.Columns = append(ct.Columns, columnDef(c))
	}
	ct.Constraints = append(ct.Constraints, primaryKey(m, t))
	tenantFK := Constraint{Name: m.TenantForeignKeyName(t),
		ForeignKey: &ForeignKey{Columns: []string{m.Tenancy.Column}, RefTable: registryTable, RefColumns: []string{"id"}}}
	if !t.Shared && !m.Tenancy.Citus() {
		ct.Constraints = append(ct.Constraints, tenantFK)
	}
	for _, fk := range t.ForeignKeys {
		if !deferred[fk] {
			ct.Constraints = append(ct.Constraints, foreignKeyDef(m, t, fk))
		}
	}
	for _, c := range t.Checks {
		ct.Constraints = append(ct.Constraints, Constraint{Name: c.Name, Check: c.Expr})
	}
	up := []Stmt{ct}
	up = append(up, comments(m, t)...)
	up = append(up, indexes(m, t)...)
	if m.Tenancy.Citus() {
		if t.Shared {
			up = append(up, ReferenceTable{Table: name})
		} else {
			colocate := anchor
			if colocate == name {
				colocate = ""
			}
			up = append(up, Distribute{Table: name, Column: m.Tenancy.Column, ColocateWith: colocate},
				AddConstraint{Table: name, Constraint: tenantFK})
		}
	}
	up = append(up, rowSecurity(m, t)...)
	up = append(up, grants(m, t)...)

	kind := "Tenant table"
	if t.Shared {
		kind = "Shared table"
	}
	return Change{
		Object:  "table " + t.Name,
		Comment: kind + " " + t.Name + ".",
		Up:      up,
		Down:    []Stmt{DropTable{Table: name}},
	}
}

// columnDef is a declared column's definition.
func columnDef(c *schema.Column) Column {
	return Column{Name: c.Name, Type: c.Type, NotNull: !c.Null, Default: c.Default, Declared: true}
}

// primaryKey is t's primary key, led by the tenant column on a tenant table.
func primaryKey(m *schema.Model, t *schema.Table) Constraint {
	return Constraint{Name: schema.PrimaryKeyName(t.Name), PrimaryKey: m.KeyColumns(t, t.PrimaryKey.Columns)}
}

func foreignKeyDef(m *schema.Model, t *schema.Table, fk *schema.ForeignKey) Constraint {
	cols, refCols := m.ForeignKeyColumns(t, fk)
	return Constraint{Name: fk.Name, ForeignKey: &ForeignKey{Columns: cols, RefTable: TableName(m.Table(fk.RefTable)),
		RefColumns: refCols, OnDelete: fk.OnDelete, SetColumns: fk.Columns}}
}

// citusOrder is createOrder for m's target: on Citus every foreign key is deferred, since Citus wants a table
// distributed before anything references it, and an inline reference to a reference table first makes the new
// table a Citus local table (CITUS.md §4). anchor is the tenant table the new ones are co-located with: the
// first one that exists already, else the first one created.
func citusOrder(m *schema.Model, tables []*schema.Table, exist map[string]bool) (order []*schema.Table, deferred map[*schema.ForeignKey]bool, anchor string) {
	order, deferred = createOrder(tables, exist)
	if !m.Tenancy.Citus() {
		return order, deferred, ""
	}
	for _, t := range order {
		for _, fk := range t.ForeignKeys {
			deferred[fk] = true
		}
	}
	for _, t := range m.Tables {
		if !t.Shared && exist[t.Name] {
			return order, deferred, TableName(t)
		}
	}
	for _, t := range order {
		if !t.Shared {
			return order, deferred, TableName(t)
		}
	}
	return order, deferred, ""
}

// addForeignKey adds a foreign key that could not be declared inline because
// its target is created later (a cycle between tables), or, on Citus, any foreign key, once its table and
// target are distributed.
func addForeignKey(m *schema.Model, t *schema.Table, fk *schema.ForeignKey) Change {
	return Change{
		Object: "table " + t.Name,
		Comment: fmt.Sprintf("Foreign key %s, added after both tables exist%s.", fk.Name,
			map[bool]string{true: " and are distributed", false: ""}[m.Tenancy.Citus()]),
		Up:   []Stmt{AddConstraint{Table: TableName(t), Constraint: foreignKeyDef(m, t, fk)}},
		Down: []Stmt{DropConstraint{Table: TableName(t), Name: fk.Name}},
	}
}

// comments are the COMMENT statements of t: on the table, on the tenant column, on the declared columns.
func comments(m *schema.Model, t *schema.Table) []Stmt {
	var out []Stmt
	if t.Comment != "" {
		out = append(out, Comment{On: "TABLE " + TableName(t), Text: t.Comment})
	}
	if !t.Shared {
		out = append(out, Comment{On: ColumnTarget(TableName(t), m.Tenancy.Column),
			Text: "Tenant owning the row. Set from " + m.Tenancy.Setting + "; clients never write it."})
	}
	for _, c := range t.Columns {
		if c.Comment != "" {
			out = append(out, Comment{On: ColumnTarget(TableName(t), c.Name), Text: c.Comment})
		}
	}
	return out
}

// ColumnTarget is what COMMENT ON names for column col of relation (a table or view, qualified and quoted).
func ColumnTarget(relation, col string) string {
	return "COLUMN " + relation + "." + Ident(col)
}

func indexes(m *schema.Model, t *schema.Table) []Stmt {
	var out []Stmt
	for _, ix := range t.Indexes {
		out = append(out, createIndex(m, t, ix, false))
	}
	for _, ix := range m.CoveringIndexes(t) {
		out = append(out, Note{Text: fmt.Sprintf("Covers foreign key (%s) for deletes and updates of the referenced row.", strings.Join(ix.Columns, ", "))},
			createIndex(m, t, ix, false))
	}
	return out
}

// createIndex is the statement that creates ix on t; concurrently builds it without blocking writes, which
// cannot run in a transaction.
func createIndex(m *schema.Model, t *schema.Table, ix *schema.Index, concurrently bool) CreateIndex {
	return CreateIndex{Name: ix.Name, Table: TableName(t), Columns: m.KeyColumns(t, ix.Columns), Unique: ix.Unique,
		Concurrently: concurrently, Where: ix.Where, Declared: true}
}

// rowSecurity enables and forces RLS (FORCE makes the table owner subject to
// the policies too) and creates the generated policies.
func rowSecurity(m *schema.Model, t *schema.Table) []Stmt {
	name := TableName(t)
	out := EnableRowSecurity(name)
	policies := generatedPolicies(m, t)
	if t.Shared {
		p := PolicyStmt(policies[0], name)
		p.OneLine = true
		return append(out, Note{Text: "Reference data: every role may read every row; no policy allows writes."}, p)
	}
	if m.Tenancy.Citus() {
		out = append(out, Note{Text: "Tenant isolation on Citus: PERMISSIVE policies only (a shard gets a RESTRICTIVE one as PERMISSIVE), each\n" +
			"carrying the tenant predicate and whatever the declaration narrows for its roles."})
	} else {
		out = append(out, Note{Text: "Tenant isolation. RESTRICTIVE: ANDed with every other policy, so nothing can widen it."})
	}
	for _, p := range policies {
		out = append(out, PolicyStmt(p, name))
	}
	return out
}

// grants gives each role its privileges. On a tenant table INSERT and UPDATE
// are granted per column, leaving out the tenant column: it comes from the
// session, never from a client. A shared table is SELECT-only for all.
func grants(m *schema.Model, t *schema.Table) []Stmt {
	if t.Shared {
		if roles := roleList(m); len(roles) > 0 {
			return []Stmt{Grant{Privileges: []Privilege{{Type: "SELECT"}}, On: "TABLE " + TableName(t), To: Roles(roles...)}}
		}
		return nil
	}
	var out []Stmt
	for _, r := range m.Roles {
		out = append(out, roleGrants(m, t, r)...)
	}
	return out
}

// roleGrants are the GRANT statements that give role r its privileges on t.
func roleGrants(m *schema.Model, t *schema.Table, r *schema.Role) []Stmt {
	on := "TABLE " + TableName(t)
	to := Roles(r.Name)
	if t.Shared {
		return []Stmt{Grant{Privileges: []Privilege{{Type: "SELECT"}}, On: on, To: to}}
	}
	var out []Stmt
	var whole []Privilege
	for _, p := range []schema.Privilege{schema.Select, schema.Delete} {
		if r.Has(p) {
			whole = append(whole, Privilege{Type: string(p)})
		}
	}
	if len(whole) > 0 {
		out = append(out, Grant{Privileges: whole, On: on, To: to})
	}
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
	}
	for _, p := range []schema.Privilege{schema.Insert, schema.Update} {
		if !r.Has(p) {
			continue
		}
		cs := cols
		if p == schema.Insert && m.Tenancy.Citus() {
			// Citus fills in the tenant column's default on the coordinator and sends the shard an INSERT that
			// names it, which the role must be allowed to write. The tenant policy's WITH CHECK still refuses
			// any tenant but the bound one, and Citus refuses an UPDATE of the distribution column.
			cs = append([]string{m.Tenancy.Column}, cols...)
		}
		out = append(out, Grant{Privileges: []Privilege{{Type: string(p), Columns: cs}}, On: on, To: to})
	}
	return out
}

// createPolicy creates a declared extra policy.
func createPolicy(m *schema.Model, p *schema.Policy) Change {
	t := m.Table(p.Table)
	how := "narrows (ANDed with tenant isolation)"
	if p.As == schema.Permissive {
		how = "widens other permissive policies (tenant isolation still applies)"
	}
	return Change{
		Object:  "policy " + p.Name,
		Comment: fmt.Sprintf("Declared policy %s on %s: %s for %s.", p.Name, p.Table, how, strings.Join(roleNames(p), ", ")),
		Up:      []Stmt{declaredPolicy(p, TableName(t))},
		Down:    []Stmt{DropPolicy{Name: p.Name, Table: TableName(t)}},
	}
}

// declaredPolicy is the statement that creates a declared policy: its clauses are fragments of the declaration.
func declaredPolicy(p *schema.Policy, table string) CreatePolicy {
	s := PolicyStmt(p, table)
	s.Declared = true
	return s
}

func roleNames(p *schema.Policy) []string {
	if len(p.To) == 0 {
		return []string{"every role"}
	}
	return p.To
}
