/* cgroupns: the box's resource limits, written to its cgroup on v1 and v2.
 *
 *   limit            cgroup v1                            cgroup v2
 *   memory_max       memory.limit_in_bytes                memory.max
 *   memory_high      memory.soft_limit_in_bytes           memory.high
 *   memory_swap_max  memory.memsw.limit_in_bytes          memory.swap.max
 *                    (= memory_max + swap: v1 counts both)
 *   cpus             cpu.cfs_quota_us, cpu.cfs_period_us  cpu.max "QUOTA PERIOD"
 *   cpu_weight       cpu.shares (2..262144, from 1..10000) cpu.weight
 *   cpuset_cpus      cpuset.cpus                          cpuset.cpus
 *   cpuset_mems      cpuset.mems                          cpuset.mems
 *   pids_max         pids.max                             pids.max
 *   io_weight        blkio.bfq.weight or blkio.weight     io.bfq.weight or io.weight
 *                    (10..1000, from 1..10000)            ("default N")
 *
 * A limit is written where its controller is: the v1 hierarchy that has
 * it, else the cgroup2 one (hybrid hosts have both). A limit whose
 * controller or file the host lacks is an error naming both, never a
 * silent skip. Only the box's own cgroup is written: what the system
 * inside does with its subtree (systemd's delegation) stays its own. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool cg_limits_any(const struct cg_limits *l)
{
	return l->memory_max != CG_UNSET || l->memory_high != CG_UNSET ||
	       l->memory_swap_max != CG_UNSET || l->cpu_quota_us != CG_UNSET || l->cpu_weight ||
	       l->cpuset_cpus[0] || l->cpuset_mems[0] || l->pids_max != CG_UNSET || l->io_weight;
}

/* The hierarchy that holds controller ctl for the box: a v1 one that has
 * it, else cgroup2 when its controllers file lists it. */
