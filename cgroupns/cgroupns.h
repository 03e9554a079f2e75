/* cgroupns: the box's cgroup on the host, and the cgroup tree inside.
 *
 * Layouts: legacy (v1 only), hybrid (v1 controllers + cgroup2 at
 * /sys/fs/cgroup/unified), unified (pure v2 at /sys/fs/cgroup).
 *
 * Placement: the box's cgroup is created below the cgroup the supervisor was
 * started in (per hierarchy, read from /proc/self/cgroup), never at the top:
 * if the supervisor runs in the root cgroup of a hierarchy, the box goes to
 * /planet/<name> there. On a pure v2 layout where the supervisor is not in
 * the root (e.g. a systemd unit with Delegate=yes) the supervisor first moves
 * itself into <own>/supervisor, so that <own> has no processes and can
 * delegate controllers to <own>/<name>.
 *
 * Devices: v1 writes devices.deny/devices.allow; v2 attaches a
 * BPF_PROG_TYPE_CGROUP_DEVICE program built from the same rules.
 *
 * Nothing here exits; every failure comes back as a struct perr. */
#ifndef PLANET_CGROUPNS_H
#define PLANET_CGROUPNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/base.h"

enum cg_layout { CG_LEGACY, CG_HYBRID, CG_UNIFIED };

#define CG_MAX_HIER 16

struct cg_hier {
	char *mountpoint; /* host mount point, e.g. /sys/fs/cgroup/memory */
	char *options;	  /* controllers / name=, e.g. "memory", "name=systemd";
			     "" for cgroup2 */
	char *path;	  /* absolute host dir of the box's cgroup in it */
	bool v2;
	bool vacate;	  /* pure v2: the supervisor moves into <parent>/supervisor
			     before the box's dir is made (see placement) */
};

/* A device cgroup rule. type 'a' (all), 'c' or 'b'; major/minor -1 = any. */
struct cg_dev_rule {
	char type;
	long major, minor;
	char access[4]; /* subset of "rwm" */
};

struct cg_box {
	enum cg_layout layout;
	struct cg_hier hier[CG_MAX_HIER];
	size_t n_hier;
	int bpf_prog_fd; /* v2 device program, -1 if none */
	struct cg_dev_rule *dev_rules; /* the device rules in force */
	size_t n_dev_rules;
};


/* Read the layout from /proc/self/mountinfo. */
int cg_detect(enum cg_layout *layout, struct perr *e);

/* Create the box's cgroup `name` (one path component) in every hierarchy
 * (see placement above); cg is overwritten. The caller makes the name
 * unique on the host: a directory of that name that exists already is
 * someone else's and fails the call with EEXIST, untouched (its processes
 * are never signalled, it is never removed). A crashed box's directories
 * are removed by cg_remove_tree from its state file's record. A v1 controller
 * hierarchy mounted read-only (as inside another box) is left out. On failure
 * whatever was made is removed and cg is left empty (cg_box_free is safe). */
int cg_box_create(struct cg_box *cg, const char *name, struct perr *e);
/* cg_box_create in two steps, so that the paths can be recorded (the state
 * file) before any of them exists: a supervisor killed while it makes them
 * leaves a record of every one. plan only reads (mountinfo,
 * /proc/self/cgroup) and fills cg with the paths; make creates them as
 * cg_box_create does, and on failure removes whatever it made and empties
 * cg. */
int cg_box_plan(struct cg_box *cg, const char *name, struct perr *e);
int cg_box_make(struct cg_box *cg, struct perr *e);
/* Move pid into the box's cgroup in every hierarchy. */
int cg_box_attach(const struct cg_box *cg, pid_t pid, struct perr *e);
/* Where processes that enter the box are born: the session spawner joins
 * the box's cgroup in every hierarchy (on cgroup2 the leaf below it, made
 * here if needed), and every session inherits that. */
#define CG_SESSION_LEAF "planet-enter"
int cg_box_join(const struct cg_box *cg, struct perr *e);
/* Deny everything, then allow exactly these rules. Uses the v1 devices
 * controller when the box has one (legacy, hybrid), else a BPF program on the
 * cgroup2 dir (a later call replaces it). Call it before the box has
 * sub-cgroups: v1 refuses to change the default ("a") below children. */
int cg_box_set_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
		       struct perr *e);
/* Change the rules in force while the box runs (planet device add and
 * remove). allow adds the rules to the set; deny takes each out of it once
 * (it must be there, exactly: ENOENT otherwise). v1: devices.allow, or
 * devices.deny and the remaining rules for that device allowed again; v2:
 * the program is rebuilt from the new set and replaces the attached one in
 * one step (BPF_F_REPLACE), so no open ever sees a box allowed everything
 * or nothing. On failure the set in force is the one before the call. */
