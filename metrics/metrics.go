// Package metrics holds the bot's Prometheus metrics. It is the only
// package that imports the Prometheus client; the rest of the bot reports
// through plain function hooks that cmd wires to these counters.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one registry with the bot's metrics.
type Metrics struct {
	reg *prometheus.Registry

	ArticlesIngested *prometheus.CounterVec // by outcome: new, updated, unchanged
	FeedFailures     prometheus.Counter
	Matches          prometheus.Counter     // pending items written by the matcher
	DigestsPosted    prometheus.Counter     // digest messages confirmed by the chat service
	DeliveryEvents   *prometheus.CounterVec // by event: posted, found, refused, set_aside, paused, removed
	DiscordErrors    *prometheus.CounterVec
	DiscordRateLimit prometheus.Counter
	CommandSeconds   *prometheus.HistogramVec
	LookupIndexed    prometheus.Counter // articles written to the lookup index
	LookupIndexLag   prometheus.Gauge   // age of the oldest log entry not yet in the lookup index
}

// New registers the metrics in a fresh registry, with the Go and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		ArticlesIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digestbot_articles_ingested_total", Help: "Articles stored, by outcome (new, updated, unchanged).",
		}, []string{"outcome"}),
		FeedFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digestbot_feed_failures_total", Help: "Feed fetches or parses that failed.",
		}),
		Matches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digestbot_matches_total", Help: "Pending items written by the matcher (one per channel and article).",
		}),
		DigestsPosted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digestbot_digest_messages_posted_total", Help: "Digest messages confirmed by Discord.",
		}),
		DeliveryEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digestbot_delivery_events_total",
			Help: "Digest delivery events: posted (a message reached the channel), found (an interrupted message was found in the channel, not posted again), refused (Discord refused a message; posted smaller), set_aside (a message given up), paused (a channel paused), removed (a channel that no longer exists removed).",
		}, []string{"event"}),
		DiscordErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "digestbot_discord_errors_total", Help: "Discord REST errors, by kind.",
		}, []string{"kind"}),
		DiscordRateLimit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digestbot_discord_ratelimited_total", Help: "Discord 429 answers.",
		}),
		CommandSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "digestbot_command_seconds", Help: "Time to answer a slash command, by command.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"command"}),
		LookupIndexed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "digestbot_lookup_indexed_total", Help: "Articles written to the lookup index by this process's indexer.",
		}),
		LookupIndexLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "digestbot_lookup_index_lag_seconds", Help: "Age of the oldest ingest log entry not yet in the lookup index (0: caught up); /lookup does not find newer articles yet.",
		}),
	}
	reg.MustRegister(m.LookupIndexed, m.LookupIndexLag)
	reg.MustRegister(m.ArticlesIngested, m.FeedFailures, m.Matches, m.DigestsPosted, m.DeliveryEvents, m.DiscordErrors, m.DiscordRateLimit, m.CommandSeconds)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveCommand records how long a command took.
func (m *Metrics) ObserveCommand(name string, d time.Duration) {
	m.CommandSeconds.WithLabelValues(name).Observe(d.Seconds())
}
