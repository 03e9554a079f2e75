/* cgroupns tests, for real, as root, on the host's cgroup hierarchies:
 * layout detection, the box's cgroup (placement, attach, kill, destroy),
 * the refusal of a dir that exists, and the stale clean-up from a state
 * file. The device program and the tree inside the box have their own programs
 * (test_cgroupns_devices, test_cgroupns_layouts); tests/unit/cgtest.h is the
 * shared harness. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/cgtest.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- detect --------------------------------------------------------------- */

static void test_detect(void)
{
	enum cg_layout l;
	struct perr e = { 0 };
	CHECK(cg_detect(&l, &e) == 0);
	/* The test's own reading of mountinfo. */
	_cleanup_free_ char *mi = NULL;
	CHECK(read_text("/proc/self/mountinfo", &mi) == 0);
	bool v2root = false, v2 = false, v1 = false;
	char *s = NULL;
	for (char *line = mi ? strtok_r(mi, "\n", &s) : NULL; line;
	     line = strtok_r(NULL, "\n", &s)) {
		char mp[PATH_MAX], fstype[64];
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		if (strcmp(fstype, "cgroup2") == 0) {
			v2 = true;
			if (strcmp(mp, "/sys/fs/cgroup") == 0)
				v2root = true;
		} else if (strcmp(fstype, "cgroup") == 0) {
			v1 = true;
		}
	}
	enum cg_layout want = v2root || !v1 ? CG_UNIFIED : v2 ? CG_HYBRID : CG_LEGACY;
	CHECK(l == want);
	printf("layout: %s\n", l == CG_UNIFIED ? "unified" : l == CG_HYBRID ? "hybrid" : "legacy");
}

static void test_pid_path(void)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct perr e = { 0 };
	if (proc_path(getpid(), NULL, b, sizeof b)) {
		CHECK(cg_pid_path(getpid(), "", a, sizeof a, &e) == 0);
		CHECK_STREQ(a, b);
	}
	if (proc_path(getpid(), "name=systemd", b, sizeof b)) {
		CHECK(cg_pid_path(0, NULL, a, sizeof a, &e) == 0);
		CHECK_STREQ(a, b);
		CHECK(cg_pid_path(getpid(), "name=systemd", a, sizeof a, &e) == 0);
		CHECK_STREQ(a, b);
	}
	if (proc_path(getpid(), "memory", b, sizeof b)) {
		CHECK(cg_pid_path(getpid(), "memory", a, sizeof a, &e) == 0);
		CHECK_STREQ(a, b);
	}
	CHECK(cg_pid_path(getpid(), "nosuchcontroller", a, sizeof a, &e) < 0);
	CHECK(e.errnum == ENOENT);
	char tiny[2];
	CHECK(cg_pid_path(getpid(), "", tiny, sizeof tiny, &e) < 0 || strcmp(tiny, "/") == 0);
}

/* ---- the box on the host --------------------------------------------------- */

/* Where the box dir must be: <mountpoint><own or /planet>/<name>. */
static void expect_path(const struct cg_hier *h, const char *name, char *buf, size_t len)
{
	char own[PATH_MAX] = "";
	if (!proc_path(getpid(), h->v2 ? NULL : h->options, own, sizeof own))
		snprintf(own, sizeof own, "?");
	snprintf(buf, len, "%s%s/%s", h->mountpoint, strcmp(own, "/") == 0 ? "/planet" : own, name);
}

static int child_devices_v1(void *arg)
{
	(void)arg;
	int bad = 0;
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "v1 child: open /dev/null: %s\n", strerror(errno));
		bad |= 1;
	} else {
		close(fd);
	}
	fd = open("/dev/full", O_RDONLY);
	if (fd >= 0 || errno != EPERM) {
		fprintf(stderr, "v1 child: open /dev/full not EPERM\n");
		bad |= 2;
	}
	if (fd >= 0)
		close(fd);
	return bad;
}

static bool lines_match(const char *text, const char *const *want, size_t n)
{
	size_t got = 0;
	_cleanup_free_ char *copy = strdup(text ? text : "");
	char *s = NULL;
	for (char *l = copy ? strtok_r(copy, "\n", &s) : NULL; l; l = strtok_r(NULL, "\n", &s)) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			if (strcmp(l, want[i]) == 0)
				found = true;
		if (!found) {
			fprintf(stderr, "unexpected line \"%s\"\n", l);
			return false;
		}
		got++;
	}
	return got == n;
}

