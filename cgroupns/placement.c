/* cgroupns: creating the box's cgroup below the supervisor's own, in every
 * hierarchy (see "Placement" in cgroupns.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CG_SUPERVISOR "supervisor" /* v2 leaf the supervisor moves itself into */

static int valid_name(const char *name)
{
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0 || strlen(name) > NAME_MAX || strchr(name, '\n'))
		return -1;
	return 0;
}

/* cpuset v1: a new cgroup starts with empty cpus/mems and cannot take
 * processes (ENOSPC) until they are set: copy them from the parent. */
static int cpuset_fill(const char *dir, struct perr *e)
{
	static const char *const files[][2] = { { "cpuset.cpus", "cpus" },
						{ "cpuset.mems", "mems" } };
	for (size_t i = 0; i < 2; i++) {
		for (size_t v = 0; v < 2; v++) {
			char p[PATH_MAX], pp[PATH_MAX];
			if (cg_pathf(p, sizeof p, "%s/%s", dir, files[i][v]) < 0)
				return perr_set(e, errno, "%s", dir);
			if (access(p, F_OK) < 0)
				continue; /* try the noprefix name */
			_cleanup_free_ char *cur = NULL, *par = NULL;
			if (cg_read_str(p, &cur) < 0)
				return perr_set(e, errno, "read %s", p);
			if (cur[0] && cur[0] != '\n')
				break;
			char *slash = strrchr(dir, '/');
			if (!slash || cg_pathf(pp, sizeof pp, "%.*s/%s", (int)(slash - dir), dir,
					    files[i][v]) < 0)
				return perr_set(e, EINVAL, "%s: no parent", dir);
			if (cg_read_str(pp, &par) < 0)
				return perr_set(e, errno, "read %s", pp);
			if (cg_write_str(p, par) < 0)
				return perr_set(e, errno, "write %s", p);
			break;
		}
	}
	return 0;
}

/* mkdir -p mountpoint/rel, filling cpuset along the way. */
static int mkdir_chain(const char *mountpoint, const char *rel, bool cpuset, struct perr *e)
{
	char p[PATH_MAX];
	if (cg_pathf(p, sizeof p, "%s%s", mountpoint, rel) < 0)
		return perr_set(e, errno, "%s%s", mountpoint, rel);
	size_t base = strlen(mountpoint);
	for (size_t i = base + 1;; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (i > base + 1 && p[i - 1] != '/') {
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				return perr_set(e, errno, "mkdir %s", p);
			if (cpuset && cpuset_fill(p, e) < 0)
				return -1;
		}
		p[i] = c;
		if (!c)
			break;
	}
	return 0;
}

/* Best effort: enable in dir/cgroup.subtree_control every controller listed
 * in dir/cgroup.controllers, one at a time (one refused controller does not
 * stop the others). */
