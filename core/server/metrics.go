package server

import (
	"github.com/gatehouse/gatehouse/core/buildinfo"
	"github.com/gatehouse/gatehouse/core/metrics"
)

// Version is the server's version (core/buildinfo), in the OpenAPI document and the logs.
var Version = buildinfo.Get().Version

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
