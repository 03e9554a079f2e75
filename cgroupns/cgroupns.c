/* cgroupns: the box's cgroup on the host and the cgroup tree inside the box.
 * See cgroupns.h for the contract and docs/CGROUPS.md for the operator's
 * view. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/cgroupns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

/* devbpf.c (internal to this module). */
int cg_devbpf_load(const struct cg_dev_rule *rules, size_t n, struct perr *e);
int cg_devbpf_attach(int cgroup_fd, int prog_fd, struct perr *e);
int cg_devbpf_detach(int cgroup_fd, int prog_fd, struct perr *e);
int cg_devbpf_detach_all(int cgroup_fd, struct perr *e);

#define CG_ROOT "/sys/fs/cgroup"
#define CG_BASE "planet"	   /* box parent when the supervisor sits at "/" */
#define CG_SUPERVISOR "supervisor" /* v2 leaf the supervisor moves itself into */
#define CG_FILE_MAX (1u << 20)
#define WAIT_EMPTY_NS 1000000000ull /* destroy: how long to wait for the tree to empty */

/* ---- small helpers ------------------------------------------------------ */

static int pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Write a short string to an existing (cgroup control) file. -1 + errno. */
static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(s);
	ssize_t n;
	do
		n = write(fd, s, len);
	while (n < 0 && errno == EINTR);
	int err = errno;
	close(fd);
	if (n < 0) {
		errno = err;
		return -1;
	}
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static int read_str(const char *path, char **out)
{
	return read_file_at(AT_FDCWD, path, CG_FILE_MAX, out, NULL, NULL);
}

static bool has_token(const char *list, const char *tok)
{
	size_t tl = strlen(tok);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == tl && strncmp(p, tok, l) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

static size_t count_tokens(const char *list)
{
	size_t n = 0;
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		n++;
		p = c ? c + 1 : NULL;
	}
	return n;
}

/* Same set of comma-separated tokens (no duplicates in kernel lists). */
static bool same_token_set(const char *a, const char *b)
{
	if (count_tokens(a) != count_tokens(b))
		return false;
	for (const char *p = a; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		char tok[256];
		if (l >= sizeof tok)
			return false;
		memcpy(tok, p, l);
		tok[l] = 0;
		if (!has_token(b, tok))
			return false;
		p = c ? c + 1 : NULL;
	}
	return true;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- /proc/self/mountinfo ----------------------------------------------- */

struct mnt {
	int id, parent;
	char *dev, *root, *mountpoint, *mntopts, *fstype, *superopts;
	bool hidden;
};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
}

static void mounts_free(struct mnt *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].dev);
		free(m[i].root);
		free(m[i].mountpoint);
		free(m[i].mntopts);
		free(m[i].fstype);
		free(m[i].superopts);
	}
	free(m);
}

static bool path_under(const char *p, const char *dir)
{
	if (strcmp(dir, "/") == 0)
		return true;
	size_t l = strlen(dir);
	return strncmp(p, dir, l) == 0 && (p[l] == '/' || p[l] == 0);
}

/* Read every mount; mark those hidden by a later mount on the same path or
 * on a parent path (unless they sit on top of that later mount). */
static int mounts_read(struct mnt **out, size_t *nout, struct perr *e)
{
	_cleanup_free_ char *buf = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16u << 20, &buf, NULL, e) < 0)
		return -1;
	size_t cap = 64, n = 0;
	struct mnt *m = calloc(cap, sizeof *m);
	if (!m)
		return perr_set(e, ENOMEM, "read mountinfo");
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[12] = { 0 }, *sv = NULL;
		size_t nf = 0;
		bool after_sep = false;
		/* id parent maj:min root mountpoint mntopts [optional...] - fstype source superopts */
		for (char *t = strtok_r(line, " ", &sv); t; t = strtok_r(NULL, " ", &sv)) {
			if (nf < 6) {
				f[nf++] = t;
			} else if (!after_sep) {
				if (strcmp(t, "-") == 0)
					after_sep = true;
			} else if (nf < 9) {
				f[nf++] = t;
			}
		}
		if (nf < 9)
			continue;
		if (n == cap) {
			struct mnt *nm = realloc(m, cap * 2 * sizeof *m);
			if (!nm) {
				mounts_free(m, n);
				return perr_set(e, ENOMEM, "read mountinfo");
			}
			m = nm;
			cap *= 2;
		}
		struct mnt *x = &m[n];
		memset(x, 0, sizeof *x);
		x->id = atoi(f[0]);
		x->parent = atoi(f[1]);
		x->dev = strdup(f[2]);
		x->root = strdup(f[3]);
		x->mountpoint = strdup(f[4]);
		x->mntopts = strdup(f[5]);
		x->fstype = strdup(f[6]);
		x->superopts = strdup(f[8]);
		n++;
		if (!x->dev || !x->root || !x->mountpoint || !x->mntopts || !x->fstype ||
		    !x->superopts) {
			mounts_free(m, n);
			return perr_set(e, ENOMEM, "read mountinfo");
		}
		unescape(x->root);
		unescape(x->mountpoint);
	}
	/* Only cgroup mounts need this (n^2): hosts can have thousands of mounts. */
	for (size_t i = 0; i < n; i++) {
		if (strncmp(m[i].fstype, "cgroup", 6) != 0)
			continue;
		for (size_t j = i + 1; j < n && !m[i].hidden; j++) {
			if (!path_under(m[i].mountpoint, m[j].mountpoint))
				continue;
			/* Is i mounted on top of j (a descendant of it)? */
			bool desc = false;
			int p = m[i].parent;
			for (size_t guard = 0; guard < n && !desc; guard++) {
				if (p == m[j].id) {
					desc = true;
					break;
				}
				size_t k;
				for (k = 0; k < n && m[k].id != p; k++)
					;
				if (k == n || m[k].parent == p)
					break;
				p = m[k].parent;
			}
			if (!desc)
				m[i].hidden = true;
		}
	}
	*out = m;
	*nout = n;
	return 0;
}

