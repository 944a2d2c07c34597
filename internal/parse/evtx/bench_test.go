package evtx

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// benchFiles are typical Security and Sysmon logs of the public samples, 1 to
// 3 MiB each (16 to 49 chunks).
var benchFiles = []string{
	"DeepBlueCLI/smb-password-guessing-security.evtx",
	"DeepBlueCLI/sliver-security.evtx",
	"DeepBlueCLI/password-spray.evtx",
	"DeepBlueCLI/metasploit-sysmon.evtx",
	"EVTX-ATTACK-SAMPLES/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
	"EVTX-ATTACK-SAMPLES/Lateral Movement/LM_5145_Remote_FileCopy.evtx",
	"EVTX-ATTACK-SAMPLES/Privilege Escalation/privesc_unquoted_svc_sysmon_1_11.evtx",
}

func loadBenchFiles(b *testing.B) [][]byte {
	root := testutil.Dataset(b, "windows")
	var out [][]byte
	for _, f := range benchFiles {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func benchRead(b *testing.B, opt Options, reuse bool) {
	files := loadBenchFiles(b)
	var bytesTotal int64
	for _, d := range files {
		bytesTotal += int64(len(d))
	}
	b.SetBytes(bytesTotal)
	b.ReportAllocs()
	b.ResetTimer()
	events := 0
	r := NewReader(opt)
	for b.Loop() {
		for _, d := range files {
			if !reuse {
				r = NewReader(opt)
			}
			st, err := r.Read(context.Background(), bytes.NewReader(d), int64(len(d)), "bench.evtx",
				func(ev *event.Event) error { return nil }, nil)
			if err != nil {
				b.Fatal(err)
			}
			events += st.Records
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRead measures Read on typical Security and Sysmon logs, on all
// cores, each file with a fresh Reader (as the package's Read does).
// Target: 400,000 events/s on 2 cores.
func BenchmarkRead(b *testing.B) { benchRead(b, Options{}, false) }

// BenchmarkReader is the same with one Reader for all files (templates and
// field programs kept from file to file).
func BenchmarkReader(b *testing.B) { benchRead(b, Options{}, true) }

// BenchmarkReadOneWorker is BenchmarkReader on one core: the cost per event.
func BenchmarkReadOneWorker(b *testing.B) { benchRead(b, Options{Workers: 1}, true) }

// BenchmarkReadXML adds the XML rendering of every record (ev.Raw).
func BenchmarkReadXML(b *testing.B) { benchRead(b, Options{RenderXML: true}, true) }
