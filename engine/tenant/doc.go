// Package tenant decides, for each HTTP request, who is calling and which
// tenant the request acts for: the credential from the Authorization header
// and the tenant from the tenant header, checked against the tenant registry.
// A credential is a registry token (`Authorization: Token`) or, when
// configured, a JSON Web Token (`Authorization: Bearer`, jwt.go).
//
// Input is an *http.Request; output is a Binding (tenant and credential) in
// the request's context, or an error that says why the request is refused.
// Lookups go through a Store (implemented over PostgreSQL by
// engine/registry) behind caches, so that refusals that can be decided from
// cache take no database connection. It must not import pgx.
package tenant
