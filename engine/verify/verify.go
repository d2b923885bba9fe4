package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
	"pgtenant/schema"
)

// The names of the checks, in the order Run returns them. CheckServer is run by engine/verify/httpcheck, after the
// others.
const (
	CheckAppRole        = "app role: not superuser, no BYPASSRLS, owns no table"
	CheckPassword       = "app role: the server requires its password"
	CheckProduction     = "production mode: REQUIRE_TENANT on, no DEFAULT_TENANT_ID"
	CheckRLSDeclared    = "RLS: enabled and forced on every declared table"
	CheckRLSReachable   = "RLS: on every other table the app role can reach"
	CheckPolicies       = "RLS: the policies are exactly the generated and declared ones"
	CheckPermissiveTrue = "RLS: no permissive true policy on a tenant table"
	CheckAttached       = "tables: no trigger, rule or function the migrations did not create"
	CheckProbe          = "isolation probe: two tenants, as the app role, rolled back"
	CheckIndexes        = "indexes: the tenant column leads every tenant index and foreign key"
	CheckVersion        = "PostgreSQL version: no known row-level security flaw"
	CheckMigrations     = "migrations: all applied, none dirty"
	CheckSchema         = "migrations: the database matches policies.hcl"
	CheckServer         = "server: tenant required, unknown tenants refused alike"
	// CheckCitusShards runs only for a declaration with scale_out = "citus", after CheckSchema.
	CheckCitusShards = "Citus: every shard of every tenant table, on every worker: RLS forced, the generated permissive policies"
)

// Config is what the checks read.
type Config struct {
	AppURL        string        // DATABASE_URL: the API's login
	AdminURL      string        // ADMIN_DATABASE_URL: the tables' owner
	Declared      *schema.Model // policies.hcl
	MigrationsDir string        // MIGRATIONS_DIR
	RequireTenant bool          // REQUIRE_TENANT
	DefaultTenant string        // DEFAULT_TENANT_ID
	// Scratch, for the drills (RunDrills), calls fn with the URL of a PostgreSQL server where a scratch database
	// may be created, as a role with CREATEDB, and CREATEROLE unless the declared roles exist: DEV_DATABASE_URL,
	// or a private throwaway server. nil: the drills fail, saying so.
	Scratch func(ctx context.Context, fn func(serverURL string) error) error
	// DrillTenant is the tenant the backup drill backs up, by identifier or UUID; "": the first active one
	// registered.
	DrillTenant string
	// TempDir is where the backup drill writes its files; "": the system's temporary directory.
	TempDir string
	// Timeout bounds each check's database work; 0 means 30 seconds. The probe and the policy comparison also
	// set lock_timeout, so that they wait on a busy table for seconds, not for as long as it stays busy.
	Timeout time.Duration
}

// Result is the outcome of one check. Detail says what is wrong (or, when OK, what was seen); Fix is the one-line
// remedy of a failure: SQL, a command, or a setting.
type Result struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix"`
}

// Passed is an OK result.
func Passed(name, detail string) Result { return Result{Name: name, OK: true, Detail: detail} }

// Failed is a failed result.
func Failed(name, detail, fix string) Result { return Result{Name: name, Detail: detail, Fix: fix} }

// problem is one thing wrong found by a check; a check with several joins them into one Result.
type problem struct{ detail, fix string }

// result joins problems into name's Result: OK when there are none.
func result(name, okDetail string, problems []problem) Result {
	if len(problems) == 0 {
		return Passed(name, okDetail)
	}
	var details, fixes []string
	for _, p := range problems {
		details = append(details, p.detail)
		if p.fix != "" && !slices.Contains(fixes, p.fix) {
			fixes = append(fixes, p.fix)
		}
	}
	return Failed(name, strings.Join(details, "; "), strings.Join(fixes, " "))
}

// session holds the two connections the checks use; a nil connection comes with the reason it is nil.
type session struct {
	cfg              Config
	app, admin       *pgx.Conn
	appErr, adminErr error

	// The catalog as each connection sees it (introspect.Read), read once: as the app login the first time a
	// check needs it, and as the owner.
	appCat, adminCat       *introspect.Catalog
	appCatErr, adminCatErr error
	appRead, adminRead     bool
}

// appCatalog returns the catalog as the app login sees it, read once.
func (s *session) appCatalog(ctx context.Context) (*introspect.Catalog, error) {
	if !s.appRead {
		s.appRead = true
		s.appCat, s.appCatErr = introspect.Read(ctx, s.app)
	}
	return s.appCat, s.appCatErr
}

