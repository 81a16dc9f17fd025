// Package schedule orders a run's VMs: it hands out the VM slots, longest
// expected VM first, by the History of earlier runs kept in the cache.
package schedule

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/bpfmatrix/bpfmatrix/internal/atomicfile"
)

// Scheduler hands out the run's VM slots, longest expected VM first: a
// long VM started last keeps one core busy alone at the end of the run,
// while the short ones fill the gaps. A column's expected time comes from
// the last run of the same selection (History); a column never measured
// goes first, emulated architectures (arm64 on an x86 host) before native
// ones, then in matrix order.
//
// Columns of kernels that are already cached are all known within
// milliseconds of the start, so the Scheduler grants no slot until each of
// them has queued: otherwise the first columns to arrive would take the
// slots whatever their length. Kernels still downloading are not waited
// for.
type Scheduler struct {
	mu      sync.Mutex
	free    int
	waiting []*Ticket
	// unsettled counts the columns of cached kernels not yet queued.
	unsettled int
}

// Ticket is one column's place in the queue.
type Ticket struct {
	// Known is true when Seconds comes from the History.
	Known bool
	// Seconds is the expected VM time.
	Seconds float64
	// Foreign is true for an emulated architecture.
	Foreign bool
	// Order is the column's place in the matrix.
	Order   int
	granted chan struct{}
}

// New returns a Scheduler of slots VM slots that grants none before
// cached columns have settled (see [Scheduler.Settled]).
func New(slots, cached int) *Scheduler {
	return &Scheduler{free: slots, unsettled: cached}
}

// before reports whether a should get a slot before b.
func (a *Ticket) before(b *Ticket) bool {
	switch {
	case a.Known != b.Known:
		return !a.Known
	case a.Known && a.Seconds != b.Seconds:
		return a.Seconds > b.Seconds
	case a.Foreign != b.Foreign:
		return a.Foreign
	}
	return a.Order < b.Order
}

// Enqueue queues a column; wait on the Ticket for its slot.
func (s *Scheduler) Enqueue(t Ticket) *Ticket {
	t.granted = make(chan struct{}, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting = append(s.waiting, &t)
	sort.SliceStable(s.waiting, func(i, j int) bool { return s.waiting[i].before(s.waiting[j]) })
	s.dispatch()
	return &t
}

// Settled says that a column has been queued, or will not be (its kernel
// failed, or its profile changes nothing); cached says whether it is one
// of the columns of cached kernels the Scheduler waits for.
func (s *Scheduler) Settled(cached bool) {
	if !cached {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsettled--
	s.dispatch()
}

// dispatch grants free slots to the first waiters. Called with mu held.
func (s *Scheduler) dispatch() {
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

// Wait blocks until t has a slot, or ctx ends (then it returns ctx's error
// and holds no slot).
func (s *Scheduler) Wait(ctx context.Context, t *Ticket) error {
	select {
	case <-t.granted:
		if ctx.Err() == nil {
			return nil
		}
		s.Release() // granted as ctx ended: not worth starting a VM
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

// Release returns a slot.
func (s *Scheduler) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free++
	s.dispatch()
}

// historyFile keeps, per selection of suites and tests, how long each
// column's VM took the last time it ran to the end.
const historyFile = "durations.json"

// maxSelections bounds the History: the selections run least recently are
// dropped.
const maxSelections = 32

type selectionHistory struct {
	Updated time.Time          `json:"updated"`
	Seconds map[string]float64 `json:"seconds"` // column -> VM seconds
}

// History is what historyFile holds. It is a cache: a file that does not
// parse is ignored and replaced.
type History map[string]*selectionHistory

// LoadHistory reads the History in cacheDir; an empty one if there is none
// or it does not parse.
func LoadHistory(cacheDir string) History {
	h := History{}
	b, err := os.ReadFile(filepath.Join(cacheDir, historyFile))
	if err != nil || json.Unmarshal(b, &h) != nil {
		return History{}
	}
	for k, v := range h {
		if v == nil || v.Seconds == nil {
			delete(h, k)
		}
	}
	return h
}

// Expected returns the column's last VM time for the selection.
func (h History) Expected(selection, column string) (float64, bool) {
	if sh := h[selection]; sh != nil {
		s, ok := sh.Seconds[column]
		return s, ok && s > 0
	}
	return 0, false
}

// Record merges measured into the selection's entry and writes the file
// (atomically: concurrent runs sharing the cache each leave a whole file).
// Columns that did not run to the end keep their earlier time.
func (h History) Record(cacheDir, selection string, measured map[string]float64, now time.Time) error {
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
