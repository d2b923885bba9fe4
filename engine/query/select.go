package query

import (
	"strings"
)

// selectItem is one entry of the select parameter: *, or a field with an
// optional alias and cast.
type selectItem struct {
	Star  bool
	Alias string
	Field fieldRef
	Cast  string // the canonical type name from castTypes; "" for none
	Embed *embed // an embedded resource instead of a field
}

// castTypes allow-lists the types select may cast to, by the spellings a
// request may use; the value is the spelling written into SQL. Anything else
// is refused: a cast is the only place a type name could enter the SQL text.
var castTypes = map[string]string{
	"text": "text", "varchar": "varchar", "char": "char", "citext": "text",
	"integer": "integer", "int": "integer", "int4": "integer",
	"bigint": "bigint", "int8": "bigint",
	"smallint": "smallint", "int2": "smallint",
	"numeric": "numeric", "decimal": "numeric",
	"real": "real", "float4": "real", "float8": "float8",
	"boolean": "boolean", "bool": "boolean",
	"uuid": "uuid", "json": "json", "jsonb": "jsonb",
	"date": "date", "time": "time", "timetz": "timetz",
	"timestamp": "timestamp", "timestamptz": "timestamptz", "interval": "interval",
}

// selectList is a parsed select parameter, * already kept as an item.
type selectList []selectItem

// String prints the list in the request grammar; parsing it gives the same list.
func (s selectList) String() string {
	parts := make([]string, len(s))
	for i, it := range s {
		if it.Star {
			parts[i] = "*"
			continue
		}
		if it.Embed != nil {
			parts[i] = it.Embed.String()
			continue
		}
		var b strings.Builder
		if it.Alias != "" {
			b.WriteString(quoteName(it.Alias))
			b.WriteByte(':')
		}
		b.WriteString(it.Field.String())
		if it.Cast != "" {
			b.WriteString("::")
			b.WriteString(it.Cast)
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, ",")
}

// stripSpaces removes whitespace outside double quotes, as postgrest-js does
// before sending select (a backslash inside quotes escapes the next byte).
func stripSpaces(s string) string {
	if !strings.ContainsAny(s, " \t\r\n") {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			b.WriteByte(s[i])
			continue
		case c == '"':
			quoted = !quoted
		case !quoted && (c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// parseSelect reads the select parameter with the model's relationships and
// the default depth limit (see parseSelectIn).
func parseSelect(tb *table, value string) (selectList, error) {
	return parseSelectIn(newEmbedCtx(tb.model, nil, 0), tb, value)
}

// parseSelectIn reads the select parameter (PostgREST's pFieldForest): a
// comma-separated list of *, col, alias:col, col::type, JSON paths and
// embedded resources, alias:rel!hint!inner(…) and ...rel(…), nested up to
// ctx.maxDepth. An empty value selects no column: every row is {}.
func parseSelectIn(ctx *embedCtx, tb *table, value string) (selectList, error) {
	value = stripSpaces(value)
	if value == "" {
		return selectList{}, nil
	}
	sc := newScanner("select", value)
	out, err := sc.selectItems(0, ctx.maxDepth)
	if err != nil {
		return nil, err
	}
	if !sc.eof() {
		if sc.peek() == ')' {
			return nil, sc.errf("unbalanced parenthesis: \")\" without \"(\"")
		}
		return nil, sc.unexpected(`"," or end of input`)
	}
	if err := ctx.resolve(tb, out); err != nil {
		return nil, err
	}
	return out, nil
}

// selectItems reads items separated by ',' up to the end or a ')', which
// it leaves for the caller; none at all (rel()) is an empty list.
func (sc *scanner) selectItems(depth, maxDepth int) (selectList, error) {
	out := selectList{}
	if sc.eof() || sc.peek() == ')' {
		if depth == 0 && !sc.eof() {
			return nil, sc.unexpected("a field")
		}
		return out, nil
	}
	for {
		it, err := sc.selectItem(depth, maxDepth)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
		if !sc.accept(",") {
			return out, nil
		}
	}
}

// atItemEnd reports whether an item ends here: the end, ',' or ')'.
func (sc *scanner) atItemEnd() bool { return sc.eof() || sc.peek() == ',' || sc.peek() == ')' }

func (sc *scanner) selectItem(depth, maxDepth int) (selectItem, error) {
	if sc.accept("*") {
		if !sc.atItemEnd() {
			return selectItem{}, sc.unexpected(`"," or end of input`)
		}
		return selectItem{Star: true}, nil
	}
	if sc.accept("...") {
		e := &embed{Spread: true}
		n, err := sc.name()
		if err != nil {
			return selectItem{}, err
		}
		e.Name = n
		if err := sc.embedItem(depth, maxDepth, e); err != nil {
			return selectItem{}, err
		}
		return selectItem{Embed: e}, nil
	}
	var it selectItem
	start := sc.pos
	first, err := sc.name()
	if err != nil {
		return selectItem{}, err
	}
	if sc.peek() == ':' && !sc.has("::") {
		sc.pos++
		it.Alias = first
	} else {
		sc.pos = start
	}
	if it.Field, err = sc.field(); err != nil {
		return selectItem{}, err
	}
	if sc.peek() == '(' || sc.peek() == '!' {
		if sc.has("()") && len(it.Field.Path) == 0 && isAggregate(it.Field.Name) {
			return selectItem{}, sc.errf("aggregate functions are not supported")
		}
		if len(it.Field.Path) > 0 {
			return selectItem{}, sc.unexpected(`"::", "," or end of input`)
		}
		e := &embed{Alias: it.Alias, Name: it.Field.Name}
		if err := sc.embedItem(depth, maxDepth, e); err != nil {
			return selectItem{}, err
		}
		return selectItem{Embed: e}, nil
	}
	if sc.accept("::") {
		castStart := sc.pos
		for !sc.eof() && isIdentByte(sc.peek()) {
			sc.pos++
		}
		name := strings.ToLower(sc.s[castStart:sc.pos])
		typ, ok := castTypes[name]
		if !ok {
			sc.pos = castStart
			if name == "" {
				return selectItem{}, sc.unexpected("a type name")
			}
			return selectItem{}, sc.errf("cast to %q is not allowed", name)
		}
		it.Cast = typ
	}
	if !sc.atItemEnd() {
		return selectItem{}, sc.unexpected(`"->", "->>", "::", "," or end of input`)
	}
	return it, nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isAggregate(name string) bool {
	switch strings.ToLower(name) {
	case "count", "sum", "avg", "min", "max":
		return true
	}
	return false
}
