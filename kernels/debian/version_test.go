package debian_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/kernels/debian"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.10", "1.9", 1},
		{"1.0-1", "1.0-2", -1},
		{"1.0", "1.0-0", 0},
		{"1:1.0", "2.0", 1},
		{"0:1.0", "1.0", 0},
		{"1.0~rc1", "1.0", -1},
		{"1.0~rc1", "1.0~rc2", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0", "1.0+b1", -1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0+", -1},
		{"1.0.0", "1.0", 1},
		{"6.1.158-1", "6.1.160-1", -1},
		{"6.1.160-1", "6.1.160-1~bpo11+1", 1},
		{"5.10.223-1", "5.10.226-1", -1},
		{"6.12.117-1", "6.12.9-1", 1},
		{"7.2.13-1", "7.2.13-1+b1", -1},
		{"1.001", "1.1", 0},
		{"1-2-3", "1-2-4", -1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, debian.CompareVersions(tt.a, tt.b), "%s vs %s", tt.a, tt.b)
		assert.Equal(t, -tt.want, debian.CompareVersions(tt.b, tt.a), "%s vs %s", tt.b, tt.a)
	}
}
