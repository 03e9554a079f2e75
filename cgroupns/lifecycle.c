/* cgroupns: the box's cgroup once planned: moving a process in, joining
 * it from inside, signalling and thawing what is in it, telling when it is
 * empty, destroying and freeing it, and removing a stale tree named in a
 * state file. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

int cg_box_attach(const struct cg_box *cg, pid_t pid, struct perr *e)
{
	char s[32];
	snprintf(s, sizeof s, "%d", (int)pid);
	for (size_t i = 0; i < cg->n_hier; i++) {
		char p[PATH_MAX];
		if (cg_pathf(p, sizeof p, "%s/cgroup.procs", cg->hier[i].path) < 0 ||
		    cg_write_str(p, s) < 0)
			return perr_set(e, errno, "move pid %d into %s", (int)pid, cg->hier[i].path);
	}
	return 0;
}

/* The calling process into the box's cgroups, by its own write of "0":
 * on v2 into the session leaf, never the box's own cgroup, which may hold
 * no process once systemd inside has enabled controllers for its children
 * (EBUSY), and a process sitting there beforehand would make that enabling
 * fail. */
int cg_box_join(const struct cg_box *cg, struct perr *e)
{
	for (size_t i = 0; cg && i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		char dir[PATH_MAX], procs[PATH_MAX];
		if (!h->path)
			continue;
		if (cg_pathf(dir, sizeof dir, h->v2 ? "%s/" CG_SESSION_LEAF : "%s", h->path) < 0 ||
		    cg_pathf(procs, sizeof procs, "%s/cgroup.procs", dir) < 0)
			return perr_set(e, errno, "cgroup %s", h->path);
		if (h->v2 && mkdir(dir, 0755) < 0 && errno != EEXIST)
			return perr_set(e, errno, "create cgroup %s", dir);
		if (cg_write_str(procs, "0") < 0)
			return perr_set(e, errno, "join cgroup %s", dir);
	}
	return 0;
}

int cg_box_kill(const struct cg_box *cg, int sig)
{
	char *dirs[CG_MAX_HIER];
	size_t n = 0;
	bool via_kill = false;
	if (sig == SIGKILL)
		cg_box_thaw(cg);
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (cg->hier[i].v2 && sig == SIGKILL) {
			char p[PATH_MAX];
			if (cg_pathf(p, sizeof p, "%s/cgroup.kill", cg->hier[i].path) == 0 &&
			    cg_write_str(p, "1") == 0) {
				via_kill = true;
				continue;
			}
		}
		dirs[n++] = cg->hier[i].path;
	}
	/* cgroup.kill on cgroup2 reached every process of the box (each process
	 * is in every hierarchy); on hybrid the v1 scan is still done, cheap
	 * insurance against a process moved out of the v2 subtree. */
	if (via_kill && cg->layout == CG_UNIFIED)
		return 0;
	return cg_kill_trees(dirs, n, sig);
}

bool cg_box_empty(const struct cg_box *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		if (!cg_tree_empty(cg->hier[i].path, cg->hier[i].v2))
			return false;
	return true;
}

/* rmdir mountpoint/planet when the box lived in it and it is now empty. */
static void remove_base(const char *mountpoint, const char *path)
{
	char base[PATH_MAX];
	if (!mountpoint || !path || cg_pathf(base, sizeof base, "%s/" CG_BASE, mountpoint) < 0)
		return;
	size_t bl = strlen(base);
	if (strncmp(path, base, bl) == 0 && path[bl] == '/' && !strchr(path + bl + 1, '/'))
		rmdir(base); /* ENOTEMPTY/EBUSY: another box lives there */
}

int cg_box_destroy(struct cg_box *cg, struct perr *e)
{
	if (!cg || cg->n_hier == 0)
		return 0;
	char *dirs[CG_MAX_HIER];
	bool v2[CG_MAX_HIER];
	for (size_t i = 0; i < cg->n_hier; i++) {
		dirs[i] = cg->hier[i].path;
		v2[i] = cg->hier[i].v2;
	}
	bool emptied = cg_kill_and_wait(dirs, v2, cg->n_hier);
	if (cg->bpf_prog_fd >= 0) {
		/* The attachment dies with the cgroup; our reference goes now. */
		close(cg->bpf_prog_fd);
		cg->bpf_prog_fd = -1;
	}
	int ret = 0;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!cg->hier[i].path)
			continue;
		int err = cg_remove_dirs(cg->hier[i].path, false);
		if (err && ret == 0)
			ret = perr_set(e, err, "remove cgroup %s%s", cg->hier[i].path,
				       emptied ? "" : " (processes survived SIGKILL for 1 s)");
		remove_base(cg->hier[i].mountpoint, cg->hier[i].path);
	}
	return ret;
}

