package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// This file checks the SQL of declared views and function bodies with PostgreSQL's own parser, as fragment.go
// checks the fragments of tables and policies. A view or function runs as its caller (security_invoker, SECURITY
// INVOKER), so RLS scopes every row it reads or writes to the caller's tenant; what it must not do is step out of
// that: change the tenant setting or the role of the transaction, become SECURITY DEFINER, or reach the tenant
// registry. Each of those is refused from the parse tree (or the lexer's tokens), never from a search of the raw
// text, which quotes and dollar quotes could fool.

// RegistrySchema is the schema of pgtenant's tenant registry and credentials; no declared view or function may
// name it. engine/ddl creates it under the same name.
const RegistrySchema = "pgtenant"

// Summaries of the problems of a view's query or a function's body.
const (
	invalidBody      = "Invalid function body"
	securityDefiner  = "SECURITY DEFINER"
	sessionChange    = "Session change in a function body"
	registryNamed    = "Registry schema named"
	tenantWrite      = "Tenant setting read with a write"
	nonVolatileWrite = "Write in a non-volatile function"
)

// bodyStatements are the statements a function body may run.
var bodyStatements = map[string]bool{
	"SelectStmt": true, "InsertStmt": true, "UpdateStmt": true, "DeleteStmt": true, "MergeStmt": true,
}

// tokenProblems reads text with PostgreSQL's lexer and refuses, wherever they stand outside a comment: the
// words SECURITY DEFINER, a string that says them and a backslash in a plain '…' string (see checkTokens), all
// three when definer is set (a function body); the registry schema's name as an identifier, a string that
// names it, and the Unicode-escaped
// forms U&"…" and U&'…', which this check could not read as PostgreSQL does.
// The lexer's own refusal is the one problem when it refuses text; lexed is false then.
func tokenProblems(text string, definer bool, noun string) (problems []*FragmentError, lexed bool) {
	scan, err := pg.Scan(text)
	if err != nil {
		e := parseError(err, text, 0, text, noun)
		e.Summary = invalidBody
		return []*FragmentError{e}, false
	}
	var out []*FragmentError
	add := func(tok *pg.ScanToken, summary, format string, args ...any) {
		out = append(out, &FragmentError{Offset: int(tok.Start), Length: int(tok.End - tok.Start), Summary: summary,
			Detail: fmt.Sprintf(format, args...)})
	}
	var prev *pg.ScanToken
	for _, tok := range scan.Tokens {
		raw := text[tok.Start:tok.End]
		switch tok.Token {
		case pg.Token_SQL_COMMENT, pg.Token_C_COMMENT:
			continue
		case pg.Token_DEFINER:
			if definer && prev != nil && prev.Token == pg.Token_SECURITY {
				add(prev, securityDefiner, "A declared function runs as its caller (SECURITY INVOKER), so that "+
					"the caller's row-level security applies; SECURITY DEFINER may not appear in its body.")
			}
		case pg.Token_IDENT:
			if strings.EqualFold(strings.Trim(raw, `"`), RegistrySchema) {
				add(tok, registryNamed, "%q is pgtenant's tenant registry; a declared %s may not name it.",
					RegistrySchema, noun)
			}
		case pg.Token_UIDENT, pg.Token_USCONST:
			add(tok, invalidBody, "Write the name or string without Unicode escapes (U&): pgtenant could not "+
				"check it as PostgreSQL reads it.")
		case pg.Token_SCONST:
			words := strings.ToLower(strings.Join(strings.Fields(raw), " "))
			switch {
			case definer && backslashInPlain(raw): // a view's query had checkTokens
				add(tok, invalidBody, "%s", backslashDetail)
			case definer && strings.Contains(words, "security definer"):
				add(tok, securityDefiner, "SECURITY DEFINER may not appear in a declared function's body, "+
					"not even in a string.")
			case strings.Contains(words, RegistrySchema+".") || strings.Contains(words, `"`+RegistrySchema+`"`):
				add(tok, registryNamed, "%q is pgtenant's tenant registry; a declared %s may not name it, "+
					"not even in a string.", RegistrySchema, noun)
			}
		}
		prev = tok
	}
	return out, true
}

