// Package guestgo gives a guest what a Go test expects of the machine it
// runs on, from the host: its module and GOROOT on disk images (for a
// guest of another architecture, the same Go version built for it, from
// Go's toolchain module), a Go build cache with the standard library
// already compiled for the guest, and a /bin/bash. The raw-exec run
// (bpfmatrix exec, go test -exec) and bpfmatrix test put them in their
// VMs.
package guestgo
