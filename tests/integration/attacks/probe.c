/* In-box attack programs for t-enter-attacks.sh, built static by the test.
 *
 *   probe race SECONDS    catch each new process the moment its pid exists
 *                         (ns_last_pid + 1), steal its fds 0..15 with
 *                         pidfd_getfd, and print what it holds:
 *                           P <pid> exe <dev>:<ino> <readlink>
 *                           F <pid> <fd> <dev>:<ino> <mode>
 *                           E <pid> <environ, NULs as spaces>
 *                           S <pid> <Seccomp: value>
 *   probe watch PATH SECONDS   print "opened" if anyone opens PATH within
 *                         SECONDS (inotify IN_OPEN), else "not-opened" */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int last_pid(void)
{
	char b[32] = { 0 };
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
	if (fd < 0 || read(fd, b, sizeof b - 1) <= 0)
		exit(2);
	close(fd);
	return atoi(b);
}

static void dump(int pid, int pidfd)
{
	char p[64], link[256] = "";
	struct stat st;
	/* Steal first: the window may be short. */
	int got[16];
	for (int i = 0; i < 16; i++)
		got[i] = (int)syscall(SYS_pidfd_getfd, pidfd, i, 0);
	snprintf(p, sizeof p, "/proc/%d/exe", pid);
	int exe = open(p, O_PATH);
	ssize_t n = readlink(p, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	if (exe >= 0 && fstat(exe, &st) == 0)
		printf("P %d exe %lu:%lu %s\n", pid, (unsigned long)st.st_dev,
		       (unsigned long)st.st_ino, link);
	/* Closed again at once: a stolen pipe end would hold the session. */
	for (int i = 0; i < 16; i++) {
		if (got[i] >= 0 && fstat(got[i], &st) == 0)
			printf("F %d %d %lu:%lu %o\n", pid, i, (unsigned long)st.st_dev,
			       (unsigned long)st.st_ino, st.st_mode);
		if (got[i] >= 0)
			close(got[i]);
	}
	if (exe >= 0)
		close(exe);
	char buf[8192];
	snprintf(p, sizeof p, "/proc/%d/environ", pid);
	int fd = open(p, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i] || buf[i] == '\n')
				buf[i] = ' ';
		buf[n] = 0;
		printf("E %d %s\n", pid, buf);
	}
	snprintf(p, sizeof p, "/proc/%d/status", pid);
	FILE *f = fopen(p, "r");
	while (f && fgets(buf, sizeof buf, f))
		if (strncmp(buf, "Seccomp:", 8) == 0)
			printf("S %d %s", pid, buf + 8 + strspn(buf + 8, " \t"));
	if (f)
		fclose(f);
	fflush(stdout);
}

static int race(int seconds)
{
	time_t end = time(NULL) + seconds;
	while (time(NULL) < end) {
		int next = last_pid() + 1;
		for (int spin = 0; spin < 200000; spin++) {
			int pidfd = (int)syscall(SYS_pidfd_open, next, 0);
			if (pidfd >= 0) {
				dump(next, pidfd);
				close(pidfd);
				break;
			}
			if (last_pid() >= next + 1)
				break;
		}
	}
	return 0;
}

static int watch(const char *path, int seconds)
{
	int in = inotify_init1(IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, path, IN_OPEN) < 0)
		return perror("inotify"), 2;
	printf("watching\n");
	fflush(stdout);
	struct pollfd p = { .fd = in, .events = POLLIN };
	printf(poll(&p, 1, seconds * 1000) > 0 ? "opened\n" : "not-opened\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "race") == 0)
		return race(atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "watch") == 0)
		return watch(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: probe race SECONDS | watch PATH SECONDS\n");
	return 2;
}
