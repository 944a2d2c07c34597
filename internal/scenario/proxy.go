package scenario

import (
	"fmt"
	"strings"
	"time"
)

// proxyReq is one Squid "combined" access-log line:
//
//	%>a %ui %un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st "%{Referer}>h" "%{User-Agent}>h" %Ss:%Sh
type proxyReq struct {
	t       time.Time
	client  string
	method  string
	url     string // absolute URL, or host:port for CONNECT
	status  int
	bytes   int64
	referer string
	ua      string
	tag     string // e.g. TCP_MISS:HIER_DIRECT
}

func (p proxyReq) String() string {
	ref := p.referer
	if ref == "" {
		ref = "-"
	}
	return fmt.Sprintf("%s - - [%s] \"%s %s HTTP/1.1\" %d %d \"%s\" \"%s\" %s",
		p.client, p.t.Format("02/Jan/2006:15:04:05 -0700"), p.method, p.url, p.status, p.bytes, ref, p.ua, p.tag)
}

func (g *gen) proxy(p proxyReq, tags ...int) {
	g.add(FileProxy, p.t, p.String(), tags...)
}

// site is a web destination of the background traffic.
type site struct {
	host   string
	tls    bool     // reached with CONNECT host:443
	paths  []string // page paths (http sites)
	assets []string // asset hosts (http sites); "" = same host
	extra  []string // extra hosts contacted with CONNECT (tls sites)
	weight int
}

// popular sites: all on the allowlist.
var popular = []site{
	{host: "www.google.co.jp", tls: true, extra: []string{"www.gstatic.com", "ssl.gstatic.com", "apis.google.com"}, weight: 30},
	{host: "www.google.com", tls: true, extra: []string{"www.gstatic.com", "fonts.googleapis.com"}, weight: 8},
	{host: "www.yahoo.co.jp", paths: []string{"/"}, assets: []string{"s.yimg.jp", "k.yimg.jp"}, weight: 18},
	{host: "news.yahoo.co.jp", paths: []string{"/pickup/6149934", "/pickup/6150211", "/hl?c=bus", "/list/?c=computer"}, assets: []string{"s.yimg.jp", "amd.c.yimg.jp"}, weight: 10},
	{host: "weather.yahoo.co.jp", paths: []string{"/weather/jp/13/4410.html"}, assets: []string{"s.yimg.jp"}, weight: 3},
	{host: "transit.yahoo.co.jp", paths: []string{"/search/result?from=%E5%93%81%E5%B7%9D&to=%E6%96%B0%E5%A4%A7%E9%98%AA"}, assets: []string{"s.yimg.jp"}, weight: 3},
	{host: "www.nikkei.com", paths: []string{"/", "/article/DGXLASGC03H0B_T00C15A2000000/", "/markets/", "/news/category/"}, assets: []string{"", "parts.nikkei.com"}, weight: 6},
	{host: "www.asahi.com", paths: []string{"/", "/articles/ASH2Y5RQCH2YULFA01C.html", "/business/"}, assets: []string{"", "www.asahicom.jp"}, weight: 4},
	{host: "ja.wikipedia.org", tls: true, extra: []string{"upload.wikimedia.org"}, weight: 5},
	{host: "www.amazon.co.jp", tls: true, extra: []string{"images-fe.ssl-images-amazon.com"}, weight: 4},
	{host: "www.microsoft.com", paths: []string{"/ja-jp/", "/ja-jp/download/details.aspx?id=45498", "/ja-jp/windows/"}, assets: []string{"", "c.s-microsoft.com"}, weight: 3},
	{host: "www.example.co.jp", paths: []string{"/", "/company/", "/news/2015/0202.html", "/products/"}, assets: []string{""}, weight: 6},
	{host: "www.jpcert.or.jp", paths: []string{"/", "/at/2015/at150005.html", "/wr/2015/wr150501.html"}, assets: []string{""}, weight: 2},
	{host: "www.ipa.go.jp", paths: []string{"/security/ciadr/vul/20150210-ms.html", "/security/"}, assets: []string{""}, weight: 2},
	{host: "www.youtube.com", tls: true, extra: []string{"i.ytimg.com", "s.ytimg.com"}, weight: 2},
	{host: "www.facebook.com", tls: true, extra: []string{"fbstatic-a.akamaihd.net"}, weight: 2},
	{host: "twitter.com", tls: true, extra: []string{"abs.twimg.com"}, weight: 2},
	{host: "www.bing.com", paths: []string{"/search?q=%E4%BC%9A%E8%AD%B0%E5%AE%A4+%E4%BA%88%E7%B4%84&form=QBLH"}, assets: []string{""}, weight: 2},
	{host: "www.jorudan.co.jp", paths: []string{"/norikae/", "/norikae/cgi/nori.cgi?eki1=%E6%9D%B1%E4%BA%AC&eki2=%E6%A8%AA%E6%B5%9C"}, assets: []string{""}, weight: 2},
	{host: "example-corp.cybozu.com", tls: true, extra: []string{"static.cybozu.com"}, weight: 10},
}

