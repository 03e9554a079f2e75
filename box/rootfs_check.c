/* Is this directory a rootfs at all? Checked at plan time, before anything
 * is written: a typo in `rootfs` must fail with one line and leave the
 * directory it names as it was, not litter it with dev/ proc/ etc/hosts
 * and an env file before exec of init fails.
 *
 * What makes a rootfs: an executable init, found the way the box will find
 * it (resolved inside the rootfs with RESOLVE_IN_ROOT, so an absolute
 * symlink /sbin/init -> /lib/systemd/systemd means the rootfs's systemd,
 * never the host's). Once there is an init, the mount points planet needs
 * (/proc /sys /dev /run) and /etc are created when missing, as before;
 * what exists at those paths must be a directory. */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static int check_init(int rootfd, const char *rootfs, const char *init, struct perr *e)
{
	struct perr ignored;
	struct stat st;
	_cleanup_fd_ int fd = root_open(rootfd, init, O_PATH, 0, &ignored);
	if (fd < 0 || fstat(fd, &st) < 0)
		return perr_set(e, 0, "rootfs %s has no init %s (%s, resolved inside the rootfs): "
				      "is it the right directory?",
				rootfs, init, strerror(errno));
	if (!S_ISREG(st.st_mode) || !(st.st_mode & 0111))
		return perr_set(e, 0, "rootfs %s: init %s is not an executable file (mode %04o)",
				rootfs, init, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A path planet mounts on or writes below: absent (made later) or a
 * directory. */
static int check_dir(int rootfd, const char *rootfs, const char *path, struct perr *e)
{
	struct perr ignored;
	struct stat st;
	_cleanup_fd_ int fd = root_open(rootfd, path, O_PATH, 0, &ignored);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return perr_set(e, 0, "rootfs %s: %s: %s", rootfs, path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return perr_set(e, 0, "rootfs %s: %s is not a directory (planet mounts on it)", rootfs,
				path);
	return 0;
}

int box_rootfs_check(const struct box_config *c, struct perr *e)
{
	static const char *const dirs[] = { "/proc", "/sys", "/dev", "/run", "/etc" };
	_cleanup_fd_ int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return perr_set(e, errno, "rootfs %s", c->rootfs);
	if (check_init(rootfd, c->rootfs, c->init_argv[0], e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (check_dir(rootfd, c->rootfs, dirs[i], e) < 0)
			return -1;
	return 0;
}
