package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kizuki-dev/kizuki/internal/api"
	"github.com/kizuki-dev/kizuki/internal/certs"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/fsutil"
	"github.com/kizuki-dev/kizuki/internal/indexer"
	"github.com/kizuki-dev/kizuki/internal/store"
)

// indexDir is the search index's folder inside a data directory.
func indexDir(data string) string { return filepath.Join(data, "index") }

// indexLockName is the lock file of a data directory's index: kizuki serve
// holds it while it runs, so that search --data and reindex never write
// the index under a running server.
const indexLockName = "LOCK"

// openIndex takes the index lock of a data directory and opens its index;
// with wipe, the old index is removed first, under the lock (reindex). The
// closer releases both (flushing what the index holds in memory).
func openIndex(data string, wipe bool, logf func(string, ...any)) (*store.Index, func() error, error) {
	dir := indexDir(data)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	lock, err := fsutil.Lock(filepath.Join(dir, indexLockName))
	if errors.Is(err, fsutil.ErrLocked) {
		if wipe {
			return nil, nil, fmt.Errorf("the index of %s is in use by a running kizuki serve: stop it first", data)
		}
		return nil, nil, fmt.Errorf("the index of %s is in use by a running kizuki serve: ask the server (--server URL) instead", data)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	if wipe {
		if err := removeIndexFiles(dir); err != nil {
			lock.Close()
			return nil, nil, err
		}
	}
	x, err := store.Open(dir, store.Options{Logf: logf})
	if err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	return x, func() error {
		err := x.Close()
		lock.Close()
		return err
	}, nil
}

// removeIndexFiles removes everything in the index folder but its lock.
func removeIndexFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("removing the old index: %w", err)
	}
	for _, e := range entries {
		if e.Name() != indexLockName {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("removing the old index: %w", err)
			}
		}
	}
	return nil
}

