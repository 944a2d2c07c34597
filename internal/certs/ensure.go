package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The files Ensure keeps under DIR/tls.
const (
	// TLSDir is the folder of the data directory Ensure writes to.
	TLSDir = "tls"
	// CACertFile is the CA certificate senders must trust; CAKeyFile its
	// key, which never leaves the machine.
	CACertFile = "ca-cert.pem"
	CAKeyFile  = "ca-key.pem"
	// ServerCertFile and ServerKeyFile are the listener's certificate
	// and key.
	ServerCertFile = "server-cert.pem"
	ServerKeyFile  = "server-key.pem"
)

const (
	// caValidity: a CA is installed on every sender, so it should outlive
	// the deployment; it only signs this server's certificates.
	caValidity = 10 * 365 * 24 * time.Hour
	// serverValidity is the longest validity clients are asked to accept
	// (CA/Browser Forum's 397 days); Ensure renews the certificate from
	// the same CA, so senders that trust the CA notice nothing.
	serverValidity = 397 * 24 * time.Hour
	// renewBefore: Ensure issues a new server certificate once the old one
	// has less than this left, so a restart in that month renews it.
	renewBefore = 30 * 24 * time.Hour
	// backdate covers senders whose clocks run a little behind.
	backdate = time.Hour
)

// Ensure returns the TLS configuration of a server that has no certificate
// files of its own: a private CA and a server certificate for localhost,
// 127.0.0.1, ::1, the host name and opt.Hosts, both ECDSA P-256, kept in
// dir/tls and made on the first start. Later starts reuse them; the server
// certificate is issued again (from the same CA, with a new key) when it is
// about to expire, does not name every host, or does not match its key or
// the CA, so that senders configured to trust the CA keep working.
//
// Keys are written with mode 0600 and files atomically (a temporary file,
// fsync, rename, fsync of the folder), so a crash leaves either the old
// file or the new one. Ensure refuses a key file others can read, and
// never overwrites a CA certificate whose key is missing or does not
// match: senders may trust that certificate, and the operator must decide.
func Ensure(dir string, opt Options) (*Bundle, error) {
	tdir := filepath.Join(dir, TLSDir)
	if err := os.MkdirAll(tdir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	now := opt.clock()
	dns, ips, err := serverNames(opt.Hosts)
	if err != nil {
		return nil, err
	}
	var generated []string
	ca, caKey, made, err := ensureCA(tdir, dns[0], now)
	if err != nil {
		return nil, err
	}
	if made {
		generated = append(generated, "CA")
	}
	cert, key, made, err := ensureServer(tdir, ca, caKey, dns, ips, now)
	if err != nil {
		return nil, err
	}
	if made {
		generated = append(generated, "server certificate")
	}
	tc := tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
	cfg, err := serverConfig(tc, opt)
	if err != nil {
		return nil, err
	}
	return &Bundle{
		Config:        cfg,
		Fingerprint:   Fingerprint(cert.Raw),
		CAFingerprint: Fingerprint(ca.Raw),
		CertFile:      filepath.Join(tdir, ServerCertFile),
		KeyFile:       filepath.Join(tdir, ServerKeyFile),
		CAFile:        filepath.Join(tdir, CACertFile),
		NotAfter:      cert.NotAfter,
		Generated:     generated,
	}, nil
}

// ensureCA loads the CA, or makes it when there is none.
func ensureCA(dir, host string, now time.Time) (*x509.Certificate, crypto.Signer, bool, error) {
	certPath, keyPath := filepath.Join(dir, CACertFile), filepath.Join(dir, CAKeyFile)
	key, kerr := readKey(keyPath)
	cert, cerr := readCert(certPath)
	switch {
	case kerr == nil && cerr == nil:
		if !samePublic(cert.PublicKey, key.Public()) {
			return nil, nil, false, fmt.Errorf("certs: %s does not match %s; remove both to make a new CA (senders must then trust the new one)", certPath, keyPath)
		}
		if !cert.IsCA {
			return nil, nil, false, fmt.Errorf("certs: %s is not a CA certificate", certPath)
		}
		if now.After(cert.NotAfter) {
			return nil, nil, false, fmt.Errorf("certs: CA %s: %w on %s; remove %s and %s to make a new one", certPath, errExpired, cert.NotAfter.UTC().Format("2006-01-02"), certPath, keyPath)
		}
		return cert, key, false, nil
	case errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist):
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, false, fmt.Errorf("certs: CA key: %w", err)
		}
		if err := writeKey(keyPath, k); err != nil {
			return nil, nil, false, err
		}
		key = k
	case kerr == nil && errors.Is(cerr, fs.ErrNotExist):
		// A first start stopped between writing the key and the
		// certificate: certify the key that is there.
	case kerr != nil:
		if errors.Is(kerr, fs.ErrNotExist) {
			return nil, nil, false, fmt.Errorf("certs: %s exists but its key %s does not; restore the key, or remove %s to make a new CA (senders must then trust the new one)", certPath, keyPath, certPath)
		}
		return nil, nil, false, kerr
	default:
		return nil, nil, false, cerr
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"kizuki"}, CommonName: "kizuki syslog CA " + host},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs this server's certificates, never another CA
	}
	cert, err := issue(tmpl, nil, key.Public(), key)
	if err != nil {
		return nil, nil, false, err
	}
	if err := writeFileAtomic(certPath, pemBlock("CERTIFICATE", cert.Raw), 0o644); err != nil {
		return nil, nil, false, err
	}
	return cert, key, true, nil
}

