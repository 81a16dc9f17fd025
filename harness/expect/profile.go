package expect

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

// Profile is a way to boot a kernel: what it adds to the command line. The
// arguments may depend on the kernel's config.
type Profile struct {
	Name        string
	Description string
	// Args returns the command-line arguments for a kernel with config.
	Args func(config map[string]string) []string
}

// DefaultProfile boots the kernel as its distribution configured it.
var DefaultProfile = Profile{
	Name:        results.DefaultProfile,
	Description: "the kernel's own defaults",
	Args:        func(map[string]string) []string { return nil },
}

// LSMBPFProfile adds "bpf" to the active LSMs (lsm=<CONFIG_LSM>,bpf) where
// the kernel has the BPF LSM built in but not enabled by default, as on
// Debian 5.10. Elsewhere it boots like the default profile.
var LSMBPFProfile = Profile{
	Name:        "lsm-bpf",
	Description: "BPF LSM enabled on the command line (lsm=<CONFIG_LSM>,bpf)",
	Args: func(config map[string]string) []string {
		lsm := BootLSM(config, nil)
		if config["CONFIG_BPF_LSM"] != "y" || slices.Contains(lsm, "bpf") {
			return nil
		}
		return []string{"lsm=" + strings.Join(append(lsm, "bpf"), ",")}
	},
}

// Profiles are the built-in boot profiles, by name.
var Profiles = []Profile{DefaultProfile, LSMBPFProfile}

// SelectProfiles returns the named built-in profiles, or an error naming
// the valid ones.
func SelectProfiles(names []string) ([]Profile, error) {
	var out []Profile
	for _, n := range names {
		i := slices.IndexFunc(Profiles, func(p Profile) bool { return p.Name == n })
		if i < 0 {
			var valid []string
			for _, p := range Profiles {
				valid = append(valid, p.Name)
			}
			return nil, fmt.Errorf("unknown boot profile %q (profiles: %s)", n, strings.Join(valid, ", "))
		}
		out = append(out, Profiles[i])
	}
	return out, nil
}
