package query

import (
	"fmt"
	"strconv"
	"strings"
)

// The statuses of a successful answer. The package does not import net/http;
// these are RFC 9110's numbers.
const (
	statusOK             = 200
	statusCreated        = 201
	statusNoContent      = 204
	statusPartialContent = 206
)

// Facts are what PostgREST's response rules read of a request: the method,
// the preferences, whether one object was asked for (Accept:
// application/vnd.pgrst.object+json) and the offset of the first row read.
type Facts struct {
	Method   string
	Prefer   Prefer
	Singular bool
	Offset   int64
}

// Facts returns the request facts of q.
func (q *Query) Facts() Facts {
	return Facts{Method: q.method, Prefer: q.prefer, Singular: q.singular, Offset: q.win.Offset}
}

// Response is the status and headers PostgREST's rules give a request and its
// result (Response.hs, RangeQuery.hs). Body reports whether the result's body
// is sent: a write without return=representation sends none.
type Response struct {
	Status            int
	ContentRange      string // the Content-Range header; "" for none
	PreferenceApplied string // the Preference-Applied header; "" for none
	Body              bool
}

// CardinalityError is a singular request (Accept:
// application/vnd.pgrst.object+json) whose result has other than one row:
// PostgREST's PGRST116 (406). A write is rolled back.
type CardinalityError struct{ Rows int64 }

func (e *CardinalityError) Error() string {
	return fmt.Sprintf("query: one object requested, the result has %d rows", e.Rows)
}

// RangeError is a read whose offset is past the total count of rows:
// PostgREST's PGRST103 (416). It wraps ErrRange.
type RangeError struct{ Offset, Total int64 }

func (e *RangeError) Error() string {
	return fmt.Sprintf("query: an offset of %d was requested, but there are only %d rows", e.Offset, e.Total)
}

// Unwrap returns ErrRange.
func (e *RangeError) Unwrap() error { return ErrRange }

// MaxAffectedError is a write under Prefer: handling=strict, max-affected=N
// that affected more than N rows: PostgREST's PGRST124 (400). It is rolled
// back.
type MaxAffectedError struct{ Rows int64 }

func (e *MaxAffectedError) Error() string {
	return fmt.Sprintf("query: the query affects %d rows, more than max-affected", e.Rows)
}

// Commit checks a write's result before it may commit: it returns a
// *MaxAffectedError when a strict max-affected is exceeded, and a
// *CardinalityError when a singular write affected other than one row.
func (f Facts) Commit(res Result) error {
	p := f.Prefer
	if p.HasMaxAffected && p.Handling == "strict" && res.PageTotal > p.MaxAffected {
		return &MaxAffectedError{Rows: res.PageTotal}
	}
	if f.Singular && res.PageTotal != 1 {
		return &CardinalityError{Rows: res.PageTotal}
	}
	return nil
}

// Respond applies PostgREST's response rules to a request and its result,
// and returns the status and headers of the answer:
//
//   - GET and HEAD: 200, or 206 when a count was asked for and the page is
//     not the whole; Content-Range first-last/total (*/total for an empty
//     page, total * without a count); Preference-Applied count=….
//     A singular read of other than one row returns a *CardinalityError; an
//     offset past the counted total returns a *RangeError, with the
//     Content-Range */total PostgREST sends on its 416.
//   - POST: 201, or 200 for a merge-duplicates upsert that inserted nothing
//     but updated rows; Content-Range */N with a count, else */*.
//   - PATCH: 204, Content-Range 0-(n-1)/N|* (*/… when nothing matched).
//   - DELETE: 204, Content-Range */N|*.
//   - A write with return=representation answers with its rows, 204 turning
//     into 200; Preference-Applied lists the preferences honoured.
func Respond(f Facts, res Result) (Response, error) {
	p := f.Prefer
	switch f.Method {
	case "GET", "HEAD":
		if f.Singular && res.PageTotal != 1 {
			return Response{}, &CardinalityError{Rows: res.PageTotal}
		}
		// PostgREST's rangeStatus: only an offset past the total (an empty
		// table included) is unsatisfiable; an offset equal to it is an
		// empty page (206, */total).
		if res.Total != nil && f.Offset > *res.Total {
			return Response{ContentRange: fmt.Sprintf("*/%d", *res.Total)}, // as PostgREST: the size of the whole
				&RangeError{Offset: f.Offset, Total: *res.Total}
		}
		out := Response{Status: statusOK, ContentRange: contentRange(f.Offset, res.PageTotal, res.Total), Body: true}
		if res.Total != nil && (f.Offset > 0 || f.Offset+res.PageTotal < *res.Total) {
			out.Status = statusPartialContent
		}
		if p.Count != "" {
			out.PreferenceApplied = "count=" + p.Count
		}
		return out, nil
	case "POST":
		out := Response{Status: statusCreated, ContentRange: "*/" + totalOrStar(res.PageTotal, p.Count != "")}
		if p.Resolution == "merge-duplicates" && res.Inserted == 0 && res.PageTotal > 0 {
			out.Status = statusOK
		}
		return written(out, p), nil
	case "PATCH":
		out := Response{Status: statusNoContent, ContentRange: "*/" + totalOrStar(0, p.Count != "")}
		if res.PageTotal > 0 {
			out.ContentRange = fmt.Sprintf("0-%d/%s", res.PageTotal-1, totalOrStar(res.PageTotal, p.Count != ""))
		}
		return written(out, p), nil
	case "DELETE":
		return written(Response{Status: statusNoContent, ContentRange: "*/" + totalOrStar(res.PageTotal, p.Count != "")}, p), nil
	}
	return Response{}, fmt.Errorf("query: no response rules for method %s", f.Method)
}

// written completes a write's response: Preference-Applied, and the body
// with return=representation (204 becomes 200).
func written(out Response, p Prefer) Response {
	var applied []string
	for _, pref := range []struct{ name, value string }{
		{"return", p.Return}, {"resolution", p.Resolution}, {"missing", p.Missing}, {"count", p.Count}, {"tx", p.Tx},
	} {
		if pref.value != "" {
			applied = append(applied, pref.name+"="+pref.value)
		}
	}
	if p.HasMaxAffected && p.Handling == "strict" {
		applied = append(applied, "handling=strict", "max-affected="+strconv.FormatInt(p.MaxAffected, 10))
	}
	out.PreferenceApplied = strings.Join(applied, ", ")
	if p.Return == "representation" {
		out.Body = true
		if out.Status == statusNoContent {
			out.Status = statusOK
		}
	}
	return out
}

// contentRange is PostgREST's Content-Range of a read: first-last/total,
// */total for an empty page, total * when no count was asked for.
func contentRange(first, n int64, total *int64) string {
	t := "*"
	if total != nil {
		t = strconv.FormatInt(*total, 10)
	}
	if n == 0 {
		return "*/" + t
	}
	return fmt.Sprintf("%d-%d/%s", first, first+n-1, t)
}

func totalOrStar(n int64, counted bool) string {
	if counted {
		return strconv.FormatInt(n, 10)
	}
	return "*"
}