// adminCatalog returns the catalog as the owner sees it, read once.
func (s *session) adminCatalog(ctx context.Context) (*introspect.Catalog, error) {
	if !s.adminRead {
		s.adminRead = true
		s.adminCat, s.adminCatErr = introspect.Read(ctx, s.admin)
	}
	return s.adminCat, s.adminCatErr
}

// Run runs every check but CheckServer and returns their results in the order of the Check constants.
func Run(ctx context.Context, cfg Config) []Result {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Declared == nil {
		cfg.Declared = &schema.Model{Tenancy: schema.DefaultTenancy}
	}
	s := &session{cfg: cfg}
	s.app, s.appErr = connect(ctx, "DATABASE_URL", cfg.AppURL, "the API's login role")
	s.admin, s.adminErr = connect(ctx, "ADMIN_DATABASE_URL", cfg.AdminURL, "the role that owns the tables")
	defer func() {
		for _, c := range []*pgx.Conn{s.app, s.admin} {
			if c != nil {
				_ = c.Close(context.WithoutCancel(ctx))
			}
		}
	}()

	var out []Result
	step := func(f func(ctx context.Context) []Result) {
		cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		out = append(out, f(cctx)...)
	}
	step(s.roleChecks)
	step(func(ctx context.Context) []Result { return []Result{s.checkPassword(ctx)} })
	out = append(out, checkProduction(cfg.RequireTenant, cfg.DefaultTenant))
	step(s.rlsChecks)
	step(s.policyChecks)
	step(func(ctx context.Context) []Result { return []Result{s.checkAttached(ctx)} })
	step(func(ctx context.Context) []Result { return []Result{s.probe(ctx)} })
	step(func(ctx context.Context) []Result { return []Result{s.checkIndexes(ctx)} })
	step(func(ctx context.Context) []Result { return []Result{s.checkVersion(ctx)} })
	step(s.migrationChecks)
	if cfg.Declared.Tenancy.Citus() {
		step(func(ctx context.Context) []Result { return []Result{s.checkCitusShards(ctx)} })
	}
	return out
}

// connect opens one connection; the error names the variable and never prints a password.
func connect(ctx context.Context, variable, url, what string) (*pgx.Conn, error) {
	if url == "" {
		return nil, fmt.Errorf("%s is not set: point it at %s", variable, what)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%s does not parse as a PostgreSQL URL", variable)
	}
	cfg.RuntimeParams["application_name"] = "pgtenant verify"
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", variable, err)
	}
	return conn, nil
}

// needApp and needAdmin return the failed results of checks that cannot run without a connection.
func (s *session) needApp(names ...string) []Result { return cannotRun(s.app == nil, s.appErr, names) }

func (s *session) needAdmin(names ...string) []Result {
	return cannotRun(s.admin == nil, s.adminErr, names)
}

func cannotRun(missing bool, err error, names []string) []Result {
	if !missing {
		return nil
	}
	out := make([]Result, len(names))
	for i, n := range names {
		out[i] = Failed(n, "not checked: "+err.Error(), fixFor(err))
	}
	return out
}

// fixFor is the fix of a connection that could not be made.
func fixFor(err error) string {
	if strings.Contains(err.Error(), "is not set") {
		return "export the variable (`make run` prints both URLs), then run pgtenant verify again"
	}
	return "check the URL, the server and its pg_hba.conf, then run pgtenant verify again"
}

// failedQuery is the result of a check whose catalog read failed.
func failedQuery(name string, err error) Result {
	return Failed(name, "not checked: "+err.Error(), "")
}

// tenantTables returns the declared tenant tables.
func tenantTables(m *schema.Model) []*schema.Table {
	var out []*schema.Table
	for _, t := range m.Tables {
		if !t.Shared {
			out = append(out, t)
		}
	}
	return out
}

// declaredNames returns every declared table's name.
func declaredNames(m *schema.Model) []string {
	out := make([]string, len(m.Tables))
	for i, t := range m.Tables {
		out[i] = t.Name
	}
	return out
}

// pgCode is the SQLSTATE of PostgreSQL's error err; "" for any other error.
func pgCode(err error) string {
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) {
		return pgErr.SQLState()
	}
	return ""
}

// qualified is public.name, quoted as needed.
func qualified(name string) string { return ddl.Qualified(ddl.Schema, name) }
