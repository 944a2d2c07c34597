package jpcert

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J10 parameters.
const (
	// j10Gap ends a POST+CONNECT sequence when the next request of the pair
	// comes later than this after the previous one.
	j10Gap = 10 * time.Minute
	// j10Keep evidence records are kept per sequence and per day, plus the
	// latest one.
	j10Keep = 4
)

func j10Info() *detect.Info {
	return &detect.Info{
		ID:           "J10",
		Title:        "Large uploads",
		TitleJA:      "大量の HTTP 通信を抽出するログ分析",
		Requirements: []string{"J10"},
		Section:      "4.2.3.6",
		Categories:   []string{detect.Proxy},
		Stages:       []alert.Stage{alert.CommandAndControl, alert.ActionsOnObjectives},
		Techniques:   []string{"B", "D", "H"},
		Attack:       []string{"T1041", "T1567", "T1071.001"},
		NextSteps: alert.Text{
			EN: []string{
				"The attack may have progressed to the Command & Control or Actions-on-objectives stage: check whether this PC keeps communicating with the destination and whether other PCs communicate with it (JPCERT §4.2.3.6 (c)).",
				"Investigate the destination, e.g. its WHOIS registration, to learn what kind of site it is (online storage, free mail, unknown host).",
				"To rule out the user, interview the user of the PC with the logged destination and transfer times before concluding that it is an attack.",
				"If exfiltration of confidential information is suspected, assume the attack may already be at its final stage; check what data the PC could reach (file servers, AD logs) around that time.",
			},
			JA: []string{
				"高度サイバー攻撃の「C&C」または「目的の実行」の段階まで進んでいることが疑われる。当該 PC から問題の送信先に継続して通信していないか、他の PC から問題の送信先に通信をしていないかなどを確認する必要がある。",
				"送信先についても、WHOIS の登録情報などにより、どのような属性のサイトかを調査しておくのがよい。",
				"マルウェアでなく利用者による通信の可能性を排除するため、抽出された通信を攻撃の痕跡と断定する前に、該当 PC のユーザに、ログに記録された送信先、送信時間をもとにヒアリング等が必要である。",
				"機密情報の持出しが疑われる場合は、すでに高度サイバー攻撃が最終段階に至っていることも想定し、その時間帯に当該 PC がアクセスできたデータ（ファイルサーバ、AD のログ）を確認する。",
			},
		},
		Caveats: alert.Text{
			EN: []string{
				"If PCs can reach the Internet without going through the web proxy, such communication is missed.",
				"The transfer volume must be recorded in the log; Squid cannot record the upload volume (some commercial products and appliances can). Without it the logged (download) byte counts are summed instead.",
				"An upload inside an HTTPS tunnel shows only as CONNECT: unless the log records request bytes, it is not measured.",
				"Uploads split into many small sequences or spread over several destinations stay under the threshold (thresholds.upload_bytes).",
			},
			JA: []string{
				"インターネットへの通信が、Web プロキシサーバを経由せずとも可能な場合には、検知漏れが生ずる可能性がある。",
				"この方法を適用するには、通信量がログに記録されていなければならないが、Squid はそのような機能をもっていない（商用製品やアプライアンス製品等にはこの機能を持つものがある）。記録がない場合は、ログにあるバイト数（ダウンロード量）を代わりに合計する。",
				"HTTPS のトンネル内のアップロードは CONNECT としてしか記録されず、リクエストのバイト数がログにない限り計測できない。",
				"小さなシーケンスに分割されたり、複数の送信先に分散されたりしたアップロードは閾値（thresholds.upload_bytes）を下回る。",
			},
		},
	}
}

// NewJ10 returns the large-upload analysis (JPCERT §4.2.3.6).
//
// Per (client, destination host) it extracts sequences that start with a
// POST (or PUT) and continue with CONNECT requests to the same host, ended
// by another method to that host, a new POST/PUT, or a gap over 10 minutes;
// it sums their bytes (BytesOut when logged, otherwise the logged BytesIn)
// and reports a sequence above thresholds.upload_bytes (high). A pair whose
// upload bytes in one local calendar day exceed the threshold without any
// single sequence doing so is reported as medium.
func NewJ10(m *org.Model) detect.Detector {
	return &j10{m: m, info: j10Info(), pairs: newWPPairs[j10Pair]()}
}

type j10 struct {
	m    *org.Model
	info *detect.Info

	pairs wpPairs[j10Pair]
	seen  wpSeen // hashes of the pairs, so most records skip the lookup
	dc    wpDayCache
	src   wpSrcs

	// The pipeline of records not processed yet (see Observe): a ring of
	// lagN records starting at lagHead.
	lag     [j10Lag]j10Rec
	lagHead int
	lagN    int

	measured, fallback, droppedPairs int64
}

