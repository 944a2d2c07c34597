package scenario

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The organization's address plan.
const (
	domain     = "example.co.jp"
	netbios    = "EXAMPLE"
	realm      = "EXAMPLE.CO.JP"
	domainSID  = "S-1-5-21-3623811015-3361044348-30300820"
	fwIP       = "192.168.1.1"
	proxyIP    = "192.168.1.5"
	mailIP     = "192.168.1.6"
	dnsIP      = "192.168.1.53"
	dcIP       = "192.168.200.3"
	adminIP    = "192.168.200.5"
	appIP      = "192.168.200.10"
	fsIP       = "192.168.200.20"
	victimIP   = "192.168.100.23"
	mailHost   = "mail-server"
	dcComputer = "DC01.example.co.jp"
)

// Browser and tool User-Agents of the organization.
const (
	uaFirefox = "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:35.0) Gecko/20100101 Firefox/35.0"
	uaIE11    = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
	uaIE11W81 = "Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko"
	uaChrome  = "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/40.0.2214.111 Safari/537.36"
	uaOffice  = "Microsoft Office/15.0 (Windows NT 6.1; Microsoft Outlook 15.0.4693; Pro)"
	uaJava    = "Java/1.8.0_31"
	uaCrypto  = "Microsoft-CryptoAPI/6.1"
	uaWU      = "Windows-Update-Agent/7.6.7601.18631 Client-Protocol/1.21"
	uaWget    = "Wget/1.12 (linux-gnu)"
	uaPyReq   = "python-requests/2.5.1 CPython/2.7.9 Windows/7"
)

type host struct {
	ip, name, zone, role string
	user                 string // primary user (PCs)
	userRID              int
	machineRID           int
	ua                   string
	office, java         bool
	leftOn               bool // stays on at night and over weekends
	pc                   bool
	// per-host activity multiplier, so that counts differ between hosts but
	// stay steady from day to day
	activity float64
}

// users of PC011 … PC044 in address order; tanaka sits at PC023.
var userNames = []string{
	"sato", "suzuki", "takahashi", "watanabe", "ito", "yamamoto", "nakamura", "kobayashi",
	"kato", "yoshida", "yamada", "sasaki", "tanaka", "yamaguchi", "matsumoto", "inoue",
	"kimura", "hayashi", "shimizu", "yamazaki", "mori", "abe", "ikeda", "hashimoto",
	"yamashita", "ishikawa", "nakajima", "maeda", "fujita", "ogawa", "goto", "okada",
	"hasegawa", "murakami",
}

// display names (romanized; some are sent RFC 2047-encoded in Japanese)
var userDisplay = map[string][2]string{
	"sato": {"Sato Taro", "佐藤 太郎"}, "suzuki": {"Suzuki Hanako", "鈴木 花子"}, "takahashi": {"Takahashi Ken", "高橋 健"},
	"watanabe": {"Watanabe Yui", "渡辺 結衣"}, "ito": {"Ito Makoto", "伊藤 誠"}, "yamamoto": {"Yamamoto Aya", "山本 彩"},
	"nakamura": {"Nakamura Sho", "中村 翔"}, "kobayashi": {"Kobayashi Mai", "小林 舞"}, "kato": {"Kato Daisuke", "加藤 大輔"},
	"yoshida": {"Yoshida Emi", "吉田 恵美"}, "yamada": {"Yamada Jiro", "山田 次郎"}, "sasaki": {"Sasaki Yoko", "佐々木 陽子"},
	"tanaka": {"Tanaka Ichiro", "田中 一郎"}, "yamaguchi": {"Yamaguchi Rie", "山口 理恵"}, "matsumoto": {"Matsumoto Jun", "松本 潤"},
	"inoue": {"Inoue Saki", "井上 咲"}, "kimura": {"Kimura Takuya", "木村 拓也"}, "hayashi": {"Hayashi Nana", "林 奈々"},
	"shimizu": {"Shimizu Koji", "清水 浩二"}, "yamazaki": {"Yamazaki Mika", "山崎 美香"}, "mori": {"Mori Yuta", "森 裕太"},
	"abe": {"Abe Kana", "阿部 佳奈"}, "ikeda": {"Ikeda Shota", "池田 翔太"}, "hashimoto": {"Hashimoto Ai", "橋本 愛"},
	"yamashita": {"Yamashita Tomo", "山下 智"}, "ishikawa": {"Ishikawa Ryo", "石川 遼"}, "nakajima": {"Nakajima Miho", "中島 美穂"},
	"maeda": {"Maeda Atsushi", "前田 敦"}, "fujita": {"Fujita Naomi", "藤田 直美"}, "ogawa": {"Ogawa Hiroshi", "小川 博"},
	"goto": {"Goto Kumi", "後藤 久美"}, "okada": {"Okada Yuki", "岡田 有希"}, "hasegawa": {"Hasegawa Jun", "長谷川 純"},
	"murakami": {"Murakami Haruki", "村上 春樹"},
}

