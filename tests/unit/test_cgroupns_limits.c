/* cgroupns/limits.c against fake cgroup trees (plain directories holding
 * the control files a kernel would): which file each limit goes to, with
 * which value, on cgroup v1 and on pure v2; and the one-line errors for
 * what a layout cannot do. No root, no real cgroup: this host's cgroup2
 * has no controller but hugetlb, so v2 is checked here. */
#include "cgroupns/cgroupns.h"
#include "config/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/cgtest.h"
#include "tests/unit/check.h"

static char top[] = "/tmp/planet-test-limits.XXXXXX";

static struct cg_limits all_set(void)
{
	struct cg_limits l;
	cg_limits_init(&l);
	l.memory_max = 64 << 20;
	l.memory_high = 48 << 20;
	l.memory_swap_max = 0;
	l.cpu_quota_us = 50000;
	l.cpu_weight = 200;
	snprintf(l.cpuset_cpus, sizeof l.cpuset_cpus, "0-1");
	snprintf(l.cpuset_mems, sizeof l.cpuset_mems, "0");
	l.pids_max = 64;
	l.io_weight = 300;
	return l;
}

static void test_v2(void)
{
	char d[512];
	snprintf(d, sizeof d, "%s/v2", top);
	struct cg_box cg = { .bpf_prog_fd = -1 };
	hier(&cg, top, d, "", true);
	touch(d, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	const char *files[] = { "memory.max", "memory.high", "memory.swap.max", "cpu.max",
				"cpu.weight", "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight" };
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		touch(d, files[i], "");
	struct cg_limits l = all_set();
	struct perr e = { 0 };
	CHECK(cg_box_set_limits(&cg, &l, &e) == 0);
	CHECK_STREQ(slurp(d, "memory.max"), "67108864");
	CHECK_STREQ(slurp(d, "memory.high"), "50331648");
	CHECK_STREQ(slurp(d, "memory.swap.max"), "0");
	CHECK_STREQ(slurp(d, "cpu.max"), "50000 100000");
	CHECK_STREQ(slurp(d, "cpu.weight"), "200");
	CHECK_STREQ(slurp(d, "cpuset.cpus"), "0-1");
	CHECK_STREQ(slurp(d, "cpuset.mems"), "0");
	CHECK_STREQ(slurp(d, "pids.max"), "64");
	CHECK_STREQ(slurp(d, "io.weight"), "default 300");
	/* "max" is spelled max on v2 (fresh files: these do not truncate) */
	for (size_t i = 0; i < sizeof files / sizeof *files; i++)
		touch(d, files[i], "");
	l.memory_max = CG_MAX;
	l.cpu_quota_us = CG_MAX;
	l.pids_max = CG_MAX;
	CHECK(cg_box_set_limits(&cg, &l, &e) == 0);
	CHECK_STREQ(slurp(d, "memory.max"), "max");
	CHECK_STREQ(slurp(d, "cpu.max"), "max 100000");
	CHECK_STREQ(slurp(d, "pids.max"), "max");
	/* bfq's file first where it exists */
	touch(d, "io.bfq.weight", "");
	CHECK(cg_box_set_limits(&cg, &l, &e) == 0);
	CHECK_STREQ(slurp(d, "io.bfq.weight"), "default 300");
	/* a controller the host does not give: an error naming it */
	touch(d, "cgroup.controllers", "cpu pids\n");
	cg_limits_init(&l);
	l.memory_max = 1 << 20;
	CHECK(cg_box_set_limits(&cg, &l, &e) < 0);
	CHECK(strstr(e.msg, "memory_max") && strstr(e.msg, "no memory controller"));
	cg_box_free(&cg);
}

static void test_v1(void)
{
	char m[600], c[600], p[600], s[600], b[600];
	snprintf(m, sizeof m, "%s/memory", top);
	snprintf(c, sizeof c, "%s/cpu", top);
	snprintf(p, sizeof p, "%s/pids", top);
	snprintf(s, sizeof s, "%s/cpuset", top);
	snprintf(b, sizeof b, "%s/blkio", top);
	struct cg_box cg = { .bpf_prog_fd = -1 };
	hier(&cg, top, m, "memory", false);
	hier(&cg, top, c, "cpu,cpuacct", false);
	hier(&cg, top, p, "pids", false);
	hier(&cg, top, s, "cpuset", false);
	hier(&cg, top, b, "blkio", false);
	const char *mf[] = { "memory.limit_in_bytes", "memory.soft_limit_in_bytes",
			     "memory.memsw.limit_in_bytes" };
	for (size_t i = 0; i < 3; i++)
		touch(m, mf[i], "");
	touch(c, "cpu.cfs_quota_us", "");
	touch(c, "cpu.cfs_period_us", "");
	touch(c, "cpu.shares", "");
	touch(p, "pids.max", "");
	touch(s, "cpuset.cpus", "");
	touch(s, "cpuset.mems", "");
	touch(b, "blkio.weight", "");
	struct cg_limits l = all_set();
	struct perr e = { 0 };
	CHECK(cg_box_set_limits(&cg, &l, &e) == 0);
	CHECK_STREQ(slurp(m, "memory.limit_in_bytes"), "67108864");
	CHECK_STREQ(slurp(m, "memory.soft_limit_in_bytes"), "50331648");
	/* memsw counts memory and swap: max + 0 */
	CHECK_STREQ(slurp(m, "memory.memsw.limit_in_bytes"), "67108864");
	CHECK_STREQ(slurp(c, "cpu.cfs_quota_us"), "50000");
	CHECK_STREQ(slurp(c, "cpu.cfs_period_us"), "100000");
	CHECK_STREQ(slurp(c, "cpu.shares"), "5219");
	CHECK_STREQ(slurp(p, "pids.max"), "64");
	CHECK_STREQ(slurp(s, "cpuset.cpus"), "0-1");
	CHECK_STREQ(slurp(b, "blkio.weight"), "39"); /* 10 + 299 * 990 / 9999 */
	/* the weight conversions: both ends and the default */
	CHECK(cg_weight_to_shares(1) == 2 && cg_weight_to_shares(10000) == 262144);
	CHECK(cg_weight_to_shares(100) == 2597);
	CHECK(cg_weight_to_blkio(1) == 10 && cg_weight_to_blkio(10000) == 1000);
	/* no memsw: swap accounting is off, said so */
	char memsw[700];
	snprintf(memsw, sizeof memsw, "%s/memory.memsw.limit_in_bytes", m);
	unlink(memsw);
	CHECK(cg_box_set_limits(&cg, &l, &e) < 0);
	CHECK(strstr(e.msg, "memory_swap_max") && strstr(e.msg, "swap accounting"));
	/* no weight file: the scheduler has none */
	char bw[700];
	snprintf(bw, sizeof bw, "%s/blkio.weight", b);
	unlink(bw);
	cg_limits_init(&l);
	l.io_weight = 100;
	CHECK(cg_box_set_limits(&cg, &l, &e) < 0);
	CHECK(strstr(e.msg, "io_weight") && strstr(e.msg, "no weight file"));
	cg_box_free(&cg);
}

static void test_parsers(void)
{
	int64_t v;
	CHECK(size_parse("512K", &v) == 0 && v == 512 << 10);
	CHECK(size_parse("64M", &v) == 0 && v == 64 << 20);
	CHECK(size_parse("2G", &v) == 0 && v == 2LL << 30);
	CHECK(size_parse("1.5G", &v) == 0 && v == 3LL << 29);
	CHECK(size_parse("4096", &v) == 0 && v == 4096);
	CHECK(size_parse("1GiB", &v) == 0 && v == 1LL << 30);
	CHECK(size_parse("max", &v) == 0 && v == CG_MAX);
	CHECK(size_parse("infinity", &v) == 0 && v == CG_MAX);
	CHECK(size_parse("", &v) < 0 && size_parse("-1", &v) < 0 && size_parse("12Q", &v) < 0);
	CHECK(size_parse("1.5", &v) < 0 && size_parse("0", &v) < 0 && size_parse("M", &v) < 0);
	CHECK(size_parse("99999999999T", &v) < 0);
	CHECK(cpus_parse("0.5", &v) == 0 && v == 50000);
	CHECK(cpus_parse("2", &v) == 0 && v == 200000);
	CHECK(cpus_parse("max", &v) == 0 && v == CG_MAX);
	CHECK(cpus_parse("0", &v) < 0 && cpus_parse("0.001", &v) < 0 && cpus_parse("x", &v) < 0);
	CHECK(cpu_list_valid("0") && cpu_list_valid("0-3,6") && cpu_list_valid("1,2,3"));
	CHECK(!cpu_list_valid("") && !cpu_list_valid("3-1") && !cpu_list_valid("1,") &&
	      !cpu_list_valid("a") && !cpu_list_valid("1-") && !cpu_list_valid("-1"));
}

int main(void)
{
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	test_parsers();
	test_v2();
	test_v1();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	return check_done("test_cgroupns_limits");
}
