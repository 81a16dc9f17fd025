package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
	"github.com/bpfmatrix/bpfmatrix/harness/results"
)

func TestProfiles(t *testing.T) {
	without := map[string]string{"CONFIG_BPF_LSM": "y", "CONFIG_LSM": "lockdown,yama"}
	with := map[string]string{"CONFIG_BPF_LSM": "y", "CONFIG_LSM": "lockdown,yama,bpf"}
	runs := profilesFor(expect.Profiles, without)
	require.Len(t, runs, 2)
	assert.Equal(t, "lsm-bpf", runs[1].Name)
	assert.Equal(t, []string{"lsm=lockdown,yama,bpf"}, runs[1].args)
	assert.Len(t, profilesFor(expect.Profiles, with), 1, "a profile that changes nothing is not run twice")
	assert.Len(t, profilesFor(nil, with), 1, "no profiles means the default one")

	_, err := expect.SelectProfiles([]string{"default", "fast"})
	require.ErrorContains(t, err, `"fast"`)
	assert.ErrorContains(t, err, "default, lsm-bpf")

	k := results.KernelResult{Kernel: results.KernelInfo{Name: "debian-5.10"}, Profile: "lsm-bpf"}
	assert.Equal(t, "debian-5.10+lsm-bpf", k.Column())
	k.Profile = "default"
	assert.Equal(t, "debian-5.10", k.Column())
}
