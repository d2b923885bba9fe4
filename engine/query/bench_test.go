package query_test

import (
	"net/url"
	"testing"

	"pgtenant/engine/query"
)

// listRequest is a typical postgrest-js list request: WIRE.md §2 row 1 with
// a count.
func listRequest(b *testing.B) query.Request {
	m := model(b, "")
	params, err := url.ParseQuery("select=id,title,slug,published_at&is_published=eq.true&title=ilike.%25go%25" +
		"&order=published_at.desc.nullslast,title&offset=0&limit=10")
	if err != nil {
		b.Fatal(err)
	}
	prefer, err := query.ParsePrefer([]string{"count=exact"})
	if err != nil {
		b.Fatal(err)
	}
	return query.Request{Model: m, Table: m.Table("webpages_webpage"), Method: "GET", Params: params,
		Prefer: prefer, Tenant: testTenant, MaxRows: 1000}
}

func BenchmarkParse(b *testing.B) {
	r := listRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := query.Parse(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSQL(b *testing.B) {
	q, err := query.Parse(listRequest(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		q.SQL()
	}
}
