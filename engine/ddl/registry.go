package ddl

import (
	"pgtenant/schema"
)

// registry returns the changes that create the internal schema: the tenant
// registry and the API credentials (DESIGN.md §4). Only the owner can read
// the tables; the declared roles (held by the API's login) may only call the
// two functions that registryFunctions creates.
//
// On Citus the tenant registry and the credentials are reference tables: every tenant table's foreign key to
// pgtenant.tenants needs its target to be one (a distributed table may reference only a distributed or a
// reference table), and token_tenants references both. The functions read and write them from the coordinator,
// where the API connects. The audit log stays a plain table on the coordinator (see its Registry statement), and
// there are no notification triggers: a trigger on a reference table fires on its shards, so a NOTIFY never
// reaches the servers listening on the coordinator; they catch up within REGISTRY_CACHE_TTL instead.
func registry(m *schema.Model) []Change {
	out := registryTables(m)
	if m.Tenancy.Citus() {
		for i, table := range []string{registryTable, "pgtenant.tokens", "pgtenant.token_tenants"} {
			out[i+1].Up = append(out[i+1].Up, ReferenceTable{Table: table})
		}
		out[3].Up = append(out[3].Up, citusTokenTenantsFKs()...)
		return append(append(out, registryFunctions(m)...), setTenant(m))
	}
	return append(append(out, registryFunctions(m)...), registryNotify()...)
}

// setTenant creates pgtenant.set_tenant, through which the server binds a request's transaction to its tenant on
// Citus, and lets the declared roles call it.
func setTenant(m *schema.Model) Change {
	up := []Stmt{Registry{Object: RegistrySetTenant, Setting: m.Tenancy.Setting},
		Revoke{On: "FUNCTION " + setTenantFunc, From: []Role{PublicRole}}}
	if roles := roleList(m); len(roles) > 0 {
		up = append(up, Grant{Privileges: []Privilege{{Type: "EXECUTE"}}, On: "FUNCTION " + setTenantFunc, To: Roles(roles...)})
	}
	return Change{
		Object: "function pgtenant.set_tenant",
		Comment: "Citus: binds the transaction to a tenant with SET LOCAL, which Citus forwards to the workers, where the\n" +
			"policies are checked. The server calls it first in every request's transaction.",
		Up:   up,
		Down: []Stmt{DropFunction{Signature: setTenantFunc}},
	}
}

// citusTokenTenantsFKs are token_tenants' references (tokenTenantsFKs), added once it is a reference table.
func citusTokenTenantsFKs() []Stmt {
	fk := func(col, ref string) Stmt {
		return AddConstraint{Table: "pgtenant.token_tenants", Constraint: Constraint{Name: "token_tenants_" + col + "_fkey",
			ForeignKey: &ForeignKey{Columns: []string{col}, RefTable: ref, RefColumns: []string{"id"}, OnDelete: schema.Cascade}}}
	}
	return []Stmt{fk("token_id", "pgtenant.tokens"), fk("tenant_id", registryTable)}
}

// registryTables are the changes that create the registry schema and its tables.
func registryTables(m *schema.Model) []Change {
	return []Change{{
		Object:  "schema " + RegistrySchema,
		Comment: "Internal schema: the tenant registry and API credentials. Never exposed by the API.",
		Up: []Stmt{CreateSchema{Name: RegistrySchema},
			Comment{On: "SCHEMA " + RegistrySchema, Text: "pgtenant internals: tenant registry and API credentials. Not exposed by the API."}},
		Down: []Stmt{DropSchema{Name: RegistrySchema}},
	}, {
		Object: "table pgtenant.tenants",
		Comment: "The tenant registry. Identifiers are lower-case slugs; ids are what tenant columns hold.\n" +
			"Tenant tables reference it, so a tenant with rows cannot be deleted: deactivate it instead.\n" +
			"rate_limit_rps and rate_limit_burst override the server's rate limit for one tenant (tenant set-limit).",
		Up:   []Stmt{Registry{Object: RegistryTenants}},
		Down: []Stmt{DropTable{Table: registryTable}},
	}, {
		Object:  "table pgtenant.tokens",
		Comment: "API tokens. Only a SHA-256 hash is stored; the token itself is shown once, at creation.",
		Up:      []Stmt{Registry{Object: RegistryTokens}},
		Down:    []Stmt{DropTable{Table: "pgtenant.tokens"}},
	}, {
		Object:  "table pgtenant.token_tenants",
		Comment: "The tenants each token may act for.",
		Up:      []Stmt{Registry{Object: RegistryTokenTenants, Citus: m.Tenancy.Citus()}},
		Down:    []Stmt{DropTable{Table: "pgtenant.token_tenants"}},
	}, auditLog(m)}
}

