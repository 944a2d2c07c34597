package certs

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
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

// writeFileAtomic replaces path with data: written to path.tmp (created
// with perm, never through an existing file whose mode may be looser),
// fsynced, renamed over path, and the folder fsynced so the rename
// survives a crash.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("certs: %w", err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm) // exactly perm, whatever the umask took
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("certs: write %s: %w", path, werr)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a folder, making a rename in it durable. Not every
// system can fsync a folder (Windows cannot); there the rename stands
// on its own.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("certs: fsync %s: %w", dir, err)
	}
	return nil
}
