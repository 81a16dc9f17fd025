package cmdflag

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/kernels"
)

// TestDownloadProgressConcurrent: the store pulls kernels at once and
// reports each one's progress from its own goroutine (run with -race).
func TestDownloadProgressConcurrent(t *testing.T) {
	var b bytes.Buffer
	var mu sync.Mutex
	progress := DownloadProgress(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return b.Write(p)
	}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("k%d", i)
			progress(name, kernels.PhaseIndex, 0, -1)
			for done := int64(0); done <= 100; done += 25 {
				progress(name, kernels.PhaseDownload, done, 100)
			}
		})
	}
	wg.Wait()
	out := b.String()
	assert.Equal(t, 8, strings.Count(out, "reading the package index"))
	assert.Equal(t, 8*5, strings.Count(out, ": download "), "every quarter of every download")
	assert.Contains(t, out, "  k3: reading the package index\n")
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
