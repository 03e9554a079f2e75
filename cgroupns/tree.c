/* cgroupns: walking a cgroup directory tree: signalling every process in
 * it once, telling whether it is empty, removing it bottom-up. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_EMPTY_NS 1000000000ull /* destroy: how long to wait for the tree to empty */

struct pidvec {
	pid_t *v;
	size_t n, cap;
};

/* Visit dir and every descendant cgroup directory: pre() before the
 * children, post() after. path is a PATH_MAX buffer holding dir; it is
 * extended and restored in place. A vanished directory is skipped. */
typedef int (*visit_fn)(const char *dir, void *arg);

static int walk(char *path, visit_fn pre, visit_fn post, void *arg, int depth)
{
	if (depth > 64)
		return 0;
	if (pre && pre(path, arg) < 0)
		return -1;
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	size_t len = strlen(path);
	int ret = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (de->d_type != DT_DIR) {
			struct stat st;
			if (de->d_type != DT_UNKNOWN ||
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
		}
		if (len + 1 + strlen(de->d_name) >= PATH_MAX) {
			errno = ENAMETOOLONG;
			ret = -1;
			break;
		}
		path[len] = '/';
		strcpy(path + len + 1, de->d_name);
		int r = walk(path, pre, post, arg, depth + 1);
		path[len] = 0;
		if (r < 0) {
			ret = -1;
			break;
		}
	}
	int err = errno;
	closedir(d);
	errno = err;
	if (ret == 0 && post && post(path, arg) < 0)
		return -1;
	return ret;
}

struct collect {
	struct pidvec *pv;
	int sig;	 /* when the vector cannot grow: signal directly */
	int direct;	 /* processes signalled directly */
	bool any;	 /* a non-empty cgroup.procs was seen */
	bool stop_first; /* emptiness test: stop at the first process */
};

static int collect_pre(const char *dir, void *arg)
{
	struct collect *c = arg;
	char p[PATH_MAX];
	if (cg_pathf(p, sizeof p, "%s/cgroup.procs", dir) < 0)
		return 0;
	_cleanup_free_ char *txt = NULL;
	if (cg_read_str(p, &txt) < 0)
		return 0; /* vanished, or not readable: nothing to do here */
	for (char *s = txt; *s;) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		s = end;
		while (*s == '\n')
			s++;
		if (v <= 0)
			continue;
		c->any = true;
		if (c->stop_first) {
			errno = EEXIST;
			return -1;
		}
		if (!c->pv)
			continue;
		struct pidvec *pv = c->pv;
		if (pv->n == pv->cap) {
			size_t ncap = pv->cap ? pv->cap * 2 : 64;
			pid_t *nv = realloc(pv->v, ncap * sizeof *nv);
			if (!nv) {
				/* No memory to de-duplicate: signal now. */
				if ((pid_t)v != getpid() && kill((pid_t)v, c->sig) == 0)
					c->direct++;
				continue;
			}
			pv->v = nv;
			pv->cap = ncap;
		}
		pv->v[pv->n++] = (pid_t)v;
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

/* Collect the processes of all trees, then signal each once. */
int cg_kill_trees(char *const *dirs, size_t n, int sig)
{
	struct pidvec pv = { 0 };
	struct collect c = { .pv = &pv, .sig = sig };
	char path[PATH_MAX];
	for (size_t i = 0; i < n; i++) {
		if (!dirs[i] || strlen(dirs[i]) >= sizeof path)
			continue;
		strcpy(path, dirs[i]);
		walk(path, collect_pre, NULL, &c, 0);
	}
	int count = c.direct;
	if (pv.n) {
		qsort(pv.v, pv.n, sizeof *pv.v, cmp_pid);
		pid_t self = getpid();
		for (size_t i = 0; i < pv.n; i++) {
			if ((i && pv.v[i] == pv.v[i - 1]) || pv.v[i] == self)
				continue;
			if (kill(pv.v[i], sig) == 0)
				count++;
		}
	}
	free(pv.v);
	return count;
}

/* Is the tree at dir free of processes? v2: cgroup.events covers the whole
 * subtree; v1: every cgroup.procs of the tree is read. */
bool cg_tree_empty(const char *dir, bool v2)
{
	char path[PATH_MAX];
	if (v2) {
		_cleanup_free_ char *ev = NULL;
		if (cg_pathf(path, sizeof path, "%s/cgroup.events", dir) == 0 &&
		    cg_read_str(path, &ev) == 0) {
			char *p = strstr(ev, "populated ");
			if (p)
				return p[10] == '0';
		}
	}
	if (strlen(dir) >= sizeof path)
		return true;
	strcpy(path, dir);
	struct collect c = { .stop_first = true };
	walk(path, collect_pre, NULL, &c, 0);
	return !c.any;
}

/* Does the tree at dir list pid in any cgroup.procs? */
bool cg_tree_has_pid(const char *dir, pid_t pid)
{
	char tmp[PATH_MAX];
	if (strlen(dir) >= sizeof tmp)
		return false;
	strcpy(tmp, dir);
	struct pidvec pv = { 0 };
	struct collect c = { .pv = &pv, .sig = 0 };
	walk(tmp, collect_pre, NULL, &c, 0);
	bool found = false;
	for (size_t i = 0; i < pv.n; i++)
		if (pv.v[i] == pid)
			found = true;
	free(pv.v);
	return found;
}

static int rmdir_post(const char *dir, void *arg)
{
	int *first_err = arg;
	if (rmdir(dir) < 0 && errno != ENOENT && !*first_err)
		*first_err = errno;
	return 0;
}

/* Remove dir and its descendants bottom-up. keep_top: leave dir itself.
 * Returns 0 or the first errno seen (ENOENT is success). */
int cg_remove_dirs(const char *dir, bool keep_top)
{
	char path[PATH_MAX];
	if (strlen(dir) >= sizeof path)
		return ENAMETOOLONG;
	strcpy(path, dir);
	int err = 0;
	if (keep_top) {
		/* Remove the children only: walk each subdirectory. */
		_cleanup_dir_ DIR *d = opendir(path);
		if (!d)
			return errno == ENOENT ? 0 : errno;
		size_t len = strlen(path);
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (len + 1 + strlen(de->d_name) >= sizeof path)
				continue;
			path[len] = '/';
			strcpy(path + len + 1, de->d_name);
			walk(path, NULL, rmdir_post, &err, 0);
			path[len] = 0;
		}
		return err;
	}
	if (walk(path, NULL, rmdir_post, &err, 0) < 0 && !err)
		err = errno;
	return err;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Kill every process in the trees and wait (bounded) until they are gone. */
static bool empty_all(char *const *dirs, const bool *v2, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dirs[i] && !cg_tree_empty(dirs[i], v2[i]))
			return false;
	return true;
}

