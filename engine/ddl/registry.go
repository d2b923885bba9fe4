package ddl

import (
	"fmt"

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
		Up: `CREATE SCHEMA pgtenant;
COMMENT ON SCHEMA pgtenant IS 'pgtenant internals: tenant registry and API credentials. Not exposed by the API.';`,
		Down: `DROP SCHEMA pgtenant;`,
	}, {
		Object: "table pgtenant.tenants",
		Comment: "The tenant registry. Identifiers are lower-case slugs; ids are what tenant columns hold.\n" +
			"Tenant tables reference it, so a tenant with rows cannot be deleted: deactivate it instead.\n" +
			"rate_limit_rps and rate_limit_burst override the server's rate limit for one tenant (tenant set-limit).",
		Up: `CREATE TABLE pgtenant.tenants (
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
COMMENT ON COLUMN pgtenant.tenants.rate_limit_burst IS 'Bucket size of the tenant''s rate limit; NULL: the server''s default.';`,
		Down: `DROP TABLE pgtenant.tenants;`,
	}, {
		Object:  "table pgtenant.tokens",
		Comment: "API tokens. Only a SHA-256 hash is stored; the token itself is shown once, at creation.",
		Up: `CREATE TABLE pgtenant.tokens (
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
);`,
		Down: `DROP TABLE pgtenant.tokens;`,
	}, {
		Object:  "table pgtenant.token_tenants",
		Comment: "The tenants each token may act for.",
		Up: `CREATE TABLE pgtenant.token_tenants (
    token_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    CONSTRAINT token_tenants_pkey PRIMARY KEY (token_id, tenant_id),
    CONSTRAINT token_tenants_token_id_fkey FOREIGN KEY (token_id) REFERENCES pgtenant.tokens (id) ON DELETE CASCADE,
    CONSTRAINT token_tenants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES pgtenant.tenants (id) ON DELETE CASCADE
);
CREATE INDEX token_tenants_tenant_id_idx ON pgtenant.token_tenants (tenant_id);`,
		Down: `DROP TABLE pgtenant.token_tenants;`,
	}, auditLog(m)}, append(registryFunctions(m), registryNotify()...)...)
}

// registryFunctions returns the two functions through which the API's login
// reads the registry, and the schema USAGE needed to call them. Every
// declared role may execute them: the login holds those roles, never the
// owner's rights.
func registryFunctions(m *schema.Model) []Change {
	roles := roleList(m)
	grant := func(fn string) string {
		s := fmt.Sprintf("REVOKE ALL ON FUNCTION %s FROM PUBLIC;", fn)
		if len(roles) > 0 {
			s += fmt.Sprintf("\nGRANT EXECUTE ON FUNCTION %s TO %s;", fn, Idents(roles))
		}
		return s
	}
	out := []Change{{
		Object: "function pgtenant.tenant_directory",
		Comment: "Every tenant, as the API needs it to resolve the tenant header and limit its rate: id, identifier,\n" +
			"active, and its own rate limit (NULL: the server's default).",
		Up: `-- SECURITY DEFINER: it runs with the owner's rights, so the roles the API logs in with need (and get) no
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
$$;
` + grant(tenantDirectoryFunc),
		Down: `DROP FUNCTION pgtenant.tenant_directory();`,
	}, {
		Object:  "function pgtenant.lookup_token",
		Comment: "The live (not revoked) token with this SHA-256 hash and the ids of its tenants; records its last use.",
		Up: `-- SECURITY DEFINER, as above: the caller learns what a token it holds may do, never another token's hash.
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
$$;
` + grant(lookupTokenFunc),
		Down: `DROP FUNCTION pgtenant.lookup_token(bytea);`,
	}}
	if len(roles) > 0 {
		out = append(out, Change{
			Object: "schema " + RegistrySchema,
			Comment: "The declared roles may look up names in the internal schema, to call the two functions above.\n" +
				"Its tables stay unreadable to them: USAGE grants no privilege on what the schema holds.",
			Up:   fmt.Sprintf("GRANT USAGE ON SCHEMA pgtenant TO %s;", Idents(roles)),
			Down: fmt.Sprintf("REVOKE USAGE ON SCHEMA pgtenant FROM %s;", Idents(roles)),
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
		Up: `-- pg_notify is sent at COMMIT (never for a rolled-back change), and once per transaction however many
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
$$;
REVOKE ALL ON FUNCTION pgtenant.notify_registry_change() FROM PUBLIC;`,
		Down: `DROP FUNCTION pgtenant.notify_registry_change();`,
	}, {
		Object: "triggers on pgtenant.tenants, pgtenant.tokens, pgtenant.token_tenants",
		Comment: "Deactivating, renaming or deleting a tenant, changing its rate limit, revoking, changing or deleting a\n" +
			"token, or changing the tenants a token may act for, notifies running servers.",
		Up: `-- Statement-level: one notification per statement, not per row. Only the columns the server reads fire it:
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
    FOR EACH STATEMENT EXECUTE FUNCTION pgtenant.notify_registry_change();`,
		Down: `DROP TRIGGER token_tenants_notify ON pgtenant.token_tenants;
DROP TRIGGER tokens_notify ON pgtenant.tokens;
DROP TRIGGER tenants_notify ON pgtenant.tenants;`,
	}}
}

// The registry functions the declared roles may execute, by signature.
const (
	tenantDirectoryFunc = "pgtenant.tenant_directory()"
	lookupTokenFunc     = "pgtenant.lookup_token(bytea)"
)

// roleList names the declared roles, in declaration order.
func roleList(m *schema.Model) []string {
	var roles []string
	for _, r := range m.Roles {
		roles = append(roles, r.Name)
	}
	return roles
}

// registryKey is the foreign key target of every tenant column.
const registryKey = "pgtenant.tenants (id)"
