package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// granted reports whether t holds a slot, without blocking.
func granted(t *ticket) bool {
	select {
	case <-t.granted:
		t.granted <- struct{}{} // leave it for wait
		return true
	default:
		return false
	}
}

// grantOrder runs tickets through a one-slot scheduler and returns the
// names in the order they got the slot.
func grantOrder(t *testing.T, tickets map[string]ticket) []string {
	t.Helper()
	s := newScheduler(1, 1) // one cached kernel: nothing starts before it settles
	queued := map[*ticket]string{}
	for name, tk := range tickets {
		queued[s.enqueue(tk)] = name
	}
	for q := range queued {
		require.False(t, granted(q), "no slot before every cached kernel has queued")
	}
	s.settled(true)
	var order []string
	for range tickets {
		var got *ticket
		for q := range queued {
			if granted(q) {
				require.Nil(t, got, "one slot, one holder")
				got = q
			}
		}
		require.NotNil(t, got, "a free slot is always granted")
		require.NoError(t, s.wait(context.Background(), got))
		order = append(order, queued[got])
		delete(queued, got)
		s.release()
	}
	return order
}

func TestSchedulerOrder(t *testing.T) {
	tests := []struct {
		name    string
		tickets map[string]ticket
		want    []string
	}{
		{
			name: "longest measured first",
			tickets: map[string]ticket{
				"short": {known: true, seconds: 9.4, order: 0},
				"long":  {known: true, seconds: 14.0, order: 100},
				"mid":   {known: true, seconds: 12.6, order: 200},
			},
			want: []string{"long", "mid", "short"},
		},
		{
			name: "never measured first, emulated before native, then matrix order",
			tickets: map[string]ticket{
				"x86-a":   {order: 0},
				"x86-b":   {order: 100},
				"arm64-a": {foreign: true, order: 400},
				"arm64-b": {foreign: true, order: 500},
				"known":   {known: true, seconds: 60, order: 50},
			},
			want: []string{"arm64-a", "arm64-b", "x86-a", "x86-b", "known"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, grantOrder(t, tt.tickets))
		})
	}
}

func TestSchedulerSlots(t *testing.T) {
	s := newScheduler(2, 0) // nothing cached: no waiting for anyone
	a := s.enqueue(ticket{order: 0})
	b := s.enqueue(ticket{order: 1})
	c := s.enqueue(ticket{order: 2})
	assert.True(t, granted(a))
	assert.True(t, granted(b))
	assert.False(t, granted(c), "two slots")
	s.settled(false) // a kernel that was downloaded changes nothing
	assert.False(t, granted(c))
	require.NoError(t, s.wait(context.Background(), a))
	s.release()
	assert.True(t, granted(c), "a released slot goes to the next waiter")
}

func TestSchedulerCancel(t *testing.T) {
	s := newScheduler(1, 0)
	a := s.enqueue(ticket{order: 0})
	b := s.enqueue(ticket{order: 1})
	c := s.enqueue(ticket{order: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.wait(ctx, b), context.Canceled, "a waiter leaves the queue")
	// a was granted before the cancel: its wait gives the slot back.
	assert.ErrorIs(t, s.wait(ctx, a), context.Canceled)
	assert.True(t, granted(c), "the slot of a canceled holder is not lost")
	require.NoError(t, s.wait(context.Background(), c))
	s.release()
	assert.Equal(t, 1, s.free)
	assert.Empty(t, s.waiting)
}

func TestHistory(t *testing.T) {
	dir := t.TempDir()
	h := loadHistory(dir)
	_, ok := h.expected("sel", "debian-6.1")
	assert.False(t, ok, "no file: nothing known")

	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	require.NoError(t, h.record(dir, "sel", map[string]float64{"debian-6.1": 12.5, "debian-7.2": 9}, now))
	require.NoError(t, h.record(dir, "sel", map[string]float64{"debian-7.2": 10}, now))
	h = loadHistory(dir)
	got, ok := h.expected("sel", "debian-6.1")
	assert.True(t, ok)
	assert.Equal(t, 12.5, got, "a column that did not finish keeps its earlier time")
	got, _ = h.expected("sel", "debian-7.2")
	assert.Equal(t, 10.0, got)
	_, ok = h.expected("other", "debian-6.1")
	assert.False(t, ok, "times of another selection do not count")

	for i := range maxSelections + 5 {
		require.NoError(t, h.record(dir, fmt.Sprintf("s%d", i), map[string]float64{"k": 1}, now.Add(time.Duration(i+1)*time.Minute)))
	}
	h = loadHistory(dir)
	assert.Len(t, h, maxSelections, "the least recently run selections are dropped")
	_, ok = h.expected("sel", "debian-6.1")
	assert.False(t, ok)
}

func TestHistoryGarbage(t *testing.T) {
	for _, content := range []string{"", "not json", `{"sel": null}`, `{"sel": {"seconds": null}}`, `[1,2]`, `{"sel": {"seconds": {"k": -3}}}`} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, historyFile), []byte(content), 0o644))
		h := loadHistory(dir)
		_, ok := h.expected("sel", "k")
		assert.False(t, ok, "%q", content)
		require.NoError(t, h.record(dir, "sel", map[string]float64{"k": 2}, time.Now()), "%q is replaced", content)
		got, ok := loadHistory(dir).expected("sel", "k")
		assert.True(t, ok)
		assert.Equal(t, 2.0, got)
	}
}
