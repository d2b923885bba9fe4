package query_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"pgtenant/engine/query"
	"pgtenant/internal/golden"
	"pgtenant/schema"
)

// testTenant is the tenant of every golden case unless X-Tenant says otherwise.
const testTenant = "11111111-1111-4111-8111-111111111111"

var (
	modelsMu sync.Mutex
	models   = map[string]*schema.Model{}
)

// model loads ../../policies.hcl ("") or testdata/<name>.hcl once.
func model(tb testing.TB, name string) *schema.Model {
	tb.Helper()
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if m, ok := models[name]; ok {
		return m
	}
	path := "../../policies.hcl"
	if name != "" {
		path = filepath.Join("testdata", name+".hcl")
	}
	m, _, diags := schema.Load(path)
	require.False(tb, diags.HasErrors(), "%s: %s", path, diags.Error())
	models[name] = m
	return m
}

// testRequest is a request.txt read into a Request, with the test's own
// headers.
type testRequest struct {
	query.Request
	ModelName    string // X-Model
	WantSQLState string // X-Want-SQLState
}

// parseRequestText reads the format documented in doc.go. models resolves
// X-Model names.
func parseRequestText(src []byte, models func(string) (*schema.Model, error)) (testRequest, error) {
	var tr testRequest
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return tr, err
	}
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i], "#") {
		i++
	}
	if i == len(lines) {
		return tr, fmt.Errorf("no request line")
	}
	method, target, ok := strings.Cut(lines[i], " ")
	if !ok || !strings.HasPrefix(target, "/") {
		return tr, fmt.Errorf("request line %q is not METHOD /table?query", lines[i])
	}
	i++
	path, rawQuery, _ := strings.Cut(target[1:], "?")
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return tr, fmt.Errorf("query string: %w", err)
	}
	tr.Method, tr.Params, tr.Tenant = method, params, testTenant
	var prefer []string
	explicitTenant := false
	for ; i < len(lines) && lines[i] != ""; i++ {
		name, value, ok := strings.Cut(lines[i], ":")
		if !ok {
			return tr, fmt.Errorf("header line %q has no ':'", lines[i])
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "prefer":
			prefer = append(prefer, value)
		case "accept":
			tr.Singular = strings.HasPrefix(value, "application/vnd.pgrst.object+json")
			tr.CSV = strings.HasPrefix(value, "text/csv")
		case "range":
			if tr.Range, err = query.ParseRange(value); err != nil {
				return tr, err
			}
		case "x-tenant":
			tr.Tenant, explicitTenant = value, true
		case "x-max-rows":
			if tr.MaxRows, err = strconv.Atoi(value); err != nil {
				return tr, err
			}
		case "x-model":
			tr.ModelName = value
		case "x-want-sqlstate":
			tr.WantSQLState = value
		default:
			return tr, fmt.Errorf("unknown header %q", name)
		}
	}
	if i < len(lines) {
		tr.Body = []byte(strings.TrimSpace(strings.Join(lines[i+1:], "\n")))
	}
	if tr.Prefer, err = query.ParsePrefer(prefer); err != nil {
		return tr, err
	}
	if tr.Model, err = models(tr.ModelName); err != nil {
		return tr, err
	}
	if tr.Table = tr.Model.Table(path); tr.Table == nil {
		return tr, fmt.Errorf("unknown table %q", path)
	}
	if tr.Table.Shared && !explicitTenant {
		tr.Tenant = "" // a shared table needs none, unless it embeds a tenant table
	}
	return tr, nil
}

// readCase reads testdata/<name>/request.txt.
func readCase(t testing.TB, name string) testRequest {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name, "request.txt"))
	require.NoError(t, err)
	tr, err := parseRequestText(src, func(n string) (*schema.Model, error) { return model(t, n), nil })
	require.NoError(t, err, "testdata/%s/request.txt", name)
	return tr
}

// caseNames lists the golden case directories (every one but the fuzz corpus).
func caseNames(t testing.TB) []string {
	var out []string
	for _, n := range golden.Cases(t, "testdata") {
		if n != "fuzz" {
			out = append(out, n)
		}
	}
	return out
}
