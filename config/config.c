/* config: defaults, the INI file, PLANET_* variables and `planet start`
 * flags, all funnelled through config_set() so that a key means the same
 * thing and fails the same way whichever layer it comes from. */
#include "config/config.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>

#define QLEN 200
#define Q(buf, s) spec_quote((buf), sizeof(buf), (s), strlen(s))

#define DEFAULT_STATE_DIR "/run/planet"
#define DEFAULT_HOSTNAME "planet"
#define DEFAULT_INIT "/sbin/init"
#define DEFAULT_ENV_FILE "/etc/container-environment"
#define SOCKET_NAME "enter.sock"

/* "VALUE": what was expected. The caller adds where it came from. */
static int bad(struct perr *e, const char *v, const char *what)
{
	char q[QLEN];
	return perr_set(e, 0, "%s: %s", Q(q, v), what);
}

static int replace_str(char **field, const char *v, struct perr *e)
{
	char *n = strdup(v);
	if (!n)
		return perr_set(e, ENOMEM, "config");
	free(*field);
	*field = n;
	return 0;
}

static int set_abs_path(char **field, const char *v, bool root_ok, struct perr *e)
{
	const char *why;
	char *n = spec_path_normalize(v, &why);
	if (!n)
		return why ? bad(e, v, why) : perr_set(e, ENOMEM, "config");
	if (!root_ok && strcmp(n, "/") == 0) {
		free(n);
		return bad(e, v, "must name a file or directory below \"/\"");
	}
	free(*field);
	*field = n;
	return 0;
}

