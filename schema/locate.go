package schema

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Locate returns the source range of n bytes at byte off of a fragment's text, where rng is the range of the
// expression that declares the fragment: a quoted string (escapes and all), a heredoc, sql("…") or a bare word
// (uuid, varchar(8), 0). It returns rng itself when off < 0, when the model was not read from source, or when
// the source does not spell the text out where it can be found.
func (m *Model) Locate(rng hcl.Range, text string, off, n int) hcl.Range {
	src := m.src[rng.Filename]
	if off < 0 || off >= len(text) || rng.Start.Byte < 0 || rng.End.Byte > len(src) || rng.Start.Byte >= rng.End.Byte {
		return rng
	}
	raw := string(src[rng.Start.Byte:rng.End.Byte])
	decoded, pos := decodeLiteral(raw)
	k := strings.Index(decoded, text)
	if k < 0 {
		return rng
	}
	n = max(1, min(n, len(text)-off))
	return hcl.Range{Filename: rng.Filename, Start: advance(raw, rng.Start, pos[k+off]), End: advance(raw, rng.Start, pos[k+off+n])}
}

// advance returns the position off bytes into raw, which starts at start.
func advance(raw string, start hcl.Pos, off int) hcl.Pos {
	p := start
	for _, r := range raw[:off] {
		if r == '\n' {
			p.Line++
			p.Column = 1
		} else {
			p.Column++
		}
	}
	p.Byte = start.Byte + off
	return p
}

// decodeLiteral decodes the HCL expression raw as far as a fragment's text may come from it, and returns the
// decoded text with, for each of its bytes and one past the end, the offset in raw it comes from. An expression
// that is not a string is its own text.
func decodeLiteral(raw string) (string, []int) {
	switch {
	case strings.HasPrefix(raw, "sql("):
		i := len("sql(")
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
			i++
		}
		d, pos := decodeLiteral(raw[i:])
		for j := range pos {
			pos[j] += i
		}
		return d, pos
	case strings.HasPrefix(raw, `"`):
		return decodeQuoted(raw)
	case strings.HasPrefix(raw, "<<"):
		return decodeHeredoc(raw)
	}
	pos := make([]int, len(raw)+1)
	for i := range pos {
		pos[i] = i
	}
	return raw, pos
}

// decodeQuoted decodes a quoted HCL string: its escapes, and $${ and %%{ for ${ and %{.
func decodeQuoted(raw string) (string, []int) {
	var b strings.Builder
	var pos []int
	emit := func(s string, at int) {
		for range len(s) {
			pos = append(pos, at)
		}
		b.WriteString(s)
	}
	i := 1
	for i < len(raw) && raw[i] != '"' {
		switch c := raw[i]; {
		case c == '\\' && i+1 < len(raw):
			switch e := raw[i+1]; e {
			case 'n', 'r', 't', '"', '\\':
				emit(map[byte]string{'n': "\n", 'r': "\r", 't': "\t", '"': `"`, '\\': `\`}[e], i)
				i += 2
			case 'u', 'U':
				size := map[byte]int{'u': 4, 'U': 8}[e]
				v, err := strconv.ParseUint(raw[i+2:min(len(raw), i+2+size)], 16, 32)
				if err != nil || i+2+size > len(raw) {
					return "", nil
				}
				emit(string(rune(v)), i)
				i += 2 + size
			default:
				return "", nil
			}
		case (c == '$' || c == '%') && strings.HasPrefix(raw[i+1:], string(c)+"{"):
			emit(string(c), i)
			emit("{", i+2)
			i += 3
		default:
			_, size := utf8.DecodeRuneInString(raw[i:])
			for k := range size {
				emit(raw[i+k:i+k+1], i+k)
			}
			i += size
		}
	}
	pos = append(pos, i)
	return b.String(), pos
}

// decodeHeredoc decodes <<EOT and <<-EOT heredocs: the lines between the marker lines, with the indentation
// of the least indented line taken off every line of a <<- one.
func decodeHeredoc(raw string) (string, []int) {
	first := strings.IndexByte(raw, '\n')
	if first < 0 {
		return "", nil
	}
	flush := strings.HasPrefix(raw, "<<-")
	body := raw[first+1:]
	// The closing marker is the last line.
	if k := strings.LastIndexByte(strings.TrimRight(body, " \t\r\n"), '\n'); k >= 0 {
		body = body[:k+1]
	} else {
		body = ""
	}
	lines := strings.SplitAfter(body, "\n")
	indent := 0
	if flush {
		indent = -1
		for _, l := range lines {
			if strings.TrimSpace(l) == "" {
				continue
			}
			if n := len(l) - len(strings.TrimLeft(l, " \t")); indent < 0 || n < indent {
				indent = n
			}
		}
		indent = max(indent, 0)
	}
	var b strings.Builder
	var pos []int
	at := first + 1
	for _, l := range lines {
		for k := min(indent, len(l)-len(strings.TrimLeft(l, " \t"))); k < len(l); k++ {
			if c := l[k]; (c == '$' || c == '%') && strings.HasPrefix(l[k+1:], string(c)+"{") {
				k++ // $${ is ${, %%{ is %{
			}
			b.WriteByte(l[k])
			pos = append(pos, at+k)
		}
		at += len(l)
	}
	pos = append(pos, at)
	return b.String(), pos
}
