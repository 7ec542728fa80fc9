// Package metrics holds Gatehouse's Prometheus metrics on a registry of its own. The domain
// packages count what happens (logins, 2FA checks, throttled guesses); scrape-time collectors
// read the plugin host, the mail queue and the store.
package metrics

import (
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
)

// Registry is the registry served at /metrics.
var Registry = prometheus.NewRegistry()

var (
	// Requests counts HTTP requests by route, method and status.
	Requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gatehouse", Name: "http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	// Latency is the HTTP request duration by route.
	Latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gatehouse", Name: "http_request_duration_seconds", Help: "HTTP request duration by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	// Logins counts password logins by outcome (success, partial, wrong, throttled, error).
	Logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gatehouse", Name: "logins_total", Help: "Password logins by outcome.",
	}, []string{"outcome"})
	// SecondFactor counts 2FA code checks by method and outcome (success, wrong, throttled, error).
	SecondFactor = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gatehouse", Name: "twofactor_verifications_total", Help: "2FA code checks by method and outcome.",
	}, []string{"method", "outcome"})
	// Throttled counts guesses refused by the guess limiter and sends refused by the send
	// limiter, by factor.
	Throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gatehouse", Name: "throttled_total", Help: "Guesses and sends refused by the limiters, by factor.",
	}, []string{"factor"})
)

