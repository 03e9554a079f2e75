/* The client commands: planet exec, planet enter, planet stop, planet status.
 * This file holds their command lines (options, --help, usage errors) and
 * the four entry points; the exec/enter session is in client_exec.c, the
 * terminal in client_tty.c, stop/status in client_control.c, and what they
 * share of the connection in client_conn.c.
 *
 * One connection per command, framed as docs/PROTOCOL.md says. Every status
 * planet makes up itself is 255 (EXIT_PLANET), so a script can tell it from
 * the process's own codes; a lost connection is never reported as success. */
#include "client/internal.h"
#include "config/config.h"
#include "envfile/envfile.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/planet/enter.sock"

const char *client_socket_path(const char *opt)
{
	return opt ? opt : DEFAULT_SOCKET;
}

/* ---- option parsing ---------------------------------------------------- */

static int usage_error(const struct client_opts *o, const char *fmt, const char *arg)
{
	fprintf(stderr, "planet %s: ", o->cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see planet %s --help)\n", o->cmd);
	return -1;
}

static int add_env(struct client_opts *o, const char *kv, size_t n)
{
	if (sb_append(&o->envs, kv, n) < 0 || sb_append(&o->envs, "", 1) < 0) {
		fprintf(stderr, "planet %s: out of memory\n", o->cmd);
		return -1;
	}
	o->nenv++;
	return 0;
}

/* -e K=V sets; -e K passes the client's own K, if set. NAME follows the
 * rule of start's --env (env_key_valid): letters, digits, '_', not first a
 * digit. */
static int opt_env(struct client_opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (eq == arg || !*arg)
		return usage_error(o, "--env '%s': expected NAME=VALUE or NAME", arg);
	char name[256];
	size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
	snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1), arg);
	if (nl >= sizeof name || !env_key_valid(name))
		return usage_error(o, "--env '%s': the name must be letters, digits and '_', "
				      "not starting with a digit", arg);
	if (eq)
		return add_env(o, arg, strlen(arg));
	const char *v = getenv(arg);
	if (!v)
		return 0;
	struct strbuf kv = { 0 };
	int r = sb_printf(&kv, "%s=%s", arg, v) < 0 ? -1 : add_env(o, kv.s, kv.len);
	sb_free(&kv);
	return r;
}

/* --env-file FILE: docker's format. One NAME=VALUE per line, the value
 * taken as written (no quotes removed); a bare NAME passes the client's own;
 * blank lines and lines starting with '#' are skipped. */
static int opt_env_file(struct client_opts *o, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	struct perr e = { 0 };
	if (read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &e) < 0)
		return usage_error(o, "--env-file: %s", e.msg);
	unsigned line = 0;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		line++;
		l += strspn(l, " \t");
		size_t n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[--n] = 0;
		if (!*l || *l == '#')
			continue;
		if (opt_env(o, l) < 0) {
			fprintf(stderr, "planet %s: --env-file %s: line %u\n", o->cmd, path, line);
			return -1;
		}
	}
	return 0;
}

/* The durations of --stop-timeout (config's parser). 0 is refused: on the
 * wire it means "the box's configured stop_timeout", while stop_timeout = 0
 * means "kill at once"; one spelling must not mean both. No --timeout is
 * the configured one. */
static int opt_timeout(struct client_opts *o, const char *arg)
{
	unsigned v;
	if (duration_parse(arg, &v) < 0 || v == 0)
		return usage_error(o, strcmp(o->cmd, "stop") == 0
					      ? "--timeout '%s': expected a duration from 1s to 24h (30, "
						"30s, 2m, 1h; leave it out for the box's stop_timeout)"
					      : "--timeout '%s': expected a duration from 1s to 24h (30, "
						"30s, 2m, 1h)",
				   arg);
	o->timeout = v;
	return 0;
}

enum { OPT_SOCKET = 0x100, OPT_ENV_FILE, OPT_TIMEOUT, OPT_JSON, OPT_STATE_DIR, OPT_CONFIG, OPT_WATCH,
       OPT_TREE, OPT_ALL, OPT_SINCE_START, OPT_RO, OPT_MKDIR, OPT_REC,
       OPT_LIMIT /* + index in limit_flags */ };