// ViewProblems returns every problem of a view's query: it must be exactly one query (ParseFragment with
// QueryFragment), call nothing a fragment may not, read no tenant setting (Fragment.Forbidden with setting),
// and not name the registry schema.
func ViewProblems(query, setting string) []*FragmentError {
	f, err := ParseFragment(QueryFragment, query)
	if err != nil {
		return []*FragmentError{err}
	}
	tokens, _ := tokenProblems(query, false, "view")
	return append(f.Forbidden(setting), tokens...)
}

// FunctionProblems returns every problem of f's body: what PostgreSQL's parser refuses (the SQL parser for
// language sql, its PL/pgSQL parser for plpgsql), SECURITY DEFINER anywhere, a statement other than SELECT,
// INSERT, UPDATE, DELETE or MERGE (so no SET, RESET, SET ROLE), dynamic SQL (EXECUTE of a string) in PL/pgSQL, a
// call of set_config, set_role or another function a fragment may not call, a read of the tenant setting
// (current_setting of setting, pg_settings) in a body that also writes rows, a write in a function that is not
// VOLATILE, and the registry schema's name.
func FunctionProblems(f *Function, setting string) []*FragmentError {
	text := f.Body
	if strings.TrimSpace(text) == "" {
		return []*FragmentError{{Offset: -1, Summary: invalidBody, Detail: "The body is empty."}}
	}
	if e := plainText(text); e != nil {
		e.Summary = invalidBody
		return []*FragmentError{e}
	}
	b := &bodyCheck{text: text, setting: setting, calls: map[string]int{}}
	var lexed bool
	if b.out, lexed = tokenProblems(text, true, "function body"); !lexed {
		return b.out
	}
	switch f.Language {
	case PLpgSQL:
		b.plpgsql(f)
	default:
		tree, err := pg.Parse(text)
		if err != nil {
			e := parseError(err, text, 0, text, "function body")
			e.Summary = invalidBody
			return append(b.out, e)
		}
		for _, s := range tree.Stmts {
			b.statement(s.Stmt, firstToken(text, s.StmtLocation), func(loc int32) int { return int(loc) })
		}
	}
	if b.writeAt != nil {
		for _, r := range b.tenantReads {
			r.Summary = tenantWrite
			r.Detail += " This body also writes rows: a function that writes may not read the tenant setting " +
				"(RLS already scopes its writes to the caller's tenant)."
			b.out = append(b.out, r)
		}
		if f.Volatility != Volatile {
			e := *b.writeAt
			e.Summary = nonVolatileWrite
			e.Detail = fmt.Sprintf("A %s function may not write rows: the API runs it in a read-only transaction "+
				"for GET. Declare it volatility = VOLATILE.", f.Volatility)
			b.out = append(b.out, &e)
		}
	}
	return b.out
}

// bodyCheck collects the problems of one function body.
type bodyCheck struct {
	text, setting string
	out           []*FragmentError
	writeAt       *FragmentError   // the first row write, if any
	tenantReads   []*FragmentError // reads of the tenant setting, refused when the body writes
	calls         map[string]int   // the calls of watched functions the parse tree shows, by lower-case name
}

// watched reports whether calls of the function name are checked (refused, or refused with a write); no declared
// function may take such a name.
func watched(name string) bool {
	return forbiddenWhy(name) != "" || strings.EqualFold(name, "set_role") || strings.EqualFold(name, "current_setting")
}

// at places a problem at loc, a location the parser gave, turned into an offset in the body by pos.
func (b *bodyCheck) at(pos func(int32) int, loc int32, summary, format string, args ...any) *FragmentError {
	off := -1
	if loc >= 0 {
		off = pos(loc)
	}
	return problemAt(b.text, off, summary, fmt.Sprintf(format, args...))
}

