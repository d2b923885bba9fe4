package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// write is what a POST, PATCH or DELETE changes.
type write struct {
	body    string   // the JSON body, passed to PostgreSQL as one argument
	array   bool     // the body is an array of objects
	columns []column // the columns written, in table order, never the tenant column
	// defaults are (POST array, missing=default) the written columns with a
	// default, merged under every row so that a missing key takes it.
	defaults []column
	// setDefault are (PATCH, missing=default) the columns= names the body
	// lacks: SET col = DEFAULT.
	setDefault []column
	conflict   []string // the ON CONFLICT target; nil for a plain insert
	merge      bool     // DO UPDATE (merge-duplicates) rather than DO NOTHING

	columnsParam    []string // columns= as given, for Values
	onConflictParam []string // on_conflict= as given, for Values
}

// parseWrite reads what a write changes: the body's columns (or columns=),
// the conflict target of an upsert, and checks the tenant column and the
// PATCH/DELETE filter guard.
func (q *Query) parseWrite(r Request) error {
	switch r.Method {
	case "POST", "PATCH", "DELETE":
	default:
		return nil
	}
	w := &write{}
	q.write = w
	var err error
	if v, ok := r.Params["on_conflict"]; ok && len(v) > 0 {
		if w.onConflictParam, err = q.namesParam("on_conflict", v[0]); err != nil {
			return err
		}
	}
	if v, ok := r.Params["columns"]; ok && len(v) > 0 {
		if w.columnsParam, err = q.namesParam("columns", v[0]); err != nil {
			return err
		}
	}
	if r.Method != "POST" && len(q.where) == 0 {
		return fmt.Errorf("%w: %s %s", ErrNoFilter, r.Method, q.tb.t.Name)
	}
	if r.Method == "DELETE" {
		return nil
	}
	rows, err := q.parseBody(r)
	if err != nil {
		return err
	}
	if err := q.checkTenant(rows); err != nil {
		return err
	}
	names := w.columnsParam
	if names == nil && len(rows) > 0 {
		if names, err = q.bodyKeys(rows); err != nil {
			return err
		}
	}
	for _, c := range q.tb.columns() {
		if !c.Tenant && slices.Contains(names, c.Name) {
			w.columns = append(w.columns, c)
		}
	}
	if w.columnsParam != nil && r.Prefer.Missing == "default" {
		q.applyDefaults(rows)
	}
	if r.Method == "POST" && r.Prefer.Resolution != "" {
		return q.conflictTarget(r.Prefer.Resolution == "merge-duplicates")
	}
	return nil
}

// namesParam reads on_conflict= or columns= and checks every name.
func (q *Query) namesParam(param, value string) ([]string, error) {
	names, err := newScanner(param, value).names()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := q.tb.lookup(n, param); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// parseBody decodes the body: a JSON object, or (POST only) an array of
// objects. Errors are *ParseError with Param BodyParam (PostgREST's PGRST102),
// among them a key given twice in one object (see decodeRows).
func (q *Query) parseBody(r Request) ([]map[string]json.RawMessage, error) {
	w := q.write
	body := bytes.Trim(r.Body, " \t\r\n") // JSON's whitespace (RFC 8259 §2), not Unicode's
	if len(body) == 0 {
		return nil, &ParseError{Param: BodyParam, Msg: "empty body: send a JSON object"}
	}
	w.body = string(body)
	switch body[0] {
	case '{':
	case '[':
		if r.Method != "POST" {
			return nil, &ParseError{Param: BodyParam, Msg: "a PATCH body must be one JSON object"}
		}
		w.array = true
	default:
		return nil, &ParseError{Param: BodyParam, Msg: "the body must be a JSON object or an array of objects"}
	}
	return decodeRows(body, w.array)
}

// decodeRows reads the body's objects (one, or the elements of an array),
// each as its keys' raw values. A key given twice in an object is refused,
// named, with the object's position: a map would keep only one of its
// values, and the tenant check would see another value than PostgreSQL's
// jsonb (which keeps the last) or another reader might. Keys compare as
// decoded, so "t\u0069tle" is "title". A json or jsonb column's value is
// kept as raw text, for PostgreSQL to read as it reads any document,
// duplicates inside it included.
//
// The common case costs one json.Unmarshal and one byte loop: memberCounts
// counts the members each object was written with, and only when a map holds
// fewer does tokenRows read the body again, token by token, to name the key.
func decodeRows(body []byte, array bool) ([]map[string]json.RawMessage, error) {
	var rows []map[string]json.RawMessage
	var err error
	if array {
		err = json.Unmarshal(body, &rows)
	} else {
		var row map[string]json.RawMessage
		err = json.Unmarshal(body, &row)
		rows = []map[string]json.RawMessage{row}
	}
	if err != nil {
		return nil, &ParseError{Param: BodyParam, Msg: "invalid JSON: " + err.Error()}
	}
	for i, row := range rows {
		if row == nil {
			return nil, &ParseError{Param: BodyParam, Pos: i, Msg: "every element of the array must be a JSON object"}
		}
	}
	depth := 1
	if array {
		depth = 2
	}
	for i, n := range memberCounts(body, depth) {
		if n != len(rows[i]) {
			return tokenRows(body, array)
		}
	}
	return rows, nil
}

// memberCounts returns how many members each object at depth (1: the value;
// 2: the elements of an array) of body has as written, duplicates counted:
// the colons outside strings at that depth. body must be valid JSON.
func memberCounts(body []byte, depth int) []int {
	var counts []int
	d := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '"':
			for i++; i < len(body) && body[i] != '"'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
		case '{':
			if d++; d == depth {
				counts = append(counts, 0)
			}
		case '[':
			d++
		case '}', ']':
			d--
		case ':':
			if d == depth {
				counts[len(counts)-1]++
			}
		}
	}
	return counts
}

