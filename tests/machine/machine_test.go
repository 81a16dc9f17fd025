package machine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCountCPUs(t *testing.T) {
	for _, tt := range []struct {
		list string
		want int
		bad  bool
	}{
		{list: "0", want: 1},
		{list: "0-1", want: 2},
		{list: "0-3,5,7-8", want: 7},
		{list: "", bad: true},
		{list: "3-1", bad: true},
		{list: "x", bad: true},
	} {
		got, err := countCPUs(tt.list)
		if tt.bad {
			assert.Error(t, err, "countCPUs(%q)", tt.list)
			continue
		}
		assert.NoError(t, err)
		assert.Equal(t, tt.want, got, "countCPUs(%q)", tt.list)
	}
}
