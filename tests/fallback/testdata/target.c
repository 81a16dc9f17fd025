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

#if defined(__x86_64__)
#define SYS_write 1
#define SYS_exit_group 231

static long sys3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
}

/* The kernel enters with argc at (%rsp) and argv above it; hand that
 * pointer to start_c with a 16-byte aligned stack and no return address. */
__asm__(".text\n"
	".global _start\n"
	".type _start, @function\n"
	"_start:\n"
	"	xor %ebp, %ebp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");
#elif defined(__aarch64__)
#define SYS_write 64
#define SYS_exit_group 94

static long sys3(long nr, long a, long b, long c)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2)
			 : "memory");
	return x0;
}

/* The kernel enters with argc at [sp] and argv above it. */
__asm__(".text\n"
	".global _start\n"
	".type _start, %function\n"
	"_start:\n"
	"	mov x29, #0\n"
	"	mov x30, #0\n"
	"	mov x0, sp\n"
	"	bl start_c\n"
	"	brk #0\n");
#else
#error "target.c supports x86_64 and aarch64"
#endif

static void __attribute__((noreturn)) exit_group(int code)
{
	for (;;)
		sys3(SYS_exit_group, code, 0, 0);
}

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

/* parse reads a non-negative decimal integer below 100000000; -1 if s
 * is not one. */
static int parse(const char *s)
{
	int v = 0, n = 0;
	for (; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n >= 8)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return n ? v : -1;
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

	char buf[16];
	int i = sizeof(buf);
	buf[--i] = '\n';
	unsigned int u = (unsigned int)r;
	do {
		buf[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u && i > 0);
	sys3(SYS_write, 1, (long)(buf + i), (long)(sizeof(buf) - i));
	exit_group(0);
}
