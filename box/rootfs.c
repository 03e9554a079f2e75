/* The box's mount tree, built by the child in its new mount namespace before
 * it execs init. Every target inside the rootfs is resolved with
 * RESOLVE_IN_ROOT (base/ root_*), so a symlink planted in the rootfs can
 * never send a mount or a write to the host; mounts are then made on the
 * resolved fd through /proc/self/fd, and binds go through open_tree +
 * move_mount so their flags are set before they become visible. */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FDPATH(buf, fd) snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd)

/* A fresh filesystem mounted on a directory inside the root. */
static int mount_fs(int rootfd, const char *path, const char *fstype, unsigned long flags,
		    const char *data, struct perr *e)
{
	_cleanup_fd_ int t = root_mkdir_p(rootfd, path, 0755, e);
	if (t < 0)
		return -1;
	char p[64];
	FDPATH(p, t);
	if (mount(fstype, p, fstype, flags, data) < 0)
		return perr_set(e, errno, "mount %s on %s", fstype, path);
	return 0;
}

/* Bind srcfd's mount subtree onto tgtfd. Read-only (and, with rec, every
 * submount read-only) is applied to the detached copy before it is
 * attached, so no process ever sees a writable window. */
static int bind_fd(int srcfd, int tgtfd, bool rec, bool ro, const char *what, struct perr *e)
{
	unsigned rflag = rec ? AT_RECURSIVE : 0;
	_cleanup_fd_ int tree = open_tree(srcfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
							   AT_EMPTY_PATH | rflag);
	if (tree < 0)
		return perr_set(e, errno, "bind %s", what);
	if (ro) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };
		if (mount_setattr(tree, "", AT_EMPTY_PATH | rflag, &a, sizeof a) < 0)
			return perr_set(e, errno, "make %s read-only", what);
	}
	if (move_mount(tree, "", tgtfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return perr_set(e, errno, "attach %s", what);
	return 0;
}

/* Re-bind a path of the box onto itself read-only (/proc/sys and friends). */
static int bind_self_ro(int rootfd, const char *path, struct perr *e)
{
	_cleanup_fd_ int fd = root_open(rootfd, path, O_PATH, 0, e);
	if (fd < 0 && e->errnum == ENOENT) {
		*e = (struct perr){ 0 }; /* not on this kernel: nothing to protect */
		return 0;
	}
	return fd < 0 ? -1 : bind_fd(fd, fd, false, true, path, e);
}

static int mount_proc_sys(const struct box_plan *p, int rootfd, struct perr *e)
{
	bool ro = !p->cfg->writable_sys;
	/* A procfs of the box's own pid namespace. */
	if (mount_fs(rootfd, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0)
		return -1;
	/* Kernel tunables are the host's: read-only unless asked (as for /sys). */
	if (ro && bind_self_ro(rootfd, "/proc/sys", e) < 0)
		return -1;
	/* A read-only /sys keeps systemd from starting udevd to fight the host. */
	if (mount_fs(rootfd, "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | (ro ? MS_RDONLY : 0),
		     NULL, e) < 0)
		return -1;
	return 0;
}

static int mount_cgroups(const struct box_run *r, int rootfd, struct perr *e)
{
	_cleanup_fd_ int fd = root_open(rootfd, "/sys/fs/cgroup", O_PATH | O_DIRECTORY, 0, e);
	if (fd < 0)
		return perr_wrap(e, "cgroup mount point");
	char p[64];
	FDPATH(p, fd);
	return cg_mount_in_box(&r->cg, p, e);
}

static int dev_symlinks(int devfd, struct perr *e)
{
	static const char *const links[][2] = {
		{ "pts/ptmx", "ptmx" },	     { "/proc/self/fd", "fd" },
		{ "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
		{ "/proc/self/fd/2", "stderr" },
	};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
			return perr_set(e, errno, "symlink /dev/%s", links[i][1]);
	return 0;
}

/* /dev/console is the pty whose master the supervisor reads: init's console
 * output ends up in the supervisor's log. */
static int bind_console(int devfd, const char *console_path, struct perr *e)
{
	int fd = openat(devfd, "console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return perr_set(e, errno, "create /dev/console");
	close(fd);
	_cleanup_fd_ int tgt = openat(devfd, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_fd_ int src = open(console_path, O_PATH | O_CLOEXEC);
	if (tgt < 0 || src < 0)
		return perr_set(e, errno, "console %s", console_path);
	return bind_fd(src, tgt, false, false, "/dev/console", e);
}

static int mount_dev(const struct box_plan *p, int rootfd, const char *console_path,
		     struct perr *e)
{
	/* A private /dev: only the nodes the box is given exist in it. */
	if (mount_fs(rootfd, "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=4m", e) < 0)
		return -1;
	_cleanup_fd_ int devfd = root_open(rootfd, "/dev", O_PATH | O_DIRECTORY, 0, e);
	if (devfd < 0 || box_devices_create(p, devfd, e) < 0 || dev_symlinks(devfd, e) < 0)
		return -1;
	/* The box's own pty instance: its ptys are not the host's. */
	if (mount_fs(rootfd, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		     "newinstance,ptmxmode=0666,mode=620,gid=5", e) < 0)
		return -1;
	/* POSIX shared memory and message queues of the box's IPC namespace. */
	if (mount_fs(rootfd, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", e) < 0 ||
	    mount_fs(rootfd, "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, e) < 0)
		return -1;
	return bind_console(devfd, console_path, e);
}

/* A generated file: written on the box's /run tmpfs, then bound read-only
 * over the rootfs's own (the rootfs on disk is left as it was). */
static int bind_generated(int rootfd, const char *gen, const char *target, const struct strbuf *b,
			  struct perr *e)
{
	if (root_write_file(rootfd, gen, b->s ? b->s : "", b->len, 0644, e) < 0)
		return -1;
	_cleanup_fd_ int src = root_open(rootfd, gen, O_PATH, 0, e);
	_cleanup_fd_ int tgt = src < 0 ? -1 : box_files_target(rootfd, target, e);
	if (tgt < 0)
		return -1;
	return bind_fd(src, tgt, false, true, target, e);
}

static int mount_run(const struct box_plan *p, const struct box_run *r, int rootfd, struct perr *e)
{
	const char *id = p->box_id;
	char uuid[40];
	/* /run is per boot: a tmpfs, as systemd expects from a container. */
	if (mount_fs(rootfd, "/run", "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755", e) < 0 ||
	    mount_fs(rootfd, "/run/lock", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=5m", e) < 0)
		return -1;
	snprintf(uuid, sizeof uuid, "%s\n", id);
	/* systemd's container interface: who runs us, and which box we are. */
	if (root_write_file(rootfd, "/run/host/container-manager", "planet\n", 7, 0444, e) < 0 ||
	    root_write_file(rootfd, "/run/host/container-uuid", uuid, strlen(uuid), 0444, e) < 0)
		return -1;
	if (p->zones.len &&
	    root_write_file(rootfd, "/run/planet/dns-zones.conf", p->zones.s, p->zones.len, 0644, e) < 0)
		return -1;
	if (bind_generated(rootfd, "/run/host/resolv.conf", "/etc/resolv.conf", &p->resolv, e) < 0 ||
	    bind_generated(rootfd, "/run/host/hosts", "/etc/hosts", &p->hosts, e) < 0)
		return -1;
	if (r->notify_path[0]) {
		/* init's sd_notify socket is the supervisor's, bound in. */
		_cleanup_fd_ int src = open(r->notify_path, O_PATH | O_CLOEXEC);
		if (src < 0)
			return perr_set(e, errno, "notify socket %s", r->notify_path);
		_cleanup_fd_ int tgt = root_touch(rootfd, "/run/host/notify", 0600, e);
		if (tgt < 0)
			return perr_wrap(e, "notify socket %s", r->notify_path);
		if (bind_fd(src, tgt, false, false, "/run/host/notify", e) < 0)
			return -1;
	}
	return 0;
}

static int pivot(int rootfd, struct perr *e)
{
	/* pivot_root with new and old root the same dir, then detach the old
	 * one: no temporary directory in the rootfs is needed. */
	if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return perr_set(e, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return perr_set(e, errno, "detach the host's root");
	return 0;
}

int box_rootfs_prepare(const struct box_plan *p, const char *console_path, const struct box_run *r,
		       struct perr *e)
{
	const struct box_config *c = p->cfg;
	/* Receive the host's mount events, never send ours back. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return perr_set(e, errno, "make mounts slave");
	/* pivot_root needs the new root to be a mount point of its own. */
	if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return perr_set(e, errno, "bind rootfs %s", c->rootfs);
	_cleanup_fd_ int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return perr_set(e, errno, "rootfs %s", c->rootfs);
	if (mount_proc_sys(p, rootfd, e) < 0 || mount_dev(p, rootfd, console_path, e) < 0)
		return -1;
	/* Once /dev has its null: box/procmask.c. */
	if (box_procmask(p, rootfd, e) < 0 || mount_run(p, r, rootfd, e) < 0)
		return -1;
	/* The env file lives in the rootfs itself (the enter API reads it). */
	if (root_write_file(rootfd, c->env_file, p->envfile.s ? p->envfile.s : "", p->envfile.len,
			    0644, e) < 0)
		return perr_wrap(e, "env file");
	/* Before the volumes: nothing is written through one onto the host. */
	if (box_inputs_write(p, rootfd, e) < 0 || box_volumes_attach(p, r, rootfd, e) < 0)
		return -1;
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		return perr_set(e, errno, "sethostname %s", c->hostname);
	return 0;
}

int box_rootfs_finish(const struct box_plan *p, const struct box_run *r, struct perr *e)
{
	_cleanup_fd_ int rootfd = open(p->cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return perr_set(e, errno, "rootfs %s", p->cfg->rootfs);
	if (mount_cgroups(r, rootfd, e) < 0 || pivot(rootfd, e) < 0)
		return -1;
	/* Shared within the box (still a slave of the host's mounts: nothing
	 * propagates back), as nspawn leaves it: a service's own mount
	 * namespace then passes the mounts it makes back to init's, which is
	 * how systemd puts a unit's credentials in /run/credentials/UNIT
	 * (without it, LoadCredential= and SetCredential= give empty
	 * directories). */
	if (mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
		return perr_set(e, errno, "make the box's mounts shared");
	return 0;
}
