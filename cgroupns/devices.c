/* cgroupns: the box's device rules: the v1 devices controller here, the
 * cgroup2 BPF program through devbpf.c. */
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
#include <unistd.h>

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

/* The v1 controller is authoritative where it exists (legacy and hybrid):
 * deny all, then the exceptions. "a" in devices.deny is refused (EINVAL)
 * once the cgroup has children, so this runs before anything is started in
 * the box. */
static int set_v1(const struct cg_hier *v1, const struct cg_dev_rule *rules, size_t n,
		  struct perr *e)
{
	char deny[PATH_MAX], allow[PATH_MAX];
	if (cg_pathf(deny, sizeof deny, "%s/devices.deny", v1->path) < 0 ||
	    cg_pathf(allow, sizeof allow, "%s/devices.allow", v1->path) < 0)
		return perr_set(e, ENAMETOOLONG, "%s", v1->path);
	if (cg_write_str(deny, "a") < 0)
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
		if (cg_write_str(allow, line) < 0)
			return perr_set(e, errno, "write \"%s\" to %s", line, allow);
	}
	return 0;
}

/* cgroup2: a BPF program built from the rules, in place of the one we
 * attached before, if any (BPF_F_REPLACE: one step, never both or none). */
static int set_v2(struct cg_box *cg, const struct cg_hier *v2, const struct cg_dev_rule *rules,
		  size_t n, struct perr *e)
{
	_cleanup_fd_ int dfd = open(v2->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return perr_set(e, errno, "open %s", v2->path);
	_cleanup_fd_ int prog = cg_devbpf_load(rules, n, e);
	if (prog < 0)
		return perr_wrap(e, "%s", v2->path);
	if (cg_devbpf_attach(dfd, prog, cg->bpf_prog_fd, e) < 0)
		return perr_wrap(e, "%s", v2->path);
	if (cg->bpf_prog_fd >= 0)
		close(cg->bpf_prog_fd);
	cg->bpf_prog_fd = take_fd(&prog);
	return 0;
}

/* The hierarchy that governs devices: v1's controller where there is one,
 * else cgroup2 (h->v2 says which); NULL and e set when there is neither. */
static const struct cg_hier *devices_hier(const struct cg_box *cg, struct perr *e)
{
	const struct cg_hier *v2 = NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!cg->hier[i].v2 && cg_has_token(cg->hier[i].options, "devices"))
			return &cg->hier[i];
		if (cg->hier[i].v2)
			v2 = &cg->hier[i];
	}
	if (!v2)
		perr_set(e, ENOTSUP, "no devices cgroup: neither a v1 devices hierarchy nor cgroup2 "
				     "is mounted, devices cannot be restricted");
	return v2;
}

static int check_rules(const struct cg_dev_rule *rules, size_t n, struct perr *e)
{
	for (size_t i = 0; i < n; i++)
		if (check_rule(&rules[i], i, e) < 0)
			return -1;
	return 0;
}

/* The rule set in force, kept so that a live change can rebuild it. */
static int keep_rules(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n)
{
	struct cg_dev_rule *copy = NULL;
	if (n && !(copy = calloc(n, sizeof *copy)))
		return -1;
	if (n)
		memcpy(copy, rules, n * sizeof *copy);
	free(cg->dev_rules);
	cg->dev_rules = copy;
	cg->n_dev_rules = n;
	return 0;
}

int cg_box_set_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
		       struct perr *e)
{
	const struct cg_hier *h = check_rules(rules, n, e) < 0 ? NULL : devices_hier(cg, e);
	if (!h)
		return -1;
	if (keep_rules(cg, rules, n) < 0)
		return perr_set(e, ENOMEM, "device rules");
	return h->v2 ? set_v2(cg, h, rules, n, e) : set_v1(h, rules, n, e);
}

/* ---- live changes (planet device add / remove) ---------------------------- */

static bool same_rule(const struct cg_dev_rule *a, const struct cg_dev_rule *b)
{
	return a->type == b->type && a->major == b->major && a->minor == b->minor &&
	       strncmp(a->access, b->access, sizeof a->access) == 0;
}

