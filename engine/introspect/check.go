package introspect

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"pgtenant/engine/ddl"
)

// Problem is one reason the connected role must not serve the API.
type Problem struct {
	Object string // what is wrong: "role api", "table public.webpages_webpage"
	Reason string // why it defeats tenant isolation
	Fix    string // the SQL (or command) that fixes it
}

// String is the problem on one line, as serve prints it before refusing to start.
func (p Problem) String() string {
	return p.Object + ": " + p.Reason + "; fix: " + p.Fix
}

// roleQuery reads the attributes of the connected role that make row-level security not apply to it.
const roleQuery = `SELECT current_user, rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user`

// ownedQuery lists the tables of schema $1 owned by the current role or by a role it is a member of (whose
// privileges it can take with SET ROLE even when it does not inherit them), with the owner and the role granted
// to the current role that the membership goes through (” when the current role owns the table itself).
const ownedQuery = `WITH RECURSIVE ` + memberOfCTE + `
SELECT DISTINCT c.relname, pg_catalog.pg_get_userbyid(c.relowner),
       COALESCE(pg_catalog.pg_get_userbyid(NULLIF(r.via, 0)), '')
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN member_of r ON r.oid = c.relowner
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
 ORDER BY 2, 3, 1`

// rowSecurityQuery reads the row-level security flags of the declared tables $2 of schema $1 (found is false for
// a missing one) and of every other table of $1 the current role can reach, which the API would expose too.
const rowSecurityQuery = `WITH RECURSIVE ` + memberOfCTE + `
SELECT d.name, c.oid IS NOT NULL, COALESCE(c.relrowsecurity, false), COALESCE(c.relforcerowsecurity, false), true
  FROM unnest($2::text[]) AS d(name)
  LEFT JOIN (pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1)
         ON c.relname = d.name AND c.relkind IN ('r', 'p')
UNION ALL
SELECT c.relname, true, c.relrowsecurity, c.relforcerowsecurity, false
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> ALL ($2::text[])
   AND ` + reachable + `
 ORDER BY 1`

// newLogin is the fix for a role that must not serve at all: a login made for the API.
const newLogin = "serve as a login role that is neither superuser nor BYPASSRLS and owns nothing: " +
	"CREATE ROLE pgtenant_api LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '…'; GRANT <declared role> TO pgtenant_api;"

// Check returns one Problem per reason the connected role must not serve the API, in this order:
//   - it is a superuser, or has BYPASSRLS: row-level security does not apply to it;
//   - it owns, or is a member of a role that owns, a table of schema public (every table Load can return, and any
//     other it can reach): an owner can turn row-level security off, so one Problem per owning role lists them;
//   - a declared table (declared names tables of schema public) is missing, or lacks row-level security enabled
//     AND forced; so does any other table of public the role can reach, since the API exposes it too.
//
// Each Problem says what is wrong and gives the SQL that fixes it. An empty result means the role may serve.
// Check runs three queries.
func Check(ctx context.Context, db Querier, declared []string) ([]Problem, error) {
	var user string
	var super, bypass bool
	if err := db.QueryRow(ctx, roleQuery).Scan(&user, &super, &bypass); err != nil {
		return nil, fmt.Errorf("introspect: read role: %w", err)
	}
	var problems []Problem
	if super {
		problems = append(problems, Problem{
			Object: "role " + user,
			Reason: "is a superuser, which bypasses row-level security: every tenant's rows are visible to it",
			Fix:    newLogin,
		})
	}
	if bypass {
		problems = append(problems, Problem{
			Object: "role " + user,
			Reason: "has BYPASSRLS: row-level security does not apply to it, so every tenant's rows are visible to it",
			Fix:    fmt.Sprintf("ALTER ROLE %s NOBYPASSRLS;", ddl.Ident(user)),
		})
	}
	owners, err := ownerProblems(ctx, db, user)
	if err != nil {
		return nil, err
	}
	tables, err := rowSecurityProblems(ctx, db, declared)
	if err != nil {
		return nil, err
	}
	return slices.Concat(problems, owners, tables), nil
}

