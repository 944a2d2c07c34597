package jpcert

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J2: executable attachment (JPCERT §4.2.1.2).
//
// Postfix logs attachment names when mime_header_checks WARNs on the
// Content-Type / Content-Disposition name= parameter; the parser decodes the
// MIME encoded-word (the document's example "=?Shift_JIS?B?...?=" is
// 【マル秘】顧客情報！.exe). The extension of the decoded name is checked
// against mail.executable_extensions; double extensions (invoice.pdf.exe)
// and Unicode bidirectional overrides (U+202E, which displays
// "invoice\u202Efdp.exe" as "invoiceexe.pdf") raise the severity; archives
// (mail.archive_extensions) are reported separately at low severity because
// executables are often zipped to pass filters.

// Finding kinds.
const (
	j2Exec    = "executable"
	j2Archive = "archive"
	j2Bidi    = "bidi-override"
)

// j2Decoys are document-like extensions used as the visible first half of a
// double extension.
var j2Decoys = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "docm": true, "xls": true, "xlsx": true, "xlsm": true,
	"ppt": true, "pptx": true, "rtf": true, "txt": true, "csv": true, "jpg": true, "jpeg": true,
	"png": true, "gif": true, "bmp": true, "htm": true, "html": true, "mp3": true, "mp4": true,
	"avi": true, "wav": true, "hwp": true, "jtd": true, "zip": true, "rar": true,
}

type j2State struct {
	a         *alert.Alert
	messages  int64
	lastQueue string
}

type j2 struct {
	info *detect.Info
	m    *org.Model
	g    *detect.Group
	st   map[string]*j2State

	mail      int64 // mail events seen
	named     int64 // events with an attachment name
	undecoded int64 // names still MIME-encoded
}

// NewJ2 returns the executable-attachment analysis.
func NewJ2(m *org.Model) detect.Detector {
	in := &detect.Info{
		ID:           "J2",
		Title:        "Executable attachment",
		TitleJA:      "実行ファイルが添付されたメールを手掛かりとしたログ分析",
		Requirements: []string{"J2"},
		Section:      "4.2.1.2",
		Categories:   []string{detect.Mail},
		Stages:       j16Stages(alert.Delivery),
		Techniques:   []string{"A"},
		Attack:       []string{"T1566.001", "T1204.002", "T1036.007", "T1036.002"},
		NextSteps: j16Text([]string{
			"A Delivery-stage attack is suspected, but whether it succeeded cannot be told from the logs alone: take the recipient and delivery time from the mail log and ask the recipient how they handled the attachment (did they open it?).",
			"To be safe, also check that the same sender address sent no mail to other recipients, and that no mail was sent from inside the organization to this address.",
			"Search the mail log for other mail with the same attachment name or sender; for recipients who opened the file, check their PC's proxy, DNS and firewall traffic after the delivery time (J3, J5–J10).",
			"If the mail is still in quarantine or a mailbox, take the file's hash without running it and check it against threat intelligence.",
		}, []string{
			"デリバリの段階の攻撃の痕跡であることが疑われるが、攻撃の成否は、ログ分析だけからは判断できない。ログからメールの配送先と配送時間の情報を特定し、受信したメールの添付ファイルの扱い（開いたかどうか）について受信者にヒアリングする。",
			"同じ送信元メールアドレスから別の宛先に送信されたメールや、このメールアドレスに対して、内部から送信されたメールが無いことも念のため確認しておく。",
			"同じ添付ファイル名や送信元をもつメールの受信記録が他にないかを調べ、添付ファイルを開いた受信者の PC については、配送時刻以降の Web プロキシ・DNS・Firewall のログ（J3、J5〜J10）を確認する。",
			"メールが隔離領域やメールボックスに残っていれば、実行せずにハッシュ値を取得し、脅威情報と照合する。",
		}),
		Caveats: j16Text([]string{
			"File names with multibyte characters (Japanese etc.) are encoded in mail headers (Base64 etc.) and must be decoded; this analysis matches the decoded name.",
			"Legitimate mail may also carry files with an .exe extension, such as self-extracting archives: confirm with the user before concluding it is an attack.",
			"Mail servers and anti-virus products increasingly block mail with executable attachments automatically, so this technique is becoming rarer.",
			"In advanced attacks the executable may be compressed before it is attached: archive extensions (rar, zip ...) are therefore reported too, at low severity.",
			"Postfix does not log attachment names by default; mime_header_checks with a Content-Type/Content-Disposition name= WARN rule is needed (JPCERT table 4-5).",
		}, []string{
			"メールヘッダの中では、ファイル名にマルチバイトの文字コード（日本語等）を使う場合、Base64 等を利用しエンコード処理することになっている。そのためデコード処理が必要な場合がある。",
			"正規のメールにも、自己解凍形式の圧縮ファイルなどで拡張子が .exe であるファイルを添付されているものがあるので、攻撃の痕跡と断定する前に、ユーザに確認する等の必要がある。",
			"昨今では、メールサーバやウイルス対策ソフトなどによって、実行形式のファイルが添付されたメールは自動的にブロックされる場合が増えているため、この種の攻撃手法は少なくなりつつある。",
			"高度サイバー攻撃では、実行ファイルを圧縮した上でメールに添付するケースもある。その場合にも、この分析法を応用すれば、実行ファイル以外（rar や zip などの圧縮ファイル）の拡張子を確認することができる（低い重要度で報告する）。",
			"Postfix の標準設定では、添付ファイルに関する情報がログに出力されない。mime_header_checks の設定が必要である（表 4-5）。",
		}),
	}
	return &j2{info: in, m: m, g: detect.NewGroup(in), st: map[string]*j2State{}}
}

