package suite

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
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

func TestModelNamesRulesBySuite(t *testing.T) {
	s := New("demo", TestAlpha, TestBeta).With(Facts{Rules: []expect.Rule{
		expect.PassRule("TestAlpha", "always"),
		expect.PassRule("TestBeta", "always"),
	}})
	m := s.Model()
	require.Len(t, m, 2)
	assert.Equal(t, "demo/TestAlpha", m[0].Test)
	assert.Equal(t, "demo/TestBeta", m[1].Test)
	assert.Equal(t, "TestAlpha", s.Rules[0].Test, "the suite's own rules are not renamed")
}