static const struct cg_hier *hier_for(const struct cg_box *cg, const char *ctl)
{
	const struct cg_hier *v2 = NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		if (!h->path)
			continue;
		if (!h->v2 && cg_has_token(h->options, ctl))
			return h;
		if (h->v2)
			v2 = h;
	}
	if (!v2)
		return NULL;
	char p[PATH_MAX];
	_cleanup_free_ char *list = NULL;
	if (cg_pathf(p, sizeof p, "%s/cgroup.controllers", v2->path) < 0 || cg_read_str(p, &list) < 0)
		return NULL;
	for (char *save = NULL, *t = strtok_r(list, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
		if (strcmp(t, ctl) == 0)
			return v2;
	return NULL;
}

static int write_file(const struct cg_hier *h, const char *file, const char *value, const char *key,
		      struct perr *e)
{
	char p[PATH_MAX];
	if (cg_pathf(p, sizeof p, "%s/%s", h->path, file) < 0)
		return perr_set(e, errno, "%s: %s", key, h->path);
	if (cg_write_str(p, value) < 0)
		return perr_set(e, errno, "%s: write \"%s\" to %s", key, value, p);
	return 0;
}

/* The first of files[] that exists below h (schedulers differ: bfq or
 * not), or NULL. */
static const char *first_file(const struct cg_hier *h, const char *const *files)
{
	for (; *files; files++) {
		char p[PATH_MAX];
		if (cg_pathf(p, sizeof p, "%s/%s", h->path, *files) == 0 && access(p, F_OK) == 0)
			return *files;
	}
	return NULL;
}

static void fmt_bytes(char *buf, size_t len, int64_t v, bool v2)
{
	if (v == CG_MAX)
		snprintf(buf, len, "%s", v2 ? "max" : "-1");
	else
		snprintf(buf, len, "%" PRId64, v);
}

static int need(const struct cg_box *cg, const char *ctl, const char *key,
		const struct cg_hier **h, struct perr *e)
{
	if (!(*h = hier_for(cg, ctl)))
		return perr_set(e, 0, "%s: this host gives the box no %s controller "
				"(neither a cgroup v1 hierarchy nor cgroup2 has it)", key, ctl);
	return 0;
}

static int set_memory(const struct cg_box *cg, const struct cg_limits *l, struct perr *e)
{
	const struct cg_hier *h;
	char v[32];
	if (l->memory_max == CG_UNSET && l->memory_high == CG_UNSET && l->memory_swap_max == CG_UNSET)
		return 0;
	if (need(cg, "memory", "memory_max", &h, e) < 0)
		return -1;
	if (h->v2) {
		static const struct { const char *file; size_t off; const char *key; } m[] = {
			{ "memory.max", offsetof(struct cg_limits, memory_max), "memory_max" },
			{ "memory.high", offsetof(struct cg_limits, memory_high), "memory_high" },
			{ "memory.swap.max", offsetof(struct cg_limits, memory_swap_max), "memory_swap_max" },
		};
		for (size_t i = 0; i < 3; i++) {
			int64_t x = *(const int64_t *)((const char *)l + m[i].off);
			if (x == CG_UNSET)
				continue;
			fmt_bytes(v, sizeof v, x, true);
			if (write_file(h, m[i].file, v, m[i].key, e) < 0)
				return -1;
		}
		return 0;
	}
	if (l->memory_high != CG_UNSET) {
		fmt_bytes(v, sizeof v, l->memory_high, false);
		if (write_file(h, "memory.soft_limit_in_bytes", v, "memory_high", e) < 0)
			return -1;
	}
	if (l->memory_swap_max == CG_UNSET) {
		if (l->memory_max == CG_UNSET)
			return 0;
		fmt_bytes(v, sizeof v, l->memory_max, false);
		return write_file(h, "memory.limit_in_bytes", v, "memory_max", e);
	}
	static const char *const memsw[] = { "memory.memsw.limit_in_bytes", NULL };
	if (!first_file(h, memsw))
		return perr_set(e, 0, "memory_swap_max: this kernel has no swap accounting "
				"(memory.memsw.limit_in_bytes; boot with swapaccount=1)");
	if (l->memory_max == CG_UNSET || l->memory_max == CG_MAX)
		return perr_set(e, 0, "memory_swap_max: on cgroup v1 it needs memory_max too "
				"(memory.memsw counts memory and swap together)");
	char sw[32];
	int64_t both = l->memory_swap_max == CG_MAX ? CG_MAX : l->memory_max + l->memory_swap_max;
	fmt_bytes(v, sizeof v, l->memory_max, false);
	fmt_bytes(sw, sizeof sw, both, false);
	/* memsw may never be below the memory limit: raise it first. */
	if (write_file(h, "memory.memsw.limit_in_bytes", sw, "memory_swap_max", e) < 0 &&
	    (write_file(h, "memory.limit_in_bytes", v, "memory_max", e) < 0 ||
	     write_file(h, "memory.memsw.limit_in_bytes", sw, "memory_swap_max", e) < 0))
		return -1;
	return write_file(h, "memory.limit_in_bytes", v, "memory_max", e);
}

static int set_cpu(const struct cg_box *cg, const struct cg_limits *l, struct perr *e)
{
	const struct cg_hier *h;
	char v[48];
	if (l->cpu_quota_us != CG_UNSET) {
		if (need(cg, "cpu", "cpus", &h, e) < 0)
			return -1;
		uint64_t period = l->cpu_period_us ? l->cpu_period_us : CG_CPU_PERIOD_US;
		if (h->v2) {
			if (l->cpu_quota_us == CG_MAX)
				snprintf(v, sizeof v, "max %" PRIu64, period);
			else
				snprintf(v, sizeof v, "%" PRId64 " %" PRIu64, l->cpu_quota_us, period);
			if (write_file(h, "cpu.max", v, "cpus", e) < 0)
				return -1;
		} else {
			snprintf(v, sizeof v, "%" PRIu64, period);
			if (write_file(h, "cpu.cfs_period_us", v, "cpus", e) < 0)
				return -1;
			fmt_bytes(v, sizeof v, l->cpu_quota_us, false);
			if (write_file(h, "cpu.cfs_quota_us", v, "cpus", e) < 0)
				return -1;
		}
	}
	if (l->cpu_weight) {
		if (need(cg, "cpu", "cpu_weight", &h, e) < 0)
			return -1;
		if (h->v2)
			snprintf(v, sizeof v, "%u", l->cpu_weight);
		else
			snprintf(v, sizeof v, "%" PRIu64, cg_weight_to_shares(l->cpu_weight));
		if (write_file(h, h->v2 ? "cpu.weight" : "cpu.shares", v, "cpu_weight", e) < 0)
			return -1;
	}
	return 0;
}

static int set_cpuset(const struct cg_box *cg, const struct cg_limits *l, struct perr *e)
{
	const struct cg_hier *h;
	if (l->cpuset_cpus[0] && (need(cg, "cpuset", "cpuset_cpus", &h, e) < 0 ||
				  write_file(h, "cpuset.cpus", l->cpuset_cpus, "cpuset_cpus", e) < 0))
		return -1;
	if (l->cpuset_mems[0] && (need(cg, "cpuset", "cpuset_mems", &h, e) < 0 ||
				  write_file(h, "cpuset.mems", l->cpuset_mems, "cpuset_mems", e) < 0))
		return -1;
	return 0;
}

static int set_pids_io(const struct cg_box *cg, const struct cg_limits *l, struct perr *e)
{
	const struct cg_hier *h;
	char v[48];
	if (l->pids_max != CG_UNSET) {
		if (need(cg, "pids", "pids_max", &h, e) < 0)
			return -1;
		fmt_bytes(v, sizeof v, l->pids_max, true); /* "max" on v1 too */
		if (write_file(h, "pids.max", v, "pids_max", e) < 0)
			return -1;
	}
	if (!l->io_weight)
		return 0;
	bool v1 = (h = hier_for(cg, "blkio")) != NULL;
	if (!v1 && need(cg, "io", "io_weight", &h, e) < 0)
		return -1;
	static const char *const f1[] = { "blkio.bfq.weight", "blkio.weight", NULL };
	static const char *const f2[] = { "io.bfq.weight", "io.weight", NULL };
	const char *file = first_file(h, v1 ? f1 : f2);
	if (!file)
		return perr_set(e, 0, "io_weight: %s has no weight file (%s): the host's block "
				"schedulers (bfq) do not support weights", h->path,
				v1 ? "blkio.bfq.weight, blkio.weight" : "io.bfq.weight, io.weight");
	if (v1)
		snprintf(v, sizeof v, "%" PRIu64, cg_weight_to_blkio(l->io_weight));
	else
		snprintf(v, sizeof v, "default %u", l->io_weight);
	return write_file(h, file, v, "io_weight", e);
}

int cg_box_set_limits(const struct cg_box *cg, const struct cg_limits *l, struct perr *e)
{
	if (set_memory(cg, l, e) < 0 || set_cpu(cg, l, e) < 0 || set_cpuset(cg, l, e) < 0 ||
	    set_pids_io(cg, l, e) < 0)
		return -1;
	return 0;
}

/* runc's conversions, so that a weight means the same on both layouts. */
uint64_t cg_weight_to_shares(unsigned w)
{
	return 2 + ((uint64_t)w - 1) * 262142 / 9999;
}

uint64_t cg_weight_to_blkio(unsigned w)
{
	return 10 + ((uint64_t)w - 1) * 990 / 9999;
}
