package introspect

import (
	"cmp"
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
// Check reads in one round trip (see Read).
func Check(ctx context.Context, db Querier, declared []string) ([]Problem, error) {
	c, err := Read(ctx, db)
	if err != nil {
		return nil, err
	}
	return c.Problems(declared), nil
}

// Problems is what Check returns, from c.
func (c *Catalog) Problems(declared []string) []Problem {
	user, super, bypass := c.Role.Name, c.Role.Super, c.Role.BypassRLS
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
	return slices.Concat(problems, ownerProblems(c.owned(), user), rowSecurityProblems(c, declared))
}

// ownerProblems returns one Problem per role through which user owns tables: itself, or each role granted to it
// that leads to an owner.
func ownerProblems(owned []owned, user string) []Problem {
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
	return problems
}

// rowSecurityProblems returns one Problem per declared table that is missing or lacks enabled and forced
// row-level security, and per other reachable table that lacks it.
func rowSecurityProblems(c *Catalog, declared []string) []Problem {
	names := slices.Compact(slices.Sorted(slices.Values(declared)))
	type state struct {
		name                               string
		found, enabled, forced, isDeclared bool
	}
	var states []state
	for _, name := range names {
		s := state{name: name, isDeclared: true}
		if t := c.Table(ddl.Schema, name); t != nil {
			s.found, s.enabled, s.forced = true, t.RowSecurity, t.ForceRowSecurity
		}
		states = append(states, s)
	}
	for _, t := range c.Tables {
		if t.Schema == ddl.Schema && !t.Partition && t.Reachable && !slices.Contains(names, t.Name) {
			states = append(states, state{name: t.Name, found: true, enabled: t.RowSecurity, forced: t.ForceRowSecurity})
		}
	}
	slices.SortStableFunc(states, func(a, b state) int { return strings.Compare(a.name, b.name) })
	var problems []Problem
	for _, s := range states {
		if p, bad := rowSecurity(s.name, s.found, s.enabled, s.forced, s.isDeclared); bad {
			problems = append(problems, p)
		}
	}
	return problems
}

// owned is the tables the current role owns through one path: itself (via "") or a role granted to it.
type owned struct {
	owner, via string
	tables     []string // qualified and quoted
}

// owned lists the tables of schema public owned by the current role or by a role it is a member of (whose
// privileges it can take with SET ROLE even when it does not inherit them), grouped by owner and the role granted
// to the current role that the membership goes through ("" when the current role owns the table itself).
func (c *Catalog) owned() []owned {
	type row struct{ owner, via, name string }
	var rows []row
	for _, t := range c.Tables {
		if t.Schema != ddl.Schema {
			continue
		}
		for _, m := range c.Role.MemberOf {
			if m.Name == t.Owner {
				rows = append(rows, row{t.Owner, m.Via, t.Name})
			}
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(strings.Compare(a.owner, b.owner), strings.Compare(a.via, b.via), strings.Compare(a.name, b.name))
	})
	var out []owned
	for _, r := range rows {
		if n := len(out); n == 0 || out[n-1].owner != r.owner || out[n-1].via != r.via {
			out = append(out, owned{owner: r.owner, via: r.via})
		}
		out[len(out)-1].tables = append(out[len(out)-1].tables, ddl.Qualified(ddl.Schema, r.name))
	}
	return out
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