int cg_box_allow_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
			 struct perr *e);
int cg_box_deny_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
			struct perr *e);
/* Send sig to every process in the box's cgroup tree (cgroup.kill on v2
 * when sig is SIGKILL; on hybrid the v1 trees are scanned as well). Each
 * process is signalled once however many hierarchies list it, and never the
 * caller itself. Returns the number of processes signalled by the procs scan
 * (0 when cgroup.kill did it all). */
/* Thaw every cgroup of the box's subtree (v1 freezer.state, v2
 * cgroup.freeze), whoever froze it: the host must be able to kill what is
 * in there, and the spawner must answer. */
void cg_box_thaw(const struct cg_box *cg);
int cg_box_kill(const struct cg_box *cg, int sig);
/* True when no process remains in the box's cgroup tree. */
bool cg_box_empty(const struct cg_box *cg);
/* Kill what remains, wait (bounded, ~1 s) for the tree to empty, and remove
 * every directory of it bottom-up, in every hierarchy. Idempotent. */
int cg_box_destroy(struct cg_box *cg, struct perr *e);
void cg_box_free(struct cg_box *cg);

/* One line per hierarchy ("cgroup=<path>\n") for the state file, and the
 * stale clean-up that reads it back: remove_tree kills and removes a cgroup
 * directory tree given its absolute path. It refuses (EINVAL) a path not
 * under /sys/fs/cgroup/, with "..", not on a cgroup fs, or a hierarchy root,
 * and (EBUSY) a tree holding the caller; a missing path is success (the
 * state file lists paths before they are made). An emptied /planet parent
 * goes too, also above a missing path. describe returns -1 (ENOMEM) or 0. */
int cg_box_describe(const struct cg_box *cg, struct strbuf *out);
int cg_remove_tree(const char *path, struct perr *e);

/* In the box's child, attached to the box in every hierarchy, after
 * unshare(CLONE_NEWCGROUP), in its own (private or slave) mount namespace and
 * with the rootfs not yet pivoted: mount the cgroup tree at
 * sysfs_cgroup_dir (the host path of <rootfs>/sys/fs/cgroup, may be
 * "/proc/self/fd/N") as systemd's container interface expects (v2: cgroup2
 * read-write, rooted at the box's cgroup; v1/hybrid: a read-only tmpfs with
 * one mount per hierarchy, the name=systemd and unified hierarchies
 * writable, controllers read-only, plus the cpu,cpuacct style symlinks).
 * Uses the new mount API (fsopen/fsmount/move_mount, mount_setattr). */
int cg_mount_in_box(const struct cg_box *cg, const char *sysfs_cgroup_dir, struct perr *e);

/* The path of pid's cgroup (pid 0: the caller) relative to the hierarchy
 * root as /proc/<pid>/cgroup shows it, into buf. controller: "memory",
 * "cpu", "name=systemd"... picks the v1 hierarchy listing it; "" picks the
 * cgroup2 line (0::); NULL picks name=systemd where it exists, else 0::. */
int cg_pid_path(pid_t pid, const char *controller, char *buf, size_t len, struct perr *e);

/* ---- resource limits (limits.c; the mapping table is there and in
 * docs/CGROUPS.md) ---- */
#define CG_UNSET (-1)
#define CG_MAX INT64_MAX /* "max": no limit */
#define CG_CPU_PERIOD_US 100000
struct cg_limits {
	int64_t memory_max, memory_high, memory_swap_max; /* bytes, CG_MAX, CG_UNSET */
	int64_t cpu_quota_us;	/* per period; CG_MAX, CG_UNSET */
	uint64_t cpu_period_us; /* 0: CG_CPU_PERIOD_US */
	unsigned cpu_weight;	/* 1..10000, 0 unset */
	char cpuset_cpus[256], cpuset_mems[256]; /* "" unset */
	int64_t pids_max;	/* CG_MAX, CG_UNSET */
	unsigned io_weight;	/* 1..10000, 0 unset */
};
/* Nothing set (inline: config/ fills a cg_limits without linking this). */
static inline void cg_limits_init(struct cg_limits *l)
{
	*l = (struct cg_limits){ .memory_max = CG_UNSET, .memory_high = CG_UNSET,
				 .memory_swap_max = CG_UNSET, .cpu_quota_us = CG_UNSET,
				 .pids_max = CG_UNSET };
}
bool cg_limits_any(const struct cg_limits *l);
/* Write every limit that is set to the box's cgroup. A limit the host
 * cannot apply (no controller, no file) is an error naming it. */