// j10Lag is the depth of the pipeline.
const j10Lag = 8

// j10Rec is a queued record: what the analysis needs of it.
type j10Rec struct {
	kind         uint8 // 0 other, 1 POST/PUT, 2 CONNECT
	measured     bool  // b is BytesOut (else BytesIn, the fallback)
	b            int64
	h            uint64 // pair hash
	client, host string
	rec          wpRec // kinds 1 and 2
}

// j10Pair is the state of one (client, destination). The fields every
// record reads come first, so that a record touches few cache lines.
type j10Pair struct {
	open, haveDay, dayOpen bool
	seqFallback            bool
	dayFallback            bool
	day                    int32 // the current local day
	last                   time.Time
	bytes                  int64

	// The open sequence.
	posts, connects int64
	start           time.Time
	keep            wpKeep

	// The current local day's upload total.
	dayBytes, dayReqs int64
	dayStart, dayLast time.Time
	dayKeep           wpKeep

	overDays           int64
	maxDayBytes        int64
	maxDayReqs         int64
	maxDay             int32
	maxDayStart        time.Time
	maxDayLast         time.Time
	maxDayFallback     bool
	overSeqs           int64
	overBytes          int64
	overReqs           int64
	maxSeq             int64
	maxPosts, maxConns int64
	maxStart, maxLast  time.Time
	maxFallback        bool

	a *alert.Alert // created when a sequence or a day goes over
}

func (d *j10) Info() *detect.Info { return d.info }

// Observe dismisses the records that cannot matter (most of them: see
// wpSeen), queues the others and processes the one queued j10Lag records
// earlier, as J8 does: the pair's index slot and then the pair itself are
// fetched into the cache while the record waits. The filter is updated when
// a record that may create a pair is queued, so a later record of that pair
// is never dismissed. Flush and Notes drain the pipeline.
func (d *j10) Observe(ev *event.Event) {
	var kind uint8 // 0 other, 1 POST/PUT, 2 CONNECT
	switch ev.Get(event.Method) {
	case "POST", "PUT":
		kind = 1
	case "CONNECT":
		kind = 2
	}
	client := ev.Get(event.SrcIP)
	if client == "" {
		return
	}
	host := ev.Get(event.Domain)
	if host == "" {
		if host = ev.Get(event.DstIP); host == "" {
			return
		}
	}
	var (
		h        uint64
		bytes    int64
		measured bool
	)
	if kind == 0 {
		// Another method to the destination ends its sequence.
		if d.seen.bits == nil {
			return
		}
		if h = d.pairs.hash(client, host); !d.seen.has(h) {
			return
		}
	} else {
		if !wpExternalHost(d.m, host) {
			return
		}
		h = d.pairs.hash(client, host)
		if kind == 2 && !ev.Has(event.BytesOut) && !d.seen.has(h) {
			return // a CONNECT outside any sequence, upload not logged
		}
		if v, ok := ev.Int(event.BytesOut); ok {
			bytes, measured = v, true
		} else if v, ok := ev.Int(event.BytesIn); ok {
			bytes = v
		}
		if bytes < 0 {
			bytes = 0
		}
		if kind == 1 || measured {
			d.seen.add(h) // may start a pair
		}
	}
	slot := d.pairs.slotAddr(h)
	var r *j10Rec
	if d.lagN < j10Lag {
		prefetch2(slot, slot)
		r = &d.lag[(d.lagHead+d.lagN)%j10Lag]
		d.lagN++
	} else {
		if a, ok := d.pairs.pairAddr(d.lag[(d.lagHead+j10Lag/2)%j10Lag].h); ok {
			prefetch2(slot, a)
		} else {
			prefetch2(slot, slot)
		}
		r = &d.lag[d.lagHead]
		d.observe(r)
		d.lagHead = (d.lagHead + 1) % j10Lag
	}
	// Field by field: a composite literal would be built aside and copied.
	r.kind, r.measured, r.b, r.h, r.client, r.host = kind, measured, bytes, h, client, host
	if kind != 0 {
		d.src.recInto(&r.rec, ev)
	} else {
		r.rec = wpRec{}
	}
}

// drain processes the records still in the pipeline, in order.
func (d *j10) drain() {
	for ; d.lagN > 0; d.lagN-- {
		d.observe(&d.lag[d.lagHead])
		d.lag[d.lagHead] = j10Rec{}
		d.lagHead = (d.lagHead + 1) % j10Lag
	}
}

