/* The client commands that operate a running box through OP requests
 * (docs/PROTOCOL.md, "OP"): stats (and metrics, the same figures for
 * Prometheus), ps, kill, pause, resume, update; and list, which asks every
 * box this host runs. Each sends one OP and prints its answer. */
#include "client/internal.h"
#include "config/config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Send one OP and wait for its first answer (what names it in an error):
 * 0 with fd, rx and f open (the caller frees rx), or the exit status after
 * saying why. op and events share it. */
static int op_open(const struct client_opts *o, const char *verb, const char *args,
		   const char *what, int *fd, struct client_rx *rx, struct proto_frame *f)
{
	const char *path = client_socket_path(o->socket);
	struct strbuf req = { 0 };
	if (proto_put_op(&req, verb, args) < 0) {
		sb_free(&req);
		fprintf(stderr, "planet %s: %s\n", o->cmd, strerror(errno));
		return EXIT_PLANET;
	}
	int status;
	int r = client_control_exchange(path, &req, PK_OP_REPLY, what, fd, rx, f, &status);
	if (r == 0) {
		fprintf(stderr, "planet %s: no box is running at %s\n", o->cmd, path);
		return EXIT_PLANET;
	}
	return r < 0 ? status : 0;
}

/* One OP, its answer's text into out. Returns 0, or the exit status. */
static int op(const struct client_opts *o, const char *verb, const char *args, struct strbuf *out)
{
	_cleanup_fd_ int fd = -1;
	struct client_rx rx;
	struct proto_frame f;
	int r = op_open(o, verb, args, "the answer came", &fd, &rx, &f);
	if (r)
		return r;
	int ret = sb_append(out, (const char *)f.payload, f.len) < 0 ? EXIT_PLANET : 0;
	client_rx_free(&rx);
	return ret;
}

/* A number, or -1 when absent, or INT64_MAX for "max". */
static int64_t num(const char *text, const char *key)
{
	char b[32];
	if (!kv_get(text, key, b, sizeof b))
		return -1;
	return strcmp(b, "max") == 0 ? INT64_MAX : strtoll(b, NULL, 10);
}

/* ---- stats and metrics ------------------------------------------------------- */

static const char *human(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		return "-";
	if (v == INT64_MAX)
		return "max";
	const char *u = "BKMGTP";
	double d = (double)v;
	while (d >= 1024 && u[1]) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, *u == 'B' ? "%.0f%c" : "%.1f%c", d, *u);
	return buf;
}

static const char *secs(int64_t usec, char *buf, size_t len)
{
	if (usec < 0)
		return "-";
	snprintf(buf, len, "%.2fs", (double)usec / 1e6);
	return buf;
}

static void print_stats(const char *t, double cpu_pct)
{
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32], id[40], st[16];
	printf("box %s (%s)\n", kv_get(t, "box_id", id, sizeof id) ? id : "?",
	       kv_get(t, "state", st, sizeof st) ? st : "?");
	printf("cpu       usage %s  user %s  system %s  throttled %s (%" PRId64 " times)",
	       secs(num(t, "cpu.usage_usec"), a, sizeof a), secs(num(t, "cpu.user_usec"), b, sizeof b),
	       secs(num(t, "cpu.system_usec"), c, sizeof c),
	       secs(num(t, "cpu.throttled_usec"), d, sizeof d), num(t, "cpu.throttled_count"));
	if (cpu_pct >= 0)
		printf("  %.1f%%", cpu_pct);
	printf("\nmemory    current %s  peak %s  max %s  anon %s  file %s  swap %s  oom_kills %" PRId64
	       "\n",
	       human(num(t, "memory.current_bytes"), a, sizeof a),
	       human(num(t, "memory.peak_bytes"), b, sizeof b),
	       human(num(t, "memory.max_bytes"), c, sizeof c),
	       human(num(t, "memory.anon_bytes"), d, sizeof d),
	       human(num(t, "memory.file_bytes"), e, sizeof e),
	       human(num(t, "memory.swap_bytes"), f, sizeof f), num(t, "memory.oom_kills"));
	if (num(t, "memory.pressure_some_usec") >= 0)
		printf("pressure  memory stalled: some %s  full %s\n",
		       secs(num(t, "memory.pressure_some_usec"), a, sizeof a),
		       secs(num(t, "memory.pressure_full_usec"), b, sizeof b));
	int64_t pm = num(t, "pids.max");
	printf("pids      current %" PRId64 "  max %s\n", num(t, "pids.current"),
	       pm == INT64_MAX ? "max" : pm < 0 ? "-" : (snprintf(g, sizeof g, "%" PRId64, pm), g));
	printf("io        read %s (%" PRId64 " ops)  write %s (%" PRId64 " ops)\n",
	       human(num(t, "io.read_bytes"), a, sizeof a), num(t, "io.read_ops"),
	       human(num(t, "io.write_bytes"), b, sizeof b), num(t, "io.write_ops"));
	printf("sessions  %" PRId64 "\n", num(t, "sessions"));
}

