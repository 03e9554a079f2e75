/* cgroupns: the cgroup tree inside the box: what <rootfs>/sys/fs/cgroup
 * shows, mounted with the new mount API. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory name of a v1 hierarchy inside the box: its controllers
 * ("cpu,cpuacct"), or the name of a named hierarchy ("systemd"). */
static int v1_dirname(const char *options, char *buf, size_t len)
{
	size_t w = 0;
	const char *name = NULL;
	buf[0] = 0;
	for (const char *p = options; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l > 5 && strncmp(p, "name=", 5) == 0) {
			name = p + 5;
		} else if (l) {
			if (w + l + 2 > len)
				return -1;
			if (w)
				buf[w++] = ',';
			memcpy(buf + w, p, l);
			w += l;
			buf[w] = 0;
		}
		p = c ? c + 1 : NULL;
	}
	if (w)
		return 0;
	if (!name)
		return -1;
	size_t l = strcspn(name, ",");
	if (l + 1 > len)
		return -1;
	memcpy(buf, name, l);
	buf[l] = 0;
	return 0;
}

/* Mount a fresh fs (cgroup, cgroup2) described by comma options onto
 * to_dfd/to_path (to_path "" = to_dfd itself). */
static int mount_fs(const char *fstype, const char *options, unsigned attrs, int to_dfd,
		    const char *to_path, const char *what, struct perr *e)
{
	_cleanup_fd_ int fs = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		return perr_set(e, errno, "fsopen %s for %s", fstype, what);
	for (const char *p = options; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char tok[256];
		if (l >= sizeof tok)
			return perr_set(e, EINVAL, "mount %s: option too long", what);
		memcpy(tok, p, l);
		tok[l] = 0;
		char *eq = strchr(tok, '=');
		int r;
		if (eq) {
			*eq = 0;
			r = fsconfig(fs, FSCONFIG_SET_STRING, tok, eq + 1, 0);
		} else {
			r = fsconfig(fs, FSCONFIG_SET_FLAG, tok, NULL, 0);
		}
		if (r < 0)
			return perr_set(e, errno, "mount %s: option %.*s", what, (int)l, p);
		p = c ? c + 1 : NULL;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return perr_set(e, errno, "mount %s %s (%s)", fstype, what, options);
	_cleanup_fd_ int mfd = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (mfd < 0)
		return perr_set(e, errno, "fsmount %s", what);
	if (move_mount(mfd, "", to_dfd, to_path,
		       MOVE_MOUNT_F_EMPTY_PATH | (*to_path ? 0 : MOVE_MOUNT_T_EMPTY_PATH)) < 0)
		return perr_set(e, errno, "attach %s", what);
	return 0;
}

/* legacy/hybrid: a detached tmpfs holding one directory per hierarchy, as
 * on the host, and the controller symlinks, made while it is still
 * writable and private to us. Returns its mount fd. */
static int make_v1_top(const struct cg_box *cg, unsigned attrs, struct perr *e)
{
	_cleanup_fd_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return perr_set(e, errno, "fsopen tmpfs for /sys/fs/cgroup");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return perr_set(e, errno, "create tmpfs for /sys/fs/cgroup");
	_cleanup_fd_ int top = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (top < 0)
		return perr_set(e, errno, "fsmount tmpfs for /sys/fs/cgroup");

	for (size_t i = 0; i < cg->n_hier; i++) {
		char dn[256];
		const struct cg_hier *h = &cg->hier[i];
		if (h->v2)
			snprintf(dn, sizeof dn, "unified");
		else if (v1_dirname(h->options, dn, sizeof dn) < 0)
			return perr_set(e, EINVAL, "cgroup hierarchy \"%s\": no name", h->options);
		if (mkdirat(top, dn, 0755) < 0 && errno != EEXIST)
			return perr_set(e, errno, "mkdir /sys/fs/cgroup/%s", dn);
		if (!h->v2 && strchr(dn, ',')) {
			/* co-mounted controllers: "cpu" -> "cpu,cpuacct" etc., the
			 * names programs look for. */
			char copy[256];
			snprintf(copy, sizeof copy, "%s", dn);
			char *save = NULL;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
				if (symlinkat(dn, top, t) < 0 && errno != EEXIST)
					return perr_set(e, errno, "symlink /sys/fs/cgroup/%s", t);
		}
	}
	return take_fd(&top);
}

/* Mount hierarchy h in its directory of the tmpfs at top. */
static int mount_hier(const struct cg_hier *h, unsigned attrs, int top, struct perr *e)
{
	char dn[256], what[300];
	if (h->v2) {
		/* hybrid: systemd keeps its own tree in cgroup2 and must
		 * write it. */
		return mount_fs("cgroup2", "", attrs, top, "unified",
				"cgroup2 at /sys/fs/cgroup/unified", e);
	}
	v1_dirname(h->options, dn, sizeof dn);
	snprintf(what, sizeof what, "cgroup %s at /sys/fs/cgroup/%s", h->options, dn);
	if (cg_has_token(h->options, "name=systemd")) {
		/* name=systemd: systemd inside creates its units' cgroups
		 * here, so it is writable (only the box's subtree is
		 * visible through the cgroup namespace). */
		return mount_fs("cgroup", h->options, attrs, top, dn, what, e);
	}
	/* A controller hierarchy: visible for reading (stats, limits),
	 * read-only so the box cannot raise its own limits or move itself
	 * around. */
	return mount_fs("cgroup", h->options, attrs | MOUNT_ATTR_RDONLY, top, dn, what, e);
}

int cg_mount_in_box(const struct cg_box *cg, const char *sysfs_cgroup_dir, struct perr *e)
{
	const unsigned base = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
	/* The target may be a /proc/self/fd/N magic link: open it once and
	 * mount relative to the fd. */
	_cleanup_fd_ int target = open(sysfs_cgroup_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0)
		return perr_set(e, errno, "open %s", sysfs_cgroup_dir);

	if (cg->layout == CG_UNIFIED) {
		/* Pure v2: one cgroup2 mount; the cgroup namespace roots it at
		 * the box's cgroup, and systemd needs it writable to manage
		 * its units (the box's subtree is all it can reach). */
		if (mount_fs("cgroup2", "", base, target, "", "cgroup2 at /sys/fs/cgroup", e) < 0)
			return -1;
		return 0;
	}

	/* legacy/hybrid: a tmpfs with one mount per hierarchy, built
	 * writable, made read-only at the end. */
	_cleanup_fd_ int top = make_v1_top(cg, base, e);
	if (top < 0)
		return -1;
	/* Attach the tmpfs at the target; `top` now names its root there. */
	if (move_mount(top, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return perr_set(e, errno, "mount tmpfs on %s", sysfs_cgroup_dir);
	for (size_t i = 0; i < cg->n_hier; i++)
		if (mount_hier(&cg->hier[i], base, top, e) < 0)
			return -1;
	/* Finally the tmpfs itself read-only: nothing may add or replace
	 * entries in /sys/fs/cgroup. */
	struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(top, "", AT_EMPTY_PATH, &ma, sizeof ma) < 0)
		return perr_set(e, errno, "make /sys/fs/cgroup read-only");
	return 0;
}
