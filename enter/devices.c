/* enter: live devices (OP "device-add" and "device-remove"): a host device
 * node given to the running box, or taken back.
 *
 *   supervisor   parses the --device spec, expands its glob over the
 *                host's /dev and stats each match (character and block
 *                devices only), then changes the box's device cgroup
 *                (cgroupns: v1 devices.allow/deny, v2 a rebuilt BPF
 *                program swapped in with BPF_F_REPLACE)
 *   helper       a short-lived fork that joins the box's mount namespace
 *                (its root is then the box's root) and makes or removes
 *                the nodes there, every directory resolved below the
 *                root without following a symbolic link (openat2
 *                RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)
 *
 * add allows first and creates after (a failed creation takes the rules
 * back); remove denies first and deletes after, so a node the box keeps or
 * makes again with mknod cannot be opened. Only what this supervisor added
 * live may be removed: the config's devices are the box's for its whole
 * life. The supervisor never waits for the helper (polled from the
 * connection's timer, killed after DEV_WAIT_MS, as binds.c does). The
 * live devices are listed by STATUS and none survives a restart of the
 * supervisor (the config's `device` does). */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroupns/cgroupns.h"
#include "config/config.h"

#define DEV_WAIT_MS 5000
#define DEV_POLL_MS 5
#define DEVS_MAX 256	/* live devices of a box */
#define ADD_MAX 64	/* nodes one add may create */
#define MSG_MAX 512

struct live_dev {
	char *path;
	mode_t mode; /* S_IFCHR or S_IFBLK | permission bits */
	dev_t rdev;
	uid_t uid;
	gid_t gid;
	char perms[4];
	bool pending; /* its add is still running */
};

static struct live_dev devs[DEVS_MAX];
static size_t n_devs;

static int find_dev(const char *path)
{
	for (size_t i = 0; i < n_devs; i++)
		if (strcmp(devs[i].path, path) == 0)
			return (int)i;
	return -1;
}

static void forget_dev(size_t i)
{
	free(devs[i].path);
	devs[i] = devs[--n_devs];
}

static struct cg_dev_rule dev_rule(const struct live_dev *d)
{
	struct cg_dev_rule r = { .type = S_ISBLK(d->mode) ? 'b' : 'c',
				 .major = (long)major(d->rdev),
				 .minor = (long)minor(d->rdev) };
	snprintf(r.access, sizeof r.access, "%s", d->perms);
	return r;
}

/* ---- the helper, inside the box's mount namespace --------------------------- */

static int open_dir(int at, const char *path)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					   RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, at, path, &how, sizeof how);
}

/* The directory of path in the box (made, 0755, when mk), and its last
 * component. No component may be a symbolic link. */
static int parent_dir(const char *path, bool mk, const char **name, struct perr *e)
{
	const char *slash = strrchr(path, '/');
	*name = slash + 1;
	_cleanup_fd_ int dir = open_dir(AT_FDCWD, "/");
	for (const char *p = path + 1; dir >= 0 && p < slash;) {
		size_t n = strcspn(p, "/");
		char comp[256];
		if (n >= sizeof comp)
			return perr_set(e, ENAMETOOLONG, "%s in the box", path);
		memcpy(comp, p, n);
		comp[n] = 0;
		if (mk && mkdirat(dir, comp, 0755) < 0 && errno != EEXIST)
			return perr_set(e, errno, "mkdir for %s in the box", path);
		int next = open_dir(dir, comp);
		close(dir);
		dir = next;
		p += n + 1;
	}
	if (dir < 0 && errno == ELOOP)
		return perr_set(e, 0, "device: %s in the box goes through a symbolic link (refused)",
				path);
	if (dir < 0)
		return perr_set(e, errno, "device: %s in the box", path);
	return take_fd(&dir);
}

static int chmod_node(int dir, const char *name, mode_t mode)
{
	_cleanup_fd_ int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return fd < 0 ? -1 : chmod(p, mode);
}