// observe processes one record.
func (d *j10) observe(r *j10Rec) {
	kind, b, measured := r.kind, r.b, r.measured
	p := d.pairs.get(r.h, r.client, r.host)
	if kind == 0 {
		if p != nil && p.open {
			d.closeSeq(p)
		}
		return
	}
	if p == nil {
		if kind == 2 && !measured {
			return // a CONNECT outside any sequence, upload not logged
		}
		// CONNECT-only pairs (HTTPS sites, when request bytes are logged)
		// may take three quarters of the pairs at most, so that a flood of
		// them cannot blind the POST+CONNECT rule.
		limit := detect.MaxGroups
		if kind == 2 {
			limit = detect.MaxGroups / 4 * 3
		}
		if d.pairs.len() >= limit {
			d.droppedPairs++
			return
		}
		p = d.pairs.add(r.h, r.client, r.host)
	}
	t := r.rec.t
	if p.open && t.Sub(p.last) > j10Gap {
		d.closeSeq(p)
	}
	day := d.dc.of(t, d.m.Location)
	if p.haveDay && day != p.day && p.dayOpen {
		d.closeDay(p)
	}
	p.day, p.haveDay = day, true

	inSeq := false
	switch kind {
	case 1:
		if p.open {
			d.closeSeq(p)
		}
		p.open, p.start, p.last = true, t, t
		p.bytes, p.posts, p.connects = b, 1, 0
		p.seqFallback = !measured
		p.keep.reset()
		p.keep.add(r.rec, j10Keep)
		inSeq = true
	case 2:
		if p.open {
			p.bytes += b
			p.connects++
			if t.After(p.last) {
				p.last = t
			}
			if !measured {
				p.seqFallback = true
			}
			p.keep.add(r.rec, j10Keep)
			inSeq = true
		}
	}
	if !measured && !inSeq {
		return
	}
	if measured {
		d.measured++
	} else {
		d.fallback++
		p.dayFallback = true
	}
	if !p.dayOpen {
		p.dayOpen = true
		p.dayBytes, p.dayReqs = 0, 0
		p.dayStart, p.dayLast = t, t
		p.dayFallback = !measured
		p.dayKeep.reset()
	}
	p.dayBytes += b
	p.dayReqs++
	if t.After(p.dayLast) {
		p.dayLast = t
	}
	// Day evidence is kept once the day reaches a tenth of the threshold:
	// most pairs never do, and the records that make a day large are the
	// ones worth showing.
	if p.dayBytes >= d.m.UploadBytes/10 {
		p.dayKeep.add(r.rec, j10Keep)
	}
}

func (d *j10) alertOf(p *j10Pair, client string) *alert.Alert {
	if p.a == nil {
		p.a = d.info.NewAlert(client, alert.High, "")
	}
	return p.a
}

// closeSeq ends p's open sequence and records it when it is over the
// threshold. client is recovered at Flush, so the alert's host is set then.
func (d *j10) closeSeq(p *j10Pair) {
	p.open = false
	if p.bytes > d.m.UploadBytes {
		p.overSeqs++
		p.overBytes += p.bytes
		p.overReqs += p.posts + p.connects
		if p.bytes > p.maxSeq {
			p.maxSeq, p.maxPosts, p.maxConns = p.bytes, p.posts, p.connects
			p.maxStart, p.maxLast, p.maxFallback = p.start, p.last, p.seqFallback
		}
		p.keep.addTo(d.alertOf(p, ""))
	}
	p.keep.reset()
}

// closeDay ends p's current day total.
func (d *j10) closeDay(p *j10Pair) {
	p.dayOpen = false
	if p.dayBytes > d.m.UploadBytes {
		p.overDays++
		if p.dayBytes > p.maxDayBytes {
			p.maxDayBytes, p.maxDayReqs, p.maxDay = p.dayBytes, p.dayReqs, p.day
			p.maxDayStart, p.maxDayLast, p.maxDayFallback = p.dayStart, p.dayLast, p.dayFallback
		}
		if p.overSeqs == 0 {
			// Evidence of the day only while no sequence explains it.
			p.dayKeep.addTo(d.alertOf(p, ""))
		}
	}
	p.dayKeep.reset()
}

func (d *j10) Flush(ctx context.Context, emit func(*alert.Alert)) {
	d.drain()
	// Pairs are independent: close them all, then sort the ones with a
	// finding.
	d.pairs.each(func(p *j10Pair) {
		if p.open {
			d.closeSeq(p)
		}
		if p.dayOpen {
			d.closeDay(p)
		}
	})
	var lastClient string
	for i, pr := range d.pairs.sorted(false, func(p *j10Pair) bool { return p.a != nil }) {
		if (i == 0 || pr.client != lastClient) && ctx.Err() != nil {
			return
		}
		lastClient = pr.client
		p := &pr.v
		// Clone: the pair's strings live in the detector's arena.
		emit(d.finish(strings.Clone(pr.client), strings.Clone(pr.host), p))
	}
}

