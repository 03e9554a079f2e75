/*
 * cgmove: the kernel's price for putting a fresh child into a cgroup, the
 * step every container manager pays at start. For each run: fork a child
 * that waits on a pipe, write its pid to DIR/cgroup.procs of each given
 * cgroup directory (created beforehand by the caller, one per hierarchy),
 * and time the writes (CLOCK_MONOTONIC). Then the child exits and is reaped.
 *
 *   cgmove RUNS GAP_MS CGDIR...   prints one line per run: total ms, first-write ms;
 *                                 GAP_MS of sleep between runs (a lone start: 100+)
 *
 *   cgmove -c RUNS GAP_MS CG2DIR  the same child made with clone3(CLONE_INTO_CGROUP)
 *                                 straight into a cgroup2 directory: one line per
 *                                 run, the clone3 time in ms (no migration at all)
 *
 * On cgroup v1 the first migration after a quiet period waits for an RCU
 * grace period (cgroup_threadgroup_rwsem is a percpu rwsem: its writer side
 * calls rcu_sync_enter -> synchronize_rcu), so the figure shows how much of a
 * container start is spent waiting in the kernel rather than working.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int clone_into(int argc, char **argv)
{
	int runs = atoi(argv[2]), gap_ms = atoi(argv[3]);
	int cg = open(argv[4], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		perror(argv[4]);
		return 1;
	}
	(void)argc;
	for (int r = 0; r < runs; r++) {
		struct clone_args a = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
					.cgroup = (unsigned long long)cg };
		double t0 = now_ms();
		long c = syscall(SYS_clone3, &a, sizeof a);
		if (c == 0)
			_exit(0);
		double t = now_ms() - t0;
		if (c < 0) {
			perror("clone3(CLONE_INTO_CGROUP)");
			return 1;
		}
		waitpid((pid_t)c, NULL, 0);
		printf("%.3f\n", t);
		if (gap_ms > 0)
			usleep((useconds_t)gap_ms * 1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "-c") == 0)
		return clone_into(argc, argv);
	if (argc < 4) {
		fprintf(stderr, "usage: cgmove RUNS GAP_MS CGDIR...\n");
		return 2;
	}
	int runs = atoi(argv[1]), gap_ms = atoi(argv[2]);
	for (int r = 0; r < runs; r++) {
		int p[2];
		if (pipe(p) < 0)
			return 1;
		pid_t c = fork();
		if (c == 0) {
			char b;
			close(p[1]);
			(void)read(p[0], &b, 1);
			_exit(0);
		}
		close(p[0]);
		char pid[16], path[4096];
		int n = snprintf(pid, sizeof pid, "%d", (int)c);
		double t0 = now_ms(), first = 0;
		for (int i = 3; i < argc; i++) {
			snprintf(path, sizeof path, "%s/cgroup.procs", argv[i]);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, pid, (size_t)n) != n) {
				perror(path);
				return 1;
			}
			close(fd);
			if (i == 3)
				first = now_ms() - t0;
		}
		double t = now_ms() - t0;
		close(p[1]);
		waitpid(c, NULL, 0);
		printf("%.3f %.3f\n", t, first);
		if (gap_ms > 0)
			usleep((useconds_t)gap_ms * 1000);
	}
	return 0;
}
