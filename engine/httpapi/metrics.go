package httpapi

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus series (README "Metrics and health").
// Every label has bounded values: the route template, the method, the
// status code, a refusal reason, a reload result. Never a tenant id, a raw
// path or a query string.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	refusals    *prometheus.CounterVec
	rateLimited prometheus.Counter
	// authThrottled counts requests refused because their address had too
	// many failed authentications.
	authThrottled prometheus.Counter
	reloads       *prometheus.CounterVec
}

// newMetrics registers the server's series into reg; stats, when not nil,
// adds the pool statistics.
func newMetrics(reg prometheus.Registerer, stats func() *pgxpool.Stat, version string) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_http_requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pgtenant_http_request_duration_seconds",
			Help:    "Time from receiving a request to finishing its response, by route template and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_tenancy_refusals_total",
			Help: "Requests refused for their credential or tenant, by reason.",
		}, []string{"reason"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pgtenant_ratelimit_rejections_total",
			Help: "Requests answered 429 because their tenant was over its rate limit.",
		}),
		authThrottled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pgtenant_auth_failure_rejections_total",
			Help: "Requests answered 429 because their client address had too many failed authentications.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pgtenant_schema_reloads_total",
			Help: "Schema reloads (SIGHUP, NOTIFY pgtenant 'reload', reconnects), by result: ok or error.",
		}, []string{"result"}),
	}
	if bi, ok := debug.ReadBuildInfo(); version == "" && ok {
		version = bi.Main.Version
	}
	if version == "" {
		version = "unknown"
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pgtenant_build_info",
		Help: "Always 1; the labels say which pgtenant version and Go version run.",
	}, []string{"version", "go_version"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(m.requests, m.duration, m.refusals, m.rateLimited, m.authThrottled, m.reloads, build)
	for _, result := range []string{"ok", "error"} {
		m.reloads.WithLabelValues(result)
	}
	if stats != nil {
		reg.MustRegister(poolCollector{stats: stats})
	}
	return m
}

// observe counts one answered request.
func (m *metrics) observe(route, method string, status int, elapsed time.Duration, refusal string) {
	if status == 0 {
		status = http.StatusOK // nothing written: net/http sends 200
	}
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
	if refusal != "" {
		m.refusals.WithLabelValues(refusal).Inc()
	}
}

// methodLabel bounds the method label: a client may send any token as a
// method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions:
		return method
	}
	return "other"
}

// poolCollector reads pgxpool.Stat at every scrape.
type poolCollector struct {
	stats func() *pgxpool.Stat
}

var (
	poolAcquired = prometheus.NewDesc("pgtenant_pool_acquired_connections",
		"Connections currently acquired (in use by a request).", nil, nil)
	poolIdle = prometheus.NewDesc("pgtenant_pool_idle_connections",
		"Connections currently idle in the pool.", nil, nil)
	poolTotal = prometheus.NewDesc("pgtenant_pool_total_connections",
		"Connections currently open (acquired, idle and being opened).", nil, nil)
	poolMax = prometheus.NewDesc("pgtenant_pool_max_connections",
		"The pool's size limit (DB_POOL_SIZE).", nil, nil)
	poolAcquires = prometheus.NewDesc("pgtenant_pool_acquires_total",
		"Successful connection acquisitions from the pool.", nil, nil)
	poolAcquireSeconds = prometheus.NewDesc("pgtenant_pool_acquire_duration_seconds_total",
		"Total time spent waiting for successful acquisitions.", nil, nil)
	poolEmptyAcquires = prometheus.NewDesc("pgtenant_pool_empty_acquires_total",
		"Acquisitions that had to wait because no connection was idle: a sign of pool saturation.", nil, nil)
	poolCanceledAcquires = prometheus.NewDesc("pgtenant_pool_canceled_acquires_total",
		"Acquisitions abandoned because the request's context ended first.", nil, nil)
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolAcquires,
		poolAcquireSeconds, poolEmptyAcquires, poolCanceledAcquires} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	if s == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(poolAcquired, float64(s.AcquiredConns()))
	gauge(poolIdle, float64(s.IdleConns()))
	gauge(poolTotal, float64(s.TotalConns()))
	gauge(poolMax, float64(s.MaxConns()))
	counter(poolAcquires, float64(s.AcquireCount()))
	counter(poolAcquireSeconds, s.AcquireDuration().Seconds())
	counter(poolEmptyAcquires, float64(s.EmptyAcquireCount()))
	counter(poolCanceledAcquires, float64(s.CanceledAcquireCount()))
}

// SchemaReloaded counts a schema reload; cmd calls it after each attempt,
// with the attempt's error.
func (s *Server) SchemaReloaded(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.metrics.reloads.WithLabelValues(result).Inc()
}