static int make_node(const struct live_dev *d, struct perr *e)
{
	const char *name;
	_cleanup_fd_ int dir = parent_dir(d->path, true, &name, e);
	if (dir < 0)
		return -1;
	if (mknodat(dir, name, d->mode, d->rdev) < 0)
		return errno == EEXIST
			       ? perr_set(e, 0, "device: %s exists in the box already", d->path)
			       : perr_set(e, errno, "device: mknod %s in the box", d->path);
	/* umask is 0: mknod gave the mode. chown clears set-id bits, which go
	 * back through the node's own fd (never a path the box could swap). */
	if (fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    ((d->mode & 06000) && chmod_node(dir, name, d->mode & 07777) < 0)) {
		int err = errno;
		(void)unlinkat(dir, name, 0);
		return perr_set(e, err, "device: chown/chmod %s in the box", d->path);
	}
	return 0;
}

/* Only the node planet made (same type and device number) is removed:
 * something else the box put there since is its own. */
static void remove_node(const struct live_dev *d)
{
	const char *name;
	_cleanup_fd_ int dir = parent_dir(d->path, false, &name, NULL);
	struct stat st;
	if (dir >= 0 && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (st.st_mode & S_IFMT) == (d->mode & S_IFMT) && st.st_rdev == d->rdev)
		(void)unlinkat(dir, name, 0);
}

struct dev_job {
	struct inbox_job h;
	bool rm;
	struct live_dev *list; /* copies of the records (paths shared with them) */
	size_t n;
	int init_pidfd;	       /* the box's init, for the helper */
};

static _Noreturn void helper(void *arg, int out)
{
	const struct dev_job *j = arg;
	const struct live_dev *list = j->list;
	size_t n = j->n;
	struct perr e = { 0 };
	int rc = 0;
	umask(0);
	if (setns(j->init_pidfd, CLONE_NEWNS) < 0) {
		rc = perr_set(&e, errno, "join the box's mount namespace");
	} else if (j->rm) {
		for (size_t i = 0; i < n; i++)
			remove_node(&list[i]);
	} else {
		for (size_t i = 0; i < n && rc == 0; i++)
			if ((rc = make_node(&list[i], &e)) < 0)
				while (i--) /* all or nothing */
					remove_node(&list[i]);
	}
	if (rc < 0)
		(void)write_all(out, e.msg, strnlen(e.msg, MSG_MAX - 1));
	_exit(rc < 0 ? 1 : 0);
}

/* ---- the supervisor's side ----------------------------------------------------- */

static void job_free(struct dev_job *j)
{
	inbox_job_close(&j->h);
	free(j->list);
	free(j);
}

static struct cg_box *box_cg(struct enter_conn *c)
{
	return conn_box(c)->cg;
}

/* Deny the rules of list again (add's undo). */
static void deny_list(struct enter_conn *c, const struct live_dev *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cg_dev_rule r = dev_rule(&list[i]);
		(void)cg_box_deny_devices(box_cg(c), &r, 1, NULL);
	}
}

static void forget_list(const struct live_dev *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int k = find_dev(list[i].path);
		if (k >= 0)
			forget_dev((size_t)k);
	}
}

/* The add is complete: the records are live. */
static void add_keep(const struct dev_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		int k = find_dev(j->list[i].path);
		if (k >= 0)
			devs[k].pending = false;
	}
}

static void add_done(struct enter_conn *c, struct dev_job *j, enum proto_err code,
		     const char *err)
{
	if (err) {
		deny_list(c, j->list, j->n);
		forget_list(j->list, j->n);
		conn_fail(c, EXIT_PLANET, code, err);
		return;
	}
	add_keep(j);
	_cleanup_strbuf_ struct strbuf b = { 0 };
	for (size_t i = 0; i < j->n; i++) {
		sb_printf(&b, "added=%s %c %u:%u %s\n", j->list[i].path,
			  S_ISBLK(j->list[i].mode) ? 'b' : 'c', major(j->list[i].rdev),
			  minor(j->list[i].rdev), j->list[i].perms);
	}
	conn_send_data(c, PK_OP_REPLY, b.s, b.len);
	conn_end(c);
}

