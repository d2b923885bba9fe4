package main

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"pgtenant/engine/backup"
	"pgtenant/engine/header"
	"pgtenant/engine/httpapi"
	"pgtenant/engine/query"
)

// Config is every setting pgtenant reads: from a command's flags, else from the environment (settings.go lists
// them). Only this package reads them; components receive plain values.
type Config struct {
	PoliciesFile     string // POLICIES_FILE: the declaration (a file or a directory of *.hcl)
	MigrationsDir    string // MIGRATIONS_DIR: the generated migrations
	AdminDatabaseURL string // ADMIN_DATABASE_URL: the owner connection for migrate
	DataDir          string // PGTENANT_DATA_DIR: where `dev` keeps its private PostgreSQL
	// DEV_DATABASE_URL: the dev database, as Atlas calls it: a PostgreSQL server where `validate` may create a
	// throwaway database (the role needs CREATEDB, and CREATEROLE unless the declared roles exist) to check the
	// declaration's SQL fragments on. Unset, `validate` starts a private throwaway server when the PostgreSQL
	// binaries are installed. The fragments run there as written: use a development server, never production.
	DevDatabaseURL string
	// TempDir is TMPDIR: where throwaway servers (validate, plan, verify --drills), drill files and the API's
	// spooled answers go. Unset, see Config.scratchDir and Config.spoolDir.
	TempDir string
	// GOGC is Go's garbage collection target, as the runtime reads it: a percentage or "off". Unset, serve uses
	// 400 (see cmdServe).
	GOGC string

	// serve (and dev); see DESIGN.md §6.
	DatabaseURL      string        // DATABASE_URL: the app login (not superuser, no BYPASSRLS, owns nothing)
	ListenAddr       string        // LISTEN_ADDR
	BasePath         string        // API_BASE_PATH
	RequireTenant    bool          // REQUIRE_TENANT
	DefaultTenant    string        // DEFAULT_TENANT_ID: the tenant of requests without the header, when not required
	TenantHeader     string        // TENANT_HEADER; empty: the declaration's tenancy.header
	MaxRows          int           // MAX_ROWS: cap on rows per read; 0 = none
	StatementTimeout time.Duration // STATEMENT_TIMEOUT: per request
	// RequestTimeout is REQUEST_TIMEOUT: every request's deadline for its answer from the database (resolving the
	// tenant, waiting for a pool connection, the statement); 0 = none. Writing the answer is WRITE_TIMEOUT's.
	RequestTimeout time.Duration
	// WriteTimeout is WRITE_TIMEOUT: how long writing a response to a client may make no progress before it is
	// given up; 0 = never. A slow client never holds a database connection (bodies are written after the
	// transaction ends), only its own request.
	WriteTimeout time.Duration
	MaxBodyBytes int64 // MAX_BODY_BYTES
	// MaxEmbedDepth is MAX_EMBED_DEPTH: the deepest nesting of embedded resources a select may ask for
	// (select=*,a(b(*)) is 2); deeper is refused with 400 before any query runs.
	MaxEmbedDepth int
	CORSOrigins   []string      // CORS_ALLOWED_ORIGINS, comma-separated; empty: no CORS
	CacheControl  string        // CACHE_CONTROL: the Cache-Control of every API answer (see cacheControlProblem)
	CacheTTL      time.Duration // REGISTRY_CACHE_TTL: how long tenants and tokens are cached; NOTIFY drops them sooner
	PoolSize      int           // DB_POOL_SIZE; 0: pgx's default (max(4, cores))
	LogFormat     string        // LOG_FORMAT: json or text
	LogLevel      string        // LOG_LEVEL: debug, info, warn, error

	// Operations (README "Metrics and health").
	// AdminListenAddr is ADMIN_LISTEN_ADDR, the admin listener (/metrics, /healthz, /readyz): keep it on
	// loopback or a private network.
	AdminListenAddr string
	RateLimitRPS    float64 // RATE_LIMIT_RPS: the default per-tenant requests per second; 0 = no limit
	RateLimitBurst  int     // RATE_LIMIT_BURST: the default bucket size; 0 = RATE_LIMIT_RPS rounded up
	// AuthFailureRPS and AuthFailureBurst are AUTH_FAILURE_RPS and AUTH_FAILURE_BURST: the failed
	// authentications each client address may make per second, and at once; over them its requests get 429
	// before any database work. AUTH_FAILURE_RPS=0 turns the limit off.
	AuthFailureRPS   float64
	AuthFailureBurst int
	// TrustedProxies is TRUSTED_PROXIES, comma-separated addresses or CIDR ranges of the proxies in front of the
	// API: for a request from one of them, the client address the failed-authentication limit counts against is
	// read from X-Forwarded-For. Empty: the TCP peer's.
	TrustedProxies []netip.Prefix
	// SlowRequestThreshold is SLOW_REQUEST_THRESHOLD: slower requests are logged at warn; 0 = never.
	SlowRequestThreshold time.Duration

	// ExecMode is DB_EXEC_MODE, how pgx sends statements (see execModes): cache_statement, the default, needs a
	// direct connection or a session pooler; behind PgBouncer's transaction pooling use exec or simple_protocol.
	ExecMode string
	// DatabaseListenURL is DATABASE_LISTEN_URL, the connection that LISTENs for NOTIFY pgtenant; empty means
	// DATABASE_URL. It must reach PostgreSQL directly: LISTEN does not work through transaction pooling.
	DatabaseListenURL string

	// BackupKey is BACKUP_KEY, the secret (at least backup.MinKeyBytes bytes) that authenticates backups with an
	// HMAC: backup writes it, restore verifies it. Never printed.
	BackupKey string

	// JWT credentials (Authorization: Bearer): set exactly one of JWTSecret and JWTJWKSFile to accept them.
	JWTSecret      string        // JWT_SECRET: the HS256 key, at least 32 bytes
	JWTJWKSFile    string        // JWT_JWKS_FILE: RS256/ES256 public keys (a JSON Web Key Set), chosen by kid
	JWTTenantClaim string        // JWT_TENANT_CLAIM: the claim naming the tenant(s)
	JWTRoleClaim   string        // JWT_ROLE_CLAIM: the claim naming the role
	JWTAudience    string        // JWT_AUDIENCE: when set, required in aud
	JWTIssuer      string        // JWT_ISSUER: when set, required as iss
	JWTLeeway      time.Duration // JWT_LEEWAY: clock skew allowed on exp, nbf and iat
}