// Asset hosts that are not themselves on the allowlist would be visited on
// every day; the ones above are all covered by the allowlist (asahicom.jp,
// wikimedia.org, akamaihd.net, twimg.com, ytimg.com and s-microsoft.com are
// listed in assetAllow).
var assetAllow = []string{"*.asahicom.jp", "*.wikimedia.org", "*.akamaihd.net", "*.twimg.com", "*.ytimg.com", "*.s-microsoft.com"}

func init() { allowDomains = append(allowDomains, assetAllow...) }

var (
	imageNames = []string{"logo", "header", "sprite", "banner", "icon", "bg_top", "btn_search", "spacer"}
	jsNames    = []string{"common", "main", "app", "jquery.min", "analytics", "ads", "slider"}
	cssNames   = []string{"common", "style", "top", "layout", "print"}
)

// ipOf maps an external host name to a stable, plausible public address.
func ipOf(name string) string {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	prefixes := []string{"216.58", "173.194", "182.22", "183.79", "210.129", "202.238", "104.16", "54.230", "13.107", "157.7", "23.62", "124.83", "118.214", "210.140"}
	p := prefixes[h%uint32(len(prefixes))]
	return fmt.Sprintf("%s.%d.%d", p, (h>>8)%254+1, (h>>16)%253+2)
}

// tagFor returns a plausible %Ss:%Sh for a GET with the given status.
func (g *gen) tagFor(status int) string {
	switch status {
	case 304:
		if g.chance(0.5) {
			return "TCP_REFRESH_UNMODIFIED:HIER_DIRECT"
		}
		return "TCP_IMS_HIT:HIER_NONE"
	case 200:
		switch x := g.r.IntN(100); {
		case x < 12:
			return "TCP_HIT:HIER_NONE"
		case x < 18:
			return "TCP_MEM_HIT:HIER_NONE"
		}
	}
	return "TCP_MISS:HIER_DIRECT"
}

// browse emits one page visit of host h to site s at t: the page and its
// assets for http sites, a few CONNECT tunnels for https sites. It returns
// the time the visit ends.
func (g *gen) browse(h *host, s site, t time.Time, ua string) time.Time {
	if ua == "" {
		ua = h.ua
	}
	if s.tls {
		hosts := append([]string{s.host}, s.extra...)
		n := g.between(1, len(hosts))
		for i := 0; i < n; i++ {
			hn := hosts[i]
			size := int64(g.between(1800, 90000))
			if g.chance(0.08) {
				size = int64(g.between(150000, 900000))
			}
			g.proxy(proxyReq{t: t, client: h.ip, method: "CONNECT", url: hn + ":443", status: 200, bytes: size, ua: ua, tag: "TCP_TUNNEL:HIER_DIRECT"})
			g.egress(t, hn, 443, size)
			t = t.Add(time.Duration(g.between(200, 2500)) * time.Millisecond)
		}
		return t
	}
	path := pick(g, s.paths)
	page := "http://" + s.host + path
	status := 200
	if g.chance(0.04) {
		status = 302
	} else if g.chance(0.01) {
		status = 404
	}
	size := int64(g.between(6000, 95000))
	if status != 200 {
		size = int64(g.between(380, 1200))
	}
	g.proxy(proxyReq{t: t, client: h.ip, method: "GET", url: page, status: status, bytes: size, ua: ua, tag: g.tagFor(status)})
	g.egress(t, s.host, 80, size)
	if status != 200 {
		return t.Add(time.Second)
	}
	n := g.between(1, 5)
	for i := 0; i < n; i++ {
		t = t.Add(time.Duration(g.between(30, 900)) * time.Millisecond)
		ah := pick(g, s.assets)
		if ah == "" {
			ah = s.host
		}
		var path string
		var sz int64
		switch g.r.IntN(3) {
		case 0:
			path, sz = "/images/"+pick(g, imageNames)+pick(g, []string{".png", ".gif", ".jpg"}), int64(g.between(900, 48000))
		case 1:
			path, sz = "/js/"+pick(g, jsNames)+".js", int64(g.between(2000, 110000))
		default:
			path, sz = "/css/"+pick(g, cssNames)+".css", int64(g.between(1200, 30000))
		}
		st := 200
		if g.chance(0.25) {
			st, sz = 304, int64(g.between(250, 420))
		}
		g.proxy(proxyReq{t: t, client: h.ip, method: "GET", url: "http://" + ah + path, status: st, bytes: sz, referer: page, ua: ua, tag: g.tagFor(st)})
	}
	return t.Add(time.Second)
}

