package ddl

// The SQL of pgtenant's own schema: the tenant registry, the API credentials, the audit log, and the functions
// and triggers over them (DESIGN.md §4). It is the same for every declaration but for the tenant setting the audit
// log's default reads, so it is held here as text, beside the rest of the writer, and written by Render for a
// Registry statement.

// The objects of the registry a Registry statement creates.
const (
	RegistryTenants         = "pgtenant.tenants"
	RegistryTokens          = "pgtenant.tokens"
	RegistryTokenTenants    = "pgtenant.token_tenants"
	RegistryAuditLog        = "pgtenant.audit_log"
	RegistryTenantDirectory = "pgtenant.tenant_directory"
	RegistryLookupToken     = "pgtenant.lookup_token"
	RegistryNotifyFunction  = "pgtenant.notify_registry_change"
	RegistryNotifyTriggers  = "pgtenant registry triggers"
	RegistrySetTenant       = "pgtenant.set_tenant"
)

// auditTenantFK is the audit log's reference to the tenant registry, which the Citus profile leaves out.
const auditTenantFK = ",\n    CONSTRAINT audit_log_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES pgtenant.tenants (id)"

// tokenTenantsFKs are token_tenants' references, which the Citus profile adds after making it a reference table
// (citusTokenTenantsFKs): a CREATE TABLE that references a reference table makes Citus convert the new table,
// and it sends the whole query string to the workers to do so, which fails when a migration runs as one string
// of many statements ("cannot insert multiple commands into a prepared statement").
const tokenTenantsFKs = `,
    CONSTRAINT token_tenants_token_id_fkey FOREIGN KEY (token_id) REFERENCES pgtenant.tokens (id) ON DELETE CASCADE,
    CONSTRAINT token_tenants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES pgtenant.tenants (id) ON DELETE CASCADE`

// registrySQL is the statement text of each registry object; the audit log's has one %s, the tenant expression
// of its tenant_id default.
var registrySQL = map[string]string{
	RegistryTenants: `CREATE TABLE pgtenant.tenants (
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
	RegistryTokens: `CREATE TABLE pgtenant.tokens (
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
	RegistryTokenTenants: `CREATE TABLE pgtenant.token_tenants (
    token_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    CONSTRAINT token_tenants_pkey PRIMARY KEY (token_id, tenant_id),
    CONSTRAINT token_tenants_token_id_fkey FOREIGN KEY (token_id) REFERENCES pgtenant.tokens (id) ON DELETE CASCADE,
    CONSTRAINT token_tenants_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES pgtenant.tenants (id) ON DELETE CASCADE
);
CREATE INDEX token_tenants_tenant_id_idx ON pgtenant.token_tenants (tenant_id);`,
	RegistryAuditLog: `CREATE TABLE pgtenant.audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id uuid NOT NULL DEFAULT %s,
    at timestamptz NOT NULL DEFAULT now(),
    request_id text,
    credential text,
    role text,
    method text,
    table_name text,
    rows integer,
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES pgtenant.tenants (id)
);
COMMENT ON TABLE pgtenant.audit_log IS 'One row per committed write request (POST, PATCH, DELETE) of the API: who, what table, when. Never row data or bind values.';
CREATE INDEX audit_log_tenant_id_at_idx ON pgtenant.audit_log (tenant_id, at);`,
	RegistryTenantDirectory: `-- SECURITY DEFINER: it runs with the owner's rights, so the roles the API logs in with need (and get) no
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
$$;`,
	RegistryLookupToken: `-- SECURITY DEFINER, as above: the caller learns what a token it holds may do, never another token's hash.
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
$$;`,
	RegistryNotifyFunction: `-- pg_notify is sent at COMMIT (never for a rolled-back change), and once per transaction however many
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
$$;`,
	RegistrySetTenant: `-- Citus checks the policies on the workers, and forwards a setting to them only as SET LOCAL, and only while
-- citus.propagate_set_commands is 'local'; it never forwards set_config() (CITUS.md §0.3). The API calls this
-- first in each request's transaction, with the tenant as a bound uuid (the cast keeps anything else out). Both
-- settings are transaction-local: nothing carries over to the next request on a pooled connection.
CREATE FUNCTION pgtenant.set_tenant(p_tenant uuid)
    RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SET LOCAL citus.propagate_set_commands = 'local';
    EXECUTE format(%s, coalesce(p_tenant::text, ''));
END
$$;`,
	RegistryNotifyTriggers: `-- Statement-level: one notification per statement, not per row. Only the columns the server reads fire it:
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
}
