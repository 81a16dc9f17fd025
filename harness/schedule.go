package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

// scheduler hands out the run's VM slots, longest expected VM first: a
// long VM started last keeps one core busy alone at the end of the run,
// while the short ones fill the gaps. A column's expected time comes from
// the last run of the same selection (history); a column never measured
// goes first, emulated architectures (arm64 on an x86 host) before native
// ones, then in matrix order.
//
// Columns of kernels that are already cached are all known within
// milliseconds of the start, so the scheduler grants no slot until each of
// them has queued: otherwise the first columns to arrive would take the
// slots whatever their length. Kernels still downloading are not waited
// for.
type scheduler struct {
	mu      sync.Mutex
	free    int
	waiting []*ticket
	// unsettled counts cached kernels whose columns have not all queued.
	unsettled int
}

// ticket is one column's place in the queue.
type ticket struct {
	known   bool    // seconds comes from history
	seconds float64 // expected VM time
	foreign bool    // emulated architecture
	order   int     // matrix order
	granted chan struct{}
}

func newScheduler(slots, cachedKernels int) *scheduler {
	return &scheduler{free: slots, unsettled: cachedKernels}
}

// before reports whether a should get a slot before b.
func (a *ticket) before(b *ticket) bool {
	switch {
	case a.known != b.known:
		return !a.known
	case a.known && a.seconds != b.seconds:
		return a.seconds > b.seconds
	case a.foreign != b.foreign:
		return a.foreign
	}
	return a.order < b.order
}

// enqueue queues a column; wait on the ticket for its slot.
func (s *scheduler) enqueue(t ticket) *ticket {
	t.granted = make(chan struct{}, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting = append(s.waiting, &t)
	sort.SliceStable(s.waiting, func(i, j int) bool { return s.waiting[i].before(s.waiting[j]) })
	s.dispatch()
	return &t
}

// settled says that a kernel's columns have all been queued (or that it
// has none, e.g. its fetch failed); cached says whether it was one of the
// kernels the scheduler waits for.
func (s *scheduler) settled(cached bool) {
	if !cached {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsettled--
	s.dispatch()
}

// dispatch grants free slots to the first waiters. Called with mu held.
func (s *scheduler) dispatch() {
	if s.unsettled > 0 {
		return
	}
	for s.free > 0 && len(s.waiting) > 0 {
		t := s.waiting[0]
		s.waiting = s.waiting[1:]
		s.free--
		t.granted <- struct{}{}
	}
}

// wait blocks until t has a slot, or ctx ends (then it returns ctx's error
// and holds no slot).
func (s *scheduler) wait(ctx context.Context, t *ticket) error {
	select {
	case <-t.granted:
		if ctx.Err() == nil {
			return nil
		}
		s.release() // granted as ctx ended: not worth starting a VM
		return ctx.Err()
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range s.waiting {
		if w == t {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			return ctx.Err()
		}
	}
	// Granted while ctx ended: give the slot back.
	<-t.granted
	s.free++
	s.dispatch()
	return ctx.Err()
}

// release returns a slot.
func (s *scheduler) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free++
	s.dispatch()
}

// historyFile keeps, per selection of suites and tests, how long each
// column's VM took the last time it ran to the end.
const historyFile = "durations.json"

// maxSelections bounds the history: the selections run least recently are
// dropped.
const maxSelections = 32

type selectionHistory struct {
	Updated time.Time          `json:"updated"`
	Seconds map[string]float64 `json:"seconds"` // column -> VM seconds
}

// history is what historyFile holds. It is a cache: a file that does not
// parse is ignored and replaced.
type history map[string]*selectionHistory

// selectionKey names what a run runs in each VM: durations of different
// selections do not compare.
func selectionKey(opts Options) string {
	var names []string
	for _, s := range opts.Suites {
		names = append(names, s.Name)
	}
	h := sha256.Sum256([]byte(strings.Join(names, ",") + "\x00" + opts.Run + "\x00" + strings.Join(opts.TestArgs, "\x00")))
	return hex.EncodeToString(h[:8])
}

func loadHistory(cacheDir string) history {
	h := history{}
	b, err := os.ReadFile(filepath.Join(cacheDir, historyFile))
	if err != nil || json.Unmarshal(b, &h) != nil {
		return history{}
	}
	for k, v := range h {
		if v == nil || v.Seconds == nil {
			delete(h, k)
		}
	}
	return h
}

// expected returns the column's last VM time for the selection.
func (h history) expected(selection, column string) (float64, bool) {
	if sh := h[selection]; sh != nil {
		s, ok := sh.Seconds[column]
		return s, ok && s > 0
	}
	return 0, false
}

// record merges measured into the selection's entry and writes the file
// (atomically: concurrent runs sharing the cache each leave a whole file).
// Columns that did not run to the end keep their earlier time.
func (h history) record(cacheDir, selection string, measured map[string]float64, now time.Time) error {
	if len(measured) == 0 {
		return nil
	}
	sh := h[selection]
	if sh == nil {
		sh = &selectionHistory{Seconds: map[string]float64{}}
		h[selection] = sh
	}
	sh.Updated = now
	for c, s := range measured {
		sh.Seconds[c] = s
	}
	for len(h) > maxSelections {
		oldest := ""
		for k, v := range h {
			if oldest == "" || v.Updated.Before(h[oldest].Updated) {
				oldest = k
			}
		}
		delete(h, oldest)
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(cacheDir, historyFile), append(b, '\n'), 0o644)
}
