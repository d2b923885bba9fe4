package ddl

import (
	"pgtenant/schema"
)

// registry returns the changes that create the internal schema: the tenant
// registry and the API credentials (DESIGN.md §4). Only the owner can read
// the tables; the declared roles (held by the API's login) may only call the
// two functions that registryFunctions creates.
func registry(m *schema.Model) []Change {
	return append([]Change{{
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
		Up: []Stmt{fixed{`CREATE TABLE pgtenant.tenants (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    identifier text NOT NULL,
    name text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    rate_limit_rps double precision,
    rate_limit_burst integer,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_identifier_key UNIQUE (identifier),
    CONSTRAINT tenants_identifier_check CHECK (identifier ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT tenants_name_check CHECK (name <> ''),
    CONSTRAINT tenants_rate_limit_rps_check CHECK (rate_limit_rps > 0),
    CONSTRAINT tenants_rate_limit_burst_check CHECK (rate_limit_burst > 0)
);
COMMENT ON COLUMN pgtenant.tenants.rate_limit_rps IS 'Requests per second the API allows this tenant; NULL: the server''s default.';
COMMENT ON COLUMN pgtenant.tenants.rate_limit_burst IS 'Bucket size of the tenant''s rate limit; NULL: the server''s default.';`}},
		Down: []Stmt{DropTable{Table: registryTable}},
	}, {
		Object:  "table pgtenant.tokens",
		Comment: "API tokens. Only a SHA-256 hash is stored; the token itself is shown once, at creation.",
		Up: []Stmt{fixed{`CREATE TABLE pgtenant.tokens (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL,
    token_hash bytea NOT NULL,
    role text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT tokens_pkey PRIMARY KEY (id),
    CONSTRAINT tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT tokens_token_hash_check CHECK (octet_length(token_hash) = 32),
    CONSTRAINT tokens_name_check CHECK (name <> '')
);`}},
		Down: []Stmt{DropTable{Table: "pgtenant.tokens"}},
	}, {
		Object:  "table pgtenant.token_tenants",
		Comment: "The tenants each token may act for.",
		Up: []Stmt{fixed{`CREATE TABLE pgtenant.token_tenants (
    token_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    CONSTRAINT token_tenants_pkey PRIMARY KEY (token_id, tenant_id),
    CONSTRAINT token_tenants_token_id_fkey FOREIGN KEY (token_id) REFERENCES pgtenant.tokens (id) ON DELETE CASCADE,
    CONSTRAINT token_tenants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES pgtenant.tenants (id) ON DELETE CASCADE
);
CREATE INDEX token_tenants_tenant_id_idx ON pgtenant.token_tenants (tenant_id);`}},
		Down: []Stmt{DropTable{Table: "pgtenant.token_tenants"}},
	}, auditLog(m)}, append(registryFunctions(m), registryNotify()...)...)
}

// registryFunctions returns the two functions through which the API's login
// reads the registry, and the schema USAGE needed to call them. Every
// declared role may execute them: the login holds those roles, never the
// owner's rights.
func registryFunctions(m *schema.Model) []Change {
	roles := roleList(m)
	create := func(sql, fn string) []Stmt {
		out := []Stmt{fixed{sql}, Revoke{On: "FUNCTION " + fn, From: []Role{PublicRole}}}
		if len(roles) > 0 {
			out = append(out, Grant{Privileges: []Privilege{{Type: "EXECUTE"}}, On: "FUNCTION " + fn, To: Roles(roles...)})
		}
		return out
	}
	out := []Change{{
		Object: "function pgtenant.tenant_directory",
		Comment: "Every tenant, as the API needs it to resolve the tenant header and limit its rate: id, identifier,\n" +
			"active, and its own rate limit (NULL: the server's default).",
		Up: create(`-- SECURITY DEFINER: it runs with the owner's rights, so the roles the API logs in with need (and get) no
-- privilege on the registry tables: they can call these two functions and never read a token hash. The
-- search_path is pinned and every name qualified, so a caller cannot slip in objects of its own. PUBLIC may
-- not execute them; only the declared roles may.
CREATE FUNCTION pgtenant.tenant_directory()
    RETURNS TABLE (id uuid, identifier text, is_active boolean, rate_limit_rps double precision, rate_limit_burst integer)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id, t.identifier, t.is_active, t.rate_limit_rps, t.rate_limit_burst
      FROM pgtenant.tenants AS t ORDER BY t.identifier
$$;`, tenantDirectoryFunc),
		Down: []Stmt{DropFunction{Signature: tenantDirectoryFunc}},
	}, {
		Object:  "function pgtenant.lookup_token",
		Comment: "The live (not revoked) token with this SHA-256 hash and the ids of its tenants; records its last use.",
		Up: create(`-- SECURITY DEFINER, as above: the caller learns what a token it holds may do, never another token's hash.
CREATE FUNCTION pgtenant.lookup_token(p_token_hash bytea)
    RETURNS TABLE (id uuid, name text, role text, tenants uuid[])
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE pgtenant.tokens AS k
       SET last_used_at = now()
     WHERE k.token_hash = p_token_hash AND k.revoked_at IS NULL
    RETURNING k.id, k.name, k.role,
              ARRAY(SELECT tt.tenant_id FROM pgtenant.token_tenants AS tt
                     WHERE tt.token_id = k.id ORDER BY tt.tenant_id)
$$;`, lookupTokenFunc),
		Down: []Stmt{DropFunction{Signature: lookupTokenFunc}},
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
		Up: []Stmt{fixed{`-- pg_notify is sent at COMMIT (never for a rolled-back change), and once per transaction however many
-- statements call it. Servers that miss it (no LISTEN connection at that moment) catch up within
-- REGISTRY_CACHE_TTL.
CREATE FUNCTION pgtenant.notify_registry_change()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_notify('` + notifyChannel + `', '` + notifyPayload + `');
    RETURN NULL;
END
$$;`}, Revoke{On: "FUNCTION " + notifyFunc, From: []Role{PublicRole}}},
		Down: []Stmt{DropFunction{Signature: notifyFunc}},
	}, {
		Object: "triggers on pgtenant.tenants, pgtenant.tokens, pgtenant.token_tenants",
		Comment: "Deactivating, renaming or deleting a tenant, changing its rate limit, revoking, changing or deleting a\n" +
			"token, or changing the tenants a token may act for, notifies running servers.",
		Up: []Stmt{fixed{`-- Statement-level: one notification per statement, not per row. Only the columns the server reads fire it:
-- pgtenant.lookup_token() updates tokens.last_used_at on every lookup, and that must not empty every
-- server's caches.
CREATE TRIGGER tenants_notify
    AFTER UPDATE OF id, identifier, is_active, rate_limit_rps, rate_limit_burst OR DELETE OR TRUNCATE ON pgtenant.tenants
    FOR EACH STATEMENT EXECUTE FUNCTION pgtenant.notify_registry_change();
CREATE TRIGGER tokens_notify
    AFTER UPDATE OF id, name, token_hash, role, revoked_at OR DELETE OR TRUNCATE ON pgtenant.tokens
    FOR EACH STATEMENT EXECUTE FUNCTION pgtenant.notify_registry_change();
CREATE TRIGGER token_tenants_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON pgtenant.token_tenants
    FOR EACH STATEMENT EXECUTE FUNCTION pgtenant.notify_registry_change();`}},
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
