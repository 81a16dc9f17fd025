// Package bpf holds bpfmatrix's BPF programs (C sources, compiled with
// bpf2go; the generated Go and .o files are committed) and the Go helpers
// that load and attach them. Run `make generate` after changing a .c file;
// CI fails when the committed output differs.
package bpf

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -go-package bpf -type write_event Kprobe kprobe.c -- -I./include
