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
func createRole(r *schema.Role) Change {
	lit := schema.QuoteLiteral(r.Name)
	return Change{
		Object:  "role " + r.Name,
		Comment: fmt.Sprintf("Role %s: NOLOGIN, no BYPASSRLS, owns nothing. Grant it to a login role; never log in as the table owner.", r.Name),
		Up: fmt.Sprintf(`DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = %[1]s) THEN
        CREATE ROLE %[2]s NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = %[1]s AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'role %% has SUPERUSER or BYPASSRLS, which bypasses row-level security', %[1]s
            USING HINT = 'ALTER ROLE ' || %[1]s || ' NOSUPERUSER NOBYPASSRLS, then apply again';
    END IF;
END
$$;`, lit, Ident(r.Name)),
		Down: fmt.Sprintf(`DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_shdepend d JOIN pg_catalog.pg_roles r
                   ON d.refclassid = 'pg_catalog.pg_authid'::regclass AND d.refobjid = r.oid
                   WHERE r.rolname = %[1]s)
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r
                       ON m.roleid = r.oid WHERE r.rolname = %[1]s) THEN
        DROP ROLE IF EXISTS %[2]s;
    END IF;
END
$$;`, lit, Ident(r.Name)),
	}
}

// createTable creates t with everything that belongs to it. Foreign keys in
// deferred are left out (they point at tables created later) and added by
// addForeignKey. The reverse is DROP TABLE, which removes all of it.
func createTable(m *schema.Model, t *schema.Table, deferred map[*schema.ForeignKey]bool) Change {
	var b strings.Builder
	name := TableName(t)
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", name)
	var lines []string
	if !t.Shared {
		lines = append(lines, fmt.Sprintf("    %s uuid NOT NULL DEFAULT %s", Ident(m.Tenancy.Column), CurrentTenant(m)))
	}
	for _, c := range t.Columns {
		lines = append(lines, "    "+columnDef(c))
	}
	lines = append(lines, fmt.Sprintf("    CONSTRAINT %s PRIMARY KEY (%s)",
		Ident(schema.PrimaryKeyName(t.Name)), Idents(m.KeyColumns(t, t.PrimaryKey.Columns))))
	if !t.Shared {
		lines = append(lines, fmt.Sprintf("    CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s",
			Ident(m.TenantForeignKeyName(t)), Ident(m.Tenancy.Column), registryKey))
	}
	for _, fk := range t.ForeignKeys {
		if !deferred[fk] {
			lines = append(lines, "    "+foreignKeyDef(m, t, fk))
		}
	}
	for _, c := range t.Checks {
		lines = append(lines, fmt.Sprintf("    CONSTRAINT %s CHECK (%s)", Ident(c.Name), c.Expr))
	}
	b.WriteString(strings.Join(lines, ",\n"))
	b.WriteString("\n);\n")
	comments(&b, m, t)
	indexes(&b, m, t)
	rowSecurity(&b, m, t)
	grants(&b, m, t)

	kind := "Tenant table"
	if t.Shared {
		kind = "Shared table"
	}
	return Change{
		Object:  "table " + t.Name,
		Comment: kind + " " + t.Name + ".",
		Up:      strings.TrimSuffix(b.String(), "\n"),
		Down:    fmt.Sprintf("DROP TABLE %s;", name),
	}
}

func columnDef(c *schema.Column) string {
	s := Ident(c.Name) + " " + c.Type
	if !c.Null {
		s += " NOT NULL"
	}
	if c.Default != "" {
		s += " DEFAULT " + c.Default
	}
	return s
}

func foreignKeyDef(m *schema.Model, t *schema.Table, fk *schema.ForeignKey) string {
	cols, refCols := m.ForeignKeyColumns(t, fk)
	s := fmt.Sprintf("CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)",
		Ident(fk.Name), Idents(cols), TableName(m.Table(fk.RefTable)), Idents(refCols))
	if a := action(fk.OnDelete, fk.Columns); a != "" {
		s += " ON DELETE " + a
	}
	return s
}

// addForeignKey adds a foreign key that could not be declared inline because
// its target is created later (a cycle between tables).
func addForeignKey(m *schema.Model, t *schema.Table, fk *schema.ForeignKey) Change {
	return Change{
		Object:  "table " + t.Name,
		Comment: fmt.Sprintf("Foreign key %s, added after both tables exist.", fk.Name),
		Up:      fmt.Sprintf("ALTER TABLE %s ADD %s;", TableName(t), foreignKeyDef(m, t, fk)),
		Down:    fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s;", TableName(t), Ident(fk.Name)),
	}
}

