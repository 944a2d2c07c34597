package store

import "time"

// Default tuning. They fit `kizuki serve` on a small machine: a tail of at
// most a few seconds, blocks big enough for zstd and the token filter to pay
// off, parts merged eight at a time.
const (
	// DefaultFlushEvents is how many tail events make the flusher write a part.
	DefaultFlushEvents = 64 << 10
	// DefaultFlushAge is how old the oldest tail event may get before the
	// flusher writes a part, however few events there are.
	DefaultFlushAge = 5 * time.Second
	// DefaultBlockEvents is the most rows a block holds.
	DefaultBlockEvents = 16 << 10
	// DefaultBlockBytes is roughly the most value bytes (raw and fields) a
	// block holds before it is sealed; one event larger than it gets a block
	// of its own.
	DefaultBlockBytes = 4 << 20
	// DefaultMergeFanIn is how many adjacent parts of one size class are
	// merged into one.
	DefaultMergeFanIn = 8
	// DefaultMaxPartEvents bounds a merged part, so that retention, which
	// drops whole parts, keeps a useful granularity.
	DefaultMaxPartEvents = 16 << 20
	// DefaultMaxTailBytes bounds the tail's memory (see Options).
	DefaultMaxTailBytes = 64 << 20
	// DefaultMaxValueBytes is the longest field value kept; longer values are
	// cut (Stats.Truncated counts them). The raw record is never cut.
	DefaultMaxValueBytes = 32 << 10
)

// Hard limits: the writer never exceeds them and the reader refuses
// anything beyond them, so a damaged or hostile part cannot make a search
// allocate without bound.
const (
	// maxRawBytes is the largest raw record Add accepts (the journal's own
	// bound is 16 MiB).
	maxRawBytes = 32 << 20
	// maxEventBytes bounds one event's raw and (cut) values together, so
	// that a block, sealed past BlockBytes, stays under maxBlockDecoded.
	maxEventBytes = 64 << 20
	// maxNameBytes bounds field names, hosts, sources and origin files.
	maxNameBytes = 4096
	// maxExtrasPerEvent bounds the format-specific fields kept per event.
	maxExtrasPerEvent = 1024
	// maxBlockColumns bounds the columns of one block (fixed ones, common
	// fields and extra field names). A block that would exceed it is
	// sealed first.
	maxBlockColumns = 2048
	// maxBlockRows bounds Options.BlockEvents and what a reader accepts.
	maxBlockRows = 1 << 20
	// maxColumnBytes bounds one decoded column, maxBlockDecoded all the
	// columns of a block (at most BlockBytes, itself at most
	// maxColumnBytes/2, and one event of maxEventBytes).
	maxColumnBytes  = 128 << 20
	maxBlockDecoded = 256 << 20
	// maxDirBytes bounds a block's column directory: maxBlockColumns
	// entries with names of up to maxNameBytes fit.
	maxDirBytes = 16 << 20
	// maxFilterBytes bounds a block's token filter.
	maxFilterBytes = 64 << 20
	// maxPartBlocks bounds the blocks of one part (its index is read whole).
	maxPartBlocks = 1 << 20
	// maxLimit caps Request.Limit; defaultLimit is used for 0.
	maxLimit     = 10000
	defaultLimit = 100
)

// File names in the index directory.
const (
	partSuffix = ".part" // an immutable part: <first seq>-<last seq>.part
	tmpSuffix  = ".tmp"  // a file being written; removed at Open
	nextFile   = "NEXT"  // the sequence number retention must not forget
)