/* planet update's flags: start's [resources] flags, by config key. */
static const char *const limit_flags[][2] = {
	{ "memory-max", "memory_max" },	  { "memory-high", "memory_high" },
	{ "memory-swap-max", "memory_swap_max" }, { "cpus", "cpus" },
	{ "cpu-weight", "cpu_weight" },	  { "cpuset-cpus", "cpuset_cpus" },
	{ "cpuset-mems", "cpuset_mems" }, { "pids-max", "pids_max" },
	{ "io-weight", "io_weight" },
};
#define N_LIMITS (sizeof limit_flags / sizeof limit_flags[0])

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "host", required_argument, NULL, 'H' },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "tty", no_argument, NULL, 't' },
	{ "interactive", no_argument, NULL, 'i' },
	{ "detach", no_argument, NULL, 'd' },
	{ "user", required_argument, NULL, 'u' },
	{ "env", required_argument, NULL, 'e' },
	{ "env-file", required_argument, NULL, OPT_ENV_FILE },
	{ "workdir", required_argument, NULL, 'w' },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "watch", optional_argument, NULL, OPT_WATCH },
	{ "tree", no_argument, NULL, OPT_TREE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "since-start", no_argument, NULL, OPT_SINCE_START },
	{ "ro", no_argument, NULL, OPT_RO },
	{ "mkdir", no_argument, NULL, OPT_MKDIR },
	{ "rec", no_argument, NULL, OPT_REC },
	{ "memory-max", required_argument, NULL, OPT_LIMIT + 0 },
	{ "memory-high", required_argument, NULL, OPT_LIMIT + 1 },
	{ "memory-swap-max", required_argument, NULL, OPT_LIMIT + 2 },
	{ "cpus", required_argument, NULL, OPT_LIMIT + 3 },
	{ "cpu-weight", required_argument, NULL, OPT_LIMIT + 4 },
	{ "cpuset-cpus", required_argument, NULL, OPT_LIMIT + 5 },
	{ "cpuset-mems", required_argument, NULL, OPT_LIMIT + 6 },
	{ "pids-max", required_argument, NULL, OPT_LIMIT + 7 },
	{ "io-weight", required_argument, NULL, OPT_LIMIT + 8 },
	{ "archive", no_argument, NULL, 'a' },
	{ "dereference", no_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Is option c one that command `allowed` (a list of option chars, with
 * T=timeout J=json W=watch R=tree A=all) accepts? Every command takes the options that find
 * the box (--socket, --state-dir, --config). */
static bool allowed(const char *accepts, int c)
{
	if (c == OPT_SOCKET || c == OPT_STATE_DIR || c == OPT_CONFIG || c == 'H')
		return true;
	int k = c == OPT_ENV_FILE ? 'E' : c == OPT_TIMEOUT ? 'T' : c == OPT_JSON ? 'J' : c == OPT_WATCH ? 'W' :
		c == OPT_TREE ? 'R' : c == OPT_ALL ? 'A' : c == OPT_SINCE_START ? 'S' :
		c == OPT_RO ? 'O' : c == OPT_MKDIR ? 'M' : c == OPT_REC ? 'C' : c == 'L' ? 'F' :
		c >= OPT_LIMIT ? 'L' : c;
	return k > 0 && k < 0x80 && strchr(accepts, k) != NULL;
}

static int apply_opt(struct client_opts *o, int c, const char *arg)
{
	switch (c) {
	case OPT_SOCKET:
		if (!*arg)
			return usage_error(o, "--socket%s: empty path", "");
		o->socket = arg;
		return 0;
	case 'H': o->host = arg; return 0; /* checked with the others: exit 2 */
	case OPT_STATE_DIR:
		if (!*arg)
			return usage_error(o, "--state-dir%s: empty path", "");
		o->state_dir_opt = arg;
		return 0;
	case OPT_CONFIG:
		if (!*arg)
			return usage_error(o, "--config%s: empty path", "");
		o->config = arg;
		return 0;
	case 't': o->tty = true; return 0;
	case 'i': o->interactive = true; return 0;
	case 'd': o->detach = true; return 0;
	case 'u':
		if (!*arg)
			return usage_error(o, "--user%s: empty user", "");
		o->user = arg;
		return 0;
	case 'e': return opt_env(o, arg);
	case OPT_ENV_FILE: return opt_env_file(o, arg);
	case 'w':
		if (arg[0] != '/')
			return usage_error(o, "--workdir '%s': must be an absolute path", arg);
		o->workdir = arg;
		return 0;
	case OPT_TIMEOUT: return opt_timeout(o, arg);
	case OPT_JSON: o->json = true; return 0;
	case OPT_TREE: o->tree = true; return 0;
	case OPT_SINCE_START: o->since_start = true; return 0;
	case OPT_RO: return sb_printf(&o->limits, "ro=1\n") < 0 ? -1 : 0;
	case OPT_MKDIR: return sb_printf(&o->limits, "mkdir=1\n") < 0 ? -1 : 0;
	case OPT_REC: return sb_printf(&o->limits, "rec=1\n") < 0 ? -1 : 0;
	case OPT_LIMIT + 0 ... OPT_LIMIT + (int)N_LIMITS - 1:
		if (strchr(arg, '\n') ||
		    sb_printf(&o->limits, "%s=%s\n", limit_flags[c - OPT_LIMIT][1], arg) < 0)
			return usage_error(o, "--%s: bad value", limit_flags[c - OPT_LIMIT][0]);
		return 0;
	case OPT_ALL: o->all = true; return 0;
	case 'a': o->archive = true; return 0;
	case 'L': o->follow = true; return 0;
	case OPT_WATCH: {
		char *end;
		unsigned long v = arg ? strtoul(arg, &end, 10) : 1;
		if (arg && (end == arg || *end || v < 1 || v > 3600))
			return usage_error(o, "--watch=%s: expected seconds from 1 to 3600", arg);
		o->watch_sec = (unsigned)v;
		return 0;
	}
	}
	return -1;
}

/* Returns 1 for --help, 0 to go on, -1 on a usage error. */
static int parse_opts(struct client_opts *o, int argc, char **argv, const char *shorts,
		      const char *accepts)
{
	optind = 0; /* glibc: full re-initialisation; main may have used getopt */
	opterr = 0;
	char all_shorts[32]; /* every command's, and -H */
	snprintf(all_shorts, sizeof all_shorts, "%sH:", shorts);
	int c;
	while ((optopt = 0, c = getopt_long(argc, argv, all_shorts, long_opts, NULL)) != -1) {
		/* A short option inside a group ("-tz") is named by optopt;
		 * argv[optind - 1] would be the word before it. */
		char shortname[3] = { '-', (char)optopt, 0 };
		const char *prev = argv[optind - 1];
		bool is_long = strncmp(prev, "--", 2) == 0;
		const char *name = optopt > 0 && optopt < 0x100 && !is_long ? shortname : prev;
		if (c == 'h' && allowed(accepts, c))
			return 1;
		if (c == ':')
			return usage_error(o, "option '%s' needs a value", name);
		if (c == '?' || !allowed(accepts, c))
			return usage_error(o, "unknown option '%s'", c == '?' ? name : prev);
		if (apply_opt(o, c, optarg) < 0)
			return -1;
	}
	o->argv = argv + optind;
	o->argc = argc - optind;
	return 0;
}

/* Every command's --help has one layout: "usage: planet CMD [OPTIONS]...",
 * what it does, each option on a line of its own ("  -x, --long ARG  text":
 * the bash completion reads them), the options that find the box, and
 * "Exit status:" with one status per line (t-docs checks planet(8) has each). */
#define HELP_OPT "  -h, --help              show this text\n"

#define WHERE_OPTS                                                                        \
	"\n"                                                                              \
	"Where the box is (as planet start places its socket):\n"                          \
	"      --config FILE       the box's INI file (default $PLANET_CONFIG)\n"          \
	"      --state-dir DIR     its state dir (default $PLANET_STATE_DIR, the file's\n" \
	"                          state_dir, or /run/planet)\n"                           \
	"      --socket PATH       its enter socket (default $PLANET_SOCKET, the file's\n" \
	"                          socket, or STATE_DIR/enter.sock)\n"                    \
	"  -H, --host URL          the box at URL instead, here or over ssh:\n"           \
	"                          unix:///PATH or ssh://[USER@]HOST[:PORT][/PATH]\n"     \
	"                          (default $PLANET_HOST; a bad URL exits 2)\n"

#define SESSION_EXIT                                                               \
	"\n"                                                                       \
	"Exit status:\n"                                                           \
	"  N      the process's exit code\n"                                       \
	"  128+N  the process was killed by signal N\n"                            \
	"  126    CMD is not executable\n"                                         \
	"  127    CMD was not found\n"                                             \
	"  255    planet itself failed: a bad option or configuration, no box\n"   \
	"         answered, a refusal, a protocol error\n"

/* Most operating verbs: they succeed, or planet failed. */
#define OP_EXIT                                                                   \
	"\n"                                                                      \
	"Exit status:\n"                                                          \
	"  0    done\n"                                                           \
	"  255  a bad option or configuration, no box answered, or a failure\n"

static const char exec_help[] =
	"usage: planet exec [OPTIONS] [--] CMD [ARG...]\n"
	"Run CMD inside the running box; CMD is found on the box's PATH.\n"
	"\n"
	"  -t, --tty               allocate a terminal (raw mode here with -i too)\n"
	"  -i, --interactive       send stdin to the process until EOF (default:\n"
	"                          /dev/null)\n"
	"  -u, --user USER[:GROUP] run as a user of the box's /etc/passwd (root)\n"
	"  -e, --env NAME=VALUE    set a variable (repeatable); -e NAME passes ours\n"
	"      --env-file FILE     NAME=VALUE lines of a host file (docker's format)\n"
	"  -w, --workdir DIR       working directory (default: the user's home)\n"
	"      --timeout DURATION  SIGTERM to the command at the deadline (30, 30s, 2m),\n"
	"                          SIGKILL 2 s later; planet exec then exits 124\n"
	"  -d, --detach            return once CMD has started; it runs on, its stdin\n"
	"                          and output the box's /dev/null (not with -t, -i)\n"
	HELP_OPT WHERE_OPTS SESSION_EXIT "  124    --timeout: the deadline passed\n"
	"  0      --detach: CMD has started\n"
	"  2      --detach with -t or -i\n";

static const char enter_help[] =
	"usage: planet enter [OPTIONS] [--] [CMD [ARG...]]\n"
	"Open a terminal session in the running box: CMD, or the user's login shell\n"
	"from the box's /etc/passwd (else /bin/sh).\n"
	"\n"
	"  -u, --user USER[:GROUP] run as a user of the box (default root)\n"
	"  -e, --env NAME=VALUE    set a variable (repeatable); -e NAME passes ours\n"
	"      --env-file FILE     NAME=VALUE lines of a host file (docker's format)\n"
	"  -w, --workdir DIR       working directory (default: the user's home)\n"
	HELP_OPT WHERE_OPTS SESSION_EXIT;

static const char stop_help[] =
	"usage: planet stop [OPTIONS]\n"
	"Halt the box (init's halt signal, then SIGKILL after the timeout) and wait\n"
	"until it is gone.\n"
	"\n"
	"      --timeout DURATION  how long init may take to halt: 1s to 24h (30,\n"
	"                          30s, 2m, 1h, as --stop-timeout); without it, the\n"
	"                          box's configured stop_timeout\n"
	HELP_OPT WHERE_OPTS
	"\n"
	"Exit status:\n"
	"  0    the box halted, or was not running\n"
	"  4    the box did not halt in time and was killed at the deadline\n"
	"  255  a bad option or configuration, or a failure\n";

static const char status_help[] =
	"usage: planet status [OPTIONS]\n"
	"Show whether the box runs, its id, state, init pid, uptime, rootfs and open\n"
	"sessions, as key=value lines. When none runs, say so, and name the\n"
	"leftovers of a box that did not stop cleanly, if any.\n"
	"\n"
	"      --json              one JSON object instead of key=value lines\n"
	HELP_OPT WHERE_OPTS
	"\n"
	"Exit status:\n"
	"  0    a box is running\n"
	"  3    no box is running\n"
	"  255  a bad option or configuration, or a failure\n";

/* ---- the commands ------------------------------------------------------- */

#define GO_ON (-1) /* client_main: options parsed, run the command */

/* Parse options; answer --help and usage errors. Returns an exit status, or
 * GO_ON. */
static int client_main(struct client_opts *o, int argc, char **argv, const char *shorts,
		       const char *accepts, const char *help)
{
	int r = parse_opts(o, argc, argv, shorts, accepts);
	if (r == 1) {
		fputs(help, stdout);
		return 0;
	}
	if (r < 0)
		return EXIT_PLANET;
	int remote = client_remote_resolve(o);
	if (remote)
		return remote < 0 ? 2 : GO_ON;
	struct perr e = { 0 };
	if (config_locate(o->config, o->state_dir_opt, o->socket, environ, &o->located_socket,
			  &o->state_dir, &e) < 0) {
		fprintf(stderr, "planet %s: %s\n", o->cmd, e.msg);
		return EXIT_PLANET;
	}
	o->socket = o->located_socket;
	return GO_ON;
}

static void client_opts_free(struct client_opts *o)
{
	sb_free(&o->envs);
	free(o->located_socket);
	free(o->state_dir);
}

int planet_exec_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "exec" };
	int r = client_main(&o, argc, argv, "+:htdiu:e:w:", "tdiuewhET", exec_help);
	if (r == GO_ON && o.argc == 0) {
		usage_error(&o, "a command is required%s", "");
		r = EXIT_PLANET;
	}
	if (r == GO_ON && o.detach && (o.tty || o.interactive)) {
		usage_error(&o, "--detach with %s: a detached command has no terminal and no stdin",
			    o.tty ? "--tty" : "--interactive");
		r = 2;
	}
	if (r == GO_ON)
		r = client_exec_session(&o);
	client_opts_free(&o);
	return r;
}

