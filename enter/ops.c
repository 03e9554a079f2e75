/* enter: OP requests, operations on the running box other than exec and
 * stop (docs/PROTOCOL.md, "OP"): stats, ps, kill, pause, resume, update.
 * Each is a connection's first frame and gets one OP_REPLY (or ERROR),
 * then the close. Everything is read or written through cgroupns/ and the
 * box's own files; nothing here blocks the loop: pause and resume answer
 * from a timer once the freezer has settled. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "cgroupns/cgroupns.h"
#include "config/config.h"

#define FREEZE_POLL_MS 10
#define FREEZE_WAIT_MS 5000

static void reply(struct enter_conn *c, const struct strbuf *b)
{
	conn_send_data(c, PK_OP_REPLY, b->s ? b->s : "", b->len);
	conn_end(c);
}

/* key=value, or nothing when the host does not say (-1). */
static void kv(struct strbuf *b, const char *key, int64_t v)
{
	if (v == CG_MAX)
		sb_printf(b, "%s=max\n", key);
	else if (v >= 0)
		sb_printf(b, "%s=%" PRId64 "\n", key, v);
}

static void op_stats(struct enter_conn *c)
{
	const struct enter_box *box = conn_box(c);
	struct cg_stats s;
	cg_box_stats(box->cg, &s);
	_cleanup_strbuf_ struct strbuf b = { 0 };
	sb_printf(&b, "box_id=%s\nstate=%s\n", box->box_id, enter_server_state(conn_server(c)));
	kv(&b, "cpu.usage_usec", s.cpu_usage_usec);
	kv(&b, "cpu.user_usec", s.cpu_user_usec);
	kv(&b, "cpu.system_usec", s.cpu_system_usec);
	kv(&b, "cpu.throttled_usec", s.cpu_throttled_usec);
	kv(&b, "cpu.throttled_count", s.cpu_throttled_count);
	kv(&b, "memory.current_bytes", s.memory_current);
	kv(&b, "memory.peak_bytes", s.memory_peak);
	kv(&b, "memory.max_bytes", s.memory_max);
	kv(&b, "memory.anon_bytes", s.memory_anon);
	kv(&b, "memory.file_bytes", s.memory_file);
	kv(&b, "memory.swap_bytes", s.memory_swap);
	kv(&b, "memory.oom_kills", s.memory_oom_kills);
	kv(&b, "memory.pressure_some_usec", s.memory_pressure_some_usec);
	kv(&b, "memory.pressure_full_usec", s.memory_pressure_full_usec);
	kv(&b, "pids.current", s.pids_current);
	kv(&b, "pids.max", s.pids_max);
	kv(&b, "io.read_bytes", s.io_read_bytes);
	kv(&b, "io.write_bytes", s.io_write_bytes);
	kv(&b, "io.read_ops", s.io_read_ops);
	kv(&b, "io.write_ops", s.io_write_ops);
	kv(&b, "sessions", enter_server_sessions(conn_server(c)));
	reply(c, &b);
}

/* ---- ps ------------------------------------------------------------------ */

struct proc {
	pid_t pid, box_pid, box_ppid;
	uid_t uid;
	char state;
	unsigned long long ticks, start_ticks;
	long long rss_pages;
};

/* The box pid (the last NSpid), uid, host ppid and pid-namespace depth
 * (the number of NSpid levels) of a host pid; false when it is gone. */
static bool proc_status(pid_t pid, struct proc *p, pid_t *host_ppid, int *levels)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	_cleanup_free_ char *s = NULL;
	if (read_file_at(AT_FDCWD, path, 1 << 16, &s, NULL, NULL) < 0)
		return false;
	const char *ns = strstr(s, "\nNSpid:"), *u = strstr(s, "\nUid:"), *pp = strstr(s, "\nPPid:");
	if (!ns || !u || !pp)
		return false;
	*levels = 0;
	long last = 0;
	for (const char *q = ns + 7; *q && *q != '\n';) {
		char *end;
		long v = strtol(q, &end, 10);
		if (end == q)
			break;
		last = v;
		(*levels)++;
		q = end;
	}
	p->box_pid = (pid_t)last;
	p->uid = (uid_t)strtoul(u + 5, NULL, 10);
	*host_ppid = (pid_t)strtol(pp + 6, NULL, 10);
	return true;
}

static bool proc_stat(pid_t pid, struct proc *p)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* after "pid (comm)": state ppid ... utime(14) stime(15) ... starttime(22) rss(24) */
	char *r = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!r || sscanf(r + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
			 "%*d %*d %*d %llu %*u %lld",
			 &p->state, &ut, &st, &p->start_ticks, &p->rss_pages) != 5)
		return false;
	p->ticks = ut + st;
	return true;
}

