// Package lsm is the in-guest suite for BPF LSM programs: a program on the
// file_open hook refuses the test's own open of one file it chose, by
// device and inode number, and lets every other open through.
package lsm

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf/link"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/bpfmatrix/bpfmatrix/bpf"
	"github.com/bpfmatrix/bpfmatrix/tests/facts"
	"github.com/bpfmatrix/bpfmatrix/tests/suite"
	"github.com/bpfmatrix/bpfmatrix/tests/testutil"
)

// Suite holds this package's tests; package tests runs it in the guest.
// What they need and what each kernel is expected to do with them is
// facts.LSM.
var Suite = suite.For(facts.LSM, TestLSMFileOpen)

const (
	family  = "lsm"
	lsmList = "/sys/kernel/security/lsm"
)

// requireBPFLSM ends the test as not active unless "bpf" is among the
// kernel's active LSMs: a kernel built with CONFIG_BPF_LSM loads and
// attaches LSM programs but never runs them unless bpf is in that list.
func requireBPFLSM(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(lsmList)
	require.NoError(t, err, "securityfs should be mounted")
	list := strings.TrimSpace(string(b))
	if !slices.Contains(strings.Split(list, ","), "bpf") {
		testutil.NotActive(t, "lsm", fmt.Sprintf("BPF LSM not active: %s = %s; boot with lsm=...,bpf", lsmList, list))
	}
}

// kernelDev converts a user-space dev_t (as stat returns it) to the
// kernel's internal encoding, MKDEV(major, minor) = major<<20 | minor.
func kernelDev(dev uint64) uint32 {
	return unix.Major(dev)<<20 | unix.Minor(dev)
}

// createFile writes a small file and returns its path and stat.
func createFile(t *testing.T, dir, name string) (string, unix.Stat_t) {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(name), 0o644))
	var st unix.Stat_t
	require.NoError(t, unix.Stat(path, &st))
	return path, st
}

// TestLSMFileOpen attaches an lsm/file_open program that returns -EPERM
// for this process's opens of one file (chosen per run, matched by device
// and inode) and checks that opening it fails with EPERM, that another
// file in the same directory still opens, and that the program counted
// exactly one refusal, of that inode, by this process.
func TestLSMFileOpen(t *testing.T) {
	testutil.RequireGuest(t)
	requireBPFLSM(t)

	dir := t.TempDir()
	denied, st := createFile(t, dir, fmt.Sprintf("denied-%d", mrand.Uint64()))
	other, otherSt := createFile(t, dir, fmt.Sprintf("other-%d", mrand.Uint64()))
	require.NotEqual(t, st.Ino, otherSt.Ino)

	objs := new(bpf.LsmObjects)
	testutil.Load(t, bpf.LoadLsm, map[string]any{
		bpf.LsmVarTargetTgid: uint32(os.Getpid()),
		bpf.LsmVarTargetDev:  kernelDev(st.Dev),
		bpf.LsmVarTargetIno:  st.Ino,
	}, objs)
	l, err := link.AttachLSM(link.LSMOptions{Program: objs.LsmFileOpen})
	testutil.Unsupported(t, "lsm", err)
	t.Cleanup(func() { l.Close() })

	f, err := os.Open(denied)
	if err == nil {
		f.Close()
	}
	assert.ErrorIs(t, err, testutil.Want[error](family, unix.EPERM, nil), "open %s", denied)

	f, err = os.Open(other)
	require.NoError(t, err, "open %s", other)
	f.Close()

	var s bpf.LsmLsmStats
	require.NoError(t, objs.Stats.Lookup(uint32(0), &s))
	assert.Equal(t, testutil.Want(family, uint64(1), uint64(0)), s.Denied, "refusals counted")
	assert.Equal(t, testutil.Want(family, st.Ino, otherSt.Ino), s.DeniedIno, "inode refused")
	assert.Equal(t, uint32(os.Getpid()), s.DeniedTgid, "process refused")
	assert.NotZero(t, s.Allowed, "opens the program let through")
	if !t.Failed() {
		testutil.Report(t, "lsm", testutil.LinkMechanism(l), 1)
	}
}