static int parse_decimal(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* ---- one setter per key ------------------------------------------------- */

static int set_rootfs(struct box_config *c, const char *v, struct perr *e)
{
	if (!*v)
		return bad(e, v, "expected the root filesystem directory of the box");
	return replace_str(&c->rootfs, v, e);
}

static int set_state_dir(struct box_config *c, const char *v, struct perr *e)
{
	return set_abs_path(&c->state_dir, v, false, e);
}

static int set_socket(struct box_config *c, const char *v, struct perr *e)
{
	return set_abs_path(&c->socket_path, v, false, e);
}

static int set_hostname(struct box_config *c, const char *v, struct perr *e)
{
	if (!hostname_valid(v))
		return bad(e, v,
			   "expected a hostname: dot-separated labels of letters, digits and '-' "
			   "(not at either end of a label), at most 64 characters");
	return replace_str(&c->hostname, v, e);
}

static int set_init(struct box_config *c, const char *v, struct perr *e)
{
	char **argv;
	if (argv_split(v, &argv, e) < 0)
		return -1;
	argv_free(c->init_argv);
	c->init_argv = argv;
	return 0;
}

static int set_stop_signal(struct box_config *c, const char *v, struct perr *e)
{
	if (strcasecmp(v, "auto") == 0) {
		c->stop_signal = 0;
		return 0;
	}
	int sig = signal_parse(v);
	if (sig <= 0)
		return bad(e, v, "expected a signal name or number (SIGRTMIN+3, USR1, 15) or auto");
	c->stop_signal = sig;
	return 0;
}

static int set_stop_timeout(struct box_config *c, const char *v, struct perr *e)
{
	if (duration_parse(v, &c->stop_timeout_sec) < 0)
		return bad(e, v, "expected a duration from 0 to 24h: 30, 30s, 2m, 1h or 1500ms");
	return 0;
}

static int set_on_reboot(struct box_config *c, const char *v, struct perr *e)
{
	if (strcmp(v, "restart") == 0)
		c->on_reboot = ON_REBOOT_RESTART;
	else if (strcmp(v, "exit") == 0)
		c->on_reboot = ON_REBOOT_EXIT;
	else
		return bad(e, v, "expected restart or exit");
	return 0;
}

static int set_notify_ready(struct box_config *c, const char *v, struct perr *e)
{
	if (strcmp(v, "start") == 0)
		c->notify_ready = NOTIFY_START;
	else if (strcmp(v, "init") == 0)
		c->notify_ready = NOTIFY_INIT;
	else
		return bad(e, v, "expected start or init");
	return 0;
}

static int set_volume(struct box_config *c, const char *v, struct perr *e)
{
	return volume_specs_parse(v, &c->volumes, &c->n_volumes, e);
}

static int set_device(struct box_config *c, const char *v, struct perr *e)
{
	return device_spec_parse(v, &c->devices, &c->n_devices, e);
}

static int set_env(struct box_config *c, const char *v, struct perr *e)
{
	return envlist_parse(&c->env, v, e);
}

static int set_env_file(struct box_config *c, const char *v, struct perr *e)
{
	return set_abs_path(&c->env_file, v, false, e);
}

static int set_dns_hosts(struct box_config *c, const char *v, struct perr *e)
{
	return dns_hosts_parse(v, &c->dns_hosts, &c->n_dns_hosts, e);
}

static int set_dns_zones(struct box_config *c, const char *v, struct perr *e)
{
	return dns_zones_parse(v, &c->dns_zones, &c->n_dns_zones, e);
}

/* Kept as text: box/security.c owns the capability names. Empty means the
 * default set, so a later layer can undo an earlier one. */
static int set_capabilities(struct box_config *c, const char *v, struct perr *e)
{
	if (!*v) {
		free(c->capabilities);
		c->capabilities = NULL;
		return 0;
	}
	return replace_str(&c->capabilities, v, e);
}

static int set_seccomp(struct box_config *c, const char *v, struct perr *e)
{
	if (strcmp(v, "none") == 0 || strcmp(v, "default") == 0) {
		c->seccomp = v[0] == 'n' ? SECCOMP_NONE : SECCOMP_DEFAULT;
		free(c->seccomp_file);
		c->seccomp_file = NULL;
		return 0;
	}
	if (v[0] != '/')
		return bad(e, v, "expected none, default or the absolute path of a deny list");
	if (set_abs_path(&c->seccomp_file, v, false, e) < 0)
		return -1;
	c->seccomp = SECCOMP_FILE;
	return 0;
}

static int set_bool(bool *field, const char *v, struct perr *e)
{
	if (bool_parse(v, field) < 0)
		return bad(e, v, "expected true or false (yes/no, on/off, 1/0)");
	return 0;
}

static int set_block_devices(struct box_config *c, const char *v, struct perr *e)
{
	return set_bool(&c->block_devices, v, e);
}

static int set_writable_sys(struct box_config *c, const char *v, struct perr *e)
{
	return set_bool(&c->writable_sys, v, e);
}

static int set_enter_group(struct box_config *c, const char *v, struct perr *e)
{
	if (!*v) {
		free(c->enter_group);
		c->enter_group = NULL;
		return 0;
	}
	if (strpbrk(v, " \t\n:,/"))
		return bad(e, v, "expected a group name or number");
	return replace_str(&c->enter_group, v, e);
}

static int set_proxy_env_file(struct box_config *c, const char *v, struct perr *e)
{
	return set_abs_path(&c->proxy_env_file, v, false, e);
}

static int set_max_sessions(struct box_config *c, const char *v, struct perr *e)
{
	unsigned long n;
	if (parse_decimal(v, 100000, &n) < 0 || n < 1)
		return bad(e, v, "expected a number from 1 to 100000");
	c->max_sessions = (unsigned)n;
	return 0;
}

/* ---- the key table -------------------------------------------------------- */

enum key_kind { KEY_SCALAR, KEY_LIST, KEY_BOOL };

struct key {
	const char *name; /* config_set's name */
	const char *section, *ini, *env, *flag;
	enum key_kind kind;
	int (*set)(struct box_config *c, const char *v, struct perr *e);
	const char *arg, *help; /* for --help */
};

static const struct key keys[] = {
	{ "rootfs", "box", "rootfs", "PLANET_ROOTFS", "rootfs", KEY_SCALAR, set_rootfs, "DIR",
	  "root filesystem of the box (required)" },
	{ "state_dir", "box", "state_dir", "PLANET_STATE_DIR", "state-dir", KEY_SCALAR,
	  set_state_dir, "DIR", "state, lock and socket directory (/run/planet)" },
	{ "socket", "box", "socket", "PLANET_SOCKET", "socket", KEY_SCALAR, set_socket, "PATH",
	  "enter API socket (STATE_DIR/enter.sock)" },
	{ "hostname", "box", "hostname", "PLANET_HOSTNAME", "hostname", KEY_SCALAR, set_hostname,
	  "NAME", "hostname inside the box (planet)" },
	{ "init", "box", "init", "PLANET_INIT", "init", KEY_SCALAR, set_init, "'CMD ARG...'",
	  "init command, split like a shell (/sbin/init)" },
	{ "stop_signal", "box", "stop_signal", "PLANET_STOP_SIGNAL", "stop-signal", KEY_SCALAR,
	  set_stop_signal, "SIG", "signal that halts init (auto: by init)" },
	{ "stop_timeout", "box", "stop_timeout", "PLANET_STOP_TIMEOUT", "stop-timeout",
	  KEY_SCALAR, set_stop_timeout, "SEC", "time to halt before the kill (30; 0 to 24h)" },
	{ "on_reboot", "box", "on_reboot", "PLANET_ON_REBOOT", "on-reboot", KEY_SCALAR,
	  set_on_reboot, "restart|exit", "what a reboot inside does (restart)" },
	{ "notify_ready", "box", "notify_ready", "PLANET_NOTIFY_READY", "notify-ready", KEY_SCALAR,
	  set_notify_ready, "start|init", "READY=1 when init starts or says so (start)" },
	{ "volume", "box", "volume", "PLANET_VOLUME", "volume", KEY_LIST, set_volume,
	  "SRC:DST[:OPT]", "bind mount; OPT: ro, rw, skip, rec (list)" },
	{ "device", "box", "device", "PLANET_DEVICE", "device", KEY_LIST, set_device, "SPEC",
	  "host devices, one spec per flag (list):\n"
	  "'path=/dev/GLOB;permissions=rwm;fileMode=0666;\n"
	  " uid=N;gid=N;optional=true' (path required)" },
	{ "env", "box", "env", "PLANET_ENV", "env", KEY_LIST, set_env, "K=V,...",
	  "variables for the box's env file (list)" },
	{ "env_file", "box", "env_file", "PLANET_ENV_FILE", "env-file", KEY_SCALAR, set_env_file,
	  "PATH", "in-box env file (/etc/container-environment)" },
	{ "dns_hosts", "box", "dns_hosts", "PLANET_DNS_HOSTS", "dns-hosts", KEY_LIST,
	  set_dns_hosts, "HOST/IP,...", "extra /etc/hosts entries (list)" },
	{ "dns_zones", "box", "dns_zones", "PLANET_DNS_ZONES", "dns-zones", KEY_LIST,
	  set_dns_zones, "ZONE/IP,...", "nameservers for zones (list)" },
	{ "capabilities", "box", "capabilities", "PLANET_CAPABILITIES", "capabilities",
	  KEY_SCALAR, set_capabilities, "LIST", "bounding set (all but CAP_AUDIT_*)" },
	{ "seccomp", "box", "seccomp", "PLANET_SECCOMP", "seccomp", KEY_SCALAR, set_seccomp,
	  "none|default|FILE", "syscall filter (default)" },
	{ "block_devices", "box", "block_devices", "PLANET_BLOCK_DEVICES", "block-devices",
	  KEY_BOOL, set_block_devices, "[=BOOL]", "pass the host's disks and loop devices (false)" },
	{ "writable_sys", "box", "writable_sys", "PLANET_WRITABLE_SYS", "writable-sys", KEY_BOOL,
	  set_writable_sys, "[=BOOL]", "/sys and /proc/sys read-write (false)" },
	{ "enter_group", "enter", "group", "PLANET_ENTER_GROUP", "enter-group", KEY_SCALAR,
	  set_enter_group, "GROUP", "group allowed on the socket besides root (none)" },
	{ "enter_proxy_env_file", "enter", "proxy_env_file", "PLANET_ENTER_PROXY_ENV_FILE",
	  "enter-proxy-env-file", KEY_SCALAR, set_proxy_env_file, "PATH",
	  "env file read for each session (ENV_FILE)" },
	{ "enter_max_sessions", "enter", "max_sessions", "PLANET_ENTER_MAX_SESSIONS",
	  "enter-max-sessions", KEY_SCALAR, set_max_sessions, "N",
	  "concurrent enter sessions (256; 1 to 100000)" },
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const struct key *key_by_name(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* ---- defaults and freeing -------------------------------------------------- */

void config_init(struct box_config *c)
{
	memset(c, 0, sizeof *c);
	c->stop_signal = 0;
	c->stop_timeout_sec = 30;
	c->on_reboot = ON_REBOOT_RESTART;
	c->notify_ready = NOTIFY_START;
	c->seccomp = SECCOMP_DEFAULT;
	c->max_sessions = 256;
}

void config_free(struct box_config *c)
{
	free(c->rootfs);
	free(c->state_dir);
	free(c->socket_path);
	free(c->hostname);
	argv_free(c->init_argv);
	for (size_t i = 0; i < c->n_volumes; i++)
		volume_spec_free(&c->volumes[i]);
	free(c->volumes);
	for (size_t i = 0; i < c->n_devices; i++)
		device_spec_free(&c->devices[i]);
	free(c->devices);
	envlist_free(&c->env);
	free(c->env_file);
	for (size_t i = 0; i < c->n_dns_hosts; i++) {
		free(c->dns_hosts[i].host);
		free(c->dns_hosts[i].ip);
	}
	free(c->dns_hosts);
	for (size_t i = 0; i < c->n_dns_zones; i++) {
		free(c->dns_zones[i].zone);
		free(c->dns_zones[i].ns);
	}
	free(c->dns_zones);
	free(c->capabilities);
	free(c->seccomp_file);
	free(c->enter_group);
	free(c->proxy_env_file);
	config_init(c);
}

/* ---- config_set ------------------------------------------------------------- */

/* Prefix an error with where the value came from: "--volume "/a:rel": ...". */
static int with_origin(struct perr *e, const char *origin)
{
	if (!e || !origin)
		return -1;
	char prev[PERR_MSG_MAX];
	int errnum = e->errnum;
	memcpy(prev, e->msg, sizeof prev);
	int n = snprintf(e->msg, sizeof e->msg, "%s ", origin);
	if (n > 0 && (size_t)n < sizeof e->msg) {
		size_t pl = strnlen(prev, sizeof e->msg - (size_t)n - 1);
		memcpy(e->msg + n, prev, pl);
		e->msg[(size_t)n + pl] = 0;
	}
	e->errnum = errnum;
	return -1;
}

static int key_apply(struct box_config *c, const struct key *k, const char *value,
		     const char *origin, struct perr *e)
{
	/* An empty list value adds nothing, so "volume =" is harmless. */
	if (k->kind == KEY_LIST && !*value)
		return 0;
	struct perr scratch;
	if (k->set(c, value, e ? e : &scratch) < 0)
		return with_origin(e, origin);
	return 0;
}

int config_set(struct box_config *c, const char *key, const char *value, const char *origin,
	       struct perr *e)
{
	const struct key *k = key_by_name(key);
	if (!k) {
		char q[QLEN];
		return perr_set(e, 0, "%s%sunknown setting %s", origin ? origin : "",
				origin ? ": " : "", Q(q, key));
	}
	return key_apply(c, k, value, origin, e);
}

/* ---- the INI file ------------------------------------------------------------- */

struct ini_state {
	struct box_config *c;
	const char *path;
	FILE *f;
	unsigned line;
	bool indented; /* the current line starts with blank space */
	bool had_key;  /* a key was seen in this section (inih's prev_name) */
	bool cont;     /* inih will treat this line as a continuation */
	bool failed;
	struct perr *e;
};

/* Record the file's first error as "PATH:LINE: message"; returns 0, which
 * is what an inih handler returns on error. */
static int ini_fail(struct ini_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int ini_fail(struct ini_state *st, const char *fmt, ...)
{
	char msg[PERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	st->failed = true;
	perr_set(st->e, 0, "%s:%u: %s", st->path, st->line, msg);
	return 0;
}

/* inih's reader: one line per call, as fgets would, but counting lines for
 * messages, refusing NUL bytes and refusing (rather than splitting) lines
 * longer than inih's buffer. */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct ini_state *st = stream;
	if (st->failed)
		return NULL;
	size_t n = 0, max = (size_t)num - 2;
	int ch;
	while ((ch = getc(st->f)) != EOF && ch != '\n') {
		if (ch == 0 || n == max) {
			st->line++;
			if (ch == 0)
				ini_fail(st, "NUL byte");
			else
				ini_fail(st, "line longer than %zu characters; split a list "
					     "over several \"key =\" lines", max);
			return NULL;
		}
		str[n++] = (char)ch;
	}
	if (ferror(st->f)) {
		st->failed = true;
		return perr_set(st->e, errno, "read %s", st->path), NULL;
	}
	if (ch == EOF && n == 0)
		return NULL;
	if (ch == '\n')
		str[n++] = '\n';
	str[n] = 0;
	st->line++;

	/* Mirror inih's rules to know whether this line continues the
	 * previous key: comments first, then indented text after a key. */
	size_t lead = strspn(str, " \t\r\f\v");
	char first = str[lead];
	bool blank = first == 0 || first == '\n';
	st->indented = lead > 0;
	st->cont = st->indented && st->had_key && !blank && first != ';' && first != '#';
	if (!st->cont && first == '[')
		st->had_key = false;
	return str;
}

static const struct key *key_by_ini(const char *section, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].ini, name) == 0)
			return &keys[i];
	return NULL;
}

static int ini_on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	char q[QLEN], q2[QLEN];
	bool cont = st->cont;
	st->had_key = true;
	if (st->failed)
		return 0;
	if (!*section)
		return ini_fail(st, "key %s outside a section (expected under [box] or [enter])",
				Q(q, name));
	if (strcmp(section, "box") != 0 && strcmp(section, "enter") != 0)
		return ini_fail(st, "unknown section %s (expected [box] or [enter])",
				Q(q, section));
	const struct key *k = key_by_ini(section, name);
	if (!k)
		return ini_fail(st, "unknown key %s in [%s]", Q(q, name), section);
	if (cont && k->kind != KEY_LIST)
		return ini_fail(st, "indented line %s continues %s, which takes one value "
				    "(only list keys continue on indented lines)",
				Q(q2, value), Q(q, name));
	char origin[PATH_MAX + 80];
	snprintf(origin, sizeof origin, "%s:%u: %s", st->path, st->line, name);
	if (key_apply(st->c, k, value, origin, st->e) < 0) {
		st->failed = true;
		return 0;
	}
	return 1;
}

