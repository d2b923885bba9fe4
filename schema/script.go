package schema

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	pg "github.com/pganalyze/pg_query_go/v6"
)

// Statement is one statement of a SQL script as PostgreSQL's parser reads it. Kind is the name of its parse
// node ("CreateStmt", "CreatePolicyStmt", "AlterTableStmt", "DoStmt", …). Start and End are its byte span in
// the script: from the end of the statement before it (so comments before a statement belong to it) to its end.
type Statement struct {
	Kind       string
	Start, End int
	// First is where its first token starts, after the comments and white space that lead its span.
	First int
	// Object is what the statement creates, for the statements that create what a table carries or what it
	// runs: CREATE TABLE (the table, schema.name), CREATE TRIGGER and CREATE RULE (the trigger or rule; On is its
	// table, schema.name) and CREATE FUNCTION (the function, schema.name). The schema is "" when the statement
	// does not name one. Both are "" for other statements.
	Object, On string
}

// ParseScript parses sql, a script of statements separated by ';', with PostgreSQL's own parser (libpg_query) and
// returns its statements. It parses only: names are not looked up, nothing is run. A script holding a NUL byte
// is refused, since a C parser would stop reading at it.
func ParseScript(sql string) ([]Statement, error) {
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return nil, fmt.Errorf("schema: the SQL holds a NUL byte at offset %d", i)
	}
	tree, err := pg.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("schema: PostgreSQL's parser refuses the SQL: %w", err)
	}
	scan, err := pg.Scan(sql)
	if err != nil {
		return nil, fmt.Errorf("schema: PostgreSQL's lexer refuses the SQL: %w", err)
	}
	var starts []int // where each token but a comment starts
	for _, t := range scan.Tokens {
		if t.Token != pg.Token_SQL_COMMENT && t.Token != pg.Token_C_COMMENT {
			starts = append(starts, int(t.Start))
		}
	}
	out := make([]Statement, 0, len(tree.Stmts))
	for _, s := range tree.Stmts {
		end := len(sql)
		if s.StmtLen > 0 {
			end = int(s.StmtLocation + s.StmtLen)
		}
		kind := "?"
		if s.Stmt != nil {
			m := s.Stmt.ProtoReflect()
			if fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("node")); fd != nil {
				kind = string(fd.Message().Name())
			}
		}
		first, _ := slices.BinarySearch(starts, int(s.StmtLocation))
		st := Statement{Kind: kind, Start: int(s.StmtLocation), End: end, First: end}
		st.Object, st.On = creates(s.Stmt)
		if first < len(starts) {
			st.First = min(starts[first], end)
		}
		out = append(out, st)
	}
	return out, nil
}

// creates returns Statement.Object and Statement.On of stmt.
func creates(stmt *pg.Node) (object, on string) {
	rel := func(r *pg.RangeVar) string {
		if r == nil {
			return ""
		}
		return r.Schemaname + "." + r.Relname
	}
	switch n := stmt.GetNode().(type) {
	case *pg.Node_CreateStmt:
		return rel(n.CreateStmt.Relation), ""
	case *pg.Node_CreateTrigStmt:
		return n.CreateTrigStmt.Trigname, rel(n.CreateTrigStmt.Relation)
	case *pg.Node_RuleStmt:
		return n.RuleStmt.Rulename, rel(n.RuleStmt.Relation)
	case *pg.Node_CreateFunctionStmt:
		var parts []string
		for _, p := range n.CreateFunctionStmt.Funcname {
			parts = append(parts, p.GetString_().GetSval())
		}
		if len(parts) == 1 {
			parts = append([]string{""}, parts...)
		}
		return strings.Join(parts, "."), ""
	}
	return "", ""
}

