package schedule

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
func granted(t *Ticket) bool {
	select {
	case <-t.granted:
		t.granted <- struct{}{} // leave it for wait
		return true
	default:
		return false
	}
}

// grantOrder runs tickets through a one-slot Scheduler and returns the
// names in the order they got the slot.
func grantOrder(t *testing.T, tickets map[string]Ticket) []string {
	t.Helper()
	s := New(1, 1) // one cached kernel: nothing starts before it settles
	queued := map[*Ticket]string{}
	for name, tk := range tickets {
		queued[s.Enqueue(tk)] = name
	}
	for q := range queued {
		require.False(t, granted(q), "no slot before every cached kernel has queued")
	}
	s.Settled(true)
	var order []string
	for range tickets {
		var got *Ticket
		for q := range queued {
			if granted(q) {
				require.Nil(t, got, "one slot, one holder")
				got = q
			}
		}
		require.NotNil(t, got, "a free slot is always granted")
		require.NoError(t, s.Wait(context.Background(), got))
		order = append(order, queued[got])
		delete(queued, got)
		s.Release()
	}
	return order
}

func TestSchedulerOrder(t *testing.T) {
	tests := []struct {
		name    string
		tickets map[string]Ticket
		want    []string
	}{
		{
			name: "longest measured first",
			tickets: map[string]Ticket{
				"short": {Known: true, Seconds: 9.4, Order: 0},
				"long":  {Known: true, Seconds: 14.0, Order: 100},
				"mid":   {Known: true, Seconds: 12.6, Order: 200},
			},
			want: []string{"long", "mid", "short"},
		},
		{
			name: "never measured first, emulated before native, then matrix order",
			tickets: map[string]Ticket{
				"x86-a":   {Order: 0},
				"x86-b":   {Order: 100},
				"arm64-a": {Foreign: true, Order: 400},
				"arm64-b": {Foreign: true, Order: 500},
				"known":   {Known: true, Seconds: 60, Order: 50},
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
	s := New(2, 0) // nothing cached: no waiting for anyone
	a := s.Enqueue(Ticket{Order: 0})
	b := s.Enqueue(Ticket{Order: 1})
	c := s.Enqueue(Ticket{Order: 2})
	assert.True(t, granted(a))
	assert.True(t, granted(b))
	assert.False(t, granted(c), "two slots")
	s.Settled(false) // a kernel that was downloaded changes nothing
	assert.False(t, granted(c))
	require.NoError(t, s.Wait(context.Background(), a))
	s.Release()
	assert.True(t, granted(c), "a released slot goes to the next waiter")
}

func TestSchedulerCancel(t *testing.T) {
	s := New(1, 0)
	a := s.Enqueue(Ticket{Order: 0})
	b := s.Enqueue(Ticket{Order: 1})
	c := s.Enqueue(Ticket{Order: 2})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Wait(ctx, b), context.Canceled, "a waiter leaves the queue")
	// a was granted before the cancel: its wait gives the slot back.
	assert.ErrorIs(t, s.Wait(ctx, a), context.Canceled)
	assert.True(t, granted(c), "the slot of a canceled holder is not lost")
	require.NoError(t, s.Wait(context.Background(), c))
	s.Release()
	assert.Equal(t, 1, s.free)
	assert.Empty(t, s.waiting)
}

func TestHistory(t *testing.T) {
	dir := t.TempDir()
	h := LoadHistory(dir)
	_, ok := h.Expected("sel", "debian-6.1")
	assert.False(t, ok, "no file: nothing known")

	now := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	require.NoError(t, h.Record(dir, "sel", map[string]float64{"debian-6.1": 12.5, "debian-7.2": 9}, now))
	require.NoError(t, h.Record(dir, "sel", map[string]float64{"debian-7.2": 10}, now))
	h = LoadHistory(dir)
	got, ok := h.Expected("sel", "debian-6.1")
	assert.True(t, ok)
	assert.Equal(t, 12.5, got, "a column that did not finish keeps its earlier time")
	got, _ = h.Expected("sel", "debian-7.2")
	assert.Equal(t, 10.0, got)
	_, ok = h.Expected("other", "debian-6.1")
	assert.False(t, ok, "times of another selection do not count")

	for i := range maxSelections + 5 {
		require.NoError(t, h.Record(dir, fmt.Sprintf("s%d", i), map[string]float64{"k": 1}, now.Add(time.Duration(i+1)*time.Minute)))
	}
	h = LoadHistory(dir)
	assert.Len(t, h, maxSelections, "the least recently run selections are dropped")
	_, ok = h.Expected("sel", "debian-6.1")
	assert.False(t, ok)
}

func TestHistoryGarbage(t *testing.T) {
	for _, content := range []string{"", "not json", `{"sel": null}`, `{"sel": {"seconds": null}}`, `[1,2]`, `{"sel": {"seconds": {"k": -3}}}`} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, historyFile), []byte(content), 0o644))
		h := LoadHistory(dir)
		_, ok := h.Expected("sel", "k")
		assert.False(t, ok, "%q", content)
		require.NoError(t, h.Record(dir, "sel", map[string]float64{"k": 2}, time.Now()), "%q is replaced", content)
		got, ok := LoadHistory(dir).Expected("sel", "k")
		assert.True(t, ok)
		assert.Equal(t, 2.0, got)
	}
}
