/* Masked and read-only paths of the box's /proc and /sys: the kernel files
 * that show or change the host as a whole, which the box's own procfs and
 * the host's sysfs would otherwise hand it (the lists of systemd-nspawn and
 * Docker). A file is hidden under the box's own /dev/null (reads are empty,
 * writes go nowhere), a directory under an empty read-only tmpfs; a path
 * this kernel does not have is skipped.
 *
 * These are guard rails against accidents, not a boundary: root in the box
 * keeps CAP_SYS_ADMIN in the host's user namespace and can unmount them or
 * mount a fresh procfs (docs/SECURITY.md). */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* Hidden whatever the knobs say: nothing in a box needs them. */
static const char *const masked[] = {
	"/proc/kallsyms",		 /* every kernel symbol's address: defeats KASLR */
	"/proc/kcore",			 /* the host's memory as an ELF core file */
	"/proc/keys",			 /* keys of the host's key ring (not namespaced) */
	"/proc/timer_list",		 /* every timer of the host, with pids and names */
	"/proc/sysrq-trigger",		 /* one write crashes, reboots or syncs the host */
	"/proc/sched_debug",		 /* the host's tasks and run queues */
	"/proc/latency_stats",		 /* the host's latency records, and a reset */
	"/sys/firmware",		 /* ACPI tables, EFI, the raw memory map */
	"/sys/devices/virtual/powercap", /* energy counters: a side channel (PLATYPUS) */
};

/* Read-only unless writable_sys, like /proc/sys: hardware information and
 * host tunables (IRQ affinity, SCSI bus rescans, ACPI wake-up, NFS server
 * settings). */
static const char *const readonly[] = {
	"/proc/acpi", "/proc/apm", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/scsi",
};

/* Attach a copy of the mount at srcfd (read-only, nosuid, noexec before it
 * is visible) on tgtfd. */
static int bind_ro(int srcfd, int tgtfd, const char *what, struct perr *e)
{
	_cleanup_fd_ int tree = open_tree(srcfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return perr_set(e, errno, "mask %s", what);
	struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
					    MOUNT_ATTR_NOEXEC };
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
		return perr_set(e, errno, "mask %s: read-only", what);
	if (move_mount(tree, "", tgtfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return perr_set(e, errno, "mask %s", what);
	return 0;
}

static int mask_one(int rootfd, int nullfd, const char *path, struct perr *e)
{
	_cleanup_fd_ int fd = root_open(rootfd, path, O_PATH | O_NOFOLLOW, 0, e);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* ENOENT: not on this kernel */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return perr_set(e, errno, "mask %s", path);
	if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))
		return bind_ro(nullfd, fd, path, e);
	if (!S_ISDIR(st.st_mode))
		return perr_set(e, EINVAL, "mask %s: not a file or a directory", path);
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	if (mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0555,size=4k,nr_inodes=1") < 0)
		return perr_set(e, errno, "mask %s", path);
	return 0;
}

static int readonly_one(int rootfd, const char *path, struct perr *e)
{
	_cleanup_fd_ int fd = root_open(rootfd, path, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, e);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* ENOENT: not on this kernel */
	return bind_ro(fd, fd, path, e);
}

int box_procmask(const struct box_plan *p, int rootfd, struct perr *e)
{
	/* The box's own /dev/null (its /dev is a tmpfs planet just filled):
	 * a host node bound in would let the box remount the host's devtmpfs. */
	_cleanup_fd_ int nullfd = root_open(rootfd, "/dev/null", O_PATH | O_NOFOLLOW, 0, e);
	if (nullfd < 0)
		return perr_wrap(e, "mask /proc files");
	struct stat st;
	if (fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return perr_set(e, EINVAL, "mask /proc files: the box's /dev/null is not null");
	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++)
		if (mask_one(rootfd, nullfd, masked[i], e) < 0)
			return -1;
	for (size_t i = 0; !p->cfg->writable_sys && i < sizeof readonly / sizeof readonly[0]; i++)
		if (readonly_one(rootfd, readonly[i], e) < 0)
			return -1;
	return 0;
}
