// Package bpf holds bpfmatrix's BPF programs (C sources, compiled with
// bpf2go; the generated Go and .o files are committed) and the Go helpers
// that load and attach them. Each hook family has its own C file and its
// own gen_<family>.go with the go:generate line. Run `make generate` after
// changing a .c file; CI fails when the committed output differs.
//
// The programs include only include/bpfmatrix.h (a few kernel types, with
// CO-RE relocations) and libbpf's headers, so they build without a
// vmlinux.h, for amd64 and arm64 alike.
package bpf
