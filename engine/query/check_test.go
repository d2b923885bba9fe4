package query_test

import (
	"fmt"
	"strconv"
	"strings"

	"pgtenant/schema"
)

// vocabulary is every word the builder writes into SQL itself. A word of a
// statement that is neither here nor a name from the model would be request
// text in SQL.
var vocabulary = wordSet(`
	WITH AS SELECT FROM WHERE AND OR NOT NULL IS TRUE FALSE UNKNOWN DISTINCT ANY ALL IN
	LIKE ILIKE CAST ORDER BY ASC DESC NULLS FIRST LAST LIMIT OFFSET CASE WHEN THEN ELSE END
	ORDINALITY INSERT INTO ON CONFLICT DO UPDATE SET EXCLUDED NOTHING RETURNING DELETE DEFAULT
	false public pg_catalog count bigint coalesce json_agg row_to_json json_build_object string_agg
	replace json_each_text to_tsvector regconfig to_tsquery plainto_tsquery phraseto_tsquery
	websearch_to_tsquery json_populate_record json_populate_recordset jsonb_populate_recordset
	jsonb_agg jsonb_build_object jsonb_array_elements xmax ctid EXISTS JOIN
	total page_total inserted body pgrst_source pgrst_source_count _postgrest_t pgrst_row
	pgrst_body pgrst_e pgrst_c pgrst_inserted k v n
	text varchar char integer bigint smallint numeric real float8 boolean uuid json jsonb date time
	timetz timestamp timestamptz interval`)

