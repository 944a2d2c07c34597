package certs

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
)

// Load builds the server's TLS configuration from files an operator
// supplies: certFile, a PEM certificate chain (the server's certificate
// first), and keyFile, its PEM private key. With opt.ClientCAFile set,
// clients must present a certificate from one of those CAs.
//
// A certificate already expired is refused: every sender would refuse it
// too, and an error at start is easier to find than failed handshakes.
// The key file's permissions are the operator's to choose (a group may
// share it), unlike the files Ensure owns.
func Load(certFile, keyFile string, opt Options) (*Bundle, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certs: %s and %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certs: %s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	if now := opt.clock(); now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("certs: %s: %w on %s", certFile, errExpired, leaf.NotAfter.UTC().Format("2006-01-02"))
	}
	cfg, err := serverConfig(cert, opt)
	if err != nil {
		return nil, err
	}
	return &Bundle{
		Config:      cfg,
		Fingerprint: Fingerprint(leaf.Raw),
		CertFile:    certFile,
		KeyFile:     keyFile,
		NotAfter:    leaf.NotAfter,
	}, nil
}
