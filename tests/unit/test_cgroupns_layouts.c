/* cgroupns tests, for real, as root: the cgroup tree inside the box (real
 * mounts in a child's namespaces) on the host's layout, and on simulated
 * ones. A pure cgroup v2 host is simulated in a child's private mount
 * namespace (cgroup2 mounted on /sys/fs/cgroup), so the unified paths run
 * too on a hybrid machine; so are a legacy host and read-only (nested)
 * controllers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/cgtest.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the tree inside the box ---------------------------------------------- */

struct inbox_arg {
	const struct cg_box *cg;
	const char *dir;
};

static int fail_n;
#define EXPECT(c)                                                                      \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "in box: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			fail_n++;                                                      \
		}                                                                      \
	} while (0)

static bool pid_listed(const char *procs, pid_t pid)
{
	_cleanup_free_ char *t = NULL;
	if (read_text(procs, &t) < 0)
		return false;
	for (char *s = t; *s;) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		if (v == pid)
			return true;
		s = end;
	}
	return false;
}

/* In the box, legacy/hybrid: hierarchy h's directory in the tree at dir. */
static void check_inbox_hier(const char *dir, const struct cg_hier *h)
{
	char dn[256] = "";
	if (h->v2) {
		snprintf(dn, sizeof dn, "unified");
	} else if (strncmp(h->options, "name=", 5) == 0) {
		snprintf(dn, sizeof dn, "%s", h->options + 5);
	} else {
		snprintf(dn, sizeof dn, "%s", h->options);
	}
	char d[PATH_MAX], sub[PATH_MAX + 16], procs[PATH_MAX + 16];
	snprintf(d, sizeof d, "%s/%s", dir, dn);
	snprintf(sub, sizeof sub, "%s/probe", d);
	snprintf(procs, sizeof procs, "%s/cgroup.procs", d);
	long t = fs_type(d);
	EXPECT(t == (h->v2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC));
	if (t < 0)
		fprintf(stderr, "in box: %s missing\n", d);
	EXPECT(pid_listed(procs, getpid())); /* rooted at the box's cgroup */
	bool writable = h->v2 || strcmp(h->options, "name=systemd") == 0;
	if (writable) {
		EXPECT(mkdir(sub, 0755) == 0);
		EXPECT(rmdir(sub) == 0);
	} else {
		EXPECT(mkdir(sub, 0755) < 0 && errno == EROFS);
	}
	if (strchr(dn, ',')) { /* co-mounted: a symlink per controller */
		char copy[256], *s = NULL;
		snprintf(copy, sizeof copy, "%s", dn);
		for (char *tok = strtok_r(copy, ",", &s); tok; tok = strtok_r(NULL, ",", &s)) {
			char l[PATH_MAX], target[256];
			snprintf(l, sizeof l, "%s/%s", dir, tok);
			ssize_t n = readlink(l, target, sizeof target - 1);
			EXPECT(n > 0);
			if (n > 0) {
				target[n] = 0;
				EXPECT(strcmp(target, dn) == 0);
			}
		}
	}
	char own[PATH_MAX];
	EXPECT(cg_pid_path(0, h->v2 ? "" : h->options, own, sizeof own, NULL) == 0 &&
	       strcmp(own, "/") == 0);
}

/* In the child: new mount + cgroup namespaces, mount, look. */
static int child_inbox(void *arg)
{
	const struct inbox_arg *a = arg;
	fail_n = 0;
	if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0) {
		fprintf(stderr, "unshare: %s\n", strerror(errno));
		return 100;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "make / private: %s\n", strerror(errno));
		return 101;
	}
	int dfd = open(a->dir, O_PATH | O_DIRECTORY);
	char via[64];
	snprintf(via, sizeof via, "/proc/self/fd/%d", dfd);
	struct perr e = { 0 };
	if (cg_mount_in_box(a->cg, via, &e) < 0) {
		fprintf(stderr, "cg_mount_in_box: %s\n", e.msg);
		return 102;
	}
	close(dfd);
	char p[PATH_MAX];
	const struct cg_box *cg = a->cg;
	if (cg->layout == CG_UNIFIED) {
		EXPECT(fs_type(a->dir) == CGROUP2_SUPER_MAGIC);
		snprintf(p, sizeof p, "%s/cgroup.procs", a->dir);
		EXPECT(pid_listed(p, getpid())); /* rooted at the box's cgroup */
		snprintf(p, sizeof p, "%s/sub", a->dir);
		EXPECT(mkdir(p, 0755) == 0); /* writable */
		EXPECT(rmdir(p) == 0);
		char own[PATH_MAX];
		EXPECT(cg_pid_path(0, "", own, sizeof own, NULL) == 0 && strcmp(own, "/") == 0);
		return fail_n;
	}
	EXPECT(fs_type(a->dir) == TMPFS_MAGIC);
	snprintf(p, sizeof p, "%s/x", a->dir);
	EXPECT(mkdir(p, 0755) < 0 && errno == EROFS); /* the tmpfs is read-only */
	for (size_t i = 0; i < cg->n_hier; i++)
		check_inbox_hier(a->dir, &cg->hier[i]);
	return fail_n;
}

