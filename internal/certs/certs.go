// Package certs provides the TLS server configuration of kizuki's
// listeners (syslog over TLS, RFC 5425): from certificate files an operator
// supplies (Load), or, so that TLS works with no setup, from a private CA
// and server certificate that it generates once in the data directory and
// reuses (Ensure).
//
// TLS 1.3 is the only version accepted unless the operator opts out with
// Options.AllowLegacyTLS12: current rsyslog, syslog-ng, NXLog and Fluent
// Bit speak it, and 1.3 removes the choices that 1.2 can get wrong (static
// RSA key exchange, CBC modes, renegotiation). Older appliances may need
// the opt-out.
package certs

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Options configures the server's TLS. The zero value is TLS 1.3 only,
// with no client certificates.
type Options struct {
	// ClientCAFile, when set, is a PEM file of CA certificates: every
	// client must present a certificate that chains to one of them
	// (tls.RequireAndVerifyClientCert), so only enrolled senders can
	// write to the journal.
	ClientCAFile string
	// AllowLegacyTLS12 lowers the minimum version to TLS 1.2 for senders
	// that cannot do 1.3 (old appliances). It is an opt-out of the
	// default, and costs the guarantees listed in the package doc.
	AllowLegacyTLS12 bool
	// Hosts adds DNS names or IP addresses to a certificate Ensure
	// generates, beyond localhost, 127.0.0.1, ::1 and the host name: the
	// names senders use to reach this server. Load ignores it.
	Hosts []string

	// now is the clock (tests move it).
	now func() time.Time
}

func (o *Options) clock() time.Time {
	if o.now != nil {
		return o.now()
	}
	return time.Now()
}

// Bundle is a TLS server configuration and what an operator needs to know
// about it.
type Bundle struct {
	// Config is the server configuration, for tls.NewListener.
	Config *tls.Config
	// Fingerprint is the SHA-256 fingerprint of the server certificate in
	// colon-separated hex ("AB:CD:..."), as `openssl x509 -fingerprint
	// -sha256` prints it: what a sender that pins the certificate checks.
	Fingerprint string
	// CAFingerprint is the fingerprint of the generated CA (Ensure only):
	// what an operator checks before trusting CAFile on a sender.
	CAFingerprint string
	// CertFile and KeyFile are the server's files; CAFile the CA that
	// senders must trust (Ensure only).
	CertFile, KeyFile, CAFile string
	// NotAfter is when the server certificate expires.
	NotAfter time.Time
	// Generated names what Ensure made this time ("CA", "server
	// certificate"), empty when it reused everything: a new fingerprint
	// must be shown to the operator, who has to give it to the senders.
	Generated []string
}

// Fingerprint returns the SHA-256 fingerprint of a DER certificate in
// colon-separated upper-case hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	b.Grow(len(h) + len(h)/2)
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// serverConfig builds the tls.Config for a server certificate.
func serverConfig(cert tls.Certificate, opt Options) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
	}
	if opt.AllowLegacyTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if opt.ClientCAFile != "" {
		pool, err := loadCAs(opt.ClientCAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certs: client CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("certs: client CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// errExpired is wrapped when a certificate is no longer valid.
var errExpired = errors.New("certificate expired")
