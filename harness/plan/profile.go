package plan

import (
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

// profileRun is a profile resolved for one kernel.
type profileRun struct {
	Name string
	args []string
}

// profilesFor resolves profiles for one kernel, dropping a profile whose
// command line equals an earlier one's: it would boot the same VM twice.
func profilesFor(profiles []expect.Profile, config map[string]string) []profileRun {
	if len(profiles) == 0 {
		profiles = []expect.Profile{expect.DefaultProfile}
	}
	var out []profileRun
	seen := map[string]bool{}
	for _, p := range profiles {
		args := p.Args(config)
		key := strings.Join(args, " ")
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, profileRun{Name: p.Name, args: args})
	}
	return out
}
