package certs

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoad loads operator files (here, ones Ensure made elsewhere) with
// and without a client CA, and refuses broken combinations.
func TestLoad(t *testing.T) {
	src := t.TempDir()
	made, err := Ensure(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(made.CertFile, made.KeyFile, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Fingerprint != made.Fingerprint || b.Config.MinVersion != tls.VersionTLS13 || b.Config.ClientAuth != tls.NoClientCert {
		t.Fatalf("bundle %+v", b)
	}
	if b.CAFile != "" || len(b.Generated) != 0 {
		t.Fatalf("Load reports a CA or generated files: %+v", b)
	}

	b, err = Load(made.CertFile, made.KeyFile, Options{ClientCAFile: made.CAFile, AllowLegacyTLS12: true})
	if err != nil {
		t.Fatal(err)
	}
	if b.Config.ClientAuth != tls.RequireAndVerifyClientCert || b.Config.ClientCAs == nil || b.Config.MinVersion != tls.VersionTLS12 {
		t.Fatalf("client auth %v, CAs %v, min version %x", b.Config.ClientAuth, b.Config.ClientCAs, b.Config.MinVersion)
	}

	other, err := Ensure(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	for name, try := range map[string]func() error{
		"key of another certificate": func() error { _, err := Load(made.CertFile, other.KeyFile, Options{}); return err },
		"missing certificate":        func() error { _, err := Load(filepath.Join(src, "none.pem"), made.KeyFile, Options{}); return err },
		"missing client CA file": func() error {
			_, err := Load(made.CertFile, made.KeyFile, Options{ClientCAFile: filepath.Join(src, "none.pem")})
			return err
		},
		"client CA file without a certificate": func() error {
			_, err := Load(made.CertFile, made.KeyFile, Options{ClientCAFile: junk})
			return err
		},
	} {
		if err := try(); err == nil || !strings.HasPrefix(err.Error(), "certs: ") {
			t.Errorf("%s: got %v", name, err)
		}
	}

	later := made.NotAfter.Add(time.Hour)
	if _, err := Load(made.CertFile, made.KeyFile, Options{now: func() time.Time { return later }}); !errors.Is(err, errExpired) {
		t.Errorf("expired certificate: got %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	// SHA-256 of the empty string.
	const want = "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
	if got := Fingerprint(nil); got != want {
		t.Fatalf("got %s", got)
	}
}
