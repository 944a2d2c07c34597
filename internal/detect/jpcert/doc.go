// Package jpcert implements the analyses of JPCERT/CC chapter 4, J1–J13, of
// "高度サイバー攻撃への対処におけるログの活用と分析方法" (log analysis for
// advanced cyber attacks): one detector per analysis, each a
// detect.Detector built by NewJ1 ... NewJ13 from the organization model.
//
//   - J1  From display-name spoofing (§4.2.1.1, mail)
//   - J2  executable attachment (§4.2.1.2, mail)
//   - J3  denied egress bypassing the web proxy (§4.2.2.1, firewall)
//   - J4  denied inter-segment traffic (§4.2.2.2, firewall)
//   - J5  known-bad destinations from indicator lists (§4.2.3.1, §4.1.2)
//   - J6  CONNECT to ports other than 80/443 (§4.2.3.2, proxy)
//   - J7  non-standard User-Agent (§4.2.3.3, proxy)
//   - J8  periodic communication (§4.2.3.4, proxy)
//   - J9  off-hours communication (§4.2.3.5, proxy)
//   - J10 large uploads (§4.2.3.6, proxy)
//   - J11 DNS correlation (§4.3.1, DNS): annotates other findings
//   - J12 critical Active Directory event ids (§4.3.2, table 4-27)
//   - J13 admin-account anomalies (§4.3.2)
//
// Every finding carries the kill-chain stages (JPCERT table 2-1), the
// technique letters A–H (table 2-2), MITRE ATT&CK ids, capped evidence and
// the document's guidance — what to check next and the caveats of sections
// (c) and (d) of each analysis — in English and Japanese.
//
// A detector knows event.Event and org.Model, never a file format. Observe
// is on the hot path: the common negative case does no allocation, and
// state is bounded by the number of distinct entities, never by the number
// of events. Missing configuration or log fields do not stop an analysis
// where a sensible default exists; Notes says what was skipped or degraded
// and which configuration key or source-side log setting would enable it.
package jpcert
