/* cgroupns: which cgroup hierarchies are mounted, and where (from
 * /proc/self/mountinfo), the layout they make, and which cgroup a process is
 * in (from /proc/<pid>/cgroup). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- /proc/self/mountinfo ----------------------------------------------- */

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

void cg_mounts_free(struct cg_mnt *m, size_t n)
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

bool cg_path_under(const char *p, const char *dir)
{
	if (strcmp(dir, "/") == 0)
		return true;
	size_t l = strlen(dir);
	return strncmp(p, dir, l) == 0 && (p[l] == '/' || p[l] == 0);
}

/* Split a mountinfo line into its 6 fields before the "-" separator and
 * the 3 after it; returns how many were found (9 for a good line). */
static size_t split_fields(char *line, char *f[9])
{
	char *sv = NULL;
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
	return nf;
}

/* Fill x from the fields; -1 when out of memory (x then needs freeing). */
static int fill_mount(struct cg_mnt *x, char *const f[9])
{
	memset(x, 0, sizeof *x);
	x->id = atoi(f[0]);
	x->parent = atoi(f[1]);
	x->dev = strdup(f[2]);
	x->root = strdup(f[3]);
	x->mountpoint = strdup(f[4]);
	x->mntopts = strdup(f[5]);
	x->fstype = strdup(f[6]);
	x->superopts = strdup(f[8]);
	if (!x->dev || !x->root || !x->mountpoint || !x->mntopts || !x->fstype || !x->superopts)
		return -1;
	unescape(x->root);
	unescape(x->mountpoint);
	return 0;
}

/* Is mount i mounted on top of mount j (a descendant of it)? */
static bool on_top_of(const struct cg_mnt *m, size_t n, size_t i, size_t j)
{
	int p = m[i].parent;
	for (size_t guard = 0; guard < n; guard++) {
		if (p == m[j].id)
			return true;
		size_t k;
		for (k = 0; k < n && m[k].id != p; k++)
			;
		if (k == n || m[k].parent == p)
			break;
		p = m[k].parent;
	}
	return false;
}

/* Mark the cgroup mounts hidden by a later mount on the same path or on a
 * parent path (unless they sit on top of that later mount). */
static void mark_hidden(struct cg_mnt *m, size_t n)
{
	/* Only cgroup mounts need this (n^2): hosts can have thousands of mounts. */
	for (size_t i = 0; i < n; i++) {
		if (strncmp(m[i].fstype, "cgroup", 6) != 0)
			continue;
		for (size_t j = i + 1; j < n && !m[i].hidden; j++) {
			if (!cg_path_under(m[i].mountpoint, m[j].mountpoint))
				continue;
			if (!on_top_of(m, n, i, j))
				m[i].hidden = true;
		}
	}
}

/* Read every mount; mark those hidden by a later mount on the same path or
 * on a parent path (unless they sit on top of that later mount). */
int cg_mounts_read(struct cg_mnt **out, size_t *nout, struct perr *e)
{
	_cleanup_free_ char *buf = NULL;
	if (read_file_at(AT_FDCWD, "/proc/self/mountinfo", 16u << 20, &buf, NULL, e) < 0)
		return -1;
	size_t cap = 64, n = 0;
	struct cg_mnt *m = calloc(cap, sizeof *m);
	if (!m)
		return perr_set(e, ENOMEM, "read mountinfo");
	char *save = NULL;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[9] = { 0 };
		if (split_fields(line, f) < 9)
			continue;
		if (n == cap) {
			struct cg_mnt *nm = realloc(m, cap * 2 * sizeof *m);
			if (!nm) {
				cg_mounts_free(m, n);
				return perr_set(e, ENOMEM, "read mountinfo");
			}
			m = nm;
			cap *= 2;
		}
		if (fill_mount(&m[n++], f) < 0) {
			cg_mounts_free(m, n);
			return perr_set(e, ENOMEM, "read mountinfo");
		}
	}
	mark_hidden(m, n);
	*out = m;
	*nout = n;
	return 0;
}

bool cg_is_mountpoint(const struct cg_mnt *m, size_t n, const char *path)
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

void cg_hinfo_free(struct cg_hinfo *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].mountpoint);
		free(h[i].options);
		free(h[i].root);
	}
}

static bool opts_ro(const char *mntopts)
{
	return strncmp(mntopts, "ro", 2) == 0 && (mntopts[2] == ',' || mntopts[2] == 0);
}

/* The cgroup2 mount to use: /sys/fs/cgroup, else /sys/fs/cgroup/unified,
 * else any under /sys/fs/cgroup, else any. -1 if none. */
static int pick_v2(const struct cg_mnt *m, size_t n, bool *at_root)
{
	int v2 = -1, v2score = -1;
	*at_root = false;
	for (size_t i = 0; i < n; i++) {
		if (m[i].hidden || strcmp(m[i].fstype, "cgroup2") != 0)
			continue;
		int score = strcmp(m[i].mountpoint, CG_ROOT) == 0		 ? 3
			    : strcmp(m[i].mountpoint, CG_ROOT "/unified") == 0 ? 2
			    : cg_path_under(m[i].mountpoint, CG_ROOT)	 ? 1
									 : 0;
		if (score == 3)
			*at_root = true;
		if (score > v2score) {
			v2 = (int)i;
			v2score = score;
		}
	}
	return v2;
}