// tokenRows is decodeRows in one pass of encoding/json's Decoder, token by
// token: slower, but it sees every key as it comes, so it names the first
// one given twice.
func tokenRows(body []byte, array bool) ([]map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	bad := func(pos int, err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("unexpected end of JSON input")
		}
		return &ParseError{Param: BodyParam, Pos: pos, Msg: "invalid JSON: " + err.Error()}
	}
	if array {
		if _, err := dec.Token(); err != nil { // '['
			return nil, bad(0, err)
		}
	}
	var rows []map[string]json.RawMessage
	for i := 0; !array || dec.More(); i++ {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad(i, err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return nil, &ParseError{Param: BodyParam, Pos: i, Msg: "every element of the array must be a JSON object"}
		}
		row := map[string]json.RawMessage{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, bad(i, err)
			}
			key, _ := tok.(string) // an object's names are strings, or Token fails
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return nil, bad(i, err)
			}
			if _, dup := row[key]; dup {
				return nil, &ParseError{Param: BodyParam, Pos: i,
					Msg: fmt.Sprintf("duplicate key %q: a key may appear once in an object", key)}
			}
			row[key] = v
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, bad(i, err)
		}
		rows = append(rows, row)
		if !array {
			break
		}
	}
	if array {
		if _, err := dec.Token(); err != nil { // ']'
			return nil, bad(len(rows), err)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &ParseError{Param: BodyParam, Pos: len(rows), Msg: "invalid JSON: data after the body's value"}
	}
	return rows, nil
}

// checkTenant allows the tenant column in a body only with the request's own
// tenant (rows read back can be written back); the key is then ignored, since
// the column is never written. Any other value, in any row, is
// ErrForeignTenant.
func (q *Query) checkTenant(rows []map[string]json.RawMessage) error {
	if q.tb.tenant == "" {
		return nil
	}
	for i, row := range rows {
		raw, ok := row[q.tb.tenant]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil || !strings.EqualFold(strings.TrimSpace(s), q.tenant) {
			return fmt.Errorf("%w: row %d sets %s", ErrForeignTenant, i, q.tb.tenant)
		}
	}
	return nil
}

// bodyKeys returns the keys of the first object, which every other object
// must share (PostgREST: "All object keys must match"), each a column.
func (q *Query) bodyKeys(rows []map[string]json.RawMessage) ([]string, error) {
	keys := make([]string, 0, len(rows[0]))
	for k := range rows[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, row := range rows[1:] {
		if len(row) != len(keys) {
			return nil, &ParseError{Param: BodyParam, Pos: i + 1, Msg: "all object keys must match"}
		}
		for _, k := range keys {
			if _, ok := row[k]; !ok {
				return nil, &ParseError{Param: BodyParam, Pos: i + 1, Msg: "all object keys must match"}
			}
		}
	}
	for _, k := range keys {
		if _, err := q.tb.lookup(k, BodyParam); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// applyDefaults implements Prefer: missing=default for columns= names a row
// lacks. One object: an insert leaves such a column out, an update sets it
// to DEFAULT. An array: each row is merged over the columns' defaults.
func (q *Query) applyDefaults(rows []map[string]json.RawMessage) {
	w := q.write
	missing := func(c column) bool {
		for _, row := range rows {
			if _, ok := row[c.Name]; !ok {
				return true
			}
		}
		return false
	}
	switch {
	case !w.array && q.method == "PATCH":
		kept := w.columns[:0:0]
		for _, c := range w.columns {
			if missing(c) {
				w.setDefault = append(w.setDefault, c)
			} else {
				kept = append(kept, c)
			}
		}
		w.columns = kept
	case !w.array:
		w.columns = slices.DeleteFunc(w.columns, missing)
	default:
		for _, c := range w.columns {
			if c.Default != "" && missing(c) {
				w.defaults = append(w.defaults, c)
			}
		}
	}
}

// conflictTarget sets the ON CONFLICT columns: on_conflict= or the primary
// key, led by the tenant column on a tenant table (every unique index of a
// tenant table leads with it).
func (q *Query) conflictTarget(merge bool) error {
	w := q.write
	w.merge = merge
	cols := w.onConflictParam
	if cols == nil {
		if q.tb.t.PrimaryKey == nil || len(q.tb.t.PrimaryKey.Columns) == 0 {
			return &ParseError{Param: "on_conflict", Msg: "table " + q.tb.t.Name + " has no primary key: name the conflict columns"}
		}
		cols = q.tb.t.PrimaryKey.Columns
	}
	if q.tb.tenant != "" && !slices.Contains(cols, q.tb.tenant) {
		cols = q.tb.model.KeyColumns(q.tb.t, cols)
	}
	w.conflict = slices.Clone(cols)
	return nil
}