int planet_enter_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "enter" };
	int r = client_main(&o, argc, argv, "+:hu:e:w:", "uewhE", enter_help);
	if (r == GO_ON) {
		o.tty = o.interactive = true;
		r = client_exec_session(&o);
	}
	client_opts_free(&o);
	return r;
}

int planet_stop_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "stop" };
	int r = client_main(&o, argc, argv, "+:h", "Th", stop_help);
	if (r == GO_ON && o.argc) {
		usage_error(&o, "unexpected argument '%s'", o.argv[0]);
		r = EXIT_PLANET;
	}
	r = r == GO_ON ? client_stop_box(&o) : r;
	client_opts_free(&o);
	return r;
}

int planet_status_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "status" };
	int r = client_main(&o, argc, argv, "+:h", "Jh", status_help);
	if (r == GO_ON && o.argc) {
		usage_error(&o, "unexpected argument '%s'", o.argv[0]);
		r = EXIT_PLANET;
	}
	r = r == GO_ON ? client_status_box(&o) : r;
	client_opts_free(&o);
	return r;
}

/* ---- operating a running box ---------------------------------------------- */

static const char stats_help[] =
	"usage: planet stats [OPTIONS]\n"
	"What the box consumes, from its cgroup: cpu (usage, user, system, throttled\n"
	"time and count), memory (current, peak, max, anon, file, swap, OOM kills),\n"
	"pids (current, max), io (bytes and operations read and written), sessions.\n"
	"\n"
	"      --json              one JSON object (planet(8) lists the fields; null:\n"
	"                          unlimited or not known here)\n"
	"      --watch[=SEC]       redraw every SEC seconds (default 1) until Ctrl-C\n"
	HELP_OPT WHERE_OPTS OP_EXIT;

