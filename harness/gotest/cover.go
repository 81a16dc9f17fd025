package gotest

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MergeProfiles merges coverage profiles (the text format of go test
// -coverprofile) into one, as go test does for several packages: one mode
// line, each block once, its counts added (mode count and atomic) or
// or-ed (mode set). Blocks are sorted by file and position. Profiles of
// different modes do not merge.
func MergeProfiles(profiles ...[]byte) ([]byte, error) {
	mode := ""
	counts := map[string]int64{}
	for i, p := range profiles {
		sc := bufio.NewScanner(bytes.NewReader(p))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if m, ok := strings.CutPrefix(line, "mode: "); ok {
				if mode != "" && m != mode {
					return nil, fmt.Errorf("profile %d is of mode %s, the others of mode %s", i+1, m, mode)
				}
				mode = m
				continue
			}
			// file:start.col,end.col statements count
			sp := strings.LastIndexByte(line, ' ')
			if sp < 0 {
				return nil, fmt.Errorf("profile %d line %d: %q is no coverage block", i+1, n, line)
			}
			c, err := strconv.ParseInt(line[sp+1:], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("profile %d line %d: %q: %w", i+1, n, line, err)
			}
			block := line[:sp]
			if mode == "set" {
				counts[block] = max(counts[block], min(c, 1))
			} else {
				counts[block] += c
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	if mode == "" {
		return nil, fmt.Errorf("no profile has a mode line")
	}
	blocks := make([]string, 0, len(counts))
	for b := range counts {
		blocks = append(blocks, b)
	}
	slices.SortFunc(blocks, compareBlocks)
	var out bytes.Buffer
	fmt.Fprintf(&out, "mode: %s\n", mode)
	for _, b := range blocks {
		fmt.Fprintf(&out, "%s %d\n", b, counts[b])
	}
	return out.Bytes(), nil
}

// compareBlocks orders "file:line.col,line.col n" blocks by file, then by
// start line and column.
func compareBlocks(a, b string) int {
	fa, pa, _ := strings.Cut(a, ":")
	fb, pb, _ := strings.Cut(b, ":")
	if c := strings.Compare(fa, fb); c != 0 {
		return c
	}
	la, lb := positions(pa), positions(pb)
	return slices.Compare(la, lb)
}

// positions reads "l1.c1,l2.c2 n" into its numbers.
func positions(s string) []int {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == ',' || r == ' ' }) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}
