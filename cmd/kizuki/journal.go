package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kizuki-dev/kizuki/internal/auth"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// errVerifyFailed is returned by `verify` when the journal does not verify:
// the report already names the problem; the exit status is 1.
var errVerifyFailed = errors.New("the journal does not verify")

// defaultKeyPath is where the journal's signing key lives unless --key says
// otherwise: in the user's configuration folder, outside any data
// directory, so that whoever can change the data cannot also sign the
// change.
func defaultKeyPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return filepath.Join(".", "kizuki-journal.key")
	}
	return filepath.Join(dir, "kizuki", "journal.key")
}

// journalDir is the journal's folder inside a data directory.
func journalDir(data string) string { return filepath.Join(data, "journal") }

// checkKeyOutside refuses a signing key kept inside the data directory.
func checkKeyOutside(key, data string) error {
	k, err1 := filepath.Abs(key)
	d, err2 := filepath.Abs(data)
	if err1 != nil || err2 != nil {
		return nil
	}
	if rel, err := filepath.Rel(d, k); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("signing key %s is inside the data directory %s: keep it elsewhere (whoever can change the data could then sign the change)", key, data)
	}
	return nil
}

func newKeygen() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen [--out PATH]",
		Short: "Create the Ed25519 key that signs the journal's checkpoints",
		Long: `Creates an Ed25519 key pair: the private key (PATH, mode 0600) signs the
journal's checkpoints, the public key (PATH.pub) lets anyone check them with
kizuki verify. Keep the private key outside the data directory, ideally on
another volume; an existing key is never overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			pub, err := journal.GenerateKey(out)
			if err != nil {
				return fmt.Errorf("keygen: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key: %s (keep it secret, outside the data directory)\npublic key:  %s.pub (key id %x)\n", out, out, journal.KeyID(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", defaultKeyPath(), "where to write the private key (the public key goes to PATH.pub)")
	return cmd
}

func newToken() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage the API tokens of kizuki serve"}
	var data, role string
	create := &cobra.Command{
		Use:   "create --data DIR --role admin|analyst|viewer NAME",
		Short: "Make an API token; its secret is printed once, only its hash is kept",
		Long: `Makes an API token for kizuki serve's HTTPS API and prints its secret, the only
time it is shown: only its SHA-256 hash is stored (DIR/tokens.json). Roles:
admin (everything, tokens included), analyst (send events, search, alerts),
viewer (search and alerts only). A running server sees new tokens after a
restart.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(data, 0o700); err != nil {
				return err
			}
			store, err := auth.Open(filepath.Join(data, "tokens.json"))
			if err != nil {
				return err
			}
			secret, err := store.Create(args[0], r)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			return nil
		},
	}
	create.Flags().StringVar(&data, "data", "kizuki-data", "the data directory kizuki serve uses")
	create.Flags().StringVar(&role, "role", "viewer", "admin, analyst or viewer")
	cmd.AddCommand(create)
	return cmd
}

func newVerify() *cobra.Command {
	var data, pubPath string
	cmd := &cobra.Command{
		Use:   "verify --data DIR [--pub PATH]",
		Short: "Check that no stored event was changed, removed, cut or reordered",
		Long: `Recomputes the whole journal of a data directory: every checksum, the hash
chain over every record and the signed checkpoints, and names the first
record that was modified, is missing, truncated or out of order (file, byte
offset, sequence number). Exit status 1 when it does not verify.

The public key defaults to the one kizuki keygen wrote (PATH.pub beside the
default key); without one, only checksums and chains are checked and the
report says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var pub ed25519.PublicKey
			explicit := cmd.Flags().Changed("pub")
			if _, err := os.Stat(pubPath); err == nil || explicit {
				k, err := journal.LoadPublicKey(pubPath)
				if err != nil {
					return fmt.Errorf("verify: %w", err)
				}
				pub = k
			}
			failed := false
			for _, part := range []struct{ name, dir string }{
				{"events", journalDir(data)}, {"audit trail", filepath.Join(data, "audit")},
				{"alerts", filepath.Join(data, "alerts")},
			} {
				if _, err := os.Stat(part.dir); errors.Is(err, os.ErrNotExist) && part.name != "events" {
					continue // made by kizuki serve's first start
				}
				fmt.Fprintf(cmd.OutOrStdout(), "== %s (%s)\n", part.name, part.dir)
				rep, err := journal.Verify(cmd.Context(), part.dir, pub)
				fmt.Fprint(cmd.OutOrStdout(), rep.String())
				var p *journal.Problem
				if errors.As(err, &p) {
					failed = true
					continue
				}
				if err != nil {
					return fmt.Errorf("verify %s: %w", part.name, err)
				}
			}
			if failed {
				return errVerifyFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "kizuki-data", "the data directory kizuki serve writes")
	cmd.Flags().StringVar(&pubPath, "pub", defaultKeyPath()+".pub", "the public key of the signing key")
	return cmd
}
