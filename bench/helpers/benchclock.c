/*
 * benchclock: tiny timing helpers for planet's benchmarks (static build).
 *
 *   benchclock now                 print CLOCK_MONOTONIC in ns
 *   benchclock exec FILE CMD...    write CLOCK_MONOTONIC (ns) to FILE, then execvp CMD
 *   benchclock stamp FILE          write CLOCK_MONOTONIC (ns) to FILE, exit 0
 *                                  (used as a container's init: FILE is a path
 *                                  inside the container)
 *
 * CLOCK_MONOTONIC is not namespaced (no time namespace is used), so a stamp
 * taken inside a container compares directly with one taken on the host.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static int put(const char *path, unsigned long long t)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%llu\n", t);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		perror(path);
		return -1;
	}
	return close(fd);
}

int main(int argc, char **argv)
{
	unsigned long long t = now_ns();
	if (argc == 2 && strcmp(argv[1], "now") == 0) {
		printf("%llu\n", t);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "stamp") == 0)
		return put(argv[2], t) < 0 ? 1 : 0;
	if (argc >= 4 && strcmp(argv[1], "exec") == 0) {
		if (put(argv[2], now_ns()) < 0)
			return 127;
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		return 127;
	}
	fprintf(stderr, "usage: benchclock now | stamp FILE | exec FILE CMD [ARG...]\n");
	return 2;
}
