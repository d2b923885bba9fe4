package ddl_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"pgtenant/engine/ddl"
	"pgtenant/internal/pgtest"
	"pgtenant/schema"
)

// The property test of incremental migrations: from a random sequence of valid declaration edits, the generated
// up migrations, applied one by one, give the schema a fresh first migration of the final declaration gives; the
// down migrations, applied in reverse, give back the schema of the start.

type decl struct {
	setting  string
	roles    []*roleDecl
	tables   []*tableDecl
	policies []*policyDecl
}

type roleDecl struct {
	name  string
	privs []string
}

type tableDecl struct {
	name, renamedFrom string
	shared            bool
	cols              []*colDecl
	indexes           []*indexDecl
	checks            []*checkDecl
}

type colDecl struct {
	name, renamedFrom, typ, def, ref string
	null                             bool
}

type indexDecl struct {
	name   string
	col    string
	unique bool
}

type checkDecl struct{ name, col string }

type policyDecl struct{ name, table, col string }

func (d *decl) hcl() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenancy {\n  setting = %q\n}\n\n", d.setting)
	for _, r := range d.roles {
		fmt.Fprintf(&b, "role %q { privileges = [%s] }\n", r.name, strings.Join(r.privs, ", "))
	}
	for _, t := range d.tables {
		kind := "table"
		if t.shared {
			kind = "shared_table"
		}
		fmt.Fprintf(&b, "\n%s %q {\n", kind, t.name)
		if t.renamedFrom != "" {
			fmt.Fprintf(&b, "  renamed_from = %q\n", t.renamedFrom)
		}
		for _, c := range t.cols {
			fmt.Fprintf(&b, "  column %q {\n", c.name)
			if c.ref != "" {
				fmt.Fprintf(&b, "    references = table.%s\n    on_delete = CASCADE\n", c.ref)
			} else {
				fmt.Fprintf(&b, "    type = %s\n", c.typ)
			}
			if c.null {
				b.WriteString("    null = true\n")
			}
			if c.def != "" {
				fmt.Fprintf(&b, "    default = sql(%q)\n", c.def)
			}
			if c.renamedFrom != "" {
				fmt.Fprintf(&b, "    renamed_from = %q\n", c.renamedFrom)
			}
			b.WriteString("  }\n")
		}
		b.WriteString("  primary_key { columns = [column.id] }\n")
		for _, ix := range t.indexes {
			fmt.Fprintf(&b, "  index %q {\n    columns = [column.%s]\n    unique = %t\n  }\n", ix.name, ix.col, ix.unique)
		}
		for _, c := range t.checks {
			fmt.Fprintf(&b, "  check %q {\n    expr = \"%s IS NOT NULL\"\n  }\n", c.name, c.col)
		}
		b.WriteString("}\n")
	}
	for _, p := range d.policies {
		fmt.Fprintf(&b, "\npolicy %q {\n  on = table.%s\n  as = RESTRICTIVE\n  using = \"%s IS NOT NULL\"\n}\n", p.name, p.table, p.col)
	}
	return b.String()
}

// clone copies d deeply, without the renames of the last step.
func (d *decl) clone() *decl {
	out := &decl{setting: d.setting}
	for _, r := range d.roles {
		out.roles = append(out.roles, &roleDecl{r.name, slices.Clone(r.privs)})
	}
	for _, t := range d.tables {
		nt := &tableDecl{name: t.name, shared: t.shared}
		for _, c := range t.cols {
			nc := *c
			nc.renamedFrom = ""
			nt.cols = append(nt.cols, &nc)
		}
		for _, ix := range t.indexes {
			nix := *ix
			nt.indexes = append(nt.indexes, &nix)
		}
		for _, c := range t.checks {
			nc := *c
			nt.checks = append(nt.checks, &nc)
		}
		out.tables = append(out.tables, nt)
	}
	for _, p := range d.policies {
		np := *p
		out.policies = append(out.policies, &np)
	}
	return out
}

func (d *decl) table(name string) *tableDecl {
	for _, t := range d.tables {
		if t.name == name {
			return t
		}
	}
	return nil
}

// used reports whether something else refers to column col of t (or to t when col is "").
func (d *decl) used(t *tableDecl, col string) bool {
	for _, o := range d.tables {
		for _, c := range o.cols {
			if c.ref == t.name && (col == "" || col == "id") && o != t {
				return true
			}
		}
	}
	for _, p := range d.policies {
		if p.table == t.name && (col == "" || p.col == col) {
			return true
		}
	}
	if col == "" {
		return false
	}
	for _, ix := range t.indexes {
		if ix.col == col {
			return true
		}
	}
	for _, c := range t.checks {
		if c.col == col {
			return true
		}
	}
	for _, c := range t.cols {
		if c.name == col && c.ref != "" {
			return true
		}
	}
	return col == "id"
}

