/* Unit tests for config/'s layers: config keys, the INI file, PLANET_*
 * variables, flags, precedence and validation (the spec parsers are
 * test_config_specs.c's). */
#include "config/internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/check.h"

static struct perr e;
static char tmpdir[] = "/tmp/planet-test-config-XXXXXX";
static char rootfs[256];

/* Message check that says what it got when it fails. */
#define CHECK_MSG(needle)                                                              \
	do {                                                                           \
		if (!strstr(e.msg, (needle)))                                          \
			fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", e.msg, (needle)); \
		CHECK(strstr(e.msg, (needle)) != NULL);                                \
	} while (0)

/* ---- volumes ---------------------------------------------------------- */

static void test_set(void)
{
	struct box_config c;
	config_init(&c);
	CHECK(c.stop_timeout_sec == 30 && c.max_sessions == 256 && c.seccomp == SECCOMP_DEFAULT);
	CHECK(c.on_reboot == ON_REBOOT_RESTART && c.notify_ready == NOTIFY_START);

	CHECK(config_set(&c, "volume", "/a:rel", "--volume", &e) == -1);
	CHECK_STREQ(e.msg, "--volume \"/a:rel\": destination \"rel\" must be an absolute path");
	CHECK(config_set(&c, "hostname", "bad_name", "PLANET_HOSTNAME", &e) == -1);
	CHECK_MSG("PLANET_HOSTNAME \"bad_name\": expected a hostname");
	CHECK(config_set(&c, "nosuch", "x", "--nosuch", &e) == -1);
	CHECK_MSG("unknown setting \"nosuch\"");

	CHECK(config_set(&c, "stop_signal", "SIGRTMIN+3", NULL, &e) == 0);
	CHECK(c.stop_signal == SIGRTMIN + 3);
	CHECK(config_set(&c, "stop_signal", "usr1", NULL, &e) == 0 && c.stop_signal == SIGUSR1);
	CHECK(config_set(&c, "stop_signal", "15", NULL, &e) == 0 && c.stop_signal == 15);
	CHECK(config_set(&c, "stop_signal", "auto", NULL, &e) == 0 && c.stop_signal == 0);
	CHECK(config_set(&c, "stop_signal", "SIGFOO", "--stop-signal", &e) == -1);
	CHECK_MSG("--stop-signal \"SIGFOO\": expected a signal name or number");
	CHECK(config_set(&c, "stop_signal", "0", NULL, &e) == -1);
	CHECK(config_set(&c, "stop_timeout", "1500ms", NULL, &e) == 0 && c.stop_timeout_sec == 2);
	CHECK(config_set(&c, "stop_timeout", "2 days", "--stop-timeout", &e) == -1);
	CHECK_MSG("--stop-timeout \"2 days\": expected a duration");
	CHECK(config_set(&c, "on_reboot", "exit", NULL, &e) == 0 && c.on_reboot == ON_REBOOT_EXIT);
	CHECK(config_set(&c, "on_reboot", "halt", NULL, &e) == -1);
	CHECK_MSG("\"halt\": expected restart or exit");
	CHECK(config_set(&c, "notify_ready", "init", NULL, &e) == 0 &&
	      c.notify_ready == NOTIFY_INIT);
	CHECK(config_set(&c, "notify_ready", "ready", NULL, &e) == -1);
	CHECK(config_set(&c, "seccomp", "none", NULL, &e) == 0 && c.seccomp == SECCOMP_NONE);
	CHECK(config_set(&c, "seccomp", "/etc/deny.list", NULL, &e) == 0 &&
	      c.seccomp == SECCOMP_FILE);
	CHECK_STREQ(c.seccomp_file, "/etc/deny.list");
	CHECK(config_set(&c, "seccomp", "default", NULL, &e) == 0 && c.seccomp == SECCOMP_DEFAULT &&
	      c.seccomp_file == NULL);
	CHECK(config_set(&c, "seccomp", "strict", NULL, &e) == -1);
	CHECK_MSG("\"strict\": expected none, default or the absolute path");
	CHECK(config_set(&c, "block_devices", "yes", NULL, &e) == 0 && c.block_devices);
	CHECK(config_set(&c, "writable_sys", "maybe", "--writable-sys", &e) == -1);
	CHECK_MSG("--writable-sys \"maybe\": expected true or false");
	CHECK(config_set(&c, "capabilities", "all,-cap_sys_module", NULL, &e) == 0);
	CHECK_STREQ(c.capabilities, "all,-cap_sys_module");
	CHECK(config_set(&c, "capabilities", "", NULL, &e) == 0 && c.capabilities == NULL);
	CHECK(config_set(&c, "init", "/bin/sh -c 'exec init'", NULL, &e) == 0);
	CHECK(check_argc(c.init_argv) == 3);
	CHECK(config_set(&c, "init", "   ", "--init", &e) == -1);
	CHECK_MSG("--init \"   \": empty command");
	CHECK(check_argc(c.init_argv) == 3); /* unchanged */
	CHECK(config_set(&c, "state_dir", "run/planet", "--state-dir", &e) == -1);
	CHECK_MSG("--state-dir \"run/planet\": must be an absolute path");
	CHECK(config_set(&c, "socket", "/run//x/./enter.sock", NULL, &e) == 0);
	CHECK_STREQ(c.socket_path, "/run/x/enter.sock");
	CHECK(config_set(&c, "env_file", "/", NULL, &e) == -1);
	CHECK(config_set(&c, "env_file", "etc/env", NULL, &e) == -1);
	CHECK(config_set(&c, "enter_max_sessions", "0", NULL, &e) == -1);
	CHECK_MSG("\"0\": expected a number from 1 to 100000");
	CHECK(config_set(&c, "enter_max_sessions", "100001", NULL, &e) == -1);
	CHECK(config_set(&c, "enter_max_sessions", "100000", NULL, &e) == 0 &&
	      c.max_sessions == 100000);
	CHECK(config_set(&c, "enter_group", "planet-admins", NULL, &e) == 0);
	CHECK_STREQ(c.enter_group, "planet-admins");
	CHECK(config_set(&c, "enter_group", "a b", NULL, &e) == -1);
	CHECK(config_set(&c, "enter_monitor_group", "planet-monitors", NULL, &e) == 0);
	CHECK_STREQ(c.monitor_group, "planet-monitors");
	CHECK(config_set(&c, "enter_monitor_group", "a:b", "--enter-monitor-group", &e) == -1);
	CHECK_MSG("--enter-monitor-group \"a:b\": expected a group name or number");
	CHECK(config_set(&c, "enter_monitor_group", "", NULL, &e) == 0 && !c.monitor_group);
	CHECK(config_set(&c, "env", "A=1,B=\"x,y\"", NULL, &e) == 0);
	CHECK(config_set(&c, "env", "C", "--env", &e) == -1);
	CHECK_MSG("--env \"C\": expected KEY=VALUE");
	CHECK(c.env.n == 2);
	/* an empty list value adds nothing and is not an error */
	CHECK(config_set(&c, "volume", "", NULL, &e) == 0 && c.n_volumes == 0);
	CHECK(config_set(&c, "device", "path=/dev/fuse", NULL, &e) == 0 && c.n_devices == 1);
	CHECK(config_set(&c, "dns_hosts", "a/1.1.1.1", NULL, &e) == 0 && c.n_dns_hosts == 1);
	CHECK(config_set(&c, "dns_zones", "z/2.2.2.2", NULL, &e) == 0 && c.n_dns_zones == 1);
	config_free(&c);
	CHECK(c.rootfs == NULL && c.n_volumes == 0 && c.stop_timeout_sec == 30);
}

/* ---- files, env, flags ---------------------------------------------------------- */

static char *write_tmp(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		close(fd);
	}
	return path;
}