static const char metrics_help[] =
	"usage: planet metrics [OPTIONS]\n"
	"The figures of planet stats in the Prometheus text format (planet_ prefix,\n"
	"a box_id label), for node_exporter's textfile collector or a scraper.\n"
	"\n"
	HELP_OPT WHERE_OPTS OP_EXIT;

static const char ps_help[] =
	"usage: planet ps [OPTIONS]\n"
	"Every process in the box: its pid in the box, host pid, user (the box's\n"
	"/etc/passwd), state, %CPU over its life, RSS, start time, command line.\n"
	"\n"
	"      --tree              each process indented under its parent\n"
	"      --json              an array of objects (pid, host_pid, ppid, user,\n"
	"                          state, cpu_percent, rss_bytes, started, cmd)\n"
	HELP_OPT WHERE_OPTS OP_EXIT;

static const char kill_help[] =
	"usage: planet kill [OPTIONS] [SIGNAL]\n"
	"Send SIGNAL (a name such as TERM, SIGKILL or RTMIN+3, or a number; default\n"
	"TERM) to the box's init, or to every process in the box.\n"
	"\n"
	"      --all               signal every process in the box, not only init\n"
	HELP_OPT WHERE_OPTS
	"\n"
	"Exit status:\n"
	"  0    the signal was sent\n"
	"  255  a bad SIGNAL, option or configuration, no box answered, or a failure\n";

