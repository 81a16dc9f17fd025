package fakesuites

// Covered is called by TestApart, so that a coverage profile of the
// package has a block that ran.
func Covered() int { return 42 }
