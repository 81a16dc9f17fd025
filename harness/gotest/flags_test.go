package gotest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseGoTestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want Flags
	}{
		{"none", nil, Flags{}},
		{"test flags, both forms", []string{"-short", "-run", "TestA/b", "-count=2", "--skip", "TestB", "-v"},
			Flags{Run: "TestA/b", TestArgs: []string{"-test.short=true", "-test.count=2", "-test.skip=TestB"}}},
		{"timeout and -p", []string{"-timeout", "90s", "-p=3"}, Flags{Timeout: 90 * time.Second, HasTimeout: true, Parallel: 3}},
		{"timeout 0 is none", []string{"-timeout=0"}, Flags{Timeout: 24 * time.Hour, HasTimeout: true}},
		{"build flags", []string{"-race", "-tags", "integration", "-cover=false"}, Flags{BuildFlags: []string{"-race", "-tags=integration"}}},
		{"coverprofile builds with -cover, absolute", []string{"-coverprofile", "c.out", "-covermode=atomic"},
			Flags{CoverProfile: "/home/u/c.out", BuildFlags: []string{"-cover", "-covermode=atomic"}}},
		{"test. prefix", []string{"-test.run=X", "-test.short"}, Flags{Run: "X", TestArgs: []string{"-test.short=true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFlags(tc.args, "/home/u")
			require.NoError(t, err)
			assert.Equal(t, &tc.want, got)
		})
	}
}

func TestParseGoTestFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"./pkg"}, `"./pkg" after -- is no go test flag`},
		{[]string{"-frob"}, "go test flag -frob is unknown"},
		{[]string{"-json"}, "--json FILE"},
		{[]string{"-cpuprofile", "x"}, "written in the guest"},
		{[]string{"-run"}, "-run needs a value"},
		{[]string{"-short=maybe"}, `"maybe" is not a boolean`},
		{[]string{"-timeout", "soon"}, "want a duration"},
		{[]string{"-p", "0"}, "at least 1"},
	} {
		_, err := ParseFlags(tc.args, "/")
		if assert.Error(t, err, "%q", tc.args) {
			assert.Contains(t, err.Error(), tc.want, "%q", tc.args)
		}
	}
}