static void enable_controllers(const char *dir)
{
	char p[PATH_MAX], sc[PATH_MAX];
	if (cg_pathf(p, sizeof p, "%s/cgroup.controllers", dir) < 0 ||
	    cg_pathf(sc, sizeof sc, "%s/cgroup.subtree_control", dir) < 0)
		return;
	_cleanup_free_ char *ctl = NULL;
	if (cg_read_str(p, &ctl) < 0)
		return;
	char *save = NULL;
	for (char *t = strtok_r(ctl, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		char w[64];
		if (cg_pathf(w, sizeof w, "+%s", t) == 0)
			cg_write_str(sc, w);
	}
}

/* pure v2, supervisor not at the root: move ourselves into own/supervisor so
 * that own holds no process and may delegate controllers to the box. */
static int v2_vacate(const char *mountpoint, const char *own, struct perr *e)
{
	char dir[PATH_MAX], procs[PATH_MAX], pid[32];
	if (cg_pathf(dir, sizeof dir, "%s%s/" CG_SUPERVISOR, mountpoint, own) < 0 ||
	    cg_pathf(procs, sizeof procs, "%s/cgroup.procs", dir) < 0)
		return perr_set(e, ENAMETOOLONG, "%s%s", mountpoint, own);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return perr_set(e, errno, "mkdir %s", dir);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	if (cg_write_str(procs, pid) < 0)
		return perr_set(e, errno, "move the supervisor into %s", dir);
	return 0;
}

/* The box's parent directory in hierarchy h, relative to its mount point,
 * into base: the supervisor's own cgroup, or /planet when that is the root.
 * *vacate: on pure v2 the supervisor must first move itself out of that
 * parent (cg_box_make does it; nothing is changed here). */
static int box_base(const struct cg_hinfo *h, bool unified, char *base, size_t len, bool *vacate,
		    struct perr *e)
{
	char own[PATH_MAX];
	const char *ctl = h->v2 ? NULL : h->options;
	*vacate = false;
	if (cg_proc_cgroup_find("/proc/self/cgroup", ctl, false, own, sizeof own, e) < 0)
		return -1;
	/* A hierarchy mounted from a subdirectory shows that directory as its
	 * root: make own relative to the mount. */
	const char *rel = own;
	if (strcmp(h->root, "/") != 0) {
		if (!cg_path_under(own, h->root))
			return perr_set(e, EXDEV, "%s: own cgroup %s is outside the mounted root %s",
					h->mountpoint, own, h->root);
		rel = own + strlen(h->root);
		if (!*rel)
			rel = "/";
	}
	if (strstr(rel, "/..") || strstr(rel, " (deleted)"))
		return perr_set(e, EXDEV, "%s: own cgroup %s is not visible here", h->mountpoint,
				own);

	if (strcmp(rel, "/") == 0) {
		snprintf(base, len, "/" CG_BASE);
		return 0;
	}
	if (cg_pathf(base, len, "%s", rel) < 0)
		return perr_set(e, errno, "%s", rel);
	size_t bl = strlen(base);
	while (bl > 1 && base[bl - 1] == '/')
		base[--bl] = 0;
	/* pure v2: a previous box of this supervisor already moved us
	 * into <own>/supervisor; own is its parent. */
	size_t sl = strlen("/" CG_SUPERVISOR);
	if (unified && bl > sl && strcmp(base + bl - sl, "/" CG_SUPERVISOR) == 0)
		base[bl - sl] = 0;
	else
		*vacate = unified;
	return 0;
}

/* Record dir as the box's cgroup in hierarchy h. */
static int add_hier(struct cg_box *cg, const struct cg_hinfo *h, const char *dir, bool vacate,
		    struct perr *e)
{
	struct cg_hier *x = &cg->hier[cg->n_hier];
	x->mountpoint = strdup(h->mountpoint);
	x->options = strdup(h->options);
	x->path = strdup(dir);
	x->v2 = h->v2;
	x->vacate = vacate;
	if (!x->mountpoint || !x->options || !x->path) {
		free(x->mountpoint);
		free(x->options);
		free(x->path);
		memset(x, 0, sizeof *x);
		return perr_set(e, ENOMEM, "cgroup %s", dir);
	}
	cg->n_hier++;
	return 0;
}

/* mkdir the box's dir (and base above it). *made: the dir is ours (this
 * call created it), so a later failure may remove it. A dir that exists
 * already is never ours: the box's name is unique on the host (the caller
 * makes it so), so it belongs to someone else (another box, an operator)
 * and is not killed, emptied or removed (EEXIST). A crashed box's own dirs
 * are removed from its state file's record before the next start. */
static int make_box_dir(const char *mountpoint, const char *base, const char *dir, bool unified,
			bool cpuset, bool *made, struct perr *e)
{
	*made = false;
	/* Another box's destroy may rmdir the shared /planet between our
	 * mkdirs: retry a few times on ENOENT. */
	for (int attempt = 0;; attempt++) {
		if (mkdir_chain(mountpoint, base, cpuset, e) < 0)
			return -1;
		if (unified) {
			char bdir[PATH_MAX];
			if (cg_pathf(bdir, sizeof bdir, "%s%s", mountpoint, base) == 0)
				enable_controllers(bdir);
		}
		if (mkdir(dir, 0755) == 0) {
			*made = true;
			return cpuset ? cpuset_fill(dir, e) : 0;
		}
		if (errno == EEXIST)
			return perr_set(e, EEXIST, "cgroup %s exists and is not this box's (left alone)",
					dir);
		if (errno != ENOENT || attempt >= 3)
			return perr_set(e, errno, "mkdir %s", dir);
	}
}

static int plan_one(struct cg_box *cg, const struct cg_hinfo *h, enum cg_layout layout,
		    const char *name, struct perr *e)
{
	char base[PATH_MAX], dir[PATH_MAX];
	bool vacate;
	if (box_base(h, h->v2 && layout == CG_UNIFIED, base, sizeof base, &vacate, e) < 0)
		return -1;
	if (cg_pathf(dir, sizeof dir, "%s%s/%s", h->mountpoint, base, name) < 0)
		return perr_set(e, ENAMETOOLONG, "cgroup path for %s", name);
	return add_hier(cg, h, dir, vacate, e);
}

int cg_box_plan(struct cg_box *cg, const char *name, struct perr *e)
{
	cg_box_init(cg);
	if (valid_name(name) < 0)
		return perr_set(e, EINVAL, "cgroup name \"%s\": want one path component",
				name ? name : "(null)");
	struct cg_hinfo h[CG_MAX_HIER];
	size_t n = 0;
	memset(h, 0, sizeof h);
	if (cg_hier_scan(h, &n, &cg->layout, e) < 0)
		return perr_wrap(e, "create cgroup %s", name);
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		/* A v1 controller hierarchy mounted read-only (as inside another
		 * planet box) cannot hold our cgroup: leave it out. */
		if (h[i].ro && !h[i].v2 && !cg_has_token(h[i].options, "name=systemd"))
			continue;
		if (plan_one(cg, &h[i], cg->layout, name, e) < 0) {
			perr_wrap(e, "create cgroup %s in %s", name, h[i].mountpoint);
			ret = -1;
			break;
		}
	}
	cg_hinfo_free(h, n);
	if (ret == 0 && cg->n_hier == 0)
		ret = perr_set(e, EROFS, "create cgroup %s: every hierarchy is read-only", name);
	if (ret < 0)
		cg_box_free(cg);
	return ret;
}