func newSearch() *cobra.Command {
	var server, token, tokenFile, caFile, data, from, to, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "search [--server URL | --data DIR] [--from T] [--to T] QUERY...",
		Short: "Search the events kizuki serve stored",
		Long: `Searches the stored events, from a running server (--server https://HOST:8443,
with an API token from --token-file, $KIZUKI_TOKEN or --token) or from a data
directory whose server is stopped (--data DIR: the index is first brought up
to date with the journal).

The query language (docs/search.md): field:value (case-insensitive),
"quoted phrases", free words, wildcards (url:*evil.com*), CIDR
(src_ip:10.0.0.0/8), comparisons (bytes_out:>1000000), AND, OR, NOT, -term,
parentheses, and a pipe: | stats count by FIELD[,FIELD] or | timeline.
--from and --to take RFC 3339 times, dates, now, or -15m / -24h / -7d.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format must be table or json, not %q", format)
			}
			if (server == "") == (data == "") {
				return errors.New("give one of --server URL (a running kizuki serve) or --data DIR (a stopped one's data directory)")
			}
			now := time.Now()
			req := api.SearchRequest{Query: strings.Join(args, " "), Limit: limit}
			var err error
			if req.From, err = api.ParseTime(from, now); err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			if req.To, err = api.ParseTime(to, now); err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			var res *api.SearchResponse
			if server != "" {
				secret, err := apiToken(token, tokenFile)
				if err != nil {
					return err
				}
				res, err = remoteSearch(cmd.Context(), server, secret, caFile, from, to, req)
				if err != nil {
					return err
				}
			} else {
				logf := func(f string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), "kizuki search: "+f+"\n", a...) }
				if res, err = localSearch(cmd.Context(), data, req, logf); err != nil {
					return err
				}
			}
			return writeSearch(cmd.OutOrStdout(), res, format)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&server, "server", "", "URL of a running kizuki serve's API, e.g. https://127.0.0.1:8443")
	fl.StringVar(&token, "token", "", "API token (visible to other users in the process list: prefer --token-file or $KIZUKI_TOKEN)")
	fl.StringVar(&tokenFile, "token-file", "", "file holding the API token, e.g. DATA/admin-token")
	fl.StringVar(&caFile, "ca", "", "CA certificate (PEM) the server's certificate is checked against (default: the system's; for the CA serve made: DATA/tls/"+certs.CACertFile+")")
	fl.StringVar(&data, "data", "", "data directory of a stopped kizuki serve")
	fl.StringVar(&from, "from", "", "only events at or after this time")
	fl.StringVar(&to, "to", "", "only events before this time")
	fl.IntVar(&limit, "limit", 100, "at most this many events, newest first (0: only the count)")
	fl.StringVar(&format, "format", "table", "table (readable lines) or json (the API's answer)")
	return cmd
}

// apiToken finds the API token: --token, else --token-file, else
// $KIZUKI_TOKEN.
func apiToken(token, file string) (string, error) {
	switch {
	case token != "":
		return token, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case os.Getenv("KIZUKI_TOKEN") != "":
		return os.Getenv("KIZUKI_TOKEN"), nil
	}
	return "", errors.New("an API token is needed: --token-file FILE, $KIZUKI_TOKEN or --token")
}

// remoteSearch asks a running server.
func remoteSearch(ctx context.Context, server, token, caFile, from, to string, req api.SearchRequest) (*api.SearchResponse, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca: %s holds no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	u, err := url.Parse(strings.TrimSuffix(server, "/") + "/api/v1/search")
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want https://HOST:PORT", server)
	}
	v := url.Values{"q": {req.Query}, "limit": {strconv.Itoa(req.Limit)}}
	// The bounds go as given: relative ones ("-24h") are the server's now.
	if from != "" {
		v.Set("from", from)
	}
	if to != "" {
		v.Set("to", to)
	}
	u.RawQuery = v.Encode()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("search: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("search: %s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return nil, fmt.Errorf("search: HTTP %d", resp.StatusCode)
	}
	var res api.SearchResponse
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("search: the answer is not a search result: %w", err)
	}
	return &res, nil
}

// localSearch searches a stopped server's data directory, after indexing
// what its journal holds beyond the index.
func localSearch(ctx context.Context, data string, req api.SearchRequest, logf func(string, ...any)) (*api.SearchResponse, error) {
	if _, err := os.Stat(journalDir(data)); err != nil {
		return nil, fmt.Errorf("--data %s: no journal there (%w)", data, err)
	}
	x, closeIndex, err := openIndex(data, false, logf)
	if err != nil {
		return nil, err
	}
	defer closeIndex()
	ix := indexer.New(indexer.Dir(journalDir(data)), x, formats.Registry(), indexer.Options{Logf: logf})
	if err := ix.CatchUp(ctx); err != nil {
		return nil, fmt.Errorf("bringing the index up to date: %w", err)
	}
	res, err := api.Search(ctx, x, req)
	if err != nil {
		return nil, err
	}
	return res, closeIndex()
}

// writeSearch prints a search result: the API's JSON, or one line per
// event (time, host, source, raw) and the aggregation as a table.
func writeSearch(w io.Writer, res *api.SearchResponse, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, raw := range res.Events {
		var ev struct {
			Time, Host, Source, Raw string
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s  %-16s  %-10s  %s\n", ev.Time, clipTo(ev.Host, 16), clipTo(ev.Source, 10), strings.TrimRight(ev.Raw, "\r\n"))
	}
	if res.Aggregation != nil {
		b, _ := json.Marshal(res.Aggregation)
		writeAggregation(w, b)
	}
	fmt.Fprintf(w, "%d matching events (%d shown), %d ms\n", res.Total, len(res.Events), res.TookMillis)
	return nil
}

// writeAggregation prints stats rows or timeline buckets as columns.
func writeAggregation(w io.Writer, b []byte) {
	var agg struct {
		Type string   `json:"type"`
		By   []string `json:"by"`
		Rows []struct {
			Values []string `json:"values"`
			Count  int64    `json:"count"`
		} `json:"rows"`
		Span    string `json:"span"`
		Buckets []struct {
			Time  string `json:"time"`
			Count int64  `json:"count"`
		} `json:"buckets"`
		Capped bool `json:"capped"`
	}
	if json.Unmarshal(b, &agg) != nil {
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	switch agg.Type {
	case "timeline":
		fmt.Fprintf(w, "%-24s  %s (per %s)\n", "TIME (UTC)", "COUNT", agg.Span)
		for _, bk := range agg.Buckets {
			fmt.Fprintf(w, "%-24s  %d\n", bk.Time, bk.Count)
		}
	default:
		fmt.Fprintf(w, "%10s  %s\n", "COUNT", strings.ToUpper(strings.Join(agg.By, "  ")))
		for _, r := range agg.Rows {
			fmt.Fprintf(w, "%10d  %s\n", r.Count, strings.Join(r.Values, "  "))
		}
		if agg.Capped {
			fmt.Fprintln(w, "(too many groups: only the first ones were counted)")
		}
	}
}

// clipTo cuts s to n bytes, marking the cut.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func newReindex() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "reindex --data DIR",
		Short: "Rebuild the search index from the journal",
		Long: `Removes the search index of a data directory (DIR/index) and builds it again
from the journal, the source of truth: after an upgrade that parses more
fields, or if the index was damaged. The server must be stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logf := func(f string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), "kizuki reindex: "+f+"\n", a...) }
			if _, err := os.Stat(journalDir(data)); err != nil {
				return fmt.Errorf("--data %s: no journal there (%w)", data, err)
			}
			start := time.Now()
			// Removed under the index lock: never under a running server.
			x, closeIndex, err := openIndex(data, true, logf)
			if err != nil {
				return err
			}
			ix := indexer.New(indexer.Dir(journalDir(data)), x, formats.Registry(), indexer.Options{Logf: logf})
			if err := ix.CatchUp(cmd.Context()); err != nil {
				closeIndex()
				return err
			}
			if err := closeIndex(); err != nil {
				return err
			}
			st := ix.Stats()
			el := time.Since(start)
			fmt.Fprintf(cmd.OutOrStdout(), "indexed %d records (%d of no known format, kept as text) in %.1f s (%.0f records/s)\n",
				st.Indexed, st.Unparsed, el.Seconds(), float64(st.Indexed)/max(el.Seconds(), 1e-9))
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "kizuki-data", "the data directory of a stopped kizuki serve")
	return cmd
}
