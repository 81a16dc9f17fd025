// Package guest is the program that runs inside each VM as its init (set up
// by u-root's libinit):
// it mounts the file systems eBPF needs, loads kernel modules, runs the test
// binaries through test2json and streams their events to the host on the
// result channel, then powers the VM off. What it is asked to do, and what
// it sends back, is package internal/wire: the host never imports this
// package.
package guest
