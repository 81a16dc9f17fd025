package results

import (
	"time"
)

// Phase is where one column (one VM) of a run is.
type Phase string

// Phases, in order.
const (
	PhaseFetching Phase = "fetching"
	PhaseImage    Phase = "building image"
	PhaseBooting  Phase = "booting"
	PhaseTesting  Phase = "running tests"
	PhaseDone     Phase = "done"
)

// Progress is one update about one column, for live displays. Updates for
// different columns arrive from different goroutines.
type Progress struct {
	// Column names the matrix column, e.g. "debian-6.1".
	Column string
	Phase  Phase
	// Suite and Test are the running suite and test (PhaseTesting);
	// SuiteIndex is 1-based, out of Suites.
	Suite      string
	SuiteIndex int
	Suites     int
	Test       string
	// Status is set with PhaseDone.
	Status Status
	// Elapsed is the time since the column started.
	Elapsed time.Duration
	// Message is a human-readable detail (an error, the accelerator).
	Message string
}