var types = []string{"text", "integer", "bigint", "boolean", "varchar(50)", "varchar(100)", "date", "numeric(10,2)"}

// castable lists the types a column of a type can change to: PostgreSQL has a cast for each. A declaration
// change without one gives a migration that fails, as it would for any tool.
var castable = map[string][]string{
	"integer":       {"integer", "bigint", "numeric(10,2)", "text", "boolean"},
	"bigint":        {"integer", "bigint", "numeric(10,2)", "text"},
	"numeric(10,2)": {"integer", "bigint", "numeric(10,2)", "text"},
	"boolean":       {"text", "integer"},
	"date":          {"text", "varchar(50)"},
}

// edit applies one random edit to d. Some edits make an invalid declaration; the caller drops those.
func edit(r *rand.Rand, d *decl, n int) string {
	pick := func(ts []*tableDecl) *tableDecl {
		if len(ts) == 0 {
			return nil
		}
		return ts[r.IntN(len(ts))]
	}
	t := pick(d.tables)
	name := func(prefix string) string { return prefix + strconv.Itoa(n) }
	switch r.IntN(16) {
	case 0:
		nt := &tableDecl{name: name("t"), shared: r.IntN(4) == 0, cols: []*colDecl{
			{name: "id", typ: "uuid", def: "gen_random_uuid()"}, {name: "label", typ: "text", null: true}}}
		if parent := pick(d.tables); parent != nil && !nt.shared && (parent.shared || r.IntN(2) == 0) {
			nt.cols = append(nt.cols, &colDecl{name: parent.name + "_id", ref: parent.name, null: true})
		}
		d.tables = append(d.tables, nt)
		return "add table " + nt.name
	case 1:
		if t == nil || d.used(t, "") || len(d.tables) < 2 {
			return ""
		}
		d.tables = slices.DeleteFunc(d.tables, func(x *tableDecl) bool { return x == t })
		return "drop table " + t.name
	case 2:
		c := &colDecl{name: name("c"), typ: types[r.IntN(len(types))], null: r.IntN(2) == 0}
		if !c.null {
			c.def = map[string]string{"text": "''", "boolean": "false", "date": "current_date"}[c.typ]
			if c.def == "" {
				c.def = "0"
			}
		}
		t.cols = append(t.cols, c)
		return "add column " + t.name + "." + c.name
	case 3:
		c := t.cols[r.IntN(len(t.cols))]
		if d.used(t, c.name) {
			return ""
		}
		t.cols = slices.DeleteFunc(t.cols, func(x *colDecl) bool { return x == c })
		return "drop column " + t.name + "." + c.name
	case 4:
		c := t.cols[r.IntN(len(t.cols))]
		if c.ref != "" || c.name == "id" || d.used(t, c.name) {
			return ""
		}
		to := castable[c.typ]
		if to == nil {
			to = types // text converts to any of them
		}
		c.typ, c.def, c.null = to[r.IntN(len(to))], "", true
		return "change type " + t.name + "." + c.name + " to " + c.typ
	case 5:
		c := t.cols[r.IntN(len(t.cols))]
		if c.name == "id" {
			return ""
		}
		c.null = !c.null
		return "toggle null " + t.name + "." + c.name
	case 6:
		c := t.cols[r.IntN(len(t.cols))]
		if c.typ != "text" {
			return ""
		}
		c.def = map[bool]string{true: "", false: "'x" + strconv.Itoa(n) + "'"}[c.def != ""]
		return "change default " + t.name + "." + c.name
	case 7:
		c := t.cols[r.IntN(len(t.cols))]
		t.indexes = append(t.indexes, &indexDecl{name: name("ix"), col: c.name, unique: r.IntN(3) == 0})
		return "add index on " + t.name + "." + c.name
	case 8:
		if len(t.indexes) == 0 {
			return ""
		}
		t.indexes = t.indexes[1:]
		return "drop index of " + t.name
	case 9:
		c := t.cols[r.IntN(len(t.cols))]
		t.checks = append(t.checks, &checkDecl{name: name("ck"), col: c.name})
		return "add check on " + t.name + "." + c.name
	case 10:
		if len(t.checks) == 0 {
			return ""
		}
		t.checks = t.checks[1:]
		return "drop check of " + t.name
	case 11:
		if t.shared {
			return ""
		}
		c := t.cols[r.IntN(len(t.cols))]
		d.policies = append(d.policies, &policyDecl{name: name("p"), table: t.name, col: c.name})
		return "add policy on " + t.name
	case 12:
		if len(d.policies) == 0 {
			return ""
		}
		d.policies = d.policies[1:]
		return "drop policy"
	case 13:
		switch {
		case len(d.roles) < 3 && r.IntN(2) == 0:
			d.roles = append(d.roles, &roleDecl{name: "prop_role" + strconv.Itoa(n), privs: []string{"SELECT"}})
			return "add role"
		case len(d.roles) > 1 && r.IntN(2) == 0:
			d.roles = d.roles[:len(d.roles)-1]
			return "drop role"
		default:
			ro := d.roles[r.IntN(len(d.roles))]
			ro.privs = map[bool][]string{true: {"SELECT"}, false: {"SELECT", "INSERT", "UPDATE", "DELETE"}}[len(ro.privs) > 1]
			return "change privileges of " + ro.name
		}
	case 14:
		if t.shared && d.used(t, "") {
			return ""
		}
		old := t.name
		if d.used(t, "") {
			return ""
		}
		t.renamedFrom, t.name = old, name("t")
		return "rename table " + old + " to " + t.name
	default:
		if r.IntN(3) == 0 {
			d.setting = "app.tenant_" + strconv.Itoa(n)
			return "change tenancy setting"
		}
		c := t.cols[r.IntN(len(t.cols))]
		if c.name == "id" || d.used(t, c.name) {
			return ""
		}
		old := c.name
		c.renamedFrom, c.name = old, name("c")
		return "rename column " + t.name + "." + old
	}
}

