// Package registry reads and writes the tenant registry and API tokens that
// the first migration creates in the pgtenant schema (DESIGN.md §4).
//
// Two audiences, two kinds of connection:
//
//   - Store implements tenant.Store for the API server. It connects as the
//     app login, which may not read the registry tables; it calls the
//     SECURITY DEFINER functions pgtenant.tenant_directory() and
//     pgtenant.lookup_token(bytea) instead, so a token hash never reaches it.
//   - CreateTenant, ListTenants, FindTenant, SetTenantActive, CreateToken,
//     ListTokens and RevokeToken are the administrator's operations behind
//     `pgtenant tenant` and `pgtenant token`. They run as the table owner
//     (ADMIN_DATABASE_URL). The registry's triggers announce deactivations
//     and revocations to running servers (NOTIFY pgtenant, 'registry').
//
// A token is shown once, by CreateToken; only its SHA-256 hash
// (tenant.HashToken) is stored. The package imports pgx, engine/tenant,
// schema and the standard library; it must not import net/http itself.
package registry