static void test_mount_in_box(const char *tmp)
{
	struct cg_box cg;
	struct perr e = { 0 };
	char name[80];
	snprintf(name, sizeof name, "%s-m", test_name);
	if (cg_box_create(&cg, name, &e) < 0) {
		CHECK(!"create");
		fprintf(stderr, "create: %s\n", e.msg);
		return;
	}
	remember_box(&cg);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/cgroup", tmp);
	CHECK(mkdir(dir, 0755) == 0);
	struct inbox_arg a = { &cg, dir };
	int gofd;
	pid_t kid = spawn(child_inbox, &a, &gofd);
	CHECK(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	int st = wait_for(kid, 10000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* nothing leaked into our mount namespace */
	CHECK(fs_type(dir) != TMPFS_MAGIC && fs_type(dir) != CGROUP2_SUPER_MAGIC);
	CHECK(cg_box_destroy(&cg, &e) == 0);
	cg_box_free(&cg);
	rmdir(dir);
}

/* ---- a pure cgroup v2 host, simulated -------------------------------------- *
 * In a child: private mount namespace, cgroup2 mounted on /sys/fs/cgroup
 * (mountinfo now says "unified"). The child first places itself in
 * /planet-own-<pid> (as a systemd unit with Delegate=yes would be), so
 * create has to move it into <own>/supervisor. Then: attach, the device
 * program (BPF, since there is no v1 devices hierarchy), cg_mount_in_box
 * with the unified layout, kill, destroy. */

static int child_v2_inner(void *arg)
{
	return child_inbox(arg);
}

/* Private mount namespace, cgroup2 on /sys/fs/cgroup, and ourselves in
 * own (/planet-own-<parent>). Returns 0 or the child's exit code. */
static int v2_setup(char *own, size_t ownlen, const char *pid)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		fprintf(stderr, "v2 setup: %s\n", strerror(errno));
		return 100;
	}
	enum cg_layout l;
	struct perr e = { 0 };
	EXPECT(cg_detect(&l, &e) == 0 && l == CG_UNIFIED);
	char procs[128];
	snprintf(own, ownlen, "/sys/fs/cgroup/planet-own-%d", (int)getppid());
	snprintf(procs, sizeof procs, "%s/cgroup.procs", own);
	int fd = open(procs, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
		fprintf(stderr, "v2: enter %s: %s\n", own, strerror(errno));
		return 103;
	}
	close(fd);
	return 0;
}

/* create moves us into <own>/supervisor and puts the box at <own>/<name>
 * (want); a second create keeps that. Returns 0 or the child's exit code. */
static int v2_place(struct cg_box *cg, const char *own, const char *name, char *want,
		    size_t wantlen)
{
	struct perr e = { 0 };
	if (cg_box_create(cg, name, &e) < 0) {
		fprintf(stderr, "v2 create: %s\n", e.msg);
		return 104;
	}
	EXPECT(cg->layout == CG_UNIFIED && cg->n_hier == 1 && cg->hier[0].v2);
	char sup[PATH_MAX];
	snprintf(want, wantlen, "%s/%s", own, name);
	EXPECT(strcmp(cg->hier[0].path, want) == 0);
	snprintf(sup, sizeof sup, "%s/supervisor/cgroup.procs", own);
	EXPECT(pid_listed(sup, getpid())); /* moved out of <own> */
	char mine[PATH_MAX], mine_want[PATH_MAX];
	snprintf(mine_want, sizeof mine_want, "%s/supervisor", own + strlen("/sys/fs/cgroup"));
	EXPECT(cg_pid_path(0, "", mine, sizeof mine, NULL) == 0 && strcmp(mine, mine_want) == 0);

	/* A second create (box restart) keeps <own>, does not nest deeper. */
	EXPECT(cg_box_destroy(cg, &e) == 0);
	cg_box_free(cg);
	if (cg_box_create(cg, name, &e) < 0) {
		fprintf(stderr, "v2 re-create: %s\n", e.msg);
		return 105;
	}
	EXPECT(strcmp(cg->hier[0].path, want) == 0);
	return 0;
}

