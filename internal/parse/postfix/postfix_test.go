package postfix

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/parse"
	"github.com/kizuki-dev/kizuki/internal/testutil"
)

var jst = time.FixedZone("JST", 9*3600)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(b), "\n")
}

func parseLine(t testing.TB, line string, pc *parse.Context) (*event.Event, error) {
	t.Helper()
	ev := &event.Event{Raw: line, Source: "postfix"}
	err := New().Parse([]byte(line), ev, pc)
	return ev, err
}

// checkFields asserts every key of want (a common field or an extra; "" =
// must be absent) and that no field is stored empty.
func checkFields(t *testing.T, line string, ev *event.Event, want map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var got string
		switch k {
		case "time":
			got = event.FormatTime(ev.Time)
		case "host":
			got = ev.Host
		default:
			got = ev.Lookup(k)
		}
		if got != want[k] {
			t.Errorf("%s\n  %s = %q, want %q", line, k, got, want[k])
		}
	}
	ev.Fields(func(k, v string) {
		if v == "" {
			t.Errorf("%s\n  field %s stored empty", line, k)
		}
	})
	if dup := duplicateKey(ev); dup != "" {
		t.Errorf("%s\n  field %s appears twice", line, dup)
	}
}

// duplicateKey returns a field name that Fields yields twice (an extra named
// like a common field), "" when there is none.
func duplicateKey(ev *event.Event) string {
	seen := map[string]bool{}
	dup := ""
	ev.Fields(func(k, v string) {
		if seen[k] {
			dup = k
		}
		seen[k] = true
	})
	return dup
}