static bool is_mountpoint(const struct mnt *m, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!m[i].hidden && strcmp(m[i].mountpoint, path) == 0)
			return true;
	return false;
}

/* The hierarchy-defining part of v1 super options: controllers and name=,
 * without rw/ro and behaviour flags. */
static char *v1_options(const char *superopts)
{
	static const char *const flags[] = { "rw", "ro", "noprefix", "clone_children", "xattr",
					     "cpuset_v2_mode", "favordynmods", "none" };
	size_t len = strlen(superopts);
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	out[0] = 0;
	size_t w = 0;
	for (const char *p = superopts; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		bool skip = l == 0 || (l > 14 && strncmp(p, "release_agent=", 14) == 0);
		for (size_t i = 0; !skip && i < sizeof flags / sizeof flags[0]; i++)
			if (strlen(flags[i]) == l && strncmp(p, flags[i], l) == 0)
				skip = true;
		if (!skip) {
			if (w)
				out[w++] = ',';
			memcpy(out + w, p, l);
			w += l;
			out[w] = 0;
		}
		p = c ? c + 1 : NULL;
	}
	return out;
}

struct hinfo {
	char *mountpoint, *options, *root;
	bool v2, ro, preferred;
	size_t mnt_index;
};

static void hinfo_free(struct hinfo *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].mountpoint);
		free(h[i].options);
		free(h[i].root);
	}
}

/* The hierarchies that matter: one entry per hierarchy (a hierarchy mounted
 * twice is taken once, preferring /sys/fs/cgroup), and the layout. In the
 * unified layout only the cgroup2 hierarchy is returned. */