static int load_text(struct box_config *c, const char *text)
{
	memset(&e, 0, sizeof e);
	return config_load_file(c, write_tmp("t.conf", text), &e);
}

static void test_file(void)
{
	struct box_config c;
	config_init(&c);
	char ini[2048];
	snprintf(ini, sizeof ini,
		 "; planet test\n"
		 "# both comment styles\n"
		 "[box]\n"
		 "rootfs = %s\n"
		 "hostname = box1 ; inline comment\n"
		 "stop_timeout = 10s\n"
		 "volume = /a:/a:ro\n"
		 "volume = /b:/b,/c:/c\n"
		 "  /d:/d\n"
		 "device = path=/dev/fuse;permissions=rw\n"
		 "env = A=1,B=2\n"
		 "env = A=3\n"
		 "dns_hosts = h/1.2.3.4\n"
		 "dns_zones = z.local/5.6.7.8\n"
		 "block_devices = true\n"
		 "init = /lib/systemd/systemd --log-level=debug\n"
		 "\n"
		 "[enter]\n"
		 "group = adm\n"
		 "max_sessions = 8\n"
		 "proxy_env_file = /etc/proxy-env\n",
		 rootfs);
	CHECK(load_text(&c, ini) == 0);
	if (e.msg[0])
		fprintf(stderr, "  %s\n", e.msg);
	CHECK_STREQ(c.rootfs, rootfs);
	CHECK_STREQ(c.hostname, "box1");
	CHECK(c.stop_timeout_sec == 10);
	CHECK(c.n_volumes == 4); /* repeated keys and continuation lines accumulate */
	CHECK(c.n_volumes == 4 && strcmp(c.volumes[3].src, "/d") == 0);
	CHECK(c.n_devices == 1);
	CHECK(c.env.n == 2);
	CHECK_STREQ(envlist_get(&c.env, "A"), "3");
	CHECK(c.n_dns_hosts == 1 && c.n_dns_zones == 1);
	CHECK(c.block_devices);
	CHECK(check_argc(c.init_argv) == 2);
	CHECK_STREQ(c.enter_group, "adm");
	CHECK(c.max_sessions == 8);
	CHECK_STREQ(c.proxy_env_file, "/etc/proxy-env");
	config_free(&c);

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[box]\nrootfs = /x\nbogus = 1\n", "t.conf:3: unknown key \"bogus\" in [box]" },
		{ "[box]\ngroup = adm\n", "t.conf:2: unknown key \"group\" in [box]" },
		{ "[enter]\nrootfs = /x\n", "t.conf:2: unknown key \"rootfs\" in [enter]" },
		{ "[Box]\nrootfs = /x\n", "t.conf:2: unknown section \"Box\"" },
		{ "rootfs = /x\n", "t.conf:1: key \"rootfs\" outside a section" },
		{ "[box]\n\nthis line is junk\n", "t.conf:3: syntax error" },
		{ "[box\n", "t.conf:1: syntax error" },
		{ "[box]\nvolume = /a:rel\n",
		  "t.conf:2: volume \"/a:rel\": destination \"rel\" must be an absolute path" },
		{ "[box]\nstop_timeout = forever\n", "t.conf:2: stop_timeout \"forever\"" },
		{ "[box]\nhostname = a\n  b\n",
		  "t.conf:3: indented line \"b\" continues \"hostname\", which takes one value" },
		{ "[enter]\nmax_sessions = 0\n", "t.conf:2: max_sessions \"0\"" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_init(&c);
		CHECK(load_text(&c, bad[i].text) == -1);
		CHECK_MSG(bad[i].msg);
		config_free(&c);
	}

	/* a line longer than inih's buffer is refused, not split in two */
	char longline[400];
	snprintf(longline, sizeof longline, "[box]\nhostname = %0300d\n", 0);
	config_init(&c);
	CHECK(load_text(&c, longline) == -1);
	CHECK_MSG("t.conf:2: line longer than");
	config_free(&c);

	/* a NUL byte is refused (inih would silently cut the line there) */
	static const char nul[] = "[box]\nhostname = a\0b\n";
	char nulpath[512];
	snprintf(nulpath, sizeof nulpath, "%s", write_tmp("nul.conf", ""));
	int fd = open(nulpath, O_WRONLY | O_TRUNC);
	CHECK(write(fd, nul, sizeof nul - 1) == (ssize_t)(sizeof nul - 1));
	close(fd);
	config_init(&c);
	CHECK(config_load_file(&c, nulpath, &e) == -1);
	CHECK_MSG("nul.conf:2: NUL byte");
	config_free(&c);

	config_init(&c);
	CHECK(config_load_file(&c, "/nonexistent/planet.conf", &e) == -1);
	CHECK_STREQ(e.msg, "config file /nonexistent/planet.conf: No such file or directory");
	CHECK(config_load_file(&c, tmpdir, &e) == -1); /* a directory is not a file */
	CHECK_MSG(tmpdir);
	config_free(&c);
}

