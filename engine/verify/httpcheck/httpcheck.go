// Package httpcheck runs the HTTP half of the production checklist against a running API: the checks
// verify.CheckServer (Server: the tenant header is required, and unknown tenants are refused alike) and
// verify.CheckMonitoring (Monitoring: the admin listener serves /metrics and /readyz). Its results are
// verify.Results, printed with the others by `pgtenant verify --server`.
//
// It is apart from engine/verify because it speaks HTTP, which verify must not. It imports net/http, pgx (to
// register a temporary tenant through verify.CreateProbeTenants), engine/verify, engine/tenant (the token format)
// and schema; it must not import engine/httpapi: it sees the server only from outside, as a client does.
package httpcheck

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"pgtenant/engine/tenant"
	"pgtenant/engine/verify"
	"pgtenant/schema"
)

// Config is what Server checks and with what.
type Config struct {
	BaseURL  string        // the API's base URL, such as http://localhost:3000/api/v1
	Token    string        // a live API token; "": only the unauthenticated answers are checked
	Header   string        // the tenant header the server reads (TENANT_HEADER); "": the declaration's
	AdminURL string        // the owner's connection (ADMIN_DATABASE_URL), to register a temporary tenant; "": none
	Declared *schema.Model // the declaration: which table to ask for
}

// Server is verify.CheckServer: the HTTP half of the checklist, against a running API at cfg.BaseURL. Two things
// are checked, on the first declared tenant table:
//
//  1. a GET without the tenant header (and without credentials) is refused with 403: REQUIRE_TENANT is in force
//     on that server, whatever the local configuration says;
//  2. GETs for two unknown tenants (valid identifiers pgtenant_verify_<hex> that are not registered) and, when
//     cfg.AdminURL (ADMIN_DATABASE_URL) is set, for a temporary registered tenant, get the same status and byte-identical
//     bodies: a caller cannot tell which tenants exist.
//
// With cfg.Token (a live token: --token), the three must be 403: the tenant refusal itself is checked. Without it the probe
// sends a well-formed but unknown token, and the server, which checks credentials before tenants, answers 401
// alike for all three: that proves an unauthenticated caller learns nothing about tenants, but not what the server
// does for an authenticated one. Whether the server had loaded the registered tenant when it answered (it reloads
// its tenant directory at most once a second) cannot be seen from outside; the probe creates it before asking for
// the unknown ones to give it the chance.
func Server(ctx context.Context, cfg Config) verify.Result {
	const name = verify.CheckServer
	base, token, m := cfg.BaseURL, cfg.Token, cfg.Declared
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return verify.Failed(name, fmt.Sprintf("--server %q is not an http(s) URL", base),
			"pass the API's base URL, such as http://localhost:3000/api/v1")
	}
	var table string
	for _, t := range m.Tables {
		if !t.Shared {
			table = t.Name
			break
		}
	}
	if table == "" {
		return verify.Failed(name, "the declaration has no tenant table to ask for", "")
	}
	header := cfg.Header
	if header == "" {
		header = m.Tenancy.Header
	}
	p := &httpProbe{client: &http.Client{Timeout: 10 * time.Second}, url: u.String() + "/" + table, header: header}

	var problems []string
	noHeader, err := p.get(ctx, "", "")
	if err != nil {
		return verify.Failed(name, err.Error(), "start the API (pgtenant serve) or pass its URL")
	}
	if noHeader.status != http.StatusForbidden {
		problems = append(problems, fmt.Sprintf("a request without the %s header got %s, not 403", header, noHeader))
	}

	auth := "Token " + token
	if token == "" {
		auth = "Token " + probeToken()
	}
	refs := []string{"pgtenant_verify_" + probeHex(6)}
	var registered []verify.ProbeTenant
	if cfg.AdminURL != "" {
		if conn, err := pgx.Connect(ctx, cfg.AdminURL); err == nil {
			registered, err = verify.CreateProbeTenants(ctx, conn, 1)
			if err == nil {
				refs = append(refs, registered[0].Identifier)
			}
			defer func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				_ = verify.DropProbeTenants(cctx, conn, registered)
				_ = conn.Close(cctx)
			}()
		}
	}
	refs = append(refs, "pgtenant_verify_"+probeHex(6))
	var answers []httpAnswer
	for _, ref := range refs {
		a, err := p.get(ctx, ref, auth)
		if err != nil {
			return verify.Failed(name, err.Error(), "")
		}
		answers = append(answers, a)
	}
	what := "two unknown tenants"
	if len(registered) > 0 {
		what = "two unknown tenants and a registered one the token may not use"
	}
	for _, a := range answers[1:] {
		if a.status != answers[0].status || !bytes.Equal(a.body, answers[0].body) {
			problems = append(problems, fmt.Sprintf("%s got different answers (%s and %s): a caller can tell "+
				"tenants apart", what, answers[0], a))
			break
		}
	}
	switch got := answers[0].status; {
	case token != "" && got == http.StatusUnauthorized:
		problems = append(problems, fmt.Sprintf("the server refused --token: %s", answers[0]))
	case token != "" && got != http.StatusForbidden:
		problems = append(problems, fmt.Sprintf("%s got %s, not 403", what, answers[0]))
	case token == "" && got != http.StatusUnauthorized && got != http.StatusForbidden:
		problems = append(problems, fmt.Sprintf("%s with an unknown token got %s, not 401 or 403", what, answers[0]))
	}
	if len(problems) > 0 {
		fix := "set REQUIRE_TENANT=true and unset DEFAULT_TENANT_ID on the server, and restart it"
		if token != "" && answers[0].status == http.StatusUnauthorized {
			fix = "pass a live token: pgtenant token create --tenant <any> --name verify"
		}
		return verify.Failed(name, strings.Join(problems, "; "), fix)
	}
	detail := fmt.Sprintf("no header: %s; %s: %s, identical", noHeader, what, answers[0])
	if token == "" {
		detail += " (without --token only the unauthenticated answer was checked)"
	}
	return verify.Passed(name, detail)
}