/* The box at want: BPF devices, the unified in-box mount, cgroup.kill,
 * destroy. */
static void v2_box(struct cg_box *cg, const char *tmp, const char *want)
{
	struct perr e = { 0 };
	struct cg_dev_rule rules[] = { { 'c', 1, 3, "rwm" } };
	EXPECT(cg_box_set_devices(cg, rules, 1, &e) == 0);
	EXPECT(cg->bpf_prog_fd >= 0);

	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/v2mnt", tmp);
	EXPECT(mkdir(dir, 0755) == 0);
	struct inbox_arg a = { cg, dir };
	int gofd;
	pid_t kid = spawn(child_v2_inner, &a, &gofd);
	EXPECT(cg_box_attach(cg, kid, &e) == 0);
	go(&gofd);
	int st = wait_for(kid, 10000);
	EXPECT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* the device program confines the box */
	static const struct devprobe p[] = { { "/dev/null", O_RDWR, true },
					     { "/dev/full", O_RDONLY, false } };
	struct devprobes pr = { p, 2, NULL };
	kid = spawn(child_probe, &pr, &gofd);
	EXPECT(cg_box_attach(cg, kid, &e) == 0);
	go(&gofd);
	st = wait_for(kid, 5000);
	EXPECT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* SIGKILL goes through cgroup.kill */
	kid = spawn(NULL, NULL, &gofd);
	EXPECT(cg_box_attach(cg, kid, &e) == 0);
	go(&gofd);
	EXPECT(!cg_box_empty(cg));
	EXPECT(cg_box_kill(cg, SIGKILL) == 0);
	st = wait_for(kid, 2000);
	EXPECT(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT(cg_box_empty(cg));
	EXPECT(cg_box_destroy(cg, &e) == 0);
	EXPECT(!is_dir(want));
	cg_box_free(cg);
	rmdir(dir);
}

/* The supervisor at the root of the tree: the box goes to /planet.
 * Returns 0 or the child's exit code. */
static int v2_at_root(struct cg_box *cg, const char *name, const char *pid)
{
	struct perr e = { 0 };
	char back[PATH_MAX], want[PATH_MAX];
	snprintf(back, sizeof back, "/sys/fs/cgroup/cgroup.procs");
	int fd = open(back, O_WRONLY);
	EXPECT(fd >= 0 && write(fd, pid, strlen(pid)) > 0);
	if (fd >= 0)
		close(fd);
	if (cg_box_create(cg, name, &e) < 0) {
		fprintf(stderr, "v2 create at root: %s\n", e.msg);
		return 106;
	}
	snprintf(want, sizeof want, "/sys/fs/cgroup/planet/%s", name);
	EXPECT(strcmp(cg->hier[0].path, want) == 0);
	EXPECT(cg_box_destroy(cg, &e) == 0);
	EXPECT(!is_dir(want));
	cg_box_free(cg);
	return 0;
}

static int child_v2(void *arg)
{
	const char *tmp = arg;
	fail_n = 0;
	char own[64], pid[32], name[80], want[PATH_MAX];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	int r = v2_setup(own, sizeof own, pid);
	if (r)
		return r;
	snprintf(name, sizeof name, "planet-test-%d-v2", (int)getppid());
	struct cg_box cg;
	r = v2_place(&cg, own, name, want, sizeof want);
	if (r)
		return r;
	v2_box(&cg, tmp, want);
	r = v2_at_root(&cg, name, pid);
	return r ? r : fail_n;
}

static void test_v2_sim(const char *v2mount, const char *tmp)
{
	char own[PATH_MAX];
	snprintf(own, sizeof own, "%s/planet-own-%d", v2mount, (int)getpid());
	CHECK(mkdir(own, 0755) == 0);
	remember_dir(own);
	char box[PATH_MAX];
	snprintf(box, sizeof box, "%s/planet/%s-v2", v2mount, test_name);
	remember_dir(box);
	int gofd;
	pid_t kid = spawn(child_v2, (void *)tmp, &gofd);
	go(&gofd);
	int st = wait_for(kid, 20000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st))
		fprintf(stderr, "v2 simulation: exit %d\n", WEXITSTATUS(st));
	struct perr e = { 0 };
	CHECK(cg_remove_tree(own, &e) == 0);
	CHECK(!is_dir(own));
	CHECK(!is_dir(box));
}

/* ---- legacy, and read-only controllers (nested), simulated --------------- *
 * In a child's private mount namespace: (1) a v1 controller hierarchy
 * remounted read-only, as inside a planet box: create leaves it out; (2) the
 * cgroup2 mount detached: the layout reads "legacy", and the tree inside the
 * box has no "unified". */
