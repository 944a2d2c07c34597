package evtx

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The real files in testdata (see testdata/README.md), one chunk each, in the
// order they are put together by multiChunk.
var sampleFiles = []string{"security-4625.evtx", "sysmon-1-12-13.evtx", "powershell-800-arrays.evtx", "rdp-1149-plain-binxml.evtx"}

// sampleRecords is how many records each holds (checked by TestSamples).
var sampleRecords = []int{2, 3, 21, 11}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// multiChunk builds a 4-chunk file from the chunks of the sample files (chunks
// are self-contained, so any chunks make a valid file) and returns it with
// the chunks' file offsets.
func multiChunk(t *testing.T) ([]byte, []int64) {
	t.Helper()
	var chunks [][]byte
	var offs []int64
	for i, f := range sampleFiles {
		data := readSample(t, f)
		chunks = append(chunks, data[fileHeaderSize:fileHeaderSize+chunkSize])
		offs = append(offs, int64(fileHeaderSize+i*chunkSize))
	}
	return evtxFile(chunks...), offs
}

func TestSamples(t *testing.T) {
	for i, f := range sampleFiles {
		evs, probs, st := readBytes(t, readSample(t, f), Options{})
		if len(probs) != 0 || len(evs) != sampleRecords[i] || st.Chunks != 1 || st.Records != len(evs) {
			t.Errorf("%s: %d events, problems %v, stats %+v", f, len(evs), probs, st)
		}
		for _, ev := range evs {
			checkRoundTrip(t, ev)
		}
	}
	data, _ := multiChunk(t)
	for _, workers := range []int{1, 2, 4} {
		evs, probs, st := readBytes(t, data, Options{Workers: workers})
		if len(probs) != 0 || len(evs) != 37 || st.Chunks != 4 {
			t.Errorf("workers %d: %d events, problems %v, stats %+v", workers, len(evs), probs, st)
		}
	}
}

// recordOffsets returns the chunk offsets of the records of a chunk.
func recordOffsets(chunk []byte) []int {
	var offs []int
	free := int(binary.LittleEndian.Uint32(chunk[48:]))
	for pos := chunkHeaderSize; pos+recordHeaderLen <= free; {
		size, err := recordFrame(chunk, pos, free)
		if err != nil {
			break
		}
		offs = append(offs, pos)
		pos += size
	}
	return offs
}

type wantProblem struct {
	offset int64
	chunk  int
	is     error  // errors.Is target, or nil
	text   string // substring of the message
}

func checkProblems(t *testing.T, got []Problem, want ...wantProblem) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d: %v", len(got), len(want), got)
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Offset != w.offset || g.Chunk != w.chunk || (w.is != nil && !errors.Is(g, w.is)) || !strings.Contains(g.Error(), w.text) {
			t.Errorf("problem %d: %v (offset %d chunk %d), want offset %d chunk %d %v %q", i, g, g.Offset, g.Chunk, w.offset, w.chunk, w.is, w.text)
		}
	}
}

