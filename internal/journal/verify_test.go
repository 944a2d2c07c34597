package journal

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// verifyFixture writes 600 records in commits of 7 over several segments,
// a signed checkpoint every 50 records and a final one, and closes.
func verifyFixture(t testing.TB, c Compression, key ed25519.PrivateKey) string {
	t.Helper()
	dir := t.TempDir()
	opt := smallOptions(key)
	opt.CheckpointEvery = 50
	opt.Compression = c
	if c == CompressionNone {
		opt.SegmentSize = 16 << 10
	}
	j := mustOpen(t, dir, opt)
	for i := 0; i < 600; i += 7 {
		mustAppend(t, j, testRecords(i, min(7, 600-i)))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(segPaths(t, dir)); n < 4 {
		t.Fatalf("fixture has %d segments, want at least 4", n)
	}
	return dir
}

// segLayout is what a test needs to aim at a segment: its path, name,
// first record, block offsets and headers.
type segLayout struct {
	path, name string
	first      Seq
	offs       []int64
	hs         []blockHeader
	size       int64
}

func layout(t testing.TB, dir string) []segLayout {
	t.Helper()
	var out []segLayout
	for _, p := range segPaths(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parseSegmentHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		offs, hs := blockOffsets(t, p)
		out = append(out, segLayout{path: p, name: filepath.Base(p), first: h.first, offs: offs, hs: hs, size: int64(len(b))})
	}
	return out
}

// readEntries returns the checkpoint log's header and entries.
func readEntries(t testing.TB, dir string) ([]byte, [][]byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, checkpointName))
	if err != nil {
		t.Fatal(err)
	}
	var es [][]byte
	for off := logHeaderLen; off+entryLen <= len(b); off += entryLen {
		es = append(es, bytes.Clone(b[off:off+entryLen]))
	}
	return b[:logHeaderLen], es
}