static void json_num(const char *name, int64_t v, bool last)
{
	printf("\"%s\":", name);
	if (v < 0 || v == INT64_MAX)
		fputs("null", stdout);
	else
		printf("%" PRId64, v);
	fputs(last ? "}" : ",", stdout);
}

static void print_stats_json(const char *t)
{
	char id[40] = "", st[16] = "";
	kv_get(t, "box_id", id, sizeof id);
	kv_get(t, "state", st, sizeof st);
	fputs("{\"box_id\":", stdout);
	client_json_string(id, strlen(id));
	fputs(",\"state\":", stdout);
	client_json_string(st, strlen(st));
	fputs(",\"cpu\":{", stdout);
	json_num("usage_usec", num(t, "cpu.usage_usec"), false);
	json_num("user_usec", num(t, "cpu.user_usec"), false);
	json_num("system_usec", num(t, "cpu.system_usec"), false);
	json_num("throttled_usec", num(t, "cpu.throttled_usec"), false);
	json_num("throttled_count", num(t, "cpu.throttled_count"), true);
	fputs(",\"memory\":{", stdout);
	json_num("current_bytes", num(t, "memory.current_bytes"), false);
	json_num("peak_bytes", num(t, "memory.peak_bytes"), false);
	json_num("max_bytes", num(t, "memory.max_bytes"), false);
	json_num("anon_bytes", num(t, "memory.anon_bytes"), false);
	json_num("file_bytes", num(t, "memory.file_bytes"), false);
	json_num("swap_bytes", num(t, "memory.swap_bytes"), false);
	json_num("oom_kills", num(t, "memory.oom_kills"), false);
	json_num("pressure_some_usec", num(t, "memory.pressure_some_usec"), false);
	json_num("pressure_full_usec", num(t, "memory.pressure_full_usec"), true);
	fputs(",\"pids\":{", stdout);
	json_num("current", num(t, "pids.current"), false);
	json_num("max", num(t, "pids.max"), true);
	fputs(",\"io\":{", stdout);
	json_num("read_bytes", num(t, "io.read_bytes"), false);
	json_num("write_bytes", num(t, "io.write_bytes"), false);
	json_num("read_ops", num(t, "io.read_ops"), false);
	json_num("write_ops", num(t, "io.write_ops"), true);
	fputs(",", stdout);
	json_num("sessions", num(t, "sessions"), true);
	putchar('\n');
}

/* Prometheus text exposition format, one family per figure. */
static void metric(const char *name, const char *type, const char *help, const char *id,
		   int64_t v, double scale)
{
	if (v < 0 || v == INT64_MAX)
		return;
	printf("# HELP planet_%s %s\n# TYPE planet_%s %s\nplanet_%s{box_id=\"%s\"} ", name, help,
	       name, type, name, id);
	if (scale == 1)
		printf("%" PRId64 "\n", v);
	else
		printf("%.6f\n", (double)v * scale);
}

