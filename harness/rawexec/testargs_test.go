package rawexec

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestExecTimeout(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 10 * time.Minute},
		{[]string{"-test.v=true", "-test.timeout=2m0s"}, 5 * time.Minute},
		{[]string{"-test.timeout", "1m"}, 4 * time.Minute},
		{[]string{"-test.timeout=0s"}, time.Hour},
	} {
		assert.Equal(t, tt.want, Timeout(tt.args), "%q", tt.args)
	}
}

func TestIsTestRun(t *testing.T) {
	assert.True(t, IsTestRun([]string{"-test.paniconexit0", "-test.v=test2json"}))
	assert.False(t, IsTestRun([]string{"--verbose", "x"}))
}
