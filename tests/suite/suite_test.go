package suite

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAlpha(t *testing.T) {}

func TestBeta(t *testing.T) {}

func TestNewNamesTestsAfterFunctions(t *testing.T) {
	s := New("demo", TestAlpha, TestBeta)
	require.Len(t, s.Tests, 2)
	assert.Equal(t, "demo", s.Name)
	assert.Equal(t, "TestAlpha", s.Tests[0].Name)
	assert.Equal(t, "TestBeta", s.Tests[1].Name)
}

func TestNewRejectsBadTests(t *testing.T) {
	for name, tests := range map[string][]func(*testing.T){
		"closure":  {func(*testing.T) {}},
		"repeated": {TestAlpha, TestAlpha},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Panics(t, func() { New("demo", tests...) })
		})
	}
}

func TestRunRunsEveryTestAsSubtest(t *testing.T) {
	var ran []string
	s := Suite{Name: "demo", Tests: []Test{
		{Name: "TestOne", F: func(t *testing.T) { ran = append(ran, t.Name()) }},
		{Name: "TestTwo", F: func(t *testing.T) { ran = append(ran, t.Name()) }},
	}}
	s.Run(t)
	assert.Equal(t, []string{t.Name() + "/TestOne", t.Name() + "/TestTwo"}, ran)
}