static int hier_scan(struct hinfo *h, size_t *nh, enum cg_layout *layout, struct perr *e)
{
	struct mnt *m = NULL;
	size_t n = 0, k = 0;
	if (mounts_read(&m, &n, e) < 0)
		return -1;
	int v2 = -1, v2score = -1;
	bool v2_at_root = false;
	for (size_t i = 0; i < n; i++) {
		if (m[i].hidden || strcmp(m[i].fstype, "cgroup2") != 0)
			continue;
		int score = strcmp(m[i].mountpoint, CG_ROOT) == 0		 ? 3
			    : strcmp(m[i].mountpoint, CG_ROOT "/unified") == 0 ? 2
			    : path_under(m[i].mountpoint, CG_ROOT)	 ? 1
									 : 0;
		if (score == 3)
			v2_at_root = true;
		if (score > v2score) {
			v2 = (int)i;
			v2score = score;
		}
	}
	bool any_v1 = false;
	int ret = -1;
	if (!v2_at_root) {
		for (size_t i = 0; i < n; i++) {
			if (m[i].hidden || strcmp(m[i].fstype, "cgroup") != 0)
				continue;
			bool pref = path_under(m[i].mountpoint, CG_ROOT);
			size_t j;
			for (j = 0; j < k; j++)
				if (!h[j].v2 && strcmp(m[h[j].mnt_index].dev, m[i].dev) == 0)
					break;
			if (j < k) { /* same hierarchy mounted again */
				if (h[j].preferred || !pref)
					continue;
				free(h[j].mountpoint);
				free(h[j].options);
				free(h[j].root);
				memset(&h[j], 0, sizeof h[j]);
			} else if (k == CG_MAX_HIER - 1) {
				perr_set(e, E2BIG, "more than %d cgroup hierarchies", CG_MAX_HIER);
				goto out;
			} else {
				j = k++;
			}
			any_v1 = true;
			h[j].mnt_index = i;
			h[j].preferred = pref;
			h[j].ro = strncmp(m[i].mntopts, "ro", 2) == 0 &&
				  (m[i].mntopts[2] == ',' || m[i].mntopts[2] == 0);
			h[j].mountpoint = strdup(m[i].mountpoint);
			h[j].options = v1_options(m[i].superopts);
			h[j].root = strdup(m[i].root);
			if (!h[j].mountpoint || !h[j].options || !h[j].root) {
				perr_set(e, ENOMEM, "cgroup hierarchies");
				goto out;
			}
		}
	}
	if (v2 >= 0) {
		h[k].mnt_index = (size_t)v2;
		h[k].v2 = true;
		h[k].ro = strncmp(m[v2].mntopts, "ro", 2) == 0 &&
			  (m[v2].mntopts[2] == ',' || m[v2].mntopts[2] == 0);
		h[k].mountpoint = strdup(m[v2].mountpoint);
		h[k].options = strdup("");
		h[k].root = strdup(m[v2].root);
		k++;
		if (!h[k - 1].mountpoint || !h[k - 1].options || !h[k - 1].root) {
			perr_set(e, ENOMEM, "cgroup hierarchies");
			goto out;
		}
	}
	if (k == 0) {
		perr_set(e, ENOENT, "no cgroup filesystem is mounted (see /proc/self/mountinfo)");
		goto out;
	}
	*layout = v2_at_root || !any_v1 ? CG_UNIFIED : v2 >= 0 ? CG_HYBRID : CG_LEGACY;
	ret = 0;
out:
	if (ret < 0) {
		hinfo_free(h, k);
		k = 0;
	}
	*nh = k;
	mounts_free(m, n);
	return ret;
}

int cg_detect(enum cg_layout *layout, struct perr *e)
{
	struct hinfo h[CG_MAX_HIER];
	size_t n = 0;
	memset(h, 0, sizeof h);
	if (hier_scan(h, &n, layout, e) < 0)
		return perr_wrap(e, "detect cgroup layout");
	hinfo_free(h, n);
	return 0;
}

/* ---- /proc/<pid>/cgroup ------------------------------------------------- */

/* Find the line of a hierarchy: ctrls == NULL means the v2 line ("0::"),
 * otherwise a v1 line whose controller set equals ctrls (exact) or, when
 * `contains`, lists ctrls among its controllers. */
