package schema

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file checks the SQL fragments of the declaration (column types and defaults, check expressions, index
// predicates, policy clauses) with PostgreSQL's own grammar: libpg_query, PostgreSQL's parser compiled as a
// library (through pg_query_go, the parser sqlc uses). The generator pastes each fragment into a migration as
// written, so each must be exactly one thing of its kind, or it could change the SQL around it (a review found: a
// dollar quote or an E'' string hid a closing bracket and a whole ALTER TABLE from a hand-written scanner).

// FragmentKind is the place a fragment of declared SQL fills in the statements the generator writes.
type FragmentKind int

const (
	// ExprFragment is an expression the generator writes in brackets: CHECK (…), WHERE (…), USING (…),
	// WITH CHECK (…).
	ExprFragment FragmentKind = iota
	// DefaultFragment is a column default, written without brackets: … DEFAULT <expression>.
	DefaultFragment
	// TypeFragment is a column type: CREATE TABLE … (c <type>).
	TypeFragment
	// QueryFragment is the query of a view: CREATE VIEW … AS <query>.
	QueryFragment
)

// wrapper is the statement a fragment of a kind is parsed in: prefix, the fragment, suffix. A template of the
// statement with a stand-in for the fragment has the shape every fragment's statement must have once the
// fragment's node is taken out of it.
type wrapper struct {
	prefix, standIn, suffix string
	// take removes the fragment's node from a parsed statement of the wrapper and returns it; nil when the
	// statement does not have the node where the wrapper puts it.
	take func(stmt *pg.Node) proto.Message
}

var wrappers = map[FragmentKind]wrapper{
	// The brackets of USING (…) are the statement's own, as those of CHECK (…) are: in SELECT (…) they would be
	// the expression's, and make a row of "a, b".
	ExprFragment: {prefix: "CREATE POLICY pgtenant_fragment ON pgtenant_fragment USING (", standIn: "NULL", suffix: ")",
		take: func(stmt *pg.Node) proto.Message {
			p := stmt.GetCreatePolicyStmt()
			if p == nil || p.Qual == nil {
				return nil
			}
			e := p.Qual
			p.Qual = nil
			return e
		}},
	DefaultFragment: {prefix: "CREATE TABLE pgtenant_fragment (c integer DEFAULT ", standIn: "NULL", suffix: ")",
		take: func(stmt *pg.Node) proto.Message {
			col := onlyColumn(stmt)
			if col == nil || len(col.Constraints) != 1 {
				return nil
			}
			con := col.Constraints[0].GetConstraint()
			if con == nil || con.Contype != pg.ConstrType_CONSTR_DEFAULT || con.RawExpr == nil {
				return nil
			}
			e := con.RawExpr
			con.RawExpr = nil
			return e
		}},
	TypeFragment: {prefix: "CREATE TABLE pgtenant_fragment (c ", standIn: "integer", suffix: ")",
		take: func(stmt *pg.Node) proto.Message {
			col := onlyColumn(stmt)
			if col == nil || col.TypeName == nil {
				return nil
			}
			t := col.TypeName
			col.TypeName = nil
			return t
		}},
	// A view's own options (WITH CHECK OPTION after the query) are the statement's, so the comparison with the
	// template refuses a query that sets them.
	QueryFragment: {prefix: "CREATE VIEW pgtenant_fragment AS ", standIn: "SELECT", suffix: "",
		take: func(stmt *pg.Node) proto.Message {
			v := stmt.GetViewStmt()
			if v == nil || v.Query == nil || v.Query.GetSelectStmt() == nil {
				return nil
			}
			q := v.Query
			v.Query = nil
			return q
		}},
}

// onlyColumn is the one column definition of a CREATE TABLE statement; nil for anything else.
func onlyColumn(stmt *pg.Node) *pg.ColumnDef {
	ct := stmt.GetCreateStmt()
	if ct == nil || len(ct.TableElts) != 1 {
		return nil
	}
	return ct.TableElts[0].GetColumnDef()
}

// what names a kind in messages.
func (k FragmentKind) what() string {
	switch k {
	case TypeFragment:
		return "one column type"
	case QueryFragment:
		return "one query"
	}
	return "one expression"
}

// FragmentError is a problem with a fragment of declared SQL: Summary and Detail as in a diagnostic, at byte
// Offset of the fragment's text, Length bytes long. Offset is -1 when the problem is the whole fragment.
type FragmentError struct {
	Offset, Length int
	Summary        string
	Detail         string
}

func (e *FragmentError) Error() string { return "schema: " + e.Summary + ": " + e.Detail }

// Summaries of fragment problems.
const (
	invalidFragment   = "Invalid SQL fragment"
	forbiddenFunction = "Forbidden SQL function"
)

func invalid(off, n int, format string, args ...any) *FragmentError {
	return &FragmentError{Offset: off, Length: n, Summary: invalidFragment, Detail: fmt.Sprintf(format, args...)}
}

// Fragment is a fragment of declared SQL that PostgreSQL's grammar reads as exactly one thing of its kind.
type Fragment struct {
	Kind FragmentKind
	Text string
	node proto.Message // the expression, or the TypeName of a type
	base int           // where Text starts in the statement that was parsed: node locations count from there
}

// ParseFragment parses text as exactly one fragment of kind: the lexer's tokens must close every bracket they
// open and hold no ';' and no comment, and the parser must read the statement the fragment is placed in (see
// wrappers) as exactly that statement with one node of the kind in the fragment's place. The error says what is
// wrong and where in text.
func ParseFragment(kind FragmentKind, text string) (*Fragment, *FragmentError) {
	return parseFragment(kind, text, true)
}

// parseFragment is ParseFragment; without strict, it leaves out the checks of the lexer's tokens and reads only
// what the parser makes of the fragment: enough to learn the names it refers to.
func parseFragment(kind FragmentKind, text string, strict bool) (*Fragment, *FragmentError) {
	w, ok := wrappers[kind]
	if !ok {
		return nil, invalid(-1, 0, "unknown fragment kind %d", kind)
	}
	if strings.TrimSpace(text) == "" {
		return nil, invalid(-1, 0, "The fragment is empty.")
	}
	if e := plainText(text); e != nil {
		return nil, e
	}
	if e := checkTokens(kind, text); strict && e != nil {
		return nil, e
	}
	sql := w.prefix + text + w.suffix
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, parseError(err, sql, len(w.prefix), text, strings.TrimPrefix(kind.what(), "one "))
	}
	template, err := pg.Parse(w.prefix + w.standIn + w.suffix)
	if err != nil {
		return nil, invalid(-1, 0, "pgtenant's own template does not parse: %v", err) // cannot happen
	}
	notOne := invalid(-1, 0, "PostgreSQL reads this as more than %s: write exactly %s, without a clause "+
		"that continues the SQL around it.", kind.what(), kind.what())
	if len(tree.Stmts) != 1 {
		return nil, notOne
	}
	got, want := tree.Stmts[0].Stmt, template.Stmts[0].Stmt
	node := w.take(got)
	w.take(want)
	if node == nil || !proto.Equal(got, want) {
		return nil, notOne
	}
	return &Fragment{Kind: kind, Text: text, node: node, base: len(w.prefix)}, nil
}