func TestUnfold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=?UTF-8?B?5pel?=? =?UTF-8?B?5pel?=", "=?UTF-8?B?5pel?=  =?UTF-8?B?5pel?="},
		{"=?UTF-8?B?5pel?=??=?UTF-8?B?5pel?=", "=?UTF-8?B?5pel?=  =?UTF-8?B?5pel?="},
		{`attachment;? filename="a"`, `attachment;  filename="a"`},
		{`"Name"? <a@b>`, `"Name"  <a@b>`},
		{`"Really?" <a@b>`, `"Really?" <a@b>`},
		{`Are you ok? Yes`, `Are you ok? Yes`},
		{`=?UTF-8?Q?a?=?b`, `=?UTF-8?Q?a?=?b`},
		{`no marks`, `no marks`},
		{`?`, `?`},
	}
	for _, tt := range tests {
		if got := unfold(tt.in); got != tt.want {
			t.Errorf("unfold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestJPCERT parses the two example lines of the JPCERT/CC guide (figures
// 4-2 and 4-3, joined into the single lines Postfix wrote).
func TestJPCERT(t *testing.T) {
	pc := parse.NewContext(jst, time.Date(2015, 12, 31, 0, 0, 0, 0, jst))
	tests := []struct {
		file string
		want map[string]string
	}{
		{"jpcert_fig4-2.log", map[string]string{
			"time":         "2015-02-16T02:43:32.000Z",
			"host":         "mail-server",
			"process":      "postfix/cleanup",
			"pid":          "29597",
			"queue_id":     "B1467845E2",
			"action":       "warn",
			"action_raw":   "warning",
			"header_name":  "From",
			"header_value": `"sample@example.co.jp" <attack@example.com>`,
			"header_from":  `"sample@example.co.jp" <attack@example.com>`,
			"from_display": "sample@example.co.jp",
			"from_address": "attack@example.com",
			"mail_from":    "root@example.com",
			"mail_to":      "info@example.co.jp",
			"client_name":  "unknown",
			"client_addr":  "192.168.xxx.xxx", // redacted in the document
			"src_ip":       "",
			"smtp_proto":   "ESMTP",
			"helo":         "[127.0.0.1]",
			"attachment":   "",
		}},
		{"jpcert_fig4-3.log", map[string]string{
			"time":         "2015-02-16T07:17:26.000Z",
			"host":         "mail-server",
			"process":      "postfix/cleanup",
			"pid":          "6952",
			"queue_id":     "08C08845EF",
			"action":       "warn",
			"header_name":  "Content-Type",
			"header_value": `application/vnd.openxmlformats-officedocument.wordprocessingml.document;? name="=?Shift_JIS?B? gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl=?="`,
			"content_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			"attachment":   "【マル秘】顧客情報！.exe",
			"mail_from":    "attacker@example.com",
			"mail_to":      "sample@example.co.jp",
			"client_name":  "unknown",
			"header_from":  "",
		}},
	}
	for _, tt := range tests {
		line := readFixture(t, tt.file)
		if !New().Sniff([]byte(line)) {
			t.Errorf("%s: Sniff = false", tt.file)
		}
		ev, err := parseLine(t, line, pc)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		checkFields(t, line, ev, tt.want)
	}
}

func TestParseLines(t *testing.T) {
	pc := parse.NewContext(time.UTC, time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC))
	const h = "Oct 26 18:13:50 mx1 "
	tests := []struct {
		line string
		want map[string]string
	}{
		// The exact JPCERT word, not the printed variant, in a header line
		// with a header value holding " from " and ";" itself.
		{h + `postfix/cleanup[1]: 3F2A1C0B7D: warning: header Content-Disposition: attachment; filename="=?Shift_JIS?B?gXmDfYOLlOmBeozai3GP7pXxgUkuZXhl?=" from mail.example.net[203.0.113.5]; from=<a@example.net> to=<b@example.jp> proto=ESMTP helo=<mail.example.net>`,
			map[string]string{"attachment": "【マル秘】顧客情報！.exe", "disposition": "attachment", "content_type": "", "src_ip": "203.0.113.5",
				"client_name": "mail.example.net", "queue_id": "3F2A1C0B7D", "mail_from": "a@example.net", "mail_to": "b@example.jp"}},
		{h + `postfix/cleanup[1]: 3F2A1C0B7D: warning: header Subject: Invoice from accounting; please pay from today from mail.example.net[203.0.113.5]; from=<a@example.net> to=<b@example.jp> proto=ESMTP helo=<x>`,
			map[string]string{"subject": "Invoice from accounting; please pay from today", "src_ip": "203.0.113.5", "header_name": "Subject"}},
		// Encoded From display name, folded by the mailer (Postfix prints
		// the fold as "?").
		{h + `postfix/cleanup[1]: 3F2A1C0B7D: warning: header From: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=? =?UTF-8?B?5bGx55Sw?= <boss@example.com> from unknown[198.51.100.7]; from=<x@evil.example> to=<y@example.jp> proto=SMTP helo=<evil>`,
			map[string]string{"from_display": "日本語山田", "from_address": "boss@example.com", "header_from": "日本語山田 <boss@example.com>",
				"src_ip": "198.51.100.7", "mail_from": "x@evil.example"}},
		// RFC 2231 attachment name, Content-Type with mime_header_checks REJECT.
		{h + `postfix/cleanup[1]: 3F2A1C0B7D: reject: header Content-Type: application/octet-stream;? name*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.scr from unknown[198.51.100.7]; from=<x@evil.example> to=<y@example.jp> proto=ESMTP helo=<evil>: 5.7.1 Attachment type not allowed`,
			map[string]string{"attachment": "請求書.scr", "content_type": "application/octet-stream", "action": "reject", "action_raw": "",
				"reason": "5.7.1 Attachment type not allowed", "helo": "evil"}},
		// hold: and info: actions, local submission.
		{h + `postfix/cleanup[1]: 3F2A1C0B7D: hold: header Subject: test from local; from=<root@mx1> to=<a@b>`,
			map[string]string{"action": "hold", "client_name": "local", "subject": "test", "mail_from": "root@mx1", "src_ip": ""}},
		{h + `postfix/cleanup[1]: D95341E50350: info: header Subject: =?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?Q?_=E2=80=92?= test from local; from=<from@example.com> to=<to@example.com>`,
			map[string]string{"action": "info", "subject": "Grüße ‒ test", "client_name": "local"}},
		// A Subject folded with a TAB between two encoded words ("??").
		{h + `postfix/cleanup[1]: 3F2A1C0B7D: warning: header Subject: =?UTF-8?B?6KuL5rGC5pu4?=??=?UTF-8?B?44Gu44GK55+l44KJ44Gb?= from unknown[198.51.100.7]; from=<x@evil.example> to=<y@example.jp> proto=ESMTP helo=<evil>`,
			map[string]string{"subject": "請求書のお知らせ"}},
		// Body check.
		{h + `postfix/cleanup[1]: 3F2A1C0B7D: warning: body click http://evil.example/ from here from unknown[198.51.100.7]; from=<x@evil.example> to=<y@example.jp> proto=ESMTP helo=<evil>`,
			map[string]string{"body": "click http://evil.example/ from here", "src_ip": "198.51.100.7", "header_name": ""}},
		// Delivery lines.
		{h + `postfix/smtp[2]: 7EE668039: to=<admin@example.com>, relay=mail.example.com[192.0.2.25]:2525, delay=3.6, delays=0.2/0.02/0.04/3.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 153053D)`,
			map[string]string{"time": "2024-10-26T18:13:50.000Z", "host": "mx1", "queue_id": "7EE668039", "mail_to": "admin@example.com", "relay": "mail.example.com",
				"dst_ip": "192.0.2.25", "dst_port": "2525", "delay": "3.6", "duration_ms": "3600", "delays": "0.2/0.02/0.04/3.3", "dsn": "2.0.0",
				"status": "sent", "action": "allow", "status_detail": "250 2.0.0 Ok: queued as 153053D", "queued_as": "153053D"}},
		{h + `postfix/smtp[2]: 4E74613FE76: to=<r@gmail.com>, relay=gmail-smtp-in.l.google.com[2607:f8b0:400e:c04::1b]:25, delay=1.9, delays=0.05/0/1.1/0.71, dsn=5.7.1, status=bounced (host gmail-smtp-in.l.google.com[2607:f8b0:400e:c04::1b] said: 550 5.7.1 blocked (in reply to end of DATA command))`,
			map[string]string{"dst_ip": "2607:f8b0:400e:c04::1b", "dst_port": "25", "status": "bounced", "action": "reject", "smtp_stage": "end of DATA"}},
		{h + `postfix/qmgr[3]: 345C33E31EB: from=<root@example.com>, size=486, nrcpt=1 (queue active)`,
			map[string]string{"mail_from": "root@example.com", "size": "486", "nrcpt": "1", "queue_id": "345C33E31EB"}},
		{h + `postfix/qmgr[3]: 585BC3F: from=<>, status=expired, returned to sender`,
			map[string]string{"mail_from": "", "status": "expired", "action": "drop", "status_detail": "returned to sender"}},
		{h + `postfix/local[4]: 2A22C263F6: to=user@host.example.com, orig_to=root@localhost, relay=local, delay=0.07, delays=0.04/0/0/0.03, dsn=2.0.0, status=sent (delivered to command: procmail -a "$EXTENSION")`,
			map[string]string{"mail_to": "user@host.example.com", "orig_to": "root@localhost", "relay": "local", "status_detail": `delivered to command: procmail -a "$EXTENSION"`}},
		{h + `postfix/lmtp[4]: AD6E41CDC05C: to=<admin@example.com>, relay=sub1.example.com[private/dovecot-lmtp], delay=0.15, delays=0.04/0/0.02/0.08, dsn=2.0.0, status=sent (250 2.0.0 <admin@example.com> qYyyBMsl9FRuZQAAA15QOA Saved)`,
			map[string]string{"relay": "sub1.example.com", "relay_service": "private/dovecot-lmtp", "dst_ip": ""}},
		{h + `postfix/cleanup[5]: 0F5383D: message-id=<544D2523.30609@rhsoft.net>`,
			map[string]string{"message_id": "544D2523.30609@rhsoft.net", "queue_id": "0F5383D"}},
		{h + `postfix/pickup[6]: D2FAE20586: uid=0 from=<fail2ban>`,
			map[string]string{"uid": "0", "mail_from": "fail2ban"}},
		// smtpd.
		{h + `postfix/smtpd[7]: connect from 061238241086.static.ctinets.com[61.238.241.86]`,
			map[string]string{"src_ip": "61.238.241.86", "client_name": "061238241086.static.ctinets.com", "queue_id": ""}},
		{h + `postfix/smtpd[7]: connect from unknown[192.168.1.1]`,
			map[string]string{"src_ip": "192.168.1.1", "client_name": "unknown"}},
		{h + `postfix/smtpd[7]: 4104E3D: client=061238241086.static.ctinets.com[61.238.241.86]:41234, sasl_method=PLAIN, sasl_username=alice@example.com`,
			map[string]string{"src_ip": "61.238.241.86", "src_port": "41234", "user": "alice@example.com", "sasl_method": "PLAIN", "queue_id": "4104E3D"}},
		{h + `postfix/smtpd[7]: NOQUEUE: reject: RCPT from unknown[2001:980:cfb1:1:82f:f74e:a45c:3033]: 504 5.5.2 <aap@henk>: Sender address rejected: need fully-qualified address; from=<aap@henk> to=<user@example.com> proto=SMTP helo=<test>`,
			map[string]string{"queue_id": "", "action": "reject", "smtp_stage": "RCPT", "src_ip": "2001:980:cfb1:1:82f:f74e:a45c:3033", "reply_code": "504",
				"dsn": "5.5.2", "reason": "<aap@henk>: Sender address rejected: need fully-qualified address", "mail_from": "aap@henk", "mail_to": "user@example.com", "helo": "test"}},
		{h + `postfix/smtpd[7]: NOQUEUE: reject_warning: RCPT from example.com[93.184.216.34]: 553 5.7.1 <s@example.com>: Sender address rejected: not owned by user ph123; from=<s@example.com> to=<r@example.com> proto=ESMTP helo=<example.com>`,
			map[string]string{"action": "warn", "action_raw": "reject_warning"}},
		{h + `postfix/smtpd[7]: NOQUEUE: discard: MAIL from ccm231.constantcontact.com[208.75.123.231]: <b==_4343_s==@in.example.com>: Sender address SPAM; from=<b==_4343_s==@in.example.com> proto=ESMTP helo=<ccm231.constantcontact.com>`,
			map[string]string{"action": "drop", "action_raw": "discard", "mail_from": "b==_4343_s==@in.example.com", "reason": "<b==_4343_s==@in.example.com>: Sender address SPAM"}},
		{h + `postfix/smtpd[7]: warning: unknown[192.0.2.152]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=admin`,
			map[string]string{"src_ip": "192.0.2.152", "action": "deny", "user": "admin", "sasl_method": "LOGIN", "level": "warning", "reason": "(reason unavailable)"}},
		{h + `postfix/submission/smtpd[7]: warning: unknown[82.221.106.233]:55729: SASL LOGIN authentication failed: UGFzc3dvcmQ6`,
			map[string]string{"src_ip": "82.221.106.233", "src_port": "55729", "process": "postfix/submission/smtpd"}},
		{h + `postfix/smtpd[7]: warning: hostname bad.example.com does not resolve to address 192.0.2.44: Name or service not known`,
			map[string]string{"src_ip": "192.0.2.44", "client_name": "bad.example.com", "level": "warning"}},
		{h + `postfix/smtpd[7]: lost connection after DATA (7774180 bytes) from unknown[72.13.58.7]`,
			map[string]string{"src_ip": "72.13.58.7", "smtp_stage": "DATA"}},
		{h + `postfix/smtpd[7]: disconnect from unknown[192.0.2.1] helo=1 auth=0/1 quit=1 commands=2/3`,
			map[string]string{"src_ip": "192.0.2.1", "command_stats": "helo=1 auth=0/1 quit=1 commands=2/3", "user": ""}},
		{h + `postfix/smtpd[7]: disconnect from unknown[unknown] commands=0/0`,
			map[string]string{"src_ip": "", "client_addr": "", "client_name": "unknown"}},
		{h + `postfix/smtpd[7]: proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject, id=31619-02 - spam; from=<> to=<u2@example2.com> proto=SMTP helo=<17.33.12.53>`,
			map[string]string{"action": "reject", "action_raw": "proxy-reject", "smtp_stage": "END-OF-MESSAGE", "reply_code": "554", "dsn": "5.7.0",
				"reason": "Reject, id=31619-02 - spam", "mail_to": "u2@example2.com"}},
		// postscreen, anvil, dnsblog, smtp client errors.
		{h + `postfix/postscreen[8]: CONNECT from [61.238.241.86]:53024 to [89.105.204.244]:25`,
			map[string]string{"src_ip": "61.238.241.86", "src_port": "53024", "dst_ip": "89.105.204.244", "dst_port": "25", "postscreen": "CONNECT"}},
		{h + `postfix/postscreen[8]: PREGREET 14 after 0.08 from [192.0.2.2]:59415: EHLO ylmf-pc\r\n`,
			map[string]string{"src_ip": "192.0.2.2", "postscreen": "PREGREET", "smtp_stage": ""}},
		{h + `postfix/postscreen[8]: NOQUEUE: reject: RCPT from [27.157.200.233]:4984: 550 5.7.1 Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org; from=<h@q.com>, to=<t@example.com>, proto=ESMTP, helo=<q.com>`,
			map[string]string{"src_ip": "27.157.200.233", "src_port": "4984", "mail_from": "h@q.com", "mail_to": "t@example.com", "smtp_proto": "ESMTP",
				"reason": "Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org"}},
		{h + `postfix/anvil[9]: statistics: max connection rate 1/60s for (127.0.0.1:2525:127.0.0.1) at Oct 26 18:13:50`,
			map[string]string{"src_ip": "127.0.0.1", "anvil_service": "127.0.0.1:2525"}},
		{h + `postfix/anvil[9]: statistics: max connection count 1 for (smtpd:2604:8d00:0:1::3) at Oct 26 17:46:59`,
			map[string]string{"src_ip": "2604:8d00:0:1::3", "anvil_service": "smtpd"}},
		{h + `postfix/dnsblog[9]: addr 61.238.241.86 listed by domain psbl.surriel.com as 127.0.0.2`,
			map[string]string{"src_ip": "61.238.241.86", "dnsbl_domain": "psbl.surriel.com", "dnsbl_result": "127.0.0.2"}},
		{h + `postfix/smtp[2]: ED59C3D: host mail2.example.com[1.74.253.23] said: 450 4.7.1 <u@example.com>: Recipient address rejected: Greylisted for 5 minutes (in reply to RCPT TO command)`,
			map[string]string{"relay": "mail2.example.com", "dst_ip": "1.74.253.23", "smtp_stage": "RCPT TO", "reply": "450 4.7.1 <u@example.com>: Recipient address rejected: Greylisted for 5 minutes"}},
		{h + `postfix/smtp[2]: connect to aspmx.l.google.com[2a00:1450:400b:c02::1a]:25: Network is unreachable`,
			map[string]string{"relay": "aspmx.l.google.com", "dst_ip": "2a00:1450:400b:c02::1a", "dst_port": "25", "src_ip": ""}},
		{h + `postfix/smtp[2]: mynetworks: 127.0.0.0/8 [::1]/128`,
			map[string]string{"dst_ip": "", "relay": ""}},
		// Level prefix before the queue id; long queue ids.
		{h + `postfix/cleanup[1]: warning: 9BECF3F19D: sender_canonical_maps map lookup problem for sender@example.com -- message not accepted, try again later`,
			map[string]string{"level": "warning", "queue_id": "9BECF3F19D"}},
		{h + `postfix/cleanup[1]: 48rT2v1hQrz1J0N: prepend: header X-Spam-Status: Yes, score=45.1 required=10.0 tests=ADVANCE_FE from mx2.example.org[192.0.2.41]; from=<SRS0=1sN3=5P=example.org=noreply@srs.example.org> to=<recipient@example.net> proto=ESMTP helo=<mx2.example.org>: X-Spam-Status: Yes`,
			map[string]string{"queue_id": "48rT2v1hQrz1J0N", "action": "prepend", "header_name": "X-Spam-Status", "header_value": "Yes, score=45.1 required=10.0 tests=ADVANCE_FE",
				"mail_from": "SRS0=1sN3=5P=example.org=noreply@srs.example.org", "reason": "X-Spam-Status: Yes", "src_ip": "192.0.2.41"}},
		{h + `postfix/master[10]: daemon started -- version 3.1.4, configuration /etc/postfix`,
			map[string]string{"process": "postfix/master", "pid": "10", "queue_id": ""}},
		{h + `postfix[3281]: fatal: open /etc/postfix/main.cf: No such file or directory`,
			map[string]string{"process": "postfix", "level": "fatal"}},
		// Other programs of a mail log: header fields only.
		{h + `dovecot: imap-login: Login: user=<bob>, method=PLAIN, rip=192.0.2.9`,
			map[string]string{"process": "dovecot", "host": "mx1", "user": "", "src_ip": ""}},
		{h + `sendmail[12355]: 21QCHatD012354: to=<root@example.org>, delay=00:00:00, stat=Sent`,
			map[string]string{"process": "sendmail", "pid": "12355", "mail_to": "", "queue_id": ""}},
		{h + `last message repeated 3 times`,
			map[string]string{"host": "mx1", "process": ""}},
		// The host-less "[postfix/smtpd]" shape of the maillog dump.
		{`Dec 18 16:15:27 [postfix/smtpd] connect from [connection-point]`,
			map[string]string{"process": "postfix/smtpd", "host": "", "src_ip": "", "time": "2024-12-18T16:15:27.000Z"}},
		// RFC 5424 and ISO time stamps.
		{`<22>1 2024-03-01T10:00:00.123+09:00 mx1 postfix/smtpd 123 - - connect from unknown[192.0.2.3]`,
			map[string]string{"time": "2024-03-01T01:00:00.123Z", "host": "mx1", "process": "postfix/smtpd", "src_ip": "192.0.2.3"}},
		{`2024-03-01T10:00:00.123456+09:00 mx1 postfix/qmgr[3]: 345C33E31EB: removed`,
			map[string]string{"time": "2024-03-01T01:00:00.123Z", "queue_id": "345C33E31EB"}},
	}
	for _, tt := range tests {
		ev, err := parseLine(t, tt.line, pc)
		if err != nil {
			t.Errorf("%s\n  error %v", tt.line, err)
			continue
		}
		checkFields(t, tt.line, ev, tt.want)
	}
}

func TestParseErrors(t *testing.T) {
	pc := parse.NewContext(time.UTC, time.Time{})
	for _, line := range []string{"", "   ", "\r\n"} {
		if _, err := parseLine(t, line, pc); !errors.Is(err, parse.ErrSkip) {
			t.Errorf("%q: err = %v, want ErrSkip", line, err)
		}
	}
	for _, line := range []string{
		"orig_to=<a@b>, relay=192.168.1.25[192.168.1.25]:25, status=sent",
		"[20-Oct-2020 14:56:10 +0100]: <ca0a80a9> User x@example.com [41.217.20.98]; Message <m@x> for y@z; 250: OK",
		"hello",
	} {
		_, err := parseLine(t, line, pc)
		if err == nil || errors.Is(err, parse.ErrSkip) {
			t.Errorf("%q: err = %v, want a parse error", line, err)
		}
	}
}

func TestSniff(t *testing.T) {
	yes := []string{
		readFixture(t, "jpcert_fig4-2.log"),
		readFixture(t, "jpcert_fig4-3.log"),
		"Feb 21 09:21:54 xxx postfix/smtpd[14398]: NOQUEUE: reject: RCPT from example.com[192.0.43.10]: 450 4.7.1 : Helo command rejected",
		"Mar 11 23:27:54 server postfix-smo/submission/smtpd[22427]: 44JCRG5tYPzCqt2: reject: BDAT from x[192.0.2.109]: 550 5.5.3",
		"Feb 26 12:16:08 server1 postfix[3281]: fatal: open /etc/postfix/main.cf: No such file or directory",
		"Dec 18 16:15:27 [postfix/smtpd] connect from [connection-point]",
		"<22>1 2024-03-01T10:00:00.123+09:00 mx1 postfix/smtpd 123 - - connect from unknown[192.0.2.3]",
		"2024-03-01T10:00:00.123456+09:00 mx1 postfix/qmgr[3]: 345C33E31EB: removed",
		"<22>Feb 16 11:43:32 mail postfix/qmgr[1]: x",
	}
	no := []string{
		"Aug 29 15:33:13 ns3 named[464]: client 217.148.39.3#1036: query (cache) 'example.com/A/IN' denied",
		"16-Dec-2014 01:03:55 client 192.168.100.1#47197: query: apt.example.com IN A + (192.168.1.1)",
		"1419311401.123    125 192.168.1.10 TCP_MISS/200 1234 GET http://example.com/ - DIRECT/93.184.216.34 text/html",
		"Aug 31 21:10:10 xxxxxxxx dovecot: master: Warning: Killed with signal 15",
		"Feb 26 13:17:36 server1 sendmail[12355]: 21QCHatD012354: to=<root@server1.alsoft.org>, stat=Sent",
		"Feb 26 13:17:36 server1 postfixadmin[1]: login",
		"Feb 26 13:17:36 server1 kernel: postfix/smtpd[1]: fake",
		"[20-Oct-2020 14:56:10 +0100]: <ca0a80a9> User x",
		"postfix/smtpd[1]: no header",
		"",
		"<999999>1 x",
	}
	p := New()
	for _, s := range yes {
		if !p.Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = false", s)
		}
	}
	for _, s := range no {
		if p.Sniff([]byte(s)) {
			t.Errorf("Sniff(%q) = true", s)
		}
	}
	if p.Name() != "postfix" || p.Describe() == "" {
		t.Errorf("Name/Describe = %q/%q", p.Name(), p.Describe())
	}
}

// maillogException explains the lines of the public maillog dump that are not
// syslog lines at all (the dump concatenates other logs and a terminal copy).
func maillogException(line string) string {
	switch {
	case roundcubeRE.MatchString(line):
		return "Roundcube/cPanel webmail (PHP) log line pasted into the dump: not syslog, not Postfix"
	case strings.HasPrefix(line, "[root@"):
		return "a shell prompt pasted into the dump"
	case strings.HasPrefix(line, "orig_to=<") || strings.HasPrefix(line, "(250 "):
		return "continuation of the previous line, wrapped by the terminal it was copied from"
	}
	return ""
}

var roundcubeRE = regexp.MustCompile(`^\[\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2} [^\]]+\]`)

func TestDatasetMaillog(t *testing.T) {
	pc := parse.NewContext(time.UTC, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, name := range []string{"maillog", "mailog2"} {
		path := testutil.Dataset(t, "postfix/postfix-maillog-dump/"+name)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		no, parsed, excepted, postfixLines := 0, 0, map[string]int{}, 0
		var withQueueID, withSrcIP int
		for sc.Scan() {
			no++
			line := sc.Text()
			ev, err := parseLine(t, line, pc)
			if reason := maillogException(line); reason != "" {
				if err == nil {
					t.Errorf("%s:%d: expected an error (%s), parsed: %q", name, no, reason, line)
				}
				excepted[reason]++
				continue
			}
			if err != nil {
				t.Errorf("%s:%d: %v\n  %s", name, no, err, line)
				continue
			}
			parsed++
			if ev.Time.Location() != time.UTC || ev.Time.IsZero() {
				t.Errorf("%s:%d: time %v not UTC", name, no, ev.Time)
			}
			ev.Fields(func(k, v string) {
				if v == "" {
					t.Errorf("%s:%d: field %s empty", name, no, k)
				}
			})
			if dup := duplicateKey(ev); dup != "" {
				t.Errorf("%s:%d: field %s twice", name, no, dup)
			}
			if isPostfixProgram(ev.Get(event.Process)) {
				postfixLines++
			}
			if ev.Has(event.QueueID) {
				withQueueID++
			}
			if ev.Has(event.SrcIP) {
				withSrcIP++
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d lines, %d parsed (%d Postfix, %d with queue id, %d with client IP), not syslog: %v",
			name, no, parsed, postfixLines, withQueueID, withSrcIP, excepted)
		if parsed < no/2 || withQueueID == 0 || withSrcIP == 0 {
			t.Errorf("%s: suspiciously little parsed", name)
		}
	}
}

func TestDatasetWazuh(t *testing.T) {
	pc := parse.NewContext(time.UTC, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC))
	path := testutil.Dataset(t, "postfix/wazuh-ruleset/postfix.ini")
	samples := testutil.WazuhLines(t, path)
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range samples {
		if !New().Sniff([]byte(s.Line)) {
			t.Errorf("%s:%d: Sniff false: %s", s.File, s.No, s.Line)
		}
		ev, err := parseLine(t, s.Line, pc)
		if err != nil {
			t.Errorf("%s:%d: %v", s.File, s.No, err)
			continue
		}
		checkFields(t, s.Line, ev, map[string]string{"src_ip": "157.122.148.242", "src_port": "47407", "action": "reject", "smtp_stage": "RCPT", "process": "postfix/postscreen"})
	}
	t.Logf("wazuh: %d lines parsed", len(samples))
}

// TestDatasetFail2ban parses fail2ban's Postfix test log and checks each
// line's time and client address against the "failJSON" fail2ban expects
// (fail2ban's tests read yearless times as of 2005; "host" is the address
// it would ban).
func TestDatasetFail2ban(t *testing.T) {
	path := testutil.Dataset(t, "postfix/fail2ban/postfix")
	samples := testutil.Fail2banLines(t, path)
	// The failJSON comment before each line.
	expect := map[int]map[string]any{}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pending map[string]any
	for i, l := range strings.Split(string(raw), "\n") {
		if j, ok := strings.CutPrefix(l, "# failJSON: "); ok {
			pending = nil
			if err := json.Unmarshal([]byte(j), &pending); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			continue
		}
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		expect[i+1] = pending
		pending = nil
	}
	pc := parse.NewContext(time.UTC, time.Date(2005, 8, 14, 12, 0, 0, 0, time.UTC))
	checked := 0
	for _, s := range samples {
		if !New().Sniff([]byte(s.Line)) {
			t.Errorf("%s:%d: Sniff false: %s", s.File, s.No, s.Line)
		}
		ev, err := parseLine(t, s.Line, pc)
		if err != nil {
			t.Errorf("%s:%d: %v", s.File, s.No, err)
			continue
		}
		want := expect[s.No]
		if host, ok := want["host"].(string); ok {
			if got := ev.Get(event.SrcIP); got != host {
				t.Errorf("%s:%d: src_ip = %q, fail2ban expects %q\n  %s", s.File, s.No, got, host, s.Line)
			}
			checked++
		}
		if ts, ok := want["time"].(string); ok {
			wt, err := time.Parse("2006-1-2T15:04:05", ts)
			if err != nil {
				t.Fatalf("%s:%d: bad failJSON time %q", s.File, s.No, ts)
			}
			if !ev.Time.Equal(wt) {
				t.Errorf("%s:%d: time = %s, fail2ban expects %s", s.File, s.No, event.FormatTime(ev.Time), ts)
			}
		}
	}
	t.Logf("fail2ban: %d lines parsed, %d client addresses checked against failJSON", len(samples), checked)
	if checked < 40 {
		t.Errorf("only %d addresses checked", checked)
	}
}

// grokCase is one test of whyscream/postfix-grok-patterns.
type grokCase struct {
	Pattern string         `yaml:"pattern"`
	Data    string         `yaml:"data"`
	Results map[string]any `yaml:"results"`
}

// grokFragment lists the grok tests whose data is a sub-pattern, not a log
// message (they still go through Parse, which must not fail).
var grokFragment = map[string]string{
	"POSTFIX_COMMAND_COUNTER_DATA": "the command counters of a disconnect line, not a message",
	"POSTFIX_DELAYS":               "the value of delays=, not a message",
	"POSTFIX_RELAY":                "the value of relay=, not a message",
	"POSTFIX_TLS_FEATURES":         "the value of tls= (only when the data is not a delivery line)",
}

var grokPatternRE = regexp.MustCompile(`%\{(POSTFIX_[A-Z_]+)\}`)

// TestDatasetGrokPatterns runs every data line of postfix-grok-patterns'
// tests (message part only: a syslog header with the daemon the pattern is
// for is put in front) and checks that our fields agree with the grok
// results where they name the same thing.
func TestDatasetGrokPatterns(t *testing.T) {
	dir := testutil.Dataset(t, "postfix/postfix-grok-patterns/test")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no grok tests in %s: %v", dir, err)
	}
	pc := parse.NewContext(time.UTC, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC))
	compared, lines := 0, 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var c grokCase
		if err := yaml.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		m := grokPatternRE.FindStringSubmatch(c.Pattern)
		if m == nil {
			t.Fatalf("%s: pattern %q", file, c.Pattern)
		}
		daemon := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(m[1], "POSTFIX_")), "_", "-")
		switch m[1] {
		case "POSTFIX_TLS_FEATURES", "POSTFIX_DELAYS", "POSTFIX_RELAY":
			daemon = "smtp"
		case "POSTFIX_COMMAND_COUNTER_DATA":
			daemon = "smtpd"
		case "POSTFIX_SCRIPT":
			daemon = "postfix-script"
		}
		line := "Oct 26 18:13:50 mx postfix/" + daemon + "[123]: " + c.Data
		lines++
		ev, err := parseLine(t, line, pc)
		name := filepath.Base(file)
		if err != nil {
			t.Errorf("%s: %v\n  %s", name, err, line)
			continue
		}
		if dup := duplicateKey(ev); dup != "" {
			t.Errorf("%s: field %s twice", name, dup)
		}
		if _, frag := grokFragment[m[1]]; frag && !strings.Contains(c.Data, ": to=<") {
			continue
		}
		for k, v := range c.Results {
			want := fmt.Sprint(v)
			got, ok := grokField(ev, k, want)
			if !ok {
				continue
			}
			compared++
			if got != want {
				t.Errorf("%s: %s: got %q, grok expects %q\n  %s", name, k, got, want, line)
			}
		}
	}
	t.Logf("grok: %d data lines parsed, %d fields compared", lines, compared)
}

