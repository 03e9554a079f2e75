/* enter: live bind mounts (OP "bind" and "unbind"): a host path attached
 * inside the running box, visible at once to every process in it.
 *
 *   supervisor   open_tree(OPEN_TREE_CLONE [|AT_RECURSIVE]) of the host
 *                path: a detached copy of the mount, made read-only with
 *                mount_setattr (recursively with rec) before anyone sees it
 *   helper       a short-lived fork that joins the box's mount namespace
 *                (its root is then the box's root), resolves the target
 *                below it without following any symlink (openat2
 *                RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS), makes it with
 *                mkdir, and move_mount()s the copy there
 *
 * The supervisor never waits for the helper: the connection polls its
 * result pipe from a timer, and kills it after BIND_WAIT_MS (a box could
 * hang a path lookup on a FUSE mount of its own). Only what planet bound
 * may be unbound, and the live binds are listed by STATUS; none survives
 * a restart of the supervisor (the config's `volume` does). */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIND_WAIT_MS 5000
#define BIND_POLL_MS 5
#define BINDS_MAX 256
#define MSG_MAX 512

struct live_bind {
	char *source, *target;
	bool ro, rec;
};

static struct live_bind binds[BINDS_MAX];
static size_t n_binds;

/* A path planet takes: absolute, no ".." component, no control character. */
static bool box_path_ok(const char *p)
{
	size_t n = strlen(p);
	if (p[0] != '/' || n >= 4096)
		return false;
	for (const char *q = p; *q; q++)
		if ((unsigned char)*q < 0x20)
			return false;
	return !strstr(p, "/../") && !(n >= 3 && strcmp(p + n - 3, "/..") == 0);
}

static int find_bind(const char *target)
{
	for (size_t i = 0; i < n_binds; i++)
		if (strcmp(binds[i].target, target) == 0)
			return (int)i;
	return -1;
}

/* ---- the helper, inside the box's mount namespace --------------------------- */

static int resolve_target(const char *target, bool dir, bool mkdir_it, struct perr *e)
{
	_cleanup_fd_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return perr_set(e, errno, "the box's root");
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, root, target, &how, sizeof how);
	if (fd >= 0 || errno != ENOENT || !mkdir_it) {
		if (fd < 0 && errno == ELOOP)
			return perr_set(e, 0, "bind: %s in the box goes through a symbolic link "
					      "(refused)", target);
		if (fd < 0)
			return perr_set(e, errno, "bind: %s in the box", target);
		return fd;
	}
	/* --mkdir: parents 0755, and the target itself (a file for a file) */
	if (dir)
		return root_mkdir_p(root, target, 0755, e);
	return root_touch(root, target, 0644, e);
}

struct helper_arg {
	int init_pidfd, tree;
	const char *target;
	bool dir, mkdir_it, unbind;
};

