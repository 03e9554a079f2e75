/* One box per rootfs. Two supervisors on one tree would each rewrite the
 * other's env file, hosts and resolv.conf, and both inits would run on the
 * same /var: the second start is refused, as systemd-nspawn refuses a busy
 * directory tree.
 *
 * The lock is a BSD flock on an O_RDONLY|O_DIRECTORY fd of the rootfs
 * directory itself: nothing is written into the rootfs or next to it, and
 * an fd of the directory names the tree wherever it is mounted from. flock
 * belongs to the open file description, so it lasts while any process
 * holds that fd. The fd is O_CLOEXEC, and planet's children drop it before
 * they could outlive the supervisor: init's child execs (and has
 * PDEATHSIG), the session spawner closes every fd but its socket and also
 * dies with the supervisor. So the lock ends with the supervisor, SIGKILL
 * included. Not a POSIX (fcntl) lock: the supervisor opens and closes the
 * rootfs directory many times, and closing any fd of a file drops a
 * process's POSIX locks on it. OFD locks would behave like flock here and
 * add nothing.
 *
 * Who holds it is read from the kernel (/proc/locks), so it can never be
 * stale: the holder's pid, and its state dir from the state-dir lock file
 * it holds open. */
#include "box/box.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The pid that took the flock on fd's inode, 0 if not found. */
static pid_t lock_holder(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	_cleanup_file_ FILE *f = fopen("/proc/locks", "re");
	char line[256];
	while (f && fgets(line, sizeof line, f)) {
		int pid;
		unsigned maj, min;
		unsigned long ino;
		if (sscanf(line, "%*d: FLOCK ADVISORY WRITE %d %x:%x:%lu", &pid, &maj, &min, &ino) == 4 &&
		    maj == major(st.st_dev) && min == minor(st.st_dev) && ino == st.st_ino)
			return pid;
	}
	return 0;
}

/* The state dir of supervisor pid: the dir of the "lock" file it holds
 * open whose state file names it. "" when not found. */
static void holder_state_dir(pid_t pid, char *out, size_t len)
{
	char dir[64], link[64 + 256], target[PATH_MAX];
	out[0] = 0;
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	_cleanup_dir_ DIR *d = opendir(dir);
	if (!d)
		return;
	const struct dirent *de;
	while (!out[0] && (de = readdir(d))) {
		snprintf(link, sizeof link, "%s/%s", dir, de->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n < 6)
			continue;
		target[n] = 0;
		if (strcmp(target + n - 5, "/lock") != 0)
			continue;
		target[n - 5] = 0;
		_cleanup_free_ char *state = NULL;
		char path[PATH_MAX + 8], want[48];
		snprintf(path, sizeof path, "%s/state", target);
		snprintf(want, sizeof want, "supervisor_pid=%d\n", (int)pid);
		if (read_file_at(AT_FDCWD, path, 1 << 16, &state, NULL, NULL) == 0 && strstr(state, want))
			snprintf(out, len, "%s", target);
	}
}

int box_rootfs_lock(const char *rootfs, int *out, struct perr *e)
{
	*out = -1;
	_cleanup_fd_ int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return perr_set(e, errno, "rootfs %s", rootfs);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		*out = take_fd(&fd);
		return 0;
	}
	if (errno != EWOULDBLOCK)
		return perr_set(e, errno, "lock rootfs %s", rootfs);
	pid_t pid = lock_holder(fd);
	char state[PATH_MAX];
	if (pid > 0)
		holder_state_dir(pid, state, sizeof state);
	if (pid > 0 && state[0])
		return perr_set(e, 0, "rootfs %s is in use by another box (supervisor pid %d, state dir %s): "
				      "stop it first, or give this box its own rootfs",
				rootfs, (int)pid, state);
	if (pid > 0)
		return perr_set(e, 0, "rootfs %s is in use by another box (supervisor pid %d): "
				      "stop it first, or give this box its own rootfs",
				rootfs, (int)pid);
	return perr_set(e, 0, "rootfs %s is in use by another box: stop it first, or give this box "
			      "its own rootfs", rootfs);
}
