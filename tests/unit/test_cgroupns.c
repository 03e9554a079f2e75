/* cgroupns tests, for real, as root: the host's cgroup hierarchies, a real
 * device BPF program, real mounts in a child's namespaces. A pure cgroup v2
 * host is simulated in a child's private mount namespace (cgroup2 mounted on
 * /sys/fs/cgroup), so the unified paths run too on a hybrid machine.
 *
 * Everything made here is named *-<pid> and removed at the end whatever
 * happened; leftovers of a crashed earlier run (dead pid) are removed first. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/cgroupns.h"
#include "tests/unit/check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXKIDS 32

static pid_t kids[MAXKIDS];
static size_t nkids;
static char test_name[64];	   /* planet-test-<pid> */
static char cleanup_dirs[64][PATH_MAX]; /* everything to cg_remove_tree at the end */
static size_t ncleanup;
static char tmpdirs[4][PATH_MAX];
static size_t ntmp;

static void remember_dir(const char *p)
{
	for (size_t i = 0; i < ncleanup; i++)
		if (strcmp(cleanup_dirs[i], p) == 0)
			return;
	if (ncleanup < 64)
		snprintf(cleanup_dirs[ncleanup++], PATH_MAX, "%s", p);
}

static void remember_box(const struct cg_box *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		remember_dir(cg->hier[i].path);
}

/* A child that waits for a byte on `go` (after the parent has placed it),
 * then runs fn (or pauses). Returns its pid; *gofd is the write end. */
static pid_t spawn(int (*fn)(void *), void *arg, int *gofd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[1]);
		char c;
		if (read(p[0], &c, 1) != 1)
			_exit(120);
		if (fn)
			_exit(fn(arg));
		for (;;)
			pause();
	}
	close(p[0]);
	if (nkids < MAXKIDS)
		kids[nkids++] = pid;
	*gofd = p[1];
	return pid;
}

static void go(int *gofd)
{
	if (*gofd >= 0) {
		if (write(*gofd, "x", 1) != 1)
			perror("go");
		close(*gofd);
		*gofd = -1;
	}
}

static void forget_kid(pid_t pid)
{
	for (size_t i = 0; i < nkids; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

/* waitpid with a deadline; returns the status or -1 on timeout. */
static int wait_for(pid_t pid, int ms)
{
	int st;
	for (int i = 0; i < ms; i++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			forget_kid(pid);
			return st;
		}
		if (r < 0)
			return -1;
		usleep(1000);
	}
	return -1;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int read_text(const char *path, char **out)
{
	return read_file_at(AT_FDCWD, path, 1 << 20, out, NULL, NULL);
}

/* The test's own reading of /proc/<pid>/cgroup: ctl NULL = "0::" line. */
static bool set_eq(const char *a, const char *b)
{
	char x[256], y[256];
	snprintf(x, sizeof x, "%s", a);
	snprintf(y, sizeof y, "%s", b);
	size_t na = 0, nb = 0;
	char *s = NULL;
	for (char *t = strtok_r(x, ",", &s); t; t = strtok_r(NULL, ",", &s))
		na++;
	snprintf(x, sizeof x, "%s", a);
	for (char *t = strtok_r(y, ",", &s); t; t = strtok_r(NULL, ",", &s)) {
		nb++;
		char pat[260];
		snprintf(pat, sizeof pat, ",%s,", t);
		char wrapped[260];
		snprintf(wrapped, sizeof wrapped, ",%s,", x);
		if (!strstr(wrapped, pat))
			return false;
	}
	return na == nb;
}

static bool proc_path(pid_t pid, const char *ctl, char *buf, size_t len)
{
	char f[64];
	snprintf(f, sizeof f, "/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *t = NULL;
	if (read_text(f, &t) < 0)
		return false;
	char *s = NULL;
	for (char *l = strtok_r(t, "\n", &s); l; l = strtok_r(NULL, "\n", &s)) {
		char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		bool m = ctl ? (c1[1] && set_eq(c1 + 1, ctl)) : (l[0] == '0' && !c1[1]);
		if (m) {
			snprintf(buf, len, "%s", c2 + 1);
			return true;
		}
	}
	return false;
}

/* ---- stale leftovers of an earlier crashed run --------------------------- */

static void clean_stale(const char *dir, int depth)
{
	if (depth > 4)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		int pid = 0;
		if (sscanf(de->d_name, "planet-test-%d", &pid) == 1 ||
		    sscanf(de->d_name, "planet-bpf-%d", &pid) == 1 ||
		    sscanf(de->d_name, "planet-own-%d", &pid) == 1) {
			if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH) {
				struct perr e = { 0 };
				if (cg_remove_tree(p, &e) < 0)
					fprintf(stderr, "stale %s: %s\n", p, e.msg);
				else
					fprintf(stderr, "removed stale %s\n", p);
			}
			continue;
		}
		clean_stale(p, depth + 1);
	}
	closedir(d);
}

/* Temp dirs of a crashed run: /tmp/planet-cgtest-<deadpid>-*, with at most
 * the empty mount-point directories the tests make inside. */
static void clean_stale_tmp(void)
{
	DIR *d = opendir("/tmp");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		int pid = 0;
		if (sscanf(de->d_name, "planet-cgtest-%d-", &pid) != 1 || pid <= 0 ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char p[PATH_MAX];
		static const char *const subs[] = { "cgroup", "v1mnt", "v2mnt", "null", "full" };
		for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
			snprintf(p, sizeof p, "/tmp/%s/%s", de->d_name, subs[i]);
			if (rmdir(p) < 0 && errno == ENOTDIR)
				unlink(p);
		}
		snprintf(p, sizeof p, "/tmp/%s", de->d_name);
		rmdir(p);
	}
	closedir(d);
}

