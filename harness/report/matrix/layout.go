package matrix

import (
	"strings"
)

// ArchGroup is the columns of one architecture, in matrix order.
type ArchGroup struct {
	// Arch is the kernels' architecture, e.g. "arm64".
	Arch string
	// Columns are indexes into Matrix.Columns.
	Columns []int
}

// Layout is how the compact reports lay the columns out: grouped by
// architecture, each with a short label.
type Layout struct {
	Groups []ArchGroup
	// Short is each column's label within its group: the kernel name
	// without the distribution prefix all columns share and without the
	// arch ("6.1", "5.10+lsm-bpf"), or the full label where that would
	// not be unique.
	Short []string
}

// NewLayout groups m's columns by arch, in order of first appearance.
func NewLayout(m *Matrix) *Layout {
	l := &Layout{Short: make([]string, len(m.Columns))}
	index := map[string]int{}
	for j, c := range m.Columns {
		arch := c.Kernel.Kernel.Arch
		g, ok := index[arch]
		if !ok {
			g = len(l.Groups)
			index[arch] = g
			l.Groups = append(l.Groups, ArchGroup{Arch: arch})
		}
		l.Groups[g].Columns = append(l.Groups[g].Columns, j)
	}
	prefix := commonPrefix(m)
	seen := map[string]int{}
	for j, c := range m.Columns {
		k := c.Kernel
		name := strings.TrimPrefix(k.Kernel.Name, prefix)
		if a := k.Kernel.Arch; a != "" {
			name = strings.TrimSuffix(name, "-"+a)
		}
		if name == "" {
			name = k.Kernel.Name
		}
		if col := k.Column(); col != k.Kernel.Name {
			name += strings.TrimPrefix(col, k.Kernel.Name)
		}
		l.Short[j] = name
		seen[k.Kernel.Arch+" "+name]++
	}
	for j, c := range m.Columns {
		if seen[c.Kernel.Kernel.Arch+" "+l.Short[j]] > 1 {
			l.Short[j] = c.Kernel.Column()
		}
	}
	return l
}

// commonPrefix is the "distro-" prefix every kernel name of m starts with
// ("debian-"), or "".
func commonPrefix(m *Matrix) string {
	prefix := ""
	for i, c := range m.Columns {
		name := c.Kernel.Kernel.Name
		p, _, ok := strings.Cut(name, "-")
		if !ok {
			return ""
		}
		if i == 0 {
			prefix = p + "-"
		} else if !strings.HasPrefix(name, prefix) {
			return ""
		}
	}
	return prefix
}

// Name is a column's short label with its arch, "arm64 6.1", as the
// grouped lists below the matrix name it.
func (l *Layout) Name(m *Matrix, j int) string {
	if a := m.Columns[j].Kernel.Kernel.Arch; a != "" {
		return a + " " + l.Short[j]
	}
	return l.Short[j]
}

// Header is a column's header lines: the short label broken before its
// boot profile ("5.10", "+lsm-bpf").
func (l *Layout) Header(j int) []string {
	s := l.Short[j]
	if i := strings.Index(s, "+"); i > 0 {
		return []string{s[:i], s[i:]}
	}
	return []string{s}
}

// Places names a set of columns compactly: "every kernel", or the short
// labels grouped by arch, "amd64 5.10, 6.1; arm64 6.1".
func (l *Layout) Places(m *Matrix, cols []int) string {
	if len(cols) == len(m.Columns) && len(cols) > 1 {
		return "every kernel"
	}
	in := map[int]bool{}
	for _, j := range cols {
		in[j] = true
	}
	var parts []string
	for _, g := range l.Groups {
		var names []string
		for _, j := range g.Columns {
			if in[j] {
				names = append(names, l.Short[j])
			}
		}
		if len(names) == 0 {
			continue
		}
		s := strings.Join(names, ", ")
		if g.Arch != "" {
			s = g.Arch + " " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// DetailName names a column in the sections below the matrix: its column
// name (kernel and profile), with the arch when two columns would
// otherwise share it.
func DetailName(m *Matrix, j int) string {
	k := m.Columns[j].Kernel
	name := k.Column()
	for i, c := range m.Columns {
		if i != j && c.Kernel.Column() == name {
			return name + " " + k.Kernel.Arch
		}
	}
	return name
}

// Uses lists where a group's cells are: one line per set of columns,
// "fallback/TestEntry, fallback/TestExit on arm64 5.10, 6.1".
func (lay *Layout) Uses(m *Matrix, g Group) []string {
	var order []int
	cols := map[int][]int{}
	for _, pl := range g.Cells {
		if _, ok := cols[pl.Row]; !ok {
			order = append(order, pl.Row)
		}
		cols[pl.Row] = append(cols[pl.Row], pl.Col)
	}
	var lines []string
	tests := map[string][]string{}
	for _, i := range order {
		where := lay.Places(m, cols[i])
		if _, ok := tests[where]; !ok {
			lines = append(lines, where)
		}
		tests[where] = append(tests[where], m.Rows[i])
	}
	out := make([]string, len(lines))
	for k, where := range lines {
		out[k] = strings.Join(tests[where], ", ") + " on " + where
	}
	return out
}
