package rawexec

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// DescribeFailure names a kernel and how the program failed there.
func DescribeFailure(k *Kernel) string {
	if k.Status == results.StatusOK && k.ExitCode == 0 {
		for _, s := range k.Splats {
			if s.Known == "" {
				return fmt.Sprintf("%s (kernel %s: %s; --allow-splats to accept)", k.Kernel, s.Kind, strings.TrimSpace(s.Lines[0]))
			}
		}
	}
	if k.Status == results.StatusOK {
		return fmt.Sprintf("%s (exit %d)", k.Kernel, k.ExitCode)
	}
	return fmt.Sprintf("%s (%s: %s)", k.Kernel, k.Status, k.Error)
}

// Printer prints each kernel's output as one labelled group, in the
// order of the kernels, as soon as it and every kernel before it are done.
type Printer struct {
	mu             sync.Mutex
	stdout, stderr io.Writer
	done           []*Kernel
	next           int
}

// NewPrinter returns the printer of n kernels' output: the groups on
// stdout, the failures on stderr.
func NewPrinter(stdout, stderr io.Writer, n int) *Printer {
	return &Printer{stdout: stdout, stderr: stderr, done: make([]*Kernel, n)}
}

// Add records that kernel i is done (it is an [Options.OnDone]) and prints
// every group that can be printed now.
func (p *Printer) Add(i int, k *Kernel) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[i] = k
	for p.next < len(p.done) && p.done[p.next] != nil {
		writeGroup(p.stdout, p.stderr, p.done[p.next])
		p.next++
	}
}

// writeGroup writes one kernel's output between label lines. The labels are
// lines of their own that no test2json parser takes for a test event, and
// the program's lines are written unchanged.
func writeGroup(stdout, stderr io.Writer, k *Kernel) {
	release := ""
	if k.Release != "" {
		release = " (" + k.Release + ")"
	}
	fmt.Fprintf(stdout, "=== bpfmatrix: kernel %s%s\n", k.Kernel, release)
	tw := &tailWriter{w: stdout}
	k.WriteOutput(tw, &tailWriter{w: stderr})
	if !tw.newline {
		fmt.Fprintln(stdout)
	}
	if k.Status == results.StatusOK && k.Error != "" {
		fmt.Fprintf(stderr, "bpfmatrix: kernel %s: %s\n", k.Kernel, k.Error)
	}
	for _, s := range k.Splats {
		known := ""
		if s.Known != "" {
			known = " (known: " + s.Known + "; does not fail the run)"
		}
		fmt.Fprintf(stderr, "bpfmatrix: kernel %s: kernel %s%s:\n", k.Kernel, s.Kind, known)
		for _, l := range s.Lines {
			fmt.Fprintf(stderr, "bpfmatrix: splat| %s\n", l)
		}
	}
	if k.Status != results.StatusOK {
		fmt.Fprintf(stderr, "bpfmatrix: kernel %s: %s: %s\n", k.Kernel, k.Status, k.Error)
		tail := k.ConsoleTail
		if len(tail) > 20 {
			tail = tail[len(tail)-20:]
		}
		for _, l := range tail {
			fmt.Fprintf(stderr, "bpfmatrix: console| %s\n", l)
		}
		fmt.Fprintf(stderr, "bpfmatrix: console log %s\nbpfmatrix: reproduce: %s\n", k.ConsoleLog, k.Reproduce)
	}
	verdict := "ok"
	if !k.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(stdout, "=== bpfmatrix: kernel %s: %s, exit %d, %.1fs\n", k.Kernel, verdict, k.ExitCode, k.Seconds)
}

// tailWriter remembers whether the last byte written was a newline.
type tailWriter struct {
	w       io.Writer
	newline bool
	any     bool
}

func (t *tailWriter) Write(b []byte) (int, error) {
	if len(b) > 0 {
		t.any = true
		t.newline = b[len(b)-1] == '\n'
	}
	return t.w.Write(b)
}
