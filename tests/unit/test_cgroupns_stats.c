/* cgroupns/stats.c, pressure.c and oomlog.c against fake cgroup trees
 * (plain directories holding the files a kernel would): every field of
 * cg_stats read from a pure v2 tree and from a v1 one, "max" and v1's
 * huge "no limit" as CG_MAX (null in `stats --json`); freezing on both;
 * the pressure watches' registrations (v1 cgroup.event_control lines, v2
 * PSI triggers) and their counts; the OOM victim's kmsg records: the
 * kernel's taken, a user-space forgery, another cgroup's and an ambiguous
 * one refused. No root, no real cgroup: this host's cgroup2 has no
 * controller but hugetlb, so v2's files can only be checked here. Only
 * the PSI triggers are also tried on the real cgroup2 (as root). */
#include "cgroupns/cgroupns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/cgtest.h"
#include "tests/unit/check.h"

static char top[] = "/tmp/planet-test-stats.XXXXXX";

static void v2_tree(const char *d)
{
	touch(d, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	touch(d, "memory.current", "52428800\n");
	touch(d, "memory.peak", "73400320\n");
	touch(d, "memory.max", "max\n");
	touch(d, "memory.stat", "anon 41943040\nfile 8388608\nkernel 1048576\n"
				"file_mapped 4096\nanon_thp 0\n");
	touch(d, "memory.swap.current", "2097152\n");
	touch(d, "memory.events", "low 0\nhigh 12\nmax 40\noom 3\noom_kill 2\n"
				  "oom_group_kill 0\n");
	touch(d, "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n"
			     "nr_periods 30\nnr_throttled 7\nthrottled_usec 250000\n");
	touch(d, "memory.pressure", "some avg10=1.50 avg60=0.40 avg300=0.10 total=734512\n"
				    "full avg10=0.80 avg60=0.20 avg300=0.05 total=402001\n");
	touch(d, "pids.current", "17\n");
	touch(d, "pids.max", "max\n");
	touch(d, "io.stat", "8:0 rbytes=1000 wbytes=2000 rios=10 wios=20 dbytes=0 dios=0\n"
			    "8:16 rbytes=300 wbytes=400 rios=3 wios=4 dbytes=0 dios=0\n"
			    "253:0 rbytes=5 wbytes=6 rios=1 wios=2 dbytes=0 dios=0\n");
}

/* What both fake trees (v2_tree and test_v1's) say, each in its own files. */
static void check_cpu_memory(const struct cg_stats *s)
{
	CHECK(s->cpu_usage_usec == 1500000);
	CHECK(s->cpu_user_usec == 1000000);
	CHECK(s->cpu_system_usec == 500000);
	CHECK(s->cpu_throttled_usec == 250000);
	CHECK(s->cpu_throttled_count == 7);
	CHECK(s->memory_current == 52428800);
	CHECK(s->memory_peak == 73400320);
	CHECK(s->memory_max == CG_MAX);
	CHECK(s->memory_anon == 41943040);
	CHECK(s->memory_file == 8388608);
	CHECK(s->memory_swap == 2097152);
}

static void check_pids_io(const struct cg_stats *s)
{
	CHECK(s->pids_current == 17);
	CHECK(s->pids_max == CG_MAX);
	CHECK(s->io_read_bytes == 1305);
	CHECK(s->io_write_bytes == 2406);
	CHECK(s->io_read_ops == 14);
	CHECK(s->io_write_ops == 26);
}

static void test_v2(void)
{
	char d[512];
	snprintf(d, sizeof d, "%s/v2", top);
	struct cg_box cg = { .bpf_prog_fd = -1 };
	hier(&cg, top, d, "", true);
	v2_tree(d);
	struct cg_stats s;
	memset(&s, 0x55, sizeof s);
	cg_box_stats(&cg, &s);
	check_cpu_memory(&s);
	CHECK(s.memory_oom_kills == 2); /* oom_kill, not oom nor oom_group_kill */
	CHECK(s.memory_pressure_some_usec == 734512);
	CHECK(s.memory_pressure_full_usec == 402001);
	CHECK(cg_box_oom_kills(&cg) == 2);
	/* the OOM watch: inotify on memory.events, which says every change */
	bool early = true;
	struct perr oe = { 0 };
	int ofd = cg_box_oom_watch(&cg, &early, &oe);
	CHECK(ofd >= 0 && !early);
	if (ofd >= 0)
		close(ofd);
	check_pids_io(&s);
	/* numbers where limits are set */
	touch(d, "memory.max", "67108864\n");
	touch(d, "pids.max", "64\n");
	cg_box_stats(&cg, &s);
	CHECK(s.memory_max == 67108864);
	CHECK(s.pids_max == 64);
	/* a kernel without memory.peak or swap (older v2): "does not say" */
	char p[600];
	snprintf(p, sizeof p, "%s/memory.peak", d);
	unlink(p);
	snprintf(p, sizeof p, "%s/memory.swap.current", d);
	unlink(p);
	cg_box_stats(&cg, &s);
	CHECK(s.memory_peak == -1);
	CHECK(s.memory_swap == -1);
	/* freezing: cgroup.freeze written, cgroup.events read */
	struct perr e = { 0 };
	touch(d, "cgroup.freeze", "");
	touch(d, "cgroup.events", "populated 1\nfrozen 0\n");
	CHECK(cg_box_freeze(&cg, true, &e) == 0);
	CHECK_STREQ(slurp(d, "cgroup.freeze"), "1");
	CHECK(cg_box_frozen(&cg) == 0);
	touch(d, "cgroup.events", "populated 1\nfrozen 1\n");
	CHECK(cg_box_frozen(&cg) == 1);
	touch(d, "cgroup.freeze", "");
	CHECK(cg_box_freeze(&cg, false, &e) == 0);
	CHECK_STREQ(slurp(d, "cgroup.freeze"), "0");
	cg_box_free(&cg);
}

static void test_v1(void)
{
	char m[600], c[600], a[600], p[600], b[600];
	snprintf(m, sizeof m, "%s/memory", top);
	snprintf(c, sizeof c, "%s/cpu", top);
	snprintf(a, sizeof a, "%s/cpuacct", top);
	snprintf(p, sizeof p, "%s/pids", top);
	snprintf(b, sizeof b, "%s/blkio", top);
	struct cg_box cg = { .bpf_prog_fd = -1 };
	hier(&cg, top, m, "memory", false);
	hier(&cg, top, c, "cpu", false);
	hier(&cg, top, a, "cpuacct", false);
	hier(&cg, top, p, "pids", false);
	hier(&cg, top, b, "blkio", false);
	touch(m, "memory.usage_in_bytes", "52428800\n");
	touch(m, "memory.max_usage_in_bytes", "73400320\n");
	touch(m, "memory.limit_in_bytes", "9223372036854771712\n"); /* v1's "none" */
	touch(m, "memory.stat", "cache 1\nrss 2\ntotal_cache 8388608\ntotal_rss 41943040\n"
				"total_swap 2097152\n");
	touch(m, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	touch(a, "cpuacct.usage", "1500000000\n");
	long hz = sysconf(_SC_CLK_TCK);
	char st[64];
	snprintf(st, sizeof st, "user %ld\nsystem %ld\n", hz, hz / 2); /* 1 s, 0.5 s */
	touch(a, "cpuacct.stat", st);
	touch(c, "cpu.stat", "nr_periods 30\nnr_throttled 7\nthrottled_time 250000000\n");
	touch(p, "pids.current", "17\n");
	touch(p, "pids.max", "max\n");
	touch(b, "blkio.throttle.io_service_bytes_recursive",
	      "8:0 Read 1000\n8:0 Write 2000\n8:0 Sync 3000\n8:0 Async 0\n8:0 Total 3000\n"
	      "8:16 Read 305\n8:16 Write 406\n8:16 Total 711\nTotal 3711\n");
	touch(b, "blkio.throttle.io_serviced_recursive",
	      "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\n8:16 Read 4\n8:16 Write 6\nTotal 40\n");
	struct cg_stats s;
	memset(&s, 0x55, sizeof s);
	cg_box_stats(&cg, &s);
	check_cpu_memory(&s); /* v1's total_*: the box's whole subtree */
	CHECK(s.memory_oom_kills == 2);
	CHECK(cg_box_oom_kills(&cg) == 2);
	CHECK(s.memory_pressure_some_usec == -1 && s.memory_pressure_full_usec == -1); /* no cgroup2 */
	check_pids_io(&s);
	/* the OOM watch: an eventfd registered for memory.oom_control, which
	 * notifies before the kill is counted */
	touch(m, "cgroup.event_control", "");
	bool early = false;
	struct perr oe = { 0 };
	int ofd = cg_box_oom_watch(&cg, &early, &oe), efd = -1, cfd = -1;
	CHECK(ofd >= 0 && early);
	CHECK(sscanf(slurp(m, "cgroup.event_control"), "%d %d", &efd, &cfd) == 2 && efd == ofd);
	if (ofd >= 0)
		close(ofd);
	touch(m, "memory.limit_in_bytes", "67108864\n");
	cg_box_stats(&cg, &s);
	CHECK(s.memory_max == 67108864);
	/* a host without a controller: every field of it "does not say" */
	cg_box_free(&cg);
	struct cg_box none = { .bpf_prog_fd = -1 };
	hier(&none, top, m, "memory", false);
	cg_box_stats(&none, &s);
	CHECK(s.cpu_usage_usec == -1 && s.cpu_throttled_count == -1);
	CHECK(s.pids_current == -1 && s.pids_max == -1);
	CHECK(s.memory_current == 52428800);
	cg_box_free(&none);
	/* freezing: freezer.state */
	char f[600];
	snprintf(f, sizeof f, "%s/freezer", top);
	struct cg_box fz = { .bpf_prog_fd = -1 };
	hier(&fz, top, f, "freezer", false);
	touch(f, "freezer.state", "");
	struct perr e = { 0 };
	CHECK(cg_box_freeze(&fz, true, &e) == 0);
	CHECK_STREQ(slurp(f, "freezer.state"), "FROZEN");
	CHECK(cg_box_frozen(&fz) == 1);
	touch(f, "freezer.state", "FREEZING\n");
	CHECK(cg_box_frozen(&fz) == 0);
	cg_box_free(&fz);
}

static void test_pressure(void)
{
	char m[600], d[600];
	snprintf(m, sizeof m, "%s/pmem", top);
	snprintf(d, sizeof d, "%s/pv2", top);
	struct perr e = { 0 };
	struct cg_pressure_watch w;
	/* v1: one line per level, "EVENTFD LEVELFD LEVEL,hierarchy" */
	struct cg_box v1 = { .bpf_prog_fd = -1 };
	hier(&v1, top, m, "memory", false);
	touch(m, "memory.pressure_level", "");
	touch(m, "cgroup.event_control", "");
	CHECK(cg_box_pressure_watch(&v1, &w, &e) == 0);
	CHECK(!w.v2 && w.fd[0] >= 0 && w.fd[1] >= 0 && w.fd[2] >= 0);
	int efd, lfd;
	char lvl[32];
	/* each write replaces the last one's bytes: the longest, critical, shows */
	CHECK(sscanf(slurp(m, "cgroup.event_control"), "%d %d %31s", &efd, &lfd, lvl) == 3);
	CHECK(efd == w.fd[2]);
	CHECK_STREQ(lvl, "critical,hierarchy");
	uint64_t one = 1, c[CG_PRESSURE_LEVELS];
	CHECK(write(w.fd[0], &one, sizeof one) == sizeof one);
	CHECK(write(w.fd[0], &one, sizeof one) == sizeof one);
	CHECK(write(w.fd[2], &one, sizeof one) == sizeof one);
	cg_pressure_take(&w, c);
	CHECK(c[0] == 2 && c[1] == 0 && c[2] == 1);
	cg_pressure_take(&w, c); /* read, so reset */
	CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
	cg_pressure_close(&w);
	CHECK(w.fd[0] == -1 && w.fd[2] == -1);
	/* a v1 memory cgroup without pressure_level: an error, nothing open */
	char p[700];
	snprintf(p, sizeof p, "%s/memory.pressure_level", m);
	unlink(p);
	CHECK(cg_box_pressure_watch(&v1, &w, &e) < 0);
	CHECK(strstr(e.msg, "memory.pressure_level") != NULL);
	CHECK(w.fd[0] == -1 && w.fd[1] == -1 && w.fd[2] == -1);
	cg_box_free(&v1);
	/* v2: a PSI trigger per level, each on its own fd of memory.pressure */
	struct cg_box v2 = { .bpf_prog_fd = -1 };
	hier(&v2, top, d, "", true);
	touch(d, "memory.pressure", "");
	CHECK(cg_box_pressure_watch(&v2, &w, &e) == 0);
	CHECK(w.v2);
	CHECK_STREQ(slurp(d, "memory.pressure"), "full 1000000 2000000");
	CHECK_STREQ(cg_psi_triggers[0], "some 300000 2000000");
	cg_pressure_take(&w, c); /* a plain file never says POLLPRI */
	CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
	cg_pressure_close(&w);
	/* no PSI (psi=0): the error says so */
	snprintf(p, sizeof p, "%s/memory.pressure", d);
	unlink(p);
	CHECK(cg_box_pressure_watch(&v2, &w, &e) < 0);
	CHECK(strstr(e.msg, "psi=1") != NULL);
	cg_box_free(&v2);
}

#define MEMCG "/process_api/x/planet-t.A/box-1"
#define REC(pri, memcg, tail)                                                                  \
	pri ",1234,5678,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=box-1,"    \
	    "mems_allowed=0,oom_memcg=" memcg ",task_memcg=" memcg tail "\n"

static void test_oomlog(void)
{
	struct cg_oom_victim v = { 0 };
	/* the kernel's record (facility 0, level 3 or 6), for the box or below */
	CHECK(cg_oom_record_parse(REC("6", MEMCG, ",task=hog,pid=21194,uid=0"), MEMCG, &v) == 1);
	CHECK(v.pid == 21194);
	CHECK_STREQ(v.comm, "hog");
	CHECK(cg_oom_record_parse(REC("3", MEMCG "/init.scope", ",task=my,hog,pid=7,uid=1000"),
				  MEMCG, &v) == 1);
	CHECK(v.pid == 7);
	CHECK_STREQ(v.comm, "my,hog");
	/* with continuation lines after it */
	CHECK(cg_oom_record_parse("6,1,2,-;oom-kill:constraint=CONSTRAINT_MEMCG,oom_memcg=" MEMCG
				  ",task_memcg=" MEMCG ",task=a,pid=9,uid=0\n SUBSYSTEM=x\n",
				  MEMCG, &v) == 1 && v.pid == 9);
	/* written to /dev/kmsg from user space: facility user (8 and up) */
	CHECK(cg_oom_record_parse(REC("8", MEMCG, ",task=forged,pid=1,uid=0"), MEMCG, &v) == 0);
	CHECK(cg_oom_record_parse(REC("14", MEMCG, ",task=forged,pid=1,uid=0"), MEMCG, &v) == 0);
	CHECK(cg_oom_record_parse(REC("-1", MEMCG, ",task=forged,pid=1,uid=0"), MEMCG, &v) == 0);
	/* another cgroup's, a sibling whose name starts like the box's */
	CHECK(cg_oom_record_parse(REC("6", "/process_api/x/other", ",task=a,pid=5,uid=0"), MEMCG,
				  &v) == 0);
	CHECK(cg_oom_record_parse(REC("6", MEMCG "0", ",task=a,pid=5,uid=0"), MEMCG, &v) == 0);
	/* names chosen to forge a field: ambiguous, dropped */
	CHECK(cg_oom_record_parse(REC("6", "/other/a,task_memcg=" MEMCG, ",task=a,pid=5,uid=0"),
				  MEMCG, &v) == 0);
	CHECK(cg_oom_record_parse(REC("6", MEMCG, ",task=x,pid=1,pid=5,uid=0"), MEMCG, &v) == 0);
	CHECK(cg_oom_record_parse(REC("6", MEMCG, ",task=a,pid=5x,uid=0"), MEMCG, &v) == 0);
	/* not an oom-kill record, or not a record */
	CHECK(cg_oom_record_parse("6,1,2,-;Memory cgroup out of memory: Killed process 5 (a)\n",
				  MEMCG, &v) == 0);
	CHECK(cg_oom_record_parse("oom-kill:task_memcg=" MEMCG ",task=a,pid=5,uid=0", MEMCG,
				  &v) == 0);
	CHECK(cg_oom_record_parse("", MEMCG, &v) == 0);
	/* the box's memcg as the kernel names it: relative to the mount */
	char p[600], rel[600];
	snprintf(p, sizeof p, "%s/memory/planet/box-1", top);
	struct cg_box cg = { .bpf_prog_fd = -1 };
	struct cg_hier *h = &cg.hier[cg.n_hier++];
	h->path = strdup(p);
	h->options = strdup("memory");
	h->mountpoint = malloc(strlen(top) + 8);
	sprintf(h->mountpoint, "%s/memory", top);
	CHECK(cg_box_memcg(&cg, rel, sizeof rel) == 0);
	CHECK_STREQ(rel, "/planet/box-1");
	CHECK(cg_box_memcg(&cg, rel, 4) < 0);
	cg_box_free(&cg);
}

/* The v2 path against the real kernel where it can be: this host's cgroup2
 * (the unified hierarchy of a hybrid layout has PSI files in every cgroup
 * even without controllers) must take the three triggers, and say nothing
 * while nothing stalls. Skipped (said so) without root or cgroup2. */
static void test_psi_live(void)
{
	const char *mounts[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
	char own[512] = "", d[1200], line[600];
	FILE *f = fopen("/proc/self/cgroup", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "0::", 3) == 0)
			snprintf(own, sizeof own, "%.*s", (int)strcspn(line + 3, "\n"), line + 3);
	if (f)
		fclose(f);
	const char *mnt = NULL;
	for (size_t i = 0; i < 2 && !mnt; i++) {
		snprintf(d, sizeof d, "%s%s/memory.pressure", mounts[i], own);
		if (access(d, R_OK) == 0)
			mnt = mounts[i];
	}
	snprintf(d, sizeof d, "%s%s/planet-test-psi-%d", mnt ? mnt : "", own, (int)getpid());
	if (geteuid() != 0 || !mnt || mkdir(d, 0755) < 0) {
		printf("# live PSI triggers not checked (needs root and cgroup2 with PSI)\n");
		return;
	}
	struct cg_box cg = { .bpf_prog_fd = -1 };
	struct cg_hier *h = &cg.hier[cg.n_hier++];
	h->path = strdup(d);
	h->options = strdup("");
	h->mountpoint = strdup(mnt);
	h->v2 = true;
	struct perr e = { 0 };
	struct cg_pressure_watch w;
	int r = cg_box_pressure_watch(&cg, &w, &e);
	if (r < 0)
		fprintf(stderr, "live PSI: %s\n", e.msg);
	CHECK(r == 0);
	uint64_t c[CG_PRESSURE_LEVELS] = { 9, 9, 9 };
	if (r == 0)
		cg_pressure_take(&w, c);
	CHECK(c[0] == 0 && c[1] == 0 && c[2] == 0);
	cg_pressure_close(&w);
	free(h->path);
	h->path = NULL;
	cg_box_free(&cg);
	CHECK(rmdir(d) == 0);
}

int main(void)
{
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	test_v2();
	test_v1();
	test_pressure();
	test_oomlog();
	test_psi_live();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	return check_done("test_cgroupns_stats");
}
