package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEnsureCreatesAndReuses checks a first start (a CA and a server
// certificate are made, keys 0600, nothing temporary left, TLS 1.3 only)
// and a second (everything reused, same fingerprints).
func TestEnsureCreatesAndReuses(t *testing.T) {
	dir := t.TempDir()
	b, err := Ensure(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.Generated, []string{"CA", "server certificate"}) {
		t.Fatalf("generated %q", b.Generated)
	}
	tdir := filepath.Join(dir, TLSDir)
	if st, err := os.Stat(tdir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("tls folder: %v %v", st.Mode(), err)
	}
	for name, perm := range map[string]os.FileMode{CACertFile: 0o644, CAKeyFile: 0o600, ServerCertFile: 0o644, ServerKeyFile: 0o600} {
		st, err := os.Stat(filepath.Join(tdir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != perm {
			t.Errorf("%s mode %04o, want %04o", name, st.Mode().Perm(), perm)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(tdir, "*.tmp")); len(tmp) > 0 {
		t.Errorf("temporary files left: %q", tmp)
	}
	if b.Config.MinVersion != tls.VersionTLS13 || b.Config.ClientAuth != tls.NoClientCert {
		t.Errorf("min version %x client auth %v", b.Config.MinVersion, b.Config.ClientAuth)
	}
	if len(b.Fingerprint) != 32*3-1 || strings.ToUpper(b.Fingerprint) != b.Fingerprint || b.Fingerprint == b.CAFingerprint {
		t.Errorf("fingerprints %q %q", b.Fingerprint, b.CAFingerprint)
	}
	if b.NotAfter.Before(time.Now().Add(365*24*time.Hour)) || b.NotAfter.After(time.Now().Add(398*24*time.Hour)) {
		t.Errorf("server certificate valid until %v", b.NotAfter)
	}

	again, err := Ensure(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Generated) != 0 || again.Fingerprint != b.Fingerprint || again.CAFingerprint != b.CAFingerprint {
		t.Fatalf("second start made %q, fingerprints %s/%s then %s/%s", again.Generated, b.Fingerprint, b.CAFingerprint, again.Fingerprint, again.CAFingerprint)
	}
}

// TestEnsureNames checks that the server certificate verifies against the
// CA for every name a sender may use, and for extra hosts once added
// (which issues a new certificate from the same CA).
func TestEnsureNames(t *testing.T) {
	dir := t.TempDir()
	b, err := Ensure(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && validDNSName(h) {
		names = append(names, h)
	}
	verify(t, b, names...)
	if err := verifyErr(b, "logs.example.org"); err == nil {
		t.Fatal("a name not asked for verifies")
	}
	more, err := Ensure(dir, Options{Hosts: []string{"logs.example.org", " 192.0.2.10 ", "2001:db8::1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(more.Generated, []string{"server certificate"}) || more.CAFingerprint != b.CAFingerprint {
		t.Fatalf("generated %q; CA %s then %s", more.Generated, b.CAFingerprint, more.CAFingerprint)
	}
	verify(t, more, append(names, "logs.example.org", "192.0.2.10", "2001:db8::1")...)
	if _, err := Ensure(dir, Options{Hosts: []string{"bad host"}}); err == nil {
		t.Fatal("a host name with a space accepted")
	}
}

func verifyErr(b *Bundle, name string) error {
	roots := x509.NewCertPool()
	data, err := os.ReadFile(b.CAFile)
	if err != nil {
		return err
	}
	roots.AppendCertsFromPEM(data)
	_, err = b.Config.Certificates[0].Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots})
	return err
}

func verify(t *testing.T, b *Bundle, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := verifyErr(b, n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

// TestEnsureRenews moves the clock to a month before the server
// certificate expires: a new one is issued from the same CA.
func TestEnsureRenews(t *testing.T) {
	dir := t.TempDir()
	b, err := Ensure(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	later := b.NotAfter.Add(-20 * 24 * time.Hour)
	r, err := Ensure(dir, Options{now: func() time.Time { return later }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Generated, []string{"server certificate"}) || r.CAFingerprint != b.CAFingerprint || r.Fingerprint == b.Fingerprint {
		t.Fatalf("generated %q", r.Generated)
	}
	if !r.NotAfter.After(later.Add(365 * 24 * time.Hour)) {
		t.Fatalf("renewed certificate ends %v", r.NotAfter)
	}
}

// TestEnsureDamage covers what a crash, a mistake or tampering can leave.
func TestEnsureDamage(t *testing.T) {
	path := func(dir, name string) string { return filepath.Join(dir, TLSDir, name) }

	t.Run("CA key without certificate", func(t *testing.T) {
		// A first start that stopped between the two writes: the key is
		// certified again, not replaced.
		dir := t.TempDir()
		if _, err := Ensure(dir, Options{}); err != nil {
			t.Fatal(err)
		}
		old := caCert(t, dir)
		os.Remove(path(dir, CACertFile))
		r, err := Ensure(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Generated, []string{"CA"}) {
			t.Fatalf("generated %q", r.Generated)
		}
		if renewed := caCert(t, dir); !samePublic(renewed.PublicKey, old.PublicKey) || renewed.Equal(old) {
			t.Fatal("the CA key was replaced, or the certificate not made again")
		}
		verify(t, r, "localhost")
	})
	t.Run("CA certificate without key", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Ensure(dir, Options{}); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(path(dir, CACertFile))
		os.Remove(path(dir, CAKeyFile))
		if _, err := Ensure(dir, Options{}); err == nil || !strings.Contains(err.Error(), "restore the key") {
			t.Fatalf("got %v, want a refusal", err)
		}
		after, _ := os.ReadFile(path(dir, CACertFile))
		if string(before) != string(after) {
			t.Fatal("the CA certificate was overwritten")
		}
	})
	t.Run("CA key of another CA", func(t *testing.T) {
		dir, other := t.TempDir(), t.TempDir()
		for _, d := range []string{dir, other} {
			if _, err := Ensure(d, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		data, _ := os.ReadFile(path(other, CAKeyFile))
		os.WriteFile(path(dir, CAKeyFile), data, 0o600)
		if _, err := Ensure(dir, Options{}); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("key readable by others", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Ensure(dir, Options{}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{ServerKeyFile, CAKeyFile} {
			os.Chmod(path(dir, name), 0o644)
			if _, err := Ensure(dir, Options{}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("%s: got %v", name, err)
			}
			os.Chmod(path(dir, name), 0o600)
		}
	})
	t.Run("server files damaged", func(t *testing.T) {
		dir := t.TempDir()
		b, err := Ensure(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path(dir, ServerCertFile), []byte("garbage"), 0o644)
		r, err := Ensure(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Generated, []string{"server certificate"}) || r.CAFingerprint != b.CAFingerprint {
			t.Fatalf("generated %q", r.Generated)
		}
		os.WriteFile(path(dir, ServerKeyFile), []byte("garbage"), 0o600)
		if r, err = Ensure(dir, Options{}); err != nil || len(r.Generated) != 1 {
			t.Fatalf("%v %q", err, r.Generated)
		}
		verify(t, r, "localhost")
	})
	t.Run("stale temporary file", func(t *testing.T) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, TLSDir), 0o700)
		os.WriteFile(path(dir, CAKeyFile+".tmp"), []byte("left by a crash"), 0o666)
		if _, err := Ensure(dir, Options{}); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(path(dir, CAKeyFile)); st.Mode().Perm() != 0o600 {
			t.Fatalf("key mode %04o", st.Mode().Perm())
		}
	})
	t.Run("expired CA", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Ensure(dir, Options{}); err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(11 * 365 * 24 * time.Hour)
		if _, err := Ensure(dir, Options{now: func() time.Time { return future }}); !errors.Is(err, errExpired) {
			t.Fatalf("got %v", err)
		}
	})
}

func caCert(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	c, err := readCert(filepath.Join(dir, TLSDir, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFingerprintMatchesOpenSSL compares Fingerprint with what
// `openssl x509 -fingerprint -sha256` prints for the same files, the
// command an operator runs on a sender to check what the server printed.
func TestFingerprintMatchesOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		msg := "TOOL MISSING: openssl not found (apt-get install openssl): fingerprints not compared with openssl's"
		if os.Getenv("KIZUKI_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b, err := Ensure(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{b.CertFile: b.Fingerprint, b.CAFile: b.CAFingerprint} {
		out, err := exec.Command(openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", file).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl: %v\n%s", err, out)
		}
		_, got, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
		if got != want {
			t.Errorf("%s: openssl says %s, Ensure said %s", filepath.Base(file), got, want)
		}
	}
	// And openssl accepts the chain for the server's names.
	out, err := exec.Command(openssl, "verify", "-CAfile", b.CAFile, "-verify_hostname", "localhost", b.CertFile).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

// TestHandshake runs a real TLS 1.3 handshake against an Ensure config,
// and checks that a TLS 1.2 client is refused unless AllowLegacyTLS12.
func TestHandshake(t *testing.T) {
	dir := t.TempDir()
	for _, legacy := range []bool{false, true} {
		b, err := Ensure(dir, Options{AllowLegacyTLS12: legacy})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", b.Config)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		roots := x509.NewCertPool()
		data, _ := os.ReadFile(b.CAFile)
		roots.AppendCertsFromPEM(data)
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			d := &net.Dialer{Timeout: 5 * time.Second}
			c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: v, MaxVersion: v})
			ok := err == nil
			if ok {
				c.Close()
			}
			if want := v == tls.VersionTLS13 || legacy; ok != want {
				t.Errorf("legacy=%v version %x: handshake ok=%v (%v)", legacy, v, ok, err)
			}
		}
		ln.Close()
	}
}
