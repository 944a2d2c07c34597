package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	s, err := Open(path)
	if err != nil || s.Len() != 0 {
		t.Fatalf("new store: %v %d", err, s.Len())
	}
	admin, err := s.Create("admin", Admin)
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := s.Create("dash", Viewer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(admin, "kzk_") || admin == viewer {
		t.Fatalf("secrets %q %q", admin, viewer)
	}
	if _, err := s.Create("admin", Viewer); err == nil {
		t.Error("a second token named admin was made")
	}
	if _, err := s.Create("x", "root"); err == nil {
		t.Error("an unknown role was accepted")
	}
	// The file keeps hashes only, readable by the owner only.
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), admin) || strings.Contains(string(b), viewer[4:]) {
		t.Fatal("a secret is stored in the clear")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("tokens file mode %v", st.Mode().Perm())
	}
	// Reopened, the same secrets authenticate to their own tokens.
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for secret, want := range map[string]string{admin: "admin", viewer: "dash"} {
		tok, ok := s2.Authenticate(secret)
		if !ok || tok.Name != want {
			t.Errorf("Authenticate(%s…) = %v %v, want %s", secret[:8], tok.Name, ok, want)
		}
	}
	for _, bad := range []string{"", "kzk_", admin[:len(admin)-1], admin + "x", strings.ToUpper(admin), strings.Repeat("a", MaxTokenLen+1)} {
		if tok, ok := s2.Authenticate(bad); ok {
			t.Errorf("Authenticate(%q) = %v", bad, tok)
		}
	}
	// A damaged file is an error, not an empty store.
	os.WriteFile(path, []byte(`[{"name":"x","role":"root","sha256":"00"}]`), 0o600)
	if _, err := Open(path); err == nil {
		t.Error("a damaged token file opened")
	}
}

func TestRoles(t *testing.T) {
	for _, c := range []struct {
		r                          Role
		ingest, read, manage, hunt bool
	}{{Admin, true, true, true, true}, {Analyst, true, true, false, true}, {Viewer, false, true, false, false}, {"nobody", false, false, false, false}} {
		if c.r.Allows(Ingest) != c.ingest || c.r.Allows(Read) != c.read || c.r.Allows(Manage) != c.manage || c.r.Allows(Hunt) != c.hunt {
			t.Errorf("%s: ingest %v read %v manage %v hunt %v", c.r, c.r.Allows(Ingest), c.r.Allows(Read), c.r.Allows(Manage), c.r.Allows(Hunt))
		}
	}
	if _, err := ParseRole("analyst"); err != nil {
		t.Error(err)
	}
	if _, err := ParseRole("Admin"); err == nil {
		t.Error("role names are lower-case")
	}
}