static _Noreturn void helper(void *arg, int out)
{
	const struct helper_arg *a = arg;
	const char *target = a->target;
	struct perr e = { 0 };
	int rc = 0;
	if (setns(a->init_pidfd, CLONE_NEWNS) < 0) {
		rc = perr_set(&e, errno, "join the box's mount namespace");
	} else if (a->unbind) {
		/* the root is the box's now: the path cannot leave it */
		if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			rc = perr_set(&e, errno, "unmount %s in the box", target);
	} else {
		_cleanup_fd_ int t = resolve_target(target, a->dir, a->mkdir_it, &e);
		if (t < 0)
			rc = -1;
		else if (move_mount(a->tree, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			rc = perr_set(&e, errno, "attach at %s in the box", target);
	}
	if (rc < 0)
		(void)write_all(out, e.msg, strnlen(e.msg, MSG_MAX - 1));
	_exit(rc < 0 ? 1 : 0);
}

/* ---- the supervisor's side ----------------------------------------------------- */

struct bind_job {
	struct enter_conn *c;
	struct inbox_job h;
	struct live_bind b;
	bool unbind;
};

static void job_free(struct bind_job *j)
{
	inbox_job_close(&j->h);
	free(j->b.source);
	free(j->b.target);
	free(j);
}

/* The helper's end: its message, or the bind recorded. */
static void job_poll(uv_timer_t *t)
{
	struct enter_conn *c = t->data;
	struct bind_job *j = conn_job(c);
	siginfo_t si;
	bool give_up = conn_waited_ms(c) >= BIND_WAIT_MS;
	bool done = inbox_job_ended(&j->h, give_up, &si);
	if (!done && !give_up)
		return;
	uv_timer_stop(t);
	conn_set_job(c, NULL);
	if (!done) {
		conn_fail(c, EXIT_PLANET, PE_TIMEOUT, "bind: the box did not answer within 5 s");
		job_free(j);
		return;
	}
	char msg[MSG_MAX];
	inbox_job_message(&j->h, msg, sizeof msg);
	if (si.si_code != CLD_EXITED || si.si_status != 0) {
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, msg[0] ? msg : "bind: the helper failed");
		job_free(j);
		return;
	}
	_cleanup_strbuf_ struct strbuf b = { 0 };
	int k = find_bind(j->b.target);
	if (j->unbind) {
		free(binds[k].source);
		free(binds[k].target);
		binds[k] = binds[--n_binds];
		sb_printf(&b, "unbound=%s\n", j->b.target);
	} else {
		binds[n_binds++] = j->b;
		j->b = (struct live_bind){ 0 };
		sb_printf(&b, "bound=%s\n", binds[n_binds - 1].target);
	}
	job_free(j);
	conn_send_data(c, PK_OP_REPLY, b.s, b.len);
	conn_end(c);
}

static int start_helper(struct enter_conn *c, struct bind_job *j, int tree, bool dir,
			bool mkdir_it, struct perr *e)
{
	struct helper_arg a = { .init_pidfd = conn_box(c)->init_pidfd, .tree = tree,
				.target = j->b.target, .dir = dir, .mkdir_it = mkdir_it,
				.unbind = j->unbind };
	if (inbox_job_start(&j->h, helper, &a, e) < 0)
		return -1;
	conn_set_job(c, j);
	conn_wait(c, job_poll, BIND_POLL_MS);
	return 0;
}

static bool flag(const char *args, const char *key)
{
	char v[4];
	return kv_get(args, key, v, sizeof v) && strcmp(v, "1") == 0;
}

static void audit_bind(struct enter_conn *c, const char *what, const struct live_bind *b)
{
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	_cleanup_strbuf_ struct strbuf s = { 0 }, t = { 0 };
	sb_quote(&s, b->source ? b->source : "", 1024);
	sb_quote(&t, b->target, 1024);
	enter_audit("enter: %s uid=%u pid=%d source=%s target=%s%s", what, (unsigned)uid, (int)pid,
		    s.s ? s.s : "\"\"", t.s, b->ro ? " ro" : "");
}

void binds_bind(struct enter_conn *c, const char *args)
{
	char src[4096], tgt[4096];
	struct perr e = { 0 };
	if (!kv_get(args, "source", src, sizeof src) || !box_path_ok(src) ||
	    !kv_get(args, "target", tgt, sizeof tgt) || !box_path_ok(tgt)) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, "bind: expected an absolute host path and an absolute box path");
		return;
	}
	if (find_bind(tgt) >= 0 || n_binds == BINDS_MAX) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, n_binds == BINDS_MAX ? "bind: too many live binds"
							       : "bind: something is bound there already");
		return;
	}
	bool ro = flag(args, "ro"), rec = flag(args, "rec");
	struct stat st;
	if (stat(src, &st) < 0) {
		perr_set(&e, errno, "bind: %s on the host", src);
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
		return;
	}
	_cleanup_fd_ int tree = open_tree(AT_FDCWD, src,
					  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
	if (tree < 0 ||
	    (ro && mount_setattr(tree, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr,
				 sizeof attr) < 0)) {
		perr_set(&e, errno, "bind: %s %s", tree < 0 ? "clone" : "make read-only", src);
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
		return;
	}
	struct bind_job *j = calloc(1, sizeof *j);
	if (!j || !(j->b.source = strdup(src)) || !(j->b.target = strdup(tgt))) {
		if (j)
			job_free(j);
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "bind: out of memory");
		return;
	}
	j->h = (struct inbox_job){ .pidfd = -1, .out = -1 };
	j->b.ro = ro;
	j->b.rec = rec;
	j->c = c;
	audit_bind(c, "bind", &j->b);
	if (start_helper(c, j, tree, S_ISDIR(st.st_mode), flag(args, "mkdir"), &e) < 0) {
		job_free(j);
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
	}
}

void binds_unbind(struct enter_conn *c, const char *args)
{
	char tgt[4096];
	struct perr e = { 0 };
	if (!kv_get(args, "target", tgt, sizeof tgt) || !box_path_ok(tgt)) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, "unbind: expected an absolute box path");
		return;
	}
	if (find_bind(tgt) < 0) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, "unbind: planet bound nothing there (see planet status)");
		return;
	}
	struct bind_job *j = calloc(1, sizeof *j);
	if (!j || !(j->b.target = strdup(tgt))) {
		free(j);
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "unbind: out of memory");
		return;
	}
	j->h = (struct inbox_job){ .pidfd = -1, .out = -1 };
	j->unbind = true;
	j->c = c;
	audit_bind(c, "unbind", &j->b);
	if (start_helper(c, j, -1, false, false, &e) < 0) {
		job_free(j);
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
	}
}

void binds_describe(struct strbuf *b)
{
	for (size_t i = 0; i < n_binds; i++)
		sb_printf(b, "bind.%zu=%s:%s%s%s\n", i + 1, binds[i].source, binds[i].target,
			  binds[i].ro ? ":ro" : "", binds[i].rec ? ":rec" : "");
}

void binds_forget(void)
{
	for (size_t i = 0; i < n_binds; i++) {
		free(binds[i].source);
		free(binds[i].target);
	}
	n_binds = 0;
}

void binds_job_cancel(void *job)
{
	struct bind_job *j = job;
	if (!j)
		return;
	siginfo_t si;
	(void)inbox_job_ended(&j->h, true, &si);
	job_free(j);
}