static const char pause_help[] =
	"usage: planet pause [OPTIONS]\n"
	"Freeze every process of the box (cgroup freezer) and return once it is\n"
	"frozen. Open sessions freeze with it; a new planet exec is refused until\n"
	"planet resume; planet stop thaws it first.\n"
	"\n"
	HELP_OPT WHERE_OPTS OP_EXIT;

static const char resume_help[] =
	"usage: planet resume [OPTIONS]\n"
	"Thaw a box planet pause froze, and return once it runs again.\n"
	"\n"
	HELP_OPT WHERE_OPTS OP_EXIT;

static const char update_help[] =
	"usage: planet update [OPTIONS] LIMIT...\n"
	"Change the box's resource limits while it runs: each LIMIT is one of the\n"
	"options below, with the values of planet start's (planet.conf(5),\n"
	"[resources]). All are parsed before any is written. Not kept across a\n"
	"restart of the box's supervisor: its config is the source of truth.\n"
	"\n"
	"      --memory-max SIZE   memory limit: 512K, 64M, 2G, 1.5G, max\n"
	"      --memory-high SIZE  memory pressure threshold\n"
	"      --memory-swap-max SIZE\n"
	"                          swap limit\n"
	"      --cpus N.N          CPU time, in CPUs: 0.5, 2, max\n"
	"      --cpu-weight 1..10000\n"
	"                          CPU share against other cgroups\n"
	"      --cpuset-cpus LIST  CPUs the box may run on: 0-3,6\n"
	"      --cpuset-mems LIST  memory nodes the box may use\n"
	"      --pids-max N        processes and threads in the box, or max\n"
	"      --io-weight 1..10000\n"
	"                          block I/O share\n"
	HELP_OPT WHERE_OPTS
	"\n"
	"Exit status:\n"
	"  0    every limit was applied\n"
	"  255  a bad option or configuration, no box answered, a limit was refused,\n"
	"       or a failure\n";