// literals are the string constants the builder writes.
var literals = wordSet(`'' '[]' '[",\r\n]' '"' '""' ','`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// token is one lexeme of a statement.
type token struct {
	kind byte // 'w' word, 'q' quoted identifier, 's' string literal, 'e' E-string, 'p' $n, 'n' number, 'o' other
	text string
}

// lex splits SQL into tokens, enough to tell identifiers, literals and
// placeholders apart.
func lex(sql string) ([]token, error) {
	var out []token
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t':
			i++
		case c == '$':
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			out = append(out, token{'p', sql[i:j]})
			i = j
		case c == 'E' && i+1 < len(sql) && sql[i+1] == '\'':
			j := strings.IndexByte(sql[i+2:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated E-string at %d", i)
			}
			out = append(out, token{'e', sql[i : i+3+j]})
			i += 3 + j
		case c == '\'' || c == '"':
			j := i + 1
			for {
				k := strings.IndexByte(sql[j:], c)
				if k < 0 {
					return nil, fmt.Errorf("unterminated %c at %d", c, i)
				}
				j += k + 1
				if j < len(sql) && sql[j] == c {
					j++
					continue
				}
				break
			}
			kind := byte('s')
			if c == '"' {
				kind = 'q'
			}
			out = append(out, token{kind, sql[i:j]})
			i = j
		case isWordStart(c):
			j := i + 1
			for j < len(sql) && (isWordStart(sql[j]) || sql[j] >= '0' && sql[j] <= '9' || sql[j] == '$') {
				j++
			}
			out = append(out, token{'w', sql[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(sql) && (sql[j] >= '0' && sql[j] <= '9' || sql[j] == '.') {
				j++
			}
			out = append(out, token{'n', sql[i:j]})
			i = j
		default:
			out = append(out, token{'o', string(c)})
			i++
		}
	}
	return out, nil
}

func isWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

// modelVocab is what a model may contribute: table and column names (as
// words, quoted identifiers and string literals) and the tokens of its
// default expressions.
type modelVocab struct {
	words, quoted, literals, numbers map[string]bool
}

func newModelVocab(m *schema.Model) modelVocab {
	v := modelVocab{words: map[string]bool{}, quoted: map[string]bool{}, literals: map[string]bool{},
		numbers: map[string]bool{"0": true, "1": true}}
	name := func(n string) {
		v.words[n] = true
		v.quoted[`"`+strings.ReplaceAll(n, `"`, `""`)+`"`] = true
		v.literals[schema.QuoteLiteral(n)] = true
	}
	name(m.Tenancy.Column)
	for _, t := range m.Tables {
		name(t.Name)
		for _, c := range t.Columns {
			name(c.Name)
			toks, _ := lex(c.Default)
			for _, tk := range toks {
				switch tk.kind {
				case 'w':
					v.words[tk.text] = true
				case 's':
					v.literals[tk.text] = true
				case 'n':
					v.numbers[tk.text] = true
				}
			}
		}
	}
	return v
}

// checkSQL proves the two rules of doc.go on one statement: every quoted
// identifier, word, literal and number comes from the builder's vocabulary
// or the model, every placeholder has an argument, and no argument appears
// in the text (unless it is itself made only of such words, by chance).
func checkSQL(m *schema.Model, sql string, args []any) error {
	v := newModelVocab(m)
	toks, err := lex(sql)
	if err != nil {
		return err
	}
	for i, tk := range toks {
		switch tk.kind {
		case 'w':
			if !vocabulary[tk.text] && !v.words[tk.text] && !isEmbedAlias(tk.text) {
				return fmt.Errorf("word %q is neither the builder's nor the model's", tk.text)
			}
		case 'q':
			if !v.quoted[tk.text] {
				return fmt.Errorf("quoted identifier %s is not from the model", tk.text)
			}
		case 's':
			if !literals[tk.text] && !v.literals[tk.text] {
				return fmt.Errorf("string literal %s is neither the builder's nor the model's", tk.text)
			}
		case 'e':
			if tk.text != `E'\n'` {
				return fmt.Errorf("unexpected E-string %s", tk.text)
			}
		case 'n':
			// A limit is the one number the builder writes from a request: an
			// integer it parsed itself (pageSQL).
			if !v.numbers[tk.text] && !(i > 0 && toks[i-1].kind == 'w' && toks[i-1].text == "LIMIT" && isDigits(tk.text)) {
				return fmt.Errorf("number %s in SQL", tk.text)
			}
		case 'p':
			n, err := strconv.Atoi(tk.text[1:])
			if err != nil || n < 1 || n > len(args) {
				return fmt.Errorf("placeholder %s with %d arguments", tk.text, len(args))
			}
		}
	}
	for i, a := range args {
		s, ok := a.(string)
		if !ok {
			return fmt.Errorf("argument $%d is a %T, not a string", i+1, a)
		}
		if len(s) > 2 && containsToken(sql, s) && !onlyVocabulary(s, v) {
			return fmt.Errorf("argument $%d %q appears in the SQL text", i+1, s)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// isEmbedAlias reports whether w is an alias the builder gives an embedded
// table: pgrst_ and a number.
func isEmbedAlias(w string) bool {
	n, ok := strings.CutPrefix(w, "pgrst_")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.Atoi(n)
	return err == nil
}

// containsToken reports whether s occurs in sql not glued to a longer word.
func containsToken(sql, s string) bool {
	for off := 0; ; {
		i := strings.Index(sql[off:], s)
		if i < 0 {
			return false
		}
		i += off
		before := i == 0 || !isWordByte(sql[i-1]) || !isWordByte(s[0])
		after := i+len(s) == len(sql) || !isWordByte(sql[i+len(s)]) || !isWordByte(s[len(s)-1])
		if before && after {
			return true
		}
		off = i + 1
	}
}

func isWordByte(c byte) bool { return isWordStart(c) || c >= '0' && c <= '9' || c == '$' }

// onlyVocabulary reports whether s lexes into builder or model words and
// punctuation only.
func onlyVocabulary(s string, v modelVocab) bool {
	toks, err := lex(s)
	if err != nil {
		return false
	}
	for _, tk := range toks {
		switch tk.kind {
		case 'w':
			if !vocabulary[tk.text] && !v.words[tk.text] {
				return false
			}
		case 'o':
		default:
			return false
		}
	}
	return true
}