// DefaultConfig is the configuration with nothing set.
func DefaultConfig() Config {
	return Config{
		PoliciesFile:     "policies.hcl",
		MigrationsDir:    "migrations",
		DataDir:          ".pgtenant",
		ListenAddr:       ":3000",
		BasePath:         "/api/v1",
		RequireTenant:    true,
		MaxRows:          1000,
		StatementTimeout: 10 * time.Second,
		RequestTimeout:   30 * time.Second,
		WriteTimeout:     30 * time.Second,
		MaxBodyBytes:     1 << 20,
		MaxEmbedDepth:    query.DefaultMaxEmbedDepth,
		CacheControl:     httpapi.DefaultCacheControl,
		CacheTTL:         5 * time.Second,
		LogFormat:        "json",
		LogLevel:         "info",
		JWTTenantClaim:   "tenant_id",
		JWTRoleClaim:     "role",
		JWTLeeway:        30 * time.Second,

		AdminListenAddr:      "127.0.0.1:3001",
		SlowRequestThreshold: time.Second,
		AuthFailureRPS:       1,
		AuthFailureBurst:     20,
	}
}

// LoadConfig reads the settings over base (DefaultConfig, or a command's own defaults): each from get, which
// returns a setting's value by its name, such as DATABASE_URL; "" means unset. It returns one line per problem
// found.
func LoadConfig(base Config, get func(name string) string) (Config, []string) {
	c := base
	for name, field := range map[string]*string{
		"POLICIES_FILE":       &c.PoliciesFile,
		"MIGRATIONS_DIR":      &c.MigrationsDir,
		"ADMIN_DATABASE_URL":  &c.AdminDatabaseURL,
		"PGTENANT_DATA_DIR":   &c.DataDir,
		"DEV_DATABASE_URL":    &c.DevDatabaseURL,
		"DATABASE_URL":        &c.DatabaseURL,
		"LISTEN_ADDR":         &c.ListenAddr,
		"API_BASE_PATH":       &c.BasePath,
		"DEFAULT_TENANT_ID":   &c.DefaultTenant,
		"TENANT_HEADER":       &c.TenantHeader,
		"LOG_FORMAT":          &c.LogFormat,
		"LOG_LEVEL":           &c.LogLevel,
		"JWT_SECRET":          &c.JWTSecret,
		"JWT_JWKS_FILE":       &c.JWTJWKSFile,
		"JWT_TENANT_CLAIM":    &c.JWTTenantClaim,
		"JWT_ROLE_CLAIM":      &c.JWTRoleClaim,
		"JWT_AUDIENCE":        &c.JWTAudience,
		"JWT_ISSUER":          &c.JWTIssuer,
		"CACHE_CONTROL":       &c.CacheControl,
		"BACKUP_KEY":          &c.BackupKey,
		"TMPDIR":              &c.TempDir,
		"GOGC":                &c.GOGC,
		"DB_EXEC_MODE":        &c.ExecMode,
		"DATABASE_LISTEN_URL": &c.DatabaseListenURL,
		"ADMIN_LISTEN_ADDR":   &c.AdminListenAddr,
	} {
		*field = cmp.Or(get(name), *field)
	}
	var problems []string
	if v := get("REQUIRE_TENANT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("REQUIRE_TENANT: want true or false, got %q", v))
		}
		c.RequireTenant = b
	}
	intVar := func(name string, dst *int, min int) {
		if v := get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < min {
				problems = append(problems, fmt.Sprintf("%s: want a whole number ≥ %d, got %q", name, min, v))
				return
			}
			*dst = n
		}
	}
	intVar("MAX_ROWS", &c.MaxRows, 0)
	intVar("DB_POOL_SIZE", &c.PoolSize, 0)
	intVar("RATE_LIMIT_BURST", &c.RateLimitBurst, 0)
	intVar("AUTH_FAILURE_BURST", &c.AuthFailureBurst, 0)
	intVar("MAX_EMBED_DEPTH", &c.MaxEmbedDepth, 1)
	for name, dst := range map[string]*float64{"RATE_LIMIT_RPS": &c.RateLimitRPS, "AUTH_FAILURE_RPS": &c.AuthFailureRPS} {
		if v := get(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				problems = append(problems, fmt.Sprintf("%s: want a number ≥ 0 such as 50 or 0.5, got %q", name, v))
			} else {
				*dst = f
			}
		}
	}
	body := int(c.MaxBodyBytes)
	intVar("MAX_BODY_BYTES", &body, 1)
	c.MaxBodyBytes = int64(body)
	for name, dst := range map[string]*time.Duration{"STATEMENT_TIMEOUT": &c.StatementTimeout, "REGISTRY_CACHE_TTL": &c.CacheTTL,
		"WRITE_TIMEOUT": &c.WriteTimeout, "REQUEST_TIMEOUT": &c.RequestTimeout,
		"JWT_LEEWAY": &c.JWTLeeway, "SLOW_REQUEST_THRESHOLD": &c.SlowRequestThreshold} {
		if v := get(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				problems = append(problems, fmt.Sprintf("%s: want a duration such as 10s or 500ms, got %q", name, v))
				continue
			}
			*dst = d
		}
	}
	if v := get("TRUSTED_PROXIES"); v != "" {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			prefix, err := parsePrefix(p)
			if err != nil {
				problems = append(problems, fmt.Sprintf("TRUSTED_PROXIES: want addresses or CIDR ranges such as 10.0.0.0/8, got %q", p))
				continue
			}
			c.TrustedProxies = append(c.TrustedProxies, prefix)
		}
	}
	if v := get("CORS_ALLOWED_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.CORSOrigins = append(c.CORSOrigins, o)
			}
		}
	}
	slices.Sort(problems)
	return c, append(problems, c.Validate()...)
}

