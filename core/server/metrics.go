package server

import (
	"github.com/gatehouse/gatehouse/core/metrics"
)

// Version is the server's version, in the OpenAPI document and the logs.
const Version = "0.1.0"

// registerMetrics points the scrape-time metrics at this server's plugins, outbox and store.
func (s *Server) registerMetrics() {
	metrics.SetSources(metrics.Sources{
		Plugins: func() []metrics.PluginStat {
			var out []metrics.PluginStat
			for _, st := range s.plugins.Status() {
				id := st.ID
				if id == "" {
					id = st.Source
				}
				out = append(out, metrics.PluginStat{ID: id, Calls: st.Calls, Failures: st.Failures, Loaded: st.Loaded})
			}
			return out
		},
		Mail: func() metrics.MailStat {
			st := s.outbox.Stats()
			return metrics.MailStat{Depth: st.Depth, Delivered: st.Delivered, Failed: st.Failed, Dropped: st.Dropped}
		},
		StoreSize: s.store.Size,
	})
}
