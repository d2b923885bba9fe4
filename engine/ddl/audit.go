package ddl

import (
	"fmt"

	"pgtenant/schema"
)

// AuditInsert is the statement the API adds to the transaction of every write request, in the batch it already
// sends (engine/pgtx Scope.Audit), so that the record commits exactly when the write does and costs no round
// trip. Its arguments are the request id, the credential's name, the role, the HTTP method and the table, in
// that order: never row data or bind values. tenant_id comes from the column's default, the tenant the
// transaction is bound to. rows stays NULL: a statement after the write in the batch cannot see its row count,
// and the write's own statement is the query builder's, which knows nothing of the registry.
const AuditInsert = `INSERT INTO pgtenant.audit_log (request_id, credential, role, method, table_name) VALUES ($1, $2, $3, $4, $5)`

// auditLog returns the change that creates pgtenant.audit_log, the append-only record of write requests. It
// is tenant-scoped like a tenant table (RLS enabled and forced, a RESTRICTIVE tenant policy), but the declared
// roles that may write may only INSERT into it, and only rows of their own tenant; read-only roles get nothing.
// The owner, who created it, reads every tenant's rows.
func auditLog(m *schema.Model) Change {
	up := []Stmt{Registry{Object: RegistryAuditLog, CurrentTenant: CurrentTenant(m), Citus: m.Tenancy.Citus()}}
	up = append(up, EnableRowSecurity(auditTable)...)
	up = append(up, Note{Text: "FORCE applies the policies to the owner too: it reads every tenant's rows through audit_owner_read, and\n" +
		"the tenant policy names only the declared roles, so it does not narrow that."},
		CreatePolicy{Name: "audit_owner_read", Table: auditTable, As: schema.Permissive, For: schema.SelectRows,
			To: []Role{CurrentUser}, Using: "true"})
	up = append(up, auditAccess(m)...)
	return Change{
		Object: "table pgtenant.audit_log",
		Comment: "The audit log: one row per committed write request, in the write's own transaction. Tenant-scoped under\n" +
			"forced RLS; the declared roles may only insert their own tenant's rows; the owner reads it.",
		Up:   up,
		Down: []Stmt{DropTable{Table: auditTable}},
	}
}

// auditWriters are the declared roles that can write, so have something to record.
func auditWriters(m *schema.Model) []string {
	var roles []string
	for _, r := range m.Roles {
		if r.Has(schema.Insert) || r.Has(schema.Update) || r.Has(schema.Delete) {
			roles = append(roles, r.Name)
		}
	}
	return roles
}

// auditTable is the audit log's name in SQL.
const auditTable = "pgtenant.audit_log"

// auditPolicies are the audit log's tenant policy and insert policy for the roles that write; none when no role
// writes.
func auditPolicies(m *schema.Model) []*schema.Policy {
	roles := auditWriters(m)
	if len(roles) == 0 {
		return nil
	}
	pred := fmt.Sprintf("tenant_id = (SELECT %s)", CurrentTenant(m))
	return []*schema.Policy{
		{Name: schema.IsolationPolicy, Table: auditTable, To: roles, For: schema.All, As: schema.Restrictive,
			Using: pred, Check: pred},
		{Name: "audit_insert", Table: auditTable, To: roles, For: schema.InsertRows, As: schema.Permissive, Check: pred},
	}
}

// auditAccess is what lets the writing roles append to the audit log: the tenant policy, the insert policy and
// the column grant; none when no role writes.
func auditAccess(m *schema.Model) []Stmt {
	ps := auditPolicies(m)
	if len(ps) == 0 {
		return nil
	}
	return []Stmt{
		Note{Text: "Tenant isolation. RESTRICTIVE: ANDed with every other policy, so nothing can widen it."},
		PolicyStmt(ps[0], auditTable),
		Note{Text: "The roles that may write append records of their own tenant, and nothing else: no policy lets them read,\n" +
			"change or delete one, and they hold no privilege to try."},
		PolicyStmt(ps[1], auditTable),
		Grant{Privileges: []Privilege{{Type: "INSERT", Columns: []string{"request_id", "credential", "role", "method", "table_name", "rows"}}},
			On: "TABLE " + auditTable, To: Roles(ps[0].To...)},
	}
}

// revokeAuditAccess undoes auditAccess.
func revokeAuditAccess(m *schema.Model) []Stmt {
	roles := auditWriters(m)
	if len(roles) == 0 {
		return nil
	}
	return []Stmt{DropPolicy{Name: schema.IsolationPolicy, Table: auditTable}, DropPolicy{Name: "audit_insert", Table: auditTable},
		Revoke{On: "TABLE " + auditTable, From: Roles(roles...)}}
}
