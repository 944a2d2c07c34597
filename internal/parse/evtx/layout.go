package evtx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// The fixed geometry of an EVTX file: a 4 KiB file header followed by 64 KiB
// chunks, each starting with a 512-byte header (libyal "Windows XML Event Log
// (EVTX) format", MS-EVEN6).
const (
	fileHeaderSize  = 4096
	chunkSize       = 65536
	chunkHeaderSize = 512
	recordHeaderLen = 24 // signature, size, record id, FILETIME
	minRecordSize   = recordHeaderLen + 4
)

var (
	fileMagic   = []byte("ElfFile\x00")
	chunkMagic  = []byte("ElfChnk\x00")
	recordMagic = []byte("**\x00\x00")
)

// flagDirty in the file header says the log was open (being written) when
// the file was copied; flag 0x2 says it is full.
const flagDirty = 0x1

// fileHeader is the part of the 4 KiB file header the reader uses. The chunk
// count is informative only: a dirty file can hold more chunks than it says,
// so the reader visits every chunk the file size holds.
type fileHeader struct {
	firstChunk, lastChunk uint64
	nextRecord            uint64
	minor, major          uint16
	blockSize             uint16
	chunks                uint16
	flags                 uint32
}

// errBadFileHeader says the file header is missing or damaged; the reader then
// looks for chunks at 64 KiB steps after the first 4 KiB.
var errBadFileHeader = errors.New("evtx: bad file header")

func parseFileHeader(b []byte) (fileHeader, error) {
	if len(b) < 128 {
		return fileHeader{}, fmt.Errorf("%w: %d bytes, want 128", errBadFileHeader, len(b))
	}
	if string(b[:8]) != string(fileMagic) {
		return fileHeader{}, fmt.Errorf("%w: no ElfFile signature", errBadFileHeader)
	}
	h := fileHeader{
		firstChunk: binary.LittleEndian.Uint64(b[8:]),
		lastChunk:  binary.LittleEndian.Uint64(b[16:]),
		nextRecord: binary.LittleEndian.Uint64(b[24:]),
		minor:      binary.LittleEndian.Uint16(b[36:]),
		major:      binary.LittleEndian.Uint16(b[38:]),
		blockSize:  binary.LittleEndian.Uint16(b[40:]),
		chunks:     binary.LittleEndian.Uint16(b[42:]),
		flags:      binary.LittleEndian.Uint32(b[120:]),
	}
	if got, want := crc32.ChecksumIEEE(b[:120]), binary.LittleEndian.Uint32(b[124:]); got != want {
		return h, fmt.Errorf("%w: header checksum %08x, computed %08x", errBadFileHeader, want, got)
	}
	if h.blockSize != fileHeaderSize {
		return h, fmt.Errorf("%w: header block size %d, want %d", errBadFileHeader, h.blockSize, fileHeaderSize)
	}
	return h, nil
}

// chunkHeader is the decoded 512-byte chunk header.
type chunkHeader struct {
	firstNum, lastNum uint64 // event record numbers
	firstID, lastID   uint64 // event record identifiers
	lastRecordOff     uint32
	freeOff           uint32 // end of the records written so far
	recordsCRC        uint32
	headerCRC         uint32
}

// chunkError is a damaged chunk header: the chunk is skipped.
type chunkError struct{ msg string }

func (e *chunkError) Error() string { return e.msg }

func badChunk(format string, args ...any) error {
	return &chunkError{msg: fmt.Sprintf(format, args...)}
}

// parseChunkHeader checks the signature, the header checksum and the offsets
// of the chunk in b (at most chunkSize bytes; less when the file is cut).
func parseChunkHeader(b []byte) (chunkHeader, error) {
	if len(b) < chunkHeaderSize {
		return chunkHeader{}, badChunk("chunk header cut short: %d of %d bytes", len(b), chunkHeaderSize)
	}
	if string(b[:8]) != string(chunkMagic) {
		return chunkHeader{}, badChunk("no ElfChnk signature")
	}
	h := chunkHeader{
		firstNum:      binary.LittleEndian.Uint64(b[8:]),
		lastNum:       binary.LittleEndian.Uint64(b[16:]),
		firstID:       binary.LittleEndian.Uint64(b[24:]),
		lastID:        binary.LittleEndian.Uint64(b[32:]),
		lastRecordOff: binary.LittleEndian.Uint32(b[44:]),
		freeOff:       binary.LittleEndian.Uint32(b[48:]),
		recordsCRC:    binary.LittleEndian.Uint32(b[52:]),
		headerCRC:     binary.LittleEndian.Uint32(b[124:]),
	}
	crc := crc32.Update(crc32.ChecksumIEEE(b[:120]), crc32.IEEETable, b[128:chunkHeaderSize])
	if crc != h.headerCRC {
		return h, badChunk("chunk header checksum %08x, computed %08x", h.headerCRC, crc)
	}
	if h.freeOff < chunkHeaderSize || h.freeOff > chunkSize {
		return h, badChunk("free space offset %d out of range", h.freeOff)
	}
	if h.lastRecordOff != 0 && (h.lastRecordOff < chunkHeaderSize || h.lastRecordOff >= h.freeOff) {
		return h, badChunk("last record offset %d out of range (free space at %d)", h.lastRecordOff, h.freeOff)
	}
	return h, nil
}

// isZero reports whether b holds only zero bytes: a chunk slot that was never
// written (files are preallocated) rather than a damaged one.
func isZero(b []byte) bool {
	// 64 bytes a step, one branch for eight words: small files are mostly
	// preallocated blank chunks, each scanned whole.
	for len(b) >= 64 {
		if binary.LittleEndian.Uint64(b)|binary.LittleEndian.Uint64(b[8:])|
			binary.LittleEndian.Uint64(b[16:])|binary.LittleEndian.Uint64(b[24:])|
			binary.LittleEndian.Uint64(b[32:])|binary.LittleEndian.Uint64(b[40:])|
			binary.LittleEndian.Uint64(b[48:])|binary.LittleEndian.Uint64(b[56:]) != 0 {
			return false
		}
		b = b[64:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
