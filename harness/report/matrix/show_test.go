package matrix

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bpfmatrix/bpfmatrix/harness/report/internal/fixture"
)

// TestShowAuto: --show auto shows a small matrix whole and, of a big
// one, exactly the rows that fail, fall back, are unexpected or differ.
func TestShowAuto(t *testing.T) {
	small := Build(fixture.Load(t, fixture.Default))
	assert.Len(t, small.Select(ShowAuto), len(small.Rows), "30 rows: every one")
	assert.True(t, small.ShowsAll(ShowAuto))

	big := Build(fixture.LongNames(t))
	assert.False(t, big.ShowsAll(ShowAuto))
	want := map[int]bool{}
	for _, s := range []Show{ShowFail, ShowFallback, ShowUnexpected, ShowDiffers} {
		for _, i := range big.Select(s) {
			want[i] = true
		}
	}
	got := big.Select(ShowAuto)
	assert.Len(t, got, len(want))
	for _, i := range got {
		assert.True(t, want[i], "row %s", big.Rows[i])
	}
	assert.Contains(t, got, slices.Index(big.Rows, "testutils/TestIgnoreKernelVersionCheck/should_match_test_name_when_multiple_comma_separated_names_list_is_provided_007"), "the failing row")
	assert.Less(t, len(got), 40, "the 119 agreeing rows are left out")

	s, err := ParseShow("auto")
	assert.NoError(t, err)
	assert.Equal(t, ShowAuto, s)
}
