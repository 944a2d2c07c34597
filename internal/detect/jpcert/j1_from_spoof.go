package jpcert

import (
	"context"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J1: From display-name spoofing (JPCERT §4.2.1.1).
//
// The display name of the header From: is free text that many mail clients
// show instead of the address. An attacker writes a partner's address
// there ("sample@example.co.jp" <attack@example.com>). The analysis takes
// the postfix "warning: header From:" lines (header_checks /^From:/ WARN),
// extracts every address-like string of the decoded display name and
// reports the mail when one differs from the real header address.

type j1 struct {
	info *detect.Info
	m    *org.Model
	g    *detect.Group

	mail  int64 // mail events seen
	froms int64 // header From: records seen
}

// NewJ1 returns the From display-name spoofing analysis.
func NewJ1(m *org.Model) detect.Detector {
	in := &detect.Info{
		ID:           "J1",
		Title:        "From display-name spoofing",
		TitleJA:      "From フィールドの表示名偽装を手掛かりとしたログ分析",
		Requirements: []string{"J1"},
		Section:      "4.2.1.1",
		Categories:   []string{detect.Mail},
		Stages:       j16Stages(alert.Delivery),
		Techniques:   []string{"A", "B"},
		Attack:       []string{"T1566.001", "T1566.002", "T1656"},
		NextSteps: j16Text([]string{
			"Delivery-stage mail is suspected. If the spoofed display name is the address of a business partner or a related organization, take the recipients and the delivery time from the mail log and ask each recipient how they handled the mail (did they open a suspicious attachment or click a link in the message?).",
			"Search the mail log for other mail from the same header sender, envelope sender (MAIL FROM) or client IP to other recipients.",
			"For every recipient, check the proxy, DNS and firewall logs of their PC after the delivery time for callbacks (J3, J5–J10).",
			"Check the message's SPF/DKIM/DMARC results and Received: headers in a mailbox copy to see where it really came from.",
		}, []string{
			"偽装された From フィールドの表示名が取引先や関係組織などのメールアドレスであれば、メールサーバのログからメールの宛先と配達時間の情報とともに、対象メールの扱い（不審な添付ファイルを開いたり、メッセージ内のリンクをクリックしたりしていないかなど）についてメール受信者に確認する。",
			"同じヘッダ From、エンベロープの MAIL From、送信元 IP から他の宛先に届いたメールがないかをメールサーバのログで調べる。",
			"各受信者の PC について、配達時刻以降の Web プロキシ・DNS・Firewall のログに不審な通信（J3、J5〜J10）がないかを確認する。",
			"受信メールの SPF/DKIM/DMARC の判定結果や Received ヘッダで、実際の送信元を確認する。",
		}),
		Caveats: j16Text([]string{
			"Mail that an agent sends on behalf of the real sender (mailing lists, newsletters), spam and junk mail can match as well: examine whether a hit really is a trace of an attack.",
			"Postfix does not log the header From: by default; header_checks = regexp:/etc/postfix/header_checks with /^From:/ WARN is needed (JPCERT table 4-2).",
			"Only addresses written in the display name are compared: a display name that is just a person's or company's name is not reported.",
		}, []string{
			"攻撃の痕跡である可能性ありと判定されるメールには、メーリングリストやメールマガジン等で代行業者が本来の送信者に代わって送るメールや、SPAM、迷惑メールなどが含まれている可能性がある。そのため見つかったメールが本当に攻撃の痕跡かどうかは、吟味が必要である。",
			"Postfix の標準設定では、メールヘッダの From フィールドの情報はログに出力されない。header_checks に /^From:/ WARN の設定が必要である（表 4-2）。",
			"表示名に含まれるメールアドレス形式の文字列だけを比較する。人名や組織名だけの表示名は対象外である。",
		}),
	}
	return &j1{info: in, m: m, g: detect.NewGroup(in)}
}

func (d *j1) Info() *detect.Info { return d.info }

func (d *j1) Observe(ev *event.Event) {
	d.mail++
	// The record of the header From: line itself: header_name From, or a
	// HeaderFrom without a header_name (a parser that logs it otherwise).
	// A parser that copies HeaderFrom onto the message's other header lines
	// (Content-Type ...) must not count the message twice.
	hf := ev.Get(event.HeaderFrom)
	if hn := ev.Extra("header_name"); hn != "" {
		if !strings.EqualFold(hn, "From") {
			return
		}
	} else if hf == "" {
		return
	}
	d.froms++
	display, addr := ev.Extra("from_display"), ev.Extra("from_address")
	if display == "" && addr == "" && hf != "" {
		display, addr = j1SplitFrom(hf)
	}
	if display == "" || addr == "" {
		return
	}
	addr = strings.Trim(addr, "<> \t")
	var spoof string
	for i := 0; i < len(display); {
		c, next := j1NextAddr(display, i)
		if c == "" {
			break
		}
		if !j1SameAddr(c, addr) {
			spoof = c
			break
		}
		i = next
	}
	if spoof == "" {
		return
	}
	to := ev.Get(event.MailTo)
	key := to + "\x00" + strings.ToLower(spoof) + "\x00" + strings.ToLower(addr)
	d.g.Add(key, j16MailHost(to), ev, func(a *alert.Alert) {
		dd, rd := j1AddrDomain(spoof), j1AddrDomain(addr)
		a.Severity = alert.Medium
		if _, own := d.m.MailDomains.Match(dd); own || !strings.EqualFold(dd, rd) {
			a.Severity = alert.High
		}
		a.Fields["display_name"] = display
		a.Fields["display_address"] = spoof
		a.Fields["from_address"] = addr
		if v := ev.Get(event.MailFrom); v != "" {
			a.Fields["mail_from"] = v
		}
		if to != "" {
			a.Fields["mail_to"] = to
		}
		if v := ev.Get(event.SrcIP); v != "" {
			a.Fields["src_ip"] = v
		}
		if v := ev.Get(event.QueueID); v != "" {
			a.Fields["queue_id"] = v
		}
	})
}

func (d *j1) Flush(_ context.Context, emit func(*alert.Alert)) {
	d.g.Each(func(_ string, a *alert.Alert) {
		f := a.Fields
		to := f["mail_to"]
		if to == "" {
			to = "an unknown recipient"
		}
		s := "Mail to " + to + " shows the display name \"" + f["display_name"] +
			"\" (address " + f["display_address"] + ") but comes from " + f["from_address"]
		if mf := f["mail_from"]; mf != "" {
			s += " (envelope sender " + mf + ")"
		}
		a.Summary = s + "; " + j16Times(a.Count, "message", "messages")
	})
	d.g.Emit(emit, nil)
}

func (d *j1) Notes() []detect.Note {
	var out []detect.Note
	if d.mail > 0 && d.froms == 0 {
		out = append(out, detect.Note{Rule: "J1", Level: detect.Skipped,
			Message: "the mail log has no header From: records, so display names cannot be compared",
			Enable:  "Postfix: header_checks = regexp:/etc/postfix/header_checks with /^From:/ WARN (JPCERT table 4-2)"})
	}
	if d.m.MailDomains.Len() == 0 {
		out = append(out, detect.Note{Rule: "J1", Level: detect.Degraded,
			Message: "mail.domains is not configured: display names impersonating the organization's own domains are not rated higher",
			Enable:  "mail.domains"})
	}
	return append(out, d.g.DroppedNote()...)
}

// j1SplitFrom splits a decoded header From: value into display name and
// address: `"Name" <addr>`, `Name <addr>`, `addr (Name)` or a bare address.
func j1SplitFrom(h string) (display, addr string) {
	h = strings.TrimSpace(h)
	if i := strings.LastIndexByte(h, '<'); i >= 0 {
		rest := h[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			rest = rest[:j]
		}
		display = strings.TrimSpace(h[:i])
		if len(display) >= 2 && display[0] == '"' && display[len(display)-1] == '"' {
			display = display[1 : len(display)-1]
		}
		return display, strings.TrimSpace(rest)
	}
	// RFC 822 style: the comment is shown as the name by some clients.
	if i := strings.IndexByte(h, '('); i > 0 {
		if j := strings.LastIndexByte(h, ')'); j > i {
			return strings.TrimSpace(h[i+1 : j]), strings.TrimSpace(h[:i])
		}
	}
	return "", h
}

// j1At returns the width of an at-sign at s[i]: 1 for '@', 3 for the
// full-width '＠' (U+FF20) that Japanese display names may use, 0 otherwise.
func j1At(s string, i int) int {
	switch {
	case s[i] == '@':
		return 1
	case s[i] == 0xEF && i+2 < len(s) && s[i+1] == 0xBC && s[i+2] == 0xA0:
		return 3
	}
	return 0
}

func j1LocalChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("._%+-=!#$&*?^~", c) >= 0
}

