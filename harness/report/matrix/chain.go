package matrix

import (
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Step is one failed step of a fallback chain: the mechanism tried and
// why it failed.
type Step struct {
	// Mechanism is what was tried, e.g. "fentry".
	Mechanism string
	// Reason is why it failed, e.g. "create raw tracepoint: not
	// supported".
	Reason string
}

// Chain is the fallback chain of one cell, read from its mechanism
// ("kprobe (fallback: fentry: not supported)"): the steps that failed, in
// order, and the mechanism that won.
type Chain struct {
	// Failed are the steps that failed, in the order they were tried.
	Failed []Step
	// Used is the mechanism that won.
	Used string
}

// ParseChain reads the chain of a cell. Steps are written "mechanism:
// reason" and joined with "; " (bpf/attach.Result.String); a reason may
// itself contain "; ", so a part only starts a new step when what comes
// before its first ": " looks like a mechanism name (at most two words,
// no path). ok is false for a cell without a fallback.
func ParseChain(c Cell) (ch Chain, ok bool) {
	if !c.IsFallback() {
		return Chain{}, false
	}
	ch.Used = c.Mechanism
	for _, part := range strings.Split(c.Fallback, "; ") {
		name, reason, found := strings.Cut(part, ": ")
		if found && isMechanismName(name) || len(ch.Failed) == 0 {
			if !found {
				name, reason = part, ""
			}
			ch.Failed = append(ch.Failed, Step{Mechanism: name, Reason: reason})
			continue
		}
		last := &ch.Failed[len(ch.Failed)-1]
		last.Reason += "; " + part
	}
	return ch, true
}

func isMechanismName(s string) bool {
	return s != "" && strings.Count(s, " ") <= 1 && !strings.ContainsAny(s, "/()=")
}

// Path is the chain's mechanisms in the order they were tried, ending
// with the one that won: "fentry -> kprobe".
func (ch Chain) Path() string {
	var b strings.Builder
	for _, s := range ch.Failed {
		b.WriteString(s.Mechanism + " -> ")
	}
	b.WriteString(ch.Used)
	return b.String()
}

// Reason is why the earlier steps failed: the one step's reason, or
// "step: reason" for each step of a longer chain.
func (ch Chain) Reason() string {
	if len(ch.Failed) == 1 {
		return ch.Failed[0].Reason
	}
	parts := make([]string, len(ch.Failed))
	for i, s := range ch.Failed {
		parts[i] = s.Mechanism + ": " + s.Reason
	}
	return strings.Join(parts, "; ")
}

// String is the chain and its reason: "fentry -> kprobe: create raw
// tracepoint: not supported".
func (ch Chain) String() string {
	if r := ch.Reason(); r != "" {
		return ch.Path() + ": " + r
	}
	return ch.Path()
}

// Place is one cell of the matrix by its row and column index
// (Matrix.Cells[Row][Col]).
type Place struct{ Row, Col int }

// Group is a set of cells that share one explanation: the same fallback
// chain and reason, or the same unsupported reason.
type Group struct {
	// Text is the shared explanation.
	Text string
	// Rules are the distinct expectation rules of the group's cells, with
	// their sources ("rule [source]"), in order of first appearance.
	Rules []string
	// Cells are the group's cells, row by row.
	Cells []Place
}

// FallbackGroups groups the fallback cells of the given rows by chain and
// reason, in order of first appearance (row by row).
func (m *Matrix) FallbackGroups(rows []int) []Group {
	return m.group(rows, func(c Cell) (string, bool) {
		ch, ok := ParseChain(c)
		return ch.String(), ok
	})
}

// UnsupportedGroups groups the unsupported cells of the given rows by the
// kernel's reason, without the release the harness appends ("(kernel
// 6.1.0-50-cloud-amd64)"): the same refusal on several kernels is one
// group.
func (m *Matrix) UnsupportedGroups(rows []int) []Group {
	return m.group(rows, func(c Cell) (string, bool) {
		if c.Outcome() != results.Unsupported {
			return "", false
		}
		r := c.Test.Reason
		if i := strings.LastIndex(r, " (kernel "); i >= 0 && strings.HasSuffix(r, ")") {
			r = r[:i]
		}
		if r == "" {
			r = "(no reason given)"
		}
		return r, true
	})
}

func (m *Matrix) group(rows []int, key func(Cell) (string, bool)) []Group {
	var out []Group
	index := map[string]int{}
	rules := map[string]bool{}
	for _, i := range rows {
		for j, c := range m.Cells[i] {
			if c.Test == nil {
				continue
			}
			k, ok := key(c)
			if !ok {
				continue
			}
			g, seen := index[k]
			if !seen {
				g = len(out)
				index[k] = g
				out = append(out, Group{Text: k})
			}
			out[g].Cells = append(out[g].Cells, Place{i, j})
			if e := c.Test.Expect; e != nil && e.Rule != "" {
				rule := e.Rule
				if e.Source != "" {
					rule += " [" + e.Source + "]"
				}
				if !rules[k+"\x00"+rule] {
					rules[k+"\x00"+rule] = true
					out[g].Rules = append(out[g].Rules, rule)
				}
			}
		}
	}
	return out
}
