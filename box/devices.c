/* Devices of the box: the host devices the operator passes in (--device
 * globs, optional host block devices), their nodes in the box's private
 * /dev, and the device cgroup rules that allow exactly those. */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* What `block_devices = true` exposes, as planet did: disks, partitions,
 * device-mapper and loop devices of the host. */
static const char *const host_block_globs[] = {
	"/dev/sd*", "/dev/vd*", "/dev/xvd*", "/dev/nvme*", "/dev/dm-*", "/dev/loop*", NULL,
};

static int add_dev(struct box_plan *p, const char *path, const struct stat *st,
		   const struct device_spec *spec)
{
	for (size_t i = 0; i < p->n_devs; i++)
		if (strcmp(p->devs[i].path, path) == 0)
			return 0; /* two globs matched it: first spec wins */
	struct box_dev *nd = realloc(p->devs, (p->n_devs + 1) * sizeof *nd);
	if (!nd)
		return -1;
	p->devs = nd;
	struct box_dev *d = &p->devs[p->n_devs];
	d->path = strdup(path);
	if (!d->path)
		return -1;
	d->rdev = st->st_rdev;
	d->mode = (st->st_mode & S_IFMT) |
		  (spec && spec->has_mode ? spec->mode : (st->st_mode & 07777));
	d->uid = spec ? spec->uid : st->st_uid;
	d->gid = spec ? spec->gid : st->st_gid;
	snprintf(d->perms, sizeof d->perms, "%s", spec ? spec->perms : "rwm");
	p->n_devs++;
	return 0;
}

/* Expand one glob over the host's /dev; only char and block devices count. */
static int expand_glob(struct box_plan *p, const char *pattern, const struct device_spec *spec,
		       size_t *matched, struct perr *e)
{
	glob_t g = { 0 };
	int r = glob(pattern, GLOB_NOSORT, NULL, &g);
	if (r == GLOB_NOSPACE) {
		globfree(&g);
		return perr_set(e, ENOMEM, "device glob %s", pattern);
	}
	for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
		struct stat st;
		if (stat(g.gl_pathv[i], &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
			continue;
		/* Nodes are recreated at the same path in the box's /dev. */
		if (strncmp(g.gl_pathv[i], "/dev/", 5) != 0 || strstr(g.gl_pathv[i], "/.."))
			continue;
		if (add_dev(p, g.gl_pathv[i], &st, spec) < 0) {
			globfree(&g);
			return perr_set(e, ENOMEM, "device %s", g.gl_pathv[i]);
		}
		(*matched)++;
	}
	globfree(&g);
	return 0;
}

int box_devices_plan(struct box_plan *p, struct perr *e)
{
	const struct box_config *c = p->cfg;
	for (size_t i = 0; i < c->n_devices; i++) {
		size_t matched = 0;
		if (expand_glob(p, c->devices[i].glob, &c->devices[i], &matched, e) < 0)
			return -1;
		if (!matched && !c->devices[i].optional)
			return perr_set(e, 0,
					"--device path=%s: no character or block device matches "
					"(add optional=true if it may be absent)",
					c->devices[i].glob);
	}
	if (c->block_devices)
		for (size_t i = 0; host_block_globs[i]; i++) {
			size_t matched = 0;
			if (expand_glob(p, host_block_globs[i], NULL, &matched, e) < 0)
				return -1;
		}
	return 0;
}

/* The nodes every box has (systemd's container interface), then ptys
 * (136:*), then mknod of anything (creating a node is harmless: opening it
 * is what the rules below govern). */
static const struct cg_dev_rule std_rules[] = {
	{ 'c', -1, -1, "m" },  { 'b', -1, -1, "m" },   { 'c', 1, 3, "rwm" }, { 'c', 1, 5, "rwm" },
	{ 'c', 1, 7, "rwm" },  { 'c', 1, 8, "rwm" },   { 'c', 1, 9, "rwm" }, { 'c', 5, 0, "rwm" },
	{ 'c', 5, 1, "rwm" },  { 'c', 5, 2, "rwm" },   { 'c', 136, -1, "rwm" },
};

int box_device_rules(const struct box_plan *p, struct cg_dev_rule **rules, size_t *n)
{
	size_t nstd = sizeof std_rules / sizeof std_rules[0];
	struct cg_dev_rule *r = calloc(nstd + p->n_devs, sizeof *r);
	if (!r)
		return -1;
	memcpy(r, std_rules, sizeof std_rules);
	for (size_t i = 0; i < p->n_devs; i++) {
		struct cg_dev_rule *d = &r[nstd + i];
		d->type = S_ISBLK(p->devs[i].mode) ? 'b' : 'c';
		d->major = (long)major(p->devs[i].rdev);
		d->minor = (long)minor(p->devs[i].rdev);
		snprintf(d->access, sizeof d->access, "%s", p->devs[i].perms);
	}
	*rules = r;
	*n = nstd + p->n_devs;
	return 0;
}

/* Standard nodes of the box's /dev, created on its own tmpfs. */
static const struct {
	const char *name;
	unsigned maj, min;
} std_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static int mknod_owned(int devfd, const char *name, mode_t mode, dev_t rdev, uid_t uid, gid_t gid,
		       struct perr *e)
{
	if (mknodat(devfd, name, mode, rdev) < 0 && errno != EEXIST)
		return perr_set(e, errno, "mknod /dev/%s", name);
	/* mknod applies the umask; the mode asked for is the mode wanted. */
	if (fchmodat(devfd, name, mode & 07777, 0) < 0 ||
	    fchownat(devfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return perr_set(e, errno, "chmod/chown /dev/%s", name);
	return 0;
}

static int mkdir_parents(int devfd, const char *rel)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", rel);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdirat(devfd, buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return 0;
}

int box_devices_create(const struct box_plan *p, int devfd, struct perr *e)
{
	for (size_t i = 0; i < sizeof std_nodes / sizeof std_nodes[0]; i++)
		if (mknod_owned(devfd, std_nodes[i].name, S_IFCHR | 0666,
				makedev(std_nodes[i].maj, std_nodes[i].min), 0, 0, e) < 0)
			return -1;
	for (size_t i = 0; i < p->n_devs; i++) {
		const struct box_dev *d = &p->devs[i];
		const char *rel = d->path + 5; /* planned paths all start with /dev/ */
		if (mkdir_parents(devfd, rel) < 0)
			return perr_set(e, errno, "mkdir for %s", d->path);
		if (mknod_owned(devfd, rel, d->mode, d->rdev, d->uid, d->gid, e) < 0)
			return -1;
	}
	return 0;
}
