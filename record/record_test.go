package record

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type stringer string

func (s stringer) String() string { return string(s) }

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.jsonl")
	t.Setenv(EnvRecords, path)
	require.True(t, Enabled())
	require.NoError(t, Mechanism(t, "entry", stringer("kprobe (fallback: fentry: no trampoline)")))
	require.NoError(t, Events(t, 2))
	require.NoError(t, Unsupported(t, "tcx", "link type 46 unknown"))

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var got []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
		got = append(got, r)
	}
	assert.Equal(t, []Record{
		{Test: "TestWrite", Hook: "entry", Mechanism: "kprobe (fallback: fentry: no trampoline)"},
		{Test: "TestWrite", Events: 2},
		{Test: "TestWrite", Hook: "tcx", Unsupported: "link type 46 unknown"},
	}, got)
}

func TestNoOpOutsideBpfmatrix(t *testing.T) {
	t.Setenv(EnvRecords, "")
	assert.False(t, Enabled())
	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, Mechanism(t, "entry", "fentry"))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "nothing written")
}