// plainText refuses what no fragment needs and a parser reading C strings would cut short: NUL and other
// control characters but tab, newline and carriage return, and text that is not UTF-8.
func plainText(text string) *FragmentError {
	if !utf8.ValidString(text) {
		return invalid(-1, 0, "The fragment is not valid UTF-8.")
	}
	for i, r := range text {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return invalid(i, 1, "The fragment holds the control character %U; write it as an escape in an E'' string.", r)
		}
	}
	return nil
}

// checkTokens reads text with PostgreSQL's lexer and refuses a ';', a comment, a bracket that closes one the
// fragment did not open or stays open, and a backslash in a plain '…' string: with standard_conforming_strings
// off (a setting a database or role can carry) a backslash escapes the quote after it, and the string would end
// somewhere else than the lexer here says. E'…' strings and dollar quotes read the same either way.
func checkTokens(kind FragmentKind, text string) *FragmentError {
	scan, err := pg.Scan(text)
	if err != nil {
		return parseError(err, text, 0, text, strings.TrimPrefix(kind.what(), "one "))
	}
	var open []*pg.ScanToken
	closing := map[pg.Token]pg.Token{pg.Token_ASCII_41: pg.Token_ASCII_40, pg.Token_ASCII_93: pg.Token_ASCII_91}
	for _, tok := range scan.Tokens {
		start, end := int(tok.Start), int(tok.End)
		switch tok.Token {
		case pg.Token_SQL_COMMENT, pg.Token_C_COMMENT:
			return invalid(start, end-start, "Leave comments out of SQL fragments: a comment can hide text "+
				"from a review of the migration, and a -- comment would swallow the SQL after the fragment.")
		case pg.Token_ASCII_59:
			return invalid(start, 1, "A fragment is %s, so it cannot hold a ';' outside a string.", kind.what())
		case pg.Token_ASCII_40, pg.Token_ASCII_91:
			open = append(open, tok)
		case pg.Token_ASCII_41, pg.Token_ASCII_93:
			if len(open) == 0 || open[len(open)-1].Token != closing[tok.Token] {
				return invalid(start, 1, "This %q closes a bracket the fragment did not open.", text[start:end])
			}
			open = open[:len(open)-1]
		case pg.Token_SCONST:
			if backslashInPlain(text[start:end]) {
				return invalid(start, end-start, backslashDetail)
			}
		}
	}
	if len(open) > 0 {
		t := open[len(open)-1]
		return invalid(int(t.Start), 1, "This %q is never closed.", text[t.Start:t.End])
	}
	return nil
}