static void print_metrics(const char *t)
{
	char id[40];
	if (!kv_get(t, "box_id", id, sizeof id))
		id[0] = 0;
	metric("cpu_usage_seconds_total", "counter", "CPU time used by the box.", id,
	       num(t, "cpu.usage_usec"), 1e-6);
	metric("cpu_user_seconds_total", "counter", "CPU time in user mode.", id,
	       num(t, "cpu.user_usec"), 1e-6);
	metric("cpu_system_seconds_total", "counter", "CPU time in kernel mode.", id,
	       num(t, "cpu.system_usec"), 1e-6);
	metric("cpu_throttled_seconds_total", "counter", "Time the box's CPU quota held it back.",
	       id, num(t, "cpu.throttled_usec"), 1e-6);
	metric("cpu_throttled_periods_total", "counter", "Periods in which the quota held it back.",
	       id, num(t, "cpu.throttled_count"), 1);
	metric("memory_current_bytes", "gauge", "Memory in use by the box.", id,
	       num(t, "memory.current_bytes"), 1);
	metric("memory_peak_bytes", "gauge", "Most memory the box has used.", id,
	       num(t, "memory.peak_bytes"), 1);
	metric("memory_max_bytes", "gauge", "The box's memory limit (absent: none).", id,
	       num(t, "memory.max_bytes"), 1);
	metric("memory_anon_bytes", "gauge", "Anonymous memory.", id, num(t, "memory.anon_bytes"), 1);
	metric("memory_file_bytes", "gauge", "Page cache.", id, num(t, "memory.file_bytes"), 1);
	metric("memory_swap_bytes", "gauge", "Swap in use.", id, num(t, "memory.swap_bytes"), 1);
	metric("memory_oom_kills_total", "counter", "Processes the kernel's OOM killer killed.", id,
	       num(t, "memory.oom_kills"), 1);
	metric("memory_pressure_some_seconds_total", "counter",
	       "Time some task of the box stalled on memory (PSI).", id,
	       num(t, "memory.pressure_some_usec"), 1e-6);
	metric("memory_pressure_full_seconds_total", "counter",
	       "Time every task of the box stalled on memory (PSI).", id,
	       num(t, "memory.pressure_full_usec"), 1e-6);
	metric("pids_current", "gauge", "Processes and threads in the box.", id,
	       num(t, "pids.current"), 1);
	metric("pids_max", "gauge", "The box's process limit (absent: none).", id,
	       num(t, "pids.max"), 1);
	metric("io_read_bytes_total", "counter", "Bytes read from block devices.", id,
	       num(t, "io.read_bytes"), 1);
	metric("io_write_bytes_total", "counter", "Bytes written to block devices.", id,
	       num(t, "io.write_bytes"), 1);
	metric("io_read_ops_total", "counter", "Block reads.", id, num(t, "io.read_ops"), 1);
	metric("io_write_ops_total", "counter", "Block writes.", id, num(t, "io.write_ops"), 1);
	metric("sessions", "gauge", "Open enter sessions.", id, num(t, "sessions"), 1);
}

int client_stats(const struct client_opts *o, bool prometheus)
{
	int64_t last_usage = -1;
	struct timespec last = { 0 };
	for (;;) {
		_cleanup_strbuf_ struct strbuf t = { 0 };
		int r = op(o, "stats", NULL, &t);
		if (r)
			return r;
		if (!t.s && sb_append(&t, "", 0) < 0)
			return EXIT_PLANET;
		if (prometheus) {
			print_metrics(t.s);
			return fflush(stdout) ? EXIT_PLANET : 0;
		}
		if (o->json && !o->watch_sec) {
			print_stats_json(t.s);
			return fflush(stdout) ? EXIT_PLANET : 0;
		}
		if (!o->watch_sec) {
			print_stats(t.s, -1);
			return fflush(stdout) ? EXIT_PLANET : 0;
		}
		/* --watch: the CPU share since the previous round, redrawn. */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t usage = num(t.s, "cpu.usage_usec");
		double dt = (double)(now.tv_sec - last.tv_sec) * 1e6 +
			    (double)(now.tv_nsec - last.tv_nsec) / 1e3;
		double pct = last_usage >= 0 && usage >= 0 && dt > 0
				     ? 100.0 * (double)(usage - last_usage) / dt
				     : -1;
		if (o->json)
			print_stats_json(t.s);
		else {
			fputs("\033[H\033[2J", stdout);
			print_stats(t.s, pct);
		}
		fflush(stdout);
		last_usage = usage;
		last = now;
		sleep(o->watch_sec);
	}
}

