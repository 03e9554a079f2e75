/* `planet start`: from configuration to a plan (everything that can be
 * wrong with the input is found here, before the host is touched), then the
 * state dir, the box, the loop, and the clean-up whatever way it ends. */
#include "box/box.h"
#include "base/base.h"
#include "enter/enter.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

/* The box id is container_uuid. systemd inside makes its machine-id from
 * it on the first boot and then keeps that, so the id must stay the same
 * from boot to boot: take it from the rootfs's machine-id when there is one,
 * else a new random one. */
static bool id_from_machine_id(char id[37], const char *rootfs)
{
	_cleanup_fd_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *m = NULL;
	size_t len = 0;
	/* A regular file only: a FIFO there would block the start forever. */
	if (root < 0 || root_read_regular(root, "/etc/machine-id", 4096, &m, &len, NULL) < 0 ||
	    len < 32)
		return false;
	/* strchr finds the terminator too: a NUL byte is not a hex digit
	 * (32 NULs used to give the box id "----"). */
	for (int i = 0; i < 32; i++)
		if (!m[i] || !strchr("0123456789abcdef", m[i]))
			return false;
	snprintf(id, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", m, m + 8, m + 12, m + 16, m + 20);
	return true;
}

static int box_id_new(char id[37], const char *rootfs, struct perr *e)
{
	_cleanup_free_ char *u = NULL;
	if (id_from_machine_id(id, rootfs))
		return 0;
	if (read_file_at(AT_FDCWD, "/proc/sys/kernel/random/uuid", 64, &u, NULL, e) < 0)
		return -1;
	snprintf(id, 37, "%.36s", u);
	return 0;
}

static int plan_init_env(struct box_plan *p, struct perr *e)
{
	const struct box_config *c = p->cfg;
	size_t n = 0, max = c->env.n + 6;
	p->init_env = calloc(max + 1, sizeof(char *));
	if (!p->init_env)
		return perr_set(e, ENOMEM, "init environment");
	struct strbuf b = { 0 };
	int r = 0;
#define ADD(...)                                                             \
	do {                                                                 \
		b.len = 0;                                                   \
		if (r == 0 && sb_printf(&b, __VA_ARGS__) == 0)               \
			r = (p->init_env[n++] = strdup(b.s)) ? 0 : -1;       \
		else                                                         \
			r = -1;                                              \
	} while (0)
	ADD("container=planet");
	ADD("container_uuid=%s", p->box_id);
	ADD("PATH=" BOX_DEFAULT_PATH);
	if (c->notify_ready == NOTIFY_INIT)
		ADD("NOTIFY_SOCKET=/run/host/notify");
	/* systemd reads its system credentials from there (box/inputs.c). */
	if (c->n_credentials)
		ADD("CREDENTIALS_DIRECTORY=" BOX_CREDENTIALS_DIR);
	for (size_t i = 0; i < c->env.n; i++)
		ADD("%s=%s", c->env.v[i].key, c->env.v[i].value);
#undef ADD
	sb_free(&b);
	return r == 0 ? 0 : perr_set(e, ENOMEM, "init environment");
}

/* A rootfs directory that others cannot search (mktemp -d makes 0700 ones)
 * boots, but every non-root user inside (dbus, systemd's DynamicUser
 * services) then fails with EACCES on every path: say so up front. */
static void warn_rootfs_mode(const char *rootfs)
{
	struct stat st;
	if (stat(rootfs, &st) == 0 && !(st.st_mode & S_IXOTH))
		fprintf(stderr,
			"planet: warning: rootfs %s is mode %04o: users other than root in the box "
			"cannot reach any file (chmod 0755 it)\n",
			rootfs, (unsigned)(st.st_mode & 07777));
}

/* systemd SIGKILLs the whole unit TimeoutStopSec after it sent SIGTERM,
 * and does not tell the service that value. The shipped unit passes it as
 * TIMEOUT_STOP_SEC (set next to TimeoutStopSec=, from one value): a
 * stop_timeout that long or longer means planet's staged halt never ends
 * the way it is configured (systemd kills the box first, and planet's
 * clean-up with it). */
static void warn_unit_timeout(const struct box_config *c)
{
	const char *v = getenv("TIMEOUT_STOP_SEC");
	unsigned unit;
	if (v && *v && duration_parse(v, &unit) == 0 && c->stop_timeout_sec >= unit)
		fprintf(stderr,
			"planet: warning: stop_timeout %us is not below the unit's TimeoutStopSec %us: "
			"systemd will kill the box before planet does (raise TimeoutStopSec and "
			"TIMEOUT_STOP_SEC in the unit)\n",
			c->stop_timeout_sec, unit);
}

/* The enter and monitor groups are the host's; resolved here so that a
 * missing one is bad input (exit 2), not a box that boots and is killed
 * again. */
static int check_enter_group(const struct box_config *c, struct perr *e)
{
	struct enter_group g;
	return enter_group_resolve(c->enter_group, &g, e) < 0 ? -1
	       : enter_group_resolve_as("monitor group", c->monitor_group, &g, e);
}

int box_plan_build(struct box_plan *p, const struct box_config *cfg, struct perr *e)
{
	*p = (struct box_plan){ .cfg = cfg, .stop_signal = cfg->stop_signal };
	/* First: a directory that is no rootfs gets one line, no warnings. */
	if (box_rootfs_check(cfg, e) < 0 || check_enter_group(cfg, e) < 0)
		return -1;
	warn_rootfs_mode(cfg->rootfs);
	warn_unit_timeout(cfg);
	if (box_id_new(p->box_id, cfg->rootfs, e) < 0 || box_volumes_plan(p, e) < 0 || box_devices_plan(p, e) < 0 ||
	    box_files_render(p, e) < 0 || box_inputs_plan(p, e) < 0 || plan_init_env(p, e) < 0 ||
	    box_security_check(cfg, e) < 0)
		return -1;
	return 0;
}

void box_plan_free(struct box_plan *p)
{
	box_volumes_free(p);
	for (size_t i = 0; i < p->n_devs; i++)
		free(p->devs[i].path);
	free(p->devs);
	for (size_t i = 0; p->init_env && p->init_env[i]; i++)
		free(p->init_env[i]);
	free(p->init_env);
	sb_free(&p->envfile);
	sb_free(&p->hosts);
	sb_free(&p->resolv);
	sb_free(&p->zones);
	box_inputs_free(p);
}

/* The socket init's sd_notify messages arrive on (notify_ready = init). */
static int notify_socket_open(struct box_run *r, const char *state_dir, struct perr *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if ((size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s/notify", state_dir) >= sizeof a.sun_path)
		return perr_set(e, ENAMETOOLONG, "notify socket in %s", state_dir);
	unlink(a.sun_path);
	r->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->notify_fd < 0)
		return perr_set(e, errno, "notify socket %s", a.sun_path);
	/* 0600 whatever the caller's umask: only root (init in the box) may
	 * say READY=1 for the unit. */
	mode_t old = umask(0177);
	int rc = bind(r->notify_fd, (struct sockaddr *)&a, sizeof a);
	int err = errno;
	umask(old);
	if (rc < 0)
		return perr_set(e, err, "notify socket %s", a.sun_path);
	snprintf(r->notify_path, sizeof r->notify_path, "%s", a.sun_path);
	return 0;
}

/* One boot of the box; returns whether to boot it again. */
static enum box_end run_once(const struct box_plan *p, struct box_state *st,
			     unsigned long long t0, int *status)
{
	struct box_run r = { .init_pid = -1, .init_pidfd = -1, .console_master = -1,
			      .console_slave = -1, .notify_fd = -1, .state = st };
	struct perr e = { 0 };
	enum box_end end = BOX_END_EXIT;
	*status = 1;
	box_sd_notify("STATUS=booting: building the box and starting init");
	if ((p->cfg->notify_ready == NOTIFY_INIT && notify_socket_open(&r, st->dir, &e) < 0) ||
	    box_spawn(&r, p, &e) < 0 || box_state_write(st, p, r.init_pid, &r.cg, &e) < 0) {
		plog(LOG_ERR, "%s", e.msg);
		box_sd_notifyf("STATUS=stopped: the box did not start: %s", e.msg);
	} else {
		plog(LOG_INFO, "box %s running, init pid %d, exec'd %.2f ms after start",
			p->box_id, (int)r.init_pid, (double)(now_ns() - t0) / 1e6);
		struct hook_state hs = { p->box_id, "running", r.init_pid, p->cfg->rootfs, st->dir };
		box_hooks_run(p->cfg, HOOK_POSTSTART, &hs, NULL);
		end = box_supervise(&r, p, status);
	}
	box_run_teardown(&r);
	/* As OCI's lifecycle: after every boot's end, a failed start too. */
	struct hook_state hs = { p->box_id, "stopped", 0, p->cfg->rootfs, st->dir };
	box_hooks_run(p->cfg, HOOK_POSTSTOP, &hs, NULL);
	return end;
}

int box_start_main(int argc, char **argv)
{
	struct box_config cfg;
	struct box_plan plan = { 0 };
	struct box_state st = { .lock_fd = -1 };
	_cleanup_fd_ int rootfs_lock = -1;
	struct perr e = { 0 };
	int status = 2;
	unsigned long long t0 = now_ns();
	config_init(&cfg);
	int r = config_load_all(&cfg, argc, argv, environ, &e);
	if (r != 0) {
		if (r < 0)
			fprintf(stderr, "planet: %s\n", e.msg);
		config_free(&cfg);
		return r < 0 ? 2 : 0;
	}
	if (box_plan_build(&plan, &cfg, &e) < 0) {
		fprintf(stderr, "planet: %s\n", e.msg);
		goto out;
	}
	status = 1;
	if (geteuid() != 0) {
		fprintf(stderr, "planet: start needs root (it creates namespaces, mounts and cgroups)\n");
		goto out;
	}
	/* The rootfs before the state dir: a refused start must not touch
	 * the other box's socket (clear_stale) or make a state dir. */
	if (box_rootfs_lock(cfg.rootfs, &rootfs_lock, &e) < 0) {
		fprintf(stderr, "planet: %s\n", e.msg);
		goto out;
	}
	/* A client (or a hook) that goes away must not kill the supervisor;
	 * box_state_lock may run poststop hooks already. */
	signal(SIGPIPE, SIG_IGN);
	if (box_state_lock(&st, &cfg, &e) < 0) {
		fprintf(stderr, "planet: %s\n", e.msg);
		free(st.dir);
		goto out;
	}
	nofile_limit_raise();
	while (run_once(&plan, &st, t0, &status) == BOX_END_RESTART) {
		plog(LOG_NOTICE, "restarting the box");
		t0 = now_ns();
	}
	box_state_release(&st, &cfg);
out:
	box_plan_free(&plan);
	config_free(&cfg);
	log_close();
	return status;
}