void cg_box_init(struct cg_box *cg)
{
	memset(cg, 0, sizeof *cg);
	cg->bpf_prog_fd = -1;
}

void cg_box_free(struct cg_box *cg)
{
	if (!cg)
		return;
	if (cg->n_hier && cg->bpf_prog_fd >= 0)
		close(cg->bpf_prog_fd);
	free(cg->dev_rules);
	for (size_t i = 0; i < cg->n_hier && i < CG_MAX_HIER; i++) {
		free(cg->hier[i].mountpoint);
		free(cg->hier[i].options);
		free(cg->hier[i].path);
	}
	cg_box_init(cg);
}

int cg_box_describe(const struct cg_box *cg, struct strbuf *out)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		if (sb_printf(out, "cgroup=%s\n", cg->hier[i].path) < 0)
			return -1;
	return 0;
}

/* cg_remove_tree's refusals: a plain path under /sys/fs/cgroup/ naming a
 * cgroup directory. dir gets it without trailing slashes. Returns 1 when the
 * path is already gone. */
static int check_removable(const char *path, char *dir, size_t len, bool *v2, struct perr *e)
{
	if (!path || strncmp(path, CG_ROOT "/", sizeof CG_ROOT) != 0 || strstr(path, "..") ||
	    strstr(path, "/./") || strstr(path, "//") || strchr(path, '\n'))
		return perr_set(e, EINVAL, "refusing to remove cgroup \"%s\": not a plain path under "
				CG_ROOT "/", path ? path : "(null)");
	if (cg_pathf(dir, len, "%s", path) < 0)
		return perr_set(e, ENAMETOOLONG, "remove cgroup %s", path);
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dir[--dl] = 0;
	struct stat st;
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 1; /* already gone */
		return perr_set(e, errno, "remove cgroup %s", dir);
	}
	struct statfs sf;
	if (!S_ISDIR(st.st_mode) || statfs(dir, &sf) < 0 ||
	    (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC))
		return perr_set(e, EINVAL, "refusing to remove %s: not a cgroup directory", dir);
	*v2 = sf.f_type == CGROUP2_SUPER_MAGIC;
	return 0;
}

/* Is dir a hierarchy root (a mount point)? Is it <mount point>/planet/<x>? */
static int mount_position(const char *dir, bool *root, bool *in_base, struct perr *e)
{
	struct cg_mnt *m = NULL;
	size_t nm = 0;
	if (cg_mounts_read(&m, &nm, e) < 0)
		return perr_wrap(e, "remove cgroup %s", dir);
	*root = cg_is_mountpoint(m, nm, dir);
	char parent[PATH_MAX], grand[PATH_MAX];
	*in_base = false;
	snprintf(parent, sizeof parent, "%s", dir);
	char *sl = strrchr(parent, '/');
	if (sl) {
		*sl = 0;
		snprintf(grand, sizeof grand, "%s", parent);
		char *sl2 = strrchr(grand, '/');
		if (sl2 && strcmp(sl2 + 1, CG_BASE) == 0) {
			*sl2 = 0;
			*in_base = cg_is_mountpoint(m, nm, grand);
		}
	}
	cg_mounts_free(m, nm);
	return 0;
}

int cg_remove_tree(const char *path, struct perr *e)
{
	char dir[PATH_MAX];
	bool v2 = false, root = false, in_base = false;
	int r = check_removable(path, dir, sizeof dir, &v2, e);
	if (r < 0)
		return -1;
	if (mount_position(dir, &root, &in_base, e) < 0)
		return -1;
	if (root)
		return perr_set(e, EINVAL, "refusing to remove %s: it is a hierarchy root", dir);
	if (r == 1) {
		/* Recorded before it was made: the supervisor may have died
		 * between mkdir /planet and mkdir of the box. */
		if (in_base) {
			*strrchr(dir, '/') = 0;
			rmdir(dir);
		}
		return 0;
	}

	/* Never kill ourselves (a stale path that is an ancestor of ours). */
	if (cg_tree_has_pid(dir, getpid()))
		return perr_set(e, EBUSY, "refusing to remove %s: the supervisor itself is in it", dir);

	char *dirs[1] = { dir };
	bool emptied = cg_kill_and_wait(dirs, &v2, 1);
	int err = cg_remove_dirs(dir, false);
	if (err)
		return perr_set(e, err, "remove cgroup %s%s", dir,
				emptied ? "" : " (processes survived SIGKILL for 1 s)");
	if (in_base) {
		*strrchr(dir, '/') = 0; /* the emptied /planet parent */
		rmdir(dir);
	}
	return 0;
}
