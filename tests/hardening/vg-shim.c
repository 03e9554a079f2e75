/* vg-shim.so — lets `planet start` run under Debian 12's valgrind 3.19,
 * which predates several system calls planet needs (LD_PRELOAD'ed by
 * h-valgrind.sh only; never part of planet).
 *
 *  - clone3 (valgrind answers ENOSYS): translated into the equivalent
 *    clone(2) call (namespace flags, CLONE_PIDFD, exit signal), which
 *    valgrind runs as a fork, so the box's child stays under memcheck until
 *    it execs init.
 *  - openat2, open_tree, move_mount, fsopen, fsconfig, fsmount,
 *    mount_setattr, seccomp, pidfd_open, pidfd_send_signal (valgrind:
 *    "unhandled syscall", ENOSYS): issued
 *    on the real CPU through VALGRIND_NON_SIMD_CALL, i.e. outside the
 *    instrumentation. Their arguments are plain structs planet has fully
 *    initialised, and none writes into planet's memory, so memcheck's view
 *    stays exact; the descriptors they return are ordinary ones.
 *
 * Everything else, including all of the supervisor's own code and the
 * libuv loop, runs instrumented as usual. Outside valgrind the shim only
 * forwards (RUNNING_ON_VALGRIND is 0).
 *
 * cc -shared -fPIC -O1 -o vg-shim.so vg-shim.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* The raw syscall instruction, with up to six arguments. */
static long raw6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

struct native_args {
	long n, a[6];
	long ret;
};

/* Runs on the real CPU under valgrind (VALGRIND_NON_SIMD_CALL1 passes the
 * thread id first). */
static long native_call(long tid, struct native_args *x)
{
	(void)tid;
	x->ret = raw6(x->n, x->a[0], x->a[1], x->a[2], x->a[3], x->a[4], x->a[5]);
	return 0;
}

static long native(long n, long a, long b, long c, long d, long e, long f)
{
	struct native_args x = { n, { a, b, c, d, e, f }, 0 };
	if (RUNNING_ON_VALGRIND)
		VALGRIND_NON_SIMD_CALL1(native_call, &x);
	else
		x.ret = raw6(n, a, b, c, d, e, f);
	if (x.ret < 0 && x.ret > -4096) {
		errno = (int)-x.ret;
		return -1;
	}
	return x.ret;
}

static int is_native(long n)
{
	switch (n) {
	case SYS_openat2:
	case SYS_open_tree:
	case SYS_move_mount:
	case SYS_fsopen:
	case SYS_fsconfig:
	case SYS_fsmount:
	case SYS_mount_setattr:
	case SYS_seccomp:
	case SYS_pidfd_open:
	case SYS_pidfd_send_signal:
		return 1;
	default:
		return 0;
	}
}

static long clone3_as_clone(struct clone_args *ca, size_t size)
{
	if (size < 64 || ca->stack || ca->tls || ca->set_tid || ca->cgroup ||
	    (ca->flags & (CLONE_VM | CLONE_THREAD | CLONE_SETTLS | CLONE_INTO_CGROUP))) {
		errno = ENOSYS; /* not a fork-like clone3: let the caller fall back */
		return -1;
	}
	int *pidfd = (int *)(uintptr_t)ca->pidfd;
	if (pidfd)
		*pidfd = -1; /* defined for memcheck; the kernel fills it in */
	unsigned long flags = (unsigned long)ca->flags | (unsigned long)(ca->exit_signal & 0xff);
	/* x86-64 clone: flags, stack, parent_tid, child_tid, tls. CLONE_PIDFD
	 * stores the pidfd through parent_tid. */
	return syscall(SYS_clone, flags, 0L, pidfd, 0L, 0L);
}

long syscall(long n, ...)
{
	va_list ap;
	va_start(ap, n);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_clone3)
		return clone3_as_clone((struct clone_args *)a, (size_t)b);
	if (is_native(n))
		return native(n, a, b, c, d, e, f);
	static long (*real)(long, ...);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(n, a, b, c, d, e, f);
}

/* glibc's own wrappers for the same calls (planet uses some directly). */
int open_tree(int dfd, const char *path, unsigned flags)
{
	return (int)native(SYS_open_tree, dfd, (long)path, flags, 0, 0, 0);
}

int move_mount(int fd, const char *fp, int tfd, const char *tp, unsigned flags)
{
	return (int)native(SYS_move_mount, fd, (long)fp, tfd, (long)tp, flags, 0);
}

int fsopen(const char *fs, unsigned flags)
{
	return (int)native(SYS_fsopen, (long)fs, flags, 0, 0, 0, 0);
}

int fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux)
{
	return (int)native(SYS_fsconfig, fd, cmd, (long)key, (long)value, aux, 0);
}

int fsmount(int fd, unsigned flags, unsigned attr)
{
	return (int)native(SYS_fsmount, fd, flags, attr, 0, 0, 0);
}

struct mount_attr;
int mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr, size_t size)
{
	return (int)native(SYS_mount_setattr, dfd, (long)path, flags, (long)attr, (long)size, 0);
}

int pidfd_open(pid_t pid, unsigned flags)
{
	return (int)native(SYS_pidfd_open, pid, flags, 0, 0, 0, 0);
}

int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags)
{
	return (int)native(SYS_pidfd_send_signal, pidfd, sig, (long)info, flags, 0, 0);
}
