package api

import (
	"fmt"
	"io"
	"net/http"
)

// Metric is one value of the Prometheus exposition at /metrics.
type Metric struct {
	Name, Help string
	Counter    bool // a counter (only grows), else a gauge
	Value      float64
}

// WriteMetrics writes ms in the Prometheus text format (version 0.0.4).
func WriteMetrics(w io.Writer, ms []Metric) {
	for _, m := range ms {
		typ := "gauge"
		if m.Counter {
			typ = "counter"
		}
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", m.Name, m.Help, m.Name, typ, m.Name, m.Value)
	}
}

// metrics serves GET /metrics for Prometheus (a token with read access:
// Prometheus sends it with authorization.credentials).
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	c := s.beginGet(w, r)
	if c == nil {
		return
	}
	var ms []Metric
	if s.Metrics != nil {
		ms = s.Metrics()
	}
	// Audited like any call, but not answered as JSON.
	c.audit(http.StatusOK)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	WriteMetrics(w, ms)
}
