package main

import (
	"io"
	"slices"
	"strings"
)

// setting is one setting pgtenant reads, as an environment variable and as a flag (flagName) of each command that
// reads it; the flag wins. settings is the one list of them: the usage texts print it, the commands' flags come from
// it, TestSettings_Read checks that LoadConfig reads each, and TestREADME_Settings that README's Configuration
// table has the same names.
type setting struct {
	name string
	def  string // the default, as a user would write it; "" for none
	doc  string // what it is, in a few words
}

var settings = []setting{
	{"POLICIES_FILE", "policies.hcl", "the declaration: a file, or a directory of *.hcl files"},
	{"MIGRATIONS_DIR", "migrations", "the generated migrations"},
	{"ADMIN_DATABASE_URL", "", "the role that owns the tables (migrations, registry), not the app login"},
	{"PGTENANT_DATA_DIR", ".pgtenant", "where `dev` keeps its private PostgreSQL"},
	{"DATABASE_URL", "", "the API's login: not superuser, no BYPASSRLS, owns nothing, holds the declared roles"},
	{"LISTEN_ADDR", ":3000; dev: localhost:3000", "the API's address"},
	{"API_BASE_PATH", "/api/v1", "the path the API is served under"},
	{"REQUIRE_TENANT", "true", "refuse requests without the tenant header (403); keep it on in production"},
	{"DEFAULT_TENANT_ID", "", "the tenant of requests without the header; only with REQUIRE_TENANT=false"},
	{"TENANT_HEADER", "the declaration's tenancy.header, X-Tenant-ID", "the request header naming the tenant"},
	{"MAX_ROWS", "1000", "the most rows one read returns; 0 for no cap"},
	{"STATEMENT_TIMEOUT", "10s", "statement_timeout of every request (504 when it passes)"},
	{"REQUEST_TIMEOUT", "30s", "how long a request may wait for its answer from the database, a pool connection included (504 when it passes); 0 for never"},
	{"WRITE_TIMEOUT", "30s", "how long writing an answer may make no progress before it is cut off; 0 for never"},
	{"MAX_BODY_BYTES", "1048576", "larger request bodies get 413"},
	{"MAX_EMBED_DEPTH", "5", "the deepest nesting of embedded resources in a select (400 PGRST100 deeper)"},
	{"CACHE_CONTROL", "private, no-store", "the Cache-Control of every API answer; must keep private or no-store"},
	{"CORS_ALLOWED_ORIGINS", "", "comma-separated browser origins allowed to call the API (* for any)"},
	{"REGISTRY_CACHE_TTL", "5s", "how long tenants and tokens are trusted between registry reads"},
	{"DB_POOL_SIZE", "max(4, cores)", "connections in the API's pool"},
	{"DB_EXEC_MODE", "cache_statement", "how statements are sent; exec behind PgBouncer in transaction mode"},
	{"DATABASE_LISTEN_URL", "DATABASE_URL", "the connection that LISTENs for NOTIFY pgtenant"},
	{"LOG_FORMAT", "json; dev: text", "json or text"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"ADMIN_LISTEN_ADDR", "127.0.0.1:3001", "the admin listener: /metrics, /healthz, /readyz"},
	{"RATE_LIMIT_RPS", "0, off", "the default per-tenant rate limit, in requests per second"},
	{"RATE_LIMIT_BURST", "RATE_LIMIT_RPS rounded up", "the rate limit's bucket size"},
	{"AUTH_FAILURE_RPS", "1", "failed authentications per second each client address may make (429 over it); 0: off"},
	{"AUTH_FAILURE_BURST", "20", "failed authentications a client address may make at once"},
	{"TRUSTED_PROXIES", "", "proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client"},
	{"SLOW_REQUEST_THRESHOLD", "1s", "slower requests are logged at warn; 0 turns it off"},
	{"JWT_SECRET", "", "accept HS256 JWTs signed with this secret (at least 32 bytes)"},
	{"JWT_JWKS_FILE", "", "accept RS256/ES256 JWTs signed by the keys of this JSON Web Key Set file"},
	{"JWT_TENANT_CLAIM", "tenant_id", "the JWT claim naming the tenant(s)"},
	{"JWT_ROLE_CLAIM", "role", "the JWT claim naming the role"},
	{"JWT_AUDIENCE", "", "when set, a JWT's aud must contain it"},
	{"JWT_ISSUER", "", "when set, a JWT's iss must equal it"},
	{"JWT_LEEWAY", "30s", "clock skew allowed on exp, nbf and iat; at most 5m"},
	{"BACKUP_KEY", "", "the secret (at least 32 bytes) that authenticates backups with an HMAC"},
	{"DEV_DATABASE_URL", "", "a server where throwaway databases may be created; unset: a private throwaway server"},
	{"TMPDIR", "/dev/shm when it has room, else /tmp", "where throwaway servers, drill files and spooled answers go"},
	{"GOGC", "Go's 100; serve: 400", "Go's garbage collection target"},
}

// The settings each command reads, by group.
var (
	serverSettings = []string{"LISTEN_ADDR", "API_BASE_PATH", "REQUIRE_TENANT", "DEFAULT_TENANT_ID", "TENANT_HEADER",
		"MAX_ROWS", "STATEMENT_TIMEOUT", "REQUEST_TIMEOUT", "WRITE_TIMEOUT", "MAX_BODY_BYTES", "MAX_EMBED_DEPTH", "CACHE_CONTROL", "CORS_ALLOWED_ORIGINS", "REGISTRY_CACHE_TTL", "DB_POOL_SIZE",
		"DB_EXEC_MODE", "DATABASE_LISTEN_URL", "LOG_FORMAT", "LOG_LEVEL", "ADMIN_LISTEN_ADDR", "RATE_LIMIT_RPS",
		"RATE_LIMIT_BURST", "AUTH_FAILURE_RPS", "AUTH_FAILURE_BURST", "TRUSTED_PROXIES", "SLOW_REQUEST_THRESHOLD", "JWT_SECRET", "JWT_JWKS_FILE", "JWT_TENANT_CLAIM",
		"JWT_ROLE_CLAIM", "JWT_AUDIENCE", "JWT_ISSUER", "JWT_LEEWAY", "TMPDIR"}
	scratchSettings = []string{"DEV_DATABASE_URL", "TMPDIR"}
)

// settingsFor joins groups of setting names.
func settingsFor(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// flagName is the flag of the setting name: lower case, a dash for each underscore, and without the PGTENANT_
// prefix: --database-url is DATABASE_URL, --data-dir is PGTENANT_DATA_DIR.
func flagName(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "PGTENANT_")), "_", "-")
}

// writeSettings prints the named settings (all of them when names is nil), aligned: the flag, then the
// environment variable with what it is.
func writeSettings(w io.Writer, names []string) {
	var rows [][2]string
	for _, s := range settings {
		if names == nil || slices.Contains(names, s.name) {
			text := s.name + ": " + s.doc
			if s.def != "" {
				text += " (default " + s.def + ")"
			}
			rows = append(rows, [2]string{"--" + flagName(s.name), text})
		}
	}
	writeColumns(w, rows)
}