// statement checks one statement of the body; pos turns the parser's locations into offsets in the body.
func (b *bodyCheck) statement(stmt *pg.Node, first int32, pos func(int32) int) {
	if stmt == nil {
		return
	}
	m := stmt.ProtoReflect()
	kind := "?"
	if fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("node")); fd != nil {
		kind = string(fd.Message().Name())
	}
	if !bodyStatements[kind] {
		if kind == "VariableSetStmt" {
			b.out = append(b.out, b.at(pos, first, sessionChange,
				"SET, RESET and SET ROLE change the session (its role, the tenant setting); a declared "+
					"function may not."))
			return
		}
		b.out = append(b.out, b.at(pos, first, invalidBody,
			"A function body may run only SELECT, INSERT, UPDATE, DELETE and MERGE statements, not %s.",
			strings.TrimSuffix(kind, "Stmt")))
		return
	}
	walk(m, func(msg protoreflect.Message) {
		switch n := msg.Interface().(type) {
		case *pg.FuncCall:
			name := funcName(n)
			if watched(name) {
				b.calls[strings.ToLower(name)]++
			}
			switch why := forbiddenWhy(name); {
			case strings.EqualFold(name, "set_role"):
				b.out = append(b.out, b.at(pos, n.Location, sessionChange,
					"set_role() would change the role of the transaction; a declared function may not call it."))
			case why != "":
				b.out = append(b.out, b.at(pos, n.Location, forbiddenFunction,
					"%s() %s; a declared function may not call it.", name, why))
			case strings.EqualFold(name, "current_setting"):
				currentSetting(n, b.setting, func(loc int32, _, format string, args ...any) {
					b.tenantReads = append(b.tenantReads, b.at(pos, loc, tenantWrite, format, args...))
				})
			}
		case *pg.RangeVar:
			if strings.EqualFold(n.Relname, "pg_settings") {
				b.tenantReads = append(b.tenantReads, b.at(pos, n.Location, tenantWrite,
					"pg_settings shows the session's settings, the tenant setting among them."))
			}
		case *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt, *pg.MergeStmt:
			if b.writeAt == nil {
				b.writeAt = b.at(pos, writeLocation(n), nonVolatileWrite, "")
			}
		case *pg.IntoClause:
			b.out = append(b.out, b.at(pos, -1, invalidBody, "A function body may not create a table (SELECT … INTO)."))
		}
	})
}

// writeLocation is where a write statement names its table.
func writeLocation(n any) int32 {
	var rel *pg.RangeVar
	switch s := n.(type) {
	case *pg.InsertStmt:
		rel = s.Relation
	case *pg.UpdateStmt:
		rel = s.Relation
	case *pg.DeleteStmt:
		rel = s.Relation
	case *pg.MergeStmt:
		rel = s.Relation
	}
	if rel == nil {
		return -1
	}
	return rel.Location
}

