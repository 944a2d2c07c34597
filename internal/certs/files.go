package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/kizuki-dev/kizuki/internal/fsutil"
)

// errUnparsable is wrapped when a file is there but is not what it should
// be: Ensure replaces such a server file, and refuses such a CA file.
var errUnparsable = errors.New("not a PEM certificate or key")

// readCert reads a PEM certificate file.
func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("certs: %s: %w", path, errUnparsable)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w: %w", path, errUnparsable, err)
	}
	return c, nil
}

// readKey reads a PEM PKCS #8 private key that only its owner can read.
func readKey(path string) (crypto.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("certs: key file %s can be read by others (mode %04o): chmod 600 it, or remove it (and, for the CA, its certificate) to make a new one", path, st.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	defer clear(data) // the key's bytes need not outlive it in memory
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", path, err)
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("certs: %s: %w", path, errUnparsable)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	clear(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w: %w", path, errUnparsable, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("certs: %s: %w: %T cannot sign", path, errUnparsable, k)
	}
	return s, nil
}

// writeKey writes a private key, PEM PKCS #8, mode 0600.
func writeKey(path string, k crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("certs: %s: %w", path, err)
	}
	data := pemBlock("PRIVATE KEY", der)
	clear(der)
	defer clear(data)
	return writeFileAtomic(path, data, 0o600)
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeFileAtomic is fsutil.WriteFileAtomic with this package's errors.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := fsutil.WriteFileAtomic(path, data, perm); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}