// Monitoring is verify.CheckMonitoring: the admin listener at base (the server's ADMIN_LISTEN_ADDR) answers
// GET /metrics with pgtenant's series in Prometheus's text format, and GET /readyz with 200 {"status":"ok"}: a
// scraper gets the metrics, and a load balancer or Kubernetes the readiness. It cannot see whether anything
// scrapes them, nor the alerts (deploy/prometheus/alerts.yml).
func Monitoring(ctx context.Context, base string) verify.Result {
	const name = verify.CheckMonitoring
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return verify.Failed(name, fmt.Sprintf("--admin %q is not an http(s) URL", base),
			"pass the admin listener's URL, such as http://127.0.0.1:3001")
	}
	fix := "start the server with ADMIN_LISTEN_ADDR reachable from here, or pass --admin with its URL"
	p := &httpProbe{client: &http.Client{Timeout: 10 * time.Second}}
	var problems []string
	p.url = u.String() + "/metrics"
	metrics, err := p.get(ctx, "", "")
	if err != nil {
		return verify.Failed(name, err.Error(), fix)
	}
	if metrics.status != http.StatusOK || !bytes.Contains(metrics.body, []byte("\npgtenant_build_info{")) {
		problems = append(problems, fmt.Sprintf("GET %s got %d without pgtenant's series", p.url, metrics.status))
	}
	p.url = u.String() + "/readyz"
	ready, err := p.get(ctx, "", "")
	if err != nil {
		return verify.Failed(name, err.Error(), fix)
	}
	var status struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(ready.body, &status)
	if ready.status != http.StatusOK || status.Status != "ok" {
		problems = append(problems, fmt.Sprintf("GET %s got %d %s %s", p.url, ready.status, status.Status, status.Reason))
		fix = "see why the server is not ready (its log, `reason` above): the database, the schema, or a shutdown"
	}
	if len(problems) > 0 {
		return verify.Failed(name, strings.Join(problems, "; "), fix)
	}
	return verify.Passed(name, fmt.Sprintf("%s/metrics serves pgtenant's series; %s/readyz is ready", u, u))
}

// httpProbe sends the probe's GETs.
type httpProbe struct {
	client *http.Client
	url    string
	header string
}

// httpAnswer is a response: its status, body and error code.
type httpAnswer struct {
	status int
	body   []byte
}

func (a httpAnswer) String() string {
	var b struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(a.body, &b)
	if b.Code == "" {
		return fmt.Sprintf("%d", a.status)
	}
	return fmt.Sprintf("%d %s", a.status, b.Code)
}

func (p *httpProbe) get(ctx context.Context, tenant, auth string) (httpAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return httpAnswer{}, err
	}
	if tenant != "" {
		req.Header.Set(p.header, tenant)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return httpAnswer{}, fmt.Errorf("GET %s: %w", p.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return httpAnswer{}, fmt.Errorf("GET %s: %w", p.url, err)
	}
	return httpAnswer{status: resp.StatusCode, body: body}, nil
}

// probeToken is a token of the right format (it passes tenant.CheckToken) that no server knows.
func probeToken() string {
	var secret [32]byte
	_, _ = rand.Read(secret[:]) // crypto/rand.Read never returns an error
	return tenant.FormatToken(secret)
}

func probeHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