func (g *gen) buildHosts() {
	addHost := func(h *host) {
		g.allHosts = append(g.allHosts, h)
		g.byIP[h.ip] = h
	}
	for i, u := range userNames {
		n := 11 + i
		h := &host{
			ip: fmt.Sprintf("192.168.100.%d", n), name: fmt.Sprintf("PC%03d", n), zone: "SHANAI",
			role: "pc", user: u, userRID: 1103 + i, machineRID: 1141 + i, pc: true,
			activity: 0.7 + 0.6*g.r.Float64(),
		}
		switch x := g.r.IntN(100); {
		case x < 40:
			h.ua = uaFirefox
		case x < 80:
			h.ua = uaIE11
		case x < 90:
			h.ua = uaIE11W81
		default:
			h.ua = uaChrome
		}
		// Office on two PCs in three, Java on one in three: both well above
		// the 20% of hosts a learned User-Agent baseline accepts.
		h.office = i%3 != 2
		h.java = i%3 == 0
		h.leftOn = g.r.IntN(100) < 15
		g.pcs = append(g.pcs, h)
		addHost(h)
	}
	g.victim = g.byIP[victimIP]
	g.victim.ua = uaFirefox
	g.victim.leftOn = true
	g.victim.office = true
	g.victim.activity = 1.0
	// hosts whose look-alike roles need a known browser
	g.byIP["192.168.100.24"].activity = 1.0
	for _, h := range []*host{
		{ip: dcIP, name: "DC01", zone: "INTRA", role: "domain controller", machineRID: 1001},
		{ip: adminIP, name: "ADM01", zone: "INTRA", role: "admin workstation (Administrator's only allowed host)", machineRID: 1110, ua: uaIE11},
		{ip: appIP, name: "APP01", zone: "INTRA", role: "application server (port 8089 closed to SHANAI)", machineRID: 1111},
		{ip: fsIP, name: "FS01", zone: "INTRA", role: "file server", machineRID: 1112},
		{ip: proxyIP, name: "proxy", zone: "DMZ", role: "Squid proxy (egress allowed)"},
		{ip: mailIP, name: "mail-server", zone: "DMZ", role: "Postfix mail relay and mailbox server (egress allowed)"},
		{ip: dnsIP, name: "ns", zone: "DMZ", role: "BIND cache"},
		{ip: fwIP, name: "ns208-master", zone: "DMZ", role: "NetScreen firewall"},
	} {
		h.leftOn = true
		h.activity = 1
		addHost(h)
	}
}

func (h *host) email() string { return h.user + "@" + domain }

// ---- org.yaml --------------------------------------------------------------

// allowDomains is the organization's allowlist of web destinations. Every
// domain the background visits on more than two days is on it.
var allowDomains = []string{
	"*.google.com", "google.com", "*.google.co.jp", "*.gstatic.com", "*.googleapis.com",
	"*.yahoo.co.jp", "yahoo.co.jp", "*.yimg.jp", "*.nikkei.com", "*.asahi.com",
	"*.wikipedia.org", "*.amazon.co.jp", "*.ssl-images-amazon.com", "*.microsoft.com", "*.msftncsi.com",
	"*.windowsupdate.com", "*.trendmicro.com", "*.oracle.com", "*.verisign.com", "*.digicert.com",
	"*.youtube.com", "*.facebook.com", "twitter.com", "*.twitter.com", "*.bing.com",
	"*.jorudan.co.jp", "*.cybozu.com", "example.co.jp", "*.example.co.jp", "*.jpcert.or.jp",
	"*.ipa.go.jp", "*.office365.com",
}

const iocsTxt = `# Indicators shared by an information-sharing partner (J-CSIP style), 2015-02.
# One indicator per line; '#' starts a comment.
evil-cdn.example          # malware distribution site (and its subdomains)
203.0.113.80              # dl.evil-cdn.example
c2-panel.example.net      # unrelated campaign
198.51.100.199            # unrelated campaign
http://malware.example.org/payload.bin
`

func orgYAML() string {
	var b strings.Builder
	b.WriteString(`# kizuki organization model for the generated scenario (example.co.jp).
timezone: Asia/Tokyo
networks:
  internal: [192.168.0.0/16]
  zones:
    SHANAI: [192.168.100.0/24]
    INTRA: [192.168.200.0/24]
    DMZ: [192.168.1.0/24]
  allowed_flows:
    - {from: SHANAI, to: INTRA, ports: [88, 389, 445]}   # Kerberos, LDAP, SMB to DC01 and FS01
    - {from: SHANAI, to: DMZ, ports: [25, 53, 8080]}     # mail relay, DNS, proxy
  egress_allowed: [192.168.1.5, 192.168.1.6]   # proxy, mail relay
business_hours:
  days: [mon, tue, wed, thu, fri]
  start: "08:00"
  end: "19:00"
  holidays: [2015-02-11]
allowlists:
  user_agents: ["Mozilla/5.0 (Windows NT *"]
  domains:
`)
	for _, d := range allowDomains {
		fmt.Fprintf(&b, "    - %q\n", d)
	}
	b.WriteString(`  maintenance_domains: ["*.windowsupdate.com", "*.update.microsoft.com", "*.trendmicro.com"]
indicators:
  domains: [c2-panel.example.net]
  ips: [192.0.2.66]
  urls: []
  files: [iocs.txt]
accounts:
  admins:
    - {name: Administrator, hosts: [192.168.200.5]}
thresholds:
  upload_bytes: 100000000
  periodic_min_days: 3
mail:
  domains: [example.co.jp]
`)
	return b.String()
}

func writeOrg(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "org.yaml"), []byte(orgYAML()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "iocs.txt"), []byte(iocsTxt), 0o644)
}
