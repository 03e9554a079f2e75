/* box: the launcher. Turns a validated struct box_config into a running box
 * (namespaces, the mount tree, /dev, cgroup, capabilities, seccomp, init as
 * PID 1), supervises it on one libuv loop, and takes it down again leaving
 * nothing behind.
 *
 * Life of a box:
 *   box_plan_build()   expand globs, stat devices, render generated files;
 *                      everything that can fail on bad input fails here,
 *                      before the host is touched
 *   box_rootfs_lock()  one box per rootfs (refuse a busy one)
 *   box_state_lock()   take the state dir (refuse a running box, clear a
 *                      stale one)
 *   box_spawn()        cgroup, clone3 into new namespaces, child builds the
 *                      rootfs and execs init; its errors come back over a
 *                      sync socket
 *   box_supervise()    the loop: signals, init's exit, console relay, the
 *                      enter server, staged halt
 *   box_teardown()     kill what remains, remove cgroup, state, socket */
#ifndef PLANET_BOX_H
#define PLANET_BOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroupns/cgroupns.h"
#include "config/config.h"
#include "base/base.h"

/* A volume after glob expansion: one bind mount. */
struct box_bind {
	char *src; /* host path, as planned (for messages) */
	char *dst; /* path inside the box */
	bool ro, rec, is_dir;
	bool may_vanish; /* :skip, or a glob match: ENOENT drops it */
	int src_fd;	 /* O_PATH, opened once at plan time; every boot binds
			    this, never src again (box/volumes.c) */
};

/* A device node to create in the box's /dev and allow in its cgroup. */
struct box_dev {
	char *path; /* inside the box, e.g. /dev/loop0 */
	mode_t mode; /* S_IFCHR/S_IFBLK | permission bits */
	dev_t rdev;
	uid_t uid;
	gid_t gid;
	char perms[4]; /* cgroup access "rwm" */
};

/* A --file, read at plan time (box/inputs.c). */
struct box_file {
	const struct file_spec *spec;
	char *data; /* NULL: a missing source with :skip */
	size_t len;
};

/* A credential's value, read at plan time; wiped when the plan is freed. */
struct box_cred {
	const char *id;
	char *data;
	size_t len;
};

struct box_plan {
	const struct box_config *cfg;
	char box_id[37];
	struct box_bind *binds;
	size_t n_binds;
	struct box_dev *devs;
	size_t n_devs;
	char **init_env;      /* NULL-terminated, for execve */
	struct strbuf envfile; /* contents of cfg->env_file */
	struct strbuf hosts;   /* /etc/hosts */
	struct strbuf resolv;  /* /etc/resolv.conf */
	struct strbuf zones;   /* dnsmasq server=/zone/ns lines */
	int stop_signal;       /* 0 = detect at halt time */
	struct box_file *files;
	size_t n_files;
	struct strbuf *envfiles; /* rendered, one per cfg->envfiles[i] */
	struct box_cred *creds;
	size_t n_creds;
};

/* ---- plan (box/start.c, box/volumes.c, box/devices.c, box/files.c) ---- */
int box_plan_build(struct box_plan *p, const struct box_config *cfg, struct perr *e);
void box_plan_free(struct box_plan *p);
/* Expand the volumes and open every source once (O_PATH); a source below
 * a tree the box can write (a writable volume's source, the rootfs) is
 * opened following no symlink below that tree, with a warning. */
int box_volumes_plan(struct box_plan *p, struct perr *e);
void box_volumes_free(struct box_plan *p);
int box_devices_plan(struct box_plan *p, struct perr *e);
/* Refuse a directory that is no rootfs (no executable init inside it, or a
 * mount point that is not a directory), before anything is written. */
int box_rootfs_check(const struct box_config *c, struct perr *e);
int box_files_render(struct box_plan *p, struct perr *e);
/* Child, /run mounted: an O_PATH fd of the file to bind a generated file
 * over (/etc/resolv.conf, /etc/hosts), resolved inside the root. A link
 * whose target is missing (systemd-resolved's ../run/systemd/resolve/
 * stub-resolv.conf) gets the target created if, and only if, it is on the
 * box's /run tmpfs; a missing file that is no link is created empty. */
int box_files_target(int rootfd, const char *path, struct perr *e);
/* Device cgroup rules: the standard set plus every planned device. */
int box_device_rules(const struct box_plan *p, struct cg_dev_rule **rules, size_t *n);

/* ---- inputs (box/inputs.c) ---- */
/* Plan: read every --file source and credential, render the extra env
 * files, check each destination and the init user against the rootfs. */
int box_inputs_plan(struct box_plan *p, struct perr *e);
void box_inputs_free(struct box_plan *p);
/* Child, /run mounted, before the volumes: the files, the env files, and
 * the credentials' read-only ramfs on /run/host/credentials. */
int box_inputs_write(const struct box_plan *p, int rootfd, struct perr *e);
/* Child, after pivot_root and the security settings, just before exec:
 * become cfg->init_user (looked up again in the box's own files). */
int box_init_user_apply(const struct box_plan *p, struct perr *e);
#define BOX_CREDENTIALS_DIR "/run/host/credentials"

/* ---- hooks (box/hooks.c) ---- */
/* What a hook gets on stdin, as JSON (docs/CONFIG.md, "Hooks"). */
struct hook_state {
	const char *id;
	const char *status; /* "created", "running", "stopped" */
	pid_t pid;	    /* init's, 0 once it is gone */
	const char *rootfs;
	const char *state_dir;
};
/* Run every hook of kind k, in order, each at most cfg->hook_timeout_sec.
 * prestart: the first failure stops there and returns -1 with its output;
 * the others log a failure and go on (0). */
