package expect

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadConfigAndLSM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(path, []byte("# comment\nCONFIG_BPF_LSM=y\n# CONFIG_FPROBE is not set\nCONFIG_LSM=\"lockdown,yama\"\nCONFIG_HZ=250\n"), 0o644))
	cfg, err := ReadConfig(path)
	require.NoError(t, err)
	assert.Equal(t, "y", cfg["CONFIG_BPF_LSM"])
	assert.Equal(t, "n", cfg["CONFIG_FPROBE"])
	assert.Equal(t, "lockdown,yama", cfg["CONFIG_LSM"])
	assert.Equal(t, []string{"lockdown", "yama"}, BootLSM(cfg, nil))
	assert.Equal(t, []string{"bpf"}, BootLSM(cfg, []string{"quiet", "lsm=bpf"}))

	_, err = ReadConfig(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	_, _, err = ParseRelease("vmlinuz")
	require.ErrorContains(t, err, "vmlinuz")
}
