package listen

// Tests with real syslog and TLS clients: logger from util-linux (Debian
// package bsdutils) and openssl s_client (Debian package openssl). Without
// them the tests skip loudly; KIZUKI_REQUIRE_TOOLS=1 makes that a failure.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kizuki-dev/kizuki/internal/certs"
)

// tool returns the path of a client program, skipping the test loudly
// when it is not installed.
func tool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := fmt.Sprintf("TOOL MISSING: %s not found (apt-get install %s): this test with a real client did not run", name, debianPackage)
		if os.Getenv("KIZUKI_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// runTool runs a client program with stdin, bounded in time.
func runTool(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// lines returns n distinct message bodies and them joined for stdin.
func lines(prefix string, n int) ([]string, string) {
	var ls []string
	for i := range n {
		ls = append(ls, fmt.Sprintf("%s line %d %s", prefix, i, strings.Repeat("z", i%50)))
	}
	return ls, strings.Join(ls, "\n") + "\n"
}

// checkBodies checks that the records are the bodies in order: each record
// holds a header (logger's) and ends with its body.
func checkBodies(t *testing.T, sink *memSink, bodies []string, header, originPrefix string) {
	t.Helper()
	recs := sink.records()
	if len(recs) != len(bodies) {
		t.Fatalf("%d records, want %d", len(recs), len(bodies))
	}
	for i, r := range recs {
		raw := string(r.Raw)
		if !strings.HasSuffix(raw, bodies[i]) || !strings.Contains(raw, header) {
			t.Fatalf("record %d is %q, want the body %q after a header with %q", i, raw, bodies[i], header)
		}
		if !strings.HasPrefix(r.Origin, originPrefix) {
			t.Fatalf("origin %q, want the prefix %q", r.Origin, originPrefix)
		}
	}
}

// TestLoggerTCP sends with logger over TCP in both framings and both
// message formats, and checks that each line is one record, in order,
// byte for byte after logger's header, and that a line over the limit
// is counted and skipped in either framing.
func TestLoggerTCP(t *testing.T) {
	logger := tool(t, "logger", "bsdutils")
	for _, v := range []struct {
		name   string
		args   []string
		header string
	}{
		{"rfc5424 LF", []string{"--rfc5424"}, "<13>1 "},
		{"rfc3164 LF", []string{"--rfc3164"}, "<13>"},
		{"rfc5424 octet counting", []string{"--rfc5424", "--octet-count"}, "<13>1 "},
		{"rfc3164 octet counting", []string{"--rfc3164", "--octet-count"}, "<13>"},
	} {
		t.Run(v.name, func(t *testing.T) {
			sink := &memSink{}
			s := newServer(t, sink, Limits{MaxMessage: 2048})
			srv := serveStream(t, s, KindTCP, nil)
			_, port, _ := net.SplitHostPort(srv.addr)
			bodies, stdin := lines("tcp "+v.name, 300)
			// One line over the limit, in the middle.
			stdin = stdin + strings.Repeat("L", 3000) + "\n" + "after the long line\n"
			bodies = append(bodies, "after the long line")
			args := append([]string{"--tcp", "-n", "127.0.0.1", "-P", port, "-t", "kizukitest", "-S", "8192"}, v.args...)
			if out, err := runTool(t, stdin, logger, args...); err != nil {
				t.Fatalf("logger: %v\n%s", err, out)
			}
			waitFor(t, 10*time.Second, "logger's messages", func() bool {
				st := s.Stats()
				return st.Messages == uint64(len(bodies)) && st.Active == 0
			})
			checkBodies(t, sink, bodies, v.header, "syslog-tcp "+srv.addr+" <- 127.0.0.1:")
			if st := s.Stats(); st.Oversized != 1 || st.Truncated != 0 || st.ReadErrors != 0 || st.BadOctetCounts != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestLoggerUDP sends with logger over UDP in both formats.
func TestLoggerUDP(t *testing.T) {
	logger := tool(t, "logger", "bsdutils")
	for _, v := range []struct {
		name, format, header string
	}{
		{"rfc5424", "--rfc5424", "<13>1 "},
		{"rfc3164", "--rfc3164", "<13>"},
	} {
		t.Run(v.name, func(t *testing.T) {
			sink := &memSink{}
			s := newServer(t, sink, Limits{})
			srv := serveUDP(t, s)
			_, port, _ := net.SplitHostPort(srv.addr)
			bodies, stdin := lines("udp "+v.name, 100)
			if out, err := runTool(t, stdin, logger, "--udp", "-n", "127.0.0.1", "-P", port, "-t", "kizukitest", v.format); err != nil {
				t.Fatalf("logger: %v\n%s", err, out)
			}
			waitFor(t, 10*time.Second, "logger's datagrams", func() bool { return s.Stats().Messages == uint64(len(bodies)) })
			checkBodies(t, sink, bodies, v.header, "syslog-udp "+srv.addr+" <- 127.0.0.1:")
		})
	}
}

// serveTLS runs ServeStream over TLS with cfg.
func serveTLS(t *testing.T, s *Server, cfg *tls.Config) *serving {
	t.Helper()
	return serveStream(t, s, KindTLS, func(ln net.Listener) net.Listener { return tls.NewListener(ln, cfg) })
}

// TestOpenSSLClient sends lines with openssl s_client over TLS 1.3 to a
// server with a generated certificate (verified by the client against the
// generated CA and the address), and checks that TLS 1.2 is refused.
func TestOpenSSLClient(t *testing.T) {
	openssl := tool(t, "openssl", "openssl")
	b, err := certs.Ensure(t.TempDir(), certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	s := newServer(t, sink, Limits{})
	srv := serveTLS(t, s, b.Config)

	bodies, stdin := lines("<13>tls", 200)
	out, err := runTool(t, stdin, openssl, "s_client", "-connect", srv.addr, "-tls1_3",
		"-CAfile", b.CAFile, "-verify_return_error", "-verify_ip", "127.0.0.1", "-quiet", "-no_ign_eof")
	if err != nil {
		t.Fatalf("openssl s_client: %v\n%s", err, out)
	}
	waitFor(t, 10*time.Second, "the lines", func() bool { return s.Stats().Messages == uint64(len(bodies)) })
	checkBodies(t, sink, bodies, "<13>tls", "syslog-tls "+srv.addr+" <- 127.0.0.1:")

	out, err = runTool(t, "<13>must not arrive\n", openssl, "s_client", "-connect", srv.addr, "-tls1_2", "-CAfile", b.CAFile, "-quiet", "-no_ign_eof")
	if err == nil {
		t.Fatalf("TLS 1.2 accepted by default:\n%s", out)
	}
	t.Logf("TLS 1.2 refused as it should be: %v", firstLine(out))
	waitFor(t, 5*time.Second, "the failed handshake", func() bool { return s.Stats().HandshakeFailed == 1 })
	if n := s.Stats().Messages; n != uint64(len(bodies)) {
		t.Fatalf("%d messages after the refused client", n)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// TestTLS12OptIn checks that AllowLegacyTLS12 lets a TLS 1.2 client in.
func TestTLS12OptIn(t *testing.T) {
	b, err := certs.Ensure(t.TempDir(), certs.Options{AllowLegacyTLS12: true})
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	s := newServer(t, sink, Limits{})
	srv := serveTLS(t, s, b.Config)
	c, err := tls.Dial("tcp", srv.addr, &tls.Config{RootCAs: caPool(t, b.CAFile), ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.ConnectionState().Version; v != tls.VersionTLS12 {
		t.Fatalf("version %x", v)
	}
	write(t, c, "<13>over 1.2\n")
	c.Close()
	waitFor(t, 5*time.Second, "the message", func() bool { return s.Stats().Messages == 1 })
}

func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(data) {
		t.Fatal("no CA in " + file)
	}
	return p
}

// clientPKI makes a CA for senders and a client certificate from it,
// written to dir; it returns the CA file and the client's certificate.
func clientPKI(t *testing.T, dir, name string) (caFile, certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "senders CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile = filepath.Join(dir, "senders-ca.pem"), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	for f, b := range map[string]*pem.Block{
		caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return caFile, certFile, keyFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestClientCertificates requires client certificates: a Go client with
// one is served and named in the origin; clients without one, or with one
// from another CA, are refused and counted; openssl with one is served.
func TestClientCertificates(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile, clientCert := clientPKI(t, dir, "sender one")
	_, _, _, strangerCert := clientPKI(t, t.TempDir(), "stranger")
	b, err := certs.Ensure(dir, certs.Options{ClientCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	if b.Config.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("client auth %v", b.Config.ClientAuth)
	}
	sink := &memSink{}
	s := newServer(t, sink, Limits{HandshakeTimeout: 2 * time.Second})
	srv := serveTLS(t, s, b.Config)
	roots := caPool(t, b.CAFile)

	c, err := tls.Dial("tcp", srv.addr, &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: []tls.Certificate{clientCert}})
	if err != nil {
		t.Fatal(err)
	}
	write(t, c, "<13>from an enrolled sender\n")
	c.Close()
	waitFor(t, 5*time.Second, "the message", func() bool { return s.Stats().Messages == 1 })
	want := "syslog-tls " + srv.addr + " <- " + c.LocalAddr().String() + " cn=sender_one"
	if r := sink.records()[0]; r.Origin != want {
		t.Fatalf("origin %q, want %q", r.Origin, want)
	}

	// In TLS 1.3 the client finishes its handshake before the server
	// checks its certificate: the refusal shows on the next read.
	for _, cc := range [][]tls.Certificate{nil, {strangerCert}} {
		c, err := tls.Dial("tcp", srv.addr, &tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: cc})
		if err == nil {
			c.Write([]byte("<13>must not arrive\n"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = c.Read(make([]byte, 1))
			c.Close()
		}
		if err == nil {
			t.Fatal("a client without an enrolled certificate was served")
		}
	}
	waitFor(t, 5*time.Second, "two refused handshakes", func() bool { return s.Stats().HandshakeFailed == 2 })

	if openssl, err := exec.LookPath("openssl"); err == nil {
		out, err := runTool(t, "<13>from openssl with a certificate\n", openssl, "s_client", "-connect", srv.addr,
			"-CAfile", b.CAFile, "-verify_return_error", "-cert", certFile, "-key", keyFile, "-quiet", "-no_ign_eof")
		if err != nil {
			t.Fatalf("openssl s_client with a client certificate: %v\n%s", err, out)
		}
		waitFor(t, 5*time.Second, "openssl's message", func() bool { return s.Stats().Messages == 2 })
	} else {
		t.Log("TOOL MISSING: openssl (apt-get install openssl): the openssl part of this test did not run")
	}
	for _, r := range sink.raws() {
		if strings.Contains(r, "must not arrive") {
			t.Fatal("a refused client's message was journaled")
		}
	}
}

// TestHandshakeTimeout checks that a client that connects to the TLS port
// and says nothing is dropped after the handshake timeout and counted.
func TestHandshakeTimeout(t *testing.T) {
	b, err := certs.Ensure(t.TempDir(), certs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(t, &memSink{}, Limits{HandshakeTimeout: 100 * time.Millisecond})
	srv := serveTLS(t, s, b.Config)
	c := dial(t, srv.addr)
	closedByServer(t, c, 5*time.Second)
	waitFor(t, 5*time.Second, "the failed handshake", func() bool { return s.Stats().HandshakeFailed == 1 })
}