static const char events_help[] =
	"usage: planet events [OPTIONS]\n"
	"One line per event until the box goes or Ctrl-C: state (running, ready,\n"
	"paused, resumed, stopping, rebooting, stopped), oom (an OOM kill in the\n"
	"box), limits (planet update), session (a planet exec or enter ended, with\n"
	"its audit fields), init (its exit). A reader that falls behind gets a\n"
	"\"lost\" event.\n"
	"\n"
	"      --json              one object per line: type, time (RFC 3339,\n"
	"                          microseconds) and the event's fields\n"
	"      --since-start       the last 256 events first\n"
	HELP_OPT WHERE_OPTS
	"\n"
	"Exit status:\n"
	"  0    the box went away\n"
	"  255  a bad option or configuration, no box answered, or a failure\n";

static const char bind_help[] =
	"usage: planet bind [OPTIONS] HOSTPATH BOXPATH\n"
	"Bind HOSTPATH (a file or directory of the box's host) at BOXPATH inside the\n"
	"running box, seen at once by every process in it. BOXPATH is resolved in the\n"
	"box and may not go through a symbolic link. Not kept across a restart of the\n"
	"supervisor (the config's volume is).\n"
	"\n"
	"      --ro                read-only (with --rec, every submount too)\n"
	"      --mkdir             create BOXPATH (and its parents) when missing\n"
	"      --rec               the submounts below HOSTPATH as well\n"
	HELP_OPT WHERE_OPTS OP_EXIT;

static const char unbind_help[] =
	"usage: planet unbind [OPTIONS] BOXPATH\n"
	"Detach what planet bind attached at BOXPATH (planet status lists them);\n"
	"anything else there is refused.\n"
	"\n"
	HELP_OPT WHERE_OPTS OP_EXIT;

