/* planet status, when no box answers: is there a box's state dir without
 * its supervisor (killed, the host crashed without a reboot of /run)?
 * Then the operator learns where the leftovers are and what removes them,
 * instead of a bare "running=no". Read-only: the next `planet start` on
 * that state dir is what cleans up (box/state.c). */
#include "client/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Is a supervisor holding the state dir's lock? 1 yes, 0 no, -1 cannot
 * tell (the lock file is root's: a member of the enter group asks). */
static int lock_held(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/lock", dir);
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return 0; /* released when fd closes */
	return errno == EWOULDBLOCK ? 1 : -1;
}

static bool pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* The state file's socket= line, when it names another socket than the
 * one asked: that box is not the one the operator asked about. */
static bool other_socket(const char *text, const char *socket)
{
	const char *p = strstr(text, "\nsocket=");
	if (!p)
		return false;
	p += 8;
	size_t n = strcspn(p, "\n");
	return strlen(socket) != n || strncmp(p, socket, n) != 0;
}

void client_leftovers(const char *state_dir, const char *socket)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/state", state_dir);
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL, NULL) < 0)
		return; /* no state file: nothing was left */
	if (other_socket(text, socket))
		return;
	const char *p = strstr(text, "supervisor_pid=");
	pid_t pid = p ? (pid_t)strtol(p + 15, NULL, 10) : 0;
	int held = lock_held(state_dir);
	if (held == 1 || (held < 0 && pid_alive(pid))) {
		fprintf(stderr,
			"planet: the state dir %s names a running supervisor (pid %d) whose socket "
			"does not answer (starting, or another --socket)\n",
			state_dir, (int)pid);
		return;
	}
	char who[48] = "";
	if (pid > 0)
		snprintf(who, sizeof who, ", pid %d", (int)pid);
	fprintf(stderr,
		"planet: leftovers of a box that did not stop cleanly in %s (its supervisor%s is "
		"gone); the next planet start on that state dir removes them\n",
		state_dir, who);
}