bool cg_kill_and_wait(char *const *dirs, const bool *v2, size_t n)
{
	if (empty_all(dirs, v2, n))
		return true;
	unsigned long long start = now_ns(), last_kill = 0;
	long pause_us = 100;
	for (;;) {
		unsigned long long t = now_ns();
		if (!last_kill || t - last_kill > 100000000ull) {
			/* cgroup.kill where there is one (atomic, fork-proof), then
			 * the procs scan for everything else. */
			for (size_t i = 0; i < n; i++) {
				char p[PATH_MAX];
				if (dirs[i] && v2[i] &&
				    cg_pathf(p, sizeof p, "%s/cgroup.kill", dirs[i]) == 0)
					cg_write_str(p, "1");
			}
			cg_kill_trees(dirs, n, SIGKILL);
			last_kill = t;
		}
		/* Processes leave cgroup.procs as they exit, usually within a
		 * millisecond: poll fast first, then back off to 10 ms. */
		sleep_us(pause_us);
		if (pause_us < 10000)
			pause_us *= 2;
		if (empty_all(dirs, v2, n))
			return true;
		if (now_ns() - start > WAIT_EMPTY_NS)
			return false;
	}
}

/* A frozen task ignores SIGKILL on v1 (and a frozen spawner answers no
 * request): whatever the box froze in its own subtree is thawed from the
 * host before it is killed. Every level, as a cgroup the box froze itself
 * stays frozen when only its parent is thawed. */
static int thaw_one(const char *dir, void *arg)
{
	const bool *v2 = arg;
	char p[PATH_MAX];
	if (cg_pathf(p, sizeof p, *v2 ? "%s/cgroup.freeze" : "%s/freezer.state", dir) == 0)
		(void)cg_write_str(p, *v2 ? "0" : "THAWED");
	return 0;
}

void cg_box_thaw(const struct cg_box *cg)
{
	for (size_t i = 0; cg && i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		bool v2 = h->v2;
		if (!h->path || (!v2 && !cg_has_token(h->options, "freezer")))
			continue;
		char path[PATH_MAX];
		if (strlen(h->path) < sizeof path) {
			strcpy(path, h->path);
			(void)walk(path, thaw_one, NULL, &v2, 0);
		}
	}
}

int cg_box_procs(const struct cg_box *cg, pid_t **out, size_t *n)
{
	struct pidvec pv = { 0 };
	struct collect c = { .pv = &pv, .sig = 0 };
	char path[PATH_MAX];
	/* Every process of the box is in every hierarchy: one walk is enough. */
	if (!cg->n_hier || !cg->hier[0].path || strlen(cg->hier[0].path) >= sizeof path)
		return -1;
	strcpy(path, cg->hier[0].path);
	walk(path, collect_pre, NULL, &c, 0);
	if (pv.n)
		qsort(pv.v, pv.n, sizeof *pv.v, cmp_pid);
	size_t k = 0;
	for (size_t i = 0; i < pv.n; i++)
		if (!k || pv.v[k - 1] != pv.v[i])
			pv.v[k++] = pv.v[i];
	*out = pv.v;
	*n = k;
	return 0;
}
