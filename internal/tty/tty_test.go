package tty

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestQuitReader(t *testing.T) {
	quit := false
	q := QuitOn(bytes.NewReader([]byte("ls\r\x1dmore")), 0x1d, func() { quit = true })
	buf := make([]byte, 16)
	n, err := q.Read(buf)
	assert.NoError(t, err)
	assert.Equal(t, "ls\r", string(buf[:n]))
	assert.True(t, quit)
	_, err = q.Read(buf)
	assert.Error(t, err, "nothing after the quit key")
}

func TestCRLF(t *testing.T) {
	var b strings.Builder
	n, err := CRLF(&b).Write([]byte("a\nb\n"))
	assert.NoError(t, err)
	assert.Equal(t, 4, n, "the bytes of the caller, not the CRs added")
	assert.Equal(t, "a\r\nb\r\n", b.String())
}
