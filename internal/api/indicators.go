package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/auth"
	"github.com/kizuki-dev/kizuki/internal/detect/ioc"
	"github.com/kizuki-dev/kizuki/internal/live"
)

// indicators serves the indicator lists matched live (R2):
//
//	GET    /api/v1/indicators         the lists, what they hold, the retro-hunt's progress
//	PUT    /api/v1/indicators/NAME    store a list (text, CSV or STIX 2.1): matched from the
//	                                  next record on, and its new indicators retro-hunted
//	DELETE /api/v1/indicators/NAME    stop matching a list
func (s *Server) indicators(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/v1/indicators"), "/")
	if r.Method == http.MethodGet && name == "" {
		c := s.beginGet(w, r)
		if c == nil {
			return
		}
		if s.Detector == nil {
			c.fail(http.StatusServiceUnavailable, "live detection is off")
			return
		}
		st := s.Detector.Stats()
		c.reply(http.StatusOK, map[string]any{"lists": s.Detector.IndicatorLists(), "indicators": st.Indicators, "retro": st.Retro})
		return
	}
	c := s.begin(w, r, auth.Hunt)
	if c == nil {
		return
	}
	switch {
	case name == "" || strings.Contains(name, "/"):
		c.fail(http.StatusNotFound, "name the list: /api/v1/indicators/NAME (letters, digits, '.', '_', '-')")
		return
	case r.Method != http.MethodPut && r.Method != http.MethodDelete:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		c.fail(http.StatusMethodNotAllowed, "use PUT to store a list, DELETE to remove it")
		return
	case s.Detector == nil:
		c.fail(http.StatusServiceUnavailable, "live detection is off")
		return
	}
	if r.Method == http.MethodDelete {
		err := s.Detector.RemoveIndicators(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			c.fail(http.StatusNotFound, "no indicator list "+name)
		case errors.Is(err, live.ErrNoIndicatorDir), errors.Is(err, ioc.ErrBadName):
			c.fail(http.StatusBadRequest, err.Error())
		case err != nil:
			c.fail(http.StatusInternalServerError, err.Error())
		default:
			c.detail = "removed indicator list " + name
			c.reply(http.StatusOK, map[string]any{"removed": name})
		}
		return
	}
	rep, err := s.Detector.AddIndicators(name, http.MaxBytesReader(w, r.Body, ioc.DefaultMaxBytes+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), errors.Is(err, ioc.ErrTooLarge), errors.Is(err, ioc.ErrTooMany):
		c.detail = err.Error()
		c.reply(http.StatusRequestEntityTooLarge, map[string]any{"error": err.Error(), "report": rep})
	case errors.Is(err, live.ErrNoIndicatorDir):
		c.fail(http.StatusServiceUnavailable, err.Error())
	case err != nil:
		c.detail = err.Error()
		c.reply(http.StatusBadRequest, map[string]any{"error": err.Error(), "report": rep})
	default:
		c.detail = fmt.Sprintf("indicator list %s: %d indicators, %d new to retro-hunt", name, rep.Indicators, rep.New)
		c.reply(http.StatusOK, map[string]any{"report": rep})
	}
}
