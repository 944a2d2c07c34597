package journal

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"
)

// TestKeys: GenerateKey writes a 0600 private key and a public key that
// LoadKey and LoadPublicKey read back; it never overwrites; LoadKey
// refuses a key others can read; a journal signed with the key verifies
// under the loaded public key.
func TestKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.key")
	pub, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v, %v", st.Mode(), err)
	}
	if _, err := GenerateKey(path); err == nil {
		t.Fatal("GenerateKey overwrote a key")
	}
	priv, err := LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		t.Fatal("loaded key does not match")
	}
	for _, p := range []string{path + ".pub", path} {
		got, err := LoadPublicKey(p)
		if err != nil || !bytes.Equal(got, pub) {
			t.Fatalf("LoadPublicKey(%s): %v", p, err)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(path); err == nil {
		t.Fatal("LoadKey accepted a world-readable key")
	}
	os.Chmod(path, 0o600)
	for _, bad := range []string{path + ".pub", filepath.Join(dir, "none")} {
		if _, err := LoadKey(bad); err == nil {
			t.Fatalf("LoadKey(%s) succeeded", bad)
		}
	}
	os.WriteFile(filepath.Join(dir, "big"), make([]byte, maxKeyFile+1), 0o600)
	if _, err := LoadPublicKey(filepath.Join(dir, "big")); err == nil {
		t.Fatal("a huge key file was read")
	}

	jdir := filepath.Join(dir, "data", "journal")
	j := mustOpen(t, jdir, Options{SigningKey: priv})
	mustAppend(t, j, testRecords(0, 10))
	j.Close()
	if rep := mustVerify(t, jdir, pub); rep.Entries == 0 || rep.Unsigned != 0 {
		t.Fatalf("report\n%s", rep)
	}
}

// TestOpenSSLKeys: keys made by `openssl genpkey -algorithm ed25519` and
// `openssl pkey -pubout` load, and match each other.
func TestOpenSSLKeys(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "k.pem")
	pubPath := filepath.Join(dir, "k.pub")
	os.WriteFile(priv, []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFrImmUZ5wRQdpNV+5KcV3Fwvc2pdOKNIOGxPGwfAKkG\n-----END PRIVATE KEY-----\n"), 0o600)
	os.WriteFile(pubPath, []byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAxYBxxfbueGXVTD4pXavnfVBv0VAxUyo/Bds98/cVa14=\n-----END PUBLIC KEY-----\n"), 0o644)
	k, err := LoadKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := LoadPublicKey(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Public().(ed25519.PublicKey), pub) {
		t.Fatal("openssl's public key does not match its private key")
	}
}