/* ---- ps ------------------------------------------------------------------ */

struct row {
	char *f[9]; /* pid host_pid ppid user state cpu rss started cmd */
};

static size_t split_rows(char *text, struct row **rows)
{
	size_t n = 0, cap = 0;
	*rows = NULL;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct row r = { 0 };
		size_t k = 0;
		for (char *s2 = NULL, *c = strtok_r(l, "\t", &s2); c && k < 9; c = strtok_r(NULL, "\t", &s2))
			r.f[k++] = c;
		if (k != 9)
			continue;
		if (n == cap) {
			struct row *nr = realloc(*rows, (cap = cap ? 2 * cap : 32) * sizeof *nr);
			if (!nr)
				break;
			*rows = nr;
		}
		(*rows)[n++] = r;
	}
	return n;
}

static void when(const char *unix_s, char *buf, size_t len)
{
	time_t t = (time_t)strtoll(unix_s, NULL, 10);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_row(const struct row *r, int depth)
{
	char rss[32], st[32];
	when(r->f[7], st, sizeof st);
	printf("%5s %9s %-8.8s %s %5s %7s %s %*s%s\n", r->f[0], r->f[1], r->f[3], r->f[4], r->f[5],
	       human(strtoll(r->f[6], NULL, 10), rss, sizeof rss), st, 2 * depth, "", r->f[8]);
}

static void print_tree(const struct row *rows, size_t n, const char *ppid, int depth)
{
	for (size_t i = 0; i < n && depth < 64; i++)
		if (strcmp(rows[i].f[2], ppid) == 0) {
			print_row(&rows[i], depth);
			print_tree(rows, n, rows[i].f[0], depth + 1);
		}
}

int client_ps(const struct client_opts *o)
{
	_cleanup_strbuf_ struct strbuf t = { 0 };
	int r = op(o, "ps", NULL, &t);
	if (r)
		return r;
	_cleanup_free_ struct row *rows = NULL;
	size_t n = t.s ? split_rows(t.s, &rows) : 0;
	if (o->json) {
		putchar('[');
		for (size_t i = 0; i < n; i++) {
			char st[32];
			when(rows[i].f[7], st, sizeof st);
			printf("%s{\"pid\":%s,\"host_pid\":%s,\"ppid\":%s,\"user\":", i ? "," : "",
			       rows[i].f[0], rows[i].f[1], rows[i].f[2]);
			client_json_string(rows[i].f[3], strlen(rows[i].f[3]));
			printf(",\"state\":\"%c\",\"cpu_percent\":%s,\"rss_bytes\":%s,\"started\":\"%s\","
			       "\"cmd\":",
			       rows[i].f[4][0], rows[i].f[5], rows[i].f[6], st);
			client_json_string(rows[i].f[8], strlen(rows[i].f[8]));
			putchar('}');
		}
		puts("]");
		return fflush(stdout) ? EXIT_PLANET : 0;
	}
	printf("%5s %9s %-8s %s %5s %7s %-20s %s\n", "PID", "HOST_PID", "USER", "S", "%CPU", "RSS",
	       "STARTED", "COMMAND");
	if (o->tree)
		print_tree(rows, n, "0", 0);
	else
		for (size_t i = 0; i < n; i++)
			print_row(&rows[i], 0);
	return fflush(stdout) ? EXIT_PLANET : 0;
}

/* ---- kill, pause, resume, update --------------------------------------------- */

int client_kill(const struct client_opts *o)
{
	const char *sig = o->argc ? o->argv[0] : "SIGTERM";
	int n = signal_parse(sig);
	if (n < 1) {
		fprintf(stderr, "planet kill: '%s' is not a signal (a name such as TERM or "
				"SIGKILL, or a number) (see planet kill --help)\n",
			sig);
		return EXIT_PLANET;
	}
	char args[64];
	snprintf(args, sizeof args, "signal=%d\nall=%d\n", n, o->all ? 1 : 0);
	_cleanup_strbuf_ struct strbuf t = { 0 };
	return op(o, "kill", args, &t);
}

int client_simple_op(const struct client_opts *o, const char *verb, const char *args)
{
	_cleanup_strbuf_ struct strbuf t = { 0 };
	int r = op(o, verb, args, &t);
	if (r == 0 && t.len)
		fwrite(t.s, 1, t.len, stdout);
	return r ? r : fflush(stdout) ? EXIT_PLANET : 0;
}

/* ---- events ------------------------------------------------------------------ */

/* Print each event as it comes, until the box goes (0) or Ctrl-C. */
int client_events(const struct client_opts *o)
{
	char args[64];
	snprintf(args, sizeof args, "format=%s\nsince_start=%d\n", o->json ? "json" : "text",
		 o->since_start ? 1 : 0);
	_cleanup_fd_ int fd = -1;
	struct client_rx rx;
	struct proto_frame f;
	int status = op_open(o, "events", args, "the first event", &fd, &rx, &f);
	if (status)
		return status;
	struct perr e = { 0 };
	for (;;) {
		if (f.kind == PK_ERROR) {
			status = client_report_error(&f);
			break;
		}
		fwrite(f.payload, 1, f.len, stdout);
		fflush(stdout);
		int r = client_rx_wait(&rx, fd, &f, &e);
		if (r <= 0) {
			status = r == 0 ? 0 : EXIT_PLANET;
			if (r < 0)
				fprintf(stderr, "planet events: %s\n", e.msg);
			break;
		}
	}
	client_rx_free(&rx);
	return status;
}

/* ---- list ------------------------------------------------------------------- */

/* Every box the host runs: each supervisor registers its state dir in
 * BOX_REGISTRY (box/state.c); an entry whose supervisor is gone is a
 * crash's leftover and is skipped. */
int client_list(const struct client_opts *o)
{
	_cleanup_dir_ DIR *d = opendir(BOX_REGISTRY);
	size_t shown = 0;
	if (o->json)
		putchar('[');
	else
		printf("%-36s %-8s %-10s %-24s %s\n", "BOX_ID", "STATE", "UPTIME", "SOCKET", "ROOTFS");
	for (struct dirent *de; d && (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char path[512];
		_cleanup_free_ char *txt = NULL;
		snprintf(path, sizeof path, "%s/%s", BOX_REGISTRY, de->d_name);
		if (read_file_at(AT_FDCWD, path, 8192, &txt, NULL, NULL) < 0)
			continue;
		char sock[256];
		if (!kv_get(txt, "socket", sock, sizeof sock) || kill((pid_t)atoi(de->d_name), 0) < 0)
			continue;
		struct client_rx rx;
		struct proto_frame f;
		int status;
		if (client_status_query(sock, &rx, &f, &status) != 1)
			continue;
		_cleanup_free_ char *st = strndup((const char *)f.payload, f.len);
		client_rx_free(&rx);
		char id[40], state[16], up[24], root[256];
		if (!st || !kv_get(st, "box_id", id, sizeof id))
			continue;
		if (!kv_get(st, "state", state, sizeof state))
			snprintf(state, sizeof state, "?");
		if (!kv_get(st, "uptime_sec", up, sizeof up))
			snprintf(up, sizeof up, "0");
		if (!kv_get(st, "rootfs", root, sizeof root))
			root[0] = 0;
		if (o->json) {
			printf("%s{\"box_id\":\"%s\",\"state\":\"%s\",\"uptime_sec\":%s,\"socket\":",
			       shown ? "," : "", id, state, up);
			client_json_string(sock, strlen(sock));
			fputs(",\"rootfs\":", stdout);
			client_json_string(root, strlen(root));
			putchar('}');
		} else {
			printf("%-36s %-8s %-10s %-24s %s\n", id, state, up, sock, root);
		}
		shown++;
	}
	if (o->json)
		puts("]");
	return fflush(stdout) ? EXIT_PLANET : 0;
}
