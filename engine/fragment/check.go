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

// Check applies the full plan for m (ddl.Plan(nil, m)) to a new scratch database created through serverURL
// (a role that may CREATE DATABASE), reports every SQL fragment PostgreSQL rejects as an hcl.Diagnostic located at
// that fragment's source range, and drops the scratch database.
//
// The fragments are what the declaration passes through to PostgreSQL as written: column types and defaults,
// check expressions, index `where` predicates and policy `using`/`check` clauses. Every change runs in its own
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
	changes, err := ddl.Plan(nil, m)
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
	kind   string // "type", "default", "check", "where", "using" or "with check"
	owner  string // the column, check or index it belongs to; "" for a policy clause
	text   string
	rng    hcl.Range
	start  int    // byte offset of text in the change's SQL; -1 when it was not found there
	repair func() // replaces the fragment in the work model with a neutral one; nil when none is safe
}

func (f *fragment) end() int { return f.start + len(f.text) }

// apply runs one change in a savepoint. A declared table or policy that PostgreSQL rejects gives a diagnostic;
// anything else that fails is pgtenant's own SQL, which the check cannot go on without.
func (c *checker) apply(ctx context.Context, i int, ch ddl.Change) error {
	kind, name, _ := strings.Cut(ch.Object, " ")
	ti := slices.IndexFunc(c.work.Tables, func(t *schema.Table) bool { return t.Name == name })
	pi := slices.IndexFunc(c.work.Policies, func(p *schema.Policy) bool { return p.Name == name })
	switch {
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
		r, err := c.try(ctx, ch.Up)
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
		if ti >= 0 {
			frags, fallback = c.tableFragments(ti, ch.Up), c.work.Tables[ti].Range
		} else {
			frags, fallback = c.policyFragments(pi, ch.Up), c.work.Policies[pi].Range
		}
		r, err := c.try(ctx, ch.Up)
		if err != nil {
			return fmt.Errorf("fragment: %s: %w", ch.Object, err)
		}
		if r.pgErr == nil {
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
		next, err := ddl.Plan(nil, c.work)
		if err != nil || len(next) <= i || next[i].Object != ch.Object {
			return fmt.Errorf("fragment: %s: re-planning without the rejected fragment changed the plan", ch.Object)
		}
		ch = next[i]
	}
	if ti >= 0 {
		c.missing[c.work.Tables[ti].Name] = true
	}
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

// tableFragments finds the declared SQL of table ti in up, the statements ddl made for it. Each piece is looked
// for together with what ddl writes just before it (the column's name and type, the constraint's or index's
// name), so that a short default such as 0 is not found inside a name. A piece that is not found (ddl laid the
// SQL out differently) keeps start -1, and its errors fall back to the table's range.
func (c *checker) tableFragments(ti int, up string) []*fragment {
	t := c.work.Tables[ti]
	var out []*fragment
	cursor := 0
	for j, col := range t.Columns {
		typeAt := -1
		if at := findLaidOut(up, ddl.Ident(col.Name)+" "+col.Type, cursor); at >= 0 {
			typeAt = at + len(ddl.Ident(col.Name)) + 1
			cursor = typeAt + len(col.Type)
		}
		if col.TypeRange != nil {
			out = append(out, &fragment{kind: "type", owner: col.Name, text: col.Type, rng: *col.TypeRange, start: typeAt})
		}
		if col.Default == "" || col.DefaultRange == nil {
			continue
		}
		defaultAt := -1
		if typeAt >= 0 {
			if k := strings.Index(up[cursor:], " DEFAULT "+col.Default); k >= 0 {
				defaultAt = cursor + k + len(" DEFAULT ")
			}
		}
		out = append(out, &fragment{kind: "default", owner: col.Name, text: col.Default, rng: *col.DefaultRange,
			start: defaultAt, repair: func() {
				c.editTable(ti, func(t *schema.Table) {
					cp := *t.Columns[j]
					cp.Default = ""
					t.Columns[j] = &cp
				})
			}})
	}
	for j, chk := range t.Checks {
		if chk.ExprRange == nil {
			continue
		}
		prefix := "CONSTRAINT " + ddl.Ident(chk.Name) + " CHECK ("
		at := findLaidOut(up, prefix+chk.Expr+")", 0)
		if at >= 0 {
			at += len(prefix)
		}
		out = append(out, &fragment{kind: "check", owner: chk.Name, text: chk.Expr, rng: *chk.ExprRange, start: at,
			repair: func() {
				c.editTable(ti, func(t *schema.Table) {
					cp := *t.Checks[j]
					cp.Expr = "true"
					t.Checks[j] = &cp
				})
			}})
	}
	for j, ix := range t.Indexes {
		if ix.Where == "" || ix.WhereRange == nil {
			continue
		}
		at := -1
		if k := findLaidOut(up, "INDEX "+ddl.Ident(ix.Name)+" ON ", 0); k >= 0 {
			if w := strings.Index(up[k:], " WHERE ("+ix.Where+")"); w >= 0 {
				at = k + w + len(" WHERE (")
			}
		}
		out = append(out, &fragment{kind: "where", owner: ix.Name, text: ix.Where, rng: *ix.WhereRange, start: at,
			repair: func() {
				c.editTable(ti, func(t *schema.Table) {
					cp := *t.Indexes[j]
					cp.Where = ""
					t.Indexes[j] = &cp
				})
			}})
	}
	return out
}

// policyFragments finds the using and check clauses of policy pi in up.
func (c *checker) policyFragments(pi int, up string) []*fragment {
	p := c.work.Policies[pi]
	var out []*fragment
	add := func(kind, text string, rng *hcl.Range, prefix string, neutral func(*schema.Policy)) {
		if text == "" || rng == nil {
			return
		}
		at := strings.Index(up, prefix+text+")")
		if at >= 0 {
			at += len(prefix)
		}
		out = append(out, &fragment{kind: kind, text: text, rng: *rng, start: at, repair: func() {
			q := *c.work.Policies[pi]
			neutral(&q)
			c.work.Policies[pi] = &q
		}})
	}
	add("using", p.Using, p.UsingRange, "USING (", func(q *schema.Policy) { q.Using = "true" })
	add("with check", p.Check, p.CheckRange, "WITH CHECK (", func(q *schema.Policy) { q.Check = "true" })
	return out
}

// findLaidOut returns the index of the first sub in s, SQL that ddl wrote, at or after from where it does not
// continue a name (the byte before it is no letter, digit, '_' or '$'), or -1. sub is text ddl lays out around a
// fragment: a column's name and type, a constraint's or an index's name.
func findLaidOut(s, sub string, from int) int {
	for from <= len(s) {
		k := strings.Index(s[from:], sub)
		if k < 0 {
			return -1
		}
		if at := from + k; at == 0 || !nameByte(s[at-1]) {
			return at
		}
		from += k + 1
	}
	return -1
}

func nameByte(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
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
	case "type":
		kind = schema.TypeFragment
	case "default":
		kind = schema.DefaultFragment
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
	"type": `type "`, "default": "default", "check": "check", "where": "index predicate",
	"using": "using", "with check": "with check",
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