func TestDamage(t *testing.T) {
	clean, offs := multiChunk(t)
	chunkAt := func(b []byte, i int) []byte { return b[offs[i] : offs[i]+chunkSize] }

	t.Run("chunk header", func(t *testing.T) {
		b := append([]byte(nil), clean...)
		chunkAt(b, 1)[16]++ // last record number, under the header checksum
		evs, probs, st := readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{offs[1], 1, nil, "chunk header checksum"})
		if len(evs) != 37-3 || st.BadChunks != 1 || st.Chunks != 4 {
			t.Errorf("%d events, stats %+v", len(evs), st)
		}
	})

	t.Run("chunk signature", func(t *testing.T) {
		b := append([]byte(nil), clean...)
		copy(chunkAt(b, 2), "ElfJunk\x00")
		evs, probs, _ := readBytes(t, b, Options{Workers: 3})
		checkProblems(t, probs, wantProblem{offs[2], 2, nil, "no ElfChnk signature"})
		if len(evs) != 37-21 {
			t.Errorf("%d events", len(evs))
		}
	})

	t.Run("record data: dirty chunk", func(t *testing.T) {
		// A changed byte in a record's text: the records checksum no longer
		// matches, as in the chunk Windows was writing; the records are read
		// and the mismatch reported.
		b := append([]byte(nil), clean...)
		c := chunkAt(b, 1)
		r := recordOffsets(c)[1]
		c[r+200] ^= 0x01
		evs, probs, st := readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{offs[1], 1, ErrRecordsChecksum, "checksum"})
		if len(evs) != 37 || st.BadChunks != 1 || st.BadRecords != 0 {
			t.Errorf("%d events, stats %+v", len(evs), st)
		}
	})

	t.Run("record framing", func(t *testing.T) {
		// A broken record size: that record is skipped, the next ones are
		// found again.
		b := append([]byte(nil), clean...)
		c := chunkAt(b, 2)
		recs := recordOffsets(c)
		r := recs[4]
		binary.LittleEndian.PutUint32(c[r+4:], 0x7fff)
		fixRecordsCRC(c)
		evs, probs, st := readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{offs[2] + int64(r), 2, nil, "record size"})
		if len(evs) != 36 || st.BadRecords != 1 || st.BadChunks != 0 {
			t.Errorf("%d events, stats %+v", len(evs), st)
		}
	})

	t.Run("record BinXml", func(t *testing.T) {
		// Framing intact, BinXml broken: that record is reported with its
		// identifier, the chunk's others are read.
		b := append([]byte(nil), clean...)
		c := chunkAt(b, 1)
		r := recordOffsets(c)[1]
		id := binary.LittleEndian.Uint64(c[r+8:])
		c[r+recordHeaderLen+4] = 0xff // the token after the fragment header
		fixRecordsCRC(c)
		evs, probs, st := readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{offs[1] + int64(r), 1, nil, "unexpected token 0xff"})
		if len(probs) == 1 && probs[0].Record != id {
			t.Errorf("record id %d, want %d", probs[0].Record, id)
		}
		if len(evs) != 36 || st.BadRecords != 1 {
			t.Errorf("%d events, stats %+v", len(evs), st)
		}
	})

	t.Run("zeroed chunk", func(t *testing.T) {
		b := append([]byte(nil), clean...)
		clear(chunkAt(b, 1))
		// Preallocated (all-zero) chunks at the end are not damage.
		b = append(b, make([]byte, 2*chunkSize)...)
		evs, probs, st := readBytes(t, b, Options{Workers: 2})
		checkProblems(t, probs, wantProblem{offs[1], 1, ErrZeroChunk, "all zero"})
		if len(evs) != 37-3 || st.Chunks != 4 || st.BadChunks != 1 {
			t.Errorf("%d events, stats %+v", len(evs), st)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		// Cut in the middle of the third chunk: its whole records are read.
		c := chunkAt(clean, 2)
		recs := recordOffsets(c)
		cut := recs[10] + 100 // inside record 11
		b := clean[:offs[2]+int64(cut)]
		evs, probs, st := readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{int64(len(b)), 2, ErrTruncated, "file ends"})
		if len(evs) != 2+3+10 || st.BadChunks != 1 || st.BadRecords != 0 {
			t.Errorf("%d events, stats %+v", len(evs), st)
		}
		// Cut inside a chunk header.
		b = clean[:offs[3]+100]
		evs, probs, _ = readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{offs[3], 3, nil, "chunk header cut short"})
		if len(evs) != 26 {
			t.Errorf("%d events", len(evs))
		}
	})

	t.Run("file header", func(t *testing.T) {
		// A damaged file header is reported; the chunks are read anyway.
		b := append([]byte(nil), clean...)
		b[42] = 1 // chunk count, under the checksum
		evs, probs, _ := readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{0, -1, errBadFileHeader, "header checksum"})
		if len(evs) != 37 {
			t.Errorf("%d events", len(evs))
		}
		clear(b[:fileHeaderSize])
		evs, probs, _ = readBytes(t, b, Options{})
		checkProblems(t, probs, wantProblem{0, -1, errBadFileHeader, "no ElfFile signature"})
		if len(evs) != 37 {
			t.Errorf("zeroed header: %d events", len(evs))
		}
		// Chunks without a file header at all (carved).
		evs, probs, _ = readBytes(t, clean[fileHeaderSize:], Options{})
		checkProblems(t, probs, wantProblem{0, -1, errBadFileHeader, "no ElfFile signature"})
		if len(evs) != 37 {
			t.Errorf("headerless: %d events", len(evs))
		}
	})

	t.Run("too short", func(t *testing.T) {
		for _, n := range []int{0, 3, 100, fileHeaderSize} {
			evs, probs, st := readBytes(t, clean[:n], Options{})
			if len(evs) != 0 || st.Chunks != 0 || (n > 0 && n < fileHeaderSize && len(probs) != 1) {
				t.Errorf("%d bytes: %d events, problems %v, stats %+v", n, len(evs), probs, st)
			}
		}
	})
}