func writeEntries(t testing.TB, dir string, hdr []byte, es [][]byte) {
	t.Helper()
	out := bytes.Clone(hdr)
	for _, e := range es {
		out = append(out, e...)
	}
	if err := os.WriteFile(filepath.Join(dir, checkpointName), out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// fixCRC recomputes an entry's CRC, as an attacker would.
func fixCRC(e []byte) {
	binary.BigEndian.PutUint32(e[216:], crc32.Checksum(e[:216], castagnoli))
}

// rewriteRecords plays an attacker who can write the directory but has no
// key: it changes records with mutate and recomputes everything that
// does not need the key (the chain, block hashes and CRCs, segment
// headers). It returns the new chain hash at the end of each block.
func rewriteRecords(t testing.TB, dir string, mutate func(first Seq, recs []Record)) map[Seq][hashSize]byte {
	t.Helper()
	hdr, _ := readEntries(t, dir)
	id, err := parseLogHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	head := genesis(id)
	ends := map[Seq][hashSize]byte{}
	dec, _ := newBlockDecoder()
	defer dec.close()
	enc, _ := newBlockEncoder(CompressionDefault)
	defer enc.close()
	for _, p := range segPaths(t, dir) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sh, err := parseSegmentHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		sh.prev = head
		out := sh.marshal()
		for off := int64(segmentHeaderLen); off < int64(len(b)); {
			bh, err := parseBlockHeader(b[off:])
			if err != nil {
				t.Fatal(err)
			}
			stored := b[off+blockHeaderLen : off+bh.size()]
			payload, err := dec.payload(&bh, stored)
			if err != nil {
				t.Fatal(err)
			}
			var recs []Record
			forEachEntry(payload, bh.count, func(_ int, e entry, _ []byte) error {
				recs = append(recs, Record{Received: timeOf(e.received), Origin: string(e.origin), Source: string(e.source), Raw: bytes.Clone(e.raw)})
				return nil
			})
			mutate(bh.first, recs)
			ch := newChain(head)
			var raw []byte
			nb := blockHeader{first: bh.first, count: uint32(len(recs)), minT: bh.minT, maxT: bh.maxT}
			for i := range recs {
				start := len(raw)
				raw = appendEntry(raw, recs[i].Received.UnixNano(), &recs[i])
				ch.add(bh.first+Seq(i), raw[start:])
			}
			head = ch.head
			nb.hash = head
			if bh.codec == codecStored {
				nb.codec = codecStored
				out = append(out, make([]byte, blockHeaderLen)...)
				out = append(out, raw...)
				nb.rawLen, nb.stored = uint32(len(raw)), uint32(len(raw))
				h := out[len(out)-len(raw)-blockHeaderLen:]
				nb.put(h)
				nb.crc = crc32.Update(crc32.Update(0, castagnoli, h[:76]), castagnoli, raw)
				nb.put(h)
			} else {
				out, _ = enc.appendBlock(out, nb, raw)
			}
			ends[nb.next()] = head
			off += bh.size()
		}
		if err := os.WriteFile(p, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ends
}

// TestVerifyPasses: an untouched journal verifies, with and without key.
func TestVerifyPasses(t *testing.T) {
	pub, priv := testKey(t)
	dir := verifyFixture(t, CompressionDefault, priv)
	rep := mustVerify(t, dir, pub)
	if rep.Records != 600 || rep.NextSeq != 600 || rep.Uncovered != 0 || rep.Checkpoints < 10 || rep.Unsigned != 0 || !rep.SignaturesChecked {
		t.Fatalf("report:\n%s%+v", rep, rep)
	}
	t.Logf("\n%s", rep)
	rep = mustVerify(t, dir, nil)
	if rep.SignaturesChecked {
		t.Fatal("SignaturesChecked without a key")
	}
}

// TestVerifyCatches damages or changes the fixture in every way the issue
// names and checks that Verify names the first problem: its kind, file,
// offset and record.
func TestVerifyCatches(t *testing.T) {
	pub, priv := testKey(t)
	otherPub, otherPriv := func() (ed25519.PublicKey, ed25519.PrivateKey) {
		p := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
		return p.Public().(ed25519.PublicKey), p
	}()
	_ = otherPub
	base := verifyFixture(t, CompressionDefault, priv)
	plain := verifyFixture(t, CompressionNone, priv) // record edits keep sizes here
	L := layout(t, base)
	s1, s2, last := L[1], L[2], L[len(L)-1]
	_, baseEntries := readEntries(t, base)
	entryOff := func(i int) int64 { return logHeaderLen + int64(i)*entryLen }
	entrySeq := func(i int) Seq {
		c, err := parseCheckpoint(baseEntries[i])
		if err != nil {
			t.Fatal(err)
		}
		return c.Seq
	}
	lastCP, _ := parseCheckpoint(baseEntries[len(baseEntries)-1])
	// The first block of two records or more from record 300 on, in the
	// uncompressed fixture: two of its records change places.
	swapAt := Seq(0)
	for _, sl := range layout(t, plain) {
		for _, h := range sl.hs {
			if swapAt == 0 && h.first >= 300 && h.count >= 2 {
				swapAt = h.first
			}
		}
	}

	type want struct {
		kind   ProblemKind
		file   string
		off    int64 // -1: any
		seq    Seq
		seqMax bool // seq is an upper bound (the range evidence narrows to)
	}
	cases := []struct {
		name   string
		plain  bool // on the uncompressed fixture
		pub    ed25519.PublicKey
		damage func(t *testing.T, dir string)
		want   want
	}{
		{"flip_payload_byte", false, pub, func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, s1.name), s1.offs[0]+blockHeaderLen+5)
		}, want{ProblemModified, s1.name, s1.offs[0], s1.hs[0].first, false}},
		{"flip_block_header", false, pub, func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, s1.name), s1.offs[1]+10)
		}, want{ProblemModified, s1.name, s1.offs[1], s1.hs[1].first, false}},
		{"flip_segment_header", false, pub, func(t *testing.T, dir string) {
			flip(t, filepath.Join(dir, s1.name), 40)
		}, want{ProblemModified, s1.name, 0, s1.first, false}},
		{"delete_middle_segment", false, pub, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, s1.name))
		}, want{ProblemMissing, s1.name, 0, s1.first, false}},
		{"delete_first_segment", false, pub, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, L[0].name))
		}, want{ProblemMissing, L[0].name, 0, 0, false}},
		{"delete_last_segment", false, pub, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, last.name))
		}, want{ProblemTruncated, last.name, -1, last.first, false}},
		{"truncate_inside_block", false, pub, func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, s1.name), s1.offs[1]+20)
		}, want{ProblemTruncated, s1.name, s1.offs[1], s1.hs[1].first, false}},
		{"truncate_at_block_boundary", false, pub, func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, s1.name), s1.offs[len(s1.offs)-1])
		}, want{ProblemTruncated, s1.name, s1.offs[len(s1.offs)-1], s1.hs[len(s1.hs)-1].first, false}},
		{"truncate_last_segment_at_block_boundary", false, pub, func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, last.name), last.offs[len(last.offs)-1])
		}, want{ProblemTruncated, last.name, lastCP.Offset, last.hs[len(last.hs)-1].first, false}},
		{"swap_blocks", false, pub, func(t *testing.T, dir string) {
			p := filepath.Join(dir, s1.name)
			b, _ := os.ReadFile(p)
			b0 := bytes.Clone(b[s1.offs[0]:s1.offs[1]])
			b1 := bytes.Clone(b[s1.offs[1] : s1.offs[1]+s1.hs[1].size()])
			out := append(append(append(bytes.Clone(b[:s1.offs[0]]), b1...), b0...), b[s1.offs[1]+s1.hs[1].size():]...)
			os.WriteFile(p, out, 0o600)
		}, want{ProblemReordered, s1.name, s1.offs[0], s1.hs[0].first, false}},
		{"swap_segment_files", false, pub, func(t *testing.T, dir string) {
			a, b := filepath.Join(dir, s1.name), filepath.Join(dir, s2.name)
			os.Rename(a, a+".x")
			os.Rename(b, a)
			os.Rename(a+".x", b)
		}, want{ProblemReordered, s1.name, 0, s1.first, false}},
		{"rewrite_record_recompute_chain", true, pub, func(t *testing.T, dir string) {
			rewriteRecords(t, dir, func(first Seq, recs []Record) {
				for i := range recs {
					if first+Seq(i) == 222 {
						recs[i].Raw[0] ^= 1 // same length: same offsets
					}
				}
			})
		}, want{ProblemModified, "", -1, 222, true}},
		{"reorder_records_recompute_chain", true, pub, func(t *testing.T, dir string) {
			rewriteRecords(t, dir, func(first Seq, recs []Record) {
				if first == swapAt {
					recs[0], recs[1] = recs[1], recs[0]
				}
			})
		}, want{ProblemModified, "", -1, swapAt, true}},
		{"tamper_checkpoint_hash", false, pub, func(t *testing.T, dir string) {
			hdr, es := readEntries(t, dir)
			es[2][100] ^= 1
			fixCRC(es[2])
			writeEntries(t, dir, hdr, es)
		}, want{ProblemBadSignature, checkpointName, entryOff(2), entrySeq(2), false}},
		{"strip_signature", false, pub, func(t *testing.T, dir string) {
			hdr, es := readEntries(t, dir)
			es[3][5] = 0
			clear(es[3][144:216])
			fixCRC(es[3])
			writeEntries(t, dir, hdr, es)
		}, want{ProblemUnsigned, checkpointName, entryOff(3), entrySeq(3), false}},
		{"rewrite_record_resign_with_other_key", true, pub, func(t *testing.T, dir string) {
			ends := rewriteRecords(t, dir, func(first Seq, recs []Record) {
				for i := range recs {
					if first+Seq(i) == 222 {
						recs[i].Raw[0] ^= 1
					}
				}
			})
			hdr, es := readEntries(t, dir)
			id, _ := parseLogHeader(hdr)
			prev := sha256Sum(hdr)
			for i := range es {
				c, _ := parseCheckpoint(es[i])
				if h, ok := ends[c.Seq]; ok {
					c.Hash = h
				}
				es[i] = marshalEntry(&c, id, prev, otherPriv)
				prev = entryHash(es[i])
			}
			writeEntries(t, dir, hdr, es)
			// Without the key nothing is left to catch the change: which is
			// why the key lives outside the directory.
			if _, err := Verify(context.Background(), dir, nil); err != nil {
				t.Fatalf("an attacker's consistent rewrite failed an unkeyed verify: %v", err)
			}
		}, want{ProblemBadSignature, checkpointName, entryOff(0), entrySeqPlain(t, plain, 0), false}},
		{"wrong_public_key", false, otherPub, func(t *testing.T, dir string) {}, want{ProblemBadSignature, checkpointName, entryOff(0), entrySeq(0), false}},
		{"delete_checkpoint_entry", false, pub, func(t *testing.T, dir string) {
			hdr, es := readEntries(t, dir)
			writeEntries(t, dir, hdr, append(es[:2:2], es[3:]...))
		}, want{ProblemGap, checkpointName, entryOff(2), entrySeq(3), false}},
		{"swap_checkpoint_entries", false, pub, func(t *testing.T, dir string) {
			hdr, es := readEntries(t, dir)
			es[2], es[3] = es[3], es[2]
			writeEntries(t, dir, hdr, es)
		}, want{ProblemReordered, checkpointName, entryOff(2), entrySeq(3), false}},
		{"truncate_checkpoint_log_inside_entry", false, pub, func(t *testing.T, dir string) {
			truncate(t, filepath.Join(dir, checkpointName), entryOff(4)+100)
		}, want{ProblemTruncated, checkpointName, entryOff(4), entrySeq(3), false}},
		{"delete_checkpoint_log", false, pub, func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, checkpointName))
		}, want{ProblemMissing, checkpointName, 0, 0, false}},
		{"segment_of_another_journal", false, pub, func(t *testing.T, dir string) {
			other := verifyFixture(t, CompressionDefault, priv) // same key, same records
			b, _ := os.ReadFile(filepath.Join(other, s1.name))
			os.WriteFile(filepath.Join(dir, s1.name), b, 0o600)
		}, want{ProblemModified, s1.name, 0, s1.first, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := base
			if c.plain {
				src = plain
			}
			dir := copyDir(t, src)
			c.damage(t, dir)
			rep, err := Verify(context.Background(), dir, c.pub)
			var p *Problem
			if !errors.As(err, &p) || rep.Problem != p {
				t.Fatalf("Verify: %v, want a *Problem\n%s", err, rep)
			}
			t.Logf("%v", p)
			w := c.want
			if p.Kind != w.kind || (w.file != "" && p.File != w.file) || (w.off >= 0 && p.Offset != w.off) ||
				(!w.seqMax && p.Seq != w.seq) || (w.seqMax && p.Seq > w.seq) {
				t.Fatalf("got %s %s offset %d record %d, want %s %s offset %d record %d",
					p.Kind, p.File, p.Offset, p.Seq, w.kind, w.file, w.off, w.seq)
			}
		})
	}
}

