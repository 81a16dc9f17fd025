package text

import (
	"bytes"
	"testing"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestTerminal checks colour and width on a real terminal (a pty): the
// terminal's width unless COLUMNS says otherwise, colour unless NO_COLOR
// is set or TERM is dumb.
func TestTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	require.NoError(t, err)
	defer ptmx.Close()
	defer tty.Close()
	require.NoError(t, pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 97}))

	t.Setenv("COLUMNS", "")
	assert.Equal(t, 97, OutputWidth(tty), "the terminal's width")
	t.Setenv("COLUMNS", "120")
	assert.Equal(t, 120, OutputWidth(tty), "COLUMNS wins")

	tests := []struct {
		noColor, term string
		want          bool
	}{
		{"", "xterm-256color", true},
		{"1", "xterm-256color", false},
		{"", "dumb", false},
	}
	for _, tt := range tests {
		t.Setenv("NO_COLOR", tt.noColor)
		t.Setenv("TERM", tt.term)
		assert.Equal(t, tt.want, ColorEnabled(tty), "ColorEnabled(tty) with NO_COLOR=%q TERM=%q", tt.noColor, tt.term)
	}
	assert.False(t, ColorEnabled(&bytes.Buffer{}), "not a terminal")
}
