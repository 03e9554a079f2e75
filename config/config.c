/* config: the settings themselves: defaults, one setter per key, the key
 * table that names each in every layer, config_set() (the funnel all layers
 * go through, so that a key means the same thing and fails the same way
 * whichever layer it comes from), and validation. The INI file and PLANET_*
 * variables are read in sources.c, `planet start` flags in flags.c. */
#include "config/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>

#define QLEN 200
#define Q(buf, s) str_quote((buf), sizeof(buf), (s), strlen(s))

#define DEFAULT_STATE_DIR "/run/planet"
#define DEFAULT_HOSTNAME "planet"
#define DEFAULT_INIT "/sbin/init"
#define DEFAULT_ENV_FILE "/etc/container-environment"
#define SOCKET_NAME "enter.sock"

/* "VALUE": what was expected. The caller adds where it came from. */
int config_bad(struct perr *e, const char *v, const char *what)
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
		return why ? config_bad(e, v, why) : perr_set(e, ENOMEM, "config");
	if (!root_ok && strcmp(n, "/") == 0) {
		free(n);
		return config_bad(e, v, "must name a file or directory below \"/\"");
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
		return config_bad(e, v, "expected the root filesystem directory of the box");
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
		return config_bad(e, v,
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
		return config_bad(e, v, "expected a signal name or number (SIGRTMIN+3, USR1, 15) or auto");
	c->stop_signal = sig;
	return 0;
}

static int set_stop_timeout(struct box_config *c, const char *v, struct perr *e)
{
	if (duration_parse(v, &c->stop_timeout_sec) < 0)
		return config_bad(e, v, "expected a duration from 0 to 24h: 30, 30s, 2m, 1h or 1500ms");
	return 0;
}

static int set_on_reboot(struct box_config *c, const char *v, struct perr *e)
{
	if (strcmp(v, "restart") == 0)
		c->on_reboot = ON_REBOOT_RESTART;
	else if (strcmp(v, "exit") == 0)
		c->on_reboot = ON_REBOOT_EXIT;
	else
		return config_bad(e, v, "expected restart or exit");
	return 0;
}

static int set_notify_ready(struct box_config *c, const char *v, struct perr *e)
{
	if (strcmp(v, "start") == 0)
		c->notify_ready = NOTIFY_START;
	else if (strcmp(v, "init") == 0)
		c->notify_ready = NOTIFY_INIT;
	else
		return config_bad(e, v, "expected start or init");
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
		return config_bad(e, v, "expected none, default or the absolute path of a deny list");
	if (set_abs_path(&c->seccomp_file, v, false, e) < 0)
		return -1;
	c->seccomp = SECCOMP_FILE;
	return 0;
}

static int set_bool(bool *field, const char *v, struct perr *e)
{
	if (bool_parse(v, field) < 0)
		return config_bad(e, v, "expected true or false (yes/no, on/off, 1/0)");
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

/* A host group, by name or number (resolved when the box starts). */
static int set_group(char **slot, const char *v, struct perr *e)
{
	if (!*v) {
		free(*slot);
		*slot = NULL;
		return 0;
	}
	if (strpbrk(v, " \t\n:,/"))
		return config_bad(e, v, "expected a group name or number");
	return replace_str(slot, v, e);
}

static int set_enter_group(struct box_config *c, const char *v, struct perr *e)
{
	return set_group(&c->enter_group, v, e);
}

static int set_monitor_group(struct box_config *c, const char *v, struct perr *e)
{
	return set_group(&c->monitor_group, v, e);
}

static int set_proxy_env_file(struct box_config *c, const char *v, struct perr *e)
{
	return set_abs_path(&c->proxy_env_file, v, false, e);
}

static int set_max_sessions(struct box_config *c, const char *v, struct perr *e)
{
	unsigned long n;
	if (parse_decimal(v, 100000, &n) < 0 || n < 1)
		return config_bad(e, v, "expected a number from 1 to 100000");
	c->max_sessions = (unsigned)n;
	return 0;
}

/* ---- the key table -------------------------------------------------------- */

const struct config_key config_keys[] = {
	{ "rootfs", "box", "rootfs", "PLANET_ROOTFS", "rootfs", CK_SCALAR, set_rootfs, "DIR",
	  "root filesystem of the box (required)" },
	{ "state_dir", "box", "state_dir", "PLANET_STATE_DIR", "state-dir", CK_SCALAR,
	  set_state_dir, "DIR", "state, lock and socket directory (/run/planet)" },
	{ "socket", "box", "socket", "PLANET_SOCKET", "socket", CK_SCALAR, set_socket, "PATH",
	  "enter API socket (STATE_DIR/enter.sock)" },
	{ "hostname", "box", "hostname", "PLANET_HOSTNAME", "hostname", CK_SCALAR, set_hostname,
	  "NAME", "hostname inside the box (planet)" },
	{ "init", "box", "init", "PLANET_INIT", "init", CK_SCALAR, set_init, "'CMD ARG...'",
	  "init command, split like a shell (/sbin/init)" },
	{ "stop_signal", "box", "stop_signal", "PLANET_STOP_SIGNAL", "stop-signal", CK_SCALAR,
	  set_stop_signal, "SIG", "signal that halts init (auto: by init)" },
	{ "stop_timeout", "box", "stop_timeout", "PLANET_STOP_TIMEOUT", "stop-timeout",
	  CK_SCALAR, set_stop_timeout, "SEC", "time to halt before the kill (30; 0 to 24h)" },
	{ "on_reboot", "box", "on_reboot", "PLANET_ON_REBOOT", "on-reboot", CK_SCALAR,
	  set_on_reboot, "restart|exit", "what a reboot inside does (restart)" },
	{ "notify_ready", "box", "notify_ready", "PLANET_NOTIFY_READY", "notify-ready", CK_SCALAR,
	  set_notify_ready, "start|init", "READY=1 when init starts or says so (start)" },
	{ "volume", "box", "volume", "PLANET_VOLUME", "volume", CK_LIST, set_volume,
	  "SRC:DST[:OPT]", "bind mount; OPT: ro, rw, skip, rec (list)" },
	{ "device", "box", "device", "PLANET_DEVICE", "device", CK_LIST, set_device, "SPEC",
	  "host devices, one spec per flag (list):\n"
	  "'path=/dev/GLOB;permissions=rwm;fileMode=0666;\n"
	  " uid=N;gid=N;optional=true' (path required)" },
	{ "env", "box", "env", "PLANET_ENV", "env", CK_LIST, set_env, "K=V,...",
	  "variables for the box's env file (list)" },
	{ "env_file", "box", "env_file", "PLANET_ENV_FILE", "env-file", CK_SCALAR, set_env_file,
	  "PATH", "in-box env file (/etc/container-environment)" },
	{ "dns_hosts", "box", "dns_hosts", "PLANET_DNS_HOSTS", "dns-hosts", CK_LIST,
	  set_dns_hosts, "HOST/IP,...", "extra /etc/hosts entries (list)" },
	{ "dns_zones", "box", "dns_zones", "PLANET_DNS_ZONES", "dns-zones", CK_LIST,
	  set_dns_zones, "ZONE/IP,...", "nameservers for zones (list)" },
	{ "capabilities", "box", "capabilities", "PLANET_CAPABILITIES", "capabilities",
	  CK_SCALAR, set_capabilities, "LIST", "bounding set (default; docs/SECURITY.md)" },
	{ "seccomp", "box", "seccomp", "PLANET_SECCOMP", "seccomp", CK_SCALAR, set_seccomp,
	  "none|default|FILE", "syscall filter (default)" },
	{ "block_devices", "box", "block_devices", "PLANET_BLOCK_DEVICES", "block-devices",
	  CK_BOOL, set_block_devices, "[=BOOL]", "pass the host's disks and loop devices (false)" },
	{ "writable_sys", "box", "writable_sys", "PLANET_WRITABLE_SYS", "writable-sys", CK_BOOL,
	  set_writable_sys, "[=BOOL]", "/sys and /proc/sys read-write (false)" },
	{ "file", "box", "file", "PLANET_FILE", "file", CK_LIST, config_set_file,
	  "SRC:DST[:OPT]", "copy host file SRC to DST at every start; OPT:\n"
	  "mode=0644, uid=N, gid=N, skip (list)" },
	{ "env_file_entry", "box", "env_file_entry", "PLANET_ENV_FILE_ENTRY", "env-file-entry",
	  CK_LIST, config_set_env_file_entry, "'PATH:K=V,...'",
	  "variables of another env file in the box (list;\n"
	  "also [envfile PATH] sections)" },
	{ "init_user", "box", "init_user", "PLANET_INIT_USER", "init-user", CK_SCALAR,
	  config_set_init_user, "USER[:GROUP]", "init runs as this user of the box (root;\n"
	  "refused for systemd)" },
	{ "set_credential", "box", "set_credential", "PLANET_SET_CREDENTIAL", "set-credential",
	  CK_LIST, config_set_set_credential, "ID:VALUE",
	  "systemd credential, up to 1 MiB (list)" },
	{ "load_credential", "box", "load_credential", "PLANET_LOAD_CREDENTIAL", "load-credential",
	  CK_LIST, config_set_load_credential, "ID:PATH",
	  "systemd credential read from a host file (list)" },
	{ "hook", "box", "hook", "PLANET_HOOK", "hook", CK_LIST, config_set_hook, "KIND:CMD",
	  "host command; KIND: prestart, poststart,\npoststop; box state as JSON on stdin (list)" },
	{ "hook_timeout", "box", "hook_timeout", "PLANET_HOOK_TIMEOUT", "hook-timeout", CK_SCALAR,
	  config_set_hook_timeout, "SEC", "time a hook may run before it is killed (30)" },
	{ "memory_max", "resources", "memory_max", "PLANET_MEMORY_MAX", "memory-max", CK_SCALAR,
	  set_memory_max, "SIZE", "memory limit: 512K, 64M, 2G, 1.5G, max (none)" },
	{ "memory_high", "resources", "memory_high", "PLANET_MEMORY_HIGH", "memory-high",
	  CK_SCALAR, set_memory_high, "SIZE", "memory pressure threshold (none)" },
	{ "memory_swap_max", "resources", "memory_swap_max", "PLANET_MEMORY_SWAP_MAX",
	  "memory-swap-max", CK_SCALAR, set_memory_swap_max, "SIZE", "swap limit (none)" },
	{ "cpus", "resources", "cpus", "PLANET_CPUS", "cpus", CK_SCALAR, set_cpus, "N.N",
	  "CPU time, in CPUs: 0.5, 2, max (none)" },
	{ "cpu_weight", "resources", "cpu_weight", "PLANET_CPU_WEIGHT", "cpu-weight", CK_SCALAR,
	  set_cpu_weight, "1..10000", "CPU share against other cgroups (100)" },
	{ "cpuset_cpus", "resources", "cpuset_cpus", "PLANET_CPUSET_CPUS", "cpuset-cpus",
	  CK_SCALAR, set_cpuset_cpus, "LIST", "CPUs the box may run on: 0-3,6 (all)" },
	{ "cpuset_mems", "resources", "cpuset_mems", "PLANET_CPUSET_MEMS", "cpuset-mems",
	  CK_SCALAR, set_cpuset_mems, "LIST", "memory nodes the box may use (all)" },
	{ "pids_max", "resources", "pids_max", "PLANET_PIDS_MAX", "pids-max", CK_SCALAR,
	  set_pids_max, "N", "processes and threads in the box, or max (none)" },
	{ "io_weight", "resources", "io_weight", "PLANET_IO_WEIGHT", "io-weight", CK_SCALAR,
	  set_io_weight, "1..10000", "block I/O share (100)" },
	{ "enter_group", "enter", "group", "PLANET_ENTER_GROUP", "enter-group", CK_SCALAR,
	  set_enter_group, "GROUP", "group allowed on the socket besides root (none)" },
	{ "enter_monitor_group", "enter", "monitor_group", "PLANET_ENTER_MONITOR_GROUP",
	  "enter-monitor-group", CK_SCALAR, set_monitor_group, "GROUP",
	  "group allowed the read-only requests only (none)" },
	{ "enter_proxy_env_file", "enter", "proxy_env_file", "PLANET_ENTER_PROXY_ENV_FILE",
	  "enter-proxy-env-file", CK_SCALAR, set_proxy_env_file, "PATH",
	  "env file read for each session (ENV_FILE)" },
	{ "enter_max_sessions", "enter", "max_sessions", "PLANET_ENTER_MAX_SESSIONS",
	  "enter-max-sessions", CK_SCALAR, set_max_sessions, "N",
	  "concurrent enter sessions (256; 1 to 100000)" },
};

const size_t config_nkeys = sizeof config_keys / sizeof config_keys[0];

static const struct config_key *key_by_name(const char *name)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

bool config_key_is_limit(const char *name)
{
	const struct config_key *k = key_by_name(name);
	return k && strcmp(k->section, "resources") == 0;
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
	cg_limits_init(&c->limits);
	c->hook_timeout_sec = 30;
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
	free(c->monitor_group);
	free(c->proxy_env_file);
	config_inputs_free(c);
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

int config_key_apply(struct box_config *c, const struct config_key *k, const char *value,
		     const char *origin, struct perr *e)
{
	/* An empty list value adds nothing, so "volume =" is harmless. */
	if (k->kind == CK_LIST && !*value)
		return 0;
	struct perr scratch;
	if (k->set(c, value, e ? e : &scratch) < 0)
		return with_origin(e, origin);
	return 0;
}

int config_set(struct box_config *c, const char *key, const char *value, const char *origin,
	       struct perr *e)
{
	const struct config_key *k = key_by_name(key);
	if (!k) {
		char q[QLEN];
		return perr_set(e, 0, "%s%sunknown setting %s", origin ? origin : "",
				origin ? ": " : "", Q(q, key));
	}
	return config_key_apply(c, k, value, origin, e);
}

/* ---- validation ------------------------------------------------------------- */

static int default_str(char **field, const char *v, struct perr *e)
{
	return *field ? 0 : replace_str(field, v, e);
}

int config_fill_location(struct box_config *c, struct perr *e)
{
	if (default_str(&c->state_dir, DEFAULT_STATE_DIR, e) < 0)
		return -1;
	if (!c->socket_path) {
		struct strbuf b = { 0 };
		const char *sep = strcmp(c->state_dir, "/") == 0 ? "" : "/";
		if (sb_printf(&b, "%s%s%s", c->state_dir, sep, SOCKET_NAME) < 0)
			return perr_set(e, ENOMEM, "config");
		c->socket_path = b.s;
	}
	return 0;
}

static int fill_defaults(struct box_config *c, struct perr *e)
{
	if (config_fill_location(c, e) < 0 ||
	    default_str(&c->hostname, DEFAULT_HOSTNAME, e) < 0 ||
	    default_str(&c->env_file, DEFAULT_ENV_FILE, e) < 0 ||
	    default_str(&c->proxy_env_file, c->env_file, e) < 0)
		return -1;
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

int config_check_location(const struct box_config *c, struct perr *e)
{
	char q[QLEN];
	if (check_abs("state_dir", c->state_dir, e) < 0 || check_abs("socket", c->socket_path, e) < 0)
		return -1;
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	if (strlen(c->socket_path) > max)
		return perr_set(e, 0, "socket %s: %zu bytes long, a unix socket path holds at most %zu",
				Q(q, c->socket_path), strlen(c->socket_path), max);
	return 0;
}

int config_validate(struct box_config *c, struct perr *e)
{
	char q[QLEN];
	if (fill_defaults(c, e) < 0 || check_rootfs(c, e) < 0)
		return -1;
	if (config_check_location(c, e) < 0 || check_abs("env_file", c->env_file, e) < 0 ||
	    check_abs("proxy_env_file", c->proxy_env_file, e) < 0)
		return -1;
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
	return config_inputs_validate(c, e);
}
