package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/kizuki-dev/kizuki/internal/analyze"
	"github.com/kizuki-dev/kizuki/internal/api"
	"github.com/kizuki-dev/kizuki/internal/auth"
	"github.com/kizuki-dev/kizuki/internal/certs"
	"github.com/kizuki-dev/kizuki/internal/detect/ioc"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/formats"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/hunt"
	"github.com/kizuki-dev/kizuki/internal/indexer"
	"github.com/kizuki-dev/kizuki/internal/journal"
	"github.com/kizuki-dev/kizuki/internal/listen"
	"github.com/kizuki-dev/kizuki/internal/live"
	"github.com/kizuki-dev/kizuki/internal/store"
	"github.com/kizuki-dev/kizuki/internal/webhook"
)

// serveFlags are the flags of `kizuki serve`.
type serveFlags struct {
	data, key                    string
	udp, tcp, tlsAddr, https     string
	tlsCert, tlsKey, tlsClientCA string
	allowTLS12                   bool
	maxMessage                   int
	keepMonths, hotDays          int
	silentAfter                  time.Duration
	rules                        []string
	webhooks                     []string
	cpuprofile                   string
	config, indicators           string
	jpcertWindow                 time.Duration
	clockTolerance               time.Duration
}

func newServe() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --data DIR",
		Short: "Receive logs over syslog (UDP, TCP, TLS) into a tamper-evident journal",
		Long: `Receives logs from your mail server, firewall, proxy, DNS server and domain
controller (any syslog sender: rsyslog, syslog-ng, logger, network devices)
and keeps every message in an append-only journal in DIR/journal: records
hash-chained, checkpoints signed with an Ed25519 key kept outside DIR (made
at the first start when --key is not given), each TCP/TLS batch read only
after the previous one is on disk (fsync). kizuki verify --data DIR proves
that nothing was changed, removed, cut or reordered since.

Listeners take HOST:PORT or "off": syslog over UDP and TCP (LF or
octet-counting framing, RFC 3164 or 5424) on 5514, over TLS 1.3 (RFC 5425)
on 6514, and the HTTPS API on 8443 (POST /api/v1/ingest with NDJSON or
plain lines, ?type= naming their format). Without --tls-cert, a CA and a
server certificate are made in DIR/tls and their fingerprints printed.

API calls need a token (Authorization: Bearer TOKEN). The first start writes
an admin token to DIR/admin-token (mode 0600; it is never logged); make
others with kizuki token create. Every API call goes to an audit trail,
DIR/audit, a journal signed like the events' (kizuki verify checks both).

Every stored event is parsed and indexed within about a second: search it
with GET /api/v1/search or kizuki search (docs/search.md); the index
(DIR/index) is derived from the journal and rebuilt by kizuki reindex. Sigma
rules run live on every event (GET /api/v1/alerts, --webhook). Sources,
their volume, silence and clock offset: GET /api/v1/sources and /metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stop, err := startCPUProfile(f.cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
			return runServe(cmd.Context(), f, cmd.Flags().Changed("key"), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "kizuki-data", "data directory (the journal, the generated TLS files)")
	fl.StringVar(&f.key, "key", defaultKeyPath(), "Ed25519 key signing the journal's checkpoints (kizuki keygen); kept outside --data")
	fl.StringVar(&f.udp, "syslog-udp", listen.DefaultSyslogAddr, "syslog over UDP: HOST:PORT or off")
	fl.StringVar(&f.tcp, "syslog-tcp", listen.DefaultSyslogAddr, "syslog over TCP: HOST:PORT or off")
	fl.StringVar(&f.tlsAddr, "syslog-tls", listen.DefaultTLSAddr, "syslog over TLS (RFC 5425): HOST:PORT or off")
	fl.StringVar(&f.https, "https", ":8443", "HTTPS API (POST /api/v1/ingest): HOST:PORT or off")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "server certificate (PEM); default: one made in DATA/tls")
	fl.StringVar(&f.tlsKey, "tls-key", "", "server certificate's key (PEM)")
	fl.StringVar(&f.tlsClientCA, "tls-client-ca", "", "require client certificates signed by this CA (PEM)")
	fl.BoolVar(&f.allowTLS12, "allow-tls12", false, "also accept TLS 1.2 (TLS 1.3 only by default)")
	fl.IntVar(&f.keepMonths, "keep-months", 18, "keep events this many months (ASD suggests 18), removing whole older segments at start and hourly, recorded in the audit trail; 0 keeps everything")
	fl.IntVar(&f.hotDays, "hot-days", 0, "keep events searchable in the index this many days, by their own time (older ones stay in the journal: kizuki reindex brings them back); 0: as long as the journal keeps them")
	fl.DurationVar(&f.silentAfter, "silent-after", time.Hour, "a source heard from before but not for this long is reported silent (/api/v1/sources, /metrics) and raises an alert; 0: never")
	fl.StringArrayVar(&f.rules, "rules", nil, "Sigma rule files or folders for live detection (repeatable; default: kizuki's built-in pack)")
	fl.StringVar(&f.config, "config", "", "organization configuration (kizuki init-config; the one analyze --config takes): networks, zones, hours, allowlists and indicators for the JPCERT analyses")
	fl.DurationVar(&f.jpcertWindow, "jpcert-window", 15*time.Minute, "run the JPCERT/CC analyses J1-J13 live over windows of this much receive time (J7, J8, J13 also weekly); 0 turns them off")
	fl.StringVar(&f.indicators, "indicators", "", "folder of indicator lists (text, CSV, STIX 2.1) matched live and retro-hunted over the stored history; default DATA/indicators")
	fl.DurationVar(&f.clockTolerance, "clock-tolerance", health.DefaultClockTolerance, "report a source whose event times are off their arrival times by more than this (0: never)")
	fl.StringArrayVar(&f.webhooks, "webhook", nil, "POST every new alert as JSON to this http(s) URL (repeatable)")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a Go CPU profile of the server to this file")
	_ = fl.MarkHidden("cpuprofile")
	fl.IntVar(&f.maxMessage, "max-message", 0, "largest syslog message kept, in bytes (default 64 KiB; larger ones are counted and skipped)")
	return cmd
}

// signingKey loads the journal's signing key, making it at the default place
// on the first start; a key named with --key must exist.
func signingKey(f serveFlags, explicit bool, log io.Writer) (ed25519.PrivateKey, error) {
	if err := checkKeyOutside(f.key, f.data); err != nil {
		return nil, err
	}
	if _, err := os.Stat(f.key); errors.Is(err, os.ErrNotExist) {
		if explicit {
			return nil, fmt.Errorf("signing key %s does not exist: make it with kizuki keygen --out %s", f.key, f.key)
		}
		if err := os.MkdirAll(filepath.Dir(f.key), 0o700); err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		pub, err := journal.GenerateKey(f.key)
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		fmt.Fprintf(log, "kizuki serve: made the journal signing key %s (public key %s.pub, key id %x); back both up, away from %s\n",
			f.key, f.key, journal.KeyID(pub), f.data)
	}
	k, err := journal.LoadKey(f.key)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return k, nil
}

func runServe(ctx context.Context, f serveFlags, keyExplicit bool, log io.Writer) error {
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	key, err := signingKey(f, keyExplicit, log)
	if err != nil {
		return err
	}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(log, "kizuki serve: "+strings.TrimSuffix(format, "\n")+"\n", args...)
	}
	j, err := journal.Open(journalDir(f.data), journal.Options{SigningKey: key, Logf: logf})
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	// An early return closes the journal here; the normal end closes it
	// itself, to report the error of its last commit.
	journalOpen := true
	defer func() {
		if journalOpen {
			j.Close()
		}
	}()
	if rec := j.Recovery(); rec.Repaired() || len(rec.Removed) > 0 {
		logf("journal at start: %s", rec)
	}
	audit, err := journal.Open(filepath.Join(f.data, "audit"), journal.Options{SigningKey: key, Logf: logf, CheckpointEvery: 1000})
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	defer audit.Close()
	tokens, err := openTokens(f.data, logf)
	if err != nil {
		return err
	}
	// The search index follows the journal from where its durable parts
	// end; the tracker counts sources and their clocks.
	x, closeIndex, err := openIndex(f.data, false, logf)
	if err != nil {
		return err
	}
	indexOpen := true
	defer func() {
		if indexOpen {
			closeIndex()
		}
	}()
	tracker := health.NewTracker()
	tracker.SetClockTolerance(f.clockTolerance)
	ix := indexer.New(j, x, formats.Registry(), indexer.Options{Tracker: tracker, Logf: logf})
	logf("search index in %s, from record %d", indexDir(f.data), ix.Stats().Next)
	// Live detection follows the journal from what is new.
	rs, loadErrs, _, err := hunt.LoadRules(hunt.Options{RulePaths: f.rules})
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	if len(loadErrs) > 0 {
		logf("rules: %d did not load (kizuki rules check lists them)", len(loadErrs))
	}
	alerts, err := journal.Open(filepath.Join(f.data, "alerts"), journal.Options{SigningKey: key, Logf: logf, CheckpointEvery: 1000})
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	defer alerts.Close()
	var hooks []*webhook.Sender
	for _, u := range f.webhooks {
		h, err := webhook.New(u, logf)
		if err != nil {
			return err
		}
		hooks = append(hooks, h)
	}
	model, err := analyze.LoadModel(f.config)
	if err != nil {
		return err
	}
	var static []*ioc.List
	if f.config != "" {
		l, rep, err := ioc.FromConfig(model.Config().Indicators, filepath.Dir(f.config), ioc.Limits{})
		if err != nil {
			return fmt.Errorf("indicators of %s: %w", f.config, err)
		}
		if rep.ProblemCount > 0 {
			logf("indicators of %s: %s", f.config, rep)
		}
		static = append(static, l)
	}
	indDir := f.indicators
	if indDir == "" {
		indDir = filepath.Join(f.data, "indicators")
	}
	opt := live.Options{Alerts: alerts, PositionFile: filepath.Join(f.data, "live-position"), Logf: logf,
		Location:   model.Location,
		Indicators: &live.IndicatorOptions{Dir: indDir, Static: static},
		OnAlert: func(a live.Alert) {
			for _, h := range hooks {
				h.Send(a)
			}
		}}
	if f.jpcertWindow > 0 {
		opt.JPCERT = &live.JPCERTOptions{Model: model, Window: f.jpcertWindow}
	}
	det, err := live.New(j, rs, formats.Registry(), j.Stats().NextSeq, opt)
	if err != nil {
		return err
	}
	logf("live detection: %s, from record %d", det.Describe(), det.Stats().Next)
	for _, n := range det.Notes() {
		if n.Enable != "" {
			logf("%s %s: %s (enable: %s)", n.Rule, n.Level, n.Message, n.Enable)
		} else {
			logf("%s %s: %s", n.Rule, n.Level, n.Message)
		}
	}

	// Every stored record is counted for its source (listener and host).
	events := tracker.Wrap(j)
	srv, err := listen.New(events, listen.Options{Limits: listen.Limits{MaxMessage: f.maxMessage}, Logf: logf})
	if err != nil {
		return err
	}

	// Every socket is opened before anything is served: a port in use is
	// an error at start, not a listener silently missing.
	type served struct {
		name  string
		serve func(context.Context) error
		close func() error
	}
	var all []served
	// Closed again once served, harmlessly; on an early return this is
	// what releases the ports already opened.
	defer func() {
		for _, s := range all {
			s.close()
		}
	}()
	if f.udp != "off" {
		pc, err := net.ListenPacket("udp", f.udp)
		if err != nil {
			return fmt.Errorf("syslog-udp: %w", err)
		}
		logf("syslog over UDP on %s", pc.LocalAddr())
		all = append(all, served{"syslog-udp", func(ctx context.Context) error { return srv.ServeUDP(ctx, pc) }, pc.Close})
	}
	if f.tcp != "off" {
		ln, err := net.Listen("tcp", f.tcp)
		if err != nil {
			return fmt.Errorf("syslog-tcp: %w", err)
		}
		logf("syslog over TCP on %s", ln.Addr())
		all = append(all, served{"syslog-tcp", func(ctx context.Context) error { return srv.ServeStream(ctx, ln, listen.KindTCP) }, ln.Close})
	}
	var tlsCfg *tls.Config
	getTLS := func() (*tls.Config, error) {
		if tlsCfg != nil {
			return tlsCfg, nil
		}
		cfg, err := serverTLS(f, logf)
		tlsCfg = cfg
		return cfg, err
	}
	if f.tlsAddr != "off" {
		cfg, err := getTLS()
		if err == nil {
			var ln net.Listener
			if ln, err = net.Listen("tcp", f.tlsAddr); err == nil {
				logf("syslog over TLS on %s", ln.Addr())
				tl := tls.NewListener(ln, cfg)
				all = append(all, served{"syslog-tls", func(ctx context.Context) error { return srv.ServeStream(ctx, tl, listen.KindTLS) }, tl.Close})
			}
		}
		if err != nil {
			return fmt.Errorf("syslog-tls: %w", err)
		}
	}
	if f.https != "off" {
		cfg, err := getTLS()
		var ln net.Listener
		if err == nil {
			ln, err = net.Listen("tcp", f.https)
		}
		if err != nil {
			return fmt.Errorf("https: %w", err)
		}
		logf("HTTPS API on %s (token in %s)", ln.Addr(), filepath.Join(f.data, "admin-token"))
		apiSrv := &api.Server{Tokens: tokens, Events: events, Audit: audit, Logf: logf,
			Metrics: func() []api.Metric {
				return serveMetrics(srv.Stats(), j.Stats(), tracker.Sources(f.silentAfter), det.Stats(), hooks, ix.Stats(), x.Stats())
			},
			Sources:  func() []health.Source { return tracker.Sources(f.silentAfter) },
			Detector: det,
			Formats:  formats.Registry().Names(),
			Index:    x,
		}
		hs := &http.Server{Handler: apiSrv.Handler(), TLSConfig: cfg, ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 2 * time.Minute, IdleTimeout: 5 * time.Minute, MaxHeaderBytes: 64 << 10,
			ErrorLog: stdlog.New(io.Discard, "", 0)}
		all = append(all, served{"https", func(ctx context.Context) error {
			// Requests in flight finish (up to 5 s) before the journal
			// closes: an answered request is a stored one.
			drained := make(chan struct{})
			go func() {
				defer close(drained)
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				hs.Shutdown(sctx)
			}()
			if err := hs.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			<-drained
			return nil
		}, ln.Close})
	}
	if len(all) == 0 {
		return errors.New("every listener is off: nothing to receive")
	}
	logf("journal in %s, checkpoints signed with key id %x; stop with Ctrl-C", journalDir(f.data), journal.KeyID(key.Public().(ed25519.PublicKey)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if f.keepMonths > 0 || f.hotDays > 0 {
		retain := func() {
			if f.keepMonths > 0 {
				if err := retainOnce(ctx, j, audit, time.Now().AddDate(0, -f.keepMonths, 0), logf); err != nil {
					logf("retention: %v", err)
				}
			}
			// The index drops what the journal no longer holds, and with
			// --hot-days what is older than that by the events' own time.
			var err error
			if f.hotDays > 0 {
				err = retainIndex(ctx, audit, logf, fmt.Sprintf("events before %s", time.Now().AddDate(0, 0, -f.hotDays).UTC().Format("2006-01-02")),
					func() (store.RetainReport, error) { return x.Retain(ctx, time.Now().AddDate(0, 0, -f.hotDays)) })
			}
			if first := j.Stats().FirstSeq; err == nil && first > 0 {
				err = retainIndex(ctx, audit, logf, fmt.Sprintf("records before %d, removed from the journal", first),
					func() (store.RetainReport, error) { return x.RetainSeq(ctx, uint64(first)) })
			}
			if err != nil {
				logf("index retention: %v", err)
			}
		}
		retain()
		go func() {
			t := time.NewTicker(time.Hour)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					retain()
				}
			}
		}()
	}
	for _, h := range hooks {
		go h.Run(ctx)
	}
	detDone := make(chan struct{})
	go func() {
		defer close(detDone)
		det.Run(ctx, 200*time.Millisecond)
	}()
	// New records are looked for every 100 ms: with the journal's group
	// commit and the parse, an event is searchable well within a second.
	go watchSilence(ctx, tracker, det, f.silentAfter, min(f.silentAfter/4, time.Minute), logf)
	ixDone := make(chan struct{})
	go func() {
		defer close(ixDone)
		ix.Run(ctx, 100*time.Millisecond)
	}()
	errs := make(chan error, len(all))
	for _, s := range all {
		go func() {
			err := s.serve(ctx)
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("%s: %w", s.name, err)
				cancel() // one listener failing stops the server: never half up
			} else {
				err = nil
			}
			errs <- err
		}()
	}
	var first error
	for range all {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	// Detection stops where it is (what it has not checked yet is in the
	// journal); the listeners drained what they had read into the
	// journal; closing it commits the rest and signs a last checkpoint.
	cancel()
	<-detDone
	<-ixDone
	indexOpen = false
	if err := closeIndex(); err != nil && first == nil {
		first = fmt.Errorf("index: %w", err)
	}
	journalOpen = false
	if err := j.Close(); err != nil && first == nil {
		first = fmt.Errorf("journal: %w", err)
	}
	logf("live detection: %s", det.Stats())
	st := srv.Stats()
	logf("stopped: %d messages stored (%d bytes); %d oversized, %d UDP datagrams shed, %d connections refused, %d lost",
		st.Messages, st.Bytes, st.Oversized, st.UDPShed, st.Refused, st.Lost)
	return first
}

// retainOnce removes the journal's whole segments older than before and
// records what went (files, records, the chain hash the kept records start
// from) in the audit trail; the journal's own signed retention entry lets
// kizuki verify still pass.
func retainOnce(ctx context.Context, j *journal.Journal, audit *journal.Journal, before time.Time, logf func(string, ...any)) error {
	ret, err := j.Retain(ctx, before)
	if len(ret.Removed) == 0 {
		return err
	}
	if aerr := auditRetention(ctx, audit, map[string]any{"action": "retention",
		"before": before.UTC().Format(time.RFC3339), "removed": ret.Removed, "records": ret.Records,
		"bytes": ret.Bytes, "first_kept_seq": ret.FirstSeq, "chain_hash": fmt.Sprintf("%x", ret.Entry.Hash),
	}); aerr != nil && err == nil {
		err = aerr
	}
	logf("retention: removed %d segments (%d records received before %s); records from %d kept",
		len(ret.Removed), ret.Records, before.UTC().Format("2006-01-02"), ret.FirstSeq)
	return err
}

// retainIndex runs one index retention (what says which) and records what
// it removed in the audit trail.
func retainIndex(ctx context.Context, audit *journal.Journal, logf func(string, ...any), what string, retain func() (store.RetainReport, error)) error {
	rep, err := retain()
	if len(rep.Parts) == 0 {
		return err
	}
	if aerr := auditRetention(ctx, audit, map[string]any{"action": "index-retention", "what": what,
		"parts": rep.Parts, "events": rep.Events, "bytes": rep.DiskBytes, "first_seq": rep.FirstSeq, "last_seq": rep.LastSeq,
	}); aerr != nil && err == nil {
		err = aerr
	}
	logf("index retention: removed %d parts (%d events: %s)", len(rep.Parts), rep.Events, what)
	return err
}

// auditRetention records in the audit trail what a retention removed (rec,
// stamped with the time here). What is gone is recorded even if the server
// is stopping meanwhile.
func auditRetention(ctx context.Context, audit *journal.Journal, rec map[string]any) error {
	rec["time"] = time.Now().UTC().Format(event.TimeFormat)
	b, _ := json.Marshal(rec)
	if _, err := audit.Append(context.WithoutCancel(ctx), []journal.Record{{Origin: "retention", Source: "kizuki-audit", Raw: b}}); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	return nil
}

// serveMetrics are the values /metrics exposes.
func serveMetrics(ls listen.Stats, js journal.Stats, sources []health.Source, ds live.Stats, hooks []*webhook.Sender, is indexer.Stats, xs store.Stats) []api.Metric {
	var ws webhook.Stats
	for _, h := range hooks {
		st := h.Stats()
		ws.Sent, ws.Failed, ws.Dropped = ws.Sent+st.Sent, ws.Failed+st.Failed, ws.Dropped+st.Dropped
	}
	silent, skewed := 0, 0
	for _, s := range sources {
		if s.Silent {
			silent++
		}
		if s.ClockSkewed {
			skewed++
		}
	}
	c := func(name, help string, v uint64) api.Metric {
		return api.Metric{Name: "kizuki_" + name, Help: help, Counter: true, Value: float64(v)}
	}
	g := func(name, help string, v float64) api.Metric {
		return api.Metric{Name: "kizuki_" + name, Help: help, Value: v}
	}
	return []api.Metric{
		c("syslog_messages_total", "Syslog messages stored in the journal.", ls.Messages),
		c("syslog_bytes_total", "Bytes of syslog messages stored.", ls.Bytes),
		c("syslog_oversized_total", "Syslog messages over the size limit, skipped.", ls.Oversized),
		c("syslog_truncated_total", "Syslog messages cut off by the end of their connection.", ls.Truncated),
		c("syslog_udp_shed_total", "UDP datagrams dropped because the journal was behind.", ls.UDPShed),
		c("syslog_connections_refused_total", "Connections refused over the connection limit.", ls.Refused),
		c("syslog_tls_handshake_failed_total", "TLS handshakes that failed.", ls.HandshakeFailed),
		c("syslog_sink_errors_total", "Failed journal appends from the listeners (each retry counts).", ls.SinkErrors),
		c("syslog_lost_total", "Messages read but never stored (the journal failed until shutdown).", ls.Lost),
		g("syslog_connections_active", "Open syslog stream connections.", float64(ls.Active)),
		g("journal_next_seq", "Sequence number the next journal record gets.", float64(js.NextSeq)),
		g("journal_segments", "Journal segment files.", float64(js.Segments)),
		c("journal_commits_total", "Group commits (write and fsync) since start.", js.Commits),
		g("journal_last_checkpoint_seq", "Records covered by the last signed checkpoint.", float64(js.LastCheckpoint.Seq)),
		g("sources", "Sources (listener and host) heard from since the start.", float64(len(sources))),
		g("sources_silent", "Sources not heard from for longer than --silent-after.", float64(silent)),
		g("sources_clock_skewed", "Sources whose event times are off their arrival times by more than the tolerance.", float64(skewed)),
		c("index_records_total", "Records indexed since start.", is.Indexed),
		c("index_unparsed_total", "Records indexed as text only (no known format).", is.Unparsed),
		g("index_lag_seconds", "Arrival to searchable delay of the newest indexed record.", is.Lag.Seconds()),
		g("index_lag_p99_seconds", "99th percentile of the arrival to searchable delay, over every record indexed since start.", is.LagP99.Seconds()),
		g("index_events", "Events in the index.", float64(xs.Events)),
		g("index_parts", "Parts of the index.", float64(xs.Parts)),
		g("index_disk_bytes", "Bytes of the index on disk.", float64(xs.DiskBytes)),
		c("detection_checked_total", "Stored records live detection looked at.", ds.Checked),
		c("detection_unparsed_total", "Stored records of no known format (kept, not checked).", ds.Unparsed),
		c("alerts_total", "Alerts raised by live detection.", ds.Alerts),
		c("alerts_sigma_total", "Alerts raised by Sigma rules.", ds.SigmaAlerts),
		c("alerts_jpcert_total", "Alerts raised by the JPCERT/CC analyses.", ds.JPCERTAlerts),
		c("alerts_ioc_total", "Alerts raised by indicator lists, live and retro-hunted.", ds.IOCAlerts),
		c("alerts_health_total", "Alerts about the collection itself (a source gone silent).", ds.HealthAlerts),
		g("indicators", "Distinct indicators matched.", float64(ds.Indicators.Indicators)),
		g("indicator_lists_failing", "Indicator lists whose last version could not be read.", float64(ds.Indicators.Errors)),
		c("retro_hunt_records_total", "Stored records read again by retro-hunts.", ds.Retro.Checked),
		g("retro_hunt_jobs", "Retro-hunts waiting or running.", float64(ds.Retro.Jobs)),
		g("detection_lag_seconds", "How long ago the newest checked record was received.", ds.LagSeconds),
		c("webhook_sent_total", "Alerts delivered to webhooks.", ws.Sent),
		c("webhook_failed_total", "Alerts a webhook refused or did not answer, after retries.", ws.Failed),
		c("webhook_dropped_total", "Alerts not sent because a webhook's queue was full.", ws.Dropped),
	}
}

// openTokens opens DATA/tokens.json; on the first start it makes the
// admin token and writes it to DATA/admin-token, readable by the owner only
// (it is not printed: terminals and service logs keep what they show).
func openTokens(data string, logf func(string, ...any)) (*auth.Store, error) {
	tokens, err := auth.Open(filepath.Join(data, "tokens.json"))
	if err != nil {
		return nil, err
	}
	if tokens.Len() > 0 {
		return tokens, nil
	}
	secret, err := tokens.Create("admin", auth.Admin)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(data, "admin-token")
	if err := auth.WriteSecretFile(path, []byte(secret+"\n")); err != nil {
		return nil, err
	}
	logf("made the admin API token: %s (mode 0600); kizuki token create --role analyst|viewer NAME makes others", path)
	return tokens, nil
}

// serverTLS returns the TLS listener's configuration: the operator's
// certificate, or one made in DATA/tls whose fingerprints are printed when
// new (senders must trust the CA, or pin the certificate).
func serverTLS(f serveFlags, logf func(string, ...any)) (*tls.Config, error) {
	opt := certs.Options{ClientCAFile: f.tlsClientCA, AllowLegacyTLS12: f.allowTLS12}
	if f.tlsCert != "" || f.tlsKey != "" {
		if f.tlsCert == "" || f.tlsKey == "" {
			return nil, errors.New("--tls-cert and --tls-key go together")
		}
		b, err := certs.Load(f.tlsCert, f.tlsKey, opt)
		if err != nil {
			return nil, err
		}
		logf("TLS certificate %s, SHA-256 fingerprint %s", b.CertFile, b.Fingerprint)
		return b.Config, nil
	}
	b, err := certs.Ensure(f.data, opt)
	if err != nil {
		return nil, err
	}
	if len(b.Generated) > 0 {
		logf("made %s in %s", strings.Join(b.Generated, " and "), filepath.Dir(b.CertFile))
	}
	logf("TLS: senders trust the CA %s (SHA-256 %s); server certificate SHA-256 %s", b.CAFile, b.CAFingerprint, b.Fingerprint)
	return b.Config, nil
}
