package httpapi

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"pgtenant/engine/tenant"
)

// RateLimit is the per-tenant token bucket every tenant gets unless its
// registry entry overrides it (tenant.Tenant.RateRPS and RateBurst).
type RateLimit struct {
	RPS   float64 // requests per second; 0: no default limit
	Burst int     // bucket size; 0: RPS rounded up, at least 1
	// MaxTenants bounds how many tenants' buckets are kept; 0: 10000. Idle
	// buckets that have refilled are dropped first: they hold no state.
	MaxTenants int
}

// limiters holds one token bucket per tenant id.
type limiters struct {
	def RateLimit
	mu  sync.Mutex
	m   map[string]*bucket
	// sweepAt is when idle buckets are next dropped.
	sweepAt time.Time
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time // the last request seen
}

func newLimiters(def RateLimit) *limiters {
	if def.MaxTenants <= 0 {
		def.MaxTenants = 10000
	}
	return &limiters{def: def, m: map[string]*bucket{}}
}

// limitFor is the rate and burst of t: its own when set, else the default.
func (l *limiters) limitFor(t tenant.Tenant) (float64, int) {
	rps, burst := l.def.RPS, l.def.Burst
	if t.RateRPS > 0 {
		rps = t.RateRPS
	}
	if t.RateBurst > 0 {
		burst = t.RateBurst
	}
	if burst <= 0 {
		burst = max(1, int(math.Ceil(rps)))
	}
	return rps, burst
}

// allow takes a token from t's bucket. When there is none it returns how
// long until there is one.
func (l *limiters) allow(t tenant.Tenant, now time.Time) (bool, time.Duration) {
	rps, burst := l.limitFor(t)
	if rps <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[t.ID]
	if b == nil {
		if len(l.m) >= l.def.MaxTenants || now.After(l.sweepAt) {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(rps), burst)}
		l.m[t.ID] = b
	} else if b.lim.Limit() != rate.Limit(rps) || b.lim.Burst() != burst {
		// The tenant's limit changed in the registry.
		b.lim.SetLimitAt(now, rate.Limit(rps))
		b.lim.SetBurstAt(now, burst)
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops the buckets that have been idle long enough to refill (they
// are as good as new), then, if the map is still full, the least recently
// used ones. Callers hold l.mu.
func (l *limiters) sweep(now time.Time) {
	l.sweepAt = now.Add(time.Minute)
	for id, b := range l.m {
		refill := time.Duration(float64(b.lim.Burst()) / float64(b.lim.Limit()) * float64(time.Second))
		if now.Sub(b.last) > refill {
			delete(l.m, id)
		}
	}
	for len(l.m) >= l.def.MaxTenants {
		oldest, at := "", now
		for id, b := range l.m {
			if !b.last.After(at) {
				oldest, at = id, b.last
			}
		}
		delete(l.m, oldest)
	}
}

// rateLimit refuses the request with 429 when t is over its limit.
func (s *Server) rateLimit(t tenant.Tenant) error {
	ok, wait := s.limits.allow(t, time.Now())
	if ok {
		return nil
	}
	s.metrics.rateLimited.Inc()
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return apiError{typ: errorThrottled, Code: codeRateLimited, retryAfter: strconv.Itoa(secs),
		Message: "the tenant is over its request rate limit",
		Hint:    str("retry after the number of seconds in the Retry-After header")}
}
