package runner

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDropImage is the second half of host's TestPruneRuns, which tested
// both before the image's removal moved to the boot path.
func TestDropImage(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"initrd.cpio", "run.cpio", "console.log"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	dropImage(dir, false)
	assert.FileExists(t, filepath.Join(dir, "initrd.cpio"), "a failed VM keeps its image for the reproduce command")
	dropImage(dir, true)
	assert.NoFileExists(t, filepath.Join(dir, "initrd.cpio"))
	assert.NoFileExists(t, filepath.Join(dir, "run.cpio"))
	assert.FileExists(t, filepath.Join(dir, "console.log"))
}