/* ---- cleanup, run whatever happened --------------------------------------- */

static void cleanup(void)
{
	for (size_t i = 0; i < nkids; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
	for (size_t i = ncleanup; i-- > 0;) {
		struct perr e = { 0 };
		if (cg_remove_tree(cleanup_dirs[i], &e) < 0)
			fprintf(stderr, "cleanup %s: %s\n", cleanup_dirs[i], e.msg);
	}
	/* Mounts were only ever made in children's namespaces: plain dirs. */
	for (size_t i = 0; i < ntmp; i++) {
		static const char *const subs[] = { "cgroup", "v1mnt", "v2mnt", "null", "full" };
		for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
			char p[PATH_MAX + 16];
			snprintf(p, sizeof p, "%.4000s/%s", tmpdirs[i], subs[k]);
			if (rmdir(p) < 0 && errno == ENOTDIR)
				unlink(p);
		}
		rmdir(tmpdirs[i]);
	}
}

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

	/* One dir per hierarchy, in the right place. */
	for (size_t i = 0; i < cg.n_hier; i++) {
		char want[PATH_MAX];
		expect_path(&cg.hier[i], test_name, want, sizeof want);
		CHECK_STREQ(cg.hier[i].path, want);
		CHECK(is_dir(cg.hier[i].path));
		if (!cg.hier[i].v2 && strstr(cg.hier[i].options, "cpuset")) {
			char p[PATH_MAX];
			_cleanup_free_ char *cpus = NULL;
			snprintf(p, sizeof p, "%s/cpuset.cpus", cg.hier[i].path);
			CHECK(read_text(p, &cpus) == 0 && cpus[0] != '\n' && cpus[0]);
		}
	}

	/* describe */
	struct strbuf sb = { 0 };
	CHECK(cg_box_describe(&cg, &sb) == 0);
	size_t lines = 0;
	for (const char *p = sb.s; p && (p = strstr(p, "cgroup=")); p++)
		lines++;
	CHECK(lines == cg.n_hier);
	CHECK(sb.s && strncmp(sb.s, "cgroup=/sys/fs/cgroup/", 22) == 0);
	sb_free(&sb);

	/* devices: bad rules are refused before anything is written */
	struct cg_dev_rule bad1 = { 'x', 1, 3, "rwm" }, bad2 = { 'c', 1, 3, "" },
			   bad3 = { 'c', 1, 3, "rwx" };
	CHECK(cg_box_set_devices(&cg, &bad1, 1, &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_box_set_devices(&cg, &bad2, 1, &e) < 0 && e.errnum == EINVAL);
	CHECK(cg_box_set_devices(&cg, &bad3, 1, &e) < 0 && e.errnum == EINVAL);
	struct cg_dev_rule rules[] = {
		{ 'c', 1, 3, "rwm" },
		{ 'c', 1, 5, "rwm" },
		{ 'c', 136, -1, "rw" },
		{ 'b', -1, -1, "m" },
	};
	r = cg_box_set_devices(&cg, rules, 4, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "set_devices: %s\n", e.msg);
	const struct cg_hier *dev = NULL;
	for (size_t i = 0; i < cg.n_hier; i++)
		if (!cg.hier[i].v2 && set_eq(cg.hier[i].options, "devices"))
			dev = &cg.hier[i];
	if (dev) {
		char p[PATH_MAX];
		_cleanup_free_ char *list = NULL;
		snprintf(p, sizeof p, "%s/devices.list", dev->path);
		CHECK(read_text(p, &list) == 0);
		static const char *const want[] = { "c 1:3 rwm", "c 1:5 rwm", "c 136:* rw",
						    "b *:* m" };
		CHECK(lines_match(list, want, 4));
		CHECK(cg.bpf_prog_fd == -1);
	} else {
		CHECK(cg.bpf_prog_fd >= 0);
	}

	/* A process in the box is confined by those rules. */
	int gofd;
	pid_t dk = spawn(child_devices_v1, NULL, &gofd);
	CHECK(dk > 0);
	CHECK(cg_box_attach(&cg, dk, &e) == 0);
	go(&gofd);
	int st = wait_for(dk, 5000);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* attach: /proc/<child>/cgroup names the box in every hierarchy */
	pid_t kid = spawn(NULL, NULL, &gofd);
	CHECK(kid > 0);
	r = cg_box_attach(&cg, kid, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "attach: %s\n", e.msg);
	go(&gofd);
	for (size_t i = 0; i < cg.n_hier; i++) {
		char got[PATH_MAX] = "", api[PATH_MAX] = "";
		const struct cg_hier *h = &cg.hier[i];
		CHECK(proc_path(kid, h->v2 ? NULL : h->options, got, sizeof got));
		CHECK_STREQ(got, h->path + strlen(h->mountpoint));
		const char *ctl = h->v2 ? "" : strchr(h->options, ',') ? NULL : h->options;
		if (ctl) {
			CHECK(cg_pid_path(kid, ctl, api, sizeof api, &e) == 0);
			CHECK_STREQ(api, got);
		}
	}
	CHECK(!cg_box_empty(&cg));
	/* One process in N hierarchies is signalled once. */
	CHECK(cg_box_kill(&cg, SIGTERM) == 1);
	st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	usleep(20000);
	CHECK(cg_box_empty(&cg));

	/* destroy: a process in a sub-cgroup (as systemd inside would make)
	 * dies and every directory goes. */
	kid = spawn(NULL, NULL, &gofd);
	CHECK(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	for (size_t i = 0; i < cg.n_hier; i++) {
		const struct cg_hier *h = &cg.hier[i];
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
	CHECK(!cg_box_empty(&cg));
	r = cg_box_destroy(&cg, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "destroy: %s\n", e.msg);
	st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (size_t i = 0; i < cg.n_hier; i++) {
		CHECK(!is_dir(cg.hier[i].path));
		/* /planet stays only if another box lives in it */
		char base[PATH_MAX];
		snprintf(base, sizeof base, "%s/planet", cg.hier[i].mountpoint);
		if (strncmp(cg.hier[i].path, base, strlen(base)) == 0 && is_dir(base)) {
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
	CHECK(cg_box_destroy(&cg, &e) == 0); /* idempotent */
	cg_box_free(&cg);
	cg_box_free(&cg);
}

/* A crash leaves the box dir with a process in it: the next create kills
 * it and starts from a fresh directory. */
static void test_leftover(void)
{
	struct cg_box cg;
	struct perr e = { 0 };
	CHECK(cg_box_create(&cg, test_name, &e) == 0);
	remember_box(&cg);
	int gofd;
	pid_t kid = spawn(NULL, NULL, &gofd);
	CHECK(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	struct cg_dev_rule none = { 'c', 1, 3, "r" };
	CHECK(cg_box_set_devices(&cg, &none, 1, &e) == 0);
	cg_box_free(&cg); /* "crash": nothing removed */

	int r = cg_box_create(&cg, test_name, &e);
	CHECK(r == 0);
	if (r < 0)
		fprintf(stderr, "create over leftover: %s\n", e.msg);
	int st = wait_for(kid, 2000);
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	CHECK(cg_box_empty(&cg));
	/* fresh directory: default device rules again (inherited "a *:* rwm") */
	for (size_t i = 0; i < cg.n_hier; i++)
		if (!cg.hier[i].v2 && set_eq(cg.hier[i].options, "devices")) {
			char p[PATH_MAX];
			_cleanup_free_ char *list = NULL;
			snprintf(p, sizeof p, "%s/devices.list", cg.hier[i].path);
			CHECK(read_text(p, &list) == 0 && strcmp(list, "a *:* rwm\n") == 0);
		}
	CHECK(cg_box_destroy(&cg, &e) == 0);
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

/* ---- the v2 device program, for real ------------------------------------- */

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

struct devprobe {
	const char *path;
	int flags;
	bool ok;
};
struct devprobes {
	const struct devprobe *p;
	size_t n;
	const char *tmp; /* for mknod probes */
};

/* Open each device; an expected failure is EPERM. Also mknod c 1:3 (allowed
 * with m) and c 1:7 (not). */
static int child_probe(void *arg)
{
	const struct devprobes *pr = arg;
	int bad = 0;
	for (size_t i = 0; i < pr->n; i++) {
		int fd = open(pr->p[i].path, pr->p[i].flags);
		int err = errno;
		if (fd >= 0)
			close(fd);
		bool ok = fd >= 0;
		if (ok != pr->p[i].ok || (!ok && err != EPERM)) {
			fprintf(stderr, "probe %s flags %#x: %s (want %s)\n", pr->p[i].path,
				pr->p[i].flags, ok ? "opened" : strerror(err),
				pr->p[i].ok ? "success" : "EPERM");
			bad++;
		}
	}
	if (pr->tmp) {
		char a[PATH_MAX], b[PATH_MAX];
		snprintf(a, sizeof a, "%s/null", pr->tmp);
		snprintf(b, sizeof b, "%s/full", pr->tmp);
		if (mknod(a, S_IFCHR | 0600, makedev(1, 3)) < 0) {
			fprintf(stderr, "mknod c 1:3: %s\n", strerror(errno));
			bad++;
		}
		unlink(a);
		if (mknod(b, S_IFCHR | 0600, makedev(1, 7)) == 0 || errno != EPERM) {
			fprintf(stderr, "mknod c 1:7 was not refused with EPERM\n");
			bad++;
		}
		unlink(b);
	}
	return bad;
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
	usleep(10000);
	CHECK(rmdir(dir) == 0); /* the attachment goes with the cgroup */
}

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

static long fs_type(const char *p)
{
	struct statfs sf;
	return statfs(p, &sf) == 0 ? (long)sf.f_type : -1;
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
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		char dn[256] = "";
		if (h->v2) {
			snprintf(dn, sizeof dn, "unified");
		} else if (strncmp(h->options, "name=", 5) == 0) {
			snprintf(dn, sizeof dn, "%s", h->options + 5);
		} else {
			snprintf(dn, sizeof dn, "%s", h->options);
		}
		char d[PATH_MAX], sub[PATH_MAX + 16], procs[PATH_MAX + 16];
		snprintf(d, sizeof d, "%s/%s", a->dir, dn);
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
				snprintf(l, sizeof l, "%s/%s", a->dir, tok);
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

static int child_v2(void *arg)
{
	const char *tmp = arg;
	fail_n = 0;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		fprintf(stderr, "v2 setup: %s\n", strerror(errno));
		return 100;
	}
	enum cg_layout l;
	struct perr e = { 0 };
	EXPECT(cg_detect(&l, &e) == 0 && l == CG_UNIFIED);
	char own[64], procs[128], pid[32];
	snprintf(own, sizeof own, "/sys/fs/cgroup/planet-own-%d", (int)getppid());
	snprintf(procs, sizeof procs, "%s/cgroup.procs", own);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	int fd = open(procs, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
		fprintf(stderr, "v2: enter %s: %s\n", own, strerror(errno));
		return 103;
	}
	close(fd);

	char name[80];
	snprintf(name, sizeof name, "planet-test-%d-v2", (int)getppid());
	struct cg_box cg;
	if (cg_box_create(&cg, name, &e) < 0) {
		fprintf(stderr, "v2 create: %s\n", e.msg);
		return 104;
	}
	EXPECT(cg.layout == CG_UNIFIED && cg.n_hier == 1 && cg.hier[0].v2);
	char want[PATH_MAX], sup[PATH_MAX];
	snprintf(want, sizeof want, "%s/%s", own, name);
	EXPECT(strcmp(cg.hier[0].path, want) == 0);
	snprintf(sup, sizeof sup, "%s/supervisor/cgroup.procs", own);
	EXPECT(pid_listed(sup, getpid())); /* moved out of <own> */
	char mine[PATH_MAX], mine_want[PATH_MAX];
	snprintf(mine_want, sizeof mine_want, "%s/supervisor", own + strlen("/sys/fs/cgroup"));
	EXPECT(cg_pid_path(0, "", mine, sizeof mine, NULL) == 0 && strcmp(mine, mine_want) == 0);

	/* A second create (box restart) keeps <own>, does not nest deeper. */
	EXPECT(cg_box_destroy(&cg, &e) == 0);
	cg_box_free(&cg);
	if (cg_box_create(&cg, name, &e) < 0) {
		fprintf(stderr, "v2 re-create: %s\n", e.msg);
		return 105;
	}
	EXPECT(strcmp(cg.hier[0].path, want) == 0);

	struct cg_dev_rule rules[] = { { 'c', 1, 3, "rwm" } };
	EXPECT(cg_box_set_devices(&cg, rules, 1, &e) == 0);
	EXPECT(cg.bpf_prog_fd >= 0);

	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s/v2mnt", tmp);
	EXPECT(mkdir(dir, 0755) == 0);
	struct inbox_arg a = { &cg, dir };
	int gofd;
	pid_t kid = spawn(child_v2_inner, &a, &gofd);
	EXPECT(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	int st = wait_for(kid, 10000);
	EXPECT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* the device program confines the box */
	static const struct devprobe p[] = { { "/dev/null", O_RDWR, true },
					     { "/dev/full", O_RDONLY, false } };
	struct devprobes pr = { p, 2, NULL };
	kid = spawn(child_probe, &pr, &gofd);
	EXPECT(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	st = wait_for(kid, 5000);
	EXPECT(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* SIGKILL goes through cgroup.kill */
	kid = spawn(NULL, NULL, &gofd);
	EXPECT(cg_box_attach(&cg, kid, &e) == 0);
	go(&gofd);
	EXPECT(!cg_box_empty(&cg));
	EXPECT(cg_box_kill(&cg, SIGKILL) == 0);
	st = wait_for(kid, 2000);
	EXPECT(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	EXPECT(cg_box_empty(&cg));
	EXPECT(cg_box_destroy(&cg, &e) == 0);
	EXPECT(!is_dir(want));
	cg_box_free(&cg);
	rmdir(dir);

	/* The supervisor at the root of the tree: the box goes to /planet. */
	char back[PATH_MAX];
	snprintf(back, sizeof back, "/sys/fs/cgroup/cgroup.procs");
	fd = open(back, O_WRONLY);
	EXPECT(fd >= 0 && write(fd, pid, strlen(pid)) > 0);
	if (fd >= 0)
		close(fd);
	if (cg_box_create(&cg, name, &e) < 0) {
		fprintf(stderr, "v2 create at root: %s\n", e.msg);
		return 106;
	}
	snprintf(want, sizeof want, "/sys/fs/cgroup/planet/%s", name);
	EXPECT(strcmp(cg.hier[0].path, want) == 0);
	EXPECT(cg_box_destroy(&cg, &e) == 0);
	EXPECT(!is_dir(want));
	cg_box_free(&cg);
	return fail_n;
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
	/* Whatever the child left behind on a failure: create over it (which
	 * empties leftovers) and destroy. */
	struct cg_box cg;
	struct perr e = { 0 };
	if (cg_box_create(&cg, name, &e) == 0) {
		remember_box(&cg);
		cg_box_destroy(&cg, &e);
		cg_box_free(&cg);
	}
}

int main(void)
{
	if (geteuid() != 0) {
		printf("SKIP: test_cgroupns needs root\n");
		return 77;
	}
	struct statfs sf;
	if (statfs("/sys/fs/cgroup", &sf) < 0) {
		printf("SKIP: no /sys/fs/cgroup\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(test_name, sizeof test_name, "planet-test-%d", (int)getpid());
	clean_stale("/sys/fs/cgroup", 0);

	clean_stale_tmp();
	char tmp[64];
	snprintf(tmp, sizeof tmp, "/tmp/planet-cgtest-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdirs[ntmp++], PATH_MAX, "%s", tmp);

	enum cg_layout layout;
	struct perr e = { 0 };
	if (cg_detect(&layout, &e) < 0) {
		printf("SKIP: %s\n", e.msg);
		rmdir(tmp);
		return 77;
	}
	const char *v2mount = layout == CG_UNIFIED ? "/sys/fs/cgroup"
			      : is_dir("/sys/fs/cgroup/unified") &&
					  fs_type("/sys/fs/cgroup/unified") == CGROUP2_SUPER_MAGIC
				      ? "/sys/fs/cgroup/unified"
				      : NULL;

	test_detect();
	test_pid_path();
	test_box();
	test_leftover();
	test_remove_tree();
	if (v2mount)
		test_bpf(v2mount, tmp);
	else
		printf("no cgroup2 hierarchy: BPF device test skipped\n");
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
	return check_done("test_cgroupns");
}
