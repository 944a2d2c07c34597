package sigma

// nameTable maps the event field names rules refer to onto slot numbers. It
// is looked up for every field of every event, mostly with names no rule
// uses, so it is an open-addressing table kept at most a quarter full whose
// hash reads four bytes and the length instead of the whole name: a miss
// usually costs one probe and no string comparison.
type nameTable struct {
	shift uint32
	names []string
	ids   []int32 // -1: empty
}

func newNameTable(names []string) *nameTable {
	size := 16
	for size < 4*len(names) {
		size <<= 1
	}
	t := &nameTable{names: make([]string, size), ids: make([]int32, size)}
	for bits := size; bits > 1; bits >>= 1 {
		t.shift++
	}
	t.shift = 32 - t.shift
	for i := range t.ids {
		t.ids[i] = -1
	}
	for id, n := range names {
		i := t.slot(n)
		for t.ids[i] >= 0 {
			i = (i + 1) & uint32(size-1)
		}
		t.names[i], t.ids[i] = n, int32(id)
	}
	return t
}

func (t *nameTable) slot(s string) uint32 {
	h := uint32(len(s))
	if len(s) > 0 {
		h = h*0x01000193 ^ uint32(s[0])
		h = h*0x01000193 ^ uint32(s[len(s)-1])
		h = h*0x01000193 ^ uint32(s[len(s)/2])
		h = h*0x01000193 ^ uint32(s[len(s)/3])
	}
	return (h * 0x9E3779B1) >> t.shift
}

// lookup returns the slot of name.
func (t *nameTable) lookup(name string) (int32, bool) {
	mask := uint32(len(t.ids) - 1)
	for i := t.slot(name); ; i = (i + 1) & mask {
		id := t.ids[i]
		if id < 0 {
			return 0, false
		}
		if t.names[i] == name {
			return id, true
		}
	}
}
