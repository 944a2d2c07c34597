package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kizuki-dev/kizuki/internal/alert"
	"github.com/kizuki-dev/kizuki/internal/event"
	"github.com/kizuki-dev/kizuki/internal/health"
	"github.com/kizuki-dev/kizuki/internal/live"
)

// silentNext is what to check when a source falls silent (C7).
var silentNext = alert.Text{
	EN: []string{
		"Check that the source is up and its log agent (rsyslog, syslog-ng, NXLog, Winlogbeat) runs and still points at this server.",
		"Check the network path: a changed route, firewall rule or certificate stops delivery silently.",
		"If the source is up and sends nothing, check whether logging was turned off or its configuration changed: attackers silence logs before acting (ASD: logging disabled is itself an event to investigate).",
	},
	JA: []string{
		"送信元の機器が稼働しているか、ログ転送エージェント（rsyslog、syslog-ng、NXLog、Winlogbeat など）が動作し、このサーバーを宛先にしているかを確認してください。",
		"経路を確認してください。経路、ファイアウォールのルール、証明書の変更で配送が黙って止まることがあります。",
		"機器が稼働しているのに何も送ってこない場合は、ログ出力が停止されていないか、設定が変更されていないかを確認してください。攻撃者は行動の前にログを止めることがあります。",
	},
}

// watchSilence raises an alert, once per silence, for every source heard
// from before and silent for longer than after: checked every interval.
func watchSilence(ctx context.Context, tracker *health.Tracker, det *live.Detector, after, interval time.Duration, logf func(string, ...any)) {
	if after <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, s := range tracker.Sources(after) {
			if !s.Silent {
				continue
			}
			last := s.LastSeen.UTC().Format(event.TimeFormat)
			a := live.Alert{
				Kind: live.KindHealth, RuleID: "C7", Rule: "Log source went silent", Level: "medium",
				Host: s.Host, Source: s.Listener, Origin: s.Name, Time: last, LastTime: last,
				Key:     "silent|" + s.Name + "|" + last,
				Summary: fmt.Sprintf("%s sent nothing since %s (%s messages before); silent for more than %s", s.Name, last, fmt.Sprint(s.Messages), after),
				Fields: map[string]string{"listener": s.Listener, "host": s.Host, "last_seen": last,
					"messages": fmt.Sprint(s.Messages), "silent_after": after.String()},
				Requirements: []string{"C7"},
				NextSteps:    &silentNext,
			}
			if _, err := det.Raise(ctx, a); err != nil && ctx.Err() == nil {
				logf("silent source alert: %v", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