// registryFunctions returns the two functions through which the API's login
// reads the registry, and the schema USAGE needed to call them. Every
// declared role may execute them: the login holds those roles, never the
// owner's rights.
func registryFunctions(m *schema.Model) []Change {
	roles := roleList(m)
	create := func(object, fn string) []Stmt {
		out := []Stmt{Registry{Object: object}, Revoke{On: "FUNCTION " + fn, From: []Role{PublicRole}}}
		if len(roles) > 0 {
			out = append(out, Grant{Privileges: []Privilege{{Type: "EXECUTE"}}, On: "FUNCTION " + fn, To: Roles(roles...)})
		}
		return out
	}
	out := []Change{{
		Object: "function pgtenant.tenant_directory",
		Comment: "Every tenant, as the API needs it to resolve the tenant header and limit its rate: id, identifier,\n" +
			"active, and its own rate limit (NULL: the server's default).",
		Up:   create(RegistryTenantDirectory, tenantDirectoryFunc),
		Down: []Stmt{DropFunction{Signature: tenantDirectoryFunc}},
	}, {
		Object:  "function pgtenant.lookup_token",
		Comment: "The live (not revoked) token with this SHA-256 hash and the ids of its tenants; records its last use.",
		Up:      create(RegistryLookupToken, lookupTokenFunc),
		Down:    []Stmt{DropFunction{Signature: lookupTokenFunc}},
	}}
	if len(roles) > 0 {
		out = append(out, Change{
			Object: "schema " + RegistrySchema,
			Comment: "The declared roles may look up names in the internal schema, to call the two functions above.\n" +
				"Its tables stay unreadable to them: USAGE grants no privilege on what the schema holds.",
			Up:   []Stmt{schemaUsage(roles, true)},
			Down: []Stmt{schemaUsage(roles, false)},
		})
	}
	return out
}

// notifyChannel is the channel running servers LISTEN on; notifyPayload
// is what the registry's triggers send on it. Any payload but "reload"
// drops a server's tenant and token caches.
const (
	notifyChannel = "pgtenant"
	notifyPayload = "registry"
)

// registryNotify returns the triggers that announce a change to what
// running servers cache (the rows pgtenant.tenant_directory() and
// pgtenant.lookup_token read), so that they refuse a deactivated tenant or
// a revoked token on the next request instead of after REGISTRY_CACHE_TTL.
func registryNotify() []Change {
	return []Change{{
		Object:  "function pgtenant.notify_registry_change",
		Comment: "Tells running servers that the registry changed: NOTIFY pgtenant, 'registry' drops their tenant and token caches.",
		Up:      []Stmt{Registry{Object: RegistryNotifyFunction}, Revoke{On: "FUNCTION " + notifyFunc, From: []Role{PublicRole}}},
		Down:    []Stmt{DropFunction{Signature: notifyFunc}},
	}, {
		Object: "triggers on pgtenant.tenants, pgtenant.tokens, pgtenant.token_tenants",
		Comment: "Deactivating, renaming or deleting a tenant, changing its rate limit, revoking, changing or deleting a\n" +
			"token, or changing the tenants a token may act for, notifies running servers.",
		Up: []Stmt{Registry{Object: RegistryNotifyTriggers}},
		Down: []Stmt{DropTrigger{Name: "token_tenants_notify", Table: "pgtenant.token_tenants"},
			DropTrigger{Name: "tokens_notify", Table: "pgtenant.tokens"},
			DropTrigger{Name: "tenants_notify", Table: registryTable}},
	}}
}

// The registry functions the declared roles may execute, by signature, and the trigger function.
const (
	tenantDirectoryFunc = "pgtenant.tenant_directory()"
	lookupTokenFunc     = "pgtenant.lookup_token(bytea)"
	notifyFunc          = "pgtenant.notify_registry_change()"
	setTenantFunc       = "pgtenant.set_tenant(uuid)"
)

// schemaUsage grants (or revokes) USAGE on the registry schema to the roles.
func schemaUsage(roles []string, grant bool) Stmt {
	usage := []Privilege{{Type: "USAGE"}}
	if grant {
		return Grant{Privileges: usage, On: "SCHEMA " + RegistrySchema, To: Roles(roles...)}
	}
	return Revoke{Privileges: usage, On: "SCHEMA " + RegistrySchema, From: Roles(roles...)}
}

// roleList names the declared roles, in declaration order.
func roleList(m *schema.Model) []string {
	var roles []string
	for _, r := range m.Roles {
		roles = append(roles, r.Name)
	}
	return roles
}

// registryTable is the tenant registry, which every tenant column references (its id).
const registryTable = "pgtenant.tenants"
