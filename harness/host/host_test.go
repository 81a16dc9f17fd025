package host

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExecEnv(t *testing.T) {
	host := []string{"PATH=/usr/bin", "HOME=/root", "GOPATH=/go", "GODEBUG=x=1", "MY_TOKEN=s", "EXAMPLE=1", "XDG_RUNTIME_DIR=/run/u", "noequals"}
	tests := []struct {
		name    string
		exclude []string
		add     []string
		want    []string
		wantErr string
	}{
		{name: "defaults", want: []string{"GODEBUG=x=1", "MY_TOKEN=s", "EXAMPLE=1"}},
		{name: "exclude", exclude: []string{"TOKEN"}, want: []string{"GODEBUG=x=1", "EXAMPLE=1"}},
		{name: "add and override", add: []string{"EXAMPLE=2", "NEW=v", "HOME"}, want: []string{"GODEBUG=x=1", "MY_TOKEN=s", "EXAMPLE=2", "NEW=v", "HOME=/root"}},
		{name: "unknown bare key", add: []string{"NOPE"}, wantErr: "not set on the host"},
		{name: "bad key", add: []string{"=x"}, wantErr: "want KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res []*regexp.Regexp
			for _, e := range tt.exclude {
				res = append(res, regexp.MustCompile(e))
			}
			got, err := ExecEnv(host, res, tt.add)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestIsSource(t *testing.T) {
	assert.True(t, IsSource("../.."), "the repository root is the bpfmatrix module")
	assert.False(t, IsSource(t.TempDir()))
	_, err := FindSource(t.Context(), t.TempDir())
	require.ErrorIs(t, err, ErrNoSource)
}