// Validate returns one line per problem, each saying what to fix.
func (c Config) Validate() []string {
	var problems []string
	if c.AdminDatabaseURL != "" {
		if u, err := url.Parse(c.AdminDatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			problems = append(problems, fmt.Sprintf(
				"ADMIN_DATABASE_URL: want a URL like postgres://owner:password@127.0.0.1:5432/app, got %q", redact(c.AdminDatabaseURL)))
		}
	}
	if c.DevDatabaseURL != "" {
		if u, err := url.Parse(c.DevDatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			problems = append(problems, fmt.Sprintf(
				"DEV_DATABASE_URL: want a URL like postgres://dev:password@127.0.0.1:5432/postgres, got %q", redact(c.DevDatabaseURL)))
		}
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			problems = append(problems, fmt.Sprintf(
				"DATABASE_URL: want a URL like postgres://api:secret@127.0.0.1:5432/app, got %q", redact(c.DatabaseURL)))
		} else if c.AdminDatabaseURL != "" && sameUser(c.DatabaseURL, c.AdminDatabaseURL) {
			problems = append(problems, "DATABASE_URL logs in as the same user as ADMIN_DATABASE_URL: the API must use "+
				"its own login role that owns nothing")
		}
	}
	if _, err := parseExecMode(c.ExecMode); err != nil {
		problems = append(problems, err.Error())
	}
	if c.DatabaseListenURL != "" {
		if u, err := url.Parse(c.DatabaseListenURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			problems = append(problems, fmt.Sprintf(
				"DATABASE_LISTEN_URL: want a URL like postgres://api:secret@127.0.0.1:5432/app, got %q", redact(c.DatabaseListenURL)))
		}
	}
	if _, _, err := net.SplitHostPort(c.AdminListenAddr); err != nil {
		problems = append(problems, fmt.Sprintf("ADMIN_LISTEN_ADDR: want host:port such as 127.0.0.1:3001, got %q",
			c.AdminListenAddr))
	}
	if !basePathRE.MatchString(c.BasePath) {
		problems = append(problems, fmt.Sprintf("API_BASE_PATH: want a path such as /api/v1, got %q", c.BasePath))
	}
	if c.RequireTenant && c.DefaultTenant != "" {
		problems = append(problems, "DEFAULT_TENANT_ID is set but REQUIRE_TENANT is true: set REQUIRE_TENANT=false "+
			"to use a default tenant (not for production), or unset DEFAULT_TENANT_ID")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		problems = append(problems, fmt.Sprintf("LOG_FORMAT: want json or text, got %q", c.LogFormat))
	}
	if _, err := newLogger(nil, "text", c.LogLevel); err != nil {
		problems = append(problems, err.Error())
	}
	if c.BackupKey != "" && len(c.BackupKey) < backup.MinKeyBytes {
		problems = append(problems, fmt.Sprintf("BACKUP_KEY: want at least %d bytes (e.g. `openssl rand -base64 48`), got %d",
			backup.MinKeyBytes, len(c.BackupKey)))
	}
	if p := cacheControlProblem(c.CacheControl); p != "" {
		problems = append(problems, p)
	}
	if _, err := parseGOGC(c.GOGC); err != nil {
		problems = append(problems, err.Error())
	}
	problems = append(problems, c.jwtProblems()...)
	return problems
}