// plpgsql checks a PL/pgSQL body with PostgreSQL's PL/pgSQL parser (libpg_query's ParsePlPgSqlToJSON): it
// refuses dynamic SQL, and checks every SQL statement and expression the parser finds in the body as a SQL
// body's statements are checked.
func (b *bodyCheck) plpgsql(f *Function) {
	tag := "$pgtenant$"
	for i := 0; strings.Contains(b.text, strings.TrimSuffix(tag, "$")); i++ {
		tag = fmt.Sprintf("$pgtenant%d$", i)
	}
	var args []string
	for _, a := range f.Args {
		args = append(args, quoteIdent(a.Name)+" "+a.Type)
	}
	ret := "void"
	switch r := f.Returns; {
	case r.Type != "":
		ret = r.Type
	case r.Relation != "":
		ret = quoteIdent(r.Relation)
	}
	if f.Returns.SetOf {
		ret = "SETOF " + ret
	}
	prefix := "CREATE FUNCTION pgtenant_body(" + strings.Join(args, ", ") + ") RETURNS " + ret +
		" LANGUAGE plpgsql AS " + tag
	src := prefix + b.text + tag
	// The statement must be one CREATE FUNCTION whose body is all of the text: the tag is not in it.
	if tree, err := pg.Parse(src); err != nil || len(tree.Stmts) != 1 || tree.Stmts[0].Stmt.GetCreateFunctionStmt() == nil {
		b.out = append(b.out, &FragmentError{Offset: -1, Summary: invalidBody,
			Detail: "PostgreSQL's parser does not read it as the body of a function with these arguments and return type."})
		return
	}
	js, err := pg.ParsePlPgSqlToJSON(src)
	if err != nil {
		// The PL/pgSQL parser's errors carry no position in the body (its context says "near line 1"
		// whatever the line), so the problem is about the whole body.
		msg := err.Error()
		if pe := (*pgparser.Error)(nil); errors.As(err, &pe) {
			msg = pe.Message
		}
		b.out = append(b.out, &FragmentError{Offset: -1, Summary: invalidBody,
			Detail: fmt.Sprintf("PostgreSQL's PL/pgSQL parser refuses it: %s.", msg)})
		return
	}
	var tree any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		b.out = append(b.out, &FragmentError{Offset: -1, Summary: invalidBody, Detail: err.Error()})
		return
	}
	b.plpgsqlNode(tree, "", 1)
	b.unseenCalls()
}

// unseenCalls refuses a call of a watched function that the lexer sees in a PL/pgSQL body (a name followed by
// "(") but the checks of the parse tree did not: the tree comes as JSON from libpg_query's own output functions,
// and a statement whose expressions they left out would otherwise go unchecked.
func (b *bodyCheck) unseenCalls() {
	scan, err := pg.Scan(b.text)
	if err != nil {
		return // tokenProblems reported it
	}
	var toks []*pg.ScanToken
	for _, t := range scan.Tokens {
		if t.Token != pg.Token_SQL_COMMENT && t.Token != pg.Token_C_COMMENT {
			toks = append(toks, t)
		}
	}
	seen := map[string]int{}
	for i, t := range toks {
		if t.Token != pg.Token_IDENT || i+1 >= len(toks) || toks[i+1].Token != pg.Token_ASCII_40 {
			continue
		}
		raw := b.text[t.Start:t.End]
		name := strings.ToLower(strings.Trim(raw, `"`))
		if !watched(name) {
			continue
		}
		if seen[name]++; seen[name] > b.calls[name] {
			b.out = append(b.out, &FragmentError{Offset: int(t.Start), Length: int(t.End - t.Start), Summary: invalidBody,
				Detail: fmt.Sprintf("pgtenant cannot find this call of %s() in PostgreSQL's reading of the PL/pgSQL "+
					"body, so it cannot check it; write it in a plain statement or expression.", name)})
			b.calls[name]++ // one problem per call
		}
	}
}

// plpgsqlNode walks the PL/pgSQL parse tree (as JSON): key is the node's type, line the line it is on.
func (b *bodyCheck) plpgsqlNode(v any, key string, line int) {
	switch n := v.(type) {
	case []any:
		for _, x := range n {
			b.plpgsqlNode(x, key, line)
		}
	case map[string]any:
		if l, ok := n["lineno"].(float64); ok && l > 0 {
			line = int(l)
		}
		dynamic := key == "PLpgSQL_stmt_dynexecute" || key == "PLpgSQL_stmt_dynfors" || n["dynquery"] != nil
		if dynamic {
			b.out = append(b.out, &FragmentError{Offset: lineOffset(b.text, line), Length: lineLength(b.text, line),
				Summary: invalidBody, Detail: "EXECUTE of a string (dynamic SQL) runs SQL pgtenant cannot check; " +
					"write the statement in the body."})
			return
		}
		if key == "PLpgSQL_expr" {
			q, _ := n["query"].(string)
			mode, _ := n["parseMode"].(float64)
			b.plpgsqlExpr(q, int(mode), line)
			return
		}
		for k, x := range n {
			b.plpgsqlNode(x, k, line)
		}
	}
}

