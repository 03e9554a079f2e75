/* The state dir: a lock that says "a box runs from here", and a state file
 * that says what it is made of, so that whoever comes after a crash (a new
 * `planet start`, an operator, a test) can find and remove it. */
#include "box/box.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void state_path(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *s = strchr(buf + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

/* write_file_atomic's temp files ("state.tmp<pid>"): one is left when the
 * supervisor is killed between its create and its rename. We hold the
 * lock, so none belongs to a live writer. */
static void remove_temp_files(const char *dir)
{
	_cleanup_dir_ DIR *d = opendir(dir);
	if (!d)
		return;
	const struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (strncmp(n, "state.tmp", 9) == 0 && n[9] &&
		    strspn(n + 9, "0123456789") == strlen(n + 9))
			unlinkat(dirfd(d), n, 0);
	}
}

/* A leftover of a supervisor that died without cleaning up: its cgroups may
 * still hold processes (nothing else would kill them), its files are in
 * the way. The cgroup lines may name paths that were never made (they are
 * written before the cgroup is): cg_remove_tree takes those as done. */
static void clear_stale(const char *dir, const struct box_config *cfg)
{
	char path[PATH_MAX];
	remove_temp_files(dir);
	state_path(path, sizeof path, dir, "state");
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL, NULL) == 0) {
		char *save = NULL;
		const char *id = "";
		for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			struct perr e;
			if (strncmp(l, "box_id=", 7) == 0)
				id = l + 7;
			if (strncmp(l, "cgroup=", 7) == 0 && cg_remove_tree(l + 7, &e) < 0)
				fprintf(stderr, "planet: stale box: %s\n", e.msg);
		}
		fprintf(stderr, "planet: removed the leftovers of a box that did not stop cleanly\n");
		/* Its poststop never ran: now that it is gone, it does. */
		struct hook_state hs = { id, "stopped", 0, cfg->rootfs, dir };
		box_hooks_run(cfg, HOOK_POSTSTOP, &hs, NULL);
	}
	unlink(path);
	state_path(path, sizeof path, dir, "notify");
	unlink(path);
	struct stat st;
	if (lstat(cfg->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(cfg->socket_path);
}

static pid_t running_supervisor(const char *dir)
{
	char path[PATH_MAX];
	state_path(path, sizeof path, dir, "state");
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, 1 << 16, &text, NULL, NULL) < 0)
		return 0;
	char *p = strstr(text, "supervisor_pid=");
	return p ? (pid_t)atoi(p + 15) : 0;
}

/* ---- the host's registry of running boxes (planet list) ---- */

static void registry_path(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, BOX_REGISTRY "/%d", (int)pid);
}

/* Entries of supervisors that are gone: a crash's leftovers. */
static void registry_clean(void)
{
	_cleanup_dir_ DIR *d = opendir(BOX_REGISTRY);
	for (struct dirent *de; d && (de = readdir(d));) {
		pid_t pid = (pid_t)atoi(de->d_name);
		if (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd(d), de->d_name, 0);
	}
}

/* Best effort: a box missing from `planet list` is no reason not to run. */
static void registry_add(const struct box_config *cfg)
{
	char path[PATH_MAX];
	_cleanup_strbuf_ struct strbuf b = { 0 };
	registry_path(path, sizeof path, getpid());
	if (sb_printf(&b, "state_dir=%s\nsocket=%s\n", cfg->state_dir, cfg->socket_path) < 0)
		return;
	registry_clean();
	/* another supervisor may remove the empty dir just then: try again */
	for (int i = 0; i < 3; i++)
		if (mkdir_p(BOX_REGISTRY, 0755) == 0 &&
		    write_file_atomic(path, b.s, b.len, 0644, NULL) == 0)
			return;
}

static void registry_remove(void)
{
	char path[PATH_MAX];
	registry_path(path, sizeof path, getpid());
	unlink(path);
	rmdir(BOX_REGISTRY); /* only when empty */
}

int box_state_lock(struct box_state *s, const struct box_config *cfg, struct perr *e)
{
	char path[PATH_MAX];
	s->lock_fd = -1;
	s->dir = strdup(cfg->state_dir);
	if (!s->dir)
		return perr_set(e, ENOMEM, "state dir");
	/* Remember whether the dir is ours: box_state_release removes only
	 * a dir this start created, never one the operator (or tmpfiles.d)
	 * prepared, empty or not. */
	struct stat dst;
	s->created_dir = stat(s->dir, &dst) < 0 && errno == ENOENT;
	if (mkdir_p(s->dir, 0755) < 0)
		return perr_set(e, errno, "state dir %s", s->dir);
	state_path(path, sizeof path, s->dir, "lock");
	for (;;) {
		_cleanup_fd_ int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return perr_set(e, errno, "lock %s", path);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK)
				return perr_set(e, errno, "lock %s", path);
			return perr_set(e, 0, "state dir %s is in use by a running box (supervisor pid %d); "
					      "stop it first (planet stop --socket %s)",
					s->dir, (int)running_supervisor(s->dir), cfg->socket_path);
		}
		/* The previous owner may have unlinked the file between our
		 * open and flock: only a lock on the file at the path counts. */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			s->lock_fd = take_fd(&fd);
			break;
		}
	}
	clear_stale(s->dir, cfg);
	registry_add(cfg);
	return 0;
}

int box_state_write(const struct box_state *s, const struct box_plan *p, pid_t init_pid,
		    const struct cg_box *cg, struct perr *e)
{
	const struct box_config *c = p->cfg;
	struct strbuf b = { 0 };
	char path[PATH_MAX];
	/* init_pid appears only once init runs: readers wait for that line. */
	int r = sb_printf(&b, "box_id=%s\n", p->box_id);
	if (r == 0 && init_pid > 0)
		r = sb_printf(&b, "init_pid=%d\n", (int)init_pid);
	if (r == 0)
		r = sb_printf(&b, "supervisor_pid=%d\nrootfs=%s\nstarted=%lld\nsocket=%s\n",
			      (int)getpid(), c->rootfs, (long long)time(NULL), c->socket_path);
	if (r == 0)
		r = cg_box_describe(cg, &b);
	if (r < 0) {
		sb_free(&b);
		return perr_set(e, ENOMEM, "state file");
	}
	state_path(path, sizeof path, s->dir, "state");
	r = write_file_atomic(path, b.s, b.len, 0644, e);
	sb_free(&b);
	return r;
}

void box_state_release(struct box_state *s, const struct box_config *cfg)
{
	char path[PATH_MAX];
	if (!s->dir)
		return;
	state_path(path, sizeof path, s->dir, "state");
	unlink(path);
	state_path(path, sizeof path, s->dir, "notify");
	unlink(path);
	struct stat st;
	if (lstat(cfg->socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(cfg->socket_path);
	if (s->lock_fd >= 0) {
		registry_remove();
		state_path(path, sizeof path, s->dir, "lock");
		unlink(path);
		close(s->lock_fd);
		s->lock_fd = -1;
	}
	/* Only a dir this start created, and only when empty: an operator's
	 * own dir and files stay. */
	if (s->created_dir)
		rmdir(s->dir);
	free(s->dir);
	s->dir = NULL;
}