// cacheDirectiveRE is one Cache-Control directive (RFC 9111 §5.2): a token, with an optional token or
// quoted-string argument.
var cacheDirectiveRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+(=([!#$%&'*+.^_`|~0-9A-Za-z-]+|\"[^\"\\\\\\x00-\\x1f\\x7f]*\"))?$")

// cacheControlProblem checks CACHE_CONTROL: a list of Cache-Control directives that keeps every answer out of
// shared caches (private or no-store, never public), since every answer carries one tenant's data.
func cacheControlProblem(v string) string {
	directives := header.List([]string{v})
	if len(directives) == 0 {
		return fmt.Sprintf("CACHE_CONTROL: want Cache-Control directives such as %q, got %q", httpapi.DefaultCacheControl, v)
	}
	private := false
	for _, d := range directives {
		if !cacheDirectiveRE.MatchString(d) {
			return fmt.Sprintf("CACHE_CONTROL: %q is not a Cache-Control directive (want token or token=value, "+
				"comma-separated, such as %q)", d, httpapi.DefaultCacheControl)
		}
		switch name, _, _ := strings.Cut(strings.ToLower(d), "="); name {
		case "public", "s-maxage":
			return fmt.Sprintf("CACHE_CONTROL: %q would let a shared cache keep one tenant's answers: use %q or "+
				"add private", d, httpapi.DefaultCacheControl)
		case "private", "no-store":
			private = true
		}
	}
	if !private {
		return fmt.Sprintf("CACHE_CONTROL: %q lacks private or no-store, so a shared cache could keep one tenant's "+
			"answers: use %q", v, httpapi.DefaultCacheControl)
	}
	return ""
}

// ServeProblems returns what `serve` needs on top of a valid configuration.
func (c Config) ServeProblems() []string {
	if c.DatabaseURL == "" {
		return []string{"DATABASE_URL is not set: point it at the app login role (not the owner), " +
			"e.g. postgres://api:secret@127.0.0.1:5432/app; `make run` prints one"}
	}
	return nil
}

// parsePrefix reads a CIDR range, or an address as the range of itself.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var basePathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

func sameUser(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.User != nil && ub.User != nil && ua.User.Username() == ub.User.Username()
}

// redact hides a URL's password so that it can be printed.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.User == nil {
		return s
	}
	return u.Redacted()
}

// parseGOGC reads GOGC as Go's runtime does: a percentage, or off (-1); "" is Go's default, 100.
func parseGOGC(v string) (int, error) {
	if v == "" {
		return 100, nil
	}
	if v == "off" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("GOGC: want a percentage such as 400, or off, got %q", v)
	}
	return n, nil
}

// scratchDir is the directory a throwaway server and a drill's files go in: TMPDIR when it is set, else Linux's
// in-memory /dev/shm when it has room, which more than halves the time validate takes (initdb and CREATE DATABASE
// are most of it), else /tmp. Docker gives a container 64 MB of /dev/shm by default, too little for a cluster.
func (c Config) scratchDir() string {
	if c.TempDir != "" {
		return c.TempDir
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Bavail*uint64(st.Bsize) >= 256<<20 {
		return "/dev/shm"
	}
	return defaultTempDir
}

// spoolDir is where the API spools the rows of a streamed read that outgrow memory (engine/httpapi's SpoolDir):
// TMPDIR, else /tmp; never /dev/shm, which is memory.
func (c Config) spoolDir() string { return cmp.Or(c.TempDir, defaultTempDir) }

// defaultTempDir is the temporary directory when TMPDIR is unset, as os.TempDir has it on Unix. The TMPDIR setting
// is read with the others, so that a command sees the TMPDIR it was given (run's getenv), not the process's.
const defaultTempDir = "/tmp"
