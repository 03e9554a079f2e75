/* cgroupns tests, for real, as root: the cgroup2 device program (a real
 * BPF_PROG_TYPE_CGROUP_DEVICE program on a real cgroup, probed by a child
 * opening and making device nodes). The v1 device rules are checked with the
 * box in test_cgroupns. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/cgtest.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int bpf_prog_count(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	__u32 ids[16];
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.query.target_fd = (__u32)fd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (__u64)(uintptr_t)ids;
	a.query.prog_cnt = 16;
	int r = (int)syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof a);
	close(fd);
	return r < 0 ? -1 : (int)a.query.prog_cnt;
}

static int run_probe(const char *cgdir, const struct devprobes *pr)
{
	int gofd;
	pid_t kid = spawn(child_probe, (void *)pr, &gofd);
	if (kid < 0)
		return -1;
	char procs[PATH_MAX], pid[32];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", cgdir);
	snprintf(pid, sizeof pid, "%d", (int)kid);
	int fd = open(procs, O_WRONLY);
	bool placed = fd >= 0 && write(fd, pid, strlen(pid)) == (ssize_t)strlen(pid);
	if (fd >= 0)
		close(fd);
	CHECK(placed);
	go(&gofd);
	int st = wait_for(kid, 5000);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_bpf(const char *v2mount, const char *tmp)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/planet-bpf-%d", v2mount, (int)getpid());
	CHECK(mkdir(dir, 0755) == 0);
	remember_dir(dir);
	/* A box with only the cgroup2 hierarchy: set_devices takes the BPF path. */
	struct cg_box cg;
	memset(&cg, 0, sizeof cg);
	cg.layout = CG_UNIFIED;
	cg.n_hier = 1;
	cg.hier[0].mountpoint = (char *)v2mount;
	cg.hier[0].options = (char *)"";
	cg.hier[0].path = dir;
	cg.hier[0].v2 = true;
	cg.bpf_prog_fd = -1;
	struct perr e = { 0 };

	struct cg_dev_rule rules[] = {
		{ 'c', 1, 3, "rwm" }, /* null */
		{ 'c', 1, 5, "rw" },  /* zero */
		{ 'c', 1, 8, "r" },   /* random: read only */
	};
	int r = cg_box_set_devices(&cg, rules, 3, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "bpf set_devices: %s\n", e.msg);
	CHECK(cg.bpf_prog_fd >= 0);
	CHECK(bpf_prog_count(dir) == 1);
	static const struct devprobe p1[] = {
		{ "/dev/null", O_RDWR, true },	    { "/dev/zero", O_RDONLY, true },
		{ "/dev/full", O_RDONLY, false },   { "/dev/full", O_WRONLY, false },
		{ "/dev/random", O_RDONLY, true },  { "/dev/random", O_WRONLY, false },
		{ "/dev/urandom", O_RDONLY, false }, /* c 1:9 */
	};
	struct devprobes pr1 = { p1, sizeof p1 / sizeof p1[0], tmp };
	CHECK(run_probe(dir, &pr1) == 0);

	/* Live changes (planet device add / remove): the program is swapped in
	 * place (BPF_F_REPLACE), one attached throughout. */
	struct cg_dev_rule full_r = { 'c', 1, 7, "r" };
	CHECK(cg_box_allow_devices(&cg, &full_r, 1, &e) == 0);
	CHECK(bpf_prog_count(dir) == 1);
	CHECK(cg.n_dev_rules == 4);
	static const struct devprobe pa[] = {
		{ "/dev/full", O_RDONLY, true },  { "/dev/full", O_WRONLY, false },
		{ "/dev/null", O_RDWR, true },
	};
	struct devprobes pra = { pa, sizeof pa / sizeof pa[0], NULL };
	CHECK(run_probe(dir, &pra) == 0);
	CHECK(cg_box_deny_devices(&cg, &full_r, 1, &e) == 0);
	CHECK(bpf_prog_count(dir) == 1);
	static const struct devprobe pd[] = {
		{ "/dev/full", O_RDONLY, false },
		{ "/dev/null", O_RDWR, true },
	};
	struct devprobes prd = { pd, sizeof pd / sizeof pd[0], NULL };
	CHECK(run_probe(dir, &prd) == 0);
	/* a rule not in force: refused, nothing changed */
	CHECK(cg_box_deny_devices(&cg, &full_r, 1, &e) < 0 && e.errnum == ENOENT);
	CHECK(cg.n_dev_rules == 3);

	/* Replacing the rules swaps the program (still one attached). */
	struct cg_dev_rule wide[] = { { 'c', 1, -1, "r" } };
	CHECK(cg_box_set_devices(&cg, wide, 1, &e) == 0);
	CHECK(bpf_prog_count(dir) == 1);
	static const struct devprobe p2[] = {
		{ "/dev/full", O_RDONLY, true },
		{ "/dev/null", O_WRONLY, false },
		{ "/dev/tty", O_RDONLY, false }, /* c 5:0 */
	};
	struct devprobes pr2 = { p2, sizeof p2 / sizeof p2[0], NULL };
	CHECK(run_probe(dir, &pr2) == 0);

	/* "a" allows everything */
	struct cg_dev_rule all[] = { { 'a', -1, -1, "rwm" } };
	CHECK(cg_box_set_devices(&cg, all, 1, &e) == 0);
	static const struct devprobe p3[] = {
		{ "/dev/full", O_RDWR, true },
		{ "/dev/null", O_WRONLY, true },
	};
	struct devprobes pr3 = { p3, sizeof p3 / sizeof p3[0], NULL };
	CHECK(run_probe(dir, &pr3) == 0);

	/* no rule: nothing at all */
	CHECK(cg_box_set_devices(&cg, NULL, 0, &e) == 0);
	static const struct devprobe p4[] = { { "/dev/null", O_RDONLY, false } };
	struct devprobes pr4 = { p4, 1, NULL };
	CHECK(run_probe(dir, &pr4) == 0);
	CHECK(bpf_prog_count(dir) == 1);

	if (cg.bpf_prog_fd >= 0)
		close(cg.bpf_prog_fd);
	free(cg.dev_rules);
	usleep(10000);
	CHECK(rmdir(dir) == 0); /* the attachment goes with the cgroup */
}

int main(void)
{
	char tmp[64];
	enum cg_layout layout;
	const char *v2mount;
	int r = cgtest_start("test_cgroupns_devices", tmp, &layout, &v2mount);
	if (r)
		return r;

	if (v2mount)
		test_bpf(v2mount, tmp);
	else
		printf("no cgroup2 hierarchy: BPF device test skipped\n");

	cleanup();
	/* After cleanup nothing of ours remains under any hierarchy. */
	for (size_t i = 0; i < ncleanup; i++)
		CHECK(!is_dir(cleanup_dirs[i]));
	CHECK(!is_dir(tmp));
	return check_done("test_cgroupns_devices");
}