// ---- long tail -------------------------------------------------------------

// longTail hands out non-allowlisted domains so that none of them is visited
// on more than two days in the whole scenario (J8 must stay quiet on them).
type longTail struct {
	pool []site
	next int
	days map[string]map[int]bool
}

var (
	ltWords1 = []string{"sakura", "hikari", "midori", "aozora", "kirameki", "tsubasa", "hoshizora", "komorebi",
		"yuuhi", "minato", "kawase", "shiokaze", "momiji", "ichigo", "mikan", "nagomi", "hanabi", "yukiguni",
		"shinkai", "takumi", "kaede", "tsumugi", "hinata", "kotori", "wakaba", "fuurin", "sazanami", "akane"}
	ltWords2 = []string{"travel", "kitchen", "books", "design", "camera", "garden", "life", "works", "shop",
		"labo", "times", "style", "navi", "club", "press", "gourmet", "photo", "tech", "note", "market"}
	ltTLDs = []string{".jp", ".co.jp", ".com", ".net", ".jp", ".com"}
)

func newLongTail(g *gen) *longTail {
	lt := &longTail{days: map[string]map[int]bool{}}
	for i, w1 := range ltWords1 {
		for j, w2 := range ltWords2 {
			tld := ltTLDs[(i*7+j*3)%len(ltTLDs)]
			var name string
			switch (i + j) % 4 {
			case 0:
				name = "www." + w1 + "-" + w2 + tld
			case 1:
				name = w1 + w2 + tld
			case 2:
				name = "blog." + w1 + "-" + w2 + tld
			default:
				name = "www." + w1 + w2 + tld
			}
			s := site{host: name, tls: (i+2*j)%5 == 0, weight: 1}
			if !s.tls {
				s.paths = []string{"/", "/index.html", "/archives/" + fmt.Sprint(1000+i*37+j), "/category/" + w2 + "/"}
				s.assets = []string{""}
			}
			lt.pool = append(lt.pool, s)
		}
	}
	// deterministic shuffle
	for i := len(lt.pool) - 1; i > 0; i-- {
		k := g.r.IntN(i + 1)
		lt.pool[i], lt.pool[k] = lt.pool[k], lt.pool[i]
	}
	return lt
}

// get returns a long-tail site usable on day d, or false when every domain
// has been used on two days already.
func (lt *longTail) get(g *gen, d int) (site, bool) {
	// prefer a domain already used today (several visits on the same day
	// are fine), otherwise a fresh one
	if g.chance(0.3) {
		var today []site
		for _, s := range lt.pool {
			if lt.days[s.host][d] {
				today = append(today, s)
			}
		}
		if len(today) > 0 {
			return pick(g, today), true
		}
	}
	for tries := 0; tries < len(lt.pool); tries++ {
		s := lt.pool[lt.next%len(lt.pool)]
		lt.next++
		used := lt.days[s.host]
		if used[d] || len(used) < 2 {
			if used == nil {
				used = map[int]bool{}
				lt.days[s.host] = used
			}
			used[d] = true
			return s, true
		}
	}
	return site{}, false
}

// hostOfURL returns the host of an absolute URL or host:port.
func hostOfURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/:"); i >= 0 {
		u = u[:i]
	}
	return u
}