func comments(b *strings.Builder, m *schema.Model, t *schema.Table) {
	if t.Comment != "" {
		fmt.Fprintf(b, "COMMENT ON TABLE %s IS %s;\n", TableName(t), schema.QuoteLiteral(t.Comment))
	}
	if !t.Shared {
		fmt.Fprintf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", TableName(t), Ident(m.Tenancy.Column),
			schema.QuoteLiteral("Tenant owning the row. Set from "+m.Tenancy.Setting+"; clients never write it."))
	}
	for _, c := range t.Columns {
		if c.Comment != "" {
			fmt.Fprintf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", TableName(t), Ident(c.Name), schema.QuoteLiteral(c.Comment))
		}
	}
}

func indexes(b *strings.Builder, m *schema.Model, t *schema.Table) {
	for _, ix := range t.Indexes {
		b.WriteString(createIndex(m, t, ix, false) + "\n")
	}
	for _, ix := range m.CoveringIndexes(t) {
		fmt.Fprintf(b, "-- Covers foreign key (%s) for deletes and updates of the referenced row.\n", strings.Join(ix.Columns, ", "))
		b.WriteString(createIndex(m, t, ix, false) + "\n")
	}
}

// createIndex is the statement that creates ix on t; concurrently builds it without blocking writes, which
// cannot run in a transaction.
func createIndex(m *schema.Model, t *schema.Table, ix *schema.Index, concurrently bool) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if ix.Unique {
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX ")
	if concurrently {
		b.WriteString("CONCURRENTLY ")
	}
	fmt.Fprintf(&b, "%s ON %s (%s)", Ident(ix.Name), TableName(t), Idents(m.KeyColumns(t, ix.Columns)))
	if ix.Where != "" {
		fmt.Fprintf(&b, " WHERE (%s)", ix.Where)
	}
	b.WriteString(";")
	return b.String()
}

// rowSecurity enables and forces RLS (FORCE makes the table owner subject to
// the policies too) and creates the generated policies.
func rowSecurity(b *strings.Builder, m *schema.Model, t *schema.Table) {
	name := TableName(t)
	b.WriteString(EnableRowSecurity(name) + "\n")
	policies := generatedPolicies(m, t)
	if t.Shared {
		p := policies[0]
		b.WriteString("-- Reference data: every role may read every row; no policy allows writes.\n")
		fmt.Fprintf(b, "CREATE POLICY %s ON %s AS %s FOR %s TO PUBLIC USING (%s);\n",
			Ident(p.Name), name, p.As, p.For, p.Using)
		return
	}
	b.WriteString("-- Tenant isolation. RESTRICTIVE: ANDed with every other policy, so nothing can widen it.\n")
	for _, p := range policies {
		b.WriteString(CreatePolicy(p, name) + "\n")
	}
}

// grants gives each role its privileges. On a tenant table INSERT and UPDATE
// are granted per column, leaving out the tenant column: it comes from the
// session, never from a client. A shared table is SELECT-only for all.
func grants(b *strings.Builder, m *schema.Model, t *schema.Table) {
	name := TableName(t)
	if t.Shared {
		if roles := roleList(m); len(roles) > 0 {
			fmt.Fprintf(b, "GRANT SELECT ON TABLE %s TO %s;\n", name, Idents(roles))
		}
		return
	}
	for _, r := range m.Roles {
		for _, g := range roleGrants(m, t, r) {
			b.WriteString(g + "\n")
		}
	}
}

// roleGrants are the GRANT statements that give role r its privileges on t.
func roleGrants(m *schema.Model, t *schema.Table, r *schema.Role) []string {
	name := TableName(t)
	if t.Shared {
		return []string{fmt.Sprintf("GRANT SELECT ON TABLE %s TO %s;", name, Ident(r.Name))}
	}
	var out []string
	var whole []string
	for _, p := range []schema.Privilege{schema.Select, schema.Delete} {
		if r.Has(p) {
			whole = append(whole, string(p))
		}
	}
	if len(whole) > 0 {
		out = append(out, fmt.Sprintf("GRANT %s ON TABLE %s TO %s;", strings.Join(whole, ", "), name, Ident(r.Name)))
	}
	var cols []string
	for _, c := range t.Columns {
		cols = append(cols, c.Name)
	}
	for _, p := range []schema.Privilege{schema.Insert, schema.Update} {
		if r.Has(p) {
			out = append(out, fmt.Sprintf("GRANT %s (%s) ON TABLE %s TO %s;", p, Idents(cols), name, Ident(r.Name)))
		}
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
		Up:      CreatePolicy(p, TableName(t)),
		Down:    DropPolicy(p.Name, TableName(t)),
	}
}

func roleNames(p *schema.Policy) []string {
	if len(p.To) == 0 {
		return []string{"every role"}
	}
	return p.To
}
