package input

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/kizuki-dev/kizuki/internal/testutil"
)

// tree creates files (path -> content) under a new temporary folder, every
// one with the modification time mtime.
func tree(t *testing.T, mtime time.Time, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, rel := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(rel+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// show renders files as "path[!]" with paths relative to root and "!" for
// explicit ones.
func show(root string, files []File) string {
	var out []string
	for _, f := range files {
		p := f.Path
		if r, err := filepath.Rel(root, p); err == nil && f.Path != "-" {
			p = filepath.ToSlash(r)
		}
		if f.Explicit {
			p += "!"
		}
		out = append(out, p)
	}
	return strings.Join(out, " ")
}

func TestExpandFolder(t *testing.T) {
	mtime := time.Date(2024, 2, 16, 11, 43, 32, 0, time.UTC)
	root := tree(t, mtime,
		"b.log", "a.log", "a/x.log", "a-b/x.log", "sub/deeper/c.log.gz",
		".hidden.log", "sub/.swp", ".git/config", "sub/.cache/d.log",
		"empty/",
	)
	files, err := Expand([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by path: '-' < '.' < '/', so a-b/ and a.log come before a/.
	if got, want := show(root, files), "a-b/x.log a.log a/x.log b.log sub/deeper/c.log.gz"; got != want {
		t.Errorf("Expand(folder) = %s\nwant %s", got, want)
	}
	// Found in a folder: no stat during the walk; the opened file tells.
	for _, f := range files {
		if !f.ModTime.IsZero() {
			t.Errorf("%s: ModTime %v from the walk, want none", f.Path, f.ModTime)
		}
		r, err := Open(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.ModTime(); !got.Equal(mtime) {
			t.Errorf("%s: Reader.ModTime %v, want %v", f.Path, got, mtime)
		}
		r.Close()
	}
}

func TestExpandArguments(t *testing.T) {
	mtime := time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC)
	root := tree(t, mtime, "z.log", "dir/2.log", "dir/1.log", ".hidden.log", ".logs/in-hidden.log", "empty/")
	j := func(rel string) string { return filepath.Join(root, rel) }
	f := func(args []string, want string) {
		t.Helper()
		files, err := Expand(args)
		if err != nil {
			t.Errorf("Expand(%v): %v", args, err)
			return
		}
		if got := show(root, files); got != want {
			t.Errorf("Expand(%v) = %s\nwant %s", args, got, want)
		}
	}
	// Arguments keep their order; a folder's files follow in sorted order.
	f([]string{j("z.log"), "-", j("dir")}, "z.log! -! dir/1.log dir/2.log")
	f([]string{j("dir"), j("z.log")}, "dir/1.log dir/2.log z.log!")
	// What is named is read, hidden or not; a hidden folder named as the
	// root is walked.
	f([]string{j(".hidden.log")}, ".hidden.log!")
	f([]string{j(".logs")}, ".logs/in-hidden.log")
	f([]string{j("empty")}, "")
	f(nil, "")

	files, err := Expand([]string{"-"})
	if err != nil || len(files) != 1 || files[0] != (File{Path: "-", Explicit: true}) {
		t.Errorf(`Expand("-") = %+v, %v`, files, err)
	}
	files, err = Expand([]string{j("z.log")})
	if err != nil || len(files) != 1 || !files[0].ModTime.Equal(mtime) {
		t.Errorf("Expand(file) = %+v, %v; want ModTime %v", files, err, mtime)
	}
}

func TestExpandMissing(t *testing.T) {
	root := tree(t, time.Now(), "ok.log")
	missing := filepath.Join(root, "no-such.log")
	files, err := Expand([]string{filepath.Join(root, "ok.log"), missing})
	if err == nil {
		t.Fatalf("Expand with a missing path succeeded: %+v", files)
	}
	if !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q does not name %s as not existing", err, missing)
	}
}

// read opens f and returns what it yields.
func read(t *testing.T, f File, stdin io.Reader) (string, Compression) {
	t.Helper()
	r, err := Open(f, stdin)
	if err != nil {
		t.Fatalf("Open(%s): %v", f.Path, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", f.Path, err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("close %s: %v", f.Path, err)
	}
	return string(b), r.Compression
}

func TestOpenTestdata(t *testing.T) {
	want, err := os.ReadFile("testdata/openssh.log")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(want, []byte("Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping")) || bytes.Count(want, []byte("\n")) != 40 {
		t.Fatalf("testdata/openssh.log is not the 40 loghub lines")
	}
	f := func(name string, wantComp Compression) {
		t.Helper()
		got, comp := read(t, File{Path: filepath.Join("testdata", name)}, nil)
		if comp != wantComp {
			t.Errorf("%s: compression %q, want %q", name, comp, wantComp)
		}
		if got != string(want) {
			t.Errorf("%s: %d bytes that differ from openssh.log (%d bytes)", name, len(got), len(want))
		}
	}
	f("openssh.log", Plain)
	f("openssh.log.1", Gzip) // two gzip members: both are read
	f("openssh.dat", Zstd)
	f("plain-named.gz", Plain) // the name does not matter
}

func TestOpenCorruptGzip(t *testing.T) {
	p := filepath.Join("testdata", "corrupt.gz")
	r, err := Open(File{Path: p}, nil)
	if err == nil {
		r.Close()
		t.Fatal("Open of a corrupt gzip header succeeded")
	}
	if !errors.Is(err, gzip.ErrHeader) || !strings.Contains(err.Error(), p) || !strings.HasPrefix(err.Error(), "gzip ") {
		t.Errorf("error %q: want a gzip header error naming %s", err, p)
	}
}

func TestOpenMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gone.log")
	if _, err := Open(File{Path: p}, nil); err == nil || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p) {
		t.Errorf("Open(missing) error %v, want one naming %s", err, p)
	}
}

func gzipped(t *testing.T, parts ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range parts {
		zw := gzip.NewWriter(&buf)
		if _, err := io.WriteString(zw, p); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func zstded(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestOpenDataset: a whole real log, gzip in three members split at odd
// places (one mid-line) and zstd, read back byte for byte.
func TestOpenDataset(t *testing.T) {
	b, err := os.ReadFile(testutil.Dataset(t, "linux/loghub/Linux/Linux_2k.log"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	dir := t.TempDir()
	f := func(name string, data []byte, wantComp Compression) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, comp := read(t, File{Path: p}, nil)
		if comp != wantComp || got != s {
			t.Errorf("%s: compression %q, %d bytes equal to the dataset: %v", name, comp, len(got), got == s)
		}
	}
	f("messages.1", gzipped(t, s[:1000], s[1000:100001], s[100001:]), Gzip)
	f("messages.2", zstded(t, s), Zstd)
	f("messages.zst", b, Plain)
}

func TestOpenStdin(t *testing.T) {
	f := func(in []byte, want string, wantComp Compression) {
		t.Helper()
		got, comp := read(t, File{Path: "-", Explicit: true}, bytes.NewReader(in))
		if got != want || comp != wantComp {
			t.Errorf("stdin %q: read %q (%q), want %q (%q)", in, got, comp, want, wantComp)
		}
	}
	f(gzipped(t, "first member\n", "second member\n"), "first member\nsecond member\n", Gzip)
	f(zstded(t, "zstd on stdin\n"), "zstd on stdin\n", Zstd)
	f([]byte("plain\n"), "plain\n", Plain)
	f([]byte("a"), "a", Plain)                   // shorter than any magic
	f([]byte{0x1f}, "\x1f", Plain)               // half a gzip magic
	f([]byte{0x28, 0xb5, 0x2f}, "(\xb5/", Plain) // three quarters of a zstd magic
	f(nil, "", Plain)
}

// TestOpenTruncated: damage after the header shows when reading, not as a
// silently short file.
func TestOpenTruncated(t *testing.T) {
	f := func(name string, data []byte) {
		t.Helper()
		r, err := Open(File{Path: "-"}, bytes.NewReader(data))
		if err != nil {
			return // refused at once: fine too
		}
		defer r.Close()
		if _, err := io.ReadAll(r); err == nil {
			t.Errorf("%s: truncated input read without error", name)
		}
	}
	text := strings.Repeat("Feb 16 11:43:32 mail-server postfix/cleanup[29597]: 2F1C71A0B: message-id=<x@y>\n", 200)
	gz := gzipped(t, text)
	f("gzip", gz[:len(gz)/2])
	f("gzip without trailer", gz[:len(gz)-4])
	zs := zstded(t, text)
	f("zstd", zs[:len(zs)/2])
	f("zstd magic and garbage", []byte("\x28\xb5\x2f\xfdgarbage that is no frame header at all"))
}

// A link to a file is read as the file; a link to a folder (here, a loop
// back to the root) and a dangling link are not followed.
func TestExpandSymlinks(t *testing.T) {
	root := tree(t, time.Unix(1_700_000_000, 0), "logs/a.log")
	other := tree(t, time.Unix(1_700_000_000, 0), "b.log")
	links := map[string]string{
		"logs/b.log":    filepath.Join(other, "b.log"),
		"logs/loop":     root,
		"logs/dangling": filepath.Join(root, "nowhere"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Expand([]string{filepath.Join(root, "logs")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, strings.TrimPrefix(f.Path, root+"/"))
		// A link is resolved during the walk (to know it leads to a
		// file), which gives its target's time.
		if strings.HasSuffix(f.Path, "b.log") && f.ModTime.IsZero() {
			t.Errorf("%s: no modification time", f.Path)
		}
	}
	if strings.Join(got, " ") != "logs/a.log logs/b.log" {
		t.Errorf("got %v", got)
	}
}

// A .zip archive, named or found in a folder, yields its members
// (ARCHIVE!MEMBER; folders and hidden members left out); a member is read
// decompressed, and a gzip member inside it too. A damaged archive in a
// folder is kept as a plain file (to be reported as unreadable); one named
// on the command line is an error.
func TestZipArchives(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write([]byte("inner gzip line\n"))
	gw.Close()
	add("a.log", []byte("first line\n"))
	add("sub/b.log.gz", gz.Bytes())
	add("sub/.hidden", []byte("x"))
	if _, err := zw.Create("empty-dir/"); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	archive := filepath.Join(dir, "logs", "set.ZIP")
	os.MkdirAll(filepath.Dir(archive), 0o755)
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "logs", "broken.zip"), []byte("PK\x03\x04 not really"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, arg := range []string{archive, filepath.Join(dir, "logs")} {
		files, err := Expand([]string{arg})
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, f := range files {
			paths = append(paths, strings.TrimPrefix(f.Path, dir+"/"))
		}
		want := "logs/set.ZIP!a.log logs/set.ZIP!sub/b.log.gz"
		if arg != archive {
			want = "logs/broken.zip " + want
		}
		if strings.Join(paths, " ") != want {
			t.Errorf("Expand(%s) = %v", arg, paths)
		}
	}
	files, _ := Expand([]string{archive})
	for i, want := range []struct {
		text string
		comp Compression
	}{{"first line\n", Zip}, {"inner gzip line\n", Gzip}} {
		r, err := Open(files[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != want.text || r.Compression != want.comp || r.File() != nil || r.Buffered() != nil {
			t.Errorf("%s: %q %v compression %q", files[i].Path, got, err, r.Compression)
		}
	}
	if _, err := Expand([]string{filepath.Join(dir, "logs", "broken.zip")}); err == nil {
		t.Error("a damaged archive named on the command line: no error")
	}
	if _, err := Open(File{Path: archive + "!nope", Archive: archive, Member: "nope"}, nil); err == nil {
		t.Error("a missing member: no error")
	}
}
