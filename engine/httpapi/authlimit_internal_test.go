package httpapi

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestClientAddress(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5123":                    "192.0.2.7",
		"[::ffff:192.0.2.7]:5123":           "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":        "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:4:5:6]:443":     "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":                 "fe80::/64",
		"[::1]:80":                          "::/64",
		"not an address":                    "not an address",
		"127.0.0.1":                         "127.0.0.1",
		"[2001:db8:1:3:3:4:5:6]:443":        "2001:db8:1:3::/64",
		"[2001:0db8:0001:0002:0:0:0:1]:443": "2001:db8:1:2::/64",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = in
		r.Header.Set("X-Forwarded-For", "198.51.100.1") // no proxy is trusted: never read
		assert.Equal(t, want, clientAddress(r, nil), in)
	}
}

// TestClientAddress_TrustedProxies: behind trusted proxies the client is the
// right-most X-Forwarded-For entry that is not one of them; entries left of
// it (the client may have sent them) are never read, and a peer that is not
// trusted is the client whatever it forwards.
func TestClientAddress_TrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.9/32")}
	tests := []struct {
		peer string
		xff  []string
		want string
	}{
		{"10.1.2.3:80", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.1.2.3:80", []string{"203.0.113.66, 198.51.100.7"}, "198.51.100.7"},
		{"10.1.2.3:80", []string{"203.0.113.66", "198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"10.1.2.3:80", []string{"198.51.100.7, 192.0.2.9, 10.0.0.1"}, "198.51.100.7"},
		{"10.1.2.3:80", []string{"2001:db8:5:6::1"}, "2001:db8:5:6::/64"},
		{"10.1.2.3:80", nil, "10.1.2.3"},
		{"10.1.2.3:80", []string{"10.0.0.7"}, "10.1.2.3"},
		{"10.1.2.3:80", []string{"198.51.100.7, garbage"}, "10.1.2.3"},
		{"192.0.2.9:80", []string{"198.51.100.8"}, "198.51.100.8"},
		{"192.0.2.10:80", []string{"198.51.100.8"}, "192.0.2.10"},
		{"203.0.113.5:80", []string{"198.51.100.7"}, "203.0.113.5"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		assert.Equal(t, tt.want, clientAddress(r, trusted), "%s %q", tt.peer, tt.xff)
	}
}

// TestClientIP: the request log's client_ip is the whole address of the client
// (not the /64 the failure limit counts), taken from X-Forwarded-For only
// behind a trusted proxy.
func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		peer, xff, want string
		ok              bool
	}{
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2:3:4:5:6", true},
		{"10.1.2.3:80", "203.0.113.9, 2001:db8::7", "2001:db8::7", true},
		{"198.51.100.1:80", "203.0.113.9", "198.51.100.1", true},
		{"not an address", "", "", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		ip, ok := clientIP(r, trusted)
		assert.Equal(t, tt.ok, ok, tt.peer)
		if ok {
			assert.Equal(t, tt.want, ip.String(), tt.peer)
		}
	}
}

// TestAuthLimiter: each address has its own bucket of failures; one that
// spent it is over until it refills; the table keeps at most MaxClients
// addresses, the most recently seen.
func TestAuthLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newAuthLimiter(AuthFailureLimit{RPS: 2, Burst: 3, MaxClients: 100})
	for range 3 {
		over, _ := l.over("a", now)
		assert.False(t, over)
		l.failed("a", now)
	}
	over, wait := l.over("a", now)
	assert.True(t, over)
	assert.Equal(t, 500*time.Millisecond, wait)
	over, _ = l.over("b", now)
	assert.False(t, over, "another address is not affected")
	over, _ = l.over("a", now.Add(500*time.Millisecond))
	assert.False(t, over, "refilled by one")

	for i := range 1000 {
		l.failed(fmt.Sprint(i), now)
	}
	assert.Equal(t, 100, l.m.Len(), "bounded")

	off := newAuthLimiter(AuthFailureLimit{})
	for range 100 {
		off.failed("a", now)
	}
	over, _ = off.over("a", now)
	assert.False(t, over, "no limit by default")
}
