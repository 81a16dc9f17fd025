// Package splat recognises kernel splats in kernel log lines: warnings,
// BUGs, oopses, sanitizer and lockdep reports, RCU stalls, hung tasks and
// soft lockups. The host reads them from the guest console and the guest
// from /dev/kmsg (with the console at the distributions' quiet loglevel a
// WARN never reaches the console); both feed one [Detector].
//
// The markers are those the BPF selftests' CI greps for after a run
// (libbpf's check-kernel-splats), plus the stall and lockup reports.
package splat

import "strings"

// Kinds of splat.
const (
	KindWarning      = "warning"
	KindBug          = "bug"
	KindOops         = "oops"
	KindGPF          = "general-protection"
	KindKASAN        = "kasan"
	KindUBSAN        = "ubsan"
	KindLockdep      = "lockdep"
	KindRCUStall     = "rcu-stall"
	KindHungTask     = "hung-task"
	KindSoftLockup   = "soft-lockup"
	KindHardLockup   = "hard-lockup"
	maxSplats        = 16
	maxLines         = 40
	endTraceMarker   = "---[ end trace"
	cutHereMarker    = "------------[ cut here ]------------"
	kindUndetermined = ""
)

// markers map a substring of a kernel log line to the splat it starts, the
// most specific first: a KASAN report starts with "BUG: KASAN:".
var markers = []struct{ text, kind string }{
	{"BUG: KASAN:", KindKASAN},
	{"UBSAN:", KindUBSAN},
	{"possible circular locking dependency", KindLockdep},
	{"possible recursive locking detected", KindLockdep},
	{"inconsistent lock state", KindLockdep},
	{"suspicious RCU usage", KindLockdep},
	{"BUG: sleeping function called from invalid context", KindBug},
	{"soft lockup - CPU#", KindSoftLockup},
	{"Watchdog detected hard LOCKUP", KindHardLockup},
	{"self-detected stall on CPU", KindRCUStall},
	{"detected stalls on CPUs/tasks", KindRCUStall},
	{"detected stall on CPU", KindRCUStall},
	{"blocked for more than", KindHungTask},
	{"general protection fault", KindGPF},
	{"Oops: ", KindOops},
	{"Internal error: Oops", KindOops},
	{"kernel BUG at", KindBug},
	{"BUG: ", KindBug},
	{"WARNING: CPU:", KindWarning},
	{"WARNING: at ", KindWarning},
}

// Splat is one report, its first line first.
type Splat struct {
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Lines are the report's lines as logged, at most 40.
	Lines []string `json:"lines"`
}

// Detector collects splats from log lines fed one at a time. The zero
// value is ready. It is not safe for concurrent use.
type Detector struct {
	done    []Splat
	cur     *Splat
	dropped int
}

// Kind returns the kind of splat that line starts, or "".
func Kind(line string) string {
	for _, m := range markers {
		if strings.Contains(line, m.text) {
			return m.kind
		}
	}
	return kindUndetermined
}

// Line feeds one log line (with or without the kernel's timestamp).
func (d *Detector) Line(line string) {
	kind := Kind(line)
	if d.cur != nil && strings.Contains(line, cutHereMarker) {
		d.finish()
	}
	if d.cur != nil {
		switch {
		case kind != "" && d.cur.Kind == kindUndetermined:
			// "cut here" comes before the line that names the report.
			d.cur.Kind = kind
		case kind != "" && !continues(d.cur.Kind, kind):
			d.finish()
			d.start(kind, line)
			return
		}
		d.cur.Lines = append(d.cur.Lines, line)
		if strings.Contains(line, endTraceMarker) || len(d.cur.Lines) >= maxLines {
			d.finish()
		}
		return
	}
	switch {
	case strings.Contains(line, cutHereMarker):
		d.start(kindUndetermined, line)
	case kind != "":
		d.start(kind, line)
	}
}

// continues reports whether a line of kind next inside a report of kind
// cur belongs to it: an oops report says "BUG:" and then "Oops:", a
// lockdep or KASAN report says "WARNING:" or "BUG:" in its own lines. Only
// a report that stands on its own (a stall, a lockup, a sanitizer or
// lockdep report) starts a new splat in the middle of another.
func continues(cur, next string) bool {
	switch next {
	case KindHungTask, KindSoftLockup, KindHardLockup, KindRCUStall, KindLockdep, KindKASAN, KindUBSAN:
		return next == cur
	}
	return true
}

func (d *Detector) start(kind, line string) {
	d.cur = &Splat{Kind: kind, Lines: []string{line}}
}

func (d *Detector) finish() {
	s := d.cur
	d.cur = nil
	if s.Kind == kindUndetermined {
		s.Kind = KindWarning // a "cut here" block is a WARN unless it said otherwise
	}
	if len(d.done) >= maxSplats {
		d.dropped++
		return
	}
	d.done = append(d.done, *s)
}

// Flush ends the report in progress, if any, and returns the splats
// completed since the last Flush.
func (d *Detector) Flush() []Splat {
	if d.cur != nil {
		d.finish()
	}
	out := d.done
	d.done = nil
	return out
}

// Pending returns the splats completed since the last Flush, leaving a
// report in progress open.
func (d *Detector) Pending() []Splat {
	out := d.done
	d.done = nil
	return out
}

// Dropped is how many splats were not kept beyond the first 16.
func (d *Detector) Dropped() int { return d.dropped }

// Merge returns a followed by those of b whose first line a does not have
// (the same report read from the console and from the kernel log).
func Merge(a, b []Splat) []Splat {
	seen := map[string]bool{}
	out := append([]Splat(nil), a...)
	for _, s := range a {
		seen[key(s)] = true
	}
	for _, s := range b {
		if !seen[key(s)] {
			seen[key(s)] = true
			out = append(out, s)
		}
	}
	return out
}

// key identifies a report by its kind and its first line that names it
// (the console may lack the "cut here" line before it).
func key(s Splat) string {
	for _, l := range s.Lines {
		if Kind(l) != "" {
			return s.Kind + "\x00" + stripTime(l)
		}
	}
	if len(s.Lines) == 0 {
		return s.Kind
	}
	return s.Kind + "\x00" + stripTime(s.Lines[0])
}

// stripTime removes a leading "[  12.345678] " kernel timestamp.
func stripTime(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "[") {
		if _, rest, ok := strings.Cut(line, "] "); ok {
			return rest
		}
	}
	return line
}
