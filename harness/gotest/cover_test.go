package gotest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeProfiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		profiles []string
		want     string
		err      bool
	}{
		{
			name: "set: or-ed, sorted by file and position",
			profiles: []string{
				"mode: set\nb.go:10.2,12.3 2 0\na.go:9.1,9.20 1 1\n",
				"mode: set\nb.go:10.2,12.3 2 1\na.go:2.1,3.2 1 0\n",
			},
			want: "mode: set\na.go:2.1,3.2 1 0\na.go:9.1,9.20 1 1\nb.go:10.2,12.3 2 1\n",
		},
		{
			name:     "count: added",
			profiles: []string{"mode: count\nx.go:1.1,2.2 1 3\n", "mode: count\nx.go:1.1,2.2 1 4\n"},
			want:     "mode: count\nx.go:1.1,2.2 1 7\n",
		},
		{name: "modes differ", profiles: []string{"mode: set\n", "mode: count\n"}, err: true},
		{name: "garbage", profiles: []string{"mode: set\nnonsense\n"}, err: true},
		{name: "no mode", profiles: []string{""}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in [][]byte
			for _, p := range tc.profiles {
				in = append(in, []byte(p))
			}
			got, err := MergeProfiles(in...)
			if tc.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}
