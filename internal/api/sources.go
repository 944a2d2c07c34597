package api

import (
	"net/http"

	"github.com/kizuki-dev/kizuki/internal/health"
)

// sources serves GET /api/v1/sources: every sender seen since the start,
// with its volume and when it was last heard, silent ones first.
func (s *Server) sources(w http.ResponseWriter, r *http.Request) {
	c := s.beginGet(w, r)
	if c == nil {
		return
	}
	list := []health.Source{}
	if s.Sources != nil {
		list = s.Sources()
	}
	silent := 0
	for _, src := range list {
		if src.Silent {
			silent++
		}
	}
	c.reply(http.StatusOK, map[string]any{"sources": list, "silent": silent})
}
