package query

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// scanner walks one parameter value. Every grammar of this package (select,
// filters, logic trees, order, columns) is a small recursive-descent parser
// over it, modelled on PostgREST's Parsec grammar (ApiRequest/QueryParams.hs).
type scanner struct {
	s     string
	pos   int
	param string // the parameter name, for errors
}

func newScanner(param, s string) *scanner { return &scanner{s: s, param: param} }

func (sc *scanner) eof() bool { return sc.pos >= len(sc.s) }

func (sc *scanner) peek() byte {
	if sc.eof() {
		return 0
	}
	return sc.s[sc.pos]
}

func (sc *scanner) has(prefix string) bool { return strings.HasPrefix(sc.s[sc.pos:], prefix) }

// accept consumes prefix if it comes next.
func (sc *scanner) accept(prefix string) bool {
	if sc.has(prefix) {
		sc.pos += len(prefix)
		return true
	}
	return false
}

func (sc *scanner) skipSpaces() {
	for !sc.eof() && (sc.s[sc.pos] == ' ' || sc.s[sc.pos] == '\t') {
		sc.pos++
	}
}

// rest consumes and returns everything left.
func (sc *scanner) rest() string {
	r := sc.s[sc.pos:]
	sc.pos = len(sc.s)
	return r
}

func (sc *scanner) errf(format string, args ...any) *ParseError {
	return &ParseError{Param: sc.param, Pos: sc.pos, Msg: fmt.Sprintf(format, args...)}
}

// unexpected reports what was found where something else was expected.
func (sc *scanner) unexpected(want string) *ParseError {
	if sc.eof() {
		return sc.errf("unexpected end of input, expecting %s", want)
	}
	r, _ := utf8.DecodeRuneInString(sc.s[sc.pos:])
	return sc.errf("unexpected %q, expecting %s", r, want)
}

// isIdentRune is PostgREST's pIdentifierChar: a letter, a digit, '_', ' ' or '$'.
func isIdentRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$' || r == ' '
}

// name reads a field name (PostgREST's pFieldName): a double-quoted string in
// which a backslash escapes the next character, or identifier characters
// joined by '-' (a '-' followed by '>' starts a JSON arrow instead). Spaces
// around an unquoted name are dropped.
func (sc *scanner) name() (string, error) {
	sc.skipSpaces()
	if sc.peek() == '"' {
		v, ok := sc.quoted()
		if !ok {
			return "", sc.errf("unterminated quoted name")
		}
		sc.skipSpaces()
		return v, nil
	}
	start := sc.pos
	for !sc.eof() {
		r, n := utf8.DecodeRuneInString(sc.s[sc.pos:])
		if isIdentRune(r) {
			sc.pos += n
			continue
		}
		if r == '-' && !sc.has("->") && sc.pos > start {
			sc.pos++
			continue
		}
		break
	}
	v := strings.TrimSpace(sc.s[start:sc.pos])
	if v == "" || strings.HasSuffix(v, "-") {
		sc.pos = start
		return "", sc.unexpected("a name")
	}
	return v, nil
}

// quoted reads a "…" value at the current position, with backslash escapes
// (PostgREST's pQuotedValue). It reports false, consuming nothing, when the
// closing quote is missing.
func (sc *scanner) quoted() (string, bool) {
	start := sc.pos
	sc.pos++ // the opening quote
	var b strings.Builder
	for !sc.eof() {
		c := sc.s[sc.pos]
		switch c {
		case '\\':
			if sc.pos+1 >= len(sc.s) {
				sc.pos = start
				return "", false
			}
			_, n := utf8.DecodeRuneInString(sc.s[sc.pos+1:])
			b.WriteString(sc.s[sc.pos+1 : sc.pos+1+n])
			sc.pos += 1 + n
		case '"':
			sc.pos++
			return b.String(), true
		default:
			b.WriteByte(c)
			sc.pos++
		}
	}
	sc.pos = start
	return "", false
}

// field reads a column name followed by an optional JSON path.
func (sc *scanner) field() (fieldRef, error) {
	n, err := sc.name()
	if err != nil {
		return fieldRef{}, err
	}
	f := fieldRef{Name: n}
	for sc.has("->") {
		var step pathStep
		if sc.accept("->>") {
			step.Text = true
		} else {
			sc.accept("->")
		}
		if idx, ok := sc.index(); ok {
			step.Key, step.Index = idx, true
		} else {
			k, err := sc.name()
			if err != nil {
				return fieldRef{}, err
			}
			step.Key = k
		}
		f.Path = append(f.Path, step)
	}
	sc.skipSpaces()
	return f, nil
}

// index reads an array index operand of a JSON arrow: an optionally negative
// integer followed by the end, another arrow, a cast, '.', ',' or ')'.
func (sc *scanner) index() (string, bool) {
	start, i := sc.pos, sc.pos
	if i < len(sc.s) && sc.s[i] == '-' {
		i++
	}
	digits := i
	for i < len(sc.s) && sc.s[i] >= '0' && sc.s[i] <= '9' {
		i++
	}
	if i == digits || i-digits > 9 {
		return "", false
	}
	if i < len(sc.s) {
		rest := sc.s[i:]
		if !strings.HasPrefix(rest, "->") && !strings.HasPrefix(rest, "::") &&
			rest[0] != '.' && rest[0] != ',' && rest[0] != ')' && rest[0] != ' ' {
			return "", false
		}
	}
	sc.pos = i
	return sc.s[start:i], true
}

// names reads a comma-separated list of names (on_conflict, columns).
func (sc *scanner) names() ([]string, error) {
	var out []string
	for {
		n, err := sc.name()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if !sc.accept(",") {
			break
		}
	}
	if !sc.eof() {
		return nil, sc.unexpected(`"," or end of input`)
	}
	return out, nil
}

// quoteName prints a name so that scanner.name reads it back unchanged.
func quoteName(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '$') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return quoteValue(s)
}

// quoteValue double-quotes s, escaping '"' and '\' with a backslash.
func quoteValue(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