static void test_env(void)
{
	struct box_config c;
	config_init(&c);
	char *envp[] = {
		"PATH=/usr/bin",
		"PLANET_HOSTNAME=fromenv",
		"PLANET_VOLUME=/e:/e",
		"PLANET_STOP_SIGNAL=USR2",
		"PLANET_ENTER_GROUP=wheel",
		"PLANET_ENTER_MAX_SESSIONS=9",
		"PLANET_SOCKET=",	 /* empty: as if unset */
		"PLANET_UNRELATED=zzz", /* not ours: ignored */
		"PLANET_CONFIG=/nonexistent",
		"PLANET",
		NULL,
	};
	CHECK(config_load_env(&c, envp, &e) == 0);
	CHECK_STREQ(c.hostname, "fromenv");
	CHECK(c.n_volumes == 1);
	CHECK(c.stop_signal == SIGUSR2);
	CHECK_STREQ(c.enter_group, "wheel");
	CHECK(c.max_sessions == 9);
	CHECK(c.socket_path == NULL);
	char *badenv[] = { "PLANET_DEVICE=path=/etc/passwd", NULL };
	CHECK(config_load_env(&c, badenv, &e) == -1);
	CHECK_MSG("PLANET_DEVICE \"path=/etc/passwd\": path \"/etc/passwd\": must be a path under "
		  "/dev/");
	config_free(&c);
}

