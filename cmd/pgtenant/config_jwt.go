package main

import (
	"fmt"
	"time"

	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// maxJWTLeeway bounds JWT_LEEWAY: a larger skew would keep expired tokens
// alive for long.
const maxJWTLeeway = 5 * time.Minute

// jwtProblems checks the JWT settings that can be checked without reading
// files: one line per problem.
func (c Config) jwtProblems() []string {
	var problems []string
	switch {
	case c.JWTSecret != "" && c.JWTJWKSFile != "":
		problems = append(problems, "JWT_SECRET and JWT_JWKS_FILE are both set: use one, "+
			"an HS256 secret or a file of RS256/ES256 public keys")
	case c.JWTSecret != "" && len(c.JWTSecret) < tenant.MinJWTSecretBytes:
		problems = append(problems, fmt.Sprintf("JWT_SECRET: want at least %d bytes (e.g. `openssl rand -base64 48`), got %d",
			tenant.MinJWTSecretBytes, len(c.JWTSecret)))
	case c.JWTSecret == "" && c.JWTJWKSFile == "" && (c.JWTAudience != "" || c.JWTIssuer != ""):
		problems = append(problems, "JWT_AUDIENCE or JWT_ISSUER is set but JWT credentials are off: "+
			"set JWT_SECRET or JWT_JWKS_FILE, or unset them")
	}
	if c.JWTLeeway > maxJWTLeeway {
		problems = append(problems, fmt.Sprintf("JWT_LEEWAY: want at most %s, got %s", maxJWTLeeway, c.JWTLeeway))
	}
	if c.JWTTenantClaim == c.JWTRoleClaim {
		problems = append(problems, fmt.Sprintf("JWT_TENANT_CLAIM and JWT_ROLE_CLAIM are both %q: they must differ", c.JWTRoleClaim))
	}
	return problems
}

// jwtConfig returns what the resolver needs to accept JWTs whose role is
// one of roles, reading JWT_JWKS_FILE; nil when JWT credentials are off.
func (c Config) jwtConfig(roles []*schema.Role) (*tenant.JWTConfig, error) {
	if c.JWTSecret == "" && c.JWTJWKSFile == "" {
		return nil, nil
	}
	jc := &tenant.JWTConfig{
		TenantClaim: c.JWTTenantClaim, RoleClaim: c.JWTRoleClaim,
		Audience: c.JWTAudience, Issuer: c.JWTIssuer, Leeway: c.JWTLeeway,
	}
	for _, r := range roles {
		jc.Roles = append(jc.Roles, r.Name)
	}
	if c.JWTSecret != "" {
		jc.Secret = []byte(c.JWTSecret)
	}
	if c.JWTJWKSFile != "" {
		keys, err := tenant.LoadJWKS(c.JWTJWKSFile)
		if err != nil {
			return nil, fmt.Errorf("JWT_JWKS_FILE: %w", err)
		}
		jc.Keys = keys
	}
	if err := jc.Validate(); err != nil {
		return nil, fmt.Errorf("JWT settings: %w", err)
	}
	return jc, nil
}