int box_hooks_run(const struct box_config *cfg, enum hook_kind k, const struct hook_state *st,
		  struct perr *e);
bool box_hooks_any(const struct box_config *cfg, enum hook_kind k);

/* ---- one box per rootfs (box/rootfs_lock.c) ---- */
/* Take the rootfs's lock for the supervisor's life (*fd, O_CLOEXEC; closing
 * it, or the supervisor's death, releases it). Busy: an error naming the
 * holder's pid and state dir. */
int box_rootfs_lock(const char *rootfs, int *fd, struct perr *e);

/* ---- state dir (box/state.c) ---- */
struct box_state {
	char *dir;
	int lock_fd;
	bool created_dir;
};
/* Create/lock the state dir. A running box there -> error; stale leftovers
 * of a crashed supervisor (state file, socket, cgroups) are removed. */
int box_state_lock(struct box_state *s, const struct box_config *cfg, struct perr *e);
int box_state_write(const struct box_state *s, const struct box_plan *p, pid_t init_pid,
		    const struct cg_box *cg, struct perr *e);
/* Remove state file, lock, socket (and the dir if we created it). */
void box_state_release(struct box_state *s, const struct box_config *cfg);

/* ---- the running box (box/spawn.c, box/rootfs.c) ---- */
struct box_run {
	pid_t init_pid;
	int init_pidfd;
	int console_master; /* the /dev/console pty master */
	int console_slave;  /* held open so the master never reads EIO when
			       init closes its console (systemd does) */
	struct cg_box cg;
	unsigned long long started_ns;
	unsigned long long started_unix;
	char notify_path[108]; /* host path of /run/host/notify, "" if none */
	int notify_fd;	       /* datagram socket bound there, -1 if none */
	/* The state dir: box_spawn records the cgroup's paths in the state
	 * file before it creates them (no init_pid line until init runs), so a
	 * supervisor killed during start-up leaves a state file naming them
	 * and the next start removes them. NULL: not recorded. */
	const struct box_state *state;
	/* This boot's detached copy of each planned volume (open_tree of its
	 * src_fd), attached by the child; closed once the child has run. */
	int *vol_trees;
	size_t n_vol_trees;
};
int box_spawn(struct box_run *r, const struct box_plan *p, struct perr *e);
/* Child side, in two steps around joining the cgroup (whose first write to
 * cgroup.procs can take the kernel ~10 ms on v1, so the parent does it while
 * the child mounts): prepare builds everything but the cgroup tree;
 * finish, once the child is in its cgroup namespace, mounts the cgroup tree
 * and pivots into the rootfs. */
int box_rootfs_prepare(const struct box_plan *p, const char *console_path,
		       const struct box_run *r, struct perr *e);
int box_rootfs_finish(const struct box_plan *p, const struct box_run *r, struct perr *e);
/* Volumes for one boot: the supervisor clones every source (read-only,
 * a slave of the host's mount) before the child is cloned; the child
 * attaches them in its mount namespace; release closes the copies. */
int box_volumes_clone(struct box_run *r, const struct box_plan *p, struct perr *e);
int box_volumes_attach(const struct box_plan *p, const struct box_run *r, int rootfd,
		       struct perr *e);
void box_volumes_release(struct box_run *r);
/* Mask the host-wide /proc and /sys files and make the host's /proc
 * tunables read-only (box/procmask.c; child, after /proc, /sys, /dev). */
int box_procmask(const struct box_plan *p, int rootfd, struct perr *e);
/* Create the planned device nodes (child, before pivot). */
int box_devices_create(const struct box_plan *p, int devfd, struct perr *e);
/* Kill everything, remove the cgroup; safe to call twice. */
void box_run_teardown(struct box_run *r);

/* ---- security (box/security.c) ---- */
/* Drop the bounding set and load the seccomp filter (init and every exec'd
 * session process call this just before execve). */
int box_apply_security(const struct box_config *cfg, struct perr *e);
/* Validate cfg->capabilities and cfg->seccomp_file without applying. */
int box_security_check(const struct box_config *cfg, struct perr *e);
/* box/seccomp.c: compile the filter cfg->seccomp asks for (nothing for
 * none), given the bounding set `keep` (a bit per capability): the
 * default filter lets through the calls of the capabilities kept. */
/* memwatch.c: OOM kills (with the victim from the kernel's log) and
 * memory pressure, as events of srv and lines of the log. stop closes its
 * handles (before srv goes); free after the loop has closed them. */
struct box_memwatch;
struct uv_loop_s;
struct enter_server;
struct box_memwatch *box_memwatch_start(struct uv_loop_s *loop, const struct cg_box *cg,
					struct enter_server *srv);
void box_memwatch_stop(struct box_memwatch *w);
void box_memwatch_free(struct box_memwatch *w);

struct sock_filter;
int box_seccomp_build(const struct box_config *cfg, unsigned long long keep,
		      struct sock_filter **out, unsigned short *out_len, struct perr *e);

/* ---- supervision (box/supervise.c) ---- */
enum box_end { BOX_END_EXIT, BOX_END_RESTART };
/* Run the loop until init is gone. *status is the supervisor's exit status. */
enum box_end box_supervise(struct box_run *r, const struct box_plan *p, int *status);

/* `planet start`: the whole thing. Returns the process exit status. */
int box_start_main(int argc, char **argv);

/* Send a systemd notification ("READY=1") to $NOTIFY_SOCKET, if set. */
void box_sd_notify(const char *msg);
/* The same, formatted (at most 511 bytes; a newline is kept only before a
 * STATUS= field). */
void box_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
