package jpcert

import (
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// All returns every JPCERT analysis, J1–J13, configured from m. J11 comes
// last so that, as an Annotator, it sees the findings of the others.
func All(m *org.Model) []detect.Detector {
	return []detect.Detector{
		NewJ1(m), NewJ2(m), NewJ3(m), NewJ4(m), NewJ5(m), NewJ6(m), NewJ7(m),
		NewJ8(m), NewJ9(m), NewJ10(m), NewJ12(m), NewJ13(m), NewJ11(m),
	}
}
