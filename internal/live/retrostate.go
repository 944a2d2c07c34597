package live

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/kizuki-dev/kizuki/internal/fsutil"
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// The retro-hunt's state file is JSON with the fingerprint sets packed:
// eight bytes per indicator, little-endian, base64. A million indicators
// take about 11 MB; the usual few thousand, a few tens of KB.

type retroFile struct {
	Version int            `json:"version"`
	Hunted  string         `json:"hunted"` // fingerprints searched for over the history
	Jobs    []retroFileJob `json:"jobs"`   // unfinished searches, in order
}

type retroFileJob struct {
	Indicators string      `json:"indicators"`
	Next       journal.Seq `json:"next"`
	To         journal.Seq `json:"to"`
}

// maxStateBytes bounds the state file read at start (a damaged file must
// not cost unbounded memory): 16 bytes of base64 per indicator, with room
// for several jobs.
const maxStateBytes = 256 << 20

func packFPs(fps []uint64) string {
	b := make([]byte, 8*len(fps))
	for i, fp := range fps {
		binary.LittleEndian.PutUint64(b[8*i:], fp)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func unpackFPs(s string) ([]uint64, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b)%8 != 0 {
		return nil, errors.New("fingerprints: length not a multiple of 8")
	}
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// encodeRetroState renders the state (caller holds the retro lock).
func encodeRetroState(hunted []uint64, jobs []*retroJob) []byte {
	f := retroFile{Version: 1, Hunted: packFPs(hunted), Jobs: []retroFileJob{}}
	for _, j := range jobs {
		f.Jobs = append(f.Jobs, retroFileJob{Indicators: packFPs(j.fps), Next: j.next, To: j.to})
	}
	b, _ := json.Marshal(f)
	return append(b, '\n')
}

// loadRetroState reads the state; a missing file is an empty state.
func loadRetroState(path string) ([]uint64, []*retroJob, error) {
	if path == "" {
		return nil, nil, nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("retro-hunt state: %w", err)
	}
	if st.Size() > maxStateBytes {
		return nil, nil, fmt.Errorf("retro-hunt state %s: larger than %d bytes", path, maxStateBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("retro-hunt state: %w", err)
	}
	var f retroFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, fmt.Errorf("retro-hunt state %s: %w", path, err)
	}
	if f.Version != 1 {
		return nil, nil, fmt.Errorf("retro-hunt state %s: version %d, want 1", path, f.Version)
	}
	hunted, err := unpackFPs(f.Hunted)
	if err != nil {
		return nil, nil, fmt.Errorf("retro-hunt state %s: %w", path, err)
	}
	var jobs []*retroJob
	for i, fj := range f.Jobs {
		fps, err := unpackFPs(fj.Indicators)
		if err != nil {
			return nil, nil, fmt.Errorf("retro-hunt state %s: job %d: %w", path, i, err)
		}
		jobs = append(jobs, &retroJob{fps: fps, next: fj.Next, to: fj.To})
	}
	return hunted, jobs, nil
}

// writeStateFile replaces a state file atomically (mode 0600).
func writeStateFile(path string, b []byte) error {
	return fsutil.WriteFileAtomic(path, b, 0o600)
}

// siblingFile is name in the folder of path.
func siblingFile(path, name string) string { return filepath.Join(filepath.Dir(path), name) }