static void proc_cmd(pid_t pid, struct strbuf *b)
{
	char path[64], raw[4096], esc[4 * sizeof raw + 1];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, raw, sizeof raw);
	if (n <= 0) {
		sb_append(b, "-", 1);
		return;
	}
	for (ssize_t i = 0; i < n - 1; i++)
		if (!raw[i])
			raw[i] = ' ';
	size_t m = str_escape(esc, sizeof esc, raw, raw[n - 1] ? (size_t)n : (size_t)n - 1,
			      ESC_BACKSLASH | ESC_HIGH);
	sb_append(b, esc, m);
}

/* The user's name in the box's own /etc/passwd, else the number. */
static void user_name(int rootfd, uid_t uid, char *out, size_t len)
{
	char spec[16];
	struct box_user u;
	snprintf(spec, sizeof spec, "%u", (unsigned)uid);
	snprintf(out, len, "%u", (unsigned)uid);
	if (rootfd >= 0 && box_user_lookup(rootfd, spec, &u, NULL) == 0) {
		if (u.name)
			snprintf(out, len, "%s", u.name);
		box_user_free(&u);
	}
}

/* One line per process of the box: tab-separated pid, host pid, ppid (in
 * the box; 0 for init), user, state, cpu percent (over its lifetime, as
 * ps), rss bytes, start (unix seconds), command line (escaped). */
static void op_ps(struct enter_conn *c)
{
	const struct enter_box *box = conn_box(c);
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	if (cg_box_procs(box->cg, &pids, &n) < 0) {
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "ps: cannot read the box's cgroup");
		return;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/root", (int)box->init_pid);
	_cleanup_fd_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	struct timespec up;
	clock_gettime(CLOCK_BOOTTIME, &up);
	time_t boot = time(NULL) - up.tv_sec;
	struct proc ip;
	pid_t ippid;
	int levels = 0;
	(void)proc_status(box->init_pid, &ip, &ippid, &levels);
	_cleanup_strbuf_ struct strbuf b = { 0 };
	for (size_t i = 0; i < n; i++) {
		struct proc p = { .pid = pids[i] };
		pid_t host_ppid = 0, dummy;
		int lv = 0, plv = 0;
		/* not in the box's pid namespace: planet's own spawner */
		if (!proc_status(pids[i], &p, &host_ppid, &lv) || lv != levels ||
		    !proc_stat(pids[i], &p))
			continue;
		/* the parent's box pid, when the parent is in the box */
		struct proc pp;
		p.box_ppid = 0;
		if (p.box_pid != 1 && host_ppid > 0 && proc_status(host_ppid, &pp, &dummy, &plv) &&
		    plv == levels)
			p.box_ppid = pp.box_pid;
		double age = (double)up.tv_sec - (double)p.start_ticks / (double)hz;
		double cpu = age > 0 ? 100.0 * ((double)p.ticks / (double)hz) / age : 0;
		char user[64];
		user_name(root, p.uid, user, sizeof user);
		sb_printf(&b, "%d\t%d\t%d\t%s\t%c\t%.1f\t%lld\t%lld\t", (int)p.box_pid, (int)p.pid,
			  (int)p.box_ppid, user, p.state, cpu, p.rss_pages * page,
			  (long long)boot + (long long)(p.start_ticks / (unsigned long long)hz));
		proc_cmd(pids[i], &b);
		sb_append(&b, "\n", 1);
	}
	reply(c, &b);
}

/* ---- kill, pause, resume ------------------------------------------------------- */

static void op_kill(struct enter_conn *c, const char *args)
{
	const struct enter_box *box = conn_box(c);
	char v[32], a[8];
	int sig = kv_get(args, "signal", v, sizeof v) ? signal_parse(v) : SIGTERM;
	bool all = kv_get(args, "all", a, sizeof a) && strcmp(a, "1") == 0;
	if (sig < 1 || sig > SIGRTMAX) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, "kill: the signal must be a name or number from 1 to 64");
		return;
	}
	_cleanup_strbuf_ struct strbuf b = { 0 };
	if (all) {
		sb_printf(&b, "signalled=%d\n", cg_box_kill(box->cg, sig));
	} else if (pidfd_send_signal(box->init_pidfd, sig, NULL, 0) < 0) {
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "kill: the box's init is gone");
		return;
	} else {
		sb_printf(&b, "signalled=1\n");
	}
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	enter_audit("enter: kill uid=%u pid=%d signal=%d all=%s", (unsigned)uid, (int)pid, sig,
		    all ? "yes" : "no");
	reply(c, &b);
}

/* The freezer has settled (or not, within FREEZE_WAIT_MS): answer. */
static void freeze_poll(uv_timer_t *t)
{
	struct enter_conn *c = t->data;
	struct enter_server *srv = conn_server(c);
	bool want = enter_server_paused(srv);
	int frozen = cg_box_frozen(conn_box(c)->cg);
	if ((frozen == 1) != want && conn_waited_ms(c) < FREEZE_WAIT_MS)
		return;
	uv_timer_stop(t);
	if ((frozen == 1) != want) {
		conn_fail(c, EXIT_PLANET, PE_TIMEOUT, want ? "pause: the box did not freeze within 5 s"
					       : "resume: the box did not thaw within 5 s");
		return;
	}
	_cleanup_strbuf_ struct strbuf b = { 0 };
	sb_printf(&b, "state=%s\n", want ? "paused" : "running");
	enter_server_event(srv, "state", "state", want ? "paused" : "resumed", EVENT_END);
	reply(c, &b);
}

