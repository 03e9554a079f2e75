/* cgroupns: what the box consumes, read from its cgroup (v1 and v2), and
 * freezing it (pause/resume). Cheap: a handful of small control files per
 * request, nothing cached, nothing polled between requests. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

/* The hierarchy with controller ctl: a v1 one, else cgroup2. */
static const struct cg_hier *find(const struct cg_box *cg, const char *ctl)
{
	const struct cg_hier *v2 = NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		if (h->path && !h->v2 && cg_has_token(h->options, ctl))
			return h;
		if (h->path && h->v2)
			v2 = h;
	}
	return v2;
}

/* A small control file into buf (NUL-terminated), one read() where it
 * fits: a cgroup file is a seq_file, which fills what it is given, so a
 * short read is its end. -1 when missing. */
static int read_small(const struct cg_hier *h, const char *file, char *buf, size_t len)
{
	char p[PATH_MAX];
	if (!h || cg_pathf(p, sizeof p, "%s/%s", h->path, file) < 0)
		return -1;
	_cleanup_fd_ int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n < len - 1) {
		size_t want = len - 1 - n;
		ssize_t r = read(fd, buf + n, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		n += (size_t)r;
		if ((size_t)r < want) /* the end (or r == 0) */
			break;
	}
	buf[n] = 0;
	return 0;
}

/* One number from a file (-1 when missing; "max" is CG_MAX). */
static int64_t num(const struct cg_hier *h, const char *file)
{
	char s[64];
	if (read_small(h, file, s, sizeof s) < 0)
		return -1;
	if (strncmp(s, "max", 3) == 0)
		return CG_MAX;
	char *end;
	long long v = strtoll(s, &end, 10);
	return end == s ? -1 : v;
}

/* "key value" lines (memory.stat, cpu.stat, memory.events), read once:
 * each of keys' values into out (-1 when absent or no file). */
