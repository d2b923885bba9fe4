package tenant_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"pgtenant/engine/tenant"
)

// token is the well-formed token whose secret is derived from seed: for
// tests, which need fixed tokens of the real format.
func token(seed string) string { return tenant.FormatToken(sha256.Sum256([]byte(seed))) }

func TestCheckToken(t *testing.T) {
	good := token("good")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"made by FormatToken", good, true},
		{"another", token("another"), true},
		{"all zero secret", tenant.FormatToken([32]byte{}), true},
		{"empty", "", false},
		{"earlier format (no checksum)", "pgt_" + strings.Repeat("A", 43), false},
		{"secret mistyped", flip(good, 10), false},
		{"checksum mistyped", flip(good, len(good)-1), false},
		{"cut", good[:len(good)-1], false},
		{"one more character", good + "A", false},
		{"other prefix", "ghp_" + good[4:], false},
		{"upper-case prefix", "PGT_" + good[4:], false},
		{"padding", good[:len(good)-1] + "=", false},
		{"standard base64", strings.Replace(good, good[10:11], "+", 1), false},
		{"space", good[:20] + " " + good[21:], false},
		{"non-ASCII", good[:20] + "é" + good[22:], false},
		{"JWT-like", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJlc2ln", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tenant.CheckToken(tt.in)
			if tt.ok {
				assert.NoError(t, err)
				assert.Len(t, tt.in, 53)
				assert.True(t, strings.HasPrefix(tt.in, tenant.TokenPrefix))
			} else {
				assert.Error(t, err)
			}
		})
	}
	assert.Contains(t, tenant.CheckToken("pgt_"+strings.Repeat("A", 43)).Error(), "earlier format")
}

// TestCheckToken_Allocs: the check runs on every request.
func TestCheckToken_Allocs(t *testing.T) {
	good := token("good")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = tenant.CheckToken(good) }))
}

func FuzzCheckToken(f *testing.F) {
	for _, s := range []string{token("a"), "pgt_" + strings.Repeat("A", 43), "", "pgt_", token("b")[:52]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tenant.CheckToken(s) == nil {
			assert.Len(t, s, 53)
			assert.True(t, strings.HasPrefix(s, tenant.TokenPrefix))
		}
	})
}

// TestResolve_MalformedTokenNoLookup: a token that fails the format check
// (random text, the earlier format, a wrong checksum) is refused without a
// lookup of any kind. Before the checksum, any 16 to 512 characters were
// looked up: 1,000 made-up tokens cost 1,131 transactions.
func TestResolve_MalformedTokenNoLookup(t *testing.T) {
	store := newStore()
	r := tenant.NewResolver(store, tenant.Config{Header: "X-Tenant-ID"})
	good := token("seed")
	for i := range 1000 {
		var tok string
		switch i % 4 {
		case 0: // the earlier format
			tok = "pgt_" + token(fmt.Sprint(i))[4:47]
		case 1: // a real token's secret with another checksum
			tok = token(fmt.Sprint(i))[:47] + good[47:]
		case 2: // a mistyped character
			b := []byte(token(fmt.Sprint(i)))
			b[20] ^= 0x01
			tok = string(b)
		default: // anything
			tok = fmt.Sprintf("pgt_%048d", i)
		}
		_, err := r.Resolve(request("Authorization", "Token "+tok, "X-Tenant-ID", "acme"))
		require.ErrorIs(t, err, tenant.ErrBadCredential, "%q", tok)
	}
	assert.Zero(t, store.credCalls.Load()+store.tenantCalls.Load(), "no lookup")
}
