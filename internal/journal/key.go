package journal

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// Keys are stored as PEM: the private key as PKCS #8 ("PRIVATE KEY", what
// `openssl genpkey -algorithm ed25519` writes), the public key as PKIX
// ("PUBLIC KEY"), so that standard tools can read and make them.

// maxKeyFile bounds what LoadKey and LoadPublicKey read.
const maxKeyFile = 64 << 10

// GenerateKey writes a new Ed25519 private key to path with mode 0600 and
// its public key to path+".pub", and returns the public key. It refuses to
// overwrite either file: losing the private key loses nothing already
// signed, but replacing it silently would make old checkpoints fail to
// verify under the new public key.
func GenerateKey(path string) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("journal: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("journal: generate key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("journal: generate key: %w", err)
	}
	pubPath := path + ".pub"
	if _, err := os.Lstat(pubPath); err == nil {
		return nil, fmt.Errorf("journal: %s exists already", pubPath)
	}
	if err := writeExclusive(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := writeExclusive(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		os.Remove(path)
		return nil, err
	}
	return pub, nil
}

// writeExclusive creates path (failing if it exists), writes b, fsyncs.
func writeExclusive(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("journal: write %s: %w", path, err)
	}
	return nil
}

// LoadKey reads a private key written by GenerateKey (or by openssl). Like
// ssh, it refuses a key file that other users may read.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	b, info, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("journal: key %s is accessible by other users (mode %04o); chmod 600 it", path, info.Mode().Perm())
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("journal: %s: no PEM \"PRIVATE KEY\" block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("journal: %s: a %T, not an Ed25519 key", path, k)
	}
	return priv, nil
}

// LoadPublicKey reads a public key (".pub" file) or derives it from a
// private key file, for Verify.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, _, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("journal: %s: no PEM block", path)
	}
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("journal: %s: %w", path, err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("journal: %s: a %T, not an Ed25519 key", path, k)
		}
		return pub, nil
	case "PRIVATE KEY":
		priv, err := LoadKey(path)
		if err != nil {
			return nil, err
		}
		return priv.Public().(ed25519.PublicKey), nil
	}
	return nil, fmt.Errorf("journal: %s: PEM block %q is not a key", path, blk.Type)
}

func readKeyFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("journal: %s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	if len(b) > maxKeyFile {
		return nil, nil, errors.New("journal: " + path + ": too large for a key file")
	}
	return b, info, nil
}
