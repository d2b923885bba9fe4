package query

import (
	"fmt"
	"strings"

	"pgtenant/schema"
)

// EmbedError is an embedding the model cannot serve, refused before any
// query runs with PostgREST's code, status and texts: the HTTP layer writes
// Code, Message, Details and Hint as the error body with Status.
//
//   - PGRST200 (400): no relationship between the tables (or none matching
//     the '!' hint); Hint suggests a close table name, or is nil.
//   - PGRST201 (300): more than one relationship; Details is the
//     []RelationshipDetail of the candidates, Hint lists the '!' spellings
//     that pick each.
//   - PGRST108 (400): a parameter (rel.col, rel.order, …, or order=rel(col))
//     names an embed the select does not have.
//   - PGRST118 (400): order=rel(col) on an embed that is not to-one.
//   - PGRST119 (400): a spread (...rel) of an embed that is not to-one.
type EmbedError struct {
	Code    string
	Status  int
	Message string
	// Details is a string, a []RelationshipDetail (PGRST201) or nil.
	Details any
	Hint    *string
}

func (e *EmbedError) Error() string { return "query: " + e.Code + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrEmbedding) hold.
func (e *EmbedError) Unwrap() error { return ErrEmbedding }

// The codes of EmbedError.
const (
	CodeNoRelationship        = "PGRST200"
	CodeAmbiguousRelationship = "PGRST201"
	CodeNotEmbedded           = "PGRST108"
	CodeRelatedOrderNotToOne  = "PGRST118"
	CodeSpreadNotToOne        = "PGRST119"
)

func strp(s string) *string { return &s }

// errNoRelationship is PostgREST's NoRelBetween. schemaName is the schema
// the tables are served from; hint is the '!' hint, or "".
func errNoRelationship(parent, child, hint, schemaName string, rels []Relationship, tables []string) *EmbedError {
	details := "Searched for a foreign key relationship between '" + parent + "' and '" + child
	if hint != "" {
		details += "' using the hint '" + hint
	}
	details += "' in the schema '" + schemaName + "', but no matches were found."
	e := &EmbedError{Code: CodeNoRelationship, Status: 400,
		Message: "Could not find a relationship between '" + parent + "' and '" + child + "' in the schema cache",
		Details: details}
	// As PostgREST's noRelBetweenHint: suggest a table parent is related to
	// when the name is close to one, unless it is exactly one (then the
	// hint is what did not match).
	var targets []string
	for _, r := range rels {
		if r.Table == parent && r.Target == child {
			return e
		}
		if r.Table == parent {
			targets = append(targets, r.Target)
		}
	}
	if s := schema.Suggest(child, targets); s != "" {
		e.Hint = strp("Perhaps you meant '" + s + "' instead of '" + child + "'.")
	} else if s := schema.Suggest(child, tables); s != "" && s != child {
		e.Hint = strp("Perhaps you meant '" + s + "' instead of '" + child + "'.")
	}
	return e
}

// errAmbiguous is PostgREST's AmbiguousRelBetween.
func errAmbiguous(parent, child string, rels []Relationship) *EmbedError {
	details := make([]RelationshipDetail, len(rels))
	hints := make([]string, len(rels))
	for i, r := range rels {
		details[i] = r.detail()
		hints[i] = "'" + r.Target + "!" + r.hintName() + "'"
	}
	return &EmbedError{Code: CodeAmbiguousRelationship, Status: 300,
		Message: "Could not embed because more than one relationship was found for '" + parent + "' and '" + child + "'",
		Details: details,
		Hint: strp("Try changing '" + child + "' to one of the following: " + strings.Join(hints, ", ") +
			". Find the desired relationship in the 'details' key.")}
}

// errNotEmbedded is PostgREST's NotEmbedded.
func errNotEmbedded(resource string) *EmbedError {
	return &EmbedError{Code: CodeNotEmbedded, Status: 400,
		Message: "'" + resource + "' is not an embedded resource in this request",
		Hint:    strp("Verify that '" + resource + "' is included in the 'select' query parameter.")}
}

// errRelatedOrder is PostgREST's RelatedOrderNotToOne.
func errRelatedOrder(origin, target string) *EmbedError {
	return &EmbedError{Code: CodeRelatedOrderNotToOne, Status: 400,
		Message: "A related order on '" + target + "' is not possible",
		Details: "'" + origin + "' and '" + target + "' do not form a many-to-one or one-to-one relationship"}
}

// errSpread is PostgREST's (pre-13) SpreadNotToOne.
func errSpread(origin, target string) *EmbedError {
	return &EmbedError{Code: CodeSpreadNotToOne, Status: 400,
		Message: "A spread operation on '" + target + "' is not possible",
		Details: fmt.Sprintf("'%s' and '%s' do not form a many-to-one or one-to-one relationship", origin, target)}
}