static int proc_cgroup_find(const char *procfile, const char *ctrls, bool contains, char *buf,
			    size_t len, struct perr *e)
{
	_cleanup_free_ char *txt = NULL;
	if (read_file_at(AT_FDCWD, procfile, CG_FILE_MAX, &txt, NULL, e) < 0)
		return -1;
	char *save = NULL;
	for (char *line = strtok_r(txt, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		const char *list = c1 + 1, *path = c2 + 1;
		bool match;
		if (!ctrls)
			match = strncmp(line, "0:", 2) == 0 && !*list;
		else if (!*list)
			match = false;
		else
			match = contains ? has_token(list, ctrls) : same_token_set(list, ctrls);
		if (!match)
			continue;
		if (strlen(path) >= len)
			return perr_set(e, ENAMETOOLONG, "%s: cgroup path too long", procfile);
		strcpy(buf, path);
		return 0;
	}
	return perr_set(e, ENOENT, "%s: no %s%s hierarchy", procfile, ctrls ? ctrls : "cgroup2",
			ctrls ? "" : " (0::)");
}

int cg_pid_path(pid_t pid, const char *controller, char *buf, size_t len, struct perr *e)
{
	char proc[64];
	if (pid > 0)
		snprintf(proc, sizeof proc, "/proc/%d/cgroup", (int)pid);
	else
		snprintf(proc, sizeof proc, "/proc/self/cgroup");
	if (controller && *controller)
		return proc_cgroup_find(proc, controller, true, buf, len, e);
	if (controller) /* "": the cgroup2 line */
		return proc_cgroup_find(proc, NULL, false, buf, len, e);
	/* NULL: name=systemd where it exists (legacy/hybrid), else cgroup2. */
	if (proc_cgroup_find(proc, "name=systemd", true, buf, len, NULL) == 0)
		return 0;
	return proc_cgroup_find(proc, NULL, false, buf, len, e);
}

/* ---- walking a cgroup tree ---------------------------------------------- */

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
	if (pathf(p, sizeof p, "%s/cgroup.procs", dir) < 0)
		return 0;
	_cleanup_free_ char *txt = NULL;
	if (read_str(p, &txt) < 0)
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
static int kill_trees(char *const *dirs, size_t n, int sig)
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
static bool tree_empty(const char *dir, bool v2)
{
	char path[PATH_MAX];
	if (v2) {
		_cleanup_free_ char *ev = NULL;
		if (pathf(path, sizeof path, "%s/cgroup.events", dir) == 0 && read_str(path, &ev) == 0) {
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

static int rmdir_post(const char *dir, void *arg)
{
	int *first_err = arg;
	if (rmdir(dir) < 0 && errno != ENOENT && !*first_err)
		*first_err = errno;
	return 0;
}

/* Remove dir and its descendants bottom-up. keep_top: leave dir itself.
 * Returns 0 or the first errno seen (ENOENT is success). */
static int remove_dirs(const char *dir, bool keep_top)
{
	char path[PATH_MAX];
	if (strlen(dir) >= sizeof path)
		return ENAMETOOLONG;
	strcpy(path, dir);
	int err = 0;
	if (keep_top) {
		/* Remove the children only: walk each subdirectory. */
		DIR *d = opendir(path);
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
		closedir(d);
		return err;
	}
	if (walk(path, NULL, rmdir_post, &err, 0) < 0 && !err)
		err = errno;
	return err;
}

/* Kill every process in the trees and wait (bounded) until they are gone. */
static bool empty_all(char *const *dirs, const bool *v2, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dirs[i] && !tree_empty(dirs[i], v2[i]))
			return false;
	return true;
}

static bool kill_and_wait(char *const *dirs, const bool *v2, size_t n)
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
				    pathf(p, sizeof p, "%s/cgroup.kill", dirs[i]) == 0)
					write_str(p, "1");
			}
			kill_trees(dirs, n, SIGKILL);
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

/* ---- placement ---------------------------------------------------------- */

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
			if (pathf(p, sizeof p, "%s/%s", dir, files[i][v]) < 0)
				return perr_set(e, errno, "%s", dir);
			if (access(p, F_OK) < 0)
				continue; /* try the noprefix name */
			_cleanup_free_ char *cur = NULL, *par = NULL;
			if (read_str(p, &cur) < 0)
				return perr_set(e, errno, "read %s", p);
			if (cur[0] && cur[0] != '\n')
				break;
			char *slash = strrchr(dir, '/');
			if (!slash || pathf(pp, sizeof pp, "%.*s/%s", (int)(slash - dir), dir,
					    files[i][v]) < 0)
				return perr_set(e, EINVAL, "%s: no parent", dir);
			if (read_str(pp, &par) < 0)
				return perr_set(e, errno, "read %s", pp);
			if (write_str(p, par) < 0)
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
	if (pathf(p, sizeof p, "%s%s", mountpoint, rel) < 0)
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
	if (pathf(p, sizeof p, "%s/cgroup.controllers", dir) < 0 ||
	    pathf(sc, sizeof sc, "%s/cgroup.subtree_control", dir) < 0)
		return;
	_cleanup_free_ char *ctl = NULL;
	if (read_str(p, &ctl) < 0)
		return;
	char *save = NULL;
	for (char *t = strtok_r(ctl, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		char w[64];
		if (pathf(w, sizeof w, "+%s", t) == 0)
			write_str(sc, w);
	}
}

/* pure v2, supervisor not at the root: move ourselves into own/supervisor so
 * that own holds no process and may delegate controllers to the box. */
static int v2_vacate(const char *mountpoint, const char *own, struct perr *e)
{
	char dir[PATH_MAX], procs[PATH_MAX], pid[32];
	if (pathf(dir, sizeof dir, "%s%s/" CG_SUPERVISOR, mountpoint, own) < 0 ||
	    pathf(procs, sizeof procs, "%s/cgroup.procs", dir) < 0)
		return perr_set(e, ENAMETOOLONG, "%s%s", mountpoint, own);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return perr_set(e, errno, "mkdir %s", dir);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	if (write_str(procs, pid) < 0)
		return perr_set(e, errno, "move the supervisor into %s", dir);
	return 0;
}

static void cg_init(struct cg_box *cg)
{
	memset(cg, 0, sizeof *cg);
	cg->bpf_prog_fd = -1;
}

/* The box dir exists already (a crash left it): kill what is in it, remove
 * its sub-cgroups, and recreate it so no stale setting (device rules, BPF
 * programs, limits) survives. If it cannot be removed it is reused as is,
 * minus any attached device program. */
static int reuse_leftover(const char *dir, bool v2, bool cpuset, struct perr *e)
{
	char *dirs[1] = { (char *)dir };
	bool v2s[1] = { v2 };
	if (!kill_and_wait(dirs, v2s, 1))
		return perr_set(e, EBUSY, "leftover cgroup %s: processes survive SIGKILL", dir);
	int err = remove_dirs(dir, false);
	if (err == 0) {
		if (mkdir(dir, 0755) < 0)
			return perr_set(e, errno, "mkdir %s", dir);
		if (cpuset && cpuset_fill(dir, e) < 0)
			return -1;
		return 0;
	}
	err = remove_dirs(dir, true);
	if (err)
		return perr_set(e, err, "leftover cgroup %s: remove sub-cgroups", dir);
	if (v2) {
		_cleanup_fd_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return perr_set(e, errno, "open %s", dir);
		if (cg_devbpf_detach_all(fd, e) < 0)
			return perr_wrap(e, "leftover cgroup %s", dir);
	}
	return 0;
}

static int create_one(struct cg_box *cg, const struct hinfo *h, enum cg_layout layout,
		      const char *name, struct perr *e)
{
	char own[PATH_MAX];
	const char *ctl = h->v2 ? NULL : h->options;
	if (proc_cgroup_find("/proc/self/cgroup", ctl, false, own, sizeof own, e) < 0)
		return -1;
	/* A hierarchy mounted from a subdirectory shows that directory as its
	 * root: make own relative to the mount. */
	const char *rel = own;
	if (strcmp(h->root, "/") != 0) {
		if (!path_under(own, h->root))
			return perr_set(e, EXDEV, "%s: own cgroup %s is outside the mounted root %s",
					h->mountpoint, own, h->root);
		rel = own + strlen(h->root);
		if (!*rel)
			rel = "/";
	}
	if (strstr(rel, "/..") || strstr(rel, " (deleted)"))
		return perr_set(e, EXDEV, "%s: own cgroup %s is not visible here", h->mountpoint,
				own);

	char base[PATH_MAX];
	bool unified = h->v2 && layout == CG_UNIFIED;
	bool at_root = strcmp(rel, "/") == 0;
	if (at_root) {
		snprintf(base, sizeof base, "/" CG_BASE);
	} else {
		if (pathf(base, sizeof base, "%s", rel) < 0)
			return perr_set(e, errno, "%s", rel);
		size_t bl = strlen(base);
		while (bl > 1 && base[bl - 1] == '/')
			base[--bl] = 0;
		/* pure v2: a previous box of this supervisor already moved us
		 * into <own>/supervisor; own is its parent. */
		size_t sl = strlen("/" CG_SUPERVISOR);
		if (unified && bl > sl && strcmp(base + bl - sl, "/" CG_SUPERVISOR) == 0)
			base[bl - sl] = 0;
		else if (unified && v2_vacate(h->mountpoint, base, e) < 0)
			return -1;
	}
	bool cpuset = !h->v2 && has_token(h->options, "cpuset");

	char rel_box[PATH_MAX], dir[PATH_MAX];
	if (pathf(rel_box, sizeof rel_box, "%s/%s", base, name) < 0 ||
	    pathf(dir, sizeof dir, "%s%s", h->mountpoint, rel_box) < 0)
		return perr_set(e, ENAMETOOLONG, "cgroup path for %s", name);

	/* Allocate the record first: once the directory exists, a failure must
	 * still leave its path with us so the rollback can remove it. */
	struct cg_hier *x = &cg->hier[cg->n_hier];
	x->mountpoint = strdup(h->mountpoint);
	x->options = strdup(h->options);
	x->path = strdup(dir);
	x->v2 = h->v2;
	if (!x->mountpoint || !x->options || !x->path) {
		free(x->mountpoint);
		free(x->options);
		free(x->path);
		memset(x, 0, sizeof *x);
		return perr_set(e, ENOMEM, "cgroup %s", dir);
	}
	cg->n_hier++;

	/* Another box's destroy may rmdir the shared /planet between our
	 * mkdirs: retry a few times on ENOENT. */
	for (int attempt = 0;; attempt++) {
		if (mkdir_chain(h->mountpoint, base, cpuset, e) < 0)
			return -1;
		if (unified) {
			char bdir[PATH_MAX];
			if (pathf(bdir, sizeof bdir, "%s%s", h->mountpoint, base) == 0)
				enable_controllers(bdir);
		}
		if (mkdir(dir, 0755) == 0) {
			if (cpuset && cpuset_fill(dir, e) < 0)
				return -1;
			break;
		}
		if (errno == EEXIST) {
			if (reuse_leftover(dir, h->v2, cpuset, e) < 0)
				return -1;
			break;
		}
		if (errno != ENOENT || attempt >= 3)
			return perr_set(e, errno, "mkdir %s", dir);
	}
	return 0;
}

int cg_box_create(struct cg_box *cg, const char *name, struct perr *e)
{
	cg_init(cg);
	if (valid_name(name) < 0)
		return perr_set(e, EINVAL, "cgroup name \"%s\": want one path component",
				name ? name : "(null)");
	struct hinfo h[CG_MAX_HIER];
	size_t n = 0;
	memset(h, 0, sizeof h);
	if (hier_scan(h, &n, &cg->layout, e) < 0)
		return perr_wrap(e, "create cgroup %s", name);
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		/* A v1 controller hierarchy mounted read-only (as inside another
		 * planet box) cannot hold our cgroup: leave it out. */
		if (h[i].ro && !h[i].v2 && !has_token(h[i].options, "name=systemd"))
			continue;
		if (create_one(cg, &h[i], cg->layout, name, e) < 0) {
			perr_wrap(e, "create cgroup %s in %s", name, h[i].mountpoint);
			ret = -1;
			break;
		}
	}
	hinfo_free(h, n);
	if (ret == 0 && cg->n_hier == 0)
		ret = perr_set(e, EROFS, "create cgroup %s: every hierarchy is read-only", name);
	if (ret < 0) {
		cg_box_destroy(cg, NULL);
		cg_box_free(cg);
	}
	return ret;
}

