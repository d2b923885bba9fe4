package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"pgtenant/engine/pgtx"
	"pgtenant/engine/query"
	"pgtenant/engine/tenant"
	"pgtenant/schema"
)

// apiError is the error body every 4xx and 5xx carries: PostgREST's four
// keys, always present, null allowed. Its type says what kind of failure it
// is; statusOf, the one table of error statuses, gives the HTTP status.
type apiError struct {
	typ        errorType
	retryAfter string // the Retry-After header, when set
	Code       string `json:"code"`
	Message    string `json:"message"`
	// Details is a *string (nil: null), or for PGRST201 the candidate relationships ([]query.RelationshipDetail).
	Details any     `json:"details"`
	Hint    *string `json:"hint"`
}

// errorType is the kind of a failure, as Prometheus's web/api/v1 names its
// errors: what the client did wrong or what went wrong on the server, not yet
// an HTTP status.
type errorType int

const (
	errorInternal         errorType = iota // a fault of the server: the detail goes to the log only
	errorBadRequest                        // the request cannot be read or is refused as written
	errorUnauthorized                      // no credential, or one that is not valid
	errorForbidden                         // the credential may not do this (tenancy, RLS, privileges)
	errorNotFound                          // no such table, function or path
	errorMethodNotAllowed                  // the method is not served here, or a write in a read-only transaction
	errorAmbiguous                         // the request names more than one thing it could mean (PGRST201)
	errorNotAcceptable                     // the answer cannot take the media type or the cardinality asked for
	errorConflict                          // a unique or foreign key violation
	errorTooLarge                          // the request body is over MaxBodyBytes
	errorURITooLong                        // the request target is over MaxURLBytes
	errorUnsupportedMedia                  // the request body's Content-Type is not JSON
	errorUnsatisfiable                     // the range is past the rows there are
	errorThrottled                         // a rate limit: retry after Retry-After
	errorCanceled                          // the client went away
	errorUnavailable                       // the database cannot be reached: retry later
	errorTimeout                           // the request's deadline or the statement timeout passed
)

// statusOf is the one table from a failure to its HTTP status.
var statusOf = [...]int{
	errorInternal:         http.StatusInternalServerError,
	errorBadRequest:       http.StatusBadRequest,
	errorUnauthorized:     http.StatusUnauthorized,
	errorForbidden:        http.StatusForbidden,
	errorNotFound:         http.StatusNotFound,
	errorMethodNotAllowed: http.StatusMethodNotAllowed,
	errorAmbiguous:        http.StatusMultipleChoices,
	errorNotAcceptable:    http.StatusNotAcceptable,
	errorConflict:         http.StatusConflict,
	errorTooLarge:         http.StatusRequestEntityTooLarge,
	errorURITooLong:       http.StatusRequestURITooLong,
	errorUnsupportedMedia: http.StatusUnsupportedMediaType,
	errorUnsatisfiable:    http.StatusRequestedRangeNotSatisfiable,
	errorThrottled:        http.StatusTooManyRequests,
	errorCanceled:         499, // nginx's "client closed request"; no client sees it, the log and metrics do
	errorTimeout:          http.StatusGatewayTimeout,
	errorUnavailable:      http.StatusServiceUnavailable,
}

// status is e's HTTP status.
func (e apiError) status() int { return statusOf[e.typ] }

func str(s string) *string { return &s }

// Our own codes, for what PostgREST has no code for. Documented in README
// "Errors"; stable once released.
const (
	codeNoCredential       = "PGT001"
	codeBadCredential      = "PGT002"
	codeDuplicateAuth      = "PGT003"
	codeAuthThrottled      = "PGT004"
	codeNoTenant           = "PGT010"
	codeTenantRefused      = "PGT011"
	codeDuplicateTenant    = "PGT012"
	codeMalformedTenant    = "PGT013"
	codeForeignTenant      = "PGT020"
	codeNoFilter           = "PGT021"
	codeReadOnly           = "PGT022"
	codeBadArguments       = "PGT023"
	codeBodyTooLarge       = "PGT030"
	codeURLTooLong         = "PGT031"
	codeTransferCoding     = "PGT032"
	codeInternal           = "PGT500"
	codeUnavailable        = "PGT503"
	codeTimeout            = "PGT504"
	codeMethodNotAllowed   = "PGT405"
	codeRateLimited        = "PGT429"
	codeClientClosed       = "PGT499"
	retryAfterUnavailable  = "5"
	genericInternalMessage = "internal error; the server log has the details under this request's X-Request-ID"
)