static const char device_help[] =
	"usage: planet device [OPTIONS] add SPEC\n"
	"       planet device [OPTIONS] remove BOXPATH\n"
	"add: give the running box the host's device nodes SPEC matches: SPEC is\n"
	"planet start's --device ('path=/dev/GLOB;permissions=rwm;fileMode=0660;\n"
	"uid=0;gid=0', or a bare path such as /dev/kvm). Each node is created at its\n"
	"own path in the box's /dev and allowed in the box's device cgroup.\n"
	"remove: delete a node planet device add made, and deny its device again.\n"
	"planet status lists them; they are not kept across a restart of the\n"
	"supervisor (the config's device entries are).\n"
	"\n"
	HELP_OPT WHERE_OPTS
	"\n"
	"Exit status:\n"
	"  0    every node was added, or the node was removed\n"
	"  255  a bad option, SPEC or BOXPATH, no matching host device, no box\n"
	"       answered, or a failure; nothing was changed\n";

static const char cp_help[] =
	"usage: planet cp [OPTIONS] SRC DST\n"
	"Copy a file or a directory (and all below it) into or out of the running\n"
	"box. One of SRC and DST is box:PATH, an absolute path resolved inside the\n"
	"box (its symbolic links too, absolute ones included); the other is a path\n"
	"on this host, or - for a tar stream on stdin (into DST, a directory) or\n"
	"stdout. As with cp -R: onto an existing directory the copy lands inside it,\n"
	"else it takes DST's name. Files are written under a temporary name and\n"
	"renamed when complete; no symbolic link below DST is followed. Progress\n"
	"(bytes and rate) shows when stderr is a terminal.\n"
	"\n"
	"  -a, --archive           keep owners, modes and times (else the files are\n"
	"                          the writer's, with its umask, and new times)\n"
	"  -L, --dereference       follow symbolic links in SRC (else copied as links)\n"
	HELP_OPT WHERE_OPTS
	"\n"
	"Exit status:\n"
	"  0    copied\n"
	"  1    the copy failed (the message names the path and the cause)\n"
	"  255  a bad option or configuration, no box answered, or a refusal\n";

static const char list_help[] =
	"usage: planet list [OPTIONS]\n"
	"Every box running on this host (as root: their sockets are root's), with\n"
	"its id, state, uptime, socket and rootfs.\n"
	"\n"
	"      --json              a JSON array of objects (box_id, state,\n"
	"                          uptime_sec, socket, rootfs)\n"
	HELP_OPT
	"\n"
	"Exit status:\n"
	"  0    the list was printed (it may be empty)\n"
	"  255  a bad option, or a failure\n";

/* A command with no positional argument. */
static int no_args(struct client_opts *o, int r)
{
	if (r == GO_ON && o->argc) {
		usage_error(o, "unexpected argument '%s'", o->argv[0]);
		return EXIT_PLANET;
	}
	return r;
}

static int finish_cmd(struct client_opts *o, int r)
{
	client_opts_free(o);
	sb_free(&o->limits);
	return r;
}

int planet_stats_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "stats" };
	int r = no_args(&o, client_main(&o, argc, argv, "+:h", "JWh", stats_help));
	return finish_cmd(&o, r == GO_ON ? client_stats(&o, false) : r);
}

int planet_metrics_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "metrics" };
	int r = no_args(&o, client_main(&o, argc, argv, "+:h", "h", metrics_help));
	return finish_cmd(&o, r == GO_ON ? client_stats(&o, true) : r);
}

int planet_ps_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "ps" };
	int r = no_args(&o, client_main(&o, argc, argv, "+:h", "JRh", ps_help));
	return finish_cmd(&o, r == GO_ON ? client_ps(&o) : r);
}

int planet_kill_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "kill" };
	int r = client_main(&o, argc, argv, "+:h", "Ah", kill_help);
	if (r == GO_ON && o.argc > 1) {
		usage_error(&o, "unexpected argument '%s'", o.argv[1]);
		r = EXIT_PLANET;
	}
	return finish_cmd(&o, r == GO_ON ? client_kill(&o) : r);
}

int planet_pause_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = argv[0][0] == 'r' ? "resume" : "pause" };
	int r = no_args(&o, client_main(&o, argc, argv, "+:h", "h",
					argv[0][0] == 'r' ? resume_help : pause_help));
	return finish_cmd(&o, r == GO_ON ? client_simple_op(&o, o.cmd, NULL) : r);
}

int planet_update_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "update" };
	int r = no_args(&o, client_main(&o, argc, argv, "+:h", "Lh", update_help));
	if (r == GO_ON && !o.limits.len) {
		usage_error(&o, "at least one limit is required%s", "");
		r = EXIT_PLANET;
	}
	return finish_cmd(&o, r == GO_ON ? client_simple_op(&o, "update", o.limits.s) : r);
}