int cg_box_attach(const struct cg_box *cg, pid_t pid, struct perr *e)
{
	char s[32];
	snprintf(s, sizeof s, "%d", (int)pid);
	for (size_t i = 0; i < cg->n_hier; i++) {
		char p[PATH_MAX];
		if (pathf(p, sizeof p, "%s/cgroup.procs", cg->hier[i].path) < 0 ||
		    write_str(p, s) < 0)
			return perr_set(e, errno, "move pid %d into %s", (int)pid, cg->hier[i].path);
	}
	return 0;
}

/* ---- devices ------------------------------------------------------------ */

static int check_rule(const struct cg_dev_rule *r, size_t i, struct perr *e)
{
	if (r->type != 'a' && r->type != 'b' && r->type != 'c')
		return perr_set(e, EINVAL, "device rule %zu: type '%c' (want a, b or c)", i,
				r->type);
	size_t al = strnlen(r->access, sizeof r->access);
	if (al == 0 || al == sizeof r->access)
		return perr_set(e, EINVAL, "device rule %zu: access must be 1-3 of rwm", i);
	for (size_t k = 0; k < al; k++)
		if (!strchr("rwm", r->access[k]))
			return perr_set(e, EINVAL, "device rule %zu: access \"%s\" (want rwm)", i,
					r->access);
	if (r->major < -1 || r->major > 0x7fffffffL || r->minor < -1 || r->minor > 0x7fffffffL)
		return perr_set(e, EINVAL, "device rule %zu: major/minor out of range", i);
	return 0;
}

