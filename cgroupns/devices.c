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

/* cgroup2: a BPF program built from the rules, replacing the one we
 * attached before, if any. */
static int set_v2(struct cg_box *cg, const struct cg_hier *v2, const struct cg_dev_rule *rules,
		  size_t n, struct perr *e)
{
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

int cg_box_set_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
		       struct perr *e)
{
	for (size_t i = 0; i < n; i++)
		if (check_rule(&rules[i], i, e) < 0)
			return -1;
	const struct cg_hier *v1 = NULL, *v2 = NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (!cg->hier[i].v2 && cg_has_token(cg->hier[i].options, "devices"))
			v1 = &cg->hier[i];
		else if (cg->hier[i].v2)
			v2 = &cg->hier[i];
	}
	if (v1)
		return set_v1(v1, rules, n, e);
	if (!v2)
		return perr_set(e, ENOTSUP,
				"no devices cgroup: neither a v1 devices hierarchy nor cgroup2 is "
				"mounted, devices cannot be restricted");
	return set_v2(cg, v2, rules, n, e);
}
