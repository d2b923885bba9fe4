package query

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func benchBody(n int) []byte {
	var body strings.Builder
	body.WriteByte('[')
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"tenant_id":"11111111-1111-4111-8111-111111111111","namespace_id":"00000000-0000-4000-8000-%012d","slug":"page-%d",`+
			`"title":"Page \"%d\" \u00e9t\u00e9","body":%q,"is_published":true,"meta":{"a":[1,2,{"b":"c"}]}}`,
			i, i, i, strings.Repeat("Lorem ipsum dolor sit amet,\n\tconsectetur. ", 24))
	}
	body.WriteByte(']')
	return []byte(body.String())
}

// BenchmarkDecodeRows compares decodeRows (json.Unmarshal plus memberCounts) and tokenRows (the Decoder's token
// stream, its slow path) with a plain json.Unmarshal into maps, what parseBody did before it refused duplicate
// keys, in the same run:
//
//	go test -run '^$' -bench DecodeRows -count 5 ./engine/query
func BenchmarkDecodeRows(b *testing.B) {
	for _, n := range []int{1, 1000} {
		body := benchBody(n)
		b.Run(fmt.Sprintf("unmarshal/rows=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var rows []map[string]json.RawMessage
				if err := json.Unmarshal(body, &rows); err != nil {
					b.Fatal(err)
				}
			}
		})
		for name, decode := range map[string]func([]byte, bool) ([]map[string]json.RawMessage, error){
			"decodeRows": decodeRows, "tokenRows": tokenRows} {
			b.Run(fmt.Sprintf("%s/rows=%d", name, n), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := decode(body, true); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