int planet_events_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "events" };
	int r = no_args(&o, client_main(&o, argc, argv, "+:h", "JSh", events_help));
	return finish_cmd(&o, r == GO_ON ? client_events(&o) : r);
}

int planet_bind_main(int argc, char **argv)
{
	bool un = argv[0][0] == 'u';
	struct client_opts o = { .cmd = un ? "unbind" : "bind" };
	int r = client_main(&o, argc, argv, "+:h", un ? "h" : "OMCh", un ? unbind_help : bind_help);
	if (r == GO_ON && o.argc != (un ? 1 : 2)) {
		usage_error(&o, un ? "expected BOXPATH%s" : "expected HOSTPATH BOXPATH%s", "");
		r = EXIT_PLANET;
	}
	if (r == GO_ON) {
		for (int i = 0; i < o.argc; i++)
			if (strchr(o.argv[i], '\n')) {
				usage_error(&o, "'%s': a path with a newline", o.argv[i]);
				return finish_cmd(&o, EXIT_PLANET);
			}
		if (un)
			sb_printf(&o.limits, "target=%s\n", o.argv[0]);
		else
			sb_printf(&o.limits, "source=%s\ntarget=%s\n", o.argv[0], o.argv[1]);
		r = client_simple_op(&o, o.cmd, o.limits.s);
	}
	return finish_cmd(&o, r);
}

int planet_device_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "device" };
	int r = client_main(&o, argc, argv, "+:h", "h", device_help);
	bool add = r == GO_ON && o.argc == 2 && strcmp(o.argv[0], "add") == 0;
	if (r == GO_ON && !add && (o.argc != 2 || strcmp(o.argv[0], "remove") != 0)) {
		usage_error(&o, "expected add SPEC or remove BOXPATH%s", "");
		r = EXIT_PLANET;
	}
	if (r == GO_ON && strchr(o.argv[1], '\n')) {
		usage_error(&o, "'%s': a newline", o.argv[1]);
		r = EXIT_PLANET;
	}
	if (r == GO_ON) {
		sb_printf(&o.limits, "%s=%s\n", add ? "spec" : "path", o.argv[1]);
		r = client_simple_op(&o, add ? "device-add" : "device-remove", o.limits.s);
	}
	return finish_cmd(&o, r);
}

int planet_cp_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "cp" };
	int r = client_main(&o, argc, argv, "+:haL", "haF", cp_help);
	if (r == GO_ON && o.argc != 2) {
		usage_error(&o, "expected SRC DST%s", "");
		r = EXIT_PLANET;
	}
	if (r == GO_ON) {
		bool in = strncmp(o.argv[1], "box:", 4) == 0, out = strncmp(o.argv[0], "box:", 4) == 0;
		const char *box = in ? o.argv[1] + 4 : out ? o.argv[0] + 4 : NULL;
		int bad = 0;
		if (in == out)
			bad = usage_error(&o, "exactly one of SRC and DST is box:PATH%s", "");
		else if (box[0] != '/')
			bad = usage_error(&o, "'box:%s': the path in the box must be absolute", box);
		else if (!*(in ? o.argv[0] : o.argv[1]))
			bad = usage_error(&o, "an empty host path%s", "");
		else if (out && strcmp(o.argv[1], "-") == 0 && isatty(STDOUT_FILENO))
			bad = usage_error(&o, "a tar stream for a terminal (redirect stdout)%s", "");
		if (bad)
			r = EXIT_PLANET;
	}
	return finish_cmd(&o, r == GO_ON ? client_cp(&o) : r);
}

int planet_list_main(int argc, char **argv)
{
	struct client_opts o = { .cmd = "list" };
	int r = parse_opts(&o, argc, argv, "+:h", "Jh");
	if (r == 1) {
		fputs(list_help, stdout);
		return 0;
	}
	r = no_args(&o, r < 0 ? EXIT_PLANET : GO_ON);
	if (r == GO_ON && o.host) {
		usage_error(&o, "-H '%s': list shows the boxes of this host only", o.host);
		r = 2;
	}
	return finish_cmd(&o, r == GO_ON ? client_list(&o) : r);
}