int config_load_file(struct box_config *c, const char *path, struct perr *e)
{
	struct perr scratch;
	_cleanup_file_ FILE *f = fopen(path, "re");
	if (!f)
		return perr_set(e, errno, "config file %s", path);
	struct ini_state st = { .c = c, .path = path, .f = f, .e = e ? e : &scratch };
	int r = ini_parse_stream(ini_read_line, &st, ini_on_key, &st);
	if (st.failed)
		return -1;
	if (r == -2)
		return perr_set(e, ENOMEM, "config file %s", path);
	if (r != 0)
		return perr_set(e, 0,
				"%s:%d: syntax error (expected \"key = value\", \"[section]\" or a "
				"comment)",
				path, r);
	return 0;
}

/* ---- PLANET_* ---------------------------------------------------------------- */

static const struct key *key_by_env(const char *var, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].env) == len && strncmp(keys[i].env, var, len) == 0)
			return &keys[i];
	return NULL;
}

int config_load_env(struct box_config *c, char *const *envp, struct perr *e)
{
	for (; envp && *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		if (strncmp(*envp, "PLANET_", 7) != 0 || !eq || !eq[1])
			continue; /* unset and empty look the same to systemd units */
		size_t len = (size_t)(eq - *envp);
		const struct key *k = key_by_env(*envp, len);
		if (!k)
			continue; /* PLANET_CONFIG, or another tool's variable */
		if (key_apply(c, k, eq + 1, k->env, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- validation ------------------------------------------------------------- */

static int default_str(char **field, const char *v, struct perr *e)
{
	return *field ? 0 : replace_str(field, v, e);
}

static int fill_defaults(struct box_config *c, struct perr *e)
{
	if (default_str(&c->state_dir, DEFAULT_STATE_DIR, e) < 0 ||
	    default_str(&c->hostname, DEFAULT_HOSTNAME, e) < 0 ||
	    default_str(&c->env_file, DEFAULT_ENV_FILE, e) < 0 ||
	    default_str(&c->proxy_env_file, c->env_file, e) < 0)
		return -1;
	if (!c->socket_path) {
		struct strbuf b = { 0 };
		const char *sep = strcmp(c->state_dir, "/") == 0 ? "" : "/";
		if (sb_printf(&b, "%s%s%s", c->state_dir, sep, SOCKET_NAME) < 0)
			return perr_set(e, ENOMEM, "config");
		c->socket_path = b.s;
	}
	if (!c->init_argv && set_init(c, DEFAULT_INIT, e) < 0)
		return -1;
	return 0;
}

static int check_rootfs(struct box_config *c, struct perr *e)
{
	char q[QLEN];
	if (!c->rootfs || !*c->rootfs)
		return perr_set(e, 0,
				"rootfs is not set: give --rootfs DIR, PLANET_ROOTFS or "
				"\"rootfs =\" in [box]");
	char *abs = realpath(c->rootfs, NULL);
	if (!abs)
		return perr_set(e, errno, "rootfs %s", Q(q, c->rootfs));
	free(c->rootfs);
	c->rootfs = abs;
	struct stat st;
	if (stat(abs, &st) < 0)
		return perr_set(e, errno, "rootfs %s", Q(q, abs));
	if (!S_ISDIR(st.st_mode))
		return perr_set(e, 0, "rootfs %s: not a directory", Q(q, abs));
	if (strcmp(abs, "/") == 0)
		return perr_set(e, 0, "rootfs %s: the host's own root cannot be a box", Q(q, abs));
	return 0;
}

static int check_abs(const char *what, const char *v, struct perr *e)
{
	char q[QLEN];
	if (!v || v[0] != '/')
		return perr_set(e, 0, "%s %s: must be an absolute path", what, Q(q, v ? v : ""));
	return 0;
}

int config_validate(struct box_config *c, struct perr *e)
{
	char q[QLEN];
	if (fill_defaults(c, e) < 0 || check_rootfs(c, e) < 0)
		return -1;
	if (check_abs("state_dir", c->state_dir, e) < 0 || check_abs("socket", c->socket_path, e) < 0 ||
	    check_abs("env_file", c->env_file, e) < 0 ||
	    check_abs("proxy_env_file", c->proxy_env_file, e) < 0)
		return -1;
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	if (strlen(c->socket_path) > max)
		return perr_set(e, 0, "socket %s: %zu bytes long, a unix socket path holds at most %zu",
				Q(q, c->socket_path), strlen(c->socket_path), max);
	if (!hostname_valid(c->hostname))
		return perr_set(e, 0, "hostname %s: not a valid hostname", Q(q, c->hostname));
	if (!c->init_argv[0] || c->init_argv[0][0] != '/')
		return perr_set(e, 0, "init %s: the command must be an absolute path in the box",
				Q(q, c->init_argv[0] ? c->init_argv[0] : ""));
	if (c->stop_timeout_sec > 86400)
		return perr_set(e, 0, "stop_timeout %u: at most 86400 seconds", c->stop_timeout_sec);
	if (c->max_sessions < 1 || c->max_sessions > 100000)
		return perr_set(e, 0, "max_sessions %u: expected 1 to 100000", c->max_sessions);
	if (c->seccomp == SECCOMP_FILE && check_abs("seccomp", c->seccomp_file, e) < 0)
		return -1;
	return 0;
}

/* ---- flags ------------------------------------------------------------------ */

enum { OPT_HELP = 'h', OPT_CONFIG = 1000, OPT_KEY = 1001 };

struct flag_val {
	const struct key *k;
	const char *v;
};

static void build_options(struct option *o)
{
	size_t i = 0;
	for (; i < NKEYS; i++)
		o[i] = (struct option){ keys[i].flag,
					keys[i].kind == KEY_BOOL ? optional_argument
								 : required_argument,
					NULL, OPT_KEY + (int)i };
	o[i++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	o[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	o[i] = (struct option){ 0 };
}

/* getopt_long accepts any unambiguous prefix (--vol); we do not, so that a
 * flag added later cannot change what an existing script means. */
static bool spelled_out(const char *arg, const char *name)
{
	if (strncmp(arg, "--", 2) != 0)
		return true; /* -h */
	size_t n = strcspn(arg + 2, "=");
	return n == strlen(name) && strncmp(arg + 2, name, n) == 0;
}

/* After getopt_long reported r ('?' or ':'), name the culprit. */
static int flag_error(int r, char **argv, struct perr *e)
{
	char q[QLEN];
	if (r == '?' && optopt > 0 && optopt < 128 && optopt != 'h')
		return perr_set(e, 0, "unknown option \"-%c\" (see planet start --help)", optopt);
	const char *arg = argv[optind - 1];
	size_t n = strcspn(arg, "=");
	char name[QLEN];
	snprintf(name, sizeof name, "%.*s", (int)(n < 100 ? n : 100), arg);
	if (r == ':')
		return perr_set(e, 0, "option %s needs a value", Q(q, name));
	if (optopt == 'h')
		return perr_set(e, 0, "option --help takes no value");
	return perr_set(e, 0, "unknown option %s (see planet start --help)", Q(q, name));
}

/* One pass over argv: collect the flags (applied after the file and the
 * environment), remember --config, stop at --help. Returns 1 for help. */
static int parse_flags(int argc, char **argv, struct flag_val *fv, size_t *nfv,
		       const char **config, struct perr *e)
{
	struct option opts[NKEYS + 3];
	build_options(opts);
	optind = 0; /* full re-initialisation: we may not be the first caller */
	opterr = 0;
	for (;;) {
		int cur = optind ? optind : 1, idx = -1;
		int r = getopt_long(argc, argv, "+:h", opts, &idx);
		if (r == -1)
			break;
		if (r == '?' || r == ':')
			return flag_error(r, argv, e);
		if (idx >= 0 && !spelled_out(argv[cur], opts[idx].name)) {
			char q[QLEN];
			return perr_set(e, 0, "unknown option %s (write it in full: --%s)",
					Q(q, argv[cur]), opts[idx].name);
		}
		if (r == OPT_HELP)
			return 1;
		if (r == OPT_CONFIG) {
			*config = optarg;
			continue;
		}
		const struct key *k = &keys[r - OPT_KEY];
		fv[(*nfv)++] = (struct flag_val){ k, optarg ? optarg : "true" };
	}
	if (optind < argc) {
		char q[QLEN];
		return perr_set(e, 0, "unexpected argument %s (planet start takes only options)",
				Q(q, argv[optind]));
	}
	return 0;
}

static const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

int config_load_all(struct box_config *c, int argc, char **argv, char *const *envp,
		    struct perr *e)
{
	_cleanup_free_ struct flag_val *fv = calloc((size_t)argc + 1, sizeof *fv);
	if (!fv)
		return perr_set(e, ENOMEM, "config");
	size_t nfv = 0;
	const char *config = NULL;
	int r = parse_flags(argc, argv, fv, &nfv, &config, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		config_usage(stdout);
		return 1;
	}
	if (!config) {
		config = env_lookup(envp, "PLANET_CONFIG");
		if (config && !*config)
			config = NULL;
	}
	if (config && config_load_file(c, config, e) < 0)
		return -1;
	if (config_load_env(c, envp, e) < 0)
		return -1;
	for (size_t i = 0; i < nfv; i++) {
		char origin[64];
		snprintf(origin, sizeof origin, "--%s", fv[i].k->flag);
		if (key_apply(c, fv[i].k, fv[i].v, origin, e) < 0)
			return -1;
	}
	return config_validate(c, e);
}

/* ---- --help ------------------------------------------------------------------- */

void config_usage(FILE *out)
{
	fputs("Usage: planet start [OPTIONS]\n"
	      "\n"
	      "Boot the box whose root filesystem is --rootfs, with init as PID 1, and\n"
	      "supervise it in the foreground until init ends. Exit status: init's\n"
	      "(0 after a clean halt), or 2 when a setting is invalid.\n"
	      "\n"
	      "  --config FILE                INI file to read first (PLANET_CONFIG)\n",
	      out);
	for (size_t i = 0; i < NKEYS; i++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", keys[i].flag,
			 keys[i].kind == KEY_BOOL ? "" : " ", keys[i].arg);
		if (strlen(left) > 28)
			fprintf(out, "  %s\n%31s", left, "");
		else
			fprintf(out, "  %-28s ", left);
		/* continuation lines of a help text line up under its first */
		for (const char *h = keys[i].help;;) {
			size_t n = strcspn(h, "\n");
			fprintf(out, "%.*s\n", (int)n, h);
			if (!h[n])
				break;
			h += n + 1;
			fprintf(out, "%31s", "");
		}
	}
	fputs("  -h, --help                   show this text\n"
	      "\n"
	      "Every option is also a key of the INI file and a PLANET_* variable:\n"
	      "--stop-timeout is stop_timeout in [box] and PLANET_STOP_TIMEOUT;\n"
	      "--enter-group is group in [enter] and PLANET_ENTER_GROUP.\n"
	      "Precedence: defaults < INI file < PLANET_* < flags. Single values: the\n"
	      "last one wins. Lists (--volume, --device, --env, --dns-hosts,\n"
	      "--dns-zones) accumulate over all layers; repeat a flag to add more.\n"
	      "Flags take --opt VALUE or --opt=VALUE and must be spelled out in full.\n"
	      "\n"
	      "Reference: docs/CONFIG.md; a commented example: /etc/planet/planet.conf.\n",
	      out);
}