// ensureServer loads the server certificate, or issues a new one when it
// is missing or no longer fits.
func ensureServer(dir string, ca *x509.Certificate, caKey crypto.Signer, dns []string, ips []net.IP, now time.Time) (*x509.Certificate, crypto.Signer, bool, error) {
	certPath, keyPath := filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile)
	key, kerr := readKey(keyPath)
	cert, cerr := readCert(certPath)
	if kerr != nil && !errors.Is(kerr, fs.ErrNotExist) && !errors.Is(kerr, errUnparsable) {
		return nil, nil, false, kerr // unreadable, or readable by others
	}
	if kerr == nil && cerr == nil && serverFits(cert, key, ca, dns, ips, now) {
		return cert, key, false, nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, fmt.Errorf("certs: server key: %w", err)
	}
	notAfter := now.Add(serverValidity)
	if ca.NotAfter.Before(notAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"kizuki"}, CommonName: dns[0]},
		NotBefore:   now.Add(-backdate),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dns,
		IPAddresses: ips,
	}
	cert, err = issue(tmpl, ca, k.Public(), caKey)
	if err != nil {
		return nil, nil, false, err
	}
	// Key first: a crash between the two leaves a certificate that does
	// not match the key, which the next start replaces.
	if err := writeKey(keyPath, k); err != nil {
		return nil, nil, false, err
	}
	if err := writeFileAtomic(certPath, pemBlock("CERTIFICATE", cert.Raw), 0o644); err != nil {
		return nil, nil, false, err
	}
	return cert, k, true, nil
}

// serverFits reports whether a server certificate can be kept.
func serverFits(cert *x509.Certificate, key crypto.Signer, ca *x509.Certificate, dns []string, ips []net.IP, now time.Time) bool {
	if !samePublic(cert.PublicKey, key.Public()) || cert.CheckSignatureFrom(ca) != nil {
		return false
	}
	expiring := now.Add(renewBefore).After(cert.NotAfter)
	capped := !cert.NotAfter.Before(ca.NotAfter) // a new one could not last longer
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) || expiring && !capped {
		return false
	}
	for _, d := range dns {
		if !slices.ContainsFunc(cert.DNSNames, func(n string) bool { return strings.EqualFold(n, d) }) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// serverNames returns the names a generated server certificate carries:
// the host name first (its common name), localhost, the loopback
// addresses, and extra.
func serverNames(extra []string) ([]string, []net.IP, error) {
	var dns []string
	if h, err := os.Hostname(); err == nil && validDNSName(h) && !strings.EqualFold(h, "localhost") {
		dns = append(dns, strings.ToLower(h))
	}
	dns = append(dns, "localhost")
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	for _, h := range extra {
		h = strings.TrimSpace(h)
		switch ip := net.ParseIP(h); {
		case ip != nil:
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
		case validDNSName(h):
			if h = strings.ToLower(h); !slices.Contains(dns, h) {
				dns = append(dns, h)
			}
		default:
			return nil, nil, fmt.Errorf("certs: %q is neither an IP address nor a host name", h)
		}
	}
	return dns, ips, nil
}

// validDNSName accepts host names (letters, digits, hyphens and dots, with
// an optional leading "*." wildcard), the names x509 certificates carry.
func validDNSName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// issue signs tmpl with signer (self-signed when parent is nil), with a
// random 128-bit serial number.
func issue(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("certs: serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("certs: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	return x509.ParseCertificate(der)
}

// samePublic compares two public keys (public: no secret is compared).
func samePublic(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
