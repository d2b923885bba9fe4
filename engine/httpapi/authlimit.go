package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/time/rate"

	"pgtenant/engine/header"
)

// AuthFailureLimit is the token bucket of failed authentications (401
// PGT002: a malformed, unknown or revoked token, a JWT that does not verify)
// each client address gets. An address that has spent it is refused with 429
// PGT004 before its credential is even read, so a flood of made-up tokens
// costs the database at most RPS lookups a second per address.
type AuthFailureLimit struct {
	RPS   float64 // failed authentications per second an address may make; 0: no limit
	Burst int     // how many at once; 0: RPS rounded up, at least 1
	// MaxClients bounds how many addresses are tracked; 0: 10000. The least
	// recently seen are forgotten first.
	MaxClients int
}

// authLimiter holds one bucket per client address, in a bounded LRU table.
type authLimiter struct {
	cfg AuthFailureLimit
	mu  sync.Mutex
	m   *simplelru.LRU[string, *rate.Limiter]
}

func newAuthLimiter(cfg AuthFailureLimit) *authLimiter {
	if cfg.RPS <= 0 {
		return &authLimiter{cfg: cfg}
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(math.Ceil(cfg.RPS)))
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 10000
	}
	m, _ := simplelru.NewLRU[string, *rate.Limiter](cfg.MaxClients, nil) // fails only for a size ≤ 0
	return &authLimiter{cfg: cfg, m: m}
}

// over reports whether addr has no failed authentication left, and then how
// long until it has one. An address never seen has its whole burst.
func (l *authLimiter) over(addr string, now time.Time) (bool, time.Duration) {
	if l.m == nil {
		return false, 0
	}
	l.mu.Lock()
	lim, ok := l.m.Get(addr)
	l.mu.Unlock()
	if !ok {
		return false, 0
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / l.cfg.RPS * float64(time.Second))
}

// failed spends one of addr's failed authentications.
func (l *authLimiter) failed(addr string, now time.Time) {
	if l.m == nil {
		return
	}
	l.mu.Lock()
	lim, ok := l.m.Get(addr)
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.cfg.RPS), l.cfg.Burst)
		l.m.Add(addr, lim)
	}
	l.mu.Unlock()
	lim.AllowN(now, 1)
}

// clientAddress is the address whose failures a request counts against: the
// client's (clientIP), an IPv6 address as its /64, since one host commonly
// holds a whole /64.
func clientAddress(r *http.Request, trusted []netip.Prefix) string {
	ip, ok := clientIP(r, trusted)
	if !ok {
		return r.RemoteAddr
	}
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// clientIP is the address of the request's client: the TCP peer, unless the
// peer is a trusted proxy: then the right-most address of X-Forwarded-For that
// is not a trusted proxy (each proxy appends the address it received the
// request from, so entries left of it may be made up by the client and are
// never read). ok is false when the peer's address does not parse.
func clientIP(r *http.Request, trusted []netip.Prefix) (ip netip.Addr, ok bool) {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	ip, err := netip.ParseAddr(peer)
	if err != nil {
		return netip.Addr{}, false
	}
	ip = ip.Unmap().WithZone("")
	if isTrusted(ip, trusted) {
		ip = forwardedFor(r.Header.Values("X-Forwarded-For"), trusted, ip)
	}
	return ip, true
}

// forwardedFor walks X-Forwarded-For from the right past the trusted proxies
// and returns the first other address; peer when there is none, or when an
// entry does not parse (nothing left of it can be trusted).
func forwardedFor(values []string, trusted []netip.Prefix, peer netip.Addr) netip.Addr {
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(header.TrimOWS(entries[j]))
			if err != nil {
				return peer
			}
			if ip = ip.Unmap().WithZone(""); !isTrusted(ip, trusted) {
				return ip
			}
		}
	}
	return peer
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// authThrottled refuses a request from an address over its failed
// authentications.
func (s *Server) authThrottled(wait time.Duration) error {
	s.metrics.authThrottled.Inc()
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return apiError{typ: errorThrottled, Code: codeAuthThrottled, retryAfter: strconv.Itoa(secs),
		Message: "too many failed authentications from this address",
		Hint:    str("check the credential; retry after the number of seconds in the Retry-After header")}
}
