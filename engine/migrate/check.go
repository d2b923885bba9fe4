package migrate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"pgtenant/engine/ddl"
	"pgtenant/schema"
)

// CheckSQL applies the full plan for m (ddl.Plan(nil, m)) to a new scratch database created through serverURL
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
// The error reports what kept the check from running: no connection, a server older than PostgreSQL 15, or
// pgtenant's own SQL (roles, the tenant registry) refused by the server. The diagnostics are nil when err is not.
func CheckSQL(ctx context.Context, serverURL string, m *schema.Model) (diags hcl.Diagnostics, err error) {
	changes, err := ddl.Plan(nil, m)
	if err != nil {
		return nil, fmt.Errorf("migrate: check: %w", err)
	}
	cfg, err := pgconn.ParseConfig(serverURL)
	if err != nil {
		return nil, fmt.Errorf("migrate: check: %w", err)
	}
	err = WithScratch(ctx, serverURL, "pgtenant_check_", func(name string) error {
		scratch := cfg.Copy()
		scratch.Database = name
		conn, err := pgconn.ConnectConfig(ctx, scratch)
		if err != nil {
			return fmt.Errorf("migrate: check: connect to %s: %w", name, err)
		}
		defer func() {
			// An explicit ROLLBACK, so that the roles are gone when CheckSQL returns; if the connection broke, the
			// server rolls back when DROP DATABASE … WITH (FORCE) ends the session.
			cctx, cancel := CleanupContext(ctx)
			defer cancel()
			if !conn.IsClosed() {
				_, _ = conn.Exec(cctx, "ROLLBACK").ReadAll()
			}
			_ = conn.Close(cctx)
		}()
		if _, err := conn.Exec(ctx, "BEGIN").ReadAll(); err != nil {
			return fmt.Errorf("migrate: check: %w", err)
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
		_, pgErr, err := c.try(ctx, ch.Up)
		if err == nil && pgErr != nil {
			err = pgErr
		}
		if err != nil {
			return fmt.Errorf("migrate: check: %s: %w", ch.Object, err)
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
		completed, pgErr, err := c.try(ctx, ch.Up)
		if err != nil {
			return fmt.Errorf("migrate: check: %s: %w", ch.Object, err)
		}
		if pgErr == nil {
			return nil
		}
		f, off, n := c.attribute(ch.Up, frags, pgErr, completed)
		if f == nil || repaired[f.rng] {
			c.diags = append(c.diags, diagnostic(pgErr, fallback, nil))
			break
		}
		c.diags = append(c.diags, diagnostic(pgErr, subRange(f, off, n), &f.rng))
		if f.repair == nil {
			break
		}
		repaired[f.rng] = true
		f.repair()
		next, err := ddl.Plan(nil, c.work)
		if err != nil || len(next) <= i || next[i].Object != ch.Object {
			return fmt.Errorf("migrate: check: %s: re-planning without the rejected fragment changed the plan", ch.Object)
		}
		ch = next[i]
	}
	if ti >= 0 {
		c.missing[c.work.Tables[ti].Name] = true
	}
	return nil
}

// try runs sql in a savepoint, rolled back when PostgreSQL rejects it. It returns how many of its statements
// completed and PostgreSQL's error; err is any other failure.
func (c *checker) try(ctx context.Context, sql string) (completed int, pgErr *pgconn.PgError, err error) {
	if _, err := c.conn.Exec(ctx, "SAVEPOINT pgtenant_check").ReadAll(); err != nil {
		return 0, nil, err
	}
	// The SQL goes alone in one simple-protocol Query message, so that an error position counts from its start.
	mrr := c.conn.Exec(ctx, sql)
	for mrr.NextResult() {
		if _, err := mrr.ResultReader().Close(); err == nil {
			completed++
		}
	}
	err = mrr.Close()
	if err != nil && !errors.As(err, &pgErr) {
		return 0, nil, err
	}
	if c.conn.TxStatus() == 'I' {
		return 0, nil, errors.New("the SQL ended the check's transaction: a fragment holds a COMMIT or ROLLBACK")
	}
	if pgErr == nil {
		_, err = c.conn.Exec(ctx, "RELEASE SAVEPOINT pgtenant_check").ReadAll()
		return completed, nil, err
	}
	_, err = c.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT pgtenant_check; RELEASE SAVEPOINT pgtenant_check").ReadAll()
	return completed, pgErr, err
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
		if at := schema.FindToken(up, ddl.Ident(col.Name)+" "+col.Type, cursor); at >= 0 {
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
		at := schema.FindToken(up, prefix+chk.Expr+")", 0)
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
		if k := schema.FindToken(up, "INDEX "+ddl.Ident(ix.Name)+" ON ", 0); k >= 0 {
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

// syntaxError is the SQLSTATE of a statement PostgreSQL cannot parse.
const syntaxError = "42601"

var quotedName = regexp.MustCompile(`"((?:[^"]|"")+)"`)

// attribute finds the fragment an error is about, and the part of it (offset and length in its text; -1 for the
// whole) to point at; nil when it is none of them. PostgreSQL gives the position of most errors. Some come
// without one: a policy's expressions are checked with no statement text at hand (column "x" does not exist), and
// an index predicate's functions or a default's type are checked after parsing; narrow deals with those.
func (c *checker) attribute(up string, frags []*fragment, e *pgconn.PgError, completed int) (*fragment, int, int) {
	pos := -1
	if e.Position > 0 {
		pos = byteOffset(up, int(e.Position)-1, c.runes)
	}
	if e.Code == syntaxError {
		// A fragment that does not balance its brackets and quotes, such as "(a = b" or "text[", upsets the SQL
		// after it, where PostgreSQL then notices the error: blame it when it is the only one before that point.
		odd := slices.DeleteFunc(slices.Clone(frags), func(f *fragment) bool {
			return f.start < 0 || schema.Balanced(f.text) || pos >= 0 && f.start > pos
		})
		if len(odd) == 1 {
			if f := odd[0]; pos >= 0 && pos < f.end() {
				return f, pos - f.start, tokenLength(f.text, pos-f.start)
			}
			return odd[0], -1, 0
		}
	}
	if pos >= 0 {
		// The position is where the error is noticed: for a syntax error at the end of a fragment, the parenthesis
		// or comma just after it.
		for _, strict := range []bool{true, false} {
			for _, f := range frags {
				if f.start >= 0 && f.start <= pos && (pos < f.end() || !strict && pos == f.end()) {
					return f, pos - f.start, tokenLength(f.text, pos-f.start)
				}
			}
		}
	}
	return narrow(up, frags, e, pos, completed)
}

// narrow finds the fragment of an error that no position places: among the fragments of the statement that
// failed (the one holding pos, or the one after the completed ones), the one whose owner the message quotes,
// whose kind it names, or whose text holds a name it quotes.
func narrow(up string, frags []*fragment, e *pgconn.PgError, pos, completed int) (*fragment, int, int) {
	stmts := statements(up)
	var stmt [2]int
	switch i := slices.IndexFunc(stmts, func(s [2]int) bool { return s[0] <= pos && pos < s[1] }); {
	case pos >= 0 && i >= 0:
		stmt = stmts[i]
	case pos < 0 && completed < len(stmts):
		stmt = stmts[completed]
	default:
		return nil, -1, 0
	}
	var names []string
	for _, m := range quotedName.FindAllStringSubmatch(e.Message, -1) {
		names = append(names, strings.ReplaceAll(m[1], `""`, `"`))
	}
	msg := strings.ToLower(e.Message)
	cands := slices.DeleteFunc(slices.Clone(frags), func(f *fragment) bool {
		return f.start < stmt[0] || f.end() > stmt[1]
	})
	for _, keep := range []func(*fragment) bool{
		func(f *fragment) bool { return slices.Contains(names, f.owner) },
		func(f *fragment) bool { return strings.Contains(msg, kindWords[f.kind]) },
		func(f *fragment) bool {
			return slices.ContainsFunc(names, func(n string) bool { return schema.WordIndex(f.text, n) >= 0 })
		},
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
	for _, n := range names {
		if k := schema.WordIndex(f.text, n); k >= 0 {
			return f, k, len(n)
		}
	}
	return f, -1, 0
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

// subRange narrows a fragment's source range to n bytes at offset off of its text when the source spells the
// text out as it is, which the lengths tell: a quoted string without escapes ("is_published": 2 bytes more than
// the text), a type or default written as sql("…") without escapes (7 more) or bare (uuid, varchar(8), 0: as
// long). Otherwise, or for off < 0, it is the whole range.
func subRange(f *fragment, off, n int) hcl.Range {
	r := f.rng
	if off < 0 || off >= len(f.text) || r.Start.Line != r.End.Line {
		return r
	}
	sqlCall := f.kind == "type" || f.kind == "default"
	var lead int
	switch extra := r.End.Byte - r.Start.Byte - len(f.text); {
	case extra == 0 && sqlCall:
		lead = 0
	case extra == 7 && sqlCall:
		lead = len(`sql("`)
	case extra == 2 && !sqlCall:
		lead = 1
	default:
		return r
	}
	n = max(1, min(n, len(f.text)-off))
	at := func(k int) hcl.Pos {
		return hcl.Pos{Line: r.Start.Line, Column: r.Start.Column + lead + utf8.RuneCountInString(f.text[:k]),
			Byte: r.Start.Byte + lead + k}
	}
	return hcl.Range{Filename: r.Filename, Start: at(off), End: at(off + n)}
}

// tokenLength is the length of the token at off in text: a name, a quoted name, or one character.
func tokenLength(text string, off int) int {
	if off < 0 || off >= len(text) {
		return 0
	}
	if text[off] == '"' {
		if k := strings.IndexByte(text[off+1:], '"'); k >= 0 {
			return k + 2
		}
	}
	n := 0
	for off+n < len(text) && schema.IsIdentByte(text[off+n]) {
		n++
	}
	return max(n, 1)
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

// statements returns the byte spans of the statements in sql, split as PostgreSQL splits a simple query: at
// semicolons outside quotes, dollar quotes and comments. A comment before a statement belongs to its span.
func statements(sql string) [][2]int {
	var out [][2]int
	start, token := 0, false
	for i := 0; i < len(sql); {
		ch := sql[i]
		switch {
		case strings.HasPrefix(sql[i:], "--"):
			if k := strings.IndexByte(sql[i:], '\n'); k >= 0 {
				i += k + 1
			} else {
				i = len(sql)
			}
			continue
		case strings.HasPrefix(sql[i:], "/*"):
			if i = schema.SkipBlockComment(sql, i); i < 0 {
				i = len(sql)
			}
			continue
		case ch == '\'' || ch == '"':
			// E'…' strings may escape a quote with a backslash.
			escapes := ch == '\'' && i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i == 1 || !schema.IsIdentByte(sql[i-2]))
			if i = schema.SkipQuoted(sql, i, escapes); i < 0 {
				i = len(sql)
			}
			token = true
			continue
		case ch == '$' && (i == 0 || !schema.IsIdentByte(sql[i-1])):
			if tag := dollarTag(sql[i:]); tag != "" {
				if k := strings.Index(sql[i+len(tag):], tag); k >= 0 {
					i += len(tag) + k + len(tag)
				} else {
					i = len(sql)
				}
				token = true
				continue
			}
		case ch == ';':
			if token {
				out = append(out, [2]int{start, i + 1})
			}
			start, token = i+1, false
			i++
			continue
		}
		if ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' {
			token = true
		}
		i++
	}
	if token {
		out = append(out, [2]int{start, len(sql)})
	}
	return out
}

// dollarTag returns the $tag$ that s starts with, or "".
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		b := s[j]
		if b == '$' {
			return s[:j+1]
		}
		if !schema.IsIdentByte(b) || j == 1 && b >= '0' && b <= '9' {
			return ""
		}
	}
	return ""
}

// majorVersion reads the major version from a server_version such as "15.6 (Debian 15.6-1)"; 0 if it cannot.
func majorVersion(v string) int {
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(v)
	}
	n, _ := strconv.Atoi(v[:end])
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b)
}