// The tenancy refusals. Every request refused for its tenant gets exactly
// one of these bodies, whatever the reason behind it, so that a client
// cannot tell an unknown tenant from one it may not use.
var (
	errTenantRefused = apiError{typ: errorForbidden, Code: codeTenantRefused,
		Message: "the tenant is not available to this credential",
		Hint:    str("check the tenant header and that the credential was issued for this tenant")}
	errNoTenant = apiError{typ: errorForbidden, Code: codeNoTenant,
		Message: "a tenant is required", Hint: str("send the tenant header with the tenant's identifier or id")}
)

// errTransferCoding answers a request with Transfer-Encoding (see
// refuseTransferCoding).
var errTransferCoding = apiError{typ: errorBadRequest, Code: codeTransferCoding,
	Message: "a request body with a transfer coding (Transfer-Encoding) is refused, and the connection closed",
	Hint:    str("send the body with Content-Length and no Transfer-Encoding")}

// errorFor is the one place an error becomes the kind of failure it is and
// its body; statusOf gives its status.
func (s *Server) errorFor(err error) apiError {
	var ae apiError
	if errors.As(err, &ae) {
		return ae
	}
	var perr *query.ParseError
	var cerr *query.ColumnError
	var pgErr *pgconn.PgError
	var card *query.CardinalityError
	var rerr *query.RangeError
	var maxErr *query.MaxAffectedError
	var eerr *query.EmbedError
	switch {
	case errors.Is(err, tenant.ErrNoCredential):
		return apiError{typ: errorUnauthorized, Code: codeNoCredential, Message: "credentials are required",
			Hint: str("send Authorization: Token <token>")}
	case errors.Is(err, tenant.ErrWrongScheme):
		return apiError{typ: errorUnauthorized, Code: codeBadCredential, Message: "the credentials are not valid",
			Hint: str("send a pgtenant token as Authorization: Token " + tenant.TokenPrefix + "…; Bearer is for JWTs")}
	case errors.Is(err, tenant.ErrBadCredential):
		return apiError{typ: errorUnauthorized, Code: codeBadCredential, Message: "the credentials are not valid"}
	case errors.Is(err, tenant.ErrDuplicateCredential):
		return apiError{typ: errorBadRequest, Code: codeDuplicateAuth, Message: "more than one Authorization header"}
	case errors.Is(err, tenant.ErrNoTenant):
		return withHeader(errNoTenant, s.tenancy.Header)
	case errors.Is(err, tenant.ErrTenantRefused):
		return errTenantRefused
	case errors.Is(err, tenant.ErrDuplicateTenant):
		return apiError{typ: errorBadRequest, Code: codeDuplicateTenant, Message: "more than one tenant header"}
	case errors.Is(err, tenant.ErrMalformedTenant):
		return apiError{typ: errorBadRequest, Code: codeMalformedTenant,
			Message: "the tenant header is neither a UUID nor a tenant identifier"}
	case errors.As(err, &perr):
		code := "PGRST100"
		switch perr.Param {
		case query.BodyParam:
			code = "PGRST102"
		case query.PreferParam:
			code = "PGRST122"
		}
		return apiError{typ: errorBadRequest, Code: code, Message: perr.Error(), Details: str(perr.Msg)}
	case errors.Is(err, query.ErrForeignTenant):
		return apiError{typ: errorForbidden, Code: codeForeignTenant,
			Message: "the body sets the tenant column to another tenant; nothing was written",
			Hint:    str("leave the tenant column out: it is filled from the tenant header")}
	case errors.Is(err, query.ErrNoFilter):
		return apiError{typ: errorBadRequest, Code: codeNoFilter, Message: err.Error(),
			Hint: str("add a filter such as id=eq.<id>; limit, order and select are not filters")}
	case errors.Is(err, query.ErrReadOnly):
		// Shared tables are SELECT-only for every role: PostgreSQL itself
		// would refuse the write with 42501, which is 403.
		return apiError{typ: errorForbidden, Code: codeReadOnly, Message: err.Error()}
	case errors.As(err, &cerr):
		// PostgREST answers a name in select, a filter, order or
		// on_conflict with PostgreSQL's undefined_column, and one in a body
		// or columns= with PGRST204.
		code := "42703"
		if cerr.InBody() {
			code = "PGRST204"
		}
		return apiError{typ: errorBadRequest, Code: code, Message: err.Error(), Hint: s.columnHint(cerr)}
	case errors.As(err, &card):
		return apiError{typ: errorNotAcceptable, Code: "PGRST116",
			Message: "JSON object requested, multiple (or no) rows returned",
			Details: str(fmt.Sprintf("The result contains %d rows", card.Rows))}
	case errors.As(err, &rerr):
		return apiError{typ: errorUnsatisfiable, Code: "PGRST103", Message: "Requested range not satisfiable",
			Details: str(fmt.Sprintf("An offset of %d was requested, but there are only %d rows.", rerr.Offset, rerr.Total))}
	case errors.As(err, &maxErr):
		return apiError{typ: errorBadRequest, Code: "PGRST124",
			Message: "Query result exceeds max-affected preference constraint",
			Details: str(fmt.Sprintf("The query affects %d rows", maxErr.Rows))}
	case errors.Is(err, query.ErrRange):
		return apiError{typ: errorUnsatisfiable, Code: "PGRST103", Message: err.Error()}
	case errors.As(err, &eerr):
		// Before ErrEmbedding, which it unwraps to: PostgREST's own code, texts and status.
		typ := errorBadRequest
		if eerr.Status == http.StatusMultipleChoices {
			typ = errorAmbiguous
		}
		return apiError{typ: typ, Code: eerr.Code, Message: eerr.Message, Details: eerr.Details, Hint: eerr.Hint}
	case errors.Is(err, query.ErrEmbedding), errors.Is(err, query.ErrLimit):
		return apiError{typ: errorBadRequest, Code: "PGRST100", Message: err.Error()}
	case errors.Is(err, context.Canceled):
		return apiError{typ: errorCanceled, Code: codeClientClosed, Message: "the client closed the request"}
	case errors.Is(err, context.DeadlineExceeded):
		return apiError{typ: errorTimeout, Code: codeTimeout, Message: "the request took too long"}
	case errors.Is(err, pgtx.ErrNoScope):
		return apiError{typ: errorInternal, Code: codeInternal, Message: genericInternalMessage}
	case errors.As(err, &pgErr):
		return pgError(pgErr)
	}
	if isConnectionError(err) {
		return apiError{typ: errorUnavailable, Code: codeUnavailable,
			Message: "the database is unavailable; retry later"}
	}
	return apiError{typ: errorInternal, Code: codeInternal, Message: genericInternalMessage}
}

