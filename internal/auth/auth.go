// Package auth keeps the API tokens of kizuki serve: each a random secret
// shown once, stored only as its SHA-256 hash with a name and a role, and
// checked in constant time. Roles grant what their holders need and no
// more (ASD: access only for those who need it).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kizuki-dev/kizuki/internal/fsutil"
)

// Role is what a token may do.
type Role string

// Roles, from most to least powerful.
const (
	// Admin manages tokens and everything an analyst does.
	Admin Role = "admin"
	// Analyst sends events (ingest), searches and reads alerts.
	Analyst Role = "analyst"
	// Viewer only reads: search, alerts, sources.
	Viewer Role = "viewer"
)

// ParseRole returns the role named s.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Admin, Analyst, Viewer:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want admin, analyst or viewer)", s)
}

// Permission is one kind of API call.
type Permission int

// Permissions.
const (
	Ingest Permission = iota // send events
	Read                     // search, alerts, sources
	Manage                   // tokens, configuration
	Hunt                     // add and remove indicator lists (and retro-hunt them)
)

// Allows reports whether role r may do p.
func (r Role) Allows(p Permission) bool {
	switch r {
	case Admin:
		return true
	case Analyst:
		return p == Ingest || p == Read || p == Hunt
	case Viewer:
		return p == Read
	}
	return false
}

// Token is a stored token: never the secret, only its hash.
type Token struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Hash    string    `json:"sha256"` // hex SHA-256 of the secret
	Created time.Time `json:"created"`
}

// tokenPrefix marks kizuki's secrets, so that secret scanners can find
// one pasted where it should not be.
const tokenPrefix = "kzk_"

// MaxTokenLen bounds a presented token: longer ones are refused unread.
const MaxTokenLen = 256

// Store is the token file of a data directory (DATA/tokens.json, mode
// 0600), safe for concurrent use.
type Store struct {
	path   string
	mu     sync.RWMutex
	tokens []Token
}

// Open reads the store at path (an absent file is an empty store).
func Open(path string) (*Store, error) {
	s := &Store{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	if err := json.Unmarshal(b, &s.tokens); err != nil {
		return nil, fmt.Errorf("tokens: %s: %w", path, err)
	}
	for _, t := range s.tokens {
		if _, err := ParseRole(string(t.Role)); err != nil || len(t.Hash) != 2*sha256.Size {
			return nil, fmt.Errorf("tokens: %s: token %q is damaged", path, t.Name)
		}
	}
	return s, nil
}

// Len returns the number of tokens.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.tokens)
}

// Create makes a token for name with role and returns its secret, the
// only time it exists outside the holder's hands.
func (s *Store) Create(name string, role Role) (string, error) {
	if name == "" || len(name) > 64 || strings.ContainsAny(name, "\x00\r\n") {
		return "", errors.New("a token name is 1 to 64 characters on one line")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("tokens: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.Name == name {
			return "", fmt.Errorf("a token named %q exists", name)
		}
	}
	next := append(append([]Token(nil), s.tokens...), Token{Name: name, Role: role, Hash: hex.EncodeToString(sum[:]), Created: time.Now().UTC()})
	if err := writeJSON(s.path, next); err != nil {
		return "", err
	}
	s.tokens = next
	return secret, nil
}

// Authenticate returns the token whose secret was presented. Every stored
// hash is compared, in constant time, whatever matches: the time taken
// says nothing about which token or how much of it was right.
func (s *Store) Authenticate(secret string) (Token, bool) {
	if len(secret) == 0 || len(secret) > MaxTokenLen {
		return Token{}, false
	}
	sum := sha256.Sum256([]byte(secret))
	s.mu.RLock()
	defer s.mu.RUnlock()
	found, match := -1, 0
	for i, t := range s.tokens {
		want, err := hex.DecodeString(t.Hash)
		if err != nil || len(want) != len(sum) {
			continue
		}
		eq := subtle.ConstantTimeCompare(want, sum[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
		match |= eq
	}
	if match == 0 {
		return Token{}, false
	}
	return s.tokens[found], true
}

// writeJSON replaces path atomically with v (mode 0600): write a
// temporary file, fsync, rename, fsync the folder.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteSecretFile(path, append(b, '\n'))
}

// WriteSecretFile writes data to path atomically, readable by the owner
// only; an existing file is replaced.
func WriteSecretFile(path string, data []byte) error {
	return fsutil.WriteFileAtomic(path, data, 0o600)
}
