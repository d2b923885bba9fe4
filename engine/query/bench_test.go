package query_test

import (
	"fmt"
	"net/url"
	"strings"
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

// insertRequest is a bulk insert of n pages as postgrest-js sends it (WIRE.md §2 row 7), each row carrying the
// request's own tenant (rows read back, written back) and a body text of about 1 KiB with escapes.
func insertRequest(b *testing.B, n int) query.Request {
	m := model(b, "")
	var body strings.Builder
	body.WriteByte('[')
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"tenant_id":%q,"namespace_id":"00000000-0000-4000-8000-%012d","slug":"page-%d",`+
			`"title":"Page \"%d\" \u00e9t\u00e9","body":%q,"is_published":true}`,
			testTenant, i, i, i, strings.Repeat("Lorem ipsum dolor sit amet,\n\tconsectetur. ", 24))
	}
	body.WriteByte(']')
	prefer, err := query.ParsePrefer([]string{"return=representation"})
	if err != nil {
		b.Fatal(err)
	}
	return query.Request{Model: m, Table: m.Table("webpages_webpage"), Method: "POST", Params: url.Values{},
		Prefer: prefer, Body: []byte(body.String()), Tenant: testTenant}
}

// BenchmarkParse_Insert measures a write's parse, where the body is decoded: 1 row and 1,000 rows (about 1 MB).
func BenchmarkParse_Insert(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			r := insertRequest(b, n)
			b.SetBytes(int64(len(r.Body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := query.Parse(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// embedRequest is the embedding list of issue 13: 20 pages, each with its
// theme and its tags.
func embedRequest(b *testing.B) query.Request {
	m := model(b, "")
	params, err := url.ParseQuery("select=id,title,slug,webpages_pagetheme(name),content_tag(name)&order=title&limit=20")
	if err != nil {
		b.Fatal(err)
	}
	return query.Request{Model: m, Table: m.Table("webpages_webpage"), Method: "GET", Params: params, Tenant: testTenant}
}

// BenchmarkParse_Embed measures the parse of an embedding request, with the
// relationships derived per request (Request.Relationships nil) and once.
func BenchmarkParse_Embed(b *testing.B) {
	r := embedRequest(b)
	b.Run("derived", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := query.Parse(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	r.Relationships = query.ModelRelationships(r.Model)
	b.Run("given", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q, err := query.Parse(r)
			if err != nil {
				b.Fatal(err)
			}
			q.SQL()
		}
	})
}
