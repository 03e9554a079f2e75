/* Volumes: the operator's bind mounts.
 *
 * A source is resolved on the host once per `planet start`, when the box is
 * planned, and kept as an O_PATH descriptor for the supervisor's whole
 * life: every boot of the box (on_reboot = restart) binds that descriptor,
 * never the path again. The box can write into its writable volumes (and
 * its rootfs), so a path below one of them is the box's to change: resolved
 * at every boot, a symlink the box put there would bind whatever host path
 * it names. Such a source is also opened relative to the writable tree's
 * descriptor without following any symbolic link below it (openat2
 * RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH), so that even the next `planet
 * start` cannot be redirected, and the operator is warned.
 *
 * A mount in the host's namespace cannot be bound from inside the box's new
 * mount namespace, so for each boot the supervisor clones every source
 * into a detached mount (open_tree), read-only and a slave of the host's
 * before anything sees it, and the box's child attaches it (move_mount). */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- plan: expand globs, collect the binds ---- */

static int add_bind(struct box_plan *p, const char *src, const char *dst,
		    const struct volume_spec *v, bool may_vanish)
{
	struct box_bind *nb = realloc(p->binds, (p->n_binds + 1) * sizeof *nb);
	if (!nb)
		return -1;
	p->binds = nb;
	struct box_bind *b = &p->binds[p->n_binds];
	*b = (struct box_bind){ .src = strdup(src), .dst = strdup(dst), .ro = v->ro, .rec = v->rec,
				.may_vanish = may_vanish, .src_fd = -1 };
	if (!b->src || !b->dst) {
		free(b->src);
		free(b->dst);
		return -1;
	}
	p->n_binds++;
	return 0;
}

/* A glob volume: each match at its own path, or under dst by its basename
 * when dst names another directory. Matched once, at plan time. */
static int plan_glob_volume(struct box_plan *p, const struct volume_spec *v, struct perr *e)
{
	glob_t g = { 0 };
	int r = glob(v->src, 0, NULL, &g);
	if (r == GLOB_NOMATCH || (r == 0 && g.gl_pathc == 0)) {
		globfree(&g);
		return v->skip ? 0 : perr_set(e, 0, "--volume %s:%s: no path matches %s (add :skip if it may be absent)",
					      v->src, v->dst, v->src);
	}
	for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
		char dst[PATH_MAX], base[PATH_MAX];
		snprintf(base, sizeof base, "%s", g.gl_pathv[i]);
		if (!v->dst[0] || strcmp(v->dst, v->src) == 0)
			snprintf(dst, sizeof dst, "%s", g.gl_pathv[i]);
		else
			snprintf(dst, sizeof dst, "%s/%s", v->dst, basename(base));
		/* a match gone before it is opened is skipped, as before */
		if (add_bind(p, g.gl_pathv[i], dst, v, true) < 0)
			r = -1;
	}
	globfree(&g);
	return r == 0 ? 0 : perr_set(e, ENOMEM, "--volume %s", v->src);
}

/* ---- opening the sources, once ---- */

/* A tree the box can write, with its descriptor. */
struct wtree {
	const char *path;
	int fd;
	const struct box_bind *vol; /* NULL: the rootfs */
};

/* The longest writable tree whose path is a strict prefix of src (paths
 * are normalized: no "//", ".", ".." or trailing "/"). */
static const struct wtree *writable_above(const struct wtree *w, size_t n, const char *src)
{
	const struct wtree *best = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(w[i].path);
		if (w[i].fd < 0 || strncmp(src, w[i].path, l) != 0 ||
		    (src[l] != '/' && strcmp(w[i].path, "/") != 0) || !src[l])
			continue;
		if (!best || l > strlen(best->path))
			best = &w[i];
	}
	return best;
}

static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;
	do
		fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
	while (fd < 0 && errno == EAGAIN);
	return fd;
}

static int open_source(struct box_bind *b, const struct wtree *w, size_t nw, struct perr *e)
{
	const struct wtree *up = writable_above(w, nw, b->src);
	if (!up) {
		b->src_fd = open(b->src, O_PATH | O_CLOEXEC);
	} else {
		const char *rel = b->src + strlen(up->path);
		while (*rel == '/')
			rel++;
		b->src_fd = open_beneath(up->fd, rel);
		if (b->src_fd < 0 && errno == ELOOP)
			return perr_set(e, 0, "--volume %s:%s: source %s: a symbolic link below %s, which the box "
					      "can write (it may have made it); give the link's target instead",
					b->src, b->dst, b->src, up->path);
		if (b->src_fd >= 0)
			fprintf(stderr,
				"planet: warning: volume source %s is below %s, which the box can write (%s%s): "
				"opened once, following no symbolic link below it\n",
				b->src, up->path, up->vol ? "volume to " : "its rootfs",
				up->vol ? up->vol->dst : "");
	}
	if (b->src_fd < 0) {
		if (b->may_vanish && errno == ENOENT)
			return 0;
		return perr_set(e, errno, "--volume %s:%s: source %s", b->src, b->dst, b->src);
	}
	struct stat st;
	if (fstat(b->src_fd, &st) < 0)
		return perr_set(e, errno, "--volume %s:%s: source %s", b->src, b->dst, b->src);
	b->is_dir = S_ISDIR(st.st_mode);
	return 0;
}

static int by_src_len(const void *a, const void *b, void *binds)
{
	const struct box_bind *v = binds;
	size_t la = strlen(v[*(const size_t *)a].src), lb = strlen(v[*(const size_t *)b].src);
	return la < lb ? -1 : la > lb;
}

/* Shorter paths first, so that every writable tree above a source is open
 * before the source is. */
