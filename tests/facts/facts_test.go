package facts

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bpfmatrix/bpfmatrix/harness/expect"
)

func TestModelNamesRulesBySuite(t *testing.T) {
	s := Suite{Name: "demo", Rules: []expect.Rule{
		expect.PassRule("TestAlpha", "always"),
		expect.PassRule("TestBeta", "always"),
	}}
	m := s.Model()
	require.Len(t, m, 2)
	assert.Equal(t, "demo/TestAlpha", m[0].Test)
	assert.Equal(t, "demo/TestBeta", m[1].Test)
	assert.Equal(t, "TestAlpha", s.Rules[0].Test, "the suite's own rules are not renamed")
	assert.Equal(t, "machine/TestCPUs", Model()[0].Test, "the model of All starts with the first suite's first rule")
}