// grokField returns our value for a grok field name, ok=false when we have
// no equivalent field. Where our value is normalized differently it is
// mapped back to the grok spelling.
func grokField(ev *event.Event, k, want string) (string, bool) {
	switch k {
	case "postfix_queueid":
		if want == "NOQUEUE" && !ev.Has(event.QueueID) {
			return want, true // NOQUEUE is not a queue id: we store none
		}
		return ev.Get(event.QueueID), true
	case "postfix_client_ip":
		return ev.Get(event.SrcIP), true
	case "postfix_client_port":
		return ev.Get(event.SrcPort), true
	case "postfix_client_hostname":
		return ev.Extra("client_name"), true
	case "postfix_relay_hostname":
		return ev.Extra("relay"), true
	case "postfix_relay_ip", "postfix_server_ip":
		return ev.Get(event.DstIP), true
	case "postfix_relay_port", "postfix_server_port":
		return ev.Get(event.DstPort), true
	case "postfix_from":
		return ev.Get(event.MailFrom), true
	case "postfix_status":
		return ev.Get(event.Status), true
	case "postfix_smtp_stage":
		return ev.Extra("smtp_stage"), true
	case "postfix_status_code":
		return ev.Extra("reply_code"), true
	case "postfix_status_code_enhanced":
		return ev.Extra("dsn"), true
	case "postfix_status_message":
		// Our reason keeps the "<address>: " grok splits off.
		if r := ev.Extra("reason"); strings.HasSuffix(r, want) {
			return want, true
		} else {
			return r, true
		}
	case "postfix_action":
		if raw := ev.Extra("action_raw"); raw != "" {
			return raw, true
		}
		return ev.Get(event.Action), true
	case "postfix_message_level":
		if lv := ev.Extra("level"); lv != "" {
			return lv, true
		}
		// header_checks "warning:" / "info:" are actions to us.
		if raw := ev.Extra("action_raw"); raw != "" {
			return raw, true
		}
		return ev.Get(event.Action), true
	case "postfix_message-id":
		return ev.Extra("message_id"), true
	case "postfix_bounce_queueid":
		return ev.Extra("bounce_queue_id"), true
	case "postfix_dnsbl_domain":
		return ev.Extra("dnsbl_domain"), true
	case "postfix_dnsbl_result":
		return ev.Extra("dnsbl_result"), true
	case "postfix_postscreen_violation", "postfix_postscreen_access":
		return ev.Extra("postscreen"), true
	case "postfix_keyvalue_data":
		// Check the envelope addresses it holds.
		for _, f := range []struct {
			key string
			k   event.Key
		}{{"from=", event.MailFrom}, {"to=", event.MailTo}} {
			i := kvIndex(want, f.key)
			if i < 0 {
				continue
			}
			v := want[i+len(f.key):]
			if strings.HasPrefix(v, "<") {
				v = v[1:strings.IndexByte(v, '>')]
			} else if e := strings.IndexAny(v, ", "); e >= 0 {
				v = v[:e]
			}
			if got := ev.Get(f.k); got != v {
				return fmt.Sprintf("%s%s (ours %q)", f.key, v, got), true
			}
		}
		return want, true
	}
	return "", false
}

