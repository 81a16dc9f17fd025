/* freestanding.h: what the suites' probed C programs share. They are
 * freestanding static programs (no libc, no Go runtime whose stack could
 * move under a uretprobe): this header gives them _start, raw syscalls,
 * argument parsing and printing for x86_64 and aarch64. The including
 * program defines start_c(long *sp), which receives the initial stack
 * (argc, then argv). */
#ifndef BPFMATRIX_FREESTANDING_H
#define BPFMATRIX_FREESTANDING_H

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
#error "freestanding.h supports x86_64 and aarch64"
#endif

static void __attribute__((noreturn)) exit_group(int code)
{
	for (;;)
		sys3(SYS_exit_group, code, 0, 0);
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

/* exit_with_line writes r in decimal followed by a newline to stdout and
 * exits 0. */
static void __attribute__((noreturn)) exit_with_line(int r)
{
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

#endif /* BPFMATRIX_FREESTANDING_H */