static void job_poll(uv_timer_t *t)
{
	struct enter_conn *c = t->data;
	struct dev_job *j = conn_job(c);
	siginfo_t si;
	bool give_up = conn_waited_ms(c) >= DEV_WAIT_MS;
	bool done = inbox_job_ended(&j->h, give_up, &si);
	if (!done && !give_up)
		return;
	uv_timer_stop(t);
	conn_set_job_fn(c, NULL, NULL);
	char msg[MSG_MAX] = "";
	if (!done)
		snprintf(msg, sizeof msg, "device: the box did not answer within 5 s");
	else if ((si.si_code != CLD_EXITED || si.si_status != 0) &&
		 !inbox_job_message(&j->h, msg, sizeof msg))
		snprintf(msg, sizeof msg, "device: the helper failed");
	if (!j->rm) {
		add_done(c, j, done ? PE_BAD_REQUEST : PE_TIMEOUT, msg[0] ? msg : NULL);
	} else if (msg[0]) {
		char full[MSG_MAX + 96];
		snprintf(full, sizeof full, "device remove: %s is denied, but its node may remain: %s",
			 j->list[0].path, msg);
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, full);
	} else {
		_cleanup_strbuf_ struct strbuf b = { 0 };
		sb_printf(&b, "removed=%s\n", j->list[0].path);
		conn_send_data(c, PK_OP_REPLY, b.s, b.len);
		conn_end(c);
	}
	if (j->rm)
		free(j->list[0].path); /* the record is gone: the copy owned it */
	job_free(j);
}

/* A connection closed while its helper ran: an add whose nodes are all
 * made stands (status lists it); else the helper is killed and the rules
 * taken back (a node it made before is left, denied). */
static void job_cancel(void *job, struct enter_conn *c)
{
	struct dev_job *j = job;
	siginfo_t si;
	bool made = inbox_job_ended(&j->h, true, &si) && si.si_code == CLD_EXITED &&
		    si.si_status == 0;
	if (!j->rm && made) {
		add_keep(j);
	} else if (!j->rm) {
		deny_list(c, j->list, j->n);
		forget_list(j->list, j->n);
	} else {
		free(j->list[0].path);
	}
	job_free(j);
}

static int start_helper(struct enter_conn *c, struct dev_job *j, struct perr *e)
{
	j->init_pidfd = conn_box(c)->init_pidfd;
	if (inbox_job_start(&j->h, helper, j, e) < 0)
		return -1;
	conn_set_job_fn(c, j, job_cancel);
	conn_wait(c, job_poll, DEV_POLL_MS);
	return 0;
}

static void audit_dev(struct enter_conn *c, const char *what, const struct live_dev *d)
{
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	_cleanup_strbuf_ struct strbuf p = { 0 };
	sb_quote(&p, d->path, 1024);
	enter_audit("enter: %s uid=%u pid=%d path=%s dev=%c%u:%u access=%s", what, (unsigned)uid,
		    (int)pid, p.s, S_ISBLK(d->mode) ? 'b' : 'c', major(d->rdev), minor(d->rdev),
		    d->perms);
}

/* ---- add ------------------------------------------------------------------------ */

/* Every character or block device the spec's glob matches on the host,
 * appended to the records (pending). */
