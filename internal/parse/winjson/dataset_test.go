package winjson

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// Every record of every evtx_dump .json file of the SigmaHQ regression data
// parses: 202 files, 238 events.
func TestDatasetSigmaRegression(t *testing.T) {
	root := testutil.Dataset(t, "sigma/regression_data")
	var files, events int
	var failures, sniffMiss []string
	byID := map[string]*event.Event{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		files++
		// Line-based detection looks at the first lines: most of them must
		// be recognized.
		if data, err := os.ReadFile(path); err == nil {
			lines := bytes.Split(data, []byte("\n"))
			lines = lines[:min(len(lines), 50)]
			m := 0
			for _, l := range lines {
				if (Parser{}).Sniff(l) {
					m++
				}
			}
			if m*2 <= len(lines) {
				sniffMiss = append(sniffMiss, path+": "+itoa(int64(m))+" of "+itoa(int64(len(lines))))
			}
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		rel, _ := filepath.Rel(root, path)
		return Parser{}.Split(f, func(rec []byte, line int64) error {
			ev := &event.Event{Raw: string(rec), Source: "winjson"}
			if err := (Parser{}).Parse(rec, ev, pc); err != nil {
				failures = append(failures, rel+":"+itoa(line)+": "+err.Error())
				return nil
			}
			events++
			checkClean(t, ev)
			byID[filepath.Base(filepath.Dir(rel))+"#"+itoa(line)] = ev
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range failures {
		t.Error(f)
	}
	for _, f := range sniffMiss {
		t.Errorf("Sniff: %s lines", f)
	}
	if files != 202 || events != 238 {
		t.Errorf("parsed %d events in %d files, want 238 in 202", events, files)
	}
	// Spot checks, against the files' text.
	check(t, byID["win_wmi_activity_nteventlogfile_cleareventlog#1"], want{
		"time": "2026-07-02T02:05:27.438Z", "host": "swachchhanda", "event_id": "5858",
		"channel": "Microsoft-Windows-WMI-Activity/Operational", "user": "xodih",
		"User": `swachchhanda\xodih`, "ClientProcessId": "25920", "ResultCode": "0x80041003",
		"ActivityID": "8E521E2B-7C26-0001-417F-9C8E267CDB01", "SecurityUserID": "S-1-5-18",
		"Provider_Guid": "1418EF04-B0B4-4623-BF7E-D74AB47BBDAA", "ProcessID": "3092", "ThreadID": "22616",
		"Operation": `Start IWbemServices::ExecMethod - ROOT\CIMV2 : \\SWACHCHHANDA\ROOT\CIMV2:Win32_NTEventlogFile.Name="C:\\WINDOWS\\System32\\Winevt\\Logs\\System.evtx"::cleareventlog`,
	})
	check(t, byID["image_load_win_werfaultsecure_dbgcore_dbghelp_load#1"], want{
		"time": "2025-11-27T07:40:10.165Z", "TimeCreated": "2025-11-27T07:40:10.165324Z", "event_id": "7",
		"Level": "4", "Keywords": "0x8000000000000000", "EventRecordID": "571146", "Correlation": "",
		"ProcessId": "4460", "process": `C:\Windows\System32\WerFaultSecure.exe`, "Signed": "true",
		"ImageLoaded": `C:\Windows\System32\dbgcore.dll`, "RuleName": "-", "user": "xodih",
		"Provider_Name": "Microsoft-Windows-Sysmon",
	})
}

// The OTRF Security Datasets (mordor) recordings: NXLog and Logstash JSON
// lines. Every line of every file parses.
func TestDatasetMordor(t *testing.T) {
	root := testutil.Dataset(t, "windows/mordor")
	var zips []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".zip") {
			zips = append(zips, path)
		}
		return nil
	})
	if len(zips) < 5 {
		t.Fatalf("found %d mordor zips under %s", len(zips), root)
	}
	total := 0
	for _, z := range zips {
		rel, _ := filepath.Rel(root, z)
		n, fails := parseZip(t, z)
		total += n
		for _, f := range fails {
			t.Errorf("%s: %s", rel, f)
		}
	}
	t.Logf("%d events in %d files", total, len(zips))
}

func parseZip(t *testing.T, path string) (int, []string) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	n := 0
	var fails []string
	for _, zf := range zr.File {
		if !strings.HasSuffix(zf.Name, ".json") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(rc)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		for sc.Scan() {
			line++
			ev := &event.Event{}
			err := (Parser{}).Parse(sc.Bytes(), ev, pc)
			switch {
			case errors.Is(err, parse.ErrSkip):
			case err != nil:
				if len(fails) < 20 {
					fails = append(fails, zf.Name+":"+itoa(int64(line))+": "+err.Error())
				}
			default:
				n++
				checkClean(t, ev)
			}
		}
		if err := sc.Err(); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		rc.Close()
	}
	return n, fails
}