// backslashInPlain reports whether the string token raw is a plain '…' string that holds a backslash (see
// checkTokens); backslashDetail says why that is refused.
func backslashInPlain(raw string) bool { return raw[0] == '\'' && strings.Contains(raw, `\`) }

const backslashDetail = `A plain '…' string may not hold a backslash: a server with standard_conforming_strings ` +
	`off would read it as an escape. Write E'…' with the backslash doubled, or a dollar-quoted string.`

// parseError turns libpg_query's error about sql, in which the fragment text starts at byte base, into a
// FragmentError placed in text; noun is what text should have been ("expression", "function body").
func parseError(err error, sql string, base int, text string, noun string) *FragmentError {
	var pe *pgparser.Error
	if !errors.As(err, &pe) {
		return invalid(-1, 0, "PostgreSQL's parser refused it: %v.", err)
	}
	msg := fmt.Sprintf("PostgreSQL's parser reads it as no %s: %s.", noun, pe.Message)
	if pe.Cursorpos <= 0 {
		return invalid(-1, 0, "%s", msg)
	}
	// Cursorpos counts characters from 1 in sql.
	off := byteOffset(sql, pe.Cursorpos-1) - base
	if off < 0 || off >= len(text) {
		return invalid(-1, 0, "%s", msg)
	}
	start, end := Token(text, off)
	return invalid(start, end-start, "%s", msg)
}

// byteOffset turns an offset in characters into one in bytes.
func byteOffset(s string, chars int) int {
	for i := range s {
		if chars == 0 {
			return i
		}
		chars--
	}
	return len(s)
}

// Token returns the span of the token of text that holds byte off, as PostgreSQL's lexer reads text: a name, a
// quoted name, a string, an operator. When no token holds off (white space, or text the lexer refuses) the span
// is that one character.
func Token(text string, off int) (start, end int) {
	if off < 0 || off >= len(text) {
		return off, off
	}
	if scan, err := pg.Scan(text); err == nil {
		for _, tok := range scan.Tokens {
			if int(tok.Start) <= off && off < int(tok.End) {
				return int(tok.Start), int(tok.End)
			}
		}
	}
	_, n := utf8.DecodeRuneInString(text[off:])
	return off, off + n
}

// problemAt is a FragmentError covering the token of text at byte off (see Token); about the whole text when off
// is not in it (-1: the parse tree gave no location).
func problemAt(text string, off int, summary, detail string) *FragmentError {
	if off < 0 || off >= len(text) {
		return &FragmentError{Offset: -1, Summary: summary, Detail: detail}
	}
	start, end := Token(text, off)
	return &FragmentError{Offset: start, Length: end - start, Summary: summary, Detail: detail}
}

// Name is a name a fragment refers to (a column, a table, a type), as PostgreSQL reads it: an unquoted name in
// lower case. Offset is where its reference starts in the fragment's text.
type Name struct {
	Text   string
	Offset int
}

// Names returns every name the fragment refers to: the parts of column references (t.c gives t and c), the
// tables and schemas of sub-selects, and type names. Function names and strings are not names.
func (f *Fragment) Names() []Name {
	var out []Name
	strs := func(nodes []*pg.Node, loc int32) {
		for _, n := range nodes {
			if s := n.GetString_(); s != nil {
				out = append(out, Name{Text: s.Sval, Offset: f.offset(loc)})
			}
		}
	}
	walk(f.node.ProtoReflect(), func(m protoreflect.Message) {
		switch n := m.Interface().(type) {
		case *pg.ColumnRef:
			strs(n.Fields, n.Location)
		case *pg.RangeVar:
			for _, s := range []string{n.Schemaname, n.Relname} {
				if s != "" {
					out = append(out, Name{Text: s, Offset: f.offset(n.Location)})
				}
			}
		case *pg.TypeName:
			strs(n.Names, n.Location)
		}
	})
	return out
}

// offset turns a location of the parsed statement into an offset in the fragment's text; -1 when it is none.
func (f *Fragment) offset(loc int32) int {
	off := int(loc) - f.base
	if loc < 0 || off < 0 || off >= len(f.Text) {
		return -1
	}
	return off
}

// Mentions reports whether the SQL expression text refers to name (see Fragment.Names). Text that does not parse
// as one expression counts as mentioning every name, so that a caller deciding what a rename touches errs on the
// side of doing too much.
func Mentions(text, name string) bool {
	f, err := parseFragment(ExprFragment, text, false)
	if err != nil {
		return true
	}
	for _, n := range f.Names() {
		if n.Text == name {
			return true
		}
	}
	return false
}

// walk calls fn for m and every message under it.
func walk(m protoreflect.Message, fn func(protoreflect.Message)) {
	fn(m)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Message() == nil || fd.IsMap():
		case fd.IsList():
			for i, l := 0, v.List(); i < l.Len(); i++ {
				walk(l.Get(i).Message(), fn)
			}
		default:
			walk(v.Message(), fn)
		}
		return true
	})
}