func init() {
	Registry.MustRegister(Requests, Latency, Logins, SecondFactor, Throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// ObserveRequest records one HTTP request.
func ObserveRequest(route, method string, status int, d time.Duration) {
	Requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	Latency.WithLabelValues(route).Observe(d.Seconds())
}

// Collector is a scrape-time collector built from a function that emits the current samples.
type Collector struct {
	descs   []*prometheus.Desc
	collect func(emit func(desc *prometheus.Desc, kind prometheus.ValueType, value float64, labels ...string))
}

// NewCollector returns a Collector of descs whose samples collect emits at each scrape.
func NewCollector(descs []*prometheus.Desc, collect func(emit func(desc *prometheus.Desc, kind prometheus.ValueType, value float64, labels ...string))) *Collector {
	return &Collector{descs: descs, collect: collect}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.collect(func(desc *prometheus.Desc, kind prometheus.ValueType, value float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, kind, value, labels...)
	})
}

// PluginStat is one plugin's counters.
type PluginStat struct {
	ID              string
	Calls, Failures uint64
	Loaded          bool
}

// MailStat is the mail queue's state.
type MailStat struct {
	Depth                      int
	Delivered, Failed, Dropped uint64
}

// Sources are read at each scrape; a server sets them when it starts.
type Sources struct {
	Plugins   func() []PluginStat
	Mail      func() MailStat
	StoreSize func() int64
}

var sources atomic.Pointer[Sources]

// SetSources sets what the scrape-time metrics read.
func SetSources(s Sources) { sources.Store(&s) }

var (
	pluginLoaded  = prometheus.NewDesc("gatehouse_plugin_loaded", "1 when the plugin is loaded, 0 when it failed to load.", []string{"plugin"}, nil)
	mailDepth     = prometheus.NewDesc("gatehouse_mail_queue_depth", "Messages waiting in the outbox.", nil, nil)
	mailDelivered = prometheus.NewDesc("gatehouse_mail_delivered_total", "Messages delivered.", nil, nil)
	mailFailures  = prometheus.NewDesc("gatehouse_mail_delivery_failures_total", "Failed delivery attempts.", nil, nil)
	mailDropped   = prometheus.NewDesc("gatehouse_mail_dropped_total", "Messages given up on.", nil, nil)
	storeBytes    = prometheus.NewDesc("gatehouse_store_size_bytes", "Bytes the Badger store uses on disk.", nil, nil)
)

func init() {
	Registry.MustRegister(NewCollector(
		[]*prometheus.Desc{pluginLoaded, mailDepth, mailDelivered, mailFailures, mailDropped, storeBytes},
		func(emit func(*prometheus.Desc, prometheus.ValueType, float64, ...string)) {
			s := sources.Load()
			if s == nil {
				return
			}
			if s.Plugins != nil {
				for _, p := range s.Plugins() {
					loaded := 0.0
					if p.Loaded {
						loaded = 1
					}
					emit(pluginLoaded, prometheus.GaugeValue, loaded, p.ID)
				}
			}
			if s.Mail != nil {
				m := s.Mail()
				emit(mailDepth, prometheus.GaugeValue, float64(m.Depth))
				emit(mailDelivered, prometheus.CounterValue, float64(m.Delivered))
				emit(mailFailures, prometheus.CounterValue, float64(m.Failed))
				emit(mailDropped, prometheus.CounterValue, float64(m.Dropped))
			}
			if s.StoreSize != nil {
				emit(storeBytes, prometheus.GaugeValue, float64(s.StoreSize()))
			}
		}))
}

// Write encodes every metric in the Prometheus text format.
func Write(w io.Writer) error {
	families, err := Registry.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

// RouteMetrics are one route's request metrics, resolved once so a request costs no label
// lookups.
type RouteMetrics struct {
	route, method string
	latency       prometheus.Observer
	counts        sync.Map // status int -> prometheus.Counter
}

// ForRoute returns the request metrics of a route.
func ForRoute(route, method string) *RouteMetrics {
	return &RouteMetrics{route: route, method: method, latency: Latency.WithLabelValues(route)}
}

// Observe records one request of the route.
func (r *RouteMetrics) Observe(status int, d time.Duration) {
	c, ok := r.counts.Load(status)
	if !ok {
		c, _ = r.counts.LoadOrStore(status, Requests.WithLabelValues(r.route, r.method, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
	r.latency.Observe(d.Seconds())
}

var (
	// PluginCalls counts plugin hook calls by plugin, hook and outcome (ok or a PLUGIN_* code).
	PluginCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "gatehouse", Name: "plugin_calls_total", Help: "Plugin hook calls by plugin, hook and outcome (ok or the PLUGIN_* code).",
	}, []string{"plugin", "hook", "outcome"})
	// PluginDuration is the duration of plugin hook calls by plugin and hook.
	PluginDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "gatehouse", Name: "plugin_call_duration_seconds", Help: "Plugin hook call duration by plugin and hook.",
		Buckets: []float64{.000005, .00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .01, .05, .25, 1, 5},
	}, []string{"plugin", "hook"})
)

// pluginFailures counts failed calls per plugin and hook, zero included for every pair that was
// called, so the family is there before the first failure.
var (
	pluginFailures     sync.Map // "plugin\x00hook" -> *atomic.Uint64
	pluginFailuresDesc = prometheus.NewDesc("gatehouse_plugin_failures_total", "Failed plugin hook calls by plugin and hook (the code is the outcome label of gatehouse_plugin_calls_total).", []string{"plugin", "hook"}, nil)
)

func init() {
	Registry.MustRegister(PluginCalls, PluginDuration, NewCollector([]*prometheus.Desc{pluginFailuresDesc},
		func(emit func(*prometheus.Desc, prometheus.ValueType, float64, ...string)) {
			pluginFailures.Range(func(k, v any) bool {
				plugin, hook, _ := strings.Cut(k.(string), "\x00")
				emit(pluginFailuresDesc, prometheus.CounterValue, float64(v.(*atomic.Uint64).Load()), plugin, hook)
				return true
			})
		}))
}

// ObservePluginCall records one plugin hook call; code is "" on success.
func ObservePluginCall(plugin, hook string, d time.Duration, code string) {
	failures, ok := pluginFailures.Load(plugin + "\x00" + hook)
	if !ok {
		failures, _ = pluginFailures.LoadOrStore(plugin+"\x00"+hook, new(atomic.Uint64))
	}
	outcome := code
	if outcome == "" {
		outcome = "ok"
	} else {
		failures.(*atomic.Uint64).Add(1)
	}
	PluginCalls.WithLabelValues(plugin, hook, outcome).Inc()
	PluginDuration.WithLabelValues(plugin, hook).Observe(d.Seconds())
}
