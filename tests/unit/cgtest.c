/* The cgroupns tests' shared harness: see cgtest.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tests/unit/cgtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t kids[MAXKIDS];
static size_t nkids;
char test_name[64];
char cleanup_dirs[64][PATH_MAX];
size_t ncleanup;
static char tmpdirs[4][PATH_MAX];
static size_t ntmp;

void remember_dir(const char *p)
{
	for (size_t i = 0; i < ncleanup; i++)
		if (strcmp(cleanup_dirs[i], p) == 0)
			return;
	if (ncleanup < 64)
		snprintf(cleanup_dirs[ncleanup++], PATH_MAX, "%s", p);
}

void remember_box(const struct cg_box *cg)
{
	for (size_t i = 0; i < cg->n_hier; i++)
		remember_dir(cg->hier[i].path);
}

pid_t spawn(int (*fn)(void *), void *arg, int *gofd)
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

void go(int *gofd)
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

int wait_for(pid_t pid, int ms)
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

bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int read_text(const char *path, char **out)
{
	return read_file_at(AT_FDCWD, path, 1 << 20, out, NULL, NULL);
}

long fs_type(const char *p)
{
	struct statfs sf;
	return statfs(p, &sf) == 0 ? (long)sf.f_type : -1;
}

bool set_eq(const char *a, const char *b)
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

bool proc_path(pid_t pid, const char *ctl, char *buf, size_t len)
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

void cleanup(void)
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

/* ---- device probes -------------------------------------------------------- */

int child_probe(void *arg)
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

/* ---- fake cgroup trees ---------------------------------------------------- */

void touch(const char *dir, const char *file, const char *content)
{
	char p[1100];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(content, f);
		fclose(f);
	}
}

const char *slurp(const char *dir, const char *file)
{
	static char buf[256];
	char p[1100];
	snprintf(p, sizeof p, "%s/%s", dir, file);
	buf[0] = 0;
	FILE *f = fopen(p, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = 0;
		fclose(f);
	}
	return buf;
}

void hier(struct cg_box *cg, const char *mnt, const char *dir, const char *opts, bool v2)
{
	struct cg_hier *h = &cg->hier[cg->n_hier++];
	h->path = strdup(dir);
	h->options = strdup(opts);
	h->mountpoint = strdup(mnt);
	h->v2 = v2;
	mkdir(dir, 0755);
}

/* ---- the start of every program ------------------------------------------ */

int cgtest_start(const char *prog, char *tmp, enum cg_layout *layout, const char **v2mount)
{
	if (geteuid() != 0) {
		printf("SKIP: %s needs root\n", prog);
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
	if (tmp) {
		snprintf(tmp, 64, "/tmp/planet-cgtest-%d-XXXXXX", (int)getpid());
		if (!mkdtemp(tmp)) {
			perror("mkdtemp");
			return 1;
		}
		snprintf(tmpdirs[ntmp++], PATH_MAX, "%s", tmp);
	}

	struct perr e = { 0 };
	if (cg_detect(layout, &e) < 0) {
		printf("SKIP: %s\n", e.msg);
		if (tmp)
			rmdir(tmp);
		return 77;
	}
	*v2mount = *layout == CG_UNIFIED ? "/sys/fs/cgroup"
		   : is_dir("/sys/fs/cgroup/unified") &&
			     fs_type("/sys/fs/cgroup/unified") == CGROUP2_SUPER_MAGIC
		       ? "/sys/fs/cgroup/unified"
		       : NULL;
	return 0;
}
