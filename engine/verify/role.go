package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
	"pgtenant/engine/introspect"
)

// checkProblems is introspect.Check's answer as the app login; the role and RLS checks share it.
func (s *session) checkProblems(ctx context.Context) ([]introspect.Problem, error) {
	c, err := s.appCatalog(ctx)
	if err != nil {
		return nil, err
	}
	return c.Problems(declaredNames(s.cfg.Declared)), nil
}

// memberRoles lists the roles the current role can take with SET ROLE (it is a member of them, directly or
// through other roles) that are superusers or have BYPASSRLS, sorted by name. introspect.Check looks at the login
// itself; but the API switches to a declared role in every transaction, and BYPASSRLS is not inherited: it takes
// effect exactly when the session switches to such a role.
func memberRoles(c *introspect.Catalog) []introspect.Membership {
	var out []introspect.Membership
	for _, m := range c.Role.MemberOf {
		if m.Name != c.Role.Name && (m.Super || m.BypassRLS) &&
			!slices.ContainsFunc(out, func(o introspect.Membership) bool { return o.Name == m.Name }) {
			out = append(out, m)
		}
	}
	return out
}

// roleChecks returns CheckAppRole: introspect.Check's problems with the login itself (superuser, BYPASSRLS,
// owner of a table of public, directly or through a role it can take), plus every role it can SET ROLE to that is
// a superuser or has BYPASSRLS, since the API runs each request as one of the declared roles.
func (s *session) roleChecks(ctx context.Context) []Result {
	if r := s.needApp(CheckAppRole); r != nil {
		return r
	}
	all, err := s.checkProblems(ctx)
	if err != nil {
		return []Result{failedQuery(CheckAppRole, err)}
	}
	var problems []problem
	for _, p := range all {
		if strings.HasPrefix(p.Object, "role ") {
			problems = append(problems, problem{p.Object + " " + p.Reason, p.Fix})
		}
	}
	c, err := s.appCatalog(ctx)
	if err != nil {
		return []Result{failedQuery(CheckAppRole, err)}
	}
	user := s.app.Config().User
	for _, m := range memberRoles(c) {
		role, super, bypass := m.Name, m.Super, m.BypassRLS
		what := "a superuser"
		if !super {
			what = "BYPASSRLS"
		} else if bypass {
			what = "a superuser with BYPASSRLS"
		}
		fix := fmt.Sprintf("REVOKE %s FROM %s; (or the role through which %s holds it)", ddl.Ident(role),
			ddl.Ident(user), user)
		if s.cfg.Declared.Role(role) != nil {
			fix = fmt.Sprintf("ALTER ROLE %s NOSUPERUSER NOBYPASSRLS;", ddl.Ident(role))
		}
		problems = append(problems, problem{fmt.Sprintf("role %s can SET ROLE to %s, which is %s: row-level "+
			"security does not apply once it does", user, role, what), fix})
	}
	return []Result{result(CheckAppRole, "role "+user, problems)}
}

// checkPassword returns CheckPassword. The password itself cannot be read (pg_authid.rolpassword is readable by
// superusers only, and so is pg_hba_file_rules), so it asks the server: it logs in once more as the same user with
// a random wrong password. If the server refuses that login as an authentication failure, it authenticates this
// login with a secret (password, SCRAM or md5, or an external one such as LDAP), not trust, peer or ident; and
// since the configured login succeeded, that secret is set and not empty (PostgreSQL stores an empty password as
// none, and a role without one cannot log in by password).
//
// What it cannot prove: the strength of the password, its storage (SCRAM or md5), or the pg_hba.conf rules for
// other client addresses than this one. The failed attempt appears in the server log as a failed authentication.
// A login the server lets in with the wrong password fails the check, unless the connection presents a client
// certificate (then the certificate is what authenticates it).
func (s *session) checkPassword(ctx context.Context) Result {
	if r := s.needApp(CheckPassword); r != nil {
		return r[0]
	}
	cfg, err := pgx.ParseConfig(s.cfg.AppURL)
	if err != nil {
		return failedQuery(CheckPassword, err)
	}
	cfg.Password = "pgtenant-verify-wrong-" + randomHex(12)
	cfg.RuntimeParams["application_name"] = "pgtenant verify (wrong password on purpose)"
	user := cfg.User
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		_ = conn.Close(ctx)
		if cfg.TLSConfig != nil && len(cfg.TLSConfig.Certificates) > 0 {
			return Passed(CheckPassword, "role "+user+" is authenticated by its client certificate")
		}
		return Failed(CheckPassword, fmt.Sprintf("the server let role %s log in with a wrong password: its "+
			"pg_hba.conf entry for this address uses trust, peer or ident", user),
			"set a password (ALTER ROLE "+ddl.Ident(user)+" PASSWORD '…') and use scram-sha-256 for it in "+
				"pg_hba.conf, then SELECT pg_reload_conf();")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && slices.Contains([]string{"28P01", "28000"}, pgErr.Code) {
		return Passed(CheckPassword, "a wrong password for role "+user+" is refused")
	}
	return Failed(CheckPassword, fmt.Sprintf("inconclusive: logging in as %s with a wrong password failed "+
		"otherwise than by authentication: %v", user, err), "")
}

// checkProduction returns CheckProduction: the API refuses requests without the tenant header, and has no
// tenant to fall back to.
func checkProduction(require bool, defaultTenant string) Result {
	var problems []problem
	if !require {
		problems = append(problems, problem{"REQUIRE_TENANT is false: a request without the tenant header is " +
			"not refused", "unset REQUIRE_TENANT (it defaults to true) or set REQUIRE_TENANT=true"})
	}
	if defaultTenant != "" {
		problems = append(problems, problem{"DEFAULT_TENANT_ID is set: requests without the tenant header " +
			"act for that tenant", "unset DEFAULT_TENANT_ID"})
	}
	return result(CheckProduction, "", problems)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}
