package httpapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"pgtenant/engine/tenant"
)

// TestLimiters_Overrides: a tenant's own rate and burst win over the
// default, even when the default is off.
func TestLimiters_Overrides(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiters(RateLimit{})
	plain := tenant.Tenant{ID: "a"}
	for range 100 {
		ok, _ := l.allow(plain, now)
		assert.True(t, ok, "no default limit")
	}
	own := tenant.Tenant{ID: "b", RateRPS: 2, RateBurst: 2}
	for range 2 {
		ok, _ := l.allow(own, now)
		assert.True(t, ok)
	}
	ok, wait := l.allow(own, now)
	assert.False(t, ok)
	assert.Equal(t, 500*time.Millisecond, wait)
	ok, _ = l.allow(own, now.Add(500*time.Millisecond))
	assert.True(t, ok, "one token back after 1/rps")

	// The registry raises b's burst: the bucket follows.
	own.RateBurst = 10
	ok, _ = l.allow(own, now.Add(5*time.Second))
	assert.True(t, ok)

	d := newLimiters(RateLimit{RPS: 1})
	ok, _ = d.allow(plain, now)
	assert.True(t, ok)
	ok, wait = d.allow(plain, now)
	assert.False(t, ok, "burst defaults to RPS rounded up")
	assert.Equal(t, time.Second, wait)
}

// TestLimiters_Bounded: the map never holds more than MaxTenants buckets;
// refilled idle buckets go first.
func TestLimiters_Bounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiters(RateLimit{RPS: 10, Burst: 10, MaxTenants: 3})
	for i := range 50 {
		l.allow(tenant.Tenant{ID: string(rune('a'+i%26)) + string(rune('a'+i/26))}, now.Add(time.Duration(i)*time.Millisecond))
		assert.LessOrEqual(t, len(l.m), 3)
	}
	// Much later, every bucket has refilled: a sweep drops them all.
	l.allow(tenant.Tenant{ID: "late"}, now.Add(time.Hour))
	assert.Len(t, l.m, 1)
}
