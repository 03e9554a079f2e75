/*
 * cgmove: the kernel's price for putting a fresh child into a cgroup, the
 * step every container manager pays at start. For each run: fork a child
 * that waits on a pipe, write its pid to DIR/cgroup.procs of each given
 * cgroup directory (created beforehand by the caller, one per hierarchy),
 * and time the writes (CLOCK_MONOTONIC). Then the child exits and is reaped.
 *
 *   cgmove RUNS CGDIR...     prints one line per run: total ms, first-write ms
 *
 * On cgroup v1 the first migration after a quiet period waits for an RCU
 * grace period (cgroup_threadgroup_rwsem is a percpu rwsem: its writer side
 * calls rcu_sync_enter -> synchronize_rcu), so the figure shows how much of a
 * container start is spent waiting in the kernel rather than working.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: cgmove RUNS CGDIR...\n");
		return 2;
	}
	int runs = atoi(argv[1]);
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
		for (int i = 2; i < argc; i++) {
			snprintf(path, sizeof path, "%s/cgroup.procs", argv[i]);
			int fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, pid, (size_t)n) != n) {
				perror(path);
				return 1;
			}
			close(fd);
			if (i == 2)
				first = now_ms() - t0;
		}
		double t = now_ms() - t0;
		close(p[1]);
		waitpid(c, NULL, 0);
		printf("%.3f %.3f\n", t, first);
		/* space the runs like separate container starts */
		usleep(100000);
	}
	return 0;
}
