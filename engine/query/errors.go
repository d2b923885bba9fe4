package query

import (
	"errors"
	"fmt"
)

// The Param of errors about the request body and the Prefer header. They
// are spelled so that no query parameter (a filter on a column named body,
// say) can be mistaken for them.
const (
	BodyParam   = "(body)"
	PreferParam = "(Prefer header)"
)

// ParseError is a request the grammar cannot read: a malformed select, filter,
// order, logic tree, limit, Prefer header or body. It corresponds to
// PostgREST's PGRST100 (400); with Param BodyParam to PGRST102 (400, invalid
// or mismatched JSON body) and with Param PreferParam to PGRST122 (400,
// invalid preference under handling=strict).
type ParseError struct {
	Param string // the query parameter, BodyParam, PreferParam or "Range" that failed
	Pos   int    // byte offset in that value where the problem was found
	Msg   string // what is wrong, lower-case, no full stop
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("query: parse %s at %d: %s", e.Param, e.Pos, e.Msg)
}

// The sentinel errors of Parse, ParsePrefer and ParseRange. Each comment names
// the PostgREST error (code and status) the HTTP layer should answer with.
var (
	// ErrUnknownColumn: a name that is not a column of the table. Returned
	// wrapped in a *ColumnError. PGRST204 (400) for a body key or a columns=
	// name; 42703-like 400 for select, filters, order and on_conflict.
	ErrUnknownColumn = errors.New("query: unknown column")
	// ErrNoFilter: a PATCH or DELETE without any row filter (a column
	// operator, or=, and=). limit, order and select are not filters; the guard
	// holds under Prefer: tx=rollback too. PostgREST has no equivalent (it
	// would update every row); answer 400.
	ErrNoFilter = errors.New("query: PATCH and DELETE need at least one row filter")
	// ErrForeignTenant: a write body sets the tenant column to a value other
	// than the request's tenant, in any row. Nothing is written; answer 403
	// (42501 semantics, a pgtenant refusal code).
	ErrForeignTenant = errors.New("query: the body sets the tenant column to another tenant")
	// ErrReadOnly: a write to a shared table. PostgREST would fail with 42501
	// (403) from the missing privilege; answer 403 likewise.
	ErrReadOnly = errors.New("query: shared tables are read-only")
	// ErrEmbedding: an embedding the relationships cannot serve. Every
	// *EmbedError unwraps to it, so that a layer mapping only the sentinel
	// still answers 400; map *EmbedError first for PostgREST's codes.
	ErrEmbedding = errors.New("query: embedding refused")
	// ErrLimit: too deep an or/and nesting, too many filter terms, too many
	// in values or too many computed select keys (see Limits). Answer 400.
	ErrLimit = errors.New("query: request exceeds a limit")
	// ErrRange: an unsatisfiable Range header (first > last, or unreadable) or
	// a negative limit or offset. PGRST103 (416).
	ErrRange = errors.New("query: requested range not satisfiable")
)

// ColumnError names the unknown column. It unwraps to ErrUnknownColumn.
type ColumnError struct {
	Table  string // the table the name was looked up in
	Column string // the name as the request spelled it
	Param  string // where: "select", "order", "on_conflict", "columns", BodyParam or a filter key
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("query: unknown column %q of table %q in %s", e.Column, e.Table, e.Param)
}

// Unwrap makes errors.Is(err, ErrUnknownColumn) hold.
func (e *ColumnError) Unwrap() error { return ErrUnknownColumn }

// InBody reports whether the name came from the body or the columns
// parameter, which PostgREST answers with PGRST204.
func (e *ColumnError) InBody() bool { return e.Param == BodyParam || e.Param == "columns" }

// limitError wraps ErrLimit with what was exceeded.
func limitError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLimit}, args...)...)
}