func (d *j10) finish(client, host string, p *j10Pair) *alert.Alert {
	a := p.a
	a.Host = client
	loc := d.m.Location
	thr := wpMB(d.m.UploadBytes)
	var b strings.Builder
	b.WriteString(client)
	if p.overSeqs > 0 {
		a.Severity = alert.High
		fallback := p.maxFallback
		if fallback {
			b.WriteString(" has ")
			b.WriteString(wpMB(p.maxSeq))
			b.WriteString(" logged")
		} else {
			b.WriteString(" sent ")
			b.WriteString(wpMB(p.maxSeq))
		}
		b.WriteString(" to ")
		b.WriteString(host)
		b.WriteString(" in a POST+CONNECT sequence of ")
		b.WriteString(wpItoa(p.maxPosts))
		b.WriteString(" POST and ")
		b.WriteString(wpItoa(p.maxConns))
		b.WriteString(" CONNECT requests (")
		b.WriteString(wpLocalTime(p.maxStart, loc))
		if !p.maxLast.Equal(p.maxStart) {
			b.WriteString(" – ")
			b.WriteString(wpLocalTime(p.maxLast, loc))
		}
		b.WriteString(")")
		if p.overSeqs > 1 {
			b.WriteString("; ")
			b.WriteString(wpItoa(p.overSeqs))
			b.WriteString(" sequences above ")
			b.WriteString(thr)
			b.WriteString(", ")
			b.WriteString(wpMB(p.overBytes))
			b.WriteString(" in total")
		}
		if fallback {
			b.WriteString(" — response bytes (Squid %<st): the log does not record upload volume")
		}
		a.Count, a.EvidenceTotal = p.overReqs, p.overReqs
		a.Fields["bytes"] = wpItoa(p.maxSeq)
		a.Fields["mb"] = wpFloat(float64(p.maxSeq)/1e6, 1)
		a.Fields["requests"] = wpItoa(p.maxPosts + p.maxConns)
		a.Fields["posts"] = wpItoa(p.maxPosts)
		a.Fields["connects"] = wpItoa(p.maxConns)
		a.Fields["sequences_over"] = wpItoa(p.overSeqs)
		a.Fields["total_bytes"] = wpItoa(p.overBytes)
		a.Fields["byte_field"] = j10Field(fallback)
	} else {
		a.Severity = alert.Medium
		fallback := p.maxDayFallback
		if fallback {
			b.WriteString(" has ")
			b.WriteString(wpMB(p.maxDayBytes))
			b.WriteString(" logged")
		} else {
			b.WriteString(" sent ")
			b.WriteString(wpMB(p.maxDayBytes))
		}
		b.WriteString(" to ")
		b.WriteString(host)
		b.WriteString(" in ")
		b.WriteString(wpItoa(p.maxDayReqs))
		b.WriteString(" POST/CONNECT requests on ")
		b.WriteString(wpDayString(p.maxDay))
		b.WriteString(", no single POST+CONNECT sequence above ")
		b.WriteString(thr)
		if p.overDays > 1 {
			b.WriteString("; ")
			b.WriteString(wpItoa(p.overDays))
			b.WriteString(" days above the threshold")
		}
		if fallback {
			b.WriteString(" — response bytes (Squid %<st): the log does not record upload volume")
		}
		a.Count, a.EvidenceTotal = p.maxDayReqs, p.maxDayReqs
		a.Fields["bytes"] = wpItoa(p.maxDayBytes)
		a.Fields["mb"] = wpFloat(float64(p.maxDayBytes)/1e6, 1)
		a.Fields["requests"] = wpItoa(p.maxDayReqs)
		a.Fields["day"] = wpDayString(p.maxDay)
		a.Fields["days_over"] = wpItoa(p.overDays)
		a.Fields["byte_field"] = j10Field(fallback)
	}
	a.Summary = b.String()
	a.Fields["domain"] = host
	a.Fields["threshold_bytes"] = wpItoa(d.m.UploadBytes)
	a.FinalizeID(client + "\x00" + host)
	return a
}

func j10Field(fallback bool) string {
	if fallback {
		return "bytes_in"
	}
	return "bytes_out"
}

func (d *j10) Notes() []detect.Note {
	d.drain()
	var out []detect.Note
	if d.fallback > 0 {
		out = append(out, detect.Note{Rule: "J10", Level: detect.Degraded,
			Message: "upload volume not in the log for " + wpItoa(d.fallback) + " POST/CONNECT records; summed the logged byte counts (Squid %<st) — log %>st to measure uploads (JPCERT notes Squid cannot log upload volume)",
			Enable:  "Squid: add %>st (request size) to the access_log logformat"})
	}
	if d.droppedPairs > 0 {
		out = append(out, detect.Note{Rule: "J10", Level: detect.Degraded,
			Message: wpItoa(d.droppedPairs) + " records beyond the first " + strconv.Itoa(detect.MaxGroups) + " (client, destination) pairs were not analysed"})
	}
	return out
}