// MaskFragments returns copies of models (a nil model stays nil) in which every SQL expression of the
// declaration (column defaults, check expressions, index predicates, policy clauses, view queries, function
// argument defaults) is replaced by a stand-in
// made of the generator's own text: ROW(<number>, "name", …), with a number per distinct fragment across all the
// models and the names the fragment refers to. So the generator makes the same decisions for the copies as for
// the originals (which fragments are equal, which name a renamed column), and what it writes for the copies is
// what it writes for the originals with no declared SQL in it: `pgtenant generate` compares the two, statement
// by statement (a view query by SELECT ROW(…), a function body by SELECT <number>). Column types are kept as they
// are, once each parses as exactly one type.
//
// Only the parser's reading counts here, not the rules of the lexer's tokens that ParseFragment adds (no comment,
// no backslash in a plain string): the last migration's model may hold fragments from before those rules. The
// error names every fragment that does not parse as exactly one thing of its kind: no stand-in can be made for
// it, and nothing may be generated from it.
func MaskFragments(models ...*Model) ([]*Model, error) {
	tags := map[string]int{}
	var errs []error
	mask := func(kind FragmentKind, text *string, what string) {
		if *text == "" {
			return
		}
		f, err := parseFragment(kind, *text, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("schema: the %s does not parse as %s: %s", what, kind.what(), err.Detail))
			return
		}
		if kind == TypeFragment {
			return
		}
		tag, ok := tags[*text]
		if !ok {
			tag = len(tags) + 1
			tags[*text] = tag
		}
		parts := []string{fmt.Sprint(tag)}
		for _, n := range f.Names() {
			if q := quoteIdent(n.Text); !slices.Contains(parts, q) {
				parts = append(parts, q)
			}
		}
		*text = "ROW(" + strings.Join(parts, ", ") + ")"
		if kind == QueryFragment {
			*text = "SELECT " + *text
		}
	}
	// A function body is written in a dollar quote whose tag it does not hold (ddl.DollarTag): it stands for
	// itself, one tagged SELECT per text, so that equal bodies stay equal.
	maskBody := func(text *string) {
		tag, ok := tags[*text]
		if !ok {
			tag = len(tags) + 1
			tags[*text] = tag
		}
		*text = fmt.Sprintf("SELECT %d", tag)
	}
	out := make([]*Model, len(models))
	for i, m := range models {
		if m == nil {
			continue
		}
		c := m.clone()
		for _, t := range c.Tables {
			for _, col := range t.Columns {
				mask(TypeFragment, &col.Type, "type of column "+t.Name+"."+col.Name)
				mask(DefaultFragment, &col.Default, "default of column "+t.Name+"."+col.Name)
			}
			for _, ix := range t.Indexes {
				mask(ExprFragment, &ix.Where, "where predicate of index "+ix.Name)
			}
			for _, chk := range t.Checks {
				mask(ExprFragment, &chk.Expr, "expr of check "+chk.Name)
			}
		}
		for _, p := range c.Policies {
			mask(ExprFragment, &p.Using, "using expression of policy "+p.Name)
			mask(ExprFragment, &p.Check, "check expression of policy "+p.Name)
		}
		for _, v := range c.Views {
			mask(QueryFragment, &v.Query, "query of view "+v.Name)
			for _, col := range v.Columns {
				mask(TypeFragment, &col.Type, "type of column "+v.Name+"."+col.Name)
			}
		}
		for _, f := range c.Functions {
			for _, a := range f.Args {
				mask(TypeFragment, &a.Type, "type of argument "+f.Name+"."+a.Name)
				mask(DefaultFragment, &a.Default, "default of argument "+f.Name+"."+a.Name)
			}
			if f.Returns.Type != "" {
				mask(TypeFragment, &f.Returns.Type, "return type of function "+f.Name)
			}
			maskBody(&f.Body)
		}
		out[i] = c
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// quoteIdent quotes a name as a SQL identifier, always.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// CheckFragments checks every SQL fragment of m with PostgreSQL's grammar (ParseFragment) and for the calls a
// fragment may not make (Fragment.Forbidden), and returns a diagnostic per problem, placed on the part of the
// fragment's source it is about when the model was read from source. Load runs it as part of validation; code
// that runs a model's SQL and did not get the model from Load runs it first.
func CheckFragments(m *Model) hcl.Diagnostics {
	var diags hcl.Diagnostics
	report := func(errs []*FragmentError, text string, rng *hcl.Range, fallback hcl.Range, what string) {
		where := fallback
		if rng != nil {
			where = *rng
		}
		for _, e := range errs {
			d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: e.Summary, Detail: "The " + what + ": " + e.Detail}
			if where.Filename != "" {
				sub := m.Locate(where, text, e.Offset, e.Length)
				d.Subject = sub.Ptr()
				if sub != where {
					d.Context = where.Ptr()
				}
			}
			diags = append(diags, d)
		}
	}
	check := func(kind FragmentKind, text string, rng *hcl.Range, fallback hcl.Range, what string, policy bool) {
		if strings.TrimSpace(text) == "" {
			return // an empty where or expr is reported on its own; an empty default is no default
		}
		f, err := ParseFragment(kind, text)
		errs := []*FragmentError{err}
		if err == nil {
			errs = f.Forbidden(m.Tenancy.Setting)
			if policy && m.Tenancy.Citus() {
				errs = append(errs, f.SubSelects()...)
			}
		}
		report(errs, text, rng, fallback, what)
	}
	for _, t := range m.Tables {
		for _, c := range t.Columns {
			// A column that references another takes its type, which is checked where it is declared.
			if c.TypeRange != nil || c.Range.Filename == "" {
				check(TypeFragment, c.Type, c.TypeRange, c.Range, "type of column "+t.Name+"."+c.Name, false)
			}
			check(DefaultFragment, c.Default, c.DefaultRange, c.Range, "default of column "+t.Name+"."+c.Name, false)
		}
		for _, ix := range t.Indexes {
			check(ExprFragment, ix.Where, ix.WhereRange, ix.Range, "where predicate of index "+ix.Name, false)
		}
		for _, c := range t.Checks {
			check(ExprFragment, c.Expr, c.ExprRange, c.Range, "expr of check "+c.Name, false)
		}
	}
	for _, p := range m.Policies {
		check(ExprFragment, p.Using, p.UsingRange, p.Range, "using expression of policy "+p.Name, true)
		check(ExprFragment, p.Check, p.CheckRange, p.Range, "check expression of policy "+p.Name, true)
	}
	routineFragments(m, check, report)
	return diags
}