static void op_freeze(struct enter_conn *c, bool on)
{
	struct perr e = { 0 };
	if (conn_box(c)->halting) {
		conn_fail(c, EXIT_PLANET, PE_STOPPING, "the box is stopping");
		return;
	}
	if (enter_server_set_paused(conn_server(c), on, &e) < 0) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
		return;
	}
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	enter_audit("enter: %s uid=%u pid=%d", on ? "pause" : "resume", (unsigned)uid, (int)pid);
	conn_wait(c, freeze_poll, FREEZE_POLL_MS);
}

/* ---- update ------------------------------------------------------------------- */

/* Each line a [resources] key=value, parsed as the config parses it. */
static void op_update(struct enter_conn *c, const char *args)
{
	struct box_config tmp;
	struct perr e = { 0 };
	config_init(&tmp);
	_cleanup_strbuf_ struct strbuf b = { 0 };
	_cleanup_free_ char *copy = strdup(args);
	int rc = copy ? 0 : perr_set(&e, ENOMEM, "update");
	for (char *save = NULL, *l = copy ? strtok_r(copy, "\n", &save) : NULL; rc == 0 && l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');
		if (!eq) {
			rc = perr_set(&e, 0, "update: expected key=value lines");
			break;
		}
		*eq = 0;
		if (!config_key_is_limit(l))
			rc = perr_set(&e, 0, "update: %s is not a limit (memory_max, memory_high, "
					     "memory_swap_max, cpus, cpu_weight, cpuset_cpus, "
					     "cpuset_mems, pids_max, io_weight)", l);
		else
			rc = config_set(&tmp, l, eq + 1, l, &e);
		if (rc == 0)
			sb_printf(&b, "%s=%s\n", l, eq + 1);
	}
	if (rc == 0 && !b.len)
		rc = perr_set(&e, 0, "update: no limit given");
	if (rc == 0)
		rc = cg_box_set_limits(conn_box(c)->cg, &tmp.limits, &e);
	config_free(&tmp);
	if (rc < 0) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
		return;
	}
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	_cleanup_strbuf_ struct strbuf line = { 0 };
	sb_quote(&line, b.s, 1024);
	enter_audit("enter: update uid=%u pid=%d limits=%s", (unsigned)uid, (int)pid, line.s);
	enter_server_event(conn_server(c), "limits", "limits", b.s, EVENT_END);
	reply(c, &b);
}

/* The connection stays open: events until the client or the box goes. */
static void op_events(struct enter_conn *c, const char *args)
{
	char v[8];
	c->events_json = kv_get(args, "format", v, sizeof v) && strcmp(v, "json") == 0;
	bool since = kv_get(args, "since_start", v, sizeof v) && strcmp(v, "1") == 0;
	struct enter_server *srv = conn_server(c);
	if (!srv->events) {
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "events: the supervisor has no event stream "
						     "(it lacked memory at start)");
		return;
	}
	if (enter_events_listen(srv->events, c, since) < 0) {
		conn_fail(c, EXIT_PLANET, PE_LIMIT, "events: the box has 256 listeners already "
						  "(the most it serves); close one first");
		return;
	}
	c->state = C_EVENTS;
}

void ops_request(struct enter_conn *c, const struct proto_frame *f)
{
	struct proto_op op;
	struct perr e = { 0 };
	if (proto_op_parse(f, &op, &e) < 0) {
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
		return;
	}
	if (strcmp(op.verb, "stats") == 0)
		op_stats(c);
	else if (strcmp(op.verb, "ps") == 0)
		op_ps(c);
	else if (strcmp(op.verb, "kill") == 0)
		op_kill(c, op.args);
	else if (strcmp(op.verb, "pause") == 0 || strcmp(op.verb, "resume") == 0)
		op_freeze(c, op.verb[0] == 'p');
	else if (strcmp(op.verb, "update") == 0)
		op_update(c, op.args);
	else if (strcmp(op.verb, "events") == 0)
		op_events(c, op.args);
	else if (strcmp(op.verb, "bind") == 0)
		binds_bind(c, op.args);
	else if (strcmp(op.verb, "unbind") == 0)
		binds_unbind(c, op.args);
	else if (strcmp(op.verb, "device-add") == 0)
		devices_add(c, op.args);
	else if (strcmp(op.verb, "device-remove") == 0)
		devices_remove(c, op.args);
	else {
		char msg[160];
		snprintf(msg, sizeof msg, "unknown operation \"%.32s\" (expected stats, ps, kill, "
					  "pause, resume, update, events, bind, unbind, device-add "
					  "or device-remove)", op.verb);
		conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, msg);
	}
	proto_op_free(&op);
}
