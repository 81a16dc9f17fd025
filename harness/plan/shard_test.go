package plan

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{"1/1", Shard{1, 1}, ""},
		{"2/3", Shard{2, 3}, ""},
		{" 3/3 ", Shard{3, 3}, ""},
		{"0/3", Shard{}, "1-based"},
		{"4/3", Shard{}, "between 1 and 3"},
		{"1/0", Shard{}, "at least 1"},
		{"3", Shard{}, "want i/n"},
		{"a/3", Shard{}, `index "a"`},
		{"1/b", Shard{}, `count "b"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseShard(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, got, mustParse(t, got.String()))
		})
	}
}

func mustParse(t *testing.T, s string) Shard {
	t.Helper()
	sh, err := ParseShard(s)
	require.NoError(t, err)
	return sh
}

func TestSelectShardCoversEachColumnOnce(t *testing.T) {
	cols := []string{"a", "b", "c", "d", "e"}
	for n := 1; n <= 6; n++ {
		seen := map[string]int{}
		for i := 1; i <= n; i++ {
			for _, c := range SelectShard(Shard{i, n}, cols) {
				seen[c]++
			}
		}
		for _, c := range cols {
			assert.Equal(t, 1, seen[c], "n=%d column %s", n, c)
		}
	}
	assert.Equal(t, []string{"b", "e"}, SelectShard(Shard{2, 3}, cols))
}