static void keyed(const struct cg_hier *h, const char *file, const char *const *keys,
		  int64_t *const *out, size_t n)
{
	char s[8192];
	for (size_t i = 0; i < n; i++)
		*out[i] = -1;
	if (read_small(h, file, s, sizeof s) < 0)
		return;
	for (char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		for (size_t i = 0; i < n; i++) {
			size_t kl = strlen(keys[i]);
			if (strncmp(l, keys[i], kl) == 0 && l[kl] == ' ')
				*out[i] = strtoll(l + kl + 1, NULL, 10);
		}
}

static int64_t keyed1(const struct cg_hier *h, const char *file, const char *key)
{
	int64_t v = -1;
	int64_t *const out[] = { &v };
	keyed(h, file, &key, out, 1);
	return v;
}

static void cpu_stats(const struct cg_box *cg, struct cg_stats *s)
{
	const struct cg_hier *c = find(cg, "cpu"), *a = find(cg, "cpuacct");
	if (a && a->v2) {
		static const char *const k[] = { "usage_usec", "user_usec", "system_usec",
						  "throttled_usec", "nr_throttled" };
		int64_t *const out[] = { &s->cpu_usage_usec, &s->cpu_user_usec, &s->cpu_system_usec,
					 &s->cpu_throttled_usec, &s->cpu_throttled_count };
		keyed(a, "cpu.stat", k, out, 5);
		return;
	}
	long hz = sysconf(_SC_CLK_TCK);
	int64_t ns = num(a, "cpuacct.usage"), u = -1, y = -1, t = -1;
	s->cpu_usage_usec = ns < 0 ? -1 : ns / 1000;
	static const char *const ka[] = { "user", "system" };
	int64_t *const oa[] = { &u, &y };
	keyed(a, "cpuacct.stat", ka, oa, 2);
	s->cpu_user_usec = u < 0 ? -1 : u * 1000000 / hz;
	s->cpu_system_usec = y < 0 ? -1 : y * 1000000 / hz;
	static const char *const kc[] = { "throttled_time", "nr_throttled" };
	int64_t *const oc[] = { &t, &s->cpu_throttled_count };
	keyed(c, "cpu.stat", kc, oc, 2);
	s->cpu_throttled_usec = t < 0 ? -1 : t / 1000;
}

static void memory_stats(const struct cg_box *cg, struct cg_stats *s)
{
	const struct cg_hier *m = find(cg, "memory");
	if (m && m->v2) {
		s->memory_current = num(m, "memory.current");
		s->memory_peak = num(m, "memory.peak");
		s->memory_max = num(m, "memory.max");
		static const char *const k[] = { "anon", "file" };
		int64_t *const out[] = { &s->memory_anon, &s->memory_file };
		keyed(m, "memory.stat", k, out, 2);
		s->memory_swap = num(m, "memory.swap.current");
		s->memory_oom_kills = keyed1(m, "memory.events", "oom_kill");
		return;
	}
	s->memory_current = num(m, "memory.usage_in_bytes");
	s->memory_peak = num(m, "memory.max_usage_in_bytes");
	int64_t max = num(m, "memory.limit_in_bytes");
	/* v1 says "no limit" with a huge page-rounded number */
	s->memory_max = max >= (INT64_MAX / 4096) * 4096 / 2 ? CG_MAX : max;
	static const char *const k[] = { "total_rss", "total_cache", "total_swap" };
	int64_t *const out[] = { &s->memory_anon, &s->memory_file, &s->memory_swap };
	keyed(m, "memory.stat", k, out, 3);
	s->memory_oom_kills = keyed1(m, "memory.oom_control", "oom_kill");
}

/* cgroup2's memory.pressure: "some avg10=.. avg60=.. avg300=.. total=US"
 * and the same for "full"; on hybrid the unified hierarchy's dir has it. */
static void pressure_stats(const struct cg_box *cg, struct cg_stats *s)
{
	const struct cg_hier *v2 = NULL;
	char t[512];
	for (size_t i = 0; i < cg->n_hier && !v2; i++)
		if (cg->hier[i].path && cg->hier[i].v2)
			v2 = &cg->hier[i];
	s->memory_pressure_some_usec = s->memory_pressure_full_usec = -1;
	if (read_small(v2, "memory.pressure", t, sizeof t) < 0)
		return;
	for (char *l = t; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *total = strstr(l, " total="), *nl = strchr(l, '\n');
		if (!total || (nl && total > nl))
			continue;
		int64_t v = strtoll(total + 7, NULL, 10);
		if (strncmp(l, "some ", 5) == 0)
			s->memory_pressure_some_usec = v;
		else if (strncmp(l, "full ", 5) == 0)
			s->memory_pressure_full_usec = v;
	}
}

/* v1 blkio "MAJ:MIN Read N" lines, v2 io.stat "MAJ:MIN rbytes=N ..." */
static void io_stats(const struct cg_box *cg, struct cg_stats *s)
{
	const struct cg_hier *b = find(cg, "blkio");
	bool v2 = !b || b->v2;
	if (v2)
		b = find(cg, "io");
	s->io_read_bytes = s->io_write_bytes = s->io_read_ops = s->io_write_ops = 0;
	char p[PATH_MAX];
	const char *files[2] = { v2 ? "io.stat" : "blkio.throttle.io_service_bytes_recursive",
				 v2 ? NULL : "blkio.throttle.io_serviced_recursive" };
	for (int f = 0; f < 2 && files[f]; f++) {
		_cleanup_free_ char *t = NULL;
		if (!b || cg_pathf(p, sizeof p, "%s/%s", b->path, files[f]) < 0 ||
		    cg_read_str(p, &t) < 0)
			continue;
		for (char *save = NULL, *l = strtok_r(t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			unsigned long long v;
			char *q;
			if (v2) {
				if ((q = strstr(l, "rbytes=")))
					s->io_read_bytes += strtoll(q + 7, NULL, 10);
				if ((q = strstr(l, "wbytes=")))
					s->io_write_bytes += strtoll(q + 7, NULL, 10);
				if ((q = strstr(l, "rios=")))
					s->io_read_ops += strtoll(q + 5, NULL, 10);
				if ((q = strstr(l, "wios=")))
					s->io_write_ops += strtoll(q + 5, NULL, 10);
			} else if (sscanf(l, "%*u:%*u Read %llu", &v) == 1) {
				*(f ? &s->io_read_ops : &s->io_read_bytes) += (int64_t)v;
			} else if (sscanf(l, "%*u:%*u Write %llu", &v) == 1) {
				*(f ? &s->io_write_ops : &s->io_write_bytes) += (int64_t)v;
			}
		}
	}
}

void cg_box_stats(const struct cg_box *cg, struct cg_stats *s)
{
	cpu_stats(cg, s);
	memory_stats(cg, s);
	pressure_stats(cg, s);
	const struct cg_hier *p = find(cg, "pids");
	s->pids_current = num(p, "pids.current");
	s->pids_max = num(p, "pids.max");
	io_stats(cg, s);
}

/* ---- freezing -------------------------------------------------------------- */

static const struct cg_hier *freezer(const struct cg_box *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		if (h->path && !h->v2 && cg_has_token(h->options, "freezer"))
			return h;
	}
	for (size_t i = 0; i < cg->n_hier; i++)
		if (cg->hier[i].path && cg->hier[i].v2)
			return &cg->hier[i];
	return NULL;
}

int cg_box_freeze(const struct cg_box *cg, bool on, struct perr *e)
{
	const struct cg_hier *h = freezer(cg);
	char p[PATH_MAX];
	if (!h)
		return perr_set(e, 0, "this host has no cgroup freezer for the box");
	const char *file = h->v2 ? "cgroup.freeze" : "freezer.state";
	const char *v = h->v2 ? (on ? "1" : "0") : (on ? "FROZEN" : "THAWED");
	if (cg_pathf(p, sizeof p, "%s/%s", h->path, file) < 0 || cg_write_str(p, v) < 0)
		return perr_set(e, errno, "write %s to %s", v, p);
	return 0;
}

int cg_box_frozen(const struct cg_box *cg)
{
	const struct cg_hier *h = freezer(cg);
	char p[PATH_MAX];
	_cleanup_free_ char *s = NULL;
	if (!h)
		return -1;
	if (h->v2)
		return keyed1(h, "cgroup.events", "frozen") == 1;
	if (cg_pathf(p, sizeof p, "%s/freezer.state", h->path) < 0 || cg_read_str(p, &s) < 0)
		return -1;
	return strncmp(s, "FROZEN", 6) == 0;
}

/* ---- OOM kills --------------------------------------------------------------- */

int64_t cg_box_oom_kills(const struct cg_box *cg)
{
	const struct cg_hier *m = find(cg, "memory");
	if (m && m->v2)
		return keyed1(m, "memory.events", "oom_kill");
	return keyed1(m, "memory.oom_control", "oom_kill");
}

int cg_box_oom_watch(const struct cg_box *cg, bool *early, struct perr *e)
{
	const struct cg_hier *m = find(cg, "memory");
	char p[PATH_MAX];
	if (!m)
		return perr_set(e, 0, "no memory controller: OOM kills are not watched");
	*early = !m->v2;
	if (m->v2) {
		/* memory.events changes on every OOM kill (and on high/max) */
		_cleanup_fd_ int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (in < 0 || cg_pathf(p, sizeof p, "%s/memory.events", m->path) < 0 ||
		    inotify_add_watch(in, p, IN_MODIFY) < 0)
			return perr_set(e, errno, "watch %s", p);
		return take_fd(&in);
	}
	/* v1: an eventfd registered for memory.oom_control */
	_cleanup_fd_ int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	_cleanup_fd_ int ctl = -1;
	char line[64];
	if (efd < 0 || cg_pathf(p, sizeof p, "%s/memory.oom_control", m->path) < 0 ||
	    (ctl = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return perr_set(e, errno, "watch %s", p);
	snprintf(line, sizeof line, "%d %d", efd, ctl);
	if (cg_pathf(p, sizeof p, "%s/cgroup.event_control", m->path) < 0 || cg_write_str(p, line) < 0)
		return perr_set(e, errno, "register for OOM events in %s", p);
	return take_fd(&efd);
}

void cg_oom_watch_drain(int fd)
{
	char buf[4096];
	while (read(fd, buf, sizeof buf) > 0)
		;
}