/* Run config_load_all on a NULL-terminated argument list. */
static int load_all(struct box_config *c, char **envp, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, envp);
	argv[argc++] = "start";
	for (char *a; (a = va_arg(ap, char *)) && argc < 31;)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	memset(&e, 0, sizeof e);
	config_init(c);
	return config_load_all(c, argc, argv, envp, &e);
}

static void test_precedence(void)
{
	struct box_config c;
	char ini[1024];
	snprintf(ini, sizeof ini,
		 "[box]\nrootfs = %s\nhostname = fromfile\nstop_timeout = 5\n"
		 "volume = /f:/f\nenv = A=file,F=1\nseccomp = none\n",
		 rootfs);
	char conf[512];
	snprintf(conf, sizeof conf, "%s", write_tmp("p.conf", ini));
	char envconf[600];
	snprintf(envconf, sizeof envconf, "PLANET_CONFIG=%s", conf);
	char *envp[] = { envconf, "PLANET_HOSTNAME=fromenv", "PLANET_STOP_TIMEOUT=6",
			 "PLANET_VOLUME=/e:/e", "PLANET_ENV=A=env,E=1", NULL };

	/* file < env < flags; lists accumulate in that order */
	CHECK(load_all(&c, envp, "--hostname", "fromflag", "--volume=/g:/g", "--volume", "/h:/h",
		       "--env", "A=flag", NULL) == 0);
	if (e.msg[0])
		fprintf(stderr, "  %s\n", e.msg);
	CHECK_STREQ(c.hostname, "fromflag");
	CHECK(c.stop_timeout_sec == 6);
	CHECK(c.seccomp == SECCOMP_NONE);
	CHECK(c.n_volumes == 4);
	if (c.n_volumes == 4) {
		CHECK_STREQ(c.volumes[0].src, "/f");
		CHECK_STREQ(c.volumes[1].src, "/e");
		CHECK_STREQ(c.volumes[2].src, "/g");
		CHECK_STREQ(c.volumes[3].src, "/h");
	}
	CHECK_STREQ(envlist_get(&c.env, "A"), "flag");
	CHECK_STREQ(envlist_get(&c.env, "F"), "1");
	CHECK_STREQ(envlist_get(&c.env, "E"), "1");
	/* defaults filled in by validation */
	CHECK_STREQ(c.state_dir, "/run/planet");
	CHECK_STREQ(c.socket_path, "/run/planet/enter.sock");
	CHECK_STREQ(c.init_argv[0], "/sbin/init");
	CHECK_STREQ(c.env_file, "/etc/container-environment");
	CHECK_STREQ(c.proxy_env_file, "/etc/container-environment");
	config_free(&c);

	/* --config wins over PLANET_CONFIG; a missing file is an error naming it */
	CHECK(load_all(&c, envp, "--config", "/nonexistent.conf", NULL) == -1);
	CHECK_MSG("config file /nonexistent.conf: No such file or directory");
	config_free(&c);
	char *envp2[] = { "PLANET_CONFIG=/missing/planet.conf", NULL };
	CHECK(load_all(&c, envp2, "--rootfs", rootfs, NULL) == -1);
	CHECK_MSG("/missing/planet.conf");
	config_free(&c);

	/* flags only; the socket follows --state-dir; bool flags */
	char *none[] = { NULL };
	CHECK(load_all(&c, none, "--rootfs", rootfs, "--state-dir=/run/p2", "--block-devices",
		       "--writable-sys=false", "--stop-signal", "SIGRTMIN+3", "--enter-group",
		       "adm", "--env-file", "/etc/e", NULL) == 0);
	CHECK_STREQ(c.socket_path, "/run/p2/enter.sock");
	CHECK(c.block_devices && !c.writable_sys);
	CHECK(c.stop_signal == SIGRTMIN + 3);
	CHECK_STREQ(c.proxy_env_file, "/etc/e");
	config_free(&c);

	/* flag errors name the culprit */
	static const struct {
		const char *args[4], *msg;
	} bad[] = {
		{ { "--bogus", NULL }, "unknown option \"--bogus\"" },
		{ { "--bogus=1", NULL }, "unknown option \"--bogus\"" },
		{ { "-x", NULL }, "unknown option \"-x\"" },
		{ { "--vol", "/a:/a", NULL }, "unknown option \"--vol\" (write it in full: --volume)" },
		{ { "--rootfs", NULL }, "option \"--rootfs\" needs a value" },
		{ { "extra", NULL }, "unexpected argument \"extra\"" },
		{ { "--hostname", "h", "--", "x" }, "unexpected argument \"x\"" },
		{ { "--help=1", NULL }, "option --help takes no value" },
		{ { "--volume", "/a:rel", NULL },
		  "--volume \"/a:rel\": destination \"rel\" must be an absolute path" },
		{ { "--block-devices=maybe", NULL }, "--block-devices \"maybe\"" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(load_all(&c, none, "--rootfs", rootfs, bad[i].args[0], bad[i].args[1],
			       bad[i].args[2], bad[i].args[3], NULL) == -1);
		CHECK_MSG(bad[i].msg);
		config_free(&c);
	}

	/* --help prints the usage and returns 1, whatever follows */
	fflush(stdout);
	int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 1);
	int r = load_all(&c, none, "--help", "--bogus", NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	close(devnull);
	CHECK(r == 1);
	config_free(&c);
}

static void test_validate(void)
{
	struct box_config c;
	config_init(&c);
	CHECK(config_validate(&c, &e) == -1);
	CHECK_MSG("rootfs is not set");
	config_free(&c);

	config_init(&c);
	config_set(&c, "rootfs", "/nonexistent/rootfs", NULL, &e);
	CHECK(config_validate(&c, &e) == -1);
	CHECK_STREQ(e.msg, "rootfs \"/nonexistent/rootfs\": No such file or directory");
	config_free(&c);

	config_init(&c);
	config_set(&c, "rootfs", write_tmp("afile", "x"), NULL, &e);
	CHECK(config_validate(&c, &e) == -1);
	CHECK_MSG(": not a directory");
	config_free(&c);

	config_init(&c);
	config_set(&c, "rootfs", "/", NULL, &e);
	CHECK(config_validate(&c, &e) == -1);
	CHECK_MSG("the host's own root");
	config_free(&c);

	/* a relative rootfs becomes absolute */
	char cwd[512];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK(chdir(tmpdir) == 0);
	config_init(&c);
	config_set(&c, "rootfs", "./rootfs", NULL, &e);
	CHECK(config_validate(&c, &e) == 0);
	CHECK_STREQ(c.rootfs, rootfs);
	CHECK(chdir(cwd) == 0);
	CHECK(config_validate(&c, &e) == 0); /* idempotent */
	config_free(&c);

	config_init(&c);
	config_set(&c, "rootfs", rootfs, NULL, &e);
	char longdir[200];
	memset(longdir, 'd', sizeof longdir);
	longdir[0] = '/';
	longdir[110] = 0;
	config_set(&c, "state_dir", longdir, NULL, &e);
	CHECK(config_validate(&c, &e) == -1);
	CHECK_MSG("a unix socket path holds at most 107");
	CHECK_MSG("socket \"/ddd");
	config_free(&c);

	config_init(&c);
	config_set(&c, "rootfs", rootfs, NULL, &e);
	config_set(&c, "init", "sbin/init", NULL, &e);
	CHECK(config_validate(&c, &e) == -1);
	CHECK_MSG("init \"sbin/init\": the command must be an absolute path");
	config_free(&c);
}

static void test_usage(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	config_usage(f);
	fclose(f);
	static const char *const flags[] = {
		"--config",	    "--rootfs",	       "--state-dir",	 "--socket",
		"--hostname",	    "--init",	       "--stop-signal",	 "--stop-timeout",
		"--on-reboot",	    "--notify-ready",  "--volume",	 "--device",
		"--env ",	    "--env-file",      "--dns-hosts",	 "--dns-zones",
		"--capabilities",   "--seccomp",       "--block-devices", "--writable-sys",
		"--enter-group",    "--enter-proxy-env-file", "--enter-max-sessions", "--help",
		"--enter-monitor-group",
	};
	size_t found = 0;
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		bool ok = text && strstr(text, flags[i]);
		if (!ok)
			fprintf(stderr, "  usage lacks %s\n", flags[i]);
		found += ok;
	}
	CHECK(found == sizeof flags / sizeof flags[0]);
	size_t longest = 0;
	for (char *l = text; l && *l;) {
		size_t n = strcspn(l, "\n");
		longest = n > longest ? n : longest;
		l += n + (l[n] ? 1 : 0);
	}
	CHECK(longest <= 80);
	free(text);
}

