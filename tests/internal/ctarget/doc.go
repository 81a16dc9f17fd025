// Package ctarget holds freestanding.h, the start-up code, syscalls and
// helpers that the suites' probed C programs (tests/uprobe/testdata and
// tests/fallback/testdata) share. It has no Go code; the C programs
// include the header through the -I flag of their go:generate lines.
package ctarget