func (d *j2) Info() *detect.Info { return d.info }

func (d *j2) Observe(ev *event.Event) {
	d.mail++
	name := ev.Get(event.Attachment)
	if name == "" {
		return
	}
	d.named++
	if strings.Contains(name, "=?") && strings.Contains(name, "?=") {
		d.undecoded++
	}
	bidi := j2HasBidi(name)
	clean := name
	if bidi {
		clean = j2StripBidi(name)
	}
	clean = strings.TrimRight(clean, " .\"'\t")
	dot := strings.LastIndexByte(clean, '.')
	ext := ""
	if dot >= 0 {
		ext = strings.ToLower(clean[dot+1:])
	}
	kind := ""
	switch {
	case ext != "" && d.m.ExecExtensions[ext]:
		kind = j2Exec
	case ext != "" && d.m.ArchiveExtensions[ext]:
		kind = j2Archive
	case bidi:
		kind = j2Bidi
	default:
		return
	}
	decoy := ""
	if dot > 0 && kind != j2Bidi {
		base := strings.TrimRight(clean[:dot], " _")
		if i := strings.LastIndexByte(base, '.'); i >= 0 && d.m.ExecExtensions[ext] {
			if e := strings.ToLower(base[i+1:]); j2Decoys[e] {
				decoy = e
			}
		}
	}
	to := ev.Get(event.MailTo)
	key := kind + "\x00" + to + "\x00" + name
	st := d.st[key]
	if st == nil {
		a := d.g.Add(key, j16MailHost(to), ev, func(a *alert.Alert) {
			switch {
			case kind == j2Exec && (bidi || decoy != ""):
				a.Severity = alert.Critical
			case kind == j2Exec:
				a.Severity = alert.High
			case kind == j2Bidi, bidi: // an archive whose name hides its extension
				a.Severity = alert.Medium
			default:
				a.Severity = alert.Low
			}
			f := a.Fields
			f["attachment"] = name
			f["kind"] = kind
			if ext != "" {
				f["extension"] = ext
			}
			if decoy != "" {
				f["double_extension"] = decoy + "." + ext
			}
			if bidi {
				f["attachment_visible"] = j2Visible(name)
				f["displayed_as"] = j2Displayed(name)
			}
			if v := j2Sender(ev); v != "" {
				f["sender"] = v
			}
			if v := ev.Get(event.MailFrom); v != "" {
				f["mail_from"] = v
			}
			if to != "" {
				f["mail_to"] = to
			}
			if v := ev.Get(event.SrcIP); v != "" {
				f["src_ip"] = v
			}
			if v := ev.Get(event.ContentType); v != "" {
				f["content_type"] = v
			}
		})
		if a == nil {
			return
		}
		st = &j2State{a: a}
		d.st[key] = st
	} else {
		st.a.AddEvidence(alert.EvidenceOf(ev))
	}
	// Content-Type and Content-Disposition of one attachment are two log
	// lines of the same message: count messages by queue id.
	q := ev.Get(event.QueueID)
	if q == "" || q != st.lastQueue {
		st.messages++
		st.lastQueue = q
	}
}

