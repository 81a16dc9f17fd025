package runner

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBootDeadline(t *testing.T) {
	tests := []struct {
		name string
		// after is the deadline; hello, if >= 0, is when the guest says
		// hello.
		after, hello time.Duration
		killed       bool
	}{
		{"hello in time", 200 * time.Millisecond, 0, false},
		{"no hello", 20 * time.Millisecond, -1, true},
		{"hello too late", 20 * time.Millisecond, 100 * time.Millisecond, true},
		{"no deadline", 0, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kills atomic.Int32
			d := &bootDeadline{after: tt.after}
			d.start(func() { kills.Add(1) })
			if tt.hello >= 0 {
				time.Sleep(tt.hello)
				d.said()
			}
			time.Sleep(2*tt.after + 50*time.Millisecond)
			d.stop()
			assert.Equal(t, tt.killed, d.missed(), "missed()")
			want := int32(0)
			if tt.killed {
				want = 1
			}
			assert.Equal(t, want, kills.Load(), "kills")
		})
	}
	d := &bootDeadline{after: 90 * time.Second}
	assert.Equal(t, "the guest did not report in within the 1m30s boot deadline (raise it with --boot-timeout)", d.error())
}
