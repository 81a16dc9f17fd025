package host

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPruneRuns(t *testing.T) {
	runs := t.TempDir()
	for i := range 5 {
		dir := filepath.Join(runs, fmt.Sprintf("run-%d", i))
		require.NoError(t, os.Mkdir(dir, 0o755))
		when := time.Now().Add(time.Duration(i-10) * time.Minute)
		require.NoError(t, os.Chtimes(dir, when, when))
	}
	PruneRuns(runs, 2)
	left, err := os.ReadDir(runs)
	require.NoError(t, err)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"run-3", "run-4"}, names, "the newest runs stay")
}
