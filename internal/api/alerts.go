package api

import (
	"net/http"
	"strconv"

	"github.com/kizuki-dev/kizuki/internal/live"
)

// alerts serves GET /api/v1/alerts?limit=N&kind=K: the newest alerts of
// live detection, newest first (default 100, at most live.MaxAlerts), of
// one kind (sigma, jpcert, ioc, health) or all.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	c := s.beginGet(w, r)
	if c == nil {
		return
	}
	limit := 100
	if q := r.URL.Query().Get("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > live.MaxAlerts {
			c.fail(http.StatusBadRequest, "limit must be 1 to "+strconv.Itoa(live.MaxAlerts))
			return
		}
		limit = n
	}
	kind := r.URL.Query().Get("kind")
	if kind != "" && kind != live.KindSigma && kind != live.KindJPCERT && kind != live.KindIOC && kind != live.KindHealth {
		c.fail(http.StatusBadRequest, "kind must be "+live.KindSigma+", "+live.KindJPCERT+", "+live.KindIOC+" or "+live.KindHealth)
		return
	}
	if s.Detector == nil {
		c.reply(http.StatusOK, map[string]any{"total": 0, "alerts": []live.Alert{}})
		return
	}
	st := s.Detector.Stats()
	c.reply(http.StatusOK, map[string]any{"total": st.Alerts, "alerts": s.Detector.AlertsOf(kind, limit), "detection": map[string]any{
		"checked": st.Checked, "parsed": st.Parsed, "unparsed": st.Unparsed, "lag_seconds": st.LagSeconds}})
}
