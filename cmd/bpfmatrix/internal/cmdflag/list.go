package cmdflag

import "strings"

// List is a repeatable string flag.
type List []string

// String is the flag's value, its items joined by commas.
func (l *List) String() string { return strings.Join(*l, ",") }

// Set adds s to the list.
func (l *List) Set(s string) error { *l = append(*l, s); return nil }

// SplitList splits a comma-separated flag value, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