func (d *j2) Flush(_ context.Context, emit func(*alert.Alert)) {
	d.g.Each(func(key string, a *alert.Alert) {
		f := a.Fields
		n := d.st[key].messages
		s := "Mail"
		if v := f["sender"]; v != "" {
			s += " from " + v
		}
		to := f["mail_to"]
		if to == "" {
			to = "an unknown recipient"
		}
		s += " to " + to + " carried "
		shown := f["attachment"]
		if v := f["attachment_visible"]; v != "" {
			shown = v
		}
		switch f["kind"] {
		case j2Exec:
			s += "the executable attachment \"" + shown + "\""
		case j2Archive:
			s += "the archive attachment \"" + shown + "\" (may contain an executable)"
		default:
			s += "the attachment \"" + shown + "\" whose name contains a bidirectional override"
		}
		if v := f["double_extension"]; v != "" {
			s += " with the double extension ." + v
		}
		if v := f["displayed_as"]; v != "" {
			s += ", displayed as \"" + v + "\""
		}
		a.Summary = s + "; " + j16Times(n, "message", "messages")
		f["messages"] = j16Itoa(n)
	})
	d.g.Emit(emit, nil)
}

func (d *j2) Notes() []detect.Note {
	var out []detect.Note
	if d.mail > 0 && d.named == 0 {
		out = append(out, detect.Note{Rule: "J2", Level: detect.Skipped,
			Message: "the mail log has no attachment names",
			Enable:  "Postfix: mime_header_checks = regexp:/etc/postfix/mime_header_checks with a Content-(Type|Disposition) name= WARN rule (JPCERT table 4-5)"})
	}
	if d.undecoded > 0 {
		out = append(out, detect.Note{Rule: "J2", Level: detect.Degraded,
			Message: j16Times(d.undecoded, "attachment name was", "attachment names were") + " still MIME-encoded (=?charset?B?...?=): their extensions could not be checked"})
	}
	return append(out, d.g.DroppedNote()...)
}

// j2Sender is the best sender address of a mail event.
func j2Sender(ev *event.Event) string {
	if v := ev.Get(event.MailFrom); v != "" {
		return v
	}
	if v := ev.Extra("from_address"); v != "" {
		return v
	}
	return ev.Get(event.HeaderFrom)
}

// j2IsBidi reports Unicode bidirectional formatting characters: LRM/RLM
// (U+200E/F), LRE..RLO (U+202A–U+202E) and LRI..PDI (U+2066–U+2069).
func j2IsBidi(r rune) bool {
	return r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func j2HasBidi(s string) bool {
	// All of them encode as E2 80 xx or E2 81 xx.
	for i := strings.IndexByte(s, 0xE2); i >= 0 && i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if j2IsBidi(r) {
			return true
		}
		j := strings.IndexByte(s[i+w:], 0xE2)
		if j < 0 {
			return false
		}
		i += w + j
	}
	return false
}

func j2StripBidi(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !j2IsBidi(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// j2Visible makes the control characters visible: "invoice[U+202E]fdp.exe".
func j2Visible(s string) string {
	var b strings.Builder
	for _, r := range s {
		if j2IsBidi(r) {
			b.WriteString("[U+")
			const hex = "0123456789ABCDEF"
			b.WriteByte(hex[r>>12&0xF])
			b.WriteByte(hex[r>>8&0xF])
			b.WriteByte(hex[r>>4&0xF])
			b.WriteByte(hex[r&0xF])
			b.WriteByte(']')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// j2Displayed approximates what a mail client shows: the text after a
// right-to-left override (U+202E) up to the next pop (U+202C) or the end is
// reversed. Other bidi controls are dropped.
func j2Displayed(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		if rs[i] != 0x202E {
			if !j2IsBidi(rs[i]) {
				b.WriteRune(rs[i])
			}
			continue
		}
		j := i + 1
		for j < len(rs) && rs[j] != 0x202C {
			j++
		}
		for k := j - 1; k > i; k-- {
			if !j2IsBidi(rs[k]) {
				b.WriteRune(rs[k])
			}
		}
		i = j
	}
	return b.String()
}