// kvIndex finds "key" at the start of s or after a space.
func kvIndex(s, key string) int {
	if strings.HasPrefix(s, key) {
		return 0
	}
	if i := strings.Index(s, " "+key); i >= 0 {
		return i + 1
	}
	return -1
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"jpcert_fig4-2.log", "jpcert_fig4-3.log"} {
		f.Add(readFixture(f, name))
	}
	for _, s := range []string{
		"Oct 26 18:13:50 mx1 postfix/smtp[2]: 7EE668039: to=<admin@example.com>, relay=mail.example.com[192.0.2.25]:2525, delay=3.6, dsn=2.0.0, status=sent (250 ok)",
		"Oct 26 18:13:50 mx1 postfix/smtpd[7]: NOQUEUE: reject: RCPT from unknown[1.2.3.4]: 504 5.5.2 <a@b>: x; from=<a@b> to=<c@d> proto=SMTP helo=<t>",
		"Oct 26 18:13:50 mx1 postfix/postscreen[8]: CONNECT from [61.238.241.86]:53024 to [89.105.204.244]:25",
		"Oct 26 18:13:50 mx1 postfix/cleanup[1]: 3F2A1C0B7D: warning: header From: =?UTF-8?B?5bGx55Sw?=? <b@example.com> from x; from=<",
		"Oct 26 18:13:50 mx1 postfix/anvil[9]: statistics: max connection count 1 for (smtpd:",
		"Dec 18 16:15:27 [postfix/smtpd] connect from [x]:",
		"Oct 26 18:13:50 mx1 postfix/smtpd[7]: proxy-accept: END-OF-MESSAGE: 250",
	} {
		f.Add(s)
	}
	pc := parse.NewContext(time.UTC, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC))
	p := New()
	f.Fuzz(func(t *testing.T, s string) {
		p.Sniff([]byte(s))
		var ev event.Event
		if err := p.Parse([]byte(s), &ev, pc); err != nil {
			return
		}
		if !ev.Time.IsZero() && ev.Time.Location() != time.UTC {
			t.Fatalf("time %v not UTC", ev.Time)
		}
		ev.Fields(func(k, v string) {
			if v == "" {
				t.Fatalf("field %s empty", k)
			}
		})
		if dup := duplicateKey(&ev); dup != "" {
			t.Fatalf("field %s twice", dup)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	pc := parse.NewContext(time.UTC, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC))
	p := New()
	lines := map[string][]byte{
		"header":   []byte(readFixture(b, "jpcert_fig4-3.log")),
		"delivery": []byte("Oct 26 18:13:50 mx1 postfix/smtp[2]: 7EE668039: to=<admin@example.com>, relay=mail.example.com[192.0.2.25]:2525, delay=3.6, delays=0.2/0.02/0.04/3.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 153053D)"),
		"reject":   []byte("Jul 12 07:47:48 saturn postfix/smtpd[8738]: NOQUEUE: reject: RCPT from 1-2-3-4-example.com[1.2.3.4]: 554 5.7.1 <smtp@example.com>: Relay access denied; from=<john@example.com> to=<smtp@example.org> proto=SMTP helo=<198.51.100.17>"),
	}
	for name, line := range lines {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			var ev event.Event
			for b.Loop() {
				ev.Reset()
				if err := p.Parse(line, &ev, pc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
