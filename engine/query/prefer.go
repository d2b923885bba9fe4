package query

import (
	"fmt"
	"strconv"
	"strings"

	"pgtenant/engine/header"
)

// Prefer holds the preferences of a request's Prefer headers (RFC 7240), as
// PostgREST reads them (ApiRequest/Preferences.hs). An empty field means the
// preference was not given.
type Prefer struct {
	Return      string // "minimal", "representation" or "headers-only" (no Location header: as minimal); writes default to minimal
	Count       string // "exact", "planned" or "estimated"
	Resolution  string // "merge-duplicates" or "ignore-duplicates"
	Missing     string // "default" or "null"
	Tx          string // "commit" or "rollback"
	Handling    string // "strict" or "lenient"
	Params      string // "single-object": an RPC's JSON body is its one argument
	MaxAffected int64  // max-affected=N; meaningful when HasMaxAffected
	// HasMaxAffected is set when max-affected=N was given. PostgREST applies it
	// only with handling=strict: the HTTP layer refuses (PGRST124) and rolls
	// back a write whose Result.PageTotal exceeds MaxAffected.
	HasMaxAffected bool
	// Invalid lists the preferences that were not understood, ignored as
	// PostgREST ignores them under handling=lenient.
	Invalid []string
}

// The preferences ParsePrefer recognises, by name, with their values.
var preferValues = map[string][]string{
	"return":     {"minimal", "representation", "headers-only"},
	"count":      {"exact", "planned", "estimated"},
	"resolution": {"merge-duplicates", "ignore-duplicates"},
	"missing":    {"default", "null"},
	"tx":         {"commit", "rollback"},
	"handling":   {"strict", "lenient"},
	"params":     {"single-object"},
}

// ParsePrefer reads the values of every Prefer header of a request. Each
// header is split on commas and each preference trimmed of optional
// whitespace (SP and HTAB, see engine/header); when a preference
// appears more than once the first one counts, as in PostgREST. Unknown
// preferences are listed in Invalid and otherwise ignored, unless
// handling=strict is among them: then it returns a *ParseError (PostgREST's
// PGRST122).
func ParsePrefer(values []string) (Prefer, error) {
	var p Prefer
	seen := map[string]bool{}
	for _, item := range header.List(values) {
		name, val, _ := strings.Cut(item, "=")
		name, val = header.TrimOWS(name), header.TrimOWS(val)
		if !p.set(name, val, seen) {
			p.Invalid = append(p.Invalid, item)
		}
	}
	if p.Handling == "strict" && len(p.Invalid) > 0 {
		return p, &ParseError{Param: PreferParam, Msg: fmt.Sprintf("invalid preferences given with handling=strict: %s",
			strings.Join(p.Invalid, ", "))}
	}
	return p, nil
}

// set applies one preference and reports whether it was understood.
func (p *Prefer) set(name, val string, seen map[string]bool) bool {
	if name == "max-affected" {
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 {
			return false
		}
		if !seen[name] {
			seen[name] = true
			p.MaxAffected, p.HasMaxAffected = n, true
		}
		return true
	}
	allowed, ok := preferValues[name]
	if !ok || !contains(allowed, val) {
		return false
	}
	if seen[name] {
		return true
	}
	seen[name] = true
	switch name {
	case "return":
		p.Return = val
	case "count":
		p.Count = val
	case "resolution":
		p.Resolution = val
	case "missing":
		p.Missing = val
	case "tx":
		p.Tx = val
	case "handling":
		p.Handling = val
	case "params":
		p.Params = val
	}
	return true
}

// Applied is the Preference-Applied header value PostgREST would send: the
// preferences that were honoured, in its order; "" when there are none.
func (p Prefer) Applied() string {
	var out []string
	add := func(name, val string) {
		if val != "" {
			out = append(out, name+"="+val)
		}
	}
	add("resolution", p.Resolution)
	add("missing", p.Missing)
	add("return", p.Return)
	add("count", p.Count)
	add("tx", p.Tx)
	add("handling", p.Handling)
	if p.Handling == "strict" && p.HasMaxAffected {
		add("max-affected", strconv.FormatInt(p.MaxAffected, 10))
	}
	return strings.Join(out, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
