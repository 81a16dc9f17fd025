package main

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
		want goTestFlags
	}{
		{"none", nil, goTestFlags{}},
		{"test flags, both forms", []string{"-short", "-run", "TestA/b", "-count=2", "--skip", "TestB", "-v"},
			goTestFlags{run: "TestA/b", testArgs: []string{"-test.short=true", "-test.count=2", "-test.skip=TestB"}}},
		{"timeout and -p", []string{"-timeout", "90s", "-p=3"}, goTestFlags{timeout: 90 * time.Second, hasTimeout: true, parallel: 3}},
		{"timeout 0 is none", []string{"-timeout=0"}, goTestFlags{timeout: 24 * time.Hour, hasTimeout: true}},
		{"build flags", []string{"-race", "-tags", "integration", "-cover=false"}, goTestFlags{build: []string{"-race", "-tags=integration"}}},
		{"coverprofile builds with -cover, absolute", []string{"-coverprofile", "c.out", "-covermode=atomic"},
			goTestFlags{coverProfile: "/home/u/c.out", build: []string{"-cover", "-covermode=atomic"}}},
		{"test. prefix", []string{"-test.run=X", "-test.short"}, goTestFlags{run: "X", testArgs: []string{"-test.short=true"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGoTestFlags(tc.args, "/home/u")
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
		_, err := parseGoTestFlags(tc.args, "/")
		if assert.Error(t, err, "%q", tc.args) {
			assert.Contains(t, err.Error(), tc.want, "%q", tc.args)
		}
	}
}
