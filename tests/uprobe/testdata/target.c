/* target is the process the uprobe suite probes: a freestanding static
 * program (no libc, no Go runtime whose stack could move under a
 * uretprobe). It is run as `target A B` with two small non-negative
 * integers, calls bpfmatrix_uprobe_target(A, B), writes the result in
 * decimal followed by a newline to stdout, and exits 0 (2 on bad usage).
 *
 * Built by `go generate ./tests/uprobe/` (see ../gen.go) for amd64 and
 * arm64. */

#include "freestanding.h"

/* The probed function. noipa keeps GCC from cloning it or propagating
 * anything across the call, so the symbol's entry sees both arguments in
 * the ABI's registers and its return is a real return. */
__attribute__((noinline, noipa, used)) int bpfmatrix_uprobe_target(int a, int b)
{
	return a * 3 + b;
}

__attribute__((noreturn, used)) void start_c(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	if (argc != 3)
		exit_group(2);
	int a = parse(argv[1]), b = parse(argv[2]);
	if (a < 0 || b < 0)
		exit_group(2);

	int r = bpfmatrix_uprobe_target(a, b);

	exit_with_line(r);
}