// plpgsqlExpr checks one SQL expression or statement of a PL/pgSQL body, found on line. mode is PostgreSQL's
// RawParseMode: 0 a statement, 2 an expression, 3 to 5 an assignment (target := expression).
func (b *bodyCheck) plpgsqlExpr(q string, mode, line int) {
	// Where q stands in the body: PL/pgSQL copies it from the text, but for PERFORM adds "SELECT ".
	from := lineOffset(b.text, line)
	start, lead := -1, 0
	if k := strings.Index(b.text[max(from, 0):], q); k >= 0 {
		start = max(from, 0) + k
	} else if rest, ok := strings.CutPrefix(q, "SELECT "); ok {
		if k := strings.Index(b.text[max(from, 0):], rest); k >= 0 {
			start, lead = max(from, 0)+k, len("SELECT ")
		}
	}
	sql, prefix := q, ""
	switch {
	case mode == 2:
		prefix = "SELECT "
	case mode >= 3:
		prefix, sql = "SELECT ", assignmentAsList(q)
	}
	pos := func(loc int32) int {
		if start < 0 {
			return from
		}
		return start + int(loc) - len(prefix) - lead
	}
	tree, err := pg.Parse(prefix + sql)
	if err != nil {
		e := parseError(err, prefix+sql, len(prefix), sql, "SQL")
		e.Summary = invalidBody
		if e.Offset >= lead && start >= 0 {
			e.Offset += start - lead
		} else {
			e.Offset, e.Length = from, lineLength(b.text, line)
		}
		b.out = append(b.out, e)
		return
	}
	if mode != 0 && len(tree.Stmts) != 1 {
		b.out = append(b.out, &FragmentError{Offset: from, Length: lineLength(b.text, line), Summary: invalidBody,
			Detail: "PostgreSQL reads this as more than one expression."})
		return
	}
	for _, s := range tree.Stmts {
		b.statement(s.Stmt, int32(len(prefix)+lead)+s.StmtLocation, pos)
	}
}

// assignmentAsList turns the PL/pgSQL assignment "target := expression" (or "target = expression") into
// "target , expression", a select list PostgreSQL's parser reads, with the same length so locations still match.
func assignmentAsList(q string) string {
	scan, err := pg.Scan(q)
	if err != nil {
		return q
	}
	depth := 0
	for _, t := range scan.Tokens {
		switch t.Token {
		case pg.Token_ASCII_40, pg.Token_ASCII_91:
			depth++
		case pg.Token_ASCII_41, pg.Token_ASCII_93:
			depth--
		case pg.Token_COLON_EQUALS, pg.Token_ASCII_61:
			if depth == 0 {
				return q[:t.Start] + "," + strings.Repeat(" ", int(t.End-t.Start)-1) + q[t.End:]
			}
		}
	}
	return q
}

// lineOffset is the offset in text where line (counted from 1) starts; 0 past the end.
func lineOffset(text string, line int) int {
	off := 0
	for i := 1; i < line; i++ {
		k := strings.IndexByte(text[off:], '\n')
		if k < 0 {
			return 0
		}
		off += k + 1
	}
	return off
}

// lineLength is the length of line in text, without its line end.
func lineLength(text string, line int) int {
	off := lineOffset(text, line)
	if k := strings.IndexByte(text[off:], '\n'); k >= 0 {
		return k
	}
	return len(text) - off
}

// firstToken is where the first token at or after loc starts in text, past white space and comments; loc when
// there is none.
func firstToken(text string, loc int32) int32 {
	scan, err := pg.Scan(text)
	if err != nil {
		return loc
	}
	for _, t := range scan.Tokens {
		if t.Start >= loc && t.Token != pg.Token_SQL_COMMENT && t.Token != pg.Token_C_COMMENT {
			return t.Start
		}
	}
	return loc
}
