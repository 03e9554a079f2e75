/* planet: one binary, a command per verb. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "box/box.h"
#include "client/client.h"
#include "enter/enter.h"

/* One line per command under "commands:", never a continuation line: the
 * bash completion (completion/planet.bash) and t-docs read the command list
 * from this text. */
static void usage(FILE *out)
{
	fprintf(out,
		"usage: planet [-H URL] COMMAND [OPTIONS]\n"
		"\n"
		"Run a whole system (init as PID 1) in one box, and enter it.\n"
		"\n"
		"commands:\n"
		"  start    boot the box in the foreground and supervise it (root)\n"
		"  exec     run a command inside the running box\n"
		"  enter    open a shell (or run a command) inside the box, with a TTY\n"
		"  stop     halt the box through its supervisor and wait until it is gone\n"
		"  status   show whether the box runs, and what it is\n"
		"  stats    what the box consumes: cpu, memory, pids, io, sessions\n"
		"  metrics  the figures of stats in the Prometheus text format\n"
		"  ps       every process in the box\n"
		"  kill     send a signal to init, or to every process in the box\n"
		"  pause    freeze every process of the box\n"
		"  resume   thaw a paused box\n"
		"  update   change the box's resource limits while it runs\n"
		"  events   box events as they happen (state, OOM kills, sessions...)\n"
		"  bind     bind a host path into the running box\n"
		"  unbind   detach what planet bind attached\n"
		"  device   add a host device to the running box, or remove it\n"
		"  cp       copy files and directories into or out of the box\n"
		"  list     every box running on this host\n"
		"  dial-stdio  relay stdin/stdout to the enter socket (-H ssh:// runs it)\n"
		"  help     help COMMAND: the same as planet COMMAND --help\n"
		"\n"
		"options:\n"
		"  -H, --host URL  the box of every client command: unix:///PATH or\n"
		"                  ssh://[USER@]HOST[:PORT][/PATH] (default $PLANET_HOST)\n"
		"  -h, --help      show this text\n"
		"      --version   print planet's version\n"
		"\n"
		"`planet help COMMAND` (or `planet COMMAND --help`) describes a command's\n"
		"options and exit statuses; man planet(8) and planet.conf(5) have the rest.\n"
		"\n"
		"Exit status: the command's; 2 for an unknown command or a bad -H.\n");
}

typedef int (*command_fn)(int, char **);

static command_fn find_command(const char *name)
{
	static const struct {
		const char *name;
		command_fn fn;
	} cmds[] = {
		{ "start", box_start_main },	 { "exec", planet_exec_main },
		{ "enter", planet_enter_main },	 { "stop", planet_stop_main },
		{ "status", planet_status_main },
		{ "stats", planet_stats_main },	 { "metrics", planet_metrics_main },
		{ "ps", planet_ps_main },	 { "kill", planet_kill_main },
		{ "pause", planet_pause_main },	 { "resume", planet_pause_main },
		{ "update", planet_update_main }, { "list", planet_list_main },
		{ "events", planet_events_main }, { "bind", planet_bind_main },
		{ "unbind", planet_bind_main }, { "device", planet_device_main },
		{ "dial-stdio", planet_dial_stdio_main }, { "cp", planet_cp_main },
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(name, cmds[i].name) == 0)
			return cmds[i].fn;
	fprintf(stderr, "planet: unknown command \"%s\" (expected start, exec, enter, stop or status)\n",
		name);
	return NULL;
}

/* -H URL, -HURL, --host URL, --host=URL before the command; the number of
 * words taken, 0 when argv[1] is none of them, -1 when its URL is missing. */
static int global_host(int argc, char **argv, const char **url)
{
	const char *a = argv[1];
	if (strcmp(a, "-H") == 0 || strcmp(a, "--host") == 0) {
		*url = argc > 2 ? argv[2] : NULL;
		return *url ? 2 : -1;
	}
	if (strncmp(a, "--host=", 7) == 0 || (strncmp(a, "-H", 2) == 0 && a[2])) {
		*url = a + (a[1] == '-' ? 7 : 2);
		return 1;
	}
	return 0;
}

/* Commands that never talk to a box through its socket. */
static bool local_only(const char *cmd)
{
	return strcmp(cmd, "start") == 0 || strcmp(cmd, "list") == 0 ||
	       strcmp(cmd, "dial-stdio") == 0;
}

int main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');
	if (strcmp(base ? base + 1 : argv[0], "planet-spawner") == 0)
		return planet_spawner_main(argc, argv);
	const char *host = NULL;
	int taken = argc > 1 ? global_host(argc, argv, &host) : 0;
	if (taken < 0) {
		fputs("planet: -H needs a URL: unix:///PATH or ssh://[USER@]HOST[:PORT][/PATH]\n", stderr);
		return 2;
	}
	if (taken) {
		argv[taken] = argv[0];
		argc -= taken;
		argv += taken;
		if (argc > 1 && local_only(argv[1])) {
			fprintf(stderr, "planet: -H: %s works on this host only\n", argv[1]);
			return 2;
		}
		client_set_host(host);
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	/* `planet help CMD` is `planet CMD --help`, as with git and docker */
	if (strcmp(argv[1], "help") == 0 && argc > 2) {
		command_fn fn = find_command(argv[2]);
		char *help_argv[] = { argv[2], (char *)"--help", NULL };
		return fn ? fn(2, help_argv) : 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("planet %s\n", PACKAGE_VERSION);
		return 0;
	}
	command_fn fn = find_command(argv[1]);
	return fn ? fn(argc - 1, argv + 1) : 2;
}