/* Add the v1 hierarchies to h[*k...]. On failure, h[0..*k) holds what must
 * be freed. */
static int scan_v1(const struct cg_mnt *m, size_t n, struct cg_hinfo *h, size_t *k,
		   struct perr *e)
{
	for (size_t i = 0; i < n; i++) {
		if (m[i].hidden || strcmp(m[i].fstype, "cgroup") != 0)
			continue;
		bool pref = cg_path_under(m[i].mountpoint, CG_ROOT);
		size_t j;
		for (j = 0; j < *k; j++)
			if (!h[j].v2 && strcmp(m[h[j].mnt_index].dev, m[i].dev) == 0)
				break;
		if (j < *k) { /* same hierarchy mounted again */
			if (h[j].preferred || !pref)
				continue;
			free(h[j].mountpoint);
			free(h[j].options);
			free(h[j].root);
			memset(&h[j], 0, sizeof h[j]);
		} else if (*k == CG_MAX_HIER - 1) {
			return perr_set(e, E2BIG, "more than %d cgroup hierarchies", CG_MAX_HIER);
		} else {
			j = (*k)++;
		}
		h[j].mnt_index = i;
		h[j].preferred = pref;
		h[j].ro = opts_ro(m[i].mntopts);
		h[j].mountpoint = strdup(m[i].mountpoint);
		h[j].options = v1_options(m[i].superopts);
		h[j].root = strdup(m[i].root);
		if (!h[j].mountpoint || !h[j].options || !h[j].root)
			return perr_set(e, ENOMEM, "cgroup hierarchies");
	}
	return 0;
}

/* Add the cgroup2 mount m[v2] as h[*k]. */
static int add_v2(const struct cg_mnt *m, int v2, struct cg_hinfo *h, size_t *k,
		  struct perr *e)
{
	struct cg_hinfo *x = &h[(*k)++];
	x->mnt_index = (size_t)v2;
	x->v2 = true;
	x->ro = opts_ro(m[v2].mntopts);
	x->mountpoint = strdup(m[v2].mountpoint);
	x->options = strdup("");
	x->root = strdup(m[v2].root);
	if (!x->mountpoint || !x->options || !x->root)
		return perr_set(e, ENOMEM, "cgroup hierarchies");
	return 0;
}

/* The hierarchies that matter: one entry per hierarchy (a hierarchy mounted
 * twice is taken once, preferring /sys/fs/cgroup), and the layout. In the
 * unified layout only the cgroup2 hierarchy is returned. */
int cg_hier_scan(struct cg_hinfo *h, size_t *nh, enum cg_layout *layout, struct perr *e)
{
	struct cg_mnt *m = NULL;
	size_t n = 0, k = 0;
	if (cg_mounts_read(&m, &n, e) < 0)
		return -1;
	bool v2_at_root;
	int v2 = pick_v2(m, n, &v2_at_root);
	int ret = -1;
	if (!v2_at_root && scan_v1(m, n, h, &k, e) < 0)
		goto out;
	bool any_v1 = k > 0;
	if (v2 >= 0 && add_v2(m, v2, h, &k, e) < 0)
		goto out;
	if (k == 0) {
		perr_set(e, ENOENT, "no cgroup filesystem is mounted (see /proc/self/mountinfo)");
		goto out;
	}
	*layout = v2_at_root || !any_v1 ? CG_UNIFIED : v2 >= 0 ? CG_HYBRID : CG_LEGACY;
	ret = 0;
out:
	if (ret < 0) {
		cg_hinfo_free(h, k);
		k = 0;
	}
	*nh = k;
	cg_mounts_free(m, n);
	return ret;
}

int cg_detect(enum cg_layout *layout, struct perr *e)
{
	struct cg_hinfo h[CG_MAX_HIER];
	size_t n = 0;
	memset(h, 0, sizeof h);
	if (cg_hier_scan(h, &n, layout, e) < 0)
		return perr_wrap(e, "detect cgroup layout");
	cg_hinfo_free(h, n);
	return 0;
}

/* ---- /proc/<pid>/cgroup ------------------------------------------------- */

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
		if (!cg_has_token(b, tok))
			return false;
		p = c ? c + 1 : NULL;
	}
	return true;
}

/* Find the line of a hierarchy: ctrls == NULL means the v2 line ("0::"),
 * otherwise a v1 line whose controller set equals ctrls (exact) or, when
 * `contains`, lists ctrls among its controllers. */
int cg_proc_cgroup_find(const char *procfile, const char *ctrls, bool contains, char *buf,
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
			match = contains ? cg_has_token(list, ctrls) : same_token_set(list, ctrls);
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
		return cg_proc_cgroup_find(proc, controller, true, buf, len, e);
	if (controller) /* "": the cgroup2 line */
		return cg_proc_cgroup_find(proc, NULL, false, buf, len, e);
	/* NULL: name=systemd where it exists (legacy/hybrid), else cgroup2. */
	if (cg_proc_cgroup_find(proc, "name=systemd", true, buf, len, NULL) == 0)
		return 0;
	return cg_proc_cgroup_find(proc, NULL, false, buf, len, e);
}