/* One dir per hierarchy, in the right place. */
static void box_dirs(const struct cg_box *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		char want[PATH_MAX];
		expect_path(&cg->hier[i], test_name, want, sizeof want);
		CHECK_STREQ(cg->hier[i].path, want);
		CHECK(is_dir(cg->hier[i].path));
		if (!cg->hier[i].v2 && strstr(cg->hier[i].options, "cpuset")) {
			char p[PATH_MAX];
			_cleanup_free_ char *cpus = NULL;
			snprintf(p, sizeof p, "%s/cpuset.cpus", cg->hier[i].path);
			CHECK(read_text(p, &cpus) == 0 && cpus[0] != '\n' && cpus[0]);
		}
	}
}

/* describe: one "cgroup=<path>" line per hierarchy, for the state file. */
static void box_describe(const struct cg_box *cg)
{
	struct strbuf sb = { 0 };
	CHECK(cg_box_describe(cg, &sb) == 0);
	size_t lines = 0;
	for (const char *p = sb.s; p && (p = strstr(p, "cgroup=")); p++)
		lines++;
	CHECK(lines == cg->n_hier);
	CHECK(sb.s && strncmp(sb.s, "cgroup=/sys/fs/cgroup/", 22) == 0);
	sb_free(&sb);
}

/* devices: bad rules are refused before anything is written */
static void box_devices(struct cg_box *cg)
{
	struct perr e = { 0 };
	int r;
	struct cg_dev_rule bad1 = { 'x', 1, 3, "rwm" }, bad2 = { 'c', 1, 3, "" },
			   bad3 = { 'c', 1, 3, "rwx" };
	CHECK(cg_box_set_devices(cg, &bad1, 1, &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_box_set_devices(cg, &bad2, 1, &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_box_set_devices(cg, &bad3, 1, &e) < 0 && e.errnum == EINVAL);
	struct cg_dev_rule rules[] = {
		{ 'c', 1, 3, "rwm" },
		{ 'c', 1, 5, "rwm" },
		{ 'c', 136, -1, "rw" },
		{ 'b', -1, -1, "m" },
	};
	r = cg_box_set_devices(cg, rules, 4, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "set_devices: %s\n", e.msg);
	const struct cg_hier *dev = NULL;
	for (size_t i = 0; i < cg->n_hier; i++)
		if (!cg->hier[i].v2 && set_eq(cg->hier[i].options, "devices"))
			dev = &cg->hier[i];
	if (dev) {
		char p[PATH_MAX];
		_cleanup_free_ char *list = NULL;
		snprintf(p, sizeof p, "%s/devices.list", dev->path);
		CHECK(read_text(p, &list) == 0);
		static const char *const want[] = { "c 1:3 rwm", "c 1:5 rwm", "c 136:* rw",
						    "b *:* m" };
		CHECK(lines_match(list, want, 4));
		CHECK(cg->bpf_prog_fd == -1);
	} else {
		CHECK(cg->bpf_prog_fd >= 0);
	}
}

/* A process in the box is confined by those rules. */
static void box_confined(const struct cg_box *cg)
{
	struct perr e = { 0 };
	int gofd;
	pid_t dk = spawn(child_devices_v1, NULL, &gofd);
	CHECK(dk > 0);
	CHECK(cg_box_attach(cg, dk, &e) == 0);
	go(&gofd);
	int st = wait_for(dk, 5000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* attach: /proc/<child>/cgroup names the box in every hierarchy */
static void box_attach_kill(const struct cg_box *cg)
{
	struct perr e = { 0 };
	int r, st, gofd;
	pid_t kid = spawn(NULL, NULL, &gofd);
	CHECK(kid > 0);
	r = cg_box_attach(cg, kid, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "attach: %s\n", e.msg);
	go(&gofd);
	for (size_t i = 0; i < cg->n_hier; i++) {
		char got[PATH_MAX] = "", api[PATH_MAX] = "";
		const struct cg_hier *h = &cg->hier[i];
		CHECK(proc_path(kid, h->v2 ? NULL : h->options, got, sizeof got));
		CHECK_STREQ(got, h->path + strlen(h->mountpoint));
		const char *ctl = h->v2 ? "" : strchr(h->options, ',') ? NULL : h->options;
		if (ctl) {
			CHECK(cg_pid_path(kid, ctl, api, sizeof api, &e) == 0);
			CHECK_STREQ(api, got);
		}
	}
	CHECK(!cg_box_empty(cg));
	/* One process in N hierarchies is signalled once. */
	CHECK(cg_box_kill(cg, SIGTERM) == 1);
	st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	usleep(20000);
	CHECK(cg_box_empty(cg));
}

/* destroy: a process in a sub-cgroup (as systemd inside would make)
 * dies and every directory goes. */
static void box_destroy(struct cg_box *cg)
{
	struct perr e = { 0 };
	int r, st, gofd;
	pid_t kid;
	kid = spawn(NULL, NULL, &gofd);
	CHECK(cg_box_attach(cg, kid, &e) == 0);
	go(&gofd);
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		if (!h->v2 && !strstr(h->options, "name=systemd"))
			continue;
		char sub[PATH_MAX + 16], deeper[PATH_MAX + 32], procs[PATH_MAX + 64], pid[32];
		snprintf(sub, sizeof sub, "%s/init.scope", h->path);
		snprintf(deeper, sizeof deeper, "%s/system.slice/x.service", h->path);
		CHECK(mkdir(sub, 0755) == 0);
		snprintf(procs, sizeof procs, "%s/system.slice", h->path);
		CHECK(mkdir(procs, 0755) == 0);
		CHECK(mkdir(deeper, 0755) == 0);
		snprintf(procs, sizeof procs, "%s/cgroup.procs", deeper);
		snprintf(pid, sizeof pid, "%d", (int)kid);
		int fd = open(procs, O_WRONLY);
		CHECK(fd >= 0 && write(fd, pid, strlen(pid)) == (ssize_t)strlen(pid));
		if (fd >= 0)
			close(fd);
	}
	CHECK(!cg_box_empty(cg));
	r = cg_box_destroy(cg, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "destroy: %s\n", e.msg);
	st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (size_t i = 0; i < cg->n_hier; i++) {
		CHECK(!is_dir(cg->hier[i].path));
		/* /planet stays only if another box lives in it */
		char base[PATH_MAX];
		snprintf(base, sizeof base, "%s/planet", cg->hier[i].mountpoint);
		if (strncmp(cg->hier[i].path, base, strlen(base)) == 0 && is_dir(base)) {
			DIR *d = opendir(base);
			bool sub = false;
			struct dirent *de;
			while (d && (de = readdir(d)))
				if (de->d_type == DT_DIR && de->d_name[0] != '.')
					sub = true;
			if (d)
				closedir(d);
			CHECK(sub);
		}
	}
	CHECK(cg_box_destroy(cg, &e) == 0); /* idempotent */
	cg_box_free(cg);
	cg_box_free(cg);
}

static void test_box(void)
{
	struct cg_box cg;
	struct perr e = { 0 };
	int r = cg_box_create(&cg, test_name, &e);
	CHECK(r == 0);
	if (r < 0) {
		fprintf(stderr, "create: %s\n", e.msg);
		return;
	}
	remember_box(&cg);
	CHECK(cg.n_hier > 0);
	CHECK(cg.bpf_prog_fd == -1);

	box_dirs(&cg);
	box_describe(&cg);
	box_devices(&cg);
	box_confined(&cg);
	box_attach_kill(&cg);
	box_destroy(&cg);
}

/* A box dir of the same name that exists already is not this box's (a
 * neighbour booted from a copy of the same image, or a crash's leftover
 * that its own state file names and cg_remove_tree removes): create fails
 * with EEXIST, and the process in it, its device rules and the directory
 * are left exactly as they were. */
static void test_exists_not_ours(void)
{
	struct cg_box cg, cg2;
	struct perr e = { 0 };
	CHECK(cg_box_create(&cg, test_name, &e) == 0);
	remember_box(&cg);
	int gofd;
	pid_t kid = spawn(NULL, NULL, &gofd);
	CHECK(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	struct cg_dev_rule none = { 'c', 1, 3, "r" };
	CHECK(cg_box_set_devices(&cg, &none, 1, &e) == 0);

	int r = cg_box_create(&cg2, test_name, &e);
	CHECK(r < 0 && e.errnum == EEXIST);
	CHECK(strstr(e.msg, "is not this box's") != NULL);
	CHECK(cg2.n_hier == 0);
	CHECK(wait_for(kid, 200) == -1); /* still running */
	CHECK(!cg_box_empty(&cg));
	for (size_t i = 0; i < cg.n_hier; i++) {
		CHECK(is_dir(cg.hier[i].path));
		if (!cg.hier[i].v2 && set_eq(cg.hier[i].options, "devices")) {
			char p[PATH_MAX];
			_cleanup_free_ char *list = NULL;
			snprintf(p, sizeof p, "%s/devices.list", cg.hier[i].path);
			CHECK(read_text(p, &list) == 0 && strcmp(list, "c 1:3 r\n") == 0);
		}
	}
	/* the owner removes it (here: as the stale clean-up would) */
	for (size_t i = 0; i < cg.n_hier; i++)
		CHECK(cg_remove_tree(cg.hier[i].path, &e) == 0);
	int st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	cg_box_free(&cg);
}

/* The stale clean-up of a SIGKILLed supervisor: paths from the state file. */
static void test_remove_tree(void)
{
	struct perr e = { 0 };
	CHECK(cg_remove_tree("/tmp", &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_remove_tree("/sys/fs/cgroupx/a", &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_remove_tree("/sys/fs/cgroup/memory/../../../tmp", &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_remove_tree("/sys/fs/cgroup/pids/..", &e) < 0);
	CHECK(cg_remove_tree("relative/path", &e) < 0);
	CHECK(cg_remove_tree(NULL, &e) < 0);
	/* hierarchy roots: killing "everything inside" would be the host */
	if (is_dir("/sys/fs/cgroup/pids"))
		CHECK(cg_remove_tree("/sys/fs/cgroup/pids", &e) < 0 && e.errnum == EINVAL);
	if (is_dir("/sys/fs/cgroup/unified"))
		CHECK(cg_remove_tree("/sys/fs/cgroup/unified/", &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_remove_tree("/sys/fs/cgroup/no-such-cgroup-here", &e) == 0);
	/* the supervisor's own cgroup (here: memory, /process_api/<id>) */
	char own[PATH_MAX], p[PATH_MAX + 32];
	if (proc_path(getpid(), "memory", own, sizeof own) && strcmp(own, "/") != 0) {
		snprintf(p, sizeof p, "/sys/fs/cgroup/memory%s", own);
		CHECK(cg_remove_tree(p, &e) < 0 && e.errnum == EBUSY);
		CHECK(is_dir(p));
	}

	struct cg_box cg;
	CHECK(cg_box_create(&cg, test_name, &e) == 0);
	remember_box(&cg);
	int gofd;
	pid_t kid = spawn(NULL, NULL, &gofd);
	CHECK(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	struct strbuf sb = { 0 };
	CHECK(cg_box_describe(&cg, &sb) == 0);
	cg_box_free(&cg); /* SIGKILLed supervisor: only the state file remains */
	size_t n = 0;
	char *s = NULL;
	for (char *l = sb.s ? strtok_r(sb.s, "\n", &s) : NULL; l; l = strtok_r(NULL, "\n", &s)) {
		CHECK(strncmp(l, "cgroup=", 7) == 0);
		int r = cg_remove_tree(l + 7, &e);
		CHECK(r == 0);
		if (r < 0)
			fprintf(stderr, "remove_tree %s: %s\n", l + 7, e.msg);
		CHECK(!is_dir(l + 7));
		n++;
	}
	CHECK(n > 0);
	sb_free(&sb);
	int st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

/* plan names every path and makes none: the state file can list them
 * before the first mkdir. A crash half-way through make leaves some made,
 * some not; removing every planned path cleans up either kind. */
static void test_plan_make(void)
{
	struct cg_box cg;
	struct perr e = { 0 };
	CHECK(cg_box_plan(&cg, test_name, &e) == 0);
	remember_box(&cg);
	CHECK(cg.n_hier > 0);
	for (size_t i = 0; i < cg.n_hier; i++) {
		char want[PATH_MAX];
		expect_path(&cg.hier[i], test_name, want, sizeof want);
		CHECK_STREQ(cg.hier[i].path, want);
		CHECK(!is_dir(cg.hier[i].path));
	}
	struct strbuf sb = { 0 };
	CHECK(cg_box_describe(&cg, &sb) == 0);
	CHECK(cg_box_make(&cg, &e) == 0);
	for (size_t i = 0; i < cg.n_hier; i++)
		CHECK(is_dir(cg.hier[i].path));
	/* "killed after the first mkdir": only the first dir exists */
	for (size_t i = 1; i < cg.n_hier; i++)
		CHECK(rmdir(cg.hier[i].path) == 0);
	int gofd;
	pid_t kid = spawn(NULL, NULL, &gofd);
	char procs[PATH_MAX + 16];
	snprintf(procs, sizeof procs, "%s/cgroup.procs", cg.hier[0].path);
	FILE *f = fopen(procs, "w");
	CHECK(f && fprintf(f, "%d", (int)kid) > 0);
	CHECK(f && fclose(f) == 0);
	go(&gofd);
	cg_box_free(&cg);
	char *s = NULL;
	for (char *l = sb.s ? strtok_r(sb.s, "\n", &s) : NULL; l; l = strtok_r(NULL, "\n", &s)) {
		CHECK(cg_remove_tree(l + 7, &e) == 0);
		CHECK(!is_dir(l + 7));
	}
	sb_free(&sb);
	int st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

int main(void)
{
	enum cg_layout layout;
	const char *v2mount;
	int r = cgtest_start("test_cgroupns", NULL, &layout, &v2mount);
	if (r)
		return r;

	(void)v2mount;
	test_detect();
	test_pid_path();
	test_box();
	test_exists_not_ours();
	test_remove_tree();
	test_plan_make();

	cleanup();
	/* After cleanup nothing of ours remains under any hierarchy. */
	for (size_t i = 0; i < ncleanup; i++)
		CHECK(!is_dir(cleanup_dirs[i]));
	return check_done("test_cgroupns");
}
