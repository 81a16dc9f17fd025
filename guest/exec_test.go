package guest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/internal/wire"
)

// TestRunExec runs a shell command in raw-exec mode on the host and checks
// the events: both streams, the working directory, the environment, the
// exit code, then done.
func TestRunExec(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	r := &Runner{Config: &wire.Config{Exec: &wire.Exec{
		Path: "/bin/sh", Args: []string{"-c", `echo out; echo err >&2; pwd; echo "$GREETING $HOME"; exit 3`},
		Dir: dir, Env: []string{"GREETING=hi"},
	}}, Enc: wire.NewEncoder(&buf)}
	require.NoError(t, r.Run(t.Context()))
	var stdout, stderr strings.Builder
	var exit *wire.Exit
	var done bool
	for _, ev := range decodeAll(t, &buf) {
		switch ev.Type {
		case wire.TypeOutput:
			if ev.Output.Stream == wire.Stdout {
				stdout.Write(ev.Output.Data)
			} else {
				stderr.Write(ev.Output.Data)
			}
		case wire.TypeExit:
			exit = ev.Exit
		case wire.TypeDone:
			done = true
		}
	}
	assert.Equal(t, "out\n"+dir+"\nhi /tmp\n", stdout.String())
	assert.Equal(t, "err\n", stderr.String())
	require.NotNil(t, exit)
	assert.Equal(t, 3, exit.Code)
	assert.True(t, done)
}

// decodeAll decodes every event the guest wrote to buf.
func decodeAll(t *testing.T, buf *bytes.Buffer) []wire.Event {
	t.Helper()
	var evs []wire.Event
	dec := wire.NewDecoder(buf)
	for {
		ev, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		require.NoError(t, err)
		evs = append(evs, ev)
	}
}