/* The shipped etc/planet.conf must stay loadable with every example line
 * uncommented, and must show every key. */
/* The box's inputs (config/inputs.c). */
static void test_inputs(void)
{
	struct box_config c;
	config_init(&c);
	CHECK(c.hook_timeout_sec == 30);
	CHECK(config_set(&c, "file", "/h/a.conf:/etc/a.conf:mode=0600:uid=1000:skip", NULL, &e) == 0);
	CHECK(c.n_files == 1 && c.files[0].mode == 0600 && c.files[0].uid == 1000 &&
	      c.files[0].gid == 0 && c.files[0].skip);
	CHECK(config_set(&c, "file", "/h/b:/etc//b/", NULL, &e) == 0 && c.n_files == 2 &&
	      strcmp(c.files[1].dst, "/etc/b") == 0 && c.files[1].mode == 0644);
	CHECK(config_set(&c, "file", "/h/b", NULL, &e) == -1);
	CHECK_MSG("expected SRC:DST");
	CHECK(config_set(&c, "file", "/h/a:/etc/x:mode=9", "--file", &e) == -1);
	CHECK_MSG("--file \"/h/a:/etc/x:mode=9\": \"mode=9\": expected an octal mode");
	CHECK(config_set(&c, "file", "/h/a:/etc/x:owner=1", NULL, &e) == -1);
	CHECK_MSG("unknown option \"owner=1\"");
	CHECK(config_set(&c, "file", "/h/a:etc/x", NULL, &e) == -1);
	CHECK_MSG("destination \"etc/x\" must be an absolute path");
	CHECK(config_set(&c, "file", "/h/a:/", NULL, &e) == -1);
	CHECK(c.n_files == 2);

	CHECK(config_set(&c, "env_file_entry", "/etc/p:A=1,B=\"x,y\"", NULL, &e) == 0);
	CHECK(config_set(&c, "env_file_entry", "/etc//p/:A=2", NULL, &e) == 0);
	CHECK(c.n_envfiles == 1 && c.envfiles[0].env.n == 2);
	CHECK_STREQ(envlist_get(&c.envfiles[0].env, "A"), "2");
	CHECK_STREQ(envlist_get(&c.envfiles[0].env, "B"), "x,y");
	CHECK(config_set(&c, "env_file_entry", "A=1", NULL, &e) == -1);
	CHECK_MSG("expected PATH:K=V");
	CHECK(config_set(&c, "env_file_entry", "/etc/q:1A=1", NULL, &e) == -1 && c.n_envfiles == 1);

	CHECK(config_set(&c, "init_user", "alice:staff", NULL, &e) == 0);
	CHECK_STREQ(c.init_user, "alice:staff");
	CHECK(config_set(&c, "init_user", "alice:", NULL, &e) == -1 && !c.init_user);
	CHECK(config_set(&c, "init_user", "a b", NULL, &e) == -1);

	CHECK(credential_id_valid("apitoken") && credential_id_valid("a.b-c d"));
	CHECK(!credential_id_valid("") && !credential_id_valid(".") && !credential_id_valid(".."));
	CHECK(!credential_id_valid("a/b") && !credential_id_valid("a\tb"));
	CHECK(config_set(&c, "set_credential", "k:v:w", NULL, &e) == 0 && c.n_credentials == 1);
	CHECK_STREQ(c.credentials[0].value, "v:w");
	CHECK(config_set(&c, "load_credential", "k:/x", NULL, &e) == -1);
	CHECK_MSG("ID \"k\" given twice");
	CHECK(config_set(&c, "load_credential", "f:/etc/secret", NULL, &e) == 0);
	CHECK(config_set(&c, "load_credential", "g:rel/x", NULL, &e) == -1);
	CHECK(config_set(&c, "set_credential", "novalue", NULL, &e) == -1);
	CHECK_MSG("expected ID:VALUE");
	CHECK(strstr(e.msg, "novalue") == NULL); /* a value is never quoted */

	CHECK(config_set(&c, "hook", "prestart:/bin/sh -c 'exit 1'", NULL, &e) == 0);
	CHECK(c.n_hooks == 1 && c.hooks[0].kind == HOOK_PRESTART);
	CHECK_STREQ(c.hooks[0].argv[2], "exit 1");
	CHECK(config_set(&c, "hook", "prestop:/bin/true", NULL, &e) == -1);
	CHECK(config_set(&c, "hook", "poststop:true", NULL, &e) == -1);
	CHECK(config_set(&c, "hook_timeout", "2m", NULL, &e) == 0 && c.hook_timeout_sec == 120);
	CHECK(config_set(&c, "hook_timeout", "0", NULL, &e) == -1);
	config_free(&c);

	/* [envfile PATH] sections */
	config_init(&c);
	CHECK(load_text(&c, "[envfile /etc/default/proxy]\nNO_PROXY = a,b \"c\"\n"
			    "[box]\nrootfs = /x\n") == 0);
	CHECK(c.n_envfiles == 1 && strcmp(c.envfiles[0].path, "/etc/default/proxy") == 0);
	CHECK_STREQ(envlist_get(&c.envfiles[0].env, "NO_PROXY"), "a,b \"c\"");
	CHECK(load_text(&c, "[envfile rel]\nA = 1\n") == -1);
	CHECK_MSG("t.conf:2: [envfile rel]");
	CHECK(load_text(&c, "[envfile /x]\n1A = 1\n") == -1);
	config_free(&c);
}

