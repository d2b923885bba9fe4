package schema

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// MaxIdentifierBytes is PostgreSQL's NAMEDATALEN-1: longer names are silently
// truncated by the server, so they are refused here instead.
const MaxIdentifierBytes = 63

var (
	identifierRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	// A custom setting needs a dotted prefix (see "Customized Options" in the
	// PostgreSQL docs); we also keep it lower-case so it needs no quoting.
	settingRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$`)
	// An HTTP field name is an RFC 9110 token.
	headerRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

// reservedHeaders are request headers the API already gives a meaning to.
var reservedHeaders = []string{
	"accept", "accept-profile", "authorization", "content-length", "content-profile",
	"content-type", "cookie", "host", "prefer", "range", "x-request-id",
}

// reservedRoles cannot be declared: PostgreSQL gives them a meaning.
var reservedRoles = []string{"public", "none", "current_user", "current_role", "session_user"}

// validator collects every semantic problem of a decoded model.
type validator struct {
	m     *Model
	diags hcl.Diagnostics
}

func (v *validator) errorf(rng hcl.Range, summary, format string, args ...any) {
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  rng.Ptr(),
	})
}

// validate runs every semantic check on m and returns all problems at once.
func validate(m *Model) hcl.Diagnostics {
	v := &validator{m: m}
	v.roles()
	v.tables()
	v.policies()
	v.views()
	v.functions()
	v.relationNames()
	v.fragments()
	return v.diags
}

// fragments checks every SQL fragment with PostgreSQL's grammar: it is pasted into the migration as written,
// so anything but exactly one expression (or type) of its kind would change the SQL around it.
func (v *validator) fragments() {
	v.diags = append(v.diags, CheckFragments(v.m)...)
}

// generatedName checks a name pgtenant derives from declared ones: those
// are valid identifiers already, but may grow past the length limit.
func (v *validator) generatedName(rng hcl.Range, what, name string) {
	if len(name) > MaxIdentifierBytes {
		v.name(rng, what, name)
	}
}

// name checks a declared identifier.
func (v *validator) name(rng hcl.Range, what, name string) {
	switch {
	case len(name) > MaxIdentifierBytes:
		v.errorf(rng, "Identifier too long",
			"The %s name %q is %d bytes; PostgreSQL keeps only %d. Choose a shorter name.",
			what, name, len(name), MaxIdentifierBytes)
	case !identifierRE.MatchString(name):
		v.errorf(rng, "Invalid identifier",
			"The %s name %q must be lower-case letters, digits and underscores, starting with a letter or underscore.",
			what, name)
	case strings.HasPrefix(name, "pg_"):
		v.errorf(rng, "Invalid identifier", "The %s name %q uses the pg_ prefix, which PostgreSQL reserves.", what, name)
	}
}

// checkTenancyValue returns the check for one tenancy attribute; it runs with
// the other deferred checks so that every problem is reported together.
func (d *decoder) checkTenancyValue(attr, value string, rng hcl.Range) func() hcl.Diagnostics {
	return func() hcl.Diagnostics {
		v := &validator{m: d.model}
		switch attr {
		case "column":
			v.name(rng, "tenant column", value)
		case "setting":
			if !settingRE.MatchString(value) || len(value) > MaxIdentifierBytes {
				v.errorf(rng, "Invalid setting name",
					"The setting %q must be a dotted, lower-case custom setting name such as \"app.current_tenant_id\".",
					value)
			}
		case "scale_out":
			if value != ScaleOutNone && value != ScaleOutCitus {
				v.errorf(rng, "Invalid scale_out",
					"scale_out is %q: say \"none\" (one PostgreSQL, the default) or \"citus\" (tables distributed "+
						"by the tenant column on a Citus cluster).", value)
			}
		case "header":
			switch {
			case !headerRE.MatchString(value):
				v.errorf(rng, "Invalid header name",
					"The header %q is not a valid HTTP header name; use letters, digits and '-', like \"X-Tenant-ID\".",
					value)
			case slices.Contains(reservedHeaders, strings.ToLower(value)):
				v.errorf(rng, "Invalid header name",
					"The header %q already has a meaning in the API; choose another, like \"X-Tenant-ID\".", value)
			}
		}
		return v.diags
	}
}

func (v *validator) roles() {
	seen := map[string]*Role{}
	for _, r := range v.m.Roles {
		v.name(r.Range, "role", r.Name)
		if slices.Contains(reservedRoles, r.Name) {
			v.errorf(r.Range, "Invalid identifier", "%q is a reserved role name in PostgreSQL.", r.Name)
		}
		if first, ok := seen[r.Name]; ok {
			v.errorf(r.Range, "Duplicate role", "Role %q is already declared at %s.", r.Name, first.Range)
			continue
		}
		seen[r.Name] = r
		v.generatedName(r.Range, "generated policy", AccessPolicyName(r.Name))
	}
}

func (v *validator) tables() {
	seen := map[string]*Table{}
	for _, t := range v.m.Tables {
		v.name(t.Range, "table", t.Name)
		if first, ok := seen[t.Name]; ok {
			v.errorf(t.Range, "Duplicate table", "Table %q is already declared at %s.", t.Name, first.Range)
			continue
		}
		seen[t.Name] = t
		v.renamedFrom(t.RenamedFromRange, "table", t.Name, t.RenamedFrom)
		v.columns(t)
		v.primaryKey(t)
		v.indexes(t)
		v.foreignKeys(t)
		v.constraintNames(t)
	}
	for _, t := range v.m.Tables {
		if t.RenamedFrom != "" && t.RenamedFrom != t.Name && seen[t.RenamedFrom] != nil {
			v.errorf(*t.RenamedFromRange, "Ambiguous rename",
				"Table %q is renamed from %q, but %q is still declared.", t.Name, t.RenamedFrom, t.RenamedFrom)
		}
	}
}

func (v *validator) columns(t *Table) {
	seen := map[string]*Column{}
	for _, c := range t.Columns {
		v.name(c.Range, "column", c.Name)
		if c.Name == v.m.Tenancy.Column {
			if t.Shared {
				v.errorf(c.Range, "Tenant column declared by hand",
					"Shared table %q has no tenant column, so it cannot declare %q; rename the column.",
					t.Name, c.Name)
			} else {
				v.errorf(c.Range, "Tenant column declared by hand",
					"%q is added to every tenant table by pgtenant (tenancy.column); remove this column block.",
					c.Name)
			}
		}
		if first, ok := seen[c.Name]; ok {
			v.errorf(c.Range, "Duplicate column", "Column %q of table %q is already declared at %s.",
				c.Name, t.Name, first.Range)
			continue
		}
		seen[c.Name] = c
		v.renamedFrom(c.RenamedFromRange, "column", c.Name, c.RenamedFrom)
	}
	for _, c := range t.Columns {
		if c.RenamedFrom != "" && c.RenamedFrom != c.Name && t.Column(c.RenamedFrom) != nil {
			v.errorf(*c.RenamedFromRange, "Ambiguous rename",
				"Column %q is renamed from %q, but table %q still declares a column %q.",
				c.Name, c.RenamedFrom, t.Name, c.RenamedFrom)
		}
	}
}

// renamedFrom checks a renamed_from attribute: a valid name that differs from the new one. Whether the old
// name exists is for `pgtenant generate` to check against the last migration.
func (v *validator) renamedFrom(rng *hcl.Range, what, name, old string) {
	if rng == nil {
		return
	}
	if old == name {
		v.errorf(*rng, "Invalid rename", "The %s %q is renamed from itself; remove renamed_from.", what, name)
		return
	}
	v.name(*rng, what, old)
}

func (v *validator) primaryKey(t *Table) {
	if t.PrimaryKey == nil {
		v.errorf(t.Range, "Missing primary key",
			"Table %q needs a primary_key block: the API addresses rows by it and foreign keys reference it.", t.Name)
		return
	}
	v.distinctColumns(t.PrimaryKey.Range, "primary key", t.PrimaryKey.Columns)
	for _, name := range t.PrimaryKey.Columns {
		if c := t.Column(name); c != nil && c.Null {
			v.errorf(t.PrimaryKey.Range, "Nullable primary key column",
				"Column %q is in the primary key of %q, so it cannot be null = true.", name, t.Name)
		}
	}
}

func (v *validator) distinctColumns(rng hcl.Range, what string, cols []string) {
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c] {
			v.errorf(rng, "Duplicate column", "Column %q appears twice in this %s.", c, what)
		}
		seen[c] = true
	}
}

func (v *validator) indexes(t *Table) {
	for _, ix := range t.Indexes {
		v.name(ix.Range, "index", ix.Name)
		v.distinctColumns(ix.Range, "index", ix.Columns)
		if ix.WhereRange != nil && strings.TrimSpace(ix.Where) == "" {
			v.errorf(*ix.WhereRange, "Empty SQL expression", "The where predicate of index %q is empty.", ix.Name)
		}
	}
	for _, c := range t.Checks {
		v.name(c.Range, "check", c.Name)
		if strings.TrimSpace(c.Expr) == "" {
			v.errorf(c.Range, "Empty SQL expression", "The expr of check %q is empty.", c.Name)
		}
	}
}

func (v *validator) foreignKeys(t *Table) {
	for _, fk := range t.ForeignKeys {
		v.name(fk.Range, "foreign key", fk.Name)
		target := v.m.Table(fk.RefTable)
		if target == nil || len(fk.RefColumns) == 0 {
			continue // reported while decoding
		}
		if len(fk.Columns) != len(fk.RefColumns) {
			v.errorf(fk.Range, "Invalid foreign key", "Foreign key %q lists %d columns but %d ref_columns.",
				fk.Name, len(fk.Columns), len(fk.RefColumns))
			continue
		}
		if t.Shared && !target.Shared {
			v.errorf(fk.Range, "Shared table references a tenant table",
				"Shared table %q cannot reference tenant table %q: its rows are visible to every tenant.",
				t.Name, target.Name)
			continue
		}
		if !v.uniqueKey(target, fk.RefColumns) {
			v.errorf(fk.Range, "Invalid foreign key",
				"Foreign key %q references (%s) of %q, which is neither its primary key nor a unique index.",
				fk.Name, strings.Join(fk.RefColumns, ", "), target.Name)
			continue
		}
		for i, name := range fk.Columns {
			c, rc := t.Column(name), target.Column(fk.RefColumns[i])
			if c != nil && rc != nil && c.Type != "" && rc.Type != "" && c.Type != rc.Type {
				v.errorf(fk.Range, "Mismatched foreign key types",
					"Column %q is %s but references %s.%s, which is %s; give both the same type.",
					name, c.Type, target.Name, rc.Name, rc.Type)
			}
			v.onDelete(fk, t, c)
		}
		if v.m.Tenancy.Citus() && !t.Shared && !target.Shared && (fk.OnDelete == SetNull || fk.OnDelete == SetDefault) {
			// Citus: "SET NULL or SET DEFAULT is not supported in ON DELETE operation when distribution key is
			// included in the foreign key constraint", and between tenant tables it always is.
			v.errorf(fk.Range, "SET_NULL between tenant tables on Citus",
				"Citus refuses on_delete = %s on a foreign key between distributed tables (its key includes the tenant "+
					"column); choose CASCADE, RESTRICT or NO_ACTION for %s.%s.", fk.OnDelete, t.Name, strings.Join(fk.Columns, ", "))
		}
	}
}

// onDelete checks that the foreign key's action can succeed on column c.
func (v *validator) onDelete(fk *ForeignKey, t *Table, c *Column) {
	if c == nil {
		return
	}
	switch {
	case fk.OnDelete == SetNull && !c.Null:
		v.errorf(fk.Range, "SET_NULL on a NOT NULL column",
			"on_delete = SET_NULL would set %s.%s to null, but it is NOT NULL; add null = true or choose another action.",
			t.Name, c.Name)
	case fk.OnDelete == SetDefault && !c.Null && c.Default == "":
		v.errorf(fk.Range, "SET_DEFAULT without a default",
			"on_delete = SET_DEFAULT needs %s.%s to have a default (or null = true).", t.Name, c.Name)
	}
}

// uniqueKey reports whether cols are exactly the primary key or a unique,
// non-partial index of t, which PostgreSQL requires of a referenced key.
func (v *validator) uniqueKey(t *Table, cols []string) bool {
	same := func(a []string) bool {
		x, y := slices.Clone(a), slices.Clone(cols)
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
	if t.PrimaryKey != nil && same(t.PrimaryKey.Columns) {
		return true
	}
	for _, ix := range t.Indexes {
		if ix.Unique && ix.Where == "" && same(ix.Columns) {
			return true
		}
	}
	return false
}

// constraintNames checks the per-table constraint namespace: the generated
// primary key and tenant foreign key, foreign keys and checks.
func (v *validator) constraintNames(t *Table) {
	seen := map[string]hcl.Range{PrimaryKeyName(t.Name): t.Range}
	v.generatedName(t.Range, "generated primary key", PrimaryKeyName(t.Name))
	if !t.Shared {
		name := v.m.TenantForeignKeyName(t)
		v.generatedName(t.Range, "generated tenant foreign key", name)
		seen[name] = t.Range
	}
	add := func(rng hcl.Range, name string) {
		if first, ok := seen[name]; ok {
			v.errorf(rng, "Duplicate constraint", "Table %q already has a constraint %q (%s).", t.Name, name, first)
			return
		}
		seen[name] = rng
	}
	for _, fk := range t.ForeignKeys {
		add(fk.Range, fk.Name)
	}
	for _, c := range t.Checks {
		add(c.Range, c.Name)
	}
}

// relationNames checks the schema-wide relation namespace: tables, primary
// key indexes, declared and generated indexes all share it in PostgreSQL.
func (v *validator) relationNames() {
	seen := map[string]string{}
	add := func(rng hcl.Range, kind, name string) {
		if first, ok := seen[name]; ok {
			summary := "Duplicate index"
			switch kind {
			case "table":
				summary = "Duplicate table"
			case "view":
				summary = "Duplicate view"
			}
			v.errorf(rng, summary, "The %s name %q is already used by %s; relation names are schema-wide in PostgreSQL.",
				kind, name, first)
			return
		}
		seen[name] = kind + " " + name
	}
	for _, t := range v.m.Tables {
		if _, dup := seen[t.Name]; dup && v.m.Table(t.Name) != t {
			continue // a duplicate table, already reported
		}
		add(t.Range, "table", t.Name)
	}
	for _, t := range v.m.Tables {
		if v.m.Table(t.Name) != t {
			continue
		}
		add(t.Range, "primary key", PrimaryKeyName(t.Name))
		for _, ix := range t.Indexes {
			add(ix.Range, "index", ix.Name)
		}
		for _, ix := range v.m.CoveringIndexes(t) {
			v.generatedName(ix.Range, "generated index", ix.Name)
			add(ix.Range, "generated index", ix.Name)
		}
	}
	// Views last, so that a clash is reported on the view rather than on the table or index it clashes with.
	for _, vw := range v.m.Views {
		if v.m.View(vw.Name) == vw {
			add(vw.Range, "view", vw.Name)
		}
	}
}

func (v *validator) policies() {
	seen := map[string]*Policy{}
	reserved := []string{IsolationPolicy, SharedReadPolicy}
	for _, r := range v.m.Roles {
		reserved = append(reserved, AccessPolicyName(r.Name))
	}
	for _, p := range v.m.Policies {
		v.name(p.Range, "policy", p.Name)
		if first, ok := seen[p.Name]; ok {
			v.errorf(p.Range, "Duplicate policy", "Policy %q is already declared at %s.", p.Name, first.Range)
		}
		seen[p.Name] = p
		if slices.Contains(reserved, p.Name) {
			v.errorf(p.Range, "Reserved policy name", "pgtenant generates a policy named %q; choose another name.", p.Name)
		}
		v.policyClauses(p)
	}
}

// policyClauses refuses the clause combinations PostgreSQL rejects: USING on
// an INSERT policy, WITH CHECK on SELECT or DELETE.
func (v *validator) policyClauses(p *Policy) {
	switch {
	case p.Using == "" && p.Check == "":
		v.errorf(p.Range, "Invalid policy clause", "Policy %q needs a using or a check expression.", p.Name)
	case p.For == InsertRows && p.UsingRange != nil:
		v.errorf(*p.UsingRange, "Invalid policy clause",
			"An INSERT policy cannot have using (there are no existing rows to filter); use check.")
	case (p.For == SelectRows || p.For == DeleteRows) && p.CheckRange != nil:
		v.errorf(*p.CheckRange, "Invalid policy clause",
			"A %s policy cannot have check (no new rows are written); use using.", p.For)
	}
	if t := v.m.Table(p.Table); t != nil && t.Shared && p.For != SelectRows {
		v.errorf(p.Range, "Invalid policy clause",
			"Shared table %q is read-only, so only a SELECT policy can apply to it; set for = SELECT.", t.Name)
	}
	if t := v.m.Table(p.Table); t != nil && t.Shared && p.As == Restrictive && v.m.Tenancy.Citus() {
		// A shared table is a reference table on Citus, and Citus copies its policies to the shards as PERMISSIVE:
		// ORed with the generated read policy, a narrowing would be lost on every node.
		v.errorf(p.Range, "Restrictive policy on a Citus reference table",
			"Shared table %q is a reference table on Citus, which copies its policies to every node as PERMISSIVE, "+
				"so this narrowing would be lost; declare it on a tenant table, or keep the shared rows apart in a "+
				"table of their own.", t.Name)
	}
}
