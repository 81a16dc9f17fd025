package report

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOutputWidth(t *testing.T) {
	tests := []struct {
		columns string
		want    int
	}{
		{"", DefaultWidth},
		{"90", 90},
		{"200", 200},
		{"0", DefaultWidth},
		{"-5", DefaultWidth},
		{"wide", DefaultWidth},
	}
	for _, tt := range tests {
		t.Run("COLUMNS="+tt.columns, func(t *testing.T) {
			t.Setenv("COLUMNS", tt.columns)
			assert.Equal(t, tt.want, OutputWidth(&bytes.Buffer{}), "OutputWidth(not a terminal)")
		})
	}
}

func TestColorEnabledHonoursNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	assert.False(t, ColorEnabled(&bytes.Buffer{}))
	t.Setenv("NO_COLOR", "")
	assert.False(t, ColorEnabled(&bytes.Buffer{}), "not a terminal")
}
