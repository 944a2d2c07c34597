package jpcert

import (
	"context"
	"hash/maphash"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J8 parameters.
const (
	j8Buckets     = 24          // log2 buckets of interval seconds: [1,2), [2,4) ... [2^23, ∞)
	j8KeepDays    = 9           // first record of each of the first 9 active days is kept as evidence
	j8MaxDays     = 4096        // day entries per pair (more than 11 years)
	j8MaxDomains  = 1_000_000   // distinct destination hosts tracked
	j8HighScore   = 0.8         // days rule + this regularity = high ...
	j8HighIntvl   = 3           // ... measured over at least 3 intervals (4 accesses)
	j8CVScale     = 0.5         // a coefficient of variation of 0.5 or more counts as irregular
	j8BeaconScore = 0.9         // beacon-only finding (fewer days) needs this score ...
	j8BeaconIntvl = 19          // ... and this many measured intervals (20 connections)
	j8MinInterval = time.Second // shorter gaps (page assets, retries) are not intervals
	j8ShowDays    = 14          // daily counts listed in the summary
)

func j8Info() *detect.Info {
	return &detect.Info{
		ID:           "J8",
		Title:        "Periodic communication",
		TitleJA:      "定期的に発生する HTTP 通信を抽出するログ分析",
		Requirements: []string{"J8"},
		Section:      "4.2.3.4",
		Categories:   []string{detect.Proxy},
		Stages:       []alert.Stage{alert.CommandAndControl, alert.ActionsOnObjectives},
		Techniques:   []string{"B", "D", "H"},
		Attack:       []string{"T1071.001", "T1029", "T1102"},
		NextSteps: alert.Text{
			EN: []string{
				"The attack may have reached the Command & Control or Actions-on-objectives stage: check whether this PC keeps communicating with the destination and whether other PCs communicate with it (JPCERT §4.2.3.4 (c)).",
				"Investigate the destination, e.g. its WHOIS registration, to learn what kind of site it is; if the access cannot be explained by legitimate use, treat it as a trace of an attack (step ⑤).",
				"Look at the URLs, methods and response sizes of the periodic requests (small POSTs to the same path every day are typical of C&C polling), and find the program on the PC that makes them.",
				"If the destination is legitimate and used every day (search, SaaS, update sites), add it to allowlists.domains so that it is excluded next time (step ③).",
			},
			JA: []string{
				"高度サイバー攻撃の「C&C」または「目的の実行」の段階にあることが疑われる。当該 PC から問題の送信先に継続して通信してないか、他の PC から問題の送信先へ通信をしていないかなどを確認する必要がある。",
				"送信先についても、WHOIS の登録情報などにより、どのような素性のサイトかを調査しておくのがよい。アクセスの妥当性が説明できないドメインであれば攻撃の痕跡と判定する（手順⑤）。",
				"定期的なリクエストの URL、メソッド、応答サイズを確認し（毎日同じパスへの小さな POST は C&C のポーリングに典型的）、当該 PC 上で通信しているプログラムを特定する。",
				"正規の利用で定常的にアクセスするドメイン（検索サイト等）であれば allowlists.domains に登録し、次回から除外する（手順③）。",
			},
		},
		Caveats: alert.Text{
			EN: []string{
				"If PCs can reach the Internet without going through the web proxy, such communication is missed.",
				"When an ordinary blog site or similar is used as the C&C server, counting per URL rather than per domain is needed; this analysis counts per domain.",
				"Malware that uses several C&C servers or communicates irregularly as camouflage cannot be detected.",
				"A site a person visits every day is reported too (the document's method flags any domain accessed daily); the regularity score tells machine-like timing from human browsing.",
			},
			JA: []string{
				"インターネットへの通信が、Web プロキシサーバを経由せずとも可能な場合には、検知漏れが生ずる可能性がある。",
				"C&C サーバとして、一般的なブログサイト等が用いられた場合には、ドメインごとでなく、URL ごとに集計するなど分析で工夫する必要がある（本分析はドメインごとに集計する）。",
				"複数の C&C サーバを使用する、あるいは C&C サーバとの通信を不定期に行うなどのカモフラージュを行っているマルウェアは検知できない。",
				"利用者が毎日閲覧するサイトも抽出される。規則性スコアにより機械的な通信と人の閲覧を見分ける。",
			},
		},
	}
}

// NewJ8 returns the periodic-communication analysis (JPCERT §4.2.3.4).
//
// Per (client, destination host), excluding allowlists.domains and
// allowlists.maintenance_domains, it counts accesses per local calendar day
// and scores the regularity of the gaps between accesses (beaconing).
func NewJ8(m *org.Model) detect.Detector {
	return &j8{m: m, info: j8Info(), seed: maphash.MakeSeed(), clients: map[string]struct{}{}}
}

type j8 struct {
	m    *org.Model
	info *detect.Info

	seed maphash.Seed // of the client and host hashes
	// Destination hosts seen (as pairs with no client); only the first
	// record of a pair consults them: a pair exists only for a host that
	// is not skipped.
	hosts wpPairs[j8Host]
	pairs wpPairs[j8Pair]
	dc    wpDayCache
	src   wpSrcs

	observed, outOfOrder, short     int64
	droppedPairs, droppedDomains    int64
	skippedAllowed, skippedInternal int64

	work map[int32]bool // working-day cache, filled at Flush

	// Distinct clients with at least one pair, for the popularity
	// threshold; and what Flush folded as popular, for the note.
	clients       map[string]struct{}
	popular       []j8Popular
	popularPairs  int
	popularCutoff int

	// The pipeline of records not processed yet (see Observe): a ring of
	// lagN records starting at lagHead.
	lag     [j8Lag]j8Rec
	lagHead int
	lagN    int

	// The last few skipped hosts (allowlisted, maintenance): their records
	// are counted and dropped at once, without waiting in the pipeline.
	skips    [4]j8Skip
	skipNext int
}

// j8Popular is a destination whose daily-only findings were folded.
type j8Popular struct {
	host    string
	clients int32
}

type j8Skip struct {
	hh   uint64
	host string
}

// j8Lag is the depth of the pipeline: a record is processed j8Lag records
// after it arrived.
const j8Lag = 8

// j8Rec is a record in the pipeline: what the analysis needs of it. The
// strings are the event's own (immutable) ones.
type j8Rec struct {
	h, hh        uint64 // pair and host hashes
	client, host string
	rec          wpRec
}

// j8Host is what J8 knows of a destination host.
type j8Host struct {
	skip    bool   // allowlisted or maintenance domain
	name    string // when skip
	clients int32  // distinct internal clients (one pair each)
}

type j8Day struct {
	day   int32
	count int32
}

// j8Pair is the state of one (client, host). The fields every record
// updates come first, so that a record touches few cache lines.
type j8Pair struct {
	last time.Time
	days []j8Day // sorted by day; starts in day0
	day0 [2]j8Day

	keep wpKeep // first record of each active day + the latest

	// All measured intervals (seconds): Welford mean and M2.
	n        int64
	mean, m2 float64
	// Intervals within one log2 bucket of the running modal bucket: the
	// regular period, robust to the long gaps of nights and weekends.
	ni         int64
	imean, im2 float64
	mode       uint8
	moreDays   bool
	hist       [j8Buckets]uint32

	first0 [1]wpRec // room for the first evidence record
}

func (d *j8) Info() *detect.Info { return d.info }

// Observe queues the record and processes the one that arrived j8Lag
// records earlier. With hundreds of thousands of pairs, finding a record's
// pair costs two cache misses (its index slot, then the pair); processing
// in arrival order but late lets the CPU fetch both in the background: the
// slot when the record arrives, the pair halfway through the pipeline.
// Nothing is decided from the pipeline's contents, so findings and notes
// are exactly those of immediate processing; Flush and Notes drain it.
// Records of a host already known to be skipped are counted at once.
func (d *j8) Observe(ev *event.Event) {
	host, ext := wpDest(d.m, ev)
	if !ext {
		if host != "" {
			d.skippedInternal++
		}
		return
	}
	client := ev.Get(event.SrcIP)
	if client == "" {
		return
	}
	hh := maphash.String(d.seed, host)
	for i := range d.skips {
		if d.skips[i].hh == hh && d.skips[i].host == host {
			d.skippedAllowed++ // as observe would count it
			return
		}
	}
	h := wpMix(maphash.String(d.seed, client), hh)
	prefetch2(d.pairs.slotAddr(h), d.hosts.slotAddr(hh))
	var r *j8Rec
	if d.lagN < j8Lag {
		r = &d.lag[(d.lagHead+d.lagN)%j8Lag]
		d.lagN++
	} else {
		mid := &d.lag[(d.lagHead+j8Lag/2)%j8Lag]
		if a, ok := d.pairs.pairAddr(mid.h); ok {
			prefetch2(a, a+128)
		} else if a, ok := d.hosts.pairAddr(mid.hh); ok {
			prefetch2(a, a+64) // a new pair: its host will be looked up
		}
		r = &d.lag[d.lagHead]
		d.observe(r)
		d.lagHead = (d.lagHead + 1) % j8Lag
	}
	// Field by field: a composite literal would be built aside and copied.
	r.h, r.hh, r.client, r.host = h, hh, client, host
	d.src.recInto(&r.rec, ev)
}

// drain processes the records still in the pipeline, in order.
func (d *j8) drain() {
	for ; d.lagN > 0; d.lagN-- {
		d.observe(&d.lag[d.lagHead])
		d.lag[d.lagHead] = j8Rec{}
		d.lagHead = (d.lagHead + 1) % j8Lag
	}
}

// observe processes one record.
func (d *j8) observe(r *j8Rec) {
	client, host, h, t := r.client, r.host, r.h, r.rec.t
	p := d.pairs.get(h, client, host)
	if p == nil {
		hm := d.hosts.get(r.hh, "", host)
		if hm == nil {
			if d.hosts.len() >= j8MaxDomains {
				d.droppedDomains++
				return
			}
			_, allow := d.m.AllowDomains.Match(host)
			_, maint := d.m.MaintenanceDomains.Match(host)
			hm = d.hosts.add(r.hh, "", host)
			if hm.skip = allow || maint; hm.skip {
				hm.name = strings.Clone(host)
			}
		}
		if hm.skip {
			d.skippedAllowed++
			// Later records of this host need not wait in the pipeline.
			d.skips[d.skipNext] = j8Skip{r.hh, hm.name}
			d.skipNext = (d.skipNext + 1) % len(d.skips)
			return
		}
		if d.pairs.len() >= detect.MaxGroups {
			d.droppedPairs++
			return
		}
		hm.clients++
		if _, ok := d.clients[client]; !ok {
			d.clients[strings.Clone(client)] = struct{}{}
		}
		p = d.pairs.add(h, client, host)
		p.days = p.day0[:0:len(p.day0)]
		p.keep.first = p.first0[:0:len(p.first0)]
		p.last = t
	} else if t.Before(p.last) {
		d.outOfOrder++
	} else {
		if dt := t.Sub(p.last); dt < j8MinInterval {
			d.short++
		} else {
			p.interval(dt.Seconds())
		}
		p.last = t
	}
	d.observed++
	newDay := p.addDay(d.dc.of(t, d.m.Location))
	p.keep.note(r.rec, newDay, j8KeepDays)
}

// addDay counts one access on day and reports whether it is the pair's first
// access that day.
func (p *j8Pair) addDay(day int32) bool {
	n := len(p.days)
	if n > 0 && p.days[n-1].day == day {
		p.days[n-1].count++
		return false
	}
	if n == 0 || p.days[n-1].day < day {
		if n >= j8MaxDays {
			p.moreDays = true
			return false
		}
		if p.days == nil {
			p.days = make([]j8Day, 0, 4)
		}
		p.days = append(p.days, j8Day{day, 1})
		return true
	}
	// Out of order: binary search.
	lo, hi := 0, n
	for lo < hi {
		mid := (lo + hi) / 2
		if p.days[mid].day < day {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if p.days[lo].day == day {
		p.days[lo].count++
		return false
	}
	if n >= j8MaxDays {
		p.moreDays = true
		return false
	}
	p.days = append(p.days, j8Day{})
	copy(p.days[lo+1:], p.days[lo:])
	p.days[lo] = j8Day{day, 1}
	return true
}

// interval records one gap of s seconds (s >= 1).
func (p *j8Pair) interval(s float64) {
	b := bits.Len64(uint64(s)) - 1
	if b >= j8Buckets {
		b = j8Buckets - 1
	}
	if p.hist[b] < math.MaxUint32 {
		p.hist[b]++
	}
	if p.hist[b] > p.hist[p.mode] {
		p.mode = uint8(b)
	}
	p.n++
	delta := s - p.mean
	p.mean += delta / float64(p.n)
	p.m2 += delta * (s - p.mean)
	if diff := b - int(p.mode); diff >= -1 && diff <= 1 {
		p.ni++
		delta := s - p.imean
		p.imean += delta / float64(p.ni)
		p.im2 += delta * (s - p.imean)
	}
}

// j8Score is the regularity of a pair's intervals, 0..1:
//
//	score = 0.5 × (1 − min(CV / 0.5, 1)) + 0.5 × modal share
//
// where CV is the coefficient of variation (population standard deviation /
// mean) of the intervals that fall within one log2 bucket of the modal
// bucket, and modal share is the largest fraction of all intervals in two
// adjacent log2 buckets. Beacons with the usual jitter (up to ±10–30%) have
// a CV under 0.2; random (Poisson-like) arrivals have a CV near 1. A perfect beacon scores 1; human browsing, whose
// gaps spread over seconds to hours, scores low. period is the mean of the
// regular intervals. ok is false with fewer than 2 intervals.
func (p *j8Pair) score() (score, period float64, ok bool) {
	if p.n < 2 {
		return 0, p.mean, false
	}
	var best uint64
	for i := 0; i < j8Buckets-1; i++ {
		if s := uint64(p.hist[i]) + uint64(p.hist[i+1]); s > best {
			best = s
		}
	}
	modal := float64(best) / float64(p.n)
	if modal > 1 {
		modal = 1
	}
	cv := 1.0
	if p.ni >= 2 && p.imean > 0 {
		cv = math.Sqrt(p.im2/float64(p.ni)) / p.imean / j8CVScale
	}
	if cv > 1 {
		cv = 1
	}
	period = p.imean
	if p.ni == 0 {
		period = p.mean
	}
	return 0.5*(1-cv) + 0.5*modal, period, true
}

// workingDay reports whether local day d has any business minute (weekday
// in business_hours.days and not a holiday), using m.OffHours.
func (d *j8) workingDay(day int32) bool {
	if w, ok := d.work[day]; ok {
		return w
	}
	w := false
	for h := 0; h < 24 && !w; h++ {
		w = !d.m.OffHours(wpDayTime(day, d.m.Location, h, 30))
	}
	d.work[day] = w
	return w
}

// run returns the longest chain of active days in which consecutive active
// days are separated by at most one missing working day (weekends and
// holidays do not break a chain).
func (d *j8) run(days []j8Day) int {
	if len(days) == 0 {
		return 0
	}
	best, cur := 1, 1
	for i := 1; i < len(days); i++ {
		missing := 0
		for x := days[i-1].day + 1; x < days[i].day && missing <= 1; x++ {
			if d.workingDay(x) {
				missing++
			}
		}
		if missing <= 1 {
			cur++
		} else {
			cur = 1
		}
		if cur > best {
			best = cur
		}
	}
	return best
}

func (d *j8) Flush(ctx context.Context, emit func(*alert.Alert)) {
	d.drain()
	d.work = map[int32]bool{}
	minDays := d.m.PeriodicMinDays
	// Cheap reject before sorting: too few days and too few intervals.
	cand := d.pairs.sorted(true, func(p *j8Pair) bool { return len(p.days) >= minDays || p.n >= j8BeaconIntvl })
	cutoff := d.popularThreshold()
	d.popularCutoff = cutoff
	var lastHost string
	for i, pr := range cand {
		if (i == 0 || pr.host != lastHost) && ctx.Err() != nil {
			return
		}
		lastHost = pr.host
		p := &pr.v
		run := d.run(p.days)
		score, period, scored := p.score()
		daysOK := run >= minDays
		beacon := scored && p.n >= j8BeaconIntvl && score >= j8BeaconScore
		if !daysOK && !beacon {
			continue
		}
		sev := alert.Medium
		if daysOK && scored && p.n >= j8HighIntvl && score >= j8HighScore {
			sev = alert.High
		}
		// A destination that many PCs use every day is a regular site
		// (JPCERT step ③ excludes those by a list): its daily-only,
		// irregular findings are folded into one note. Beacon-like ones
		// are still reported: malware on many PCs polls the same C&C.
		if sev == alert.Medium && !beacon && cutoff > 0 {
			if hm := d.hosts.get(maphash.String(d.seed, pr.host), "", pr.host); hm != nil && int(hm.clients) >= cutoff {
				d.popularPairs++
				if n := len(d.popular); n == 0 || d.popular[n-1].host != pr.host {
					d.popular = append(d.popular, j8Popular{strings.Clone(pr.host), hm.clients})
				}
				continue
			}
		}
		// Clone: the pair's strings live in the detector's arena.
		emit(d.alert(strings.Clone(pr.client), strings.Clone(pr.host), p, run, score, period, scored, daysOK, sev))
	}
}

// popularThreshold is the number of distinct clients from which a
// destination counts as popular: the configured one, or 10 (at least 10%
// of the clients seen); 0 when folding is off or too few clients were seen
// for popularity to mean anything.
func (d *j8) popularThreshold() int {
	switch n := d.m.PopularClients; {
	case n < 0:
		return 0
	case n > 0:
		return n
	}
	if len(d.clients) < 20 {
		return 0
	}
	return max(10, len(d.clients)/10)
}

func (d *j8) alert(client, host string, p *j8Pair, run int, score, period float64, scored, daysOK bool, sev alert.Severity) *alert.Alert {
	counts := j8Counts(p.days)
	scoreS := wpFloat(score, 2)
	periodS := wpFloat(math.Round(period), 0)
	var b strings.Builder
	b.WriteString(client)
	b.WriteString(" contacted ")
	b.WriteString(host)
	if daysOK {
		b.WriteString(" on ")
		b.WriteString(strconv.Itoa(len(p.days)))
		b.WriteString(" days (daily counts ")
		b.WriteString(counts)
		b.WriteString(")")
		if run != len(p.days) {
			b.WriteString(", ")
			b.WriteString(strconv.Itoa(run))
			b.WriteString(" of them in a row")
		}
		switch {
		case !scored:
			b.WriteString(", interval not scored (fewer than 2 in-order gaps)")
		case score >= j8HighScore:
			b.WriteString(", regular interval ~")
			b.WriteString(periodS)
			b.WriteString(" s (score ")
			b.WriteString(scoreS)
			if p.n < j8HighIntvl {
				b.WriteString(", only ")
				b.WriteString(wpItoa(p.n))
				b.WriteString(" intervals")
			}
			b.WriteString(")")
		case score >= 0.5:
			b.WriteString(", somewhat regular intervals, typically ~")
			b.WriteString(periodS)
			b.WriteString(" s (score ")
			b.WriteString(scoreS)
			b.WriteString(")")
		default:
			b.WriteString(", irregular intervals (score ")
			b.WriteString(scoreS)
			b.WriteString(")")
		}
	} else {
		b.WriteString(" ")
		b.WriteString(wpItoa(p.keep.n))
		b.WriteString(" times on ")
		b.WriteString(strconv.Itoa(len(p.days)))
		if len(p.days) == 1 {
			b.WriteString(" day")
		} else {
			b.WriteString(" days")
		}
		b.WriteString(" at a regular interval ~")
		b.WriteString(periodS)
		b.WriteString(" s (score ")
		b.WriteString(scoreS)
		b.WriteString(", beacon-like)")
	}
	a := d.info.NewAlert(client, sev, b.String())
	p.keep.addTo(a)
	a.Count, a.EvidenceTotal = p.keep.n, p.keep.n
	a.Fields["domain"] = host
	a.Fields["days"] = strconv.Itoa(len(p.days))
	a.Fields["run_days"] = strconv.Itoa(run)
	a.Fields["daily_counts"] = counts
	a.Fields["requests"] = wpItoa(p.keep.n)
	a.Fields["intervals"] = wpItoa(p.n)
	if scored {
		a.Fields["interval_s"] = periodS
		a.Fields["score"] = scoreS
	}
	if len(p.days) > 0 {
		a.Fields["first_day"] = wpDayString(p.days[0].day)
		a.Fields["last_day"] = wpDayString(p.days[len(p.days)-1].day)
	}
	a.FinalizeID(client + "\x00" + host)
	return a
}

// j8Counts lists the per-day access counts ("1,1,1,1"), at most j8ShowDays.
func j8Counts(days []j8Day) string {
	var b strings.Builder
	for i, dd := range days {
		if i == j8ShowDays {
			b.WriteString(",… (+")
			b.WriteString(strconv.Itoa(len(days) - j8ShowDays))
			b.WriteString(" days)")
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(dd.count)))
	}
	return b.String()
}

func (d *j8) Notes() []detect.Note {
	d.drain()
	var out []detect.Note
	if d.m.AllowDomains.Len() == 0 {
		out = append(out, detect.Note{Rule: "J8", Level: detect.Degraded,
			Message: "allowlists.domains is empty: sites legitimately accessed every day (search engines, SaaS, CDNs; JPCERT step ③) are not excluded and will be reported",
			Enable:  "allowlists.domains"})
	}
	if d.droppedPairs > 0 || d.droppedDomains > 0 {
		out = append(out, detect.Note{Rule: "J8", Level: detect.Degraded,
			Message: wpItoa(d.droppedPairs+d.droppedDomains) + " records beyond the first " + strconv.Itoa(detect.MaxGroups) +
				" (client, domain) pairs or " + strconv.Itoa(j8MaxDomains) + " domains were not analysed"})
	}
	if d.popularPairs > 0 {
		sort.Slice(d.popular, func(i, j int) bool {
			if d.popular[i].clients != d.popular[j].clients {
				return d.popular[i].clients > d.popular[j].clients
			}
			return d.popular[i].host < d.popular[j].host
		})
		var b strings.Builder
		for i, p := range d.popular[:min(5, len(d.popular))] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(p.host)
			b.WriteString(" (")
			b.WriteString(strconv.Itoa(int(p.clients)))
			b.WriteString(" PCs)")
		}
		out = append(out, detect.Note{Rule: "J8", Level: detect.Folded,
			Message: wpItoa(int64(d.popularPairs)) + " daily, irregular (client, destination) findings on " + strconv.Itoa(len(d.popular)) +
				plural(len(d.popular), " destination", " destinations") + " used by " + strconv.Itoa(d.popularCutoff) + " or more PCs were folded as popular sites: " + b.String() +
				"; check them and add them to allowlists.domains, or set thresholds.periodic_popular_clients: -1 to list them per PC",
			Enable: "allowlists.domains"})
	}
	if d.outOfOrder > 0 && d.outOfOrder*100 > d.observed {
		out = append(out, detect.Note{Rule: "J8", Level: detect.Degraded,
			Message: wpItoa(d.outOfOrder) + " of " + wpItoa(d.observed) + " records arrived out of time order: their gaps were not used for interval scoring (daily counts are exact); feed the logs in time order"})
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