int cg_box_set_limits(const struct cg_box *cg, const struct cg_limits *l, struct perr *e);
uint64_t cg_weight_to_shares(unsigned w);
uint64_t cg_weight_to_blkio(unsigned w);

/* ---- what the box consumes; pausing it (stats.c) ---- */
struct cg_stats {
	/* -1: this host does not say */
	int64_t cpu_usage_usec, cpu_user_usec, cpu_system_usec;
	int64_t cpu_throttled_usec, cpu_throttled_count;
	int64_t memory_current, memory_peak, memory_max; /* max: CG_MAX when none */
	int64_t memory_anon, memory_file, memory_swap, memory_oom_kills;
	/* PSI: time some / every task of the box stalled on memory (us,
	 * cgroup2's memory.pressure totals; also on hybrid, whose unified
	 * hierarchy accounts it without controllers) */
	int64_t memory_pressure_some_usec, memory_pressure_full_usec;
	int64_t pids_current, pids_max;			 /* max: CG_MAX when none */
	int64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
};
void cg_box_stats(const struct cg_box *cg, struct cg_stats *s);
/* Freeze (on) or thaw the box's cgroup: v1 freezer.state, v2
 * cgroup.freeze. cg_box_frozen: 1 frozen, 0 not (or still freezing), -1
 * no freezer. */
int cg_box_freeze(const struct cg_box *cg, bool on, struct perr *e);
int cg_box_frozen(const struct cg_box *cg);
/* An fd that becomes readable when the kernel OOM-kills in the box (v1:
 * an eventfd on memory.oom_control; v2: inotify on memory.events); drain
 * it after each wake-up and compare cg_box_oom_kills. *early: the
 * notification comes before the kill is counted (v1), so a wake-up that
 * finds the count unchanged must look again shortly; v2 notifies again
 * when oom_kill changes (and on every high/max event: no recheck then). */
int cg_box_oom_watch(const struct cg_box *cg, bool *early, struct perr *e);
void cg_oom_watch_drain(int fd);
/* The box's OOM kill count alone (one file), -1 when the host does not say. */
int64_t cg_box_oom_kills(const struct cg_box *cg);
/* ---- memory pressure (pressure.c) ---- */
#define CG_PRESSURE_LEVELS 3
extern const char *const cg_pressure_levels[CG_PRESSURE_LEVELS]; /* low, medium, critical */
extern const char *const cg_psi_triggers[CG_PRESSURE_LEVELS];	 /* v2: each level's trigger */
struct cg_pressure_watch {
	int fd[CG_PRESSURE_LEVELS]; /* -1 when not open */
	bool v2; /* PSI triggers: watch for POLLPRI only (they always say POLLIN) */
};
/* v1: an eventfd per level on memory.pressure_level (readable when the
 * level, or a higher one, was reached); v2: a PSI trigger per level on
 * memory.pressure. On failure nothing is left open. */
int cg_box_pressure_watch(const struct cg_box *cg, struct cg_pressure_watch *w, struct perr *e);
/* How often each level was signalled since the last call (v2: 0 or 1);
 * never blocks, resets what it reads. */
void cg_pressure_take(const struct cg_pressure_watch *w, uint64_t counts[CG_PRESSURE_LEVELS]);
void cg_pressure_close(struct cg_pressure_watch *w);

/* ---- the OOM victim in the kernel's log (oomlog.c) ---- */
struct cg_oom_victim {
	pid_t pid;     /* host pid */
	char comm[64]; /* as the kernel logged it (\xNN escapes kept) */
};
/* The box's memory cgroup as the kernel names it (relative to its
 * hierarchy's root), -1 when there is none. */
int cg_box_memcg(const struct cg_box *cg, char *buf, size_t len);
/* /dev/kmsg, read-only, non-blocking, positioned after the last record
 * (-1 + errno when it cannot be opened). */
int cg_kmsg_open(void);
/* Read every new record; the kernel's oom-kill records for memcg or below
 * go to out (at most max); returns how many. */
size_t cg_kmsg_oom_victims(int kmsg, const char *memcg, struct cg_oom_victim *out, size_t max);
/* One /dev/kmsg record: 1 and *v filled when it is a kernel (facility 0)
 * oom-kill record, unambiguous, for memcg or below; else 0. */
int cg_oom_record_parse(const char *rec, const char *memcg, struct cg_oom_victim *v);

/* Every process of the box (host pids, sorted, once each; tree.c). The
 * caller frees *pids. */
int cg_box_procs(const struct cg_box *cg, pid_t **pids, size_t *n);

#endif
