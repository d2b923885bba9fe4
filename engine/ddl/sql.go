package ddl

import (
	"fmt"
	"strings"

	"pgtenant/schema"
)

// Schema is the schema every declared table is created in.
const Schema = "public"

// RegistrySchema is the internal schema of the tenant registry and
// credentials; the API never exposes it.
const RegistrySchema = "pgtenant"

// plainIdent reports whether name is a lower-case plain word,
// [a-z_][a-z0-9_$]*: a byte loop, since Ident runs for every identifier of
// every request's SQL.
func plainIdent(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '$'):
		default:
			return false
		}
	}
	return true
}

// Ident quotes name where PostgreSQL needs it: anything but a lower-case
// plain word, and every reserved keyword.
func Ident(name string) string {
	if plainIdent(name) && !keywords[name] {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Idents quotes and joins names with ", ".
func Idents(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = Ident(n)
	}
	return strings.Join(q, ", ")
}

// Qualified is schema.name, each part quoted as needed.
func Qualified(schemaName, name string) string {
	return Ident(schemaName) + "." + Ident(name)
}

// TableName is the qualified name of a declared table.
func TableName(t *schema.Table) string { return Qualified(Schema, t.Name) }

// CurrentTenant is the SQL expression for the tenant bound to the current
// transaction. NULLIF makes "no tenant" read as NULL: a setting set with
// set_config(…, true) reads as ” for the rest of the session once its
// transaction ends, and ” must mean "no rows", never an error or all rows.
func CurrentTenant(m *schema.Model) string {
	return fmt.Sprintf("NULLIF(current_setting(%s, true), '')::uuid", schema.QuoteLiteral(m.Tenancy.Setting))
}

// TenantPredicate is the row filter of every tenant policy. The sub-select
// makes the planner evaluate the setting once per statement (an InitPlan),
// not once per row, and lets an index on the tenant column be used.
func TenantPredicate(m *schema.Model) string {
	return fmt.Sprintf("%s = (SELECT %s)", Ident(m.Tenancy.Column), CurrentTenant(m))
}
