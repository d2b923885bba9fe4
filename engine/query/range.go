package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"pgtenant/engine/header"
)

// Range is a Range request header: rows First to Last, both counted from 0
// and inclusive; Last is -1 for an open range (10-).
type Range struct {
	First int64
	Last  int64
}

// ParseRange reads a Range header: "0-9", "10-", optionally with the items
// unit ("items=0-9"). An empty header gives nil. A header that cannot be read,
// or whose first row comes after its last, returns an error wrapping ErrRange
// (PostgREST's PGRST103, 416). PostgREST ignores a header it cannot read; we
// refuse it, since a client that sends one expects it to count.
func ParseRange(h string) (*Range, error) {
	h = header.TrimOWS(h)
	if h == "" {
		return nil, nil
	}
	spec := strings.TrimPrefix(h, "items=")
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return nil, fmt.Errorf("%w: Range %q is not first-last", ErrRange, h)
	}
	r := &Range{Last: -1}
	var err error
	if r.First, err = parseCount(first); err != nil {
		return nil, fmt.Errorf("%w: Range %q: %v", ErrRange, h, err)
	}
	if last != "" {
		if r.Last, err = parseCount(last); err != nil {
			return nil, fmt.Errorf("%w: Range %q: %v", ErrRange, h, err)
		}
		if r.Last < r.First {
			return nil, fmt.Errorf("%w: Range %q ends before it starts", ErrRange, h)
		}
	}
	return r, nil
}

// parseCount reads a row number: digits only, no sign.
func parseCount(s string) (int64, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a row number", s)
	}
	return strconv.ParseInt(s, 10, 64)
}

// window is the rows a request reads: Offset, and Limit rows (-1: all).
type window struct {
	Offset int64
	Limit  int64
}

// pageWindow combines limit= and offset= with a Range header as PostgREST's
// rangeIntersection does, then caps the limit at maxRows (0: no cap).
func pageWindow(limit, offset string, hdr *Range, maxRows int) (window, error) {
	w := window{Limit: -1}
	if offset != "" {
		n, err := parseParamCount("offset", offset)
		if err != nil {
			return w, err
		}
		w.Offset = n
	}
	if limit != "" {
		n, err := parseParamCount("limit", limit)
		if err != nil {
			return w, err
		}
		w.Limit = n
	}
	if hdr != nil {
		// Intersect [Offset, Offset+Limit-1] with [First, Last].
		lo, hi, open := w.Offset, int64(0), w.Limit < 0
		if !open {
			hi = w.Offset + w.Limit - 1
			if w.Limit > math.MaxInt64-w.Offset {
				hi = math.MaxInt64
			}
		}
		if hdr.First > lo {
			lo = hdr.First
		}
		if hdr.Last >= 0 && (open || hdr.Last < hi) {
			hi, open = hdr.Last, false
		}
		w.Offset = lo
		switch {
		case open:
			w.Limit = -1
		case hi < lo:
			w.Limit = 0 // an empty intersection
		case hi-lo == math.MaxInt64:
			w.Limit = math.MaxInt64
		default:
			w.Limit = hi - lo + 1
		}
	}
	if maxRows > 0 && (w.Limit < 0 || w.Limit > int64(maxRows)) {
		w.Limit = int64(maxRows)
	}
	return w, nil
}

// parseParamCount reads limit= or offset=: a whole number, or a *ParseError;
// a negative one wraps ErrRange as in PostgREST (PGRST103).
func parseParamCount(param, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, &ParseError{Param: param, Msg: fmt.Sprintf("%q is not a whole number", s)}
	}
	if n < 0 {
		return 0, fmt.Errorf("%w: %s=%d is negative", ErrRange, param, n)
	}
	return n, nil
}
