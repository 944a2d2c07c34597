package live

import (
	"github.com/kizuki-dev/kizuki/internal/journal"
)

// follower opens the journal reader of one polling loop: resumed where the
// loop's last reader stopped when it asks for the record after it, so that
// a poll reads only the new blocks instead of skipping from the start of
// the segment again.
type follower struct {
	cur journal.Cursor
	ok  bool
}

// open returns a reader of j's committed records from from on.
func (f *follower) open(j *journal.Journal, from journal.Seq) (*journal.Reader, error) {
	resume := f.ok && f.cur.Seq() == from
	f.ok = false
	if resume {
		return j.ResumeReader(f.cur)
	}
	return j.NewReader(from)
}

// stopped notes where r stopped, once it returned io.EOF.
func (f *follower) stopped(r *journal.Reader) { f.cur, f.ok = r.Cursor() }
