// Package live shows the progress of a run while it runs: one line per
// column redrawn in place on a terminal, plain timestamped lines in CI logs.
package live

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
	"github.com/bpfmatrix/bpfmatrix/kernels"
)

// ANSI SGR codes of the display.
const (
	sgrReset = "\x1b[0m"
	sgrPass  = "\x1b[32m"
	sgrFail  = "\x1b[1;31m"
	sgrDim   = "\x1b[2m"
)

// Options configure a Live progress display.
type Options struct {
	// TTY redraws one line per column in place (ANSI cursor movement);
	// otherwise Live prints plain timestamped lines, one per phase change,
	// without control characters (CI logs).
	TTY bool
	// Color colours the TTY display (see report.ColorEnabled).
	Color bool
	// Width is the terminal width; lines are cut to fit. 0: 100.
	Width int
	// Columns are the planned columns, shown as queued until they start.
	Columns []string
	// Refresh is the TTY redraw interval; 0: 200ms. Negative: no
	// background redraw (tests call Redraw).
	Refresh time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// columnState is what Live knows about one column.
type columnState struct {
	name    string
	start   time.Time
	phase   string // harness phase or a download phase
	detail  string
	suite   string
	done    bool
	failed  bool
	elapsed time.Duration // frozen when done

	dlPhase          string
	dlDone, dlTotal  int64
	dlStart          time.Time
	dlLastReportStep int64
}

// Live renders the progress of a run: harness.Options.OnProgress feeds
// Update, kernels.Options.Progress feeds Download, and Log is a writer for
// other lines (harness.Options.Log). All methods are safe for concurrent
// use. Close stops it.
type Live struct {
	w    io.Writer
	opts Options

	mu    sync.Mutex
	cols  []*columnState
	drawn int
	stop  chan struct{}
	wg    sync.WaitGroup
	done  bool
}

// New starts a progress display writing to w.
func New(w io.Writer, opts Options) *Live {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Width <= 0 {
		opts.Width = 100
	}
	if opts.Refresh == 0 {
		opts.Refresh = 200 * time.Millisecond
	}
	l := &Live{w: w, opts: opts, stop: make(chan struct{})}
	for _, c := range opts.Columns {
		l.cols = append(l.cols, &columnState{name: c, phase: "queued"})
	}
	if opts.TTY {
		io.WriteString(w, "\x1b[?25l") // hide the cursor while redrawing
		l.redrawLocked()
		if opts.Refresh > 0 {
			l.wg.Add(1)
			go l.loop()
		}
	}
	return l
}

func (l *Live) loop() {
	defer l.wg.Done()
	t := time.NewTicker(l.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Redraw()
		}
	}
}

// column returns the state of name, adding it if new; mu must be held.
func (l *Live) column(name string) *columnState {
	for _, c := range l.cols {
		if c.name == name {
			return c
		}
	}
	c := &columnState{name: name, phase: "queued"}
	l.cols = append(l.cols, c)
	return c
}

func (l *Live) elapsed(c *columnState) time.Duration {
	switch {
	case c.done:
		return c.elapsed
	case c.start.IsZero():
		return 0
	}
	return l.opts.Now().Sub(c.start)
}

// Update records a phase change of one column (harness.Options.OnProgress).
func (l *Live) Update(p results.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.column(p.Column)
	now := l.opts.Now()
	if c.start.IsZero() {
		c.start = now.Add(-p.Elapsed)
	}
	prevPhase, prevSuite := c.phase, c.suite
	c.phase, c.detail = string(p.Phase), p.Message
	if p.Phase != results.PhaseDone {
		c.done = false // a column runs again after its end (--retries)
	}
	switch p.Phase {
	case results.PhaseTesting:
		c.suite = fmt.Sprintf("%d/%d %s", p.SuiteIndex, p.Suites, p.Suite)
		c.detail = c.suite
		if p.Test != "" {
			c.detail += "  " + p.Test
		}
	case results.PhaseDone:
		c.elapsed = l.elapsed(c)
		c.done = true
		c.failed = p.Status != results.StatusOK
		c.detail = string(p.Status)
		if p.Message != "" {
			c.detail += ": " + p.Message
		}
	}
	if l.opts.TTY {
		return
	}
	if c.phase == prevPhase && c.suite == prevSuite && p.Phase != results.PhaseDone {
		return
	}
	switch {
	case p.Phase == results.PhaseTesting:
		l.linef(c, "running tests: suite %s", c.suite)
	case p.Phase == results.PhaseDone && c.failed:
		l.linef(c, "FAILED: %s", c.detail)
	case p.Phase == results.PhaseDone:
		l.linef(c, "done: %s", c.detail)
	case p.Message != "":
		l.linef(c, "%s (%s)", p.Phase, p.Message)
	default:
		l.linef(c, "%s", p.Phase)
	}
}