static void fmt_num(char *buf, size_t len, long v)
{
	if (v < 0)
		snprintf(buf, len, "*");
	else
		snprintf(buf, len, "%ld", v);
}

int cg_box_set_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
		       struct perr *e)
{
	for (size_t i = 0; i < n; i++)
		if (check_rule(&rules[i], i, e) < 0)
			return -1;
	const struct cg_hier *v1 = NULL, *v2 = NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!cg->hier[i].v2 && has_token(cg->hier[i].options, "devices"))
			v1 = &cg->hier[i];
		else if (cg->hier[i].v2)
			v2 = &cg->hier[i];
	}
	if (v1) {
		/* The v1 controller is authoritative where it exists (legacy and
		 * hybrid): deny all, then the exceptions. "a" in devices.deny
		 * is refused (EINVAL) once the cgroup has children, so this runs
		 * before anything is started in the box. */
		char deny[PATH_MAX], allow[PATH_MAX];
		if (pathf(deny, sizeof deny, "%s/devices.deny", v1->path) < 0 ||
		    pathf(allow, sizeof allow, "%s/devices.allow", v1->path) < 0)
			return perr_set(e, ENAMETOOLONG, "%s", v1->path);
		if (write_str(deny, "a") < 0)
			return perr_set(e, errno, "write \"a\" to %s", deny);
		for (size_t i = 0; i < n; i++) {
			char line[96], ma[24], mi[24];
			if (rules[i].type == 'a') {
				snprintf(line, sizeof line, "a");
			} else {
				fmt_num(ma, sizeof ma, rules[i].major);
				fmt_num(mi, sizeof mi, rules[i].minor);
				snprintf(line, sizeof line, "%c %s:%s %.3s", rules[i].type, ma, mi,
					 rules[i].access);
			}
			if (write_str(allow, line) < 0)
				return perr_set(e, errno, "write \"%s\" to %s", line, allow);
		}
		return 0;
	}
	if (!v2)
		return perr_set(e, ENOTSUP,
				"no devices cgroup: neither a v1 devices hierarchy nor cgroup2 is "
				"mounted, devices cannot be restricted");
	_cleanup_fd_ int dfd = open(v2->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return perr_set(e, errno, "open %s", v2->path);
	_cleanup_fd_ int prog = cg_devbpf_load(rules, n, e);
	if (prog < 0)
		return perr_wrap(e, "%s", v2->path);
	if (cg_devbpf_attach(dfd, prog, e) < 0)
		return perr_wrap(e, "%s", v2->path);
	/* Replace a program we attached before; the new one was attached first
	 * so the box is never without a filter. */
	if (cg->bpf_prog_fd >= 0) {
		if (cg_devbpf_detach(dfd, cg->bpf_prog_fd, e) < 0) {
			int err = e ? e->errnum : errno;
			cg_devbpf_detach(dfd, prog, NULL);
			return perr_set(e, err, "%s: replace the device program", v2->path);
		}
		close(cg->bpf_prog_fd);
	}
	cg->bpf_prog_fd = take_fd(&prog);
	return 0;
}