// columnHint suggests the column of the table the request probably meant, in PostgreSQL's words for 42703;
// nil when none is close.
func (s *Server) columnHint(e *query.ColumnError) *string {
	t := s.Model().Table(e.Table)
	if t == nil {
		return nil
	}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	if best := schema.Suggest(e.Column, names); best != "" {
		return str(fmt.Sprintf("Perhaps you meant to reference the column %q.", t.Name+"."+best))
	}
	return nil
}

func withHeader(e apiError, header string) apiError {
	e.Hint = str("send the " + header + " header with the tenant's identifier or id")
	return e
}

// pgError maps a PostgreSQL error by SQLSTATE, as PostgREST does. Its
// message may name a constraint or column; PostgreSQL's DETAIL (which quotes
// key values) is never sent, and neither is anything for a 5xx.
func pgError(e *pgconn.PgError) apiError {
	out := apiError{Code: e.Code, Message: e.Message}
	if e.Hint != "" {
		out.Hint = str(e.Hint)
	}
	switch {
	case e.Code == "23505", e.Code == "23503":
		out.typ = errorConflict
	case e.Code == "23502", e.Code == "23514", strings.HasPrefix(e.Code, "22"):
		out.typ = errorBadRequest
	case e.Code == "42501":
		out.typ = errorForbidden
	case e.Code == "25006":
		out.typ = errorMethodNotAllowed
	case e.Code == "P0002":
		// RAISE … USING ERRCODE = 'no_data_found' in a function: PostgREST's 404.
		out.typ = errorNotFound
	case e.Code == "P0001":
		// A plain RAISE EXCEPTION in a function: PostgREST's 400.
		out.typ = errorBadRequest
	case e.Code == "57014":
		return apiError{typ: errorTimeout, Code: e.Code, Message: "canceling statement due to statement timeout",
			Hint: str("narrow the request (filters, limit); the server's STATEMENT_TIMEOUT applies")}
	case strings.HasPrefix(e.Code, "08"), strings.HasPrefix(e.Code, "53"), e.Code == "57P01", e.Code == "57P03":
		return apiError{typ: errorUnavailable, Code: codeUnavailable,
			Message: "the database is unavailable; retry later"}
	case strings.HasPrefix(e.Code, "42"):
		// An undefined column or function slipping past the grammar is still
		// the caller's request, not a server fault.
		out.typ = errorBadRequest
	default:
		return apiError{typ: errorInternal, Code: codeInternal, Message: genericInternalMessage}
	}
	return out
}

// isConnectionError reports errors that mean the database cannot be reached
// right now, as opposed to a fault in this request.
func isConnectionError(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	// A connection cut under a statement by a crash or `pg_ctl stop -m
	// immediate` (no FATAL message first) surfaces as the socket's error. The
	// request body is the only other socket this server reads, and readBody
	// answers its errors itself.
	var ne *net.OpError
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	// pgxpool returns puddle's ErrClosedPool as it is (a server shutting
	// down): an error of our own with the same text would never match it.
	return pgconn.SafeToRetry(err) || errors.Is(err, puddle.ErrClosedPool)
}

func (e apiError) Error() string { return e.Code + ": " + e.Message }
