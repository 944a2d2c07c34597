package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/input"
	"github.com/kizuki-dev/kizuki/internal/parse"
)

// epochParser reads "EPOCH WORD" lines: a tiny format that lets these tests
// check the pipeline without depending on a real parser.
type epochParser struct{}

func (epochParser) Name() string     { return "epoch" }
func (epochParser) Describe() string { return "test format: epoch seconds and a word" }
func (epochParser) Sniff(rec []byte) bool {
	i := bytes.IndexByte(rec, ' ')
	if i <= 0 {
		return false
	}
	_, err := strconv.ParseInt(string(rec[:i]), 10, 64)
	return err == nil
}
func (epochParser) Parse(rec []byte, ev *event.Event, _ *parse.Context) error {
	if bytes.HasPrefix(rec, []byte("#")) {
		return parse.ErrSkip
	}
	if bytes.Equal(rec, []byte("PANIC")) {
		panic("test panic")
	}
	s := ev.Raw
	i := strings.IndexByte(s, ' ')
	if i <= 0 {
		return errors.New("no space")
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return fmt.Errorf("bad epoch %q", s[:i])
	}
	ev.Time = time.Unix(n, 0).UTC()
	ev.Set(event.User, s[i+1:])
	return nil
}

func registry() *parse.Registry { return parse.NewRegistry(epochParser{}) }

