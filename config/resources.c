/* config: the [resources] keys (the box's cgroup limits) and their parsers.
 * The values land in box_config.limits; cgroupns/limits.c writes them. */
#include "config/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_max(const char *s)
{
	return strcmp(s, "max") == 0 || strcmp(s, "infinity") == 0;
}

int size_parse(const char *s, int64_t *out)
{
	if (is_max(s)) {
		*out = CG_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	double mul = 1;
	if (*end) {
		const char *u = "KMGT";
		const char *p = strchr(u, *end & ~0x20);
		if (!p)
			return -1;
		mul = (double)(1ull << (10 * (p - u + 1)));
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if ((*end & ~0x20) == 'B')
			end++;
	}
	if (*end)
		return -1;
	double bytes = v * mul;
	/* whole bytes only, and below "max" */
	if (bytes < 1 || bytes >= 9.2e18 || (mul == 1 && strchr(s, '.')))
		return -1;
	*out = (int64_t)bytes;
	return 0;
}

int cpus_parse(const char *s, int64_t *quota_us)
{
	if (is_max(s)) {
		*quota_us = CG_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || *s < '0' || *s > '9' || v <= 0 || v > 65536)
		return -1;
	/* The kernel takes 1 ms per period at least. */
	double q = v * CG_CPU_PERIOD_US;
	if (q < 1000)
		return -1;
	*quota_us = (int64_t)(q + 0.5);
	return 0;
}

bool cpu_list_valid(const char *s)
{
	if (!*s || strlen(s) >= sizeof ((struct cg_limits *)0)->cpuset_cpus)
		return false;
	while (*s) {
		char *end;
		if (*s < '0' || *s > '9')
			return false;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (*end == '-') {
			if (end[1] < '0' || end[1] > '9')
				return false;
			b = strtoul(end + 1, &end, 10);
		}
		if (b < a || b > 65535 || (*end && *end != ','))
			return false;
		s = *end ? end + 1 : end;
		if (*end && !*s)
			return false;
	}
	return true;
}

static int set_size(int64_t *field, const char *v, struct perr *e)
{
	if (size_parse(v, field) < 0)
		return config_bad(e, v, "expected a size: bytes, or with K, M, G or T (512K, 64M, "
				  "1.5G), or max");
	return 0;
}

int set_memory_max(struct box_config *c, const char *v, struct perr *e)
{
	return set_size(&c->limits.memory_max, v, e);
}

int set_memory_high(struct box_config *c, const char *v, struct perr *e)
{
	return set_size(&c->limits.memory_high, v, e);
}

int set_memory_swap_max(struct box_config *c, const char *v, struct perr *e)
{
	if (strcmp(v, "0") == 0) {
		c->limits.memory_swap_max = 0;
		return 0;
	}
	return set_size(&c->limits.memory_swap_max, v, e);
}

int set_cpus(struct box_config *c, const char *v, struct perr *e)
{
	if (cpus_parse(v, &c->limits.cpu_quota_us) < 0)
		return config_bad(e, v, "expected a number of CPUs above 0.01 (0.5, 2, 1.5), or max");
	return 0;
}

static int set_weight(unsigned *field, const char *v, struct perr *e)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v < '0' || *v > '9' || n < 1 || n > 10000)
		return config_bad(e, v, "expected a weight from 1 to 10000 (100 is the default)");
	*field = (unsigned)n;
	return 0;
}

int set_cpu_weight(struct box_config *c, const char *v, struct perr *e)
{
	return set_weight(&c->limits.cpu_weight, v, e);
}

int set_io_weight(struct box_config *c, const char *v, struct perr *e)
{
	return set_weight(&c->limits.io_weight, v, e);
}

static int set_list(char *field, size_t size, const char *v, struct perr *e)
{
	if (!cpu_list_valid(v))
		return config_bad(e, v, "expected a list of numbers and ranges (0-3,6)");
	snprintf(field, size, "%s", v);
	return 0;
}

int set_cpuset_cpus(struct box_config *c, const char *v, struct perr *e)
{
	return set_list(c->limits.cpuset_cpus, sizeof c->limits.cpuset_cpus, v, e);
}

int set_cpuset_mems(struct box_config *c, const char *v, struct perr *e)
{
	return set_list(c->limits.cpuset_mems, sizeof c->limits.cpuset_mems, v, e);
}

int set_pids_max(struct box_config *c, const char *v, struct perr *e)
{
	if (is_max(v)) {
		c->limits.pids_max = CG_MAX;
		return 0;
	}
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno || end == v || *end || *v < '0' || *v > '9' || n < 1)
		return config_bad(e, v, "expected a number of processes (at least 1), or max");
	c->limits.pids_max = n;
	return 0;
}