static int open_sources(struct box_plan *p, struct perr *e)
{
	size_t n = p->n_binds, nw = 0;
	_cleanup_fd_ int rootfd = open(p->cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return perr_set(e, errno, "rootfs %s", p->cfg->rootfs);
	_cleanup_free_ size_t *order = calloc(n + 1, sizeof *order);
	_cleanup_free_ struct wtree *w = calloc(n + 1, sizeof *w);
	if (!order || !w)
		return perr_set(e, ENOMEM, "volumes");
	w[nw++] = (struct wtree){ .path = p->cfg->rootfs, .fd = rootfd };
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof *order, by_src_len, p->binds);
	for (size_t i = 0; i < n; i++) {
		struct box_bind *b = &p->binds[order[i]];
		if (open_source(b, w, nw, e) < 0)
			return -1;
		if (b->src_fd >= 0 && b->is_dir && !b->ro)
			w[nw++] = (struct wtree){ .path = b->src, .fd = b->src_fd, .vol = b };
	}
	/* drop the skipped ones (gone before they were opened) */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (p->binds[i].src_fd >= 0)
			p->binds[k++] = p->binds[i];
		else {
			free(p->binds[i].src);
			free(p->binds[i].dst);
		}
	}
	p->n_binds = k;
	return 0;
}

int box_volumes_plan(struct box_plan *p, struct perr *e)
{
	const struct box_config *c = p->cfg;
	for (size_t i = 0; i < c->n_volumes; i++) {
		const struct volume_spec *v = &c->volumes[i];
		if (strpbrk(v->src, "*?[")) {
			if (plan_glob_volume(p, v, e) < 0)
				return -1;
		} else if (add_bind(p, v->src, v->dst[0] ? v->dst : v->src, v, v->skip) < 0) {
			return perr_set(e, ENOMEM, "--volume %s", v->src);
		}
	}
	return open_sources(p, e);
}

void box_volumes_free(struct box_plan *p)
{
	for (size_t i = 0; i < p->n_binds; i++) {
		free(p->binds[i].src);
		free(p->binds[i].dst);
		if (p->binds[i].src_fd >= 0)
			close(p->binds[i].src_fd);
	}
	free(p->binds);
	p->binds = NULL;
	p->n_binds = 0;
}

/* ---- every boot: detached copies in the supervisor, attached by the child ---- */

int box_volumes_clone(struct box_run *r, const struct box_plan *p, struct perr *e)
{
	box_volumes_release(r);
	if (!p->n_binds)
		return 0;
	r->vol_trees = malloc(p->n_binds * sizeof *r->vol_trees);
	if (!r->vol_trees)
		return perr_set(e, ENOMEM, "volumes");
	for (size_t i = 0; i < p->n_binds; i++)
		r->vol_trees[i] = -1;
	r->n_vol_trees = p->n_binds;
	for (size_t i = 0; i < p->n_binds; i++) {
		const struct box_bind *b = &p->binds[i];
		unsigned rec = b->rec ? AT_RECURSIVE : 0;
		r->vol_trees[i] = open_tree(b->src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
								  AT_EMPTY_PATH | rec);
		if (r->vol_trees[i] < 0)
			return perr_set(e, errno, "volume %s: clone its mount", b->src);
		/* Read-only (with rec: every submount too) and receiving the
		 * host's mount events without sending any back, before the
		 * box can see it. */
		struct mount_attr a = { .attr_set = b->ro ? MOUNT_ATTR_RDONLY : 0,
					.propagation = MS_SLAVE };
		if (mount_setattr(r->vol_trees[i], "", AT_EMPTY_PATH | rec, &a, sizeof a) < 0)
			return perr_set(e, errno, "volume %s: set its mount flags", b->src);
	}
	return 0;
}

void box_volumes_release(struct box_run *r)
{
	for (size_t i = 0; i < r->n_vol_trees; i++)
		if (r->vol_trees[i] >= 0)
			close(r->vol_trees[i]);
	free(r->vol_trees);
	r->vol_trees = NULL;
	r->n_vol_trees = 0;
}

static int attach_one(const struct box_bind *b, int tree, int rootfd, struct perr *e)
{
	_cleanup_fd_ int tgt = b->is_dir ? root_mkdir_p(rootfd, b->dst, 0755, e)
					 : root_touch(rootfd, b->dst, 0644, e);
	if (tgt < 0)
		return perr_wrap(e, "volume %s:%s", b->src, b->dst);
	if (move_mount(tree, "", tgt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return perr_set(e, errno, "attach volume %s:%s", b->src, b->dst);
	/* Shared: mounts made later under the volume inside the box (kubelet
	 * style) propagate to the box's other views of it; it is a slave of
	 * the host's, so nothing propagates back to the host. */
	_cleanup_fd_ int mnt = b->is_dir ? root_open(rootfd, b->dst, O_PATH | O_DIRECTORY, 0, e)
					 : root_open(rootfd, b->dst, O_PATH, 0, e);
	if (mnt < 0)
		return -1;
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", mnt);
	if (mount(NULL, p, NULL, MS_SHARED | (b->rec ? MS_REC : 0), NULL) < 0)
		return perr_set(e, errno, "make volume %s shared", b->dst);
	return 0;
}

int box_volumes_attach(const struct box_plan *p, const struct box_run *r, int rootfd,
		       struct perr *e)
{
	if (r->n_vol_trees != p->n_binds)
		return perr_set(e, EINVAL, "volumes: %zu planned, %zu cloned", p->n_binds,
				r->n_vol_trees);
	for (size_t i = 0; i < p->n_binds; i++)
		if (attach_one(&p->binds[i], r->vol_trees[i], rootfd, e) < 0)
			return -1;
	return 0;
}
