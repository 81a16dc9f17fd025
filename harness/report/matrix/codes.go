package matrix

import (
	"strconv"
	"strings"
	"unicode"
)

// knownCodes are the short codes of the mechanisms bpfmatrix's own suites
// and bpf/attach report. A mechanism of several parts ("bpf_ringbuf_output
// from tracepoint, perf_event ioctl") gets its parts' codes joined with
// "+"; any other mechanism gets a code made of its words' initials.
var knownCodes = map[string]string{
	"perf_event ioctl":                      "io",
	"bpf_link (perf_event)":                 "pl",
	"bpf_link (tracing)":                    "tr",
	"bpf_link (raw_tracepoint)":             "rt",
	"bpf_link (cgroup)":                     "cg",
	"bpf_link (tcx)":                        "tcx",
	"bpf_link (xdp)":                        "xl",
	"bpf_link (kprobe_multi)":               "kpm",
	"bpf_link (uprobe_multi)":               "upm",
	"SO_ATTACH_BPF":                         "so",
	"netlink clsact/cls_bpf":                "nl",
	"xdp generic, bpf_link (xdp)":           "xg",
	"xdp native, bpf_link (xdp)":            "xn",
	"bpf_ringbuf_output from tracepoint":    "rb",
	"bpf_perf_event_output from tracepoint": "pa",
	"fentry":                                "fe",
	"fexit":                                 "fx",
	"kprobe":                                "kp",
	"kretprobe":                             "kr",
	"kprobe each":                           "kpe",
	"kprobe.multi":                          "kpm",
	"uprobe":                                "up",
	"uretprobe":                             "ur",
	"uprobe each":                           "upe",
	"uprobe.multi":                          "upm",
	"tcx":                                   "tcx",
	"bpf lsm":                               "lsm",
	"kprobe security_file_open (observe only: cannot deny)": "kpo",
	"ringbuf":          "rb",
	"perf event array": "pa",
}

// Codes assigns every mechanism of a matrix a short code for the compact
// cells, and keeps the legend.
type Codes struct {
	code  map[string]string   // mechanism -> code
	names map[string][]string // code -> mechanisms, in order of first use
	order []string            // codes in order of first use
}

// MechanismCodes assigns codes to the mechanisms of m, row by row. Two
// mechanisms share a code only when the known table says they are the
// same thing ("tcx" and "bpf_link (tcx)"); made-up codes get a digit to
// stay unique.
func MechanismCodes(m *Matrix) *Codes {
	cs := &Codes{code: map[string]string{}, names: map[string][]string{}}
	for _, row := range m.Cells {
		for _, c := range row {
			if c.Mechanism != "" {
				cs.add(c.Mechanism)
			}
		}
	}
	return cs
}

func (cs *Codes) add(mech string) string {
	if code, ok := cs.code[mech]; ok {
		return code
	}
	code, known := knownCode(mech)
	if !known {
		// A made-up code never takes a code of the table, nor one in use.
		base := code
		for n := 2; reservedCodes[code] || len(cs.names[code]) > 0; n++ {
			code = base + strconv.Itoa(n)
		}
	}
	cs.code[mech] = code
	if _, whole := knownCodes[mech]; !whole && known && strings.Contains(mech, ", ") {
		// "rb+io" is in the legend as its parts, "rb" and "io".
		for _, p := range strings.Split(mech, ", ") {
			cs.legend(knownCodes[p], p)
		}
		return code
	}
	cs.legend(code, mech)
	return code
}

func (cs *Codes) legend(code, mech string) {
	for _, n := range cs.names[code] {
		if n == mech {
			return
		}
	}
	if len(cs.names[code]) == 0 {
		cs.order = append(cs.order, code)
	}
	cs.names[code] = append(cs.names[code], mech)
}

// reservedCodes are the codes of the table.
var reservedCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range knownCodes {
		m[c] = true
	}
	return m
}()

// Code returns the code of a mechanism ("" for none).
func (cs *Codes) Code(mech string) string {
	if mech == "" {
		return ""
	}
	if code, ok := cs.code[mech]; ok {
		return code
	}
	return cs.add(mech)
}

// Legend returns "code mechanism[ / mechanism]" for every code in use, in
// order of first use; a code of several parts ("rb+io": one mechanism,
// then the other) is explained by its parts.
func (cs *Codes) Legend() []string {
	out := make([]string, 0, len(cs.order))
	for _, code := range cs.order {
		out = append(out, code+" "+strings.Join(cs.names[code], " / "))
	}
	return out
}

// knownCode returns the code of mech from the table, combining the codes
// of its comma-separated parts; known is false when a part had to be
// made up from initials.
func knownCode(mech string) (code string, known bool) {
	if c, ok := knownCodes[mech]; ok {
		return c, true
	}
	parts := strings.Split(mech, ", ")
	if len(parts) == 1 {
		return initials(mech), false
	}
	known = true
	codes := make([]string, len(parts))
	for i, p := range parts {
		c, ok := knownCodes[p]
		if !ok {
			c, known = initials(p), false
		}
		codes[i] = c
	}
	return strings.Join(codes, "+"), known
}

// initials is a code made of the first letters of up to three words of
// s: "bpf_link (netkit)" -> "bln".
func initials(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var b strings.Builder
	for _, w := range words {
		if b.Len() == 3 {
			break
		}
		b.WriteRune([]rune(w)[0])
	}
	if b.Len() == 0 {
		return "?"
	}
	if b.Len() == 1 && len(words) == 1 {
		w := []rune(words[0])
		return string(w[:min(3, len(w))])
	}
	return b.String()
}
