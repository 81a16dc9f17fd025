package host

import (
	"os"
	"path/filepath"
	"sort"
)

// KeepRuns is how many run directories the CLI keeps in the cache.
const KeepRuns = 20

// PruneRuns keeps the newest keep run directories below runs (by name,
// which starts with the time) and removes the others, so that the cache
// does not grow without bound. It is best effort: errors are ignored.
func PruneRuns(runs string, keep int) {
	entries, err := os.ReadDir(runs)
	if err != nil {
		return
	}
	var dirs []os.DirEntry
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e)
		}
	}
	// Names are <kind->YYYYmmdd-HHMMSS-pid: order by modification time,
	// which holds across kinds.
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := dirs[i].Info()
		b, _ := dirs[j].Info()
		if a == nil || b == nil {
			return dirs[i].Name() > dirs[j].Name()
		}
		return a.ModTime().After(b.ModTime())
	})
	for i, d := range dirs {
		if i >= keep {
			os.RemoveAll(filepath.Join(runs, d.Name()))
		}
	}
}
