package guest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestWatchSplats(t *testing.T) {
	// A file of /dev/kmsg records: the watcher reads it as it would the
	// kernel log (one record per read here is one line per read there).
	log := filepath.Join(t.TempDir(), "kmsg")
	require.NoError(t, os.WriteFile(log, []byte("4,1,1500000,-;WARNING: CPU: 0 PID: 1 at x.c:1 f\n"), 0o644))
	var buf bytes.Buffer
	stop := WatchSplats(log, wire.NewEncoder(&buf))
	// A record logged just before the stop, between two polls, still counts.
	time.Sleep(20 * time.Millisecond)
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("3,2,1600000,-;INFO: task k:1 blocked for more than 120 seconds.\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	stop()
	evs := decodeAll(t, &buf)
	require.Len(t, evs, 2, "%v", evs)
	require.Equal(t, wire.TypeSplat, evs[0].Type)
	assert.Equal(t, "warning", evs[0].Splat.Kind)
	assert.Equal(t, []string{"[    1.500000] WARNING: CPU: 0 PID: 1 at x.c:1 f"}, evs[0].Splat.Lines)
	assert.Equal(t, "hung-task", evs[1].Splat.Kind, "the record written just before the stop")

	buf.Reset()
	WatchSplats(filepath.Join(t.TempDir(), "missing"), wire.NewEncoder(&buf))()
	evs = decodeAll(t, &buf)
	require.Len(t, evs, 1)
	assert.Equal(t, wire.TypeLog, evs[0].Type, "a kernel log that cannot be read is said")
}

func TestKmsgLine(t *testing.T) {
	for rec, want := range map[string]string{
		"4,120,12345678,-;WARNING: CPU: 0 PID: 1 at x\n SUBSYSTEM=cpu\n": "[   12.345678] WARNING: CPU: 0 PID: 1 at x",
		"6,1,0,-;Linux version 6.1":                                      "[    0.000000] Linux version 6.1",
		"garbage":                                                        "",
		"a,b,c;text":                                                     "",
	} {
		got, _ := kmsgLine(rec)
		assert.Equal(t, want, got, "kmsgLine(%q)", rec)
	}
}
