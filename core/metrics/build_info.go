package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/core/buildinfo"
)

// BuildInfo is the gatehouse_build_info gauge: always 1, labelled with the running build's
// version, Go version and source revision (the Prometheus convention for build metadata).
var BuildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Namespace: "gatehouse", Name: "build_info", Help: "Always 1; the labels name the running build.",
}, []string{"version", "goversion", "revision"})

func init() {
	b := buildinfo.Get()
	BuildInfo.WithLabelValues(b.Version, b.GoVersion, b.Revision).Set(1)
	Registry.MustRegister(BuildInfo)
}