func collect(t *testing.T, files []input.File, opt Options) ([]string, []*FileReport) {
	t.Helper()
	if opt.Registry == nil {
		opt.Registry = registry()
	}
	var got []string
	reps, err := Run(context.Background(), files, opt, func(ev *event.Event) {
		got = append(got, ev.Get(event.User)+"@"+ev.Origin.String())
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, reps
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestOrderAcrossChunksAndWorkers(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	const n = 60000 // several 512 KiB chunks
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d w%d-%s\n", 1424221299+i, i, strings.Repeat("x", 20))
	}
	p := filepath.Join(dir, "big.log")
	write(t, p, []byte(b.String()))
	files, err := input.Expand([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	got, reps := collect(t, files, Options{Workers: 4})
	if len(got) != n {
		t.Fatalf("got %d events, want %d", len(got), n)
	}
	for i, g := range got {
		want := fmt.Sprintf("w%d-%s@%s:%d", i, strings.Repeat("x", 20), p, i+1)
		if g != want {
			t.Fatalf("event %d = %q, want %q", i, g, want)
		}
	}
	if reps[0].Events != n || reps[0].Malformed != 0 || reps[0].Format != "epoch" {
		t.Fatalf("report %+v", reps[0])
	}
}

func TestCompressedFolderAndTimeOrder(t *testing.T) {
	dir := t.TempDir()
	// Rotated names sort the wrong way round; the pipeline must read the
	// oldest first.
	write(t, filepath.Join(dir, "access.log"), []byte("300 newest\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("200 middle\n"))
	zw.Close()
	write(t, filepath.Join(dir, "access.log.1.gz"), gz.Bytes())
	enc, _ := zstd.NewWriter(nil)
	write(t, filepath.Join(dir, "access.log.2.zst"), enc.EncodeAll([]byte("100 oldest\n"), nil))
	write(t, filepath.Join(dir, ".hidden"), []byte("50 hidden\n"))

	files, err := input.Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	got, reps := collect(t, files, Options{})
	want := []string{
		"oldest@" + filepath.Join(dir, "access.log.2.zst") + ":1",
		"middle@" + filepath.Join(dir, "access.log.1.gz") + ":1",
		"newest@" + filepath.Join(dir, "access.log") + ":1",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	comp := map[string]string{}
	for _, r := range reps {
		comp[filepath.Base(r.Path)] = r.Compression
	}
	if comp["access.log.1.gz"] != "gzip" || comp["access.log.2.zst"] != "zstd" || comp["access.log"] != "" {
		t.Fatalf("compression detection: %v", comp)
	}
}

func TestMalformedCountedWithLocations(t *testing.T) {
	dir := t.TempDir()
	lines := []string{"100 a", "# comment", "", "oops", "200 b", "x y", "PANIC", "300 c", "also bad", "more bad", "even more", "400 d"}
	p := filepath.Join(dir, "m.log")
	write(t, p, []byte(strings.Join(lines, "\r\n")+"\r\n"))
	files, _ := input.Expand([]string{p})
	got, reps := collect(t, files, Options{Type: "epoch"}) // mostly junk: detection would refuse it
	if len(got) != 4 {
		t.Fatalf("events %v", got)
	}
	r := reps[0]
	if r.Malformed != 6 || r.Skipped != 2 || r.Records != 12 {
		t.Fatalf("counts: malformed %d skipped %d records %d", r.Malformed, r.Skipped, r.Records)
	}
	if len(r.Errors) != MaxErrorLocations {
		t.Fatalf("kept %d locations", len(r.Errors))
	}
	if r.Errors[0].Line != 4 || r.Errors[0].Err != "no space" {
		t.Fatalf("first error %+v", r.Errors[0])
	}
	if r.Errors[2].Line != 7 || !strings.Contains(r.Errors[2].Err, "panicked") {
		t.Fatalf("panic not contained: %+v", r.Errors[2])
	}
	// CR LF endings: the raw record has no CR.
	if got[0] != "a@"+p+":1" {
		t.Fatalf("first event %q", got[0])
	}
}

func TestStdinAndSinceUntil(t *testing.T) {
	stdin := strings.NewReader("100 a\n200 b\n300 c\n")
	files, _ := input.Expand([]string{"-"})
	got, reps := collect(t, files, Options{Stdin: stdin, Since: time.Unix(200, 0), Until: time.Unix(300, 0)})
	if strings.Join(got, ",") != "b@-:2" {
		t.Fatalf("got %v", got)
	}
	if reps[0].OutOfRange != 2 {
		t.Fatalf("out of range %d", reps[0].OutOfRange)
	}
}

func TestUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "readme.txt")
	write(t, p, []byte("hello world\nnot a log\n"))
	files, _ := input.Expand([]string{p})
	_, err := Run(context.Background(), files, Options{Registry: registry()}, func(*event.Event) {})
	var ue *parse.UnknownFormatError
	if !errors.As(err, &ue) || len(ue.Tried) != 1 || ue.Tried[0] != "epoch" {
		t.Fatalf("err = %v", err)
	}
	// Found in a folder instead: reported, not fatal.
	files, _ = input.Expand([]string{dir})
	reps, err := Run(context.Background(), files, Options{Registry: registry()}, func(*event.Event) {})
	if err != nil || reps[0].Error == "" || !strings.Contains(reps[0].Error, "epoch") {
		t.Fatalf("folder file: err %v report %+v", err, reps[0])
	}
}

func TestOverlongLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "long.log")
	long := "100 " + strings.Repeat("y", MaxRecordBytes+10)
	write(t, p, []byte("50 first\n"+long+"\n200 after\n"))
	files, _ := input.Expand([]string{p})
	got, reps := collect(t, files, Options{})
	if len(got) == 0 || got[0] != "first@"+p+":1" || !strings.HasPrefix(got[len(got)-1], "after@") {
		t.Fatalf("got %d events: first %q", len(got), got)
	}
	if reps[0].Malformed == 0 || !strings.Contains(reps[0].Errors[0].Err, "longer than") {
		t.Fatalf("overlong line not reported: %+v", reps[0])
	}
}

func TestForcedType(t *testing.T) {
	_, err := Run(context.Background(), nil, Options{Registry: registry(), Type: "nope"}, func(*event.Event) {})
	if err == nil || !strings.Contains(err.Error(), "epoch") {
		t.Fatalf("err = %v", err)
	}
}
