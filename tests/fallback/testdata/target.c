/* target is the process the fallback suite's TestMultiUprobe probes: a
 * freestanding static program (adapted from tests/uprobe/testdata/target.c)
 * with three probed functions. It is run as `target A` with a small
 * non-negative integer, calls bpfmatrix_fallback_one(1, A),
 * bpfmatrix_fallback_two(2, A) and bpfmatrix_fallback_three(3, A), writes
 * the sum of their results in decimal followed by a newline to stdout, and
 * exits 0 (2 on bad usage).
 *
 * Built by `go generate ./tests/fallback/` (see ../gen.go) for amd64 and
 * arm64. */

#include "freestanding.h"

/* The probed functions. noipa keeps GCC from cloning them or propagating
 * anything across the calls, so each symbol's entry sees both arguments in
 * the ABI's registers. */
__attribute__((noinline, noipa, used)) int bpfmatrix_fallback_one(int id, int a)
{
	return a + id;
}

__attribute__((noinline, noipa, used)) int bpfmatrix_fallback_two(int id, int a)
{
	return a * id;
}

__attribute__((noinline, noipa, used)) int bpfmatrix_fallback_three(int id, int a)
{
	return a - id;
}

__attribute__((noreturn, used)) void start_c(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	if (argc != 2)
		exit_group(2);
	int a = parse(argv[1]);
	if (a < 0)
		exit_group(2);

	int r = bpfmatrix_fallback_one(1, a) + bpfmatrix_fallback_two(2, a) +
		bpfmatrix_fallback_three(3, a);

	exit_with_line(r);
}
