package httpapi

import (
	"fmt"
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
		"pipe":                              "pipe",
		"127.0.0.1":                         "127.0.0.1",
		"[2001:db8:1:3:3:4:5:6]:443":        "2001:db8:1:3::/64",
		"[2001:0db8:0001:0002:0:0:0:1]:443": "2001:db8:1:2::/64",
	} {
		assert.Equal(t, want, clientAddress(in), in)
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