func parseDecl(d *decl) (*schema.Model, error) {
	m, _, diags := schema.Parse(schema.Source{Filename: "random.hcl", Bytes: []byte(d.hcl())})
	if diags.HasErrors() {
		return nil, diags
	}
	return m, nil
}

func TestIncremental_Property(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	if s := os.Getenv("PGTENANT_PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		seeds = []uint64{n}
	}
	const steps = 12
	for _, seed := range seeds {
		// Not in parallel: the seeds create the same roles, and roles are cluster-wide.
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x70677465))
			d := &decl{setting: "app.current_tenant_id",
				roles: []*roleDecl{{"prop_app", []string{"SELECT", "INSERT", "UPDATE", "DELETE"}}},
				tables: []*tableDecl{{name: "base", cols: []*colDecl{
					{name: "id", typ: "uuid", def: "gen_random_uuid()"}, {name: "title", typ: "text"}}}}}
			start, err := parseDecl(d)
			require.NoError(t, err)

			db := pgtest.NewEmpty(t)
			pgtest.ExecScript(t, db.Owner, full(t, start))
			begin := readCatalog(t, db.Owner)
			prev := start
			var downs, log []string
			for i := 0; len(log) < steps && i < 10*steps; i++ {
				next := d.clone()
				what := edit(r, next, i)
				if what == "" {
					continue
				}
				m, err := parseDecl(next)
				if err != nil {
					continue // an edit the declaration's rules refuse
				}
				mig, err := ddl.Incremental(prev, m, ddl.Options{})
				require.NoError(t, err, "after %v, then %s", log, what)
				files := render(mig)
				log = append(log, what)
				for _, up := range files.up {
					if _, err := db.Owner.Exec(t.Context(), up); err != nil {
						t.Fatalf("steps %s: the up migration of %q fails: %v\n%s\ndeclaration:\n%s", strings.Join(log, "; "), what, err, up, next.hcl())
					}
				}
				downs = append(downs, files.down...)
				d, prev = next, m
			}
			require.Len(t, log, steps, "the sequence applied as many edits as asked: %v", log)
			final := pgtest.NewEmpty(t)
			pgtest.ExecScript(t, final.Owner, full(t, prev))
			assertSameSchema(t, readCatalog(t, final.Owner), readCatalog(t, db.Owner),
				"after the steps "+strings.Join(log, "; "))
			for i := len(downs) - 1; i >= 0; i-- {
				if _, err := db.Owner.Exec(t.Context(), downs[i]); err != nil {
					t.Fatalf("steps %s: a down migration fails: %v\n%s", strings.Join(log, "; "), err, downs[i])
				}
			}
			assertSameSchema(t, begin, readCatalog(t, db.Owner), "after every down migration of "+strings.Join(log, "; "))
		})
	}
}
