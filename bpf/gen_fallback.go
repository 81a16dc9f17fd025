package bpf

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -go-package bpf -type fallback_event -type lsm_stats Fallback fallback.c -- -I./include
