package ddl

// registry returns the changes that create the internal schema: the tenant
// registry and the API credentials (DESIGN.md §4). Only the owner can reach
// them; the API reads them through its own login role's grants.
func registry() []Change {
	return []Change{{
		Object:  "schema " + RegistrySchema,
		Comment: "Internal schema: the tenant registry and API credentials. Never exposed by the API.",
		Up: `CREATE SCHEMA pgtenant;
COMMENT ON SCHEMA pgtenant IS 'pgtenant internals: tenant registry and API credentials. Not exposed by the API.';`,
		Down: `DROP SCHEMA pgtenant;`,
	}, {
		Object: "table pgtenant.tenants",
		Comment: "The tenant registry. Identifiers are lower-case slugs; ids are what tenant columns hold.\n" +
			"Tenant tables reference it, so a tenant with rows cannot be deleted: deactivate it instead.",
		Up: `CREATE TABLE pgtenant.tenants (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    identifier text NOT NULL,
    name text NOT NULL,
    is_active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_identifier_key UNIQUE (identifier),
    CONSTRAINT tenants_identifier_check CHECK (identifier ~ '^[a-z][a-z0-9_]{0,62}$'),
    CONSTRAINT tenants_name_check CHECK (name <> '')
);`,
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
	}}
}

// registryKey is the foreign key target of every tenant column.
const registryKey = "pgtenant.tenants (id)"