static int make_one(const struct cg_hier *x, enum cg_layout layout, bool *made, struct perr *e)
{
	/* path is mountpoint + base + "/" + name (cg_box_plan) */
	char base[PATH_MAX];
	const char *rel = x->path + strlen(x->mountpoint);
	const char *slash = strrchr(rel, '/');
	*made = false;
	if (!slash || cg_pathf(base, sizeof base, "%.*s", (int)(slash - rel), rel) < 0)
		return perr_set(e, EINVAL, "cgroup path %s", x->path);
	if (x->vacate && v2_vacate(x->mountpoint, base, e) < 0)
		return -1;
	return make_box_dir(x->mountpoint, base, x->path, x->v2 && layout == CG_UNIFIED,
			    !x->v2 && cg_has_token(x->options, "cpuset"), made, e);
}

int cg_box_make(struct cg_box *cg, struct perr *e)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		bool made;
		if (make_one(&cg->hier[i], cg->layout, &made, e) < 0) {
			perr_wrap(e, "create cgroup %s in %s", strrchr(cg->hier[i].path, '/') + 1,
				  cg->hier[i].mountpoint);
			/* Only what this call made: a planned path that
			 * exists (this one on EEXIST, or a later one) is not
			 * ours to remove. */
			size_t n = cg->n_hier;
			cg->n_hier = made ? i + 1 : i;
			cg_box_destroy(cg, NULL);
			cg->n_hier = n;
			cg_box_free(cg);
			return -1;
		}
	}
	return 0;
}

int cg_box_create(struct cg_box *cg, const char *name, struct perr *e)
{
	if (cg_box_plan(cg, name, e) < 0)
		return -1;
	return cg_box_make(cg, e);
}
