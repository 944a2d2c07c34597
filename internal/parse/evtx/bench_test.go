package evtx

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// loadDataset reads every .evtx of the windows dataset (550 files, most of
// them small: what a hunt over a collection of samples reads).
func loadDataset(b *testing.B) [][]byte {
	root := testutil.Dataset(b, "windows")
	var out [][]byte
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".evtx") {
			return err
		}
		data, err := os.ReadFile(path)
		out = append(out, data)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// mappedFile is what the pipeline hands Read for a mapped file: a ReaderAt
// that also gives the whole file, so that Read slices it instead of copying.
type mappedFile struct {
	*bytes.Reader
	data []byte
}

func (m mappedFile) Bytes() []byte { return m.data }

func benchRead(b *testing.B, opt Options, reuse bool) {
	benchReadFiles(b, loadBenchFiles(b), opt, reuse, false)
}

// benchReadFiles reads files with opt, from a mappedFile when mapped (else a
// bytes.Reader, which Read copies from), with one Reader for all of them
// when reuse.
func benchReadFiles(b *testing.B, files [][]byte, opt Options, reuse, mapped bool) {
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
			var ra io.ReaderAt = bytes.NewReader(d)
			if mapped {
				ra = mappedFile{bytes.NewReader(d), d}
			}
			st, err := r.Read(context.Background(), ra, int64(len(d)), "bench.evtx",
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

// BenchmarkDataset reads all the .evtx files of the windows dataset with one
// Reader on all cores, from memory as the pipeline maps them: many small
// files, as a hunt over collected samples reads them.
func BenchmarkDataset(b *testing.B) { benchReadFiles(b, loadDataset(b), Options{}, true, true) }

// BenchmarkDatasetOneWorker is BenchmarkDataset on one core.
func BenchmarkDatasetOneWorker(b *testing.B) {
	benchReadFiles(b, loadDataset(b), Options{Workers: 1}, true, true)
}