/* ---- kill, empty, destroy ----------------------------------------------- */

int cg_box_kill(const struct cg_box *cg, int sig)
{
	char *dirs[CG_MAX_HIER];
	size_t n = 0;
	bool via_kill = false;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (cg->hier[i].v2 && sig == SIGKILL) {
			char p[PATH_MAX];
			if (pathf(p, sizeof p, "%s/cgroup.kill", cg->hier[i].path) == 0 &&
			    write_str(p, "1") == 0) {
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
	return kill_trees(dirs, n, sig);
}

bool cg_box_empty(const struct cg_box *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		if (!tree_empty(cg->hier[i].path, cg->hier[i].v2))
			return false;
	return true;
}

/* rmdir mountpoint/planet when the box lived in it and it is now empty. */
static void remove_base(const char *mountpoint, const char *path)
{
	char base[PATH_MAX];
	if (!mountpoint || !path || pathf(base, sizeof base, "%s/" CG_BASE, mountpoint) < 0)
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
	bool emptied = kill_and_wait(dirs, v2, cg->n_hier);
	if (cg->bpf_prog_fd >= 0) {
		/* The attachment dies with the cgroup; our reference goes now. */
		close(cg->bpf_prog_fd);
		cg->bpf_prog_fd = -1;
	}
	int ret = 0;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!cg->hier[i].path)
			continue;
		int err = remove_dirs(cg->hier[i].path, false);
		if (err && ret == 0)
			ret = perr_set(e, err, "remove cgroup %s%s", cg->hier[i].path,
				       emptied ? "" : " (processes survived SIGKILL for 1 s)");
		remove_base(cg->hier[i].mountpoint, cg->hier[i].path);
	}
	return ret;
}

void cg_box_free(struct cg_box *cg)
{
	if (!cg)
		return;
	if (cg->n_hier && cg->bpf_prog_fd >= 0)
		close(cg->bpf_prog_fd);
	for (size_t i = 0; i < cg->n_hier && i < CG_MAX_HIER; i++) {
		free(cg->hier[i].mountpoint);
		free(cg->hier[i].options);
		free(cg->hier[i].path);
	}
	cg_init(cg);
}

int cg_box_describe(const struct cg_box *cg, struct strbuf *out)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		if (sb_printf(out, "cgroup=%s\n", cg->hier[i].path) < 0)
			return -1;
	return 0;
}

