package jpcert

import (
	"context"
	"strings"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/detect"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/org"
)

// J6: CONNECT to ports other than 80/443 (JPCERT §4.2.3.2).
//
// Malware uses the proxy's CONNECT method to tunnel to its C&C or download
// site. Browsers CONNECT to 443 (rarely 80); any other port is reported.
// The port is the logged destination port, or the port of the CONNECT
// target "host:port" when the parser did not set one. A tunnel the proxy
// allowed is rated high; a denied attempt (the document's example,
// TCP_DENIED/403 to 192.168.x.x:8089) is still a finding, rated medium.

type j6State struct {
	a       *alert.Alert
	allowed int64
	denied  int64
}

type j6 struct {
	info *detect.Info
	m    *org.Model
	g    *detect.Group
	st   map[string]*j6State

	connects int64
	noPort   int64
}

// NewJ6 returns the CONNECT-to-unusual-port analysis.
func NewJ6(m *org.Model) detect.Detector {
	in := &detect.Info{
		ID:           "J6",
		Title:        "CONNECT to ports other than 80/443",
		TitleJA:      "CONNECT メソッドで 80、443 以外ポートへの通信を抽出するログ分析",
		Requirements: []string{"J6"},
		Section:      "4.2.3.2",
		Categories:   []string{detect.Proxy},
		Stages: j16Stages(alert.Delivery, alert.Installation, alert.CommandAndControl, // §4.2.3.2 (c)

			alert.ActionsOnObjectives),
		Techniques: []string{"B", "D", "H"},
		Attack:     []string{"T1090", "T1571", "T1572"},
		NextSteps: j16Text([]string{
			"The attack is suspected to have reached the Delivery, Installation, C&C or Actions-on-objectives stage: check whether the PC keeps communicating with the destination and whether other PCs communicate with it.",
			"Investigate what kind of site the destination is, e.g. from its WHOIS registration.",
			"If the proxy allowed the tunnel, review its CONNECT policy (Squid: http_access deny CONNECT !SSL_ports) and check the client's other traffic (J5, J7–J10).",
		}, []string{
			"高度サイバー攻撃が「デリバリ」、「インストール」、「C&C」、または「目的の実行」の段階に到達していることが疑われる。当該 PC から問題の送信先に継続して通信していないか、他の PC が問題の送信先と通信をしていないかなどを確認する必要がある。",
			"送信先についても、WHOIS の登録情報などにより、どのような素性のサイトかを調査しておくのがよい。",
			"プロキシがトンネルを許可していた場合は CONNECT の許可設定（Squid: http_access deny CONNECT !SSL_ports）を見直し、当該 PC の他の通信（J5、J7〜J10）も確認する。",
		}),
		Caveats: j16Text([]string{
			"If the Internet can be reached without going through the web proxy, detections can be missed.",
			"In the past, SMTP or high ports through the web proxy were often seen, but such cases have become fewer.",
			"Some legitimate applications tunnel to other ports (e.g. 8443, 5222 chat, 993 IMAPS): confirm the application with the user before concluding.",
		}, []string{
			"インターネットへの通信が、Web プロキシサーバを経由せずとも可能な場合には、検知漏れが生ずる可能性がある。",
			"過去には Web プロキシサーバ経由で SMTP もしくはハイポートなどによる通信の事例がしばしば見られたが、現在は少なくなってきた。",
			"正規のアプリケーションが 80、443 以外のポート（8443、5222、993 など）に CONNECT することもあるため、利用者にアプリケーションを確認してから判断する。",
		}),
	}
	return &j6{info: in, m: m, g: detect.NewGroup(in), st: map[string]*j6State{}}
}

func (d *j6) Info() *detect.Info { return d.info }

func (d *j6) Observe(ev *event.Event) {
	method := ev.Get(event.Method)
	if method != "CONNECT" && (len(method) != 7 || !strings.EqualFold(method, "CONNECT")) {
		return
	}
	d.connects++
	host, port := ev.Get(event.Domain), ev.Get(event.DstPort)
	if host == "" || port == "" {
		h, p := j16HostPort(ev.Get(event.URL))
		if host == "" {
			host = strings.ToLower(h)
		}
		if port == "" {
			port = p
		}
	}
	if port == "" {
		d.noPort++
		return
	}
	if port == "443" || port == "80" {
		return
	}
	st := ev.Get(event.Status)
	denied := j16Denied(ev.Get(event.Action)) || st == "403" || st == "407"
	client := ev.Get(event.SrcIP)
	key := client + "|" + host + ":" + port
	s := d.st[key]
	if s == nil {
		a := d.g.Add(key, client, ev, func(a *alert.Alert) {
			f := a.Fields
			f["src"] = client
			f["dst"] = host
			f["dst_port"] = port
			if ip := j5HostIP(host); ip.IsValid() {
				f["dst_ip"] = ip.String()
			} else {
				f["domain"] = host
			}
			if v := ev.Get(event.URL); v != "" {
				f["url"] = v
			}
			if v := ev.Extra("result_code"); v != "" {
				f["result_code"] = v
			}
			if v := ev.Get(event.UserAgent); v != "" {
				f["user_agent"] = v
			}
		})
		if a == nil {
			return
		}
		s = &j6State{a: a}
		d.st[key] = s
	} else {
		s.a.AddEvidence(alert.EvidenceOf(ev))
	}
	if denied {
		s.denied++
	} else {
		s.allowed++
	}
}

func (d *j6) Flush(_ context.Context, emit func(*alert.Alert)) {
	d.g.Each(func(key string, a *alert.Alert) {
		s := d.st[key]
		f := a.Fields
		a.Severity = alert.Medium
		if s.allowed > 0 {
			a.Severity = alert.High
		}
		f["allowed"] = j16Itoa(s.allowed)
		f["denied"] = j16Itoa(s.denied)
		var parts []string
		if s.allowed > 0 {
			parts = append(parts, j16Times(s.allowed, "allowed", "allowed"))
		}
		if s.denied > 0 {
			parts = append(parts, j16Times(s.denied, "denied", "denied"))
		}
		a.Summary = f["src"] + " used CONNECT through the web proxy to " + f["dst"] + " port " + f["dst_port"] +
			" (not 80/443): " + strings.Join(parts, ", ")
	})
	d.g.Emit(emit, nil)
}

func (d *j6) Notes() []detect.Note {
	var out []detect.Note
	if d.noPort > 0 && d.noPort == d.connects {
		out = append(out, detect.Note{Rule: "J6", Level: detect.Degraded,
			Message: "CONNECT records carry no destination port (neither a port field nor host:port in the URL): ports could not be checked",
			Enable:  "Squid: log the request URL (%ru, default in the native and combined formats)"})
	}
	return append(out, d.g.DroppedNote()...)
}
