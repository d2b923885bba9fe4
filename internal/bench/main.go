// Command bench turns the statements pgtenant sent PostgreSQL for one request into a pgbench script, so that
// `make bench` (internal/bench/run.sh) measures the database's own ceiling with exactly the SQL the server sends:
// the same statement texts, run as prepared statements, in one pipeline that ends with one Sync, which is the
// server's one-round-trip batch in one implicit transaction.
//
// Input: PostgreSQL's jsonlog (log_destination = jsonlog, log_statement = all) from a byte offset on, in which
// one request's statements were logged. The first "execute" of application pgtenant that calls set_config starts
// the request; every "execute" of that backend after it belongs to it.
//
// Output: the script (-out) and its variables (-vars, one "-Dname=value" pgbench argument a line). Every $n
// argument stays a bound parameter: a pgbench variable holding the logged value. A value that must change from
// one transaction to the next (the tenant, a page's id, a new slug) is named with -sub VALUE=EXPR: wherever
// VALUE occurs in an argument, pgbench computes it with EXPR, SQL over pgbench's random integers (:n, :p, :r,
// :client_id), and the argument becomes the concatenation of bound pieces and EXPR, cast to the parameter's
// type, which -url's database tells.
//
// It is a helper of make bench, not part of pgtenant.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stderr)) }

type subs []string

