package schema

import "strings"

// This file is the little SQL lexing the declaration needs: SQL fragments
// (using, check, where, sql()) are pasted into migrations as written, so
// each must be one self-contained expression.

// SkipQuoted returns the index after the quoted string or name starting at i (a doubled quote stays inside), or
// -1 when it is not terminated.
func SkipQuoted(s string, i int, backslashEscapes bool) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case backslashEscapes && s[j] == '\\':
			j++
		case s[j] == q && j+1 < len(s) && s[j+1] == q:
			j++
		case s[j] == q:
			return j + 1
		}
	}
	return -1
}

// SkipBlockComment returns the index after the /* comment */ starting at i (they nest in PostgreSQL), or -1
// when it is not terminated.
func SkipBlockComment(s string, i int) int {
	depth := 0
	for j := i; j < len(s)-1; j++ {
		switch {
		case s[j] == '/' && s[j+1] == '*':
			depth++
			j++
		case s[j] == '*' && s[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// Balanced reports whether text closes every bracket and quote it opens and has no top-level semicolon or line
// comment: whether it can sit inside the SQL around it without changing that SQL's structure.
func Balanced(text string) bool {
	var open []byte
	for i := 0; i < len(text); i++ {
		switch ch := text[i]; {
		case strings.HasPrefix(text[i:], "--"):
			k := strings.IndexByte(text[i:], '\n')
			if k < 0 {
				return false // it would comment out what follows it
			}
			i += k
		case strings.HasPrefix(text[i:], "/*"):
			k := SkipBlockComment(text, i)
			if k < 0 {
				return false
			}
			i = k - 1
		case ch == '\'' || ch == '"':
			k := SkipQuoted(text, i, ch == '\'' && i > 0 && (text[i-1] == 'E' || text[i-1] == 'e'))
			if k < 0 {
				return false
			}
			i = k - 1
		case ch == '(' || ch == '[':
			open = append(open, ch)
		case ch == ')' || ch == ']':
			if len(open) == 0 || open[len(open)-1] != map[byte]byte{')': '(', ']': '['}[ch] {
				return false
			}
			open = open[:len(open)-1]
		case ch == ';' && len(open) == 0:
			return false
		}
	}
	return len(open) == 0
}

// FindToken returns the index of the first sub in s at or after from that does not continue a name (the byte
// before it is no identifier byte), or -1.
func FindToken(s, sub string, from int) int {
	for from <= len(s) {
		k := strings.Index(s[from:], sub)
		if k < 0 {
			return -1
		}
		if at := from + k; at == 0 || !IsIdentByte(s[at-1]) {
			return at
		}
		from += k + 1
	}
	return -1
}

// WordIndex returns the index of name in text where it stands as a whole word, or -1.
func WordIndex(text, name string) int {
	for from := 0; from <= len(text); {
		k := FindToken(text, name, from)
		if k < 0 {
			return -1
		}
		if end := k + len(name); end == len(text) || !IsIdentByte(text[end]) {
			return k
		}
		from = k + 1
	}
	return -1
}

// IsIdentByte reports whether b can be part of an unquoted SQL identifier (non-ASCII bytes can).
func IsIdentByte(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}
