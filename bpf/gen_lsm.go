package bpf

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -go-package bpf -type lsm_stats Lsm lsm.c -- -I./include