func (s *subs) String() string     { return strings.Join(*s, ",") }
func (s *subs) Set(v string) error { *s = append(*s, v); return nil }

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logFile := fs.String("log", "", "PostgreSQL's jsonlog file")
	offset := fs.Int64("offset", 0, "read the log from this byte offset")
	url := fs.String("url", "", "a database URL, to learn the parameters' types")
	out := fs.String("out", "", "the pgbench script to write")
	vars := fs.String("vars", "", "the pgbench -D arguments to write, one a line")
	prefix := fs.String("prefix", "", "pgbench meta-commands to put before the pipeline (\\set lines), ';'-separated")
	var sub subs
	fs.Var(&sub, "sub", "VALUE=EXPR: compute VALUE in pgbench with the SQL expression EXPR (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *logFile == "" || *url == "" || *out == "" || *vars == "" {
		fmt.Fprintln(stderr, "bench: -log, -url, -out and -vars are required")
		return 2
	}
	stmts, err := readLog(*logFile, *offset)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	types, err := paramTypes(ctx, *url, stmts)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	var subst []substitution
	for _, s := range sub {
		v, e, ok := strings.Cut(s, "=")
		if !ok || v == "" {
			fmt.Fprintf(stderr, "bench: -sub %q: want VALUE=EXPR\n", s)
			return 2
		}
		subst = append(subst, substitution{value: v, expr: e})
	}
	var pre []string
	if *prefix != "" {
		pre = strings.Split(*prefix, ";")
	}
	script, defs := pgbenchScript(stmts, types, subst, pre)
	if err := os.WriteFile(*out, []byte(script), 0o644); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	var b strings.Builder
	for _, d := range defs {
		if strings.ContainsAny(d.value, "\r\n") {
			fmt.Fprintf(stderr, "bench: argument %s holds a line break, which the -vars file cannot carry\n", d.name)
			return 1
		}
		b.WriteString("-D" + d.name + "=" + d.value + "\n")
	}
	if err := os.WriteFile(*vars, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// statement is one logged execute: its SQL and its arguments (nil for NULL).
type statement struct {
	sql  string
	args []*string
}

// logLine is the part of a jsonlog line this reads.
type logLine struct {
	PID     int    `json:"pid"`
	App     string `json:"application_name"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

// readLog returns the statements of the first request logged after offset.
func readLog(path string, offset int64) ([]statement, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var stmts []statement
	pid := 0
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if l.App != "pgtenant" || !strings.HasPrefix(l.Message, "execute ") {
			continue
		}
		_, sql, ok := strings.Cut(l.Message, ": ")
		if !ok {
			continue
		}
		switch {
		case pid == 0 && strings.Contains(sql, "set_config("):
			pid = l.PID
		case l.PID != pid:
			continue
		case strings.Contains(sql, "set_config("):
			return stmts, nil // the next request on this connection
		}
		args, err := parseParams(l.Detail)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, l.Detail, err)
		}
		stmts = append(stmts, statement{sql: sql, args: args})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(stmts) == 0 {
		return nil, fmt.Errorf("%s: no statement of application pgtenant after byte %d", path, offset)
	}
	return stmts, nil
}

// parseParams reads PostgreSQL's "parameters: $1 = 'a', $2 = NULL" detail.
func parseParams(detail string) ([]*string, error) {
	s, ok := strings.CutPrefix(detail, "parameters: ")
	if !ok {
		if detail == "" {
			return nil, nil
		}
		return nil, errors.New("not a parameters detail")
	}
	var args []*string
	for len(s) > 0 {
		want := "$" + strconv.Itoa(len(args)+1) + " = "
		if !strings.HasPrefix(s, want) {
			return nil, fmt.Errorf("expected %q at %q", want, s)
		}
		s = s[len(want):]
		if rest, ok := strings.CutPrefix(s, "NULL"); ok {
			args = append(args, nil)
			s = rest
		} else {
			if !strings.HasPrefix(s, "'") {
				return nil, fmt.Errorf("expected a quoted value at %q", s)
			}
			var v strings.Builder
			i := 1
			for {
				if i >= len(s) {
					return nil, errors.New("unterminated value")
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						v.WriteByte('\'')
						i += 2
						continue
					}
					break
				}
				v.WriteByte(s[i])
				i++
			}
			val := v.String()
			args = append(args, &val)
			s = s[i+1:]
		}
		s = strings.TrimPrefix(s, ", ")
	}
	return args, nil
}

// paramTypes prepares each statement (PREPARE only: nothing runs) to learn
// its parameters' types.
func paramTypes(ctx context.Context, url string, stmts []statement) ([][]string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	types := make([][]string, len(stmts))
	for i, st := range stmts {
		sd, err := conn.Prepare(ctx, "", st.sql)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", st.sql, err)
		}
		for _, oid := range sd.ParamOIDs {
			var name string
			if err := conn.QueryRow(ctx, "SELECT format_type($1, NULL)", oid).Scan(&name); err != nil {
				return nil, err
			}
			types[i] = append(types[i], name)
		}
	}
	return types, nil
}

type substitution struct{ value, expr string }

type define struct{ name, value string }

var placeholder = regexp.MustCompile(`\$([0-9]+)`)

// pgbenchScript writes stmts as one pgbench pipeline. Each $n becomes a
// pgbench variable (a bound parameter in -M prepared), or an expression
// where a substitution applies.
func pgbenchScript(stmts []statement, types [][]string, subst []substitution, prefix []string) (string, []define) {
	slices.SortFunc(subst, func(a, b substitution) int { return len(b.value) - len(a.value) }) // longest first
	var b strings.Builder
	b.WriteString("-- generated by internal/bench from the statements pgtenant sent for one request\n")
	for _, p := range prefix {
		b.WriteString(strings.TrimSpace(p) + "\n")
	}
	b.WriteString("\\startpipeline\n")
	var defs []define
	for i, st := range stmts {
		sql := placeholder.ReplaceAllStringFunc(st.sql, func(m string) string {
			n, _ := strconv.Atoi(m[1:])
			if n < 1 || n > len(st.args) {
				return m
			}
			typ := "text"
			if n <= len(types[i]) {
				typ = types[i][n-1]
			}
			v := st.args[n-1]
			if v == nil {
				return "NULL::" + typ
			}
			name := fmt.Sprintf("s%da%d", i+1, n)
			pieces := split(*v, subst)
			if len(pieces) == 1 && !pieces[0].sub {
				defs = append(defs, define{name, *v})
				return ":" + name
			}
			parts := make([]string, len(pieces))
			for j, p := range pieces {
				if p.sub {
					parts[j] = "(" + p.text + ")"
					continue
				}
				pn := fmt.Sprintf("%s_%d", name, j)
				defs = append(defs, define{pn, p.text})
				parts[j] = ":" + pn + "::text"
			}
			e := "(" + strings.Join(parts, " || ") + ")"
			if typ != "text" && typ != "unknown" {
				e += "::" + typ
			}
			return e
		})
		b.WriteString(sql + ";\n")
	}
	b.WriteString("\\endpipeline\n")
	return b.String(), defs
}

type piece struct {
	text string
	sub  bool // text is an expression
}

// split cuts v at every substituted value.
func split(v string, subst []substitution) []piece {
	var out []piece
	lit := 0
	for i := 0; i < len(v); {
		matched := false
		for _, s := range subst {
			if strings.HasPrefix(v[i:], s.value) {
				if lit < i {
					out = append(out, piece{text: v[lit:i]})
				}
				out = append(out, piece{text: s.expr, sub: true})
				i += len(s.value)
				lit = i
				matched = true
				break
			}
		}
		if !matched {
			i++
		}
	}
	if lit < len(v) || len(out) == 0 {
		out = append(out, piece{text: v[lit:]})
	}
	return out
}
