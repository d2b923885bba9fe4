package fragment

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
	"pgtenant/engine/scratch"
	"pgtenant/schema"
)

// Check applies the full plan for m (ddl.Diff(nil, m)) to a new scratch database created through serverURL
// (a role that may CREATE DATABASE), reports every SQL fragment PostgreSQL rejects as an hcl.Diagnostic located at
// that fragment's source range, and drops the scratch database.
//
// The fragments are what the declaration passes through to PostgreSQL as written: column types and defaults,
// check expressions, index `where` predicates, policy `using`/`check` clauses, view queries, and function argument
// types and defaults and bodies (PostgreSQL checks a body as it creates the function: an sql body whole, a
// plpgsql body's syntax and declarations). Each view that is created has its columns compared with the declared
// ones (schema.Model.CheckViewColumns); a view or function that needs a table or view that could not be created is
// skipped. Every change runs in its own
// savepoint of one transaction, so a rejected fragment does not hide the next one: the rejected fragment is
// replaced by a neutral one (a check becomes true, a default or a `where` is dropped) and the change is tried
// again, and the changes that need a table that could not be created are skipped. The transaction is rolled back
// at the end: the plan creates the declared roles when they are missing, and roles are cluster-wide. The role of
// serverURL therefore also needs CREATEROLE unless the declared roles exist (as NOSUPERUSER NOBYPASSRLS).
//
// Each statement is sent alone in the extended protocol, so the server's own parser confirms that it is one
// statement; the fragments were parsed before with PostgreSQL's grammar (schema.CheckFragments), and a model whose
// fragments fail that gets those diagnostics back, without a database.
//
// The error reports what kept the check from running: no connection, a server older than PostgreSQL 15, or
// pgtenant's own SQL (roles, the tenant registry) refused by the server. The diagnostics are nil when err is not.
func Check(ctx context.Context, serverURL string, m *schema.Model) (diags hcl.Diagnostics, err error) {
	// Nothing of a fragment that PostgreSQL's grammar does not read as exactly one expression (or type) of its
	// kind, or that calls what a fragment may not, is ever sent to a server: schema.Load refuses it, and so does
	// this check for a model that did not come from Load.
	if d := schema.CheckFragments(m); d.HasErrors() {
		return d, nil
	}
	changes, err := ddl.Diff(nil, m)
	if err != nil {
		return nil, fmt.Errorf("fragment: %w", err)
	}
	cfg, err := pgconn.ParseConfig(serverURL)
	if err != nil {
		return nil, fmt.Errorf("fragment: %w", err)
	}
	err = scratch.With(ctx, serverURL, "pgtenant_check_", func(name string) error {
		dbCfg := cfg.Copy()
		dbCfg.Database = name
		conn, err := pgconn.ConnectConfig(ctx, dbCfg)
		if err != nil {
			return fmt.Errorf("fragment: connect to %s: %w", name, err)
		}
		defer func() {
			// An explicit ROLLBACK, so that the roles are gone when Check returns; if the connection broke, the
			// server rolls back when DROP DATABASE … WITH (FORCE) ends the session.
			cctx, cancel := scratch.CleanupContext(ctx)
			defer cancel()
			if !conn.IsClosed() {
				_, _ = conn.Exec(cctx, "ROLLBACK").ReadAll()
			}
			_ = conn.Close(cctx)
		}()
		if _, err := conn.Exec(ctx, "BEGIN").ReadAll(); err != nil {
			return fmt.Errorf("fragment: %w", err)
		}
		diags, err = checkChanges(ctx, conn, m, changes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return diags, nil
}

// checkChanges applies changes, the plan of m, change by change in conn's open transaction, and returns the
// diagnostics of the fragments PostgreSQL rejects.
func checkChanges(ctx context.Context, conn *pgconn.PgConn, m *schema.Model, changes []ddl.Change) (hcl.Diagnostics, error) {
	c := &checker{
		conn:    conn,
		work:    cloneModel(m),
		missing: map[string]bool{},
		runes:   conn.ParameterStatus("server_encoding") != "SQL_ASCII",
	}
	for i, ch := range changes {
		if err := c.apply(ctx, i, ch); err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(c.diags, func(a, b *hcl.Diagnostic) int {
		if n := strings.Compare(a.Subject.Filename, b.Subject.Filename); n != 0 {
			return n
		}
		return a.Subject.Start.Byte - b.Subject.Start.Byte
	})
	return c.diags, nil
}

// checker applies a plan change by change. work is the model the changes are planned from: a copy of the
// declaration in which rejected fragments are replaced, so that the rest of their change can still be checked.
type checker struct {
	conn    *pgconn.PgConn
	work    *schema.Model
	missing map[string]bool // declared tables that could not be created
	runes   bool            // PostgreSQL counts error positions in characters, not bytes
	diags   hcl.Diagnostics
}

// fragment is one piece of declared SQL and where it landed in a change's statement text.
type fragment struct {
	kind   string // ddl.FragmentType, FragmentDefault, …: a kind ddl.Render records
	owner  string // the column, check, index, policy, view, function or function.argument it belongs to
	text   string
	rng    hcl.Range
	start  int    // byte offset of text in the change's SQL, as ddl.Render recorded it; -1 when it is not there
	repair func() // replaces the fragment in the work model with a neutral one; nil when none is safe
}

func (f *fragment) end() int { return f.start + len(f.text) }

// apply runs one change in a savepoint. A declared table or policy that PostgreSQL rejects gives a diagnostic;
// anything else that fails is pgtenant's own SQL, which the check cannot go on without.
func (c *checker) apply(ctx context.Context, i int, ch ddl.Change) error {
	kind, name, _ := strings.Cut(ch.Object, " ")
	ti := slices.IndexFunc(c.work.Tables, func(t *schema.Table) bool { return t.Name == name })
	pi := slices.IndexFunc(c.work.Policies, func(p *schema.Policy) bool { return p.Name == name })
	vi := slices.IndexFunc(c.work.Views, func(v *schema.View) bool { return v.Name == name })
	fi := slices.IndexFunc(c.work.Functions, func(f *schema.Function) bool { return f.Name == name })
	switch {
	case kind == "view" && vi >= 0:
		if slices.ContainsFunc(c.work.Views[vi].Reads(), func(n string) bool { return c.missing[n] }) {
			c.missing[name] = true // it reads a table or view that does not exist: its errors would only repeat that
			return nil
		}
		ti, pi = -1, -1
	case kind == "function" && fi >= 0:
		if c.missing[c.work.Functions[fi].Returns.Relation] {
			return nil
		}
		ti, pi = -1, -1
	case kind == "table" && ti >= 0:
		t := c.work.Tables[ti]
		if c.missing[t.Name] || slices.ContainsFunc(t.ForeignKeys, func(fk *schema.ForeignKey) bool {
			return c.missing[fk.RefTable]
		}) {
			c.missing[t.Name] = true // it needs a table that does not exist: its errors would only repeat that
			return nil
		}
	case kind == "policy" && pi >= 0:
		if c.missing[c.work.Policies[pi].Table] {
			return nil
		}
	default:
		r, err := c.try(ctx, render(ch).Up)
		if err == nil && r.pgErr != nil {
			err = r.pgErr
		}
		if err != nil {
			return fmt.Errorf("fragment: %s: %w", ch.Object, err)
		}
		return nil
	}
	// Each round either succeeds, gives up, or repairs one more fragment, never the same one twice.
	repaired := map[hcl.Range]bool{}
	for {
		var frags []*fragment
		fallback := hcl.Range{}
		rendered := render(ch)
		switch {
		case ti >= 0:
			frags, fallback = c.tableFragments(ti, rendered), c.work.Tables[ti].Range
		case pi >= 0:
			frags, fallback = c.policyFragments(pi, rendered), c.work.Policies[pi].Range
		case vi >= 0:
			frags, fallback = c.viewFragments(vi, rendered), c.work.Views[vi].Range
		default:
			frags, fallback = c.functionFragments(fi, rendered), c.work.Functions[fi].Range
		}
		r, err := c.try(ctx, rendered.Up)
		if err != nil {
			return fmt.Errorf("fragment: %s: %w", ch.Object, err)
		}
		if r.pgErr == nil {
			if vi >= 0 {
				return c.viewColumns(ctx, c.work.Views[vi])
			}
			return nil
		}
		f, off, n := attribute(frags, r)
		if f == nil || repaired[f.rng] {
			c.diags = append(c.diags, diagnostic(r.pgErr, fallback, nil))
			break
		}
		c.diags = append(c.diags, diagnostic(r.pgErr, c.work.Locate(f.rng, f.text, off, n), &f.rng))
		if f.repair == nil {
			break
		}
		repaired[f.rng] = true
		f.repair()
		next, err := ddl.Diff(nil, c.work)
		if err != nil || len(next) <= i || next[i].Object != ch.Object {
			return fmt.Errorf("fragment: %s: re-planning without the rejected fragment changed the plan", ch.Object)
		}
		ch = next[i]
	}
	switch {
	case ti >= 0:
		c.missing[c.work.Tables[ti].Name] = true
	case vi >= 0:
		c.missing[c.work.Views[vi].Name] = true
	}
	return nil
}

// viewFragments lists the query of view vi, at the position ddl.Render recorded in r. A query PostgreSQL rejects
// has no neutral stand-in: the view is not created, and what reads it is not checked.
func (c *checker) viewFragments(vi int, r ddl.Rendered) []*fragment {
	v := c.work.Views[vi]
	if v.QueryRange == nil {
		return nil
	}
	return []*fragment{{kind: ddl.FragmentQuery, owner: v.Name, text: v.Query, rng: *v.QueryRange,
		start: fragmentAt(r, ddl.FragmentQuery, v.Name)}}
}

// functionFragments lists the argument types and defaults and the body of function fi, at the positions
// ddl.Render recorded in r. A rejected default is dropped and the function tried again.
func (c *checker) functionFragments(fi int, r ddl.Rendered) []*fragment {
	f := c.work.Functions[fi]
	var out []*fragment
	for j, a := range f.Args {
		owner := f.Name + "." + a.Name
		if a.TypeRange != nil {
			out = append(out, &fragment{kind: ddl.FragmentArgType, owner: owner, text: a.Type, rng: *a.TypeRange,
				start: fragmentAt(r, ddl.FragmentArgType, owner)})
		}
		if a.Default == "" || a.DefaultRange == nil {
			continue
		}
		out = append(out, &fragment{kind: ddl.FragmentArgDefault, owner: owner, text: a.Default, rng: *a.DefaultRange,
			start: fragmentAt(r, ddl.FragmentArgDefault, owner), repair: func() {
				g := *c.work.Functions[fi]
				g.Args = slices.Clone(g.Args)
				arg := *g.Args[j]
				arg.Default = ""
				g.Args[j] = &arg
				c.work.Functions[fi] = &g
			}})
	}
	if f.BodyRange != nil {
		out = append(out, &fragment{kind: ddl.FragmentBody, owner: f.Name, text: f.Body, rng: *f.BodyRange,
			start: fragmentAt(r, ddl.FragmentBody, f.Name)})
	}
	return out
}

// viewColumns compares the columns of view v, just created, with its declared ones (schema.Model.CheckViewColumns).
func (c *checker) viewColumns(ctx context.Context, v *schema.View) error {
	res, err := c.conn.Exec(ctx, `SELECT attname, pg_catalog.format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute
 WHERE attrelid = `+schema.QuoteLiteral(ddl.ViewName(v))+`::pg_catalog.regclass AND attnum > 0 AND NOT attisdropped
 ORDER BY attnum`).ReadAll()
	if err != nil {
		return fmt.Errorf("fragment: the columns of view %s: %w", v.Name, err)
	}
	var got []schema.ViewColumn
	for _, row := range res[0].Rows {
		got = append(got, schema.ViewColumn{Name: string(row[0]), Type: string(row[1])})
	}
	c.diags = append(c.diags, c.work.CheckViewColumns(v, got)...)
	return nil
}

// try runs sql, one of the plan's changes, in a savepoint, rolled back when PostgreSQL rejects it. Each statement
// goes alone to the server (scratch.ExecEach), so the server's own parser confirms that each is one statement. It returns how many statements completed, the byte offset in sql of PostgreSQL's error position (-1 when the
// error has none), the statements' spans in sql, and PostgreSQL's error; err is any other failure.
func (c *checker) try(ctx context.Context, sql string) (r tried, err error) {
	r.pos = -1
	if _, err := c.conn.Exec(ctx, "SAVEPOINT pgtenant_check").ReadAll(); err != nil {
		return r, err
	}
	r.stmts, r.completed, err = scratch.ExecEach(ctx, c.conn, sql)
	if err != nil && !errors.As(err, &r.pgErr) {
		return r, err
	}
	if r.pgErr != nil && r.pgErr.Position > 0 {
		st := r.stmts[r.completed]
		r.pos = st.Start + byteOffset(sql[st.Start:st.End], int(r.pgErr.Position)-1, c.runes)
	}
	if c.conn.TxStatus() == 'I' {
		return r, errors.New("the SQL ended the check's transaction: a fragment holds a COMMIT or ROLLBACK")
	}
	if r.pgErr == nil {
		_, err = c.conn.Exec(ctx, "RELEASE SAVEPOINT pgtenant_check").ReadAll()
		return r, err
	}
	_, err = c.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT pgtenant_check; RELEASE SAVEPOINT pgtenant_check").ReadAll()
	return r, err
}

// tried is what try found out.
type tried struct {
	stmts     []schema.Statement
	completed int
	pos       int // PostgreSQL's error position as a byte offset in the SQL; -1 when it gave none
	pgErr     *pgconn.PgError
}

// render writes one change as SQL, with where its declared fragments landed.
func render(ch ddl.Change) ddl.Rendered {
	return ddl.Render([]ddl.Change{ch}, ddl.SingleNode).Changes[0]
}

// fragmentAt is where ddl.Render put the fragment of kind that belongs to owner in r; -1 when it is not there.
func fragmentAt(r ddl.Rendered, kind, owner string) int {
	for _, f := range r.Fragments {
		if f.Kind == kind && f.Owner == owner {
			return f.Start
		}
	}
	return -1
}

// tableFragments lists the declared SQL of table ti, at the positions ddl.Render recorded in r, the statements
// ddl made for it. A piece without a position (not in this change) falls back to the table's range.
func (c *checker) tableFragments(ti int, r ddl.Rendered) []*fragment {
	t := c.work.Tables[ti]
	var out []*fragment
	for j, col := range t.Columns {
		if col.TypeRange != nil {
			out = append(out, &fragment{kind: ddl.FragmentType, owner: col.Name, text: col.Type, rng: *col.TypeRange,
				start: fragmentAt(r, ddl.FragmentType, col.Name)})
		}
		if col.Default == "" || col.DefaultRange == nil {
			continue
		}
		out = append(out, &fragment{kind: ddl.FragmentDefault, owner: col.Name, text: col.Default, rng: *col.DefaultRange,
			start: fragmentAt(r, ddl.FragmentDefault, col.Name), repair: c.repairTable(ti, func(t *schema.Table) {
				cp := *t.Columns[j]
				cp.Default = ""
				t.Columns[j] = &cp
			})})
	}
	for j, chk := range t.Checks {
		if chk.ExprRange == nil {
			continue
		}
		out = append(out, &fragment{kind: ddl.FragmentCheck, owner: chk.Name, text: chk.Expr, rng: *chk.ExprRange,
			start: fragmentAt(r, ddl.FragmentCheck, chk.Name), repair: c.repairTable(ti, func(t *schema.Table) {
				cp := *t.Checks[j]
				cp.Expr = "true"
				t.Checks[j] = &cp
			})})
	}
	for j, ix := range t.Indexes {
		if ix.Where == "" || ix.WhereRange == nil {
			continue
		}
		out = append(out, &fragment{kind: ddl.FragmentWhere, owner: ix.Name, text: ix.Where, rng: *ix.WhereRange,
			start: fragmentAt(r, ddl.FragmentWhere, ix.Name), repair: c.repairTable(ti, func(t *schema.Table) {
				cp := *t.Indexes[j]
				cp.Where = ""
				t.Indexes[j] = &cp
			})})
	}
	return out
}

// policyFragments lists the using and check clauses of policy pi, at the positions ddl.Render recorded in r.
func (c *checker) policyFragments(pi int, r ddl.Rendered) []*fragment {
	p := c.work.Policies[pi]
	var out []*fragment
	add := func(kind, text string, rng *hcl.Range, neutral func(*schema.Policy)) {
		if text == "" || rng == nil {
			return
		}
		out = append(out, &fragment{kind: kind, owner: p.Name, text: text, rng: *rng, start: fragmentAt(r, kind, p.Name),
			repair: func() {
				q := *c.work.Policies[pi]
				neutral(&q)
				c.work.Policies[pi] = &q
			}})
	}
	add(ddl.FragmentUsing, p.Using, p.UsingRange, func(q *schema.Policy) { q.Using = "true" })
	add(ddl.FragmentWithCheck, p.Check, p.CheckRange, func(q *schema.Policy) { q.Check = "true" })
	return out
}

// repairTable is a fragment's repair: editTable with edit.
func (c *checker) repairTable(ti int, edit func(*schema.Table)) func() {
	return func() { c.editTable(ti, edit) }
}

// editTable replaces table ti of the work model by an edited copy, leaving the declaration alone.
func (c *checker) editTable(ti int, edit func(*schema.Table)) {
	t := *c.work.Tables[ti]
	t.Columns, t.Checks, t.Indexes = slices.Clone(t.Columns), slices.Clone(t.Checks), slices.Clone(t.Indexes)
	edit(&t)
	c.work.Tables[ti] = &t
}

func cloneModel(m *schema.Model) *schema.Model {
	w := *m
	w.Tables, w.Policies = slices.Clone(m.Tables), slices.Clone(m.Policies)
	w.Views, w.Functions = slices.Clone(m.Views), slices.Clone(m.Functions)
	return &w
}

var quotedName = regexp.MustCompile(`"((?:[^"]|"")+)"`)

// attribute finds the fragment an error is about, and the part of it (offset and length in its text; -1 for the
// whole) to point at; nil when it is none of them. PostgreSQL gives the position of most errors. Some come
// without one: a policy's expressions are checked with no statement text at hand (column "x" does not exist), and
// an index predicate's functions or a default's type are checked after parsing; narrow deals with those.
func attribute(frags []*fragment, r tried) (*fragment, int, int) {
	if pos := r.pos; pos >= 0 {
		// The position is where the error is noticed: for a syntax error at the end of a fragment, the parenthesis
		// or comma just after it.
		for _, strict := range []bool{true, false} {
			for _, f := range frags {
				if f.start >= 0 && f.start <= pos && (pos < f.end() || !strict && pos == f.end()) {
					start, end := schema.Token(f.text, pos-f.start)
					return f, start, end - start
				}
			}
		}
	}
	return narrow(frags, r)
}

// narrow finds the fragment of an error that no position places: among the fragments of the statement that
// failed (the one holding the position, or the one after the completed ones), the one whose owner the message
// quotes, whose kind it names, or that refers to a name it quotes.
func narrow(frags []*fragment, r tried) (*fragment, int, int) {
	var stmt schema.Statement
	switch i := slices.IndexFunc(r.stmts, func(s schema.Statement) bool { return s.Start <= r.pos && r.pos < s.End }); {
	case r.pos >= 0 && i >= 0:
		stmt = r.stmts[i]
	case r.pos < 0 && r.completed < len(r.stmts):
		stmt = r.stmts[r.completed]
	default:
		return nil, -1, 0
	}
	var names []string
	for _, m := range quotedName.FindAllStringSubmatch(r.pgErr.Message, -1) {
		names = append(names, strings.ReplaceAll(m[1], `""`, `"`))
	}
	msg := strings.ToLower(r.pgErr.Message)
	cands := slices.DeleteFunc(slices.Clone(frags), func(f *fragment) bool {
		return f.start < stmt.Start || f.end() > stmt.End
	})
	for _, keep := range []func(*fragment) bool{
		func(f *fragment) bool { return slices.Contains(names, f.owner) },
		func(f *fragment) bool { return strings.Contains(msg, kindWords[f.kind]) },
		func(f *fragment) bool { return refersTo(f, names) >= 0 },
	} {
		if len(cands) == 1 {
			break
		}
		if narrowed := slices.DeleteFunc(slices.Clone(cands), func(f *fragment) bool { return !keep(f) }); len(narrowed) > 0 {
			cands = narrowed
		}
	}
	if len(cands) != 1 {
		return nil, -1, 0
	}
	f := cands[0]
	if off := refersTo(f, names); off >= 0 {
		start, end := schema.Token(f.text, off)
		return f, start, end - start
	}
	return f, -1, 0
}

// refersTo returns where fragment f first refers to one of names, as PostgreSQL's parser reads it; -1 when it
// refers to none.
func refersTo(f *fragment, names []string) int {
	kind := schema.ExprFragment
	switch f.kind {
	case ddl.FragmentType, ddl.FragmentArgType:
		kind = schema.TypeFragment
	case ddl.FragmentDefault, ddl.FragmentArgDefault:
		kind = schema.DefaultFragment
	case ddl.FragmentQuery:
		kind = schema.QueryFragment
	case ddl.FragmentBody:
		return -1 // a body is statements, not one fragment
	}
	parsed, err := schema.ParseFragment(kind, f.text)
	if err != nil {
		return -1
	}
	for _, n := range parsed.Names() {
		if slices.Contains(names, n.Text) && n.Offset >= 0 {
			return n.Offset
		}
	}
	return -1
}

// kindWords are how PostgreSQL's messages name each kind of fragment. A message about a type names it in quotes
// (type "x" does not exist); a bare "type" says nothing, since messages about defaults and checks use it too.
var kindWords = map[string]string{
	ddl.FragmentType: `type "`, ddl.FragmentDefault: "default", ddl.FragmentCheck: "check",
	ddl.FragmentWhere: "index predicate", ddl.FragmentUsing: "using", ddl.FragmentWithCheck: "with check",
	ddl.FragmentArgDefault: "default",
}

// diagnostic reports a rejected fragment at subject, within the fragment's whole range (context).
func diagnostic(e *pgconn.PgError, subject hcl.Range, context *hcl.Range) *hcl.Diagnostic {
	detail := fmt.Sprintf("%s (SQLSTATE %s).", e.Message, e.Code)
	if e.Detail != "" {
		detail += " " + e.Detail
	}
	if e.Hint != "" {
		detail += " Hint: " + e.Hint
	}
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid SQL", Detail: detail, Subject: subject.Ptr()}
	if context != nil && *context != subject {
		d.Context = context
	}
	return d
}

// byteOffset turns PostgreSQL's 0-based character offset into s into a byte offset.
func byteOffset(s string, chars int, runes bool) int {
	if !runes {
		return min(chars, len(s))
	}
	for i := range s {
		if chars == 0 {
			return i
		}
		chars--
	}
	return len(s)
}