int cg_remove_tree(const char *path, struct perr *e)
{
	if (!path || strncmp(path, CG_ROOT "/", sizeof CG_ROOT) != 0 || strstr(path, "..") ||
	    strstr(path, "/./") || strstr(path, "//") || strchr(path, '\n'))
		return perr_set(e, EINVAL, "refusing to remove cgroup \"%s\": not a plain path under "
				CG_ROOT "/", path ? path : "(null)");
	char dir[PATH_MAX];
	if (pathf(dir, sizeof dir, "%s", path) < 0)
		return perr_set(e, ENAMETOOLONG, "remove cgroup %s", path);
	size_t dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dir[--dl] = 0;
	struct stat st;
	if (lstat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0; /* already gone */
		return perr_set(e, errno, "remove cgroup %s", dir);
	}
	struct statfs sf;
	if (!S_ISDIR(st.st_mode) || statfs(dir, &sf) < 0 ||
	    (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC))
		return perr_set(e, EINVAL, "refusing to remove %s: not a cgroup directory", dir);
	bool v2 = sf.f_type == CGROUP2_SUPER_MAGIC;

	struct mnt *m = NULL;
	size_t nm = 0;
	if (mounts_read(&m, &nm, e) < 0)
		return perr_wrap(e, "remove cgroup %s", dir);
	bool root = is_mountpoint(m, nm, dir);
	char parent[PATH_MAX], grand[PATH_MAX];
	bool in_base = false;
	snprintf(parent, sizeof parent, "%s", dir);
	char *sl = strrchr(parent, '/');
	if (sl) {
		*sl = 0;
		snprintf(grand, sizeof grand, "%s", parent);
		char *sl2 = strrchr(grand, '/');
		if (sl2 && strcmp(sl2 + 1, CG_BASE) == 0) {
			*sl2 = 0;
			in_base = is_mountpoint(m, nm, grand);
		}
	}
	mounts_free(m, nm);
	if (root)
		return perr_set(e, EINVAL, "refusing to remove %s: it is a hierarchy root", dir);

	/* Never kill ourselves (a stale path that is an ancestor of ours). */
	char tmp[PATH_MAX];
	strcpy(tmp, dir);
	struct pidvec pv = { 0 };
	struct collect c = { .pv = &pv, .sig = 0 };
	walk(tmp, collect_pre, NULL, &c, 0);
	pid_t self = getpid();
	bool mine = false;
	for (size_t i = 0; i < pv.n; i++)
		if (pv.v[i] == self)
			mine = true;
	free(pv.v);
	if (mine)
		return perr_set(e, EBUSY, "refusing to remove %s: the supervisor itself is in it", dir);

	char *dirs[1] = { dir };
	bool emptied = kill_and_wait(dirs, &v2, 1);
	int err = remove_dirs(dir, false);
	if (err)
		return perr_set(e, err, "remove cgroup %s%s", dir,
				emptied ? "" : " (processes survived SIGKILL for 1 s)");
	if (in_base)
		rmdir(parent);
	return 0;
}

/* ---- the tree inside the box -------------------------------------------- */

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

	/* legacy/hybrid: a tmpfs holding one directory per hierarchy, as on
	 * the host; built writable, made read-only at the end. */
	_cleanup_fd_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return perr_set(e, errno, "fsopen tmpfs for /sys/fs/cgroup");
	if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return perr_set(e, errno, "create tmpfs for /sys/fs/cgroup");
	_cleanup_fd_ int top = fsmount(fs, FSMOUNT_CLOEXEC, base);
	if (top < 0)
		return perr_set(e, errno, "fsmount tmpfs for /sys/fs/cgroup");

	/* Directories and the controller symlinks first, while the detached
	 * tmpfs is still writable and private to us. */
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
	/* Attach the tmpfs at the target; `top` now names its root there. */
	if (move_mount(top, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return perr_set(e, errno, "mount tmpfs on %s", sysfs_cgroup_dir);

	for (size_t i = 0; i < cg->n_hier; i++) {
		char dn[256], what[300];
		const struct cg_hier *h = &cg->hier[i];
		if (h->v2) {
			/* hybrid: systemd keeps its own tree in cgroup2 and must
			 * write it. */
			if (mount_fs("cgroup2", "", base, top, "unified",
				     "cgroup2 at /sys/fs/cgroup/unified", e) < 0)
				return -1;
			continue;
		}
		v1_dirname(h->options, dn, sizeof dn);
		snprintf(what, sizeof what, "cgroup %s at /sys/fs/cgroup/%s", h->options, dn);
		if (has_token(h->options, "name=systemd")) {
			/* name=systemd: systemd inside creates its units' cgroups
			 * here, so it is writable (only the box's subtree is
			 * visible through the cgroup namespace). */
			if (mount_fs("cgroup", h->options, base, top, dn, what, e) < 0)
				return -1;
		} else {
			/* A controller hierarchy: visible for reading (stats,
			 * limits), read-only so the box cannot raise its own
			 * limits or move itself around. */
			if (mount_fs("cgroup", h->options, base | MOUNT_ATTR_RDONLY, top, dn, what,
				     e) < 0)
				return -1;
		}
	}
	/* Finally the tmpfs itself read-only: nothing may add or replace
	 * entries in /sys/fs/cgroup. */
	struct mount_attr ma = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(top, "", AT_EMPTY_PATH, &ma, sizeof ma) < 0)
		return perr_set(e, errno, "make /sys/fs/cgroup read-only");
	return 0;
}
