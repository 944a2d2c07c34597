package ioc

import (
	"strings"
	"testing"
)

// The three parsers read outside data; whatever they are given, they must
// return an error or a list whose every indicator is normalized (parsing
// its value again with its kind gives the same value) and whose report
// adds up.
func checkList(t *testing.T, l *List, rep Report, err error) {
	if err != nil {
		return
	}
	if rep.Indicators != len(l.Indicators) {
		t.Fatalf("report says %d indicators, list holds %d", rep.Indicators, len(l.Indicators))
	}
	sum := 0
	for _, n := range rep.ByKind {
		sum += n
	}
	if sum != rep.Indicators || rep.ProblemCount < len(rep.Problems) || len(rep.Problems) > MaxProblems {
		t.Fatalf("report does not add up: %+v", rep)
	}
	seen := map[string]bool{}
	for _, in := range l.Indicators {
		again, err := NewIndicator(in.Kind, in.Value)
		if err != nil || again.Value != in.Value || again.Kind != in.Kind {
			t.Fatalf("%s is not normalized: %v %s", in.Key(), err, again.Key())
		}
		if seen[in.Key()] {
			t.Fatalf("%s twice", in.Key())
		}
		seen[in.Key()] = true
	}
	m, err := Compile([]*List{l}, 0)
	if err != nil || m.Len() != len(l.Indicators) {
		t.Fatalf("compile: %v", err)
	}
}

var fuzzLimits = Limits{MaxBytes: 1 << 20, MaxLine: 4096, MaxIndicators: 10_000}

func FuzzParseText(f *testing.F) {
	f.Add(string(readTestdata(f, "feed.txt")))
	f.Add("evil[.]example # c\n0.0.0.0 x.example\nhxxps://a.example/p?q#f\n::ffff:1.2.3.4/120\n")
	f.Add("\xef\xbb\xbfa.example,b\r\n*.c.example\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, rep, err := ParseText("f.txt", strings.NewReader(s), fuzzLimits)
		checkList(t, l, rep, err)
	})
}

func FuzzParseCSV(f *testing.F) {
	f.Add(string(readTestdata(f, "feed.csv")))
	f.Add("indicator\na.example\n\"b.example\",x\n")
	f.Add("value,type\n\"1.2.3.0/24\",cidr\nx,\"md5\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, rep, err := ParseCSV("f.csv", strings.NewReader(s), fuzzLimits)
		checkList(t, l, rep, err)
	})
}

func FuzzParseSTIX(f *testing.F) {
	f.Add(string(readTestdata(f, "bundle.json")))
	f.Add(`[{"type":"indicator","id":"indicator--1","pattern":"([url:value = 'http://x.example/a'] OR [email-addr:value = 'a@x.example'])"}]`)
	f.Add(`{"type":"indicator","pattern":"[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709' OR ipv4-addr:value ISSUBSET '10.0.0.0/8']"}`)
	f.Add(`{"type":"bundle","objects":[{"type":"indicator","pattern":"[a:b IN ('x', 'y')] AND [c:d = h'00']"}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		l, rep, err := ParseSTIX("f.json", strings.NewReader(s), fuzzLimits)
		checkList(t, l, rep, err)
	})
}

// FuzzPattern checks the pattern parser alone: no panic, and what it
// accepts has comparisons.
func FuzzPattern(f *testing.F) {
	for _, p := range []string{
		"[domain-name:value = 'bad.example']",
		"[ipv4-addr:value = '203.0.113.0/24'] OR [ipv6-addr:value ISSUBSET '2001:db8:c2::/48']",
		"[file:hashes.'SHA-256' = 'aa' OR file:hashes.MD5 = 'bb']",
		"[network-traffic:dst_ref.value = '203.0.113.9' AND network-traffic:dst_port = 8089]",
		"[domain-name:value = 'beacon.example'] REPEATS 5 TIMES WITHIN 300 SECONDS",
		"((([x:y = 'a'])))",
		"[x:values[*] = 'a\\'b']",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		cs, err := parsePattern(p)
		if err == nil && len(cs) == 0 {
			t.Fatal("accepted without comparisons")
		}
		for _, c := range cs {
			indicatorOf(c) // must not panic
		}
	})
}
