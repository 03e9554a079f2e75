/* config: what a box is made of, and where that comes from.
 *
 * Sources, in order (later wins for single values, lists accumulate):
 *   1. built-in defaults (config_init)
 *   2. the INI file (--config FILE, or PLANET_CONFIG)
 *   3. PLANET_* environment variables
 *   4. command-line flags
 * then config_validate() checks everything that can be checked without
 * touching the host (and without creating anything).
 *
 * The spec parsers (volume, device, dns lists) are pure functions over
 * strings; they are unit-tested and fuzzed. Every error message names the
 * offending value and says what was expected, in one line. */
#ifndef PLANET_CONFIG_H
#define PLANET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/base.h"
#include "cgroupns/cgroupns.h"
#include "envfile/envfile.h"

/* --volume src:dst[:ro|rw][:skip][:rec] */
struct volume_spec {
	char *src; /* host path, may be a glob */
	char *dst; /* path inside the box (= src when omitted); paths are
		      normalized. For a glob src with dst equal to src, each match
		      mounts at its own path; with another dst, at dst/<basename> */
	bool ro;
	bool skip; /* a missing source is not an error */
	bool rec;  /* recursive bind (MS_REC); with ro every submount is ro */
};

/* --device 'path=GLOB;permissions=rwm;fileMode=0666;uid=N;gid=N;optional=true' */
struct device_spec {
	char *glob;
	char perms[4];	/* subset of "rwm", NUL-terminated; default "rwm" */
	mode_t mode;	/* permission bits of the node; default 0666 */
	bool has_mode;
	uid_t uid;
	gid_t gid;
	bool optional; /* a glob matching nothing is not an error */
};

/* --dns-hosts 'host/ip,...' */
struct dns_host {
	char *host;
	char *ip;
};

/* --dns-zones 'zone/nameserver,...' */
struct dns_zone {
	char *zone;
	char *ns; /* an IPv4 or IPv6 address, no port (resolv.conf has none) */
};

/* --file SRC:DST[:mode=0644][:uid=N][:gid=N][:skip] */
struct file_spec {
	char *src; /* host path, absolute */
	char *dst; /* inside the box, absolute, normalized */
	mode_t mode; /* default 0644 */
	uid_t uid;   /* default 0 */
	gid_t gid;   /* default 0 */
	bool skip;   /* a missing src is not an error */
};

/* An extra env file of the box: --env-file-entry 'PATH:K=V,...' or an INI
 * section [envfile PATH]; entries for one PATH merge (later keys win). */
struct envfile_spec {
	char *path; /* inside the box, absolute, normalized */
	struct envlist env;
};

/* A systemd credential: --set-credential ID:VALUE (value set) or
 * --load-credential ID:PATH (path set; read at plan time). The value is
 * wiped when freed; it is never logged or written outside the box's
 * credential store. */
struct credential_spec {
	char *id;
	char *value; /* set-credential */
	size_t len;
	char *path;  /* load-credential: absolute, or relative to the
			supervisor's own $CREDENTIALS_DIRECTORY */
};
#define CREDENTIAL_SIZE_MAX (1u << 20)

/* --hook KIND:CMD, run on the host (box/hooks.c). */
enum hook_kind { HOOK_PRESTART, HOOK_POSTSTART, HOOK_POSTSTOP };
struct hook_spec {
	enum hook_kind kind;
	char **argv; /* split like --init; argv[0] absolute */
};

enum on_reboot { ON_REBOOT_RESTART, ON_REBOOT_EXIT };
enum seccomp_mode { SECCOMP_NONE, SECCOMP_DEFAULT, SECCOMP_FILE };
/* When the supervisor reports READY=1 to its own manager:
 * NOTIFY_START: as soon as init has been exec'd;
 * NOTIFY_INIT:  when init itself sends READY=1 on /run/host/notify. */
enum notify_ready { NOTIFY_START, NOTIFY_INIT };

struct box_config {
	char *rootfs;	   /* required; absolute after validation */
	char *state_dir;   /* default /run/planet */
	char *socket_path; /* default <state_dir>/enter.sock */
	char *hostname;	   /* default: basename-free "planet" */
	char **init_argv;  /* default {"/sbin/init", NULL}; split like a shell
			      (single/double quotes, backslash) */
	int stop_signal;   /* 0 = auto: detect from init (see box/supervise) */
	unsigned stop_timeout_sec; /* default 30 */
	enum on_reboot on_reboot;  /* default restart */
	enum notify_ready notify_ready; /* default start */

	struct volume_spec *volumes;
	size_t n_volumes;
	struct device_spec *devices;
	size_t n_devices;
	struct envlist env; /* --env, written to env_file */
	char *env_file;	    /* inside rootfs, default /etc/container-environment */
	struct dns_host *dns_hosts;
	size_t n_dns_hosts;
	struct dns_zone *dns_zones;
	size_t n_dns_zones;

	/* Capability bounding set: NULL = the default set; otherwise a
	 * comma/space list of names, "default", "all" and "-name"
	 * ("default,cap_sys_time", "all,-cap_sys_module"). Parsed by
	 * box/security.c; docs/SECURITY.md. */
	char *capabilities;
	enum seccomp_mode seccomp;
	char *seccomp_file; /* SECCOMP_FILE: one syscall name per line to deny */
	bool block_devices; /* expose host disks/partitions/loop devices */
	bool writable_sys;  /* /sys and /proc/sys read-write (off by default) */