func j1DomainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// j1NextAddr finds the next address-like string of s at or after from: a
// local part, an at-sign and a domain with at least one dot. It returns ""
// when there is none, and the index to continue from.
func j1NextAddr(s string, from int) (addr string, next int) {
	for i := from; i < len(s); i++ {
		w := j1At(s, i)
		if w == 0 {
			continue
		}
		l := i
		for l > 0 && j1LocalChar(s[l-1]) {
			l--
		}
		for l < i && s[l] == '.' {
			l++
		}
		r := i + w
		for r < len(s) && j1DomainChar(s[r]) {
			r++
		}
		for r > i+w && (s[r-1] == '.' || s[r-1] == '-') {
			r--
		}
		dom := s[i+w : r]
		dot := strings.LastIndexByte(dom, '.')
		if l == i || dot <= 0 || dot == len(dom)-1 {
			continue
		}
		return s[l:r], r
	}
	return "", len(s)
}

// j1Split splits an address at its (ASCII or full-width) at-sign.
func j1Split(a string) (local, domain string) {
	for i := 0; i < len(a); i++ {
		if w := j1At(a, i); w > 0 {
			return a[:i], a[i+w:]
		}
	}
	return a, ""
}

// j1SameAddr compares two addresses case-insensitively, treating the
// full-width at-sign as '@'.
func j1SameAddr(a, b string) bool {
	al, ad := j1Split(a)
	bl, bd := j1Split(b)
	return strings.EqualFold(al, bl) && strings.EqualFold(ad, bd)
}

func j1AddrDomain(a string) string {
	_, d := j1Split(a)
	return d
}