// ownerProblems returns one Problem per role through which user owns tables: itself, or each role granted to it
// that leads to an owner.
func ownerProblems(ctx context.Context, db Querier, user string) ([]Problem, error) {
	owned, err := readOwned(ctx, db)
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, o := range owned {
		p := Problem{Object: "role " + user}
		list := strings.Join(o.tables, ", ")
		switch {
		case o.via == "":
			p.Reason = fmt.Sprintf("owns %s: a table's owner can turn its row-level security off", list)
			alter := make([]string, len(o.tables))
			for i, t := range o.tables {
				alter[i] = fmt.Sprintf("ALTER TABLE %s OWNER TO <deploy role>;", t)
			}
			p.Fix = newLogin + " Or give the tables to another role: " + strings.Join(alter, " ")
		case o.via == o.owner:
			p.Reason = fmt.Sprintf("is a member of role %s, which owns %s: through it the role can turn their "+
				"row-level security off", o.via, list)
		default:
			p.Reason = fmt.Sprintf("is a member of role %s and so of role %s, which owns %s: through it the "+
				"role can turn their row-level security off", o.via, o.owner, list)
		}
		if o.via != "" {
			p.Fix = fmt.Sprintf("REVOKE %s FROM %s;", ddl.Ident(o.via), ddl.Ident(user))
		}
		problems = append(problems, p)
	}
	return problems, nil
}

// rowSecurityProblems returns one Problem per declared table that is missing or lacks enabled and forced
// row-level security, and per other reachable table that lacks it.
func rowSecurityProblems(ctx context.Context, db Querier, declared []string) ([]Problem, error) {
	names := slices.Compact(slices.Sorted(slices.Values(declared)))
	if names == nil {
		names = []string{} // nil is sent as NULL, and "relname <> ALL (NULL)" is never true
	}
	var (
		problems                           []Problem
		name                               string
		found, enabled, forced, isDeclared bool
	)
	scans := []any{&name, &found, &enabled, &forced, &isDeclared}
	err := forEach(ctx, db, rowSecurityQuery, []any{ddl.Schema, names}, scans, func() error {
		if p, bad := rowSecurity(name, found, enabled, forced, isDeclared); bad {
			problems = append(problems, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("introspect: read row-level security: %w", err)
	}
	return problems, nil
}

// owned is the tables the current role owns through one path: itself (via "") or a role granted to it.
type owned struct {
	owner, via string
	tables     []string // qualified and quoted
}

func readOwned(ctx context.Context, db Querier) ([]owned, error) {
	var (
		out              []owned
		name, owner, via string
	)
	scans := []any{&name, &owner, &via}
	err := forEach(ctx, db, ownedQuery, []any{ddl.Schema}, scans, func() error {
		if n := len(out); n == 0 || out[n-1].owner != owner || out[n-1].via != via {
			out = append(out, owned{owner: owner, via: via})
		}
		out[len(out)-1].tables = append(out[len(out)-1].tables, ddl.Qualified(ddl.Schema, name))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("introspect: read table owners: %w", err)
	}
	return out, nil
}

// rowSecurity returns the problem with a table's row-level security, if it has one.
func rowSecurity(name string, found, enabled, forced, declared bool) (Problem, bool) {
	qualified := ddl.Qualified(ddl.Schema, name)
	p := Problem{Object: "table " + qualified}
	if !found {
		p.Reason = "is declared but missing (or not a table)"
		p.Fix = "apply the migrations: pgtenant migrate up"
		return p, true
	}
	var fix []string
	switch {
	case enabled && forced:
		return p, false
	case !enabled && !forced:
		p.Reason = "has row-level security neither enabled nor forced: its rows are not isolated by tenant"
		fix = []string{"ENABLE", "FORCE"}
	case !enabled:
		p.Reason = "has row-level security forced but not enabled: its rows are not isolated by tenant"
		fix = []string{"ENABLE"}
	default:
		p.Reason = "has row-level security enabled but not forced: its owner is exempt from the policies"
		fix = []string{"FORCE"}
	}
	stmts := make([]string, len(fix))
	for i, f := range fix {
		stmts[i] = fmt.Sprintf("ALTER TABLE %s %s ROW LEVEL SECURITY;", qualified, f)
	}
	p.Fix = strings.Join(stmts, " ")
	if !declared {
		p.Reason = "is not declared but reachable by the role, so the API exposes it, and " + p.Reason
		p.Fix += fmt.Sprintf(" Or stop exposing it: REVOKE ALL ON TABLE %s FROM <role>;", qualified)
	}
	return p, true
}
