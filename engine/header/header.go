// Package header reads HTTP field values the way RFC 9110 defines them. Its
// one job is that every part of the server agrees on what whitespace around a
// value is: optional whitespace (OWS, RFC 9110 §5.6.3) is SP and HTAB, and
// nothing else. A no-break space, an em space or a vertical tab is part of
// the value, which is then malformed wherever the value has a grammar.
//
// It imports only the standard library's strings, so that every engine
// package may use it, engine/query included.
package header

import (
	"fmt"
	"mime"
	"strings"
)

// ows is the optional whitespace of RFC 9110 §5.6.3: SP and HTAB.
const ows = " \t"

// TrimOWS returns s without leading and trailing SP and HTAB. Unlike
// strings.TrimSpace it keeps every other space, so `\u00a0acme` stays as it
// is and cannot be mistaken for `acme`.
func TrimOWS(s string) string { return strings.Trim(s, ows) }

// List returns the elements of the comma-separated lists in values (RFC 9110
// §5.6.1), each without its optional whitespace; empty elements are dropped.
func List(values []string) []string {
	var out []string
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			if part = TrimOWS(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// MediaType parses a media type such as `application/json; charset=utf-8`
// (RFC 9110 §8.3.1) with mime.ParseMediaType, which trims every Unicode
// space: a value with any other space than SP or HTAB at either end is
// refused here first.
func MediaType(v string) (string, map[string]string, error) {
	if t := TrimOWS(v); strings.TrimSpace(t) != t {
		return "", nil, fmt.Errorf("header: media type %q: a space other than SP or HTAB around it", v)
	}
	return mime.ParseMediaType(v)
}