	/* Inputs (config/inputs.c; docs/CONFIG.md, "Box inputs"). */
	struct file_spec *files;
	size_t n_files;
	struct envfile_spec *envfiles;
	size_t n_envfiles;
	char *init_user; /* USER[:GROUP] of the box; NULL = root */
	struct credential_spec *credentials;
	size_t n_credentials;
	struct hook_spec *hooks;
	size_t n_hooks;
	unsigned hook_timeout_sec; /* default 30 */

	/* [enter] */
	char *enter_group;    /* group allowed on the socket besides root */
	char *monitor_group;  /* group allowed the read-only requests only */
	char *proxy_env_file; /* env file read for every exec, inside rootfs;
				 default = env_file */
	unsigned max_sessions; /* default 256 */

	/* [resources]: the box's cgroup limits (cgroupns/limits.c) */
	struct cg_limits limits;
};

/* Scalar defaults only; the string defaults (state_dir, socket_path,
 * hostname, init_argv, env_file, proxy_env_file) are filled in by
 * config_validate, which can report ENOMEM. config_free re-inits. */
void config_init(struct box_config *c);
void config_free(struct box_config *c);

/* Load an INI file. Unknown sections/keys are errors naming file:line. */
int config_load_file(struct box_config *c, const char *path, struct perr *e);
/* Apply PLANET_* variables from envp (NULL-terminated). */
int config_load_env(struct box_config *c, char *const *envp, struct perr *e);
/* Apply one setting by its INI name ("rootfs", "volume", ...), as the file,
 * env and flag layers all do. `origin` prefixes errors ("--volume",
 * "PLANET_VOLUME", "planet.conf:12"). */
int config_set(struct box_config *c, const char *key, const char *value, const char *origin,
	       struct perr *e);
/* Check what can be checked without touching the host. */
int config_validate(struct box_config *c, struct perr *e);
/* Everything for `planet start ARGS`: argv[0] is "start". Finds --config
 * (or PLANET_CONFIG) first and loads it, then envp's PLANET_*, then the
 * flags, then validates. Returns 0, 1 when --help was printed to stdout, or
 * -1 with e naming the bad value (the caller exits 2). */
int config_load_all(struct box_config *c, int argc, char **argv, char *const *envp,
		    struct perr *e);
/* For the client commands (exec, enter, stop, status): the socket that
 * `planet start` with the same file, environment and flags would create.
 * The layers and their order are start's: the INI file (config, else
 * PLANET_CONFIG; every key is parsed and checked as start does), then
 * PLANET_STATE_DIR and PLANET_SOCKET, then the flags state_dir and socket
 * (NULL when not given); the socket defaults to <state_dir>/enter.sock.
 * Other PLANET_* variables are not read: they do not move the socket.
 * On success *socket and *state_dir are allocated (the caller frees). */
int config_locate(const char *config, const char *state_dir, const char *socket,
		  char *const *envp, char **socket_out, char **state_dir_out, struct perr *e);
/* The `planet start --help` text. */
void config_usage(FILE *out);

/* Spec parsers: append to the arrays; on error nothing is appended. */
int volume_specs_parse(const char *s, struct volume_spec **v, size_t *n, struct perr *e);
int device_spec_parse(const char *s, struct device_spec **v, size_t *n, struct perr *e);
int dns_hosts_parse(const char *s, struct dns_host **v, size_t *n, struct perr *e);
int dns_zones_parse(const char *s, struct dns_zone **v, size_t *n, struct perr *e);
/* systemd's credential name rules: 1..255 printable ASCII characters, no
 * '/' or ':', not "." or "..". */
bool credential_id_valid(const char *id);
const char *hook_kind_name(enum hook_kind k);
/* Shell-like split of an --init command line into a NULL-terminated argv. */
int argv_split(const char *s, char ***argv, struct perr *e);
void argv_free(char **argv);
/* Seconds: "30", "30s", "1m", "1500ms" (rounded up). */
int duration_parse(const char *s, unsigned *sec);
/* RFC 1123 hostname, 1..64 chars. */
bool hostname_valid(const char *s);
/* "true/false/yes/no/on/off/1/0" */
int bool_parse(const char *s, bool *out);

void volume_spec_free(struct volume_spec *v);
void device_spec_free(struct device_spec *d);

/* resources.c: "512K", "64M", "1.5G", bytes, "max"/"infinity" (CG_MAX);
 * "0.5", "2" CPUs as a quota per CG_CPU_PERIOD_US; "0-3,6". -1 / false on
 * anything else. */
int size_parse(const char *s, int64_t *out);
int cpus_parse(const char *s, int64_t *quota_us);
bool cpu_list_valid(const char *s);

/* Is name (config_set's) a [resources] limit: what `planet update` may
 * change on a running box. */
bool config_key_is_limit(const char *name);

/* Where every running supervisor registers itself (a file named after its
 * pid: state_dir=, socket=), for `planet list`. */
#define BOX_REGISTRY "/run/planet/boxes"

#endif
