package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard selects a deterministic slice of a plan's columns, so that n CI jobs
// together run every column exactly once: column j (0-based, in plan order)
// belongs to shard j%N+1.
type Shard struct {
	// Index is 1-based, at most N.
	Index int
	// N is the number of shards, at least 1.
	N int
}

// ParseShard parses "i/n" (1 <= i <= n), as given to run --shard.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 1/3 for the first of three shards", s)
	}
	i, err := strconv.Atoi(is)
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: index %q is not a number: want i/n, e.g. 1/3: %w", s, is, err)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: count %q is not a number: want i/n, e.g. 1/3: %w", s, ns, err)
	}
	sh := Shard{Index: i, N: n}
	return sh, sh.Validate()
}

// Validate checks 1 <= Index <= N.
func (s Shard) Validate() error {
	if s.N < 1 {
		return fmt.Errorf("shard %d/%d: the shard count must be at least 1", s.Index, s.N)
	}
	if s.Index < 1 || s.Index > s.N {
		return fmt.Errorf("shard %d/%d: the index is 1-based and must be between 1 and %d", s.Index, s.N, s.N)
	}
	return nil
}

// String returns "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.N) }

// Owns reports whether column j (0-based, in plan order) belongs to s.
func (s Shard) Owns(j int) bool { return j%s.N+1 == s.Index }

// SelectShard returns the items of the plan that belong to s, in order.
// The result is empty when s has no column (more shards than columns).
func SelectShard[T any](s Shard, items []T) []T {
	var out []T
	for j, it := range items {
		if s.Owns(j) {
			out = append(out, it)
		}
	}
	return out
}