static int expand(const struct device_spec *s, struct dev_job *j, struct perr *e)
{
	glob_t g = { 0 };
	int r = glob(s->glob, GLOB_NOSORT, NULL, &g);
	const char *not_dev = NULL;
	int rc = 0;
	for (size_t i = 0; r == 0 && rc == 0 && i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		struct stat st;
		if (stat(path, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
			not_dev = not_dev ? not_dev : path;
			continue;
		}
		if (strncmp(path, "/dev/", 5) != 0 || strstr(path, "/..") || strchr(path, '\n'))
			continue;
		if (find_dev(path) >= 0)
			rc = perr_set(e, 0, "device add: %s was added already (see planet status)", path);
		else if (j->n == ADD_MAX || n_devs == DEVS_MAX)
			rc = perr_set(e, 0, "device add: more than %d devices", j->n == ADD_MAX ? ADD_MAX : DEVS_MAX);
		else if (!(devs[n_devs].path = strdup(path)))
			rc = perr_set(e, ENOMEM, "device add");
		if (rc < 0)
			break;
		struct live_dev *d = &devs[n_devs++];
		d->mode = (st.st_mode & S_IFMT) | (s->has_mode ? s->mode : (st.st_mode & 07777));
		d->rdev = st.st_rdev;
		d->uid = s->uid;
		d->gid = s->gid;
		snprintf(d->perms, sizeof d->perms, "%s", s->perms);
		d->pending = true;
		j->list[j->n++] = *d;
	}
	if (rc == 0 && r == GLOB_NOSPACE)
		rc = perr_set(e, ENOMEM, "device add: glob %s", s->glob);
	else if (rc == 0 && j->n == 0 && not_dev)
		rc = perr_set(e, 0, "device add: %s is not a character or block device", not_dev);
	else if (rc == 0 && j->n == 0)
		rc = perr_set(e, 0, "device add: no character or block device matches %s on the host",
			      s->glob);
	globfree(&g);
	return rc;
}

static int allow_list(struct enter_conn *c, const struct dev_job *j, struct perr *e)
{
	struct cg_dev_rule rules[ADD_MAX];
	for (size_t i = 0; i < j->n; i++)
		rules[i] = dev_rule(&j->list[i]);
	return cg_box_allow_devices(box_cg(c), rules, j->n, e);
}

void devices_add(struct enter_conn *c, const char *args)
{
	char spec[4096];
	struct perr e = { 0 };
	struct device_spec *s = NULL;
	size_t ns = 0;
	if (!kv_get(args, "spec", spec, sizeof spec)) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, "device add: expected spec=SPEC");
		return;
	}
	if (device_spec_parse(spec, &s, &ns, &e) < 0) {
		char msg[sizeof e.msg + 16];
		snprintf(msg, sizeof msg, "device add: %s", e.msg);
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, msg);
		return;
	}
	struct dev_job *j = calloc(1, sizeof *j);
	struct live_dev *list = calloc(ADD_MAX, sizeof *list);
	if (!j || !list) {
		free(j);
		free(list);
		device_spec_free(&s[0]);
		free(s);
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "device add: out of memory");
		return;
	}
	*j = (struct dev_job){ .h = { .pidfd = -1, .out = -1 }, .list = list };
	int rc = expand(&s[0], j, &e);
	device_spec_free(&s[0]);
	free(s);
	if (rc == 0 && allow_list(c, j, &e) < 0)
		rc = perr_wrap(&e, "device add");
	if (rc < 0) {
		forget_list(j->list, j->n);
		job_free(j);
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
		return;
	}
	for (size_t i = 0; i < j->n; i++)
		audit_dev(c, "device-add", &j->list[i]);
	if (start_helper(c, j, &e) < 0) {
		deny_list(c, j->list, j->n);
		forget_list(j->list, j->n);
		job_free(j);
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, e.msg);
	}
}

/* ---- remove --------------------------------------------------------------------- */

void devices_remove(struct enter_conn *c, const char *args)
{
	char path[4096];
	struct perr e = { 0 };
	if (!kv_get(args, "path", path, sizeof path) || path[0] != '/') {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, "device remove: expected an absolute box path");
		return;
	}
	int k = find_dev(path);
	if (k < 0 || devs[k].pending) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST,
			  k < 0 ? "device remove: planet device add added nothing there (see planet "
				  "status)"
				: "device remove: that device is still being added");
		return;
	}
	struct dev_job *j = calloc(1, sizeof *j);
	struct live_dev *list = calloc(1, sizeof *list);
	if (!j || !list) {
		free(j);
		free(list);
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "device remove: out of memory");
		return;
	}
	*j = (struct dev_job){ .h = { .pidfd = -1, .out = -1 }, .rm = true, .list = list, .n = 1 };
	struct cg_dev_rule r = dev_rule(&devs[k]);
	if (cg_box_deny_devices(box_cg(c), &r, 1, &e) < 0) {
		job_free(j);
		perr_wrap(&e, "device remove");
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, e.msg);
		return;
	}
	/* Denied: the record goes, its path to the job. */
	audit_dev(c, "device-remove", &devs[k]);
	list[0] = devs[k];
	devs[k] = devs[--n_devs];
	if (start_helper(c, j, &e) < 0) {
		free(list[0].path);
		job_free(j);
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, e.msg);
	}
}

void devices_describe(struct strbuf *b)
{
	for (size_t i = 0; i < n_devs; i++)
		if (!devs[i].pending)
			sb_printf(b, "device.%zu=%s %c %u:%u %s\n", i + 1, devs[i].path,
				  S_ISBLK(devs[i].mode) ? 'b' : 'c', major(devs[i].rdev),
				  minor(devs[i].rdev), devs[i].perms);
}

void devices_forget(void)
{
	while (n_devs)
		forget_dev(n_devs - 1);
}