func sha256Sum(b []byte) [hashSize]byte {
	var s [hashSize]byte
	h := newChain(s).h
	h.Write(b)
	h.Sum(s[:0])
	return s
}

func entrySeqPlain(t *testing.T, dir string, i int) Seq {
	_, es := readEntries(t, dir)
	c, err := parseCheckpoint(es[i])
	if err != nil {
		t.Fatal(err)
	}
	return c.Seq
}

// TestVerifyUnsigned: a journal written without a key verifies without
// one (and says it is unsigned) but fails when a key is expected.
func TestVerifyUnsigned(t *testing.T) {
	pub, _ := testKey(t)
	dir := verifyFixture(t, CompressionDefault, nil)
	rep := mustVerify(t, dir, nil)
	if rep.Unsigned != rep.Entries || rep.Entries == 0 {
		t.Fatalf("report %+v", rep)
	}
	_, err := Verify(context.Background(), dir, pub)
	var p *Problem
	if !errors.As(err, &p) || p.Kind != ProblemUnsigned {
		t.Fatalf("Verify with a key of an unsigned journal: %v", err)
	}
}

// TestVerifyOpenJournal: Journal.Verify checks what is committed while
// Appends go on.
func TestVerifyOpenJournal(t *testing.T) {
	pub, priv := testKey(t)
	opt := smallOptions(priv)
	opt.CheckpointEvery = 20
	j := mustOpen(t, t.TempDir(), opt)
	defer j.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			if _, err := j.Append(context.Background(), testRecords(i*3, 3)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 5; i++ {
		if rep, err := j.Verify(context.Background(), pub); err != nil {
			t.Fatalf("%v\n%s", err, rep)
		}
	}
	<-done
	rep, err := j.Verify(context.Background(), pub)
	if err != nil || rep.NextSeq != 300 {
		t.Fatalf("%v\n%s", err, rep)
	}
}