static void rule_line(char *buf, size_t len, const struct cg_dev_rule *r, const char *access)
{
	char ma[24], mi[24];
	fmt_num(ma, sizeof ma, r->major);
	fmt_num(mi, sizeof mi, r->minor);
	snprintf(buf, len, "%c %s:%s %.3s", r->type, ma, mi, access);
}

static int v1_write(const struct cg_hier *v1, const char *file, const struct cg_dev_rule *r,
		    const char *access, struct perr *e)
{
	char path[PATH_MAX], line[96];
	if (cg_pathf(path, sizeof path, "%s/%s", v1->path, file) < 0)
		return perr_set(e, ENAMETOOLONG, "%s", v1->path);
	rule_line(line, sizeof line, r, access);
	if (cg_write_str(path, line) < 0)
		return perr_set(e, errno, "write \"%s\" to %s", line, path);
	return 0;
}

/* v1: a deny removes the exceptions of exactly that type:major:minor;
 * whatever the remaining set still grants for it is allowed again. */
static int v1_deny(const struct cg_hier *v1, const struct cg_dev_rule *r,
		   const struct cg_dev_rule *keep, size_t nkeep, struct perr *e)
{
	if (v1_write(v1, "devices.deny", r, "rwm", e) < 0)
		return -1;
	for (size_t i = 0; i < nkeep; i++)
		if (keep[i].type == r->type && keep[i].major == r->major &&
		    keep[i].minor == r->minor &&
		    v1_write(v1, "devices.allow", &keep[i], keep[i].access, e) < 0)
			return -1;
	return 0;
}

int cg_box_allow_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
			 struct perr *e)
{
	const struct cg_hier *h = check_rules(rules, n, e) < 0 ? NULL : devices_hier(cg, e);
	if (!h)
		return -1;
	size_t old = cg->n_dev_rules;
	_cleanup_free_ struct cg_dev_rule *all = calloc(old + n + 1, sizeof *all);
	if (!all)
		return perr_set(e, ENOMEM, "device rules");
	if (old)
		memcpy(all, cg->dev_rules, old * sizeof *all);
	memcpy(all + old, rules, n * sizeof *all);
	if (h->v2) {
		if (set_v2(cg, h, all, old + n, e) < 0)
			return -1;
	} else {
		for (size_t i = 0; i < n; i++)
			if (v1_write(h, "devices.allow", &rules[i], rules[i].access, e) < 0) {
				/* back to the set in force before this call */
				for (size_t k = 0; k < i; k++)
					(void)v1_deny(h, &rules[k], all, old, NULL);
				return -1;
			}
	}
	free(cg->dev_rules);
	cg->dev_rules = take_ptr(&all);
	cg->n_dev_rules = old + n;
	return 0;
}

int cg_box_deny_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
			struct perr *e)
{
	const struct cg_hier *h = check_rules(rules, n, e) < 0 ? NULL : devices_hier(cg, e);
	if (!h)
		return -1;
	size_t left = cg->n_dev_rules;
	_cleanup_free_ struct cg_dev_rule *keep = calloc(left + 1, sizeof *keep);
	if (!keep)
		return perr_set(e, ENOMEM, "device rules");
	if (left)
		memcpy(keep, cg->dev_rules, left * sizeof *keep);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < left && !same_rule(&keep[k], &rules[i]))
			k++;
		if (k == left)
			return perr_set(e, ENOENT, "device rule %zu is not in force", i);
		memmove(&keep[k], &keep[k + 1], (left - k - 1) * sizeof *keep);
		left--;
	}
	if (h->v2) {
		if (set_v2(cg, h, keep, left, e) < 0)
			return -1;
	} else {
		for (size_t i = 0; i < n; i++)
			if (v1_deny(h, &rules[i], keep, left, e) < 0)
				return -1;
	}
	free(cg->dev_rules);
	cg->dev_rules = take_ptr(&keep);
	cg->n_dev_rules = left;
	return 0;
}