// Download records download progress (kernels.Options.Progress): kernel is
// the catalog name, applied to every column of that kernel.
func (l *Live) Download(kernel, phase string, done, total int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var cols []*columnState
	for _, c := range l.cols {
		if c.name == kernel || strings.HasPrefix(c.name, kernel+"+") {
			cols = append(cols, c)
		}
	}
	if len(cols) == 0 {
		cols = append(cols, l.column(kernel))
	}
	now := l.opts.Now()
	for _, c := range cols {
		if c.start.IsZero() {
			c.start = now
		}
		started := c.dlPhase != phase
		if started {
			c.dlPhase, c.dlStart, c.dlLastReportStep = phase, now, -1
		}
		c.dlDone, c.dlTotal = done, total
		if l.opts.TTY || c.done {
			continue
		}
		// Plain: a line when a phase starts, at every quarter, at the end.
		step := int64(-1)
		if total > 0 {
			step = done * 4 / total
		}
		if !started && step == c.dlLastReportStep {
			continue
		}
		c.dlLastReportStep = step
		l.linef(c, "%s", downloadText(c, now, false))
	}
}

// downloadText describes a column's current download phase.
func downloadText(c *columnState, now time.Time, bar bool) string {
	switch c.dlPhase {
	case kernels.PhaseIndex:
		return "reading the package index"
	case kernels.PhaseExtract:
		return "extracting"
	}
	mb := func(n int64) string { return fmt.Sprintf("%.1f", float64(n)/1e6) }
	rate := ""
	if secs := now.Sub(c.dlStart).Seconds(); secs > 0.05 {
		rate = fmt.Sprintf("  %.1f MB/s", float64(c.dlDone)/1e6/secs)
	}
	if c.dlTotal <= 0 {
		return "downloading " + mb(c.dlDone) + " MB" + rate
	}
	s := "downloading "
	if bar {
		s += progressBar(c.dlDone, c.dlTotal, 20) + " "
	}
	return s + mb(c.dlDone) + "/" + mb(c.dlTotal) + " MB" + rate
}

// progressBar draws done/total as a bar of width cells.
func progressBar(done, total int64, width int) string {
	n := int(min(max(done, 0), total) * int64(width) / total)
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", width-n) + "]"
}

// linef prints a plain, timestamped line for column c; mu must be held.
func (l *Live) linef(c *columnState, format string, args ...any) {
	fmt.Fprintf(l.w, "%s %-*s %7s  %s\n", l.opts.Now().UTC().Format("15:04:05"), l.nameWidth(), c.name,
		fmt.Sprintf("%.1fs", l.elapsed(c).Seconds()), fmt.Sprintf(format, args...))
}

func (l *Live) nameWidth() int {
	n := 0
	for _, c := range l.cols {
		n = max(n, utf8.RuneCountInString(c.name))
	}
	return n
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// lines returns the TTY block: one line per column; mu must be held.
func (l *Live) lines() []string {
	now := l.opts.Now()
	spin := spinner[(now.UnixMilli()/100)%int64(len(spinner))]
	paint := func(code, s string) string {
		if l.opts.Color {
			return code + s + sgrReset
		}
		return s
	}
	var out []string
	for _, c := range l.cols {
		icon, text := paint(sgrDim, "·"), c.phase
		switch {
		case c.done && c.failed:
			icon, text = paint(sgrFail, "✗"), "failed ("+c.detail+")"
		case c.done:
			icon, text = paint(sgrPass, "✓"), "done ("+c.detail+")"
		case c.phase == "queued":
		case c.phase == string(results.PhaseFetching) && c.dlPhase != "":
			icon, text = spin, downloadText(c, now, true)
		case c.phase == string(results.PhaseTesting):
			icon, text = spin, "running tests "+c.detail
		default:
			icon = spin
			if c.detail != "" {
				text += " (" + c.detail + ")"
			}
		}
		el := ""
		if !c.start.IsZero() {
			el = fmt.Sprintf("%.1fs", l.elapsed(c).Seconds())
		}
		prefix := fmt.Sprintf("%-*s %7s  ", l.nameWidth(), c.name, el)
		room := l.opts.Width - 1 - utf8.RuneCountInString(prefix) - 2
		if utf8.RuneCountInString(text) > room && room > 1 {
			text = string([]rune(text)[:room-1]) + "…"
		}
		out = append(out, prefix+icon+" "+text)
	}
	return out
}

// Redraw redraws the TTY block now (a no-op in plain mode).
func (l *Live) Redraw() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.redrawLocked()
}

func (l *Live) redrawLocked() {
	if !l.opts.TTY || l.done {
		return
	}
	var b strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", l.drawn)
	}
	lines := l.lines()
	for _, s := range lines {
		b.WriteString("\r\x1b[2K" + s + "\n")
	}
	b.WriteString("\x1b[J")
	io.WriteString(l.w, b.String())
	l.drawn = len(lines)
}

// Log returns a writer for other progress lines (harness.Options.Log): on
// a TTY they scroll above the live block; in plain mode they are printed
// as they come.
func (l *Live) Log() io.Writer { return logWriter{l} }

type logWriter struct{ l *Live }

func (lw logWriter) Write(p []byte) (int, error) {
	l := lw.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.opts.TTY || l.done {
		return l.w.Write(p)
	}
	var b strings.Builder
	if l.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", l.drawn)
	}
	b.Write(p)
	if len(p) > 0 && p[len(p)-1] != '\n' {
		b.WriteByte('\n')
	}
	io.WriteString(l.w, b.String())
	l.drawn = 0
	l.redrawLocked()
	return len(p), nil
}

// Close stops the display, leaving the final state of every column on
// the terminal.
func (l *Live) Close() {
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.redrawLocked()
	l.done = true
	if l.opts.TTY {
		io.WriteString(l.w, "\x1b[?25h")
	}
}