static void test_example_conf(void)
{
	char src[512], path[600];
	const char *top = getenv("TOP_SRCDIR");
	if (top) {
		snprintf(src, sizeof src, "%s", top);
	} else { /* __FILE__ is SRCDIR/tests/unit/test_config.c */
		snprintf(src, sizeof src, "%s", __FILE__);
		char *t = strstr(src, "tests/unit/test_config.c");
		if (t)
			*t = 0;
		if (!*src)
			snprintf(src, sizeof src, ".");
	}
	snprintf(path, sizeof path, "%s/etc/planet.conf", src);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "  skipping the example config: %s not found\n", path);
		return;
	}
	static const char *const ini_keys[] = {
		"rootfs",     "state_dir",    "socket",	     "hostname",      "init",
		"stop_signal", "stop_timeout", "on_reboot",   "notify_ready",  "volume",
		"device",     "env",	      "env_file",    "dns_hosts",     "dns_zones",
		"capabilities", "seccomp",    "block_devices", "writable_sys", "group",
		"proxy_env_file", "max_sessions", "file", "init_user", "load_credential",
		"set_credential", "hook", "hook_timeout",
	};
	bool shown[sizeof ini_keys / sizeof ini_keys[0]] = { false };
	struct strbuf out = { 0 };
	char line[512];
	while (fgets(line, sizeof line, f)) {
		size_t k = strspn(line + 1, "abcdefghijklmnopqrstuvwxyz_");
		bool example = line[0] == '#' && k > 0 && strncmp(line + 1 + k, " =", 2) == 0;
		for (size_t i = 0; example && i < sizeof ini_keys / sizeof ini_keys[0]; i++)
			if (strlen(ini_keys[i]) == k && strncmp(line + 1, ini_keys[i], k) == 0)
				shown[i] = true;
		sb_append(&out, example ? line + 1 : line, strlen(example ? line + 1 : line));
	}
	fclose(f);
	size_t nshown = 0;
	for (size_t i = 0; i < sizeof ini_keys / sizeof ini_keys[0]; i++) {
		if (!shown[i])
			fprintf(stderr, "  etc/planet.conf lacks an example of %s\n", ini_keys[i]);
		nshown += shown[i];
	}
	CHECK(nshown == sizeof ini_keys / sizeof ini_keys[0]);
	struct box_config c;
	config_init(&c);
	CHECK(load_text(&c, out.s ? out.s : "") == 0);
	if (e.msg[0])
		fprintf(stderr, "  %s\n", e.msg);
	CHECK(c.n_volumes == 4 && c.n_devices == 2 && c.env.n == 2);
	CHECK(c.stop_signal == 0 && c.stop_timeout_sec == 30 && c.max_sessions == 256);
	config_free(&c);
	/* and, all commented out, it is valid as shipped */
	config_init(&c);
	CHECK(config_load_file(&c, path, &e) == 0);
	config_free(&c);
	sb_free(&out);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", tmpdir);
	mkdir(rootfs, 0755);
	test_set();
	test_file();
	test_env();
	test_precedence();
	test_validate();
	test_usage();
	test_inputs();
	test_example_conf();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_done("test_config");
}