static int child_v1_sims(void *arg)
{
	const char *tmp = arg;
	fail_n = 0;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "v1 sims setup: %s\n", strerror(errno));
		return 100;
	}
	char name[80];
	snprintf(name, sizeof name, "planet-test-%d-v1", (int)getppid());
	struct perr e = { 0 };
	struct cg_box cg;
	const char *ro = is_dir("/sys/fs/cgroup/cpu") ? "/sys/fs/cgroup/cpu" : NULL;
	if (ro && mount(NULL, ro, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0) {
		if (cg_box_create(&cg, name, &e) < 0) {
			fprintf(stderr, "create with read-only %s: %s\n", ro, e.msg);
			return 101;
		}
		bool has_ro = false, has_systemd = false;
		for (size_t i = 0; i < cg.n_hier; i++) {
			if (strcmp(cg.hier[i].mountpoint, ro) == 0)
				has_ro = true;
			if (strcmp(cg.hier[i].options, "name=systemd") == 0)
				has_systemd = true;
		}
		EXPECT(!has_ro);
		EXPECT(has_systemd || !is_dir("/sys/fs/cgroup/systemd"));
		EXPECT(cg_box_destroy(&cg, &e) == 0);
		cg_box_free(&cg);
	}
	if (is_dir("/sys/fs/cgroup/unified") && umount2("/sys/fs/cgroup/unified", MNT_DETACH) < 0) {
		fprintf(stderr, "umount unified: %s\n", strerror(errno));
		return 102;
	}
	enum cg_layout l;
	EXPECT(cg_detect(&l, &e) == 0 && l == CG_LEGACY);
	if (cg_box_create(&cg, name, &e) < 0) {
		fprintf(stderr, "legacy create: %s\n", e.msg);
		return 103;
	}
	EXPECT(cg.layout == CG_LEGACY);
	for (size_t i = 0; i < cg.n_hier; i++)
		EXPECT(!cg.hier[i].v2);
	char dir[PATH_MAX], unified[PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/v1mnt", tmp);
	EXPECT(mkdir(dir, 0755) == 0);
	struct inbox_arg a = { &cg, dir };
	int gofd;
	pid_t kid = spawn(child_inbox, &a, &gofd);
	EXPECT(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	int st = wait_for(kid, 10000);
	EXPECT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(unified, sizeof unified, "%s/unified", dir);
	EXPECT(!is_dir(unified));
	/* kill without cgroup.kill: the v1 scan */
	kid = spawn(NULL, NULL, &gofd);
	EXPECT(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	EXPECT(cg_box_kill(&cg, SIGKILL) == 1);
	st = wait_for(kid, 2000);
	EXPECT(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT(cg_box_destroy(&cg, &e) == 0);
	for (size_t i = 0; i < cg.n_hier; i++)
		EXPECT(!is_dir(cg.hier[i].path));
	cg_box_free(&cg);
	rmdir(dir);
	return fail_n;
}

static void test_v1_sims(const char *tmp)
{
	char name[80];
	snprintf(name, sizeof name, "%s-v1", test_name);
	int gofd;
	pid_t kid = spawn(child_v1_sims, (void *)tmp, &gofd);
	go(&gofd);
	int st = wait_for(kid, 20000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st))
		fprintf(stderr, "v1 simulations: exit %d\n", WEXITSTATUS(st));
	/* Whatever the child left behind on a failure: remove the planned
	 * paths, as the stale clean-up of a state file does. */
	struct cg_box cg;
	struct perr e = { 0 };
	if (cg_box_plan(&cg, name, &e) == 0) {
		for (size_t i = 0; i < cg.n_hier; i++)
			cg_remove_tree(cg.hier[i].path, &e);
		cg_box_free(&cg);
	}
}

int main(void)
{
	char tmp[64];
	enum cg_layout layout;
	const char *v2mount;
	int r = cgtest_start("test_cgroupns_layouts", tmp, &layout, &v2mount);
	if (r)
		return r;

	test_mount_in_box(tmp);
	if (v2mount && layout == CG_HYBRID)
		test_v2_sim(v2mount, tmp);
	if (layout == CG_HYBRID)
		test_v1_sims(tmp);

	cleanup();
	/* After cleanup nothing of ours remains under any hierarchy. */
	for (size_t i = 0; i < ncleanup; i++)
		CHECK(!is_dir(cleanup_dirs[i]));
	CHECK(!is_dir(tmp));
	return check_done("test_cgroupns_layouts");
}
