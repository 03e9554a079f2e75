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
#include <sys/types.h>

#include "core/core.h"

enum cg_layout { CG_LEGACY, CG_HYBRID, CG_UNIFIED };

#define CG_MAX_HIER 16

struct cg_hier {
	char *mountpoint; /* host mount point, e.g. /sys/fs/cgroup/memory */
	char *options;	  /* controllers / name=, e.g. "memory", "name=systemd";
			     "" for cgroup2 */
	char *path;	  /* absolute host dir of the box's cgroup in it */
	bool v2;
};

struct cg_box {
	enum cg_layout layout;
	struct cg_hier hier[CG_MAX_HIER];
	size_t n_hier;
	int bpf_prog_fd; /* v2 device program, -1 if none */
};

/* A device cgroup rule. type 'a' (all), 'c' or 'b'; major/minor -1 = any. */
struct cg_dev_rule {
	char type;
	long major, minor;
	char access[4]; /* subset of "rwm" */
};

/* Read the layout from /proc/self/mountinfo. */
int cg_detect(enum cg_layout *layout, struct perr *e);

/* Create the box's cgroup `name` in every hierarchy (see placement above).
 * A leftover directory of the same name (from a crash) is emptied (its
 * processes killed) and reused. */
int cg_box_create(struct cg_box *cg, const char *name, struct perr *e);
/* Move pid into the box's cgroup in every hierarchy. */
int cg_box_attach(const struct cg_box *cg, pid_t pid, struct perr *e);
/* Deny everything, then allow exactly these rules. */
int cg_box_set_devices(struct cg_box *cg, const struct cg_dev_rule *rules, size_t n,
		       struct perr *e);
/* Send sig to every process in the box's cgroup tree (cgroup.kill on v2
 * when sig is SIGKILL). Returns the number of processes signalled (v1/v2
 * procs scan) or 0. */
int cg_box_kill(const struct cg_box *cg, int sig);
/* True when no process remains in the box's cgroup tree. */
bool cg_box_empty(const struct cg_box *cg);
/* Kill what remains, wait (bounded, ~1 s) for the tree to empty, and remove
 * every directory of it bottom-up, in every hierarchy. Idempotent. */
int cg_box_destroy(struct cg_box *cg, struct perr *e);
void cg_box_free(struct cg_box *cg);

/* One line per hierarchy ("cgroup=<path>\n") for the state file, and the
 * stale clean-up that reads it back: remove_tree kills and removes a cgroup
 * directory tree given its absolute path (only under /sys/fs/cgroup). */
int cg_box_describe(const struct cg_box *cg, struct strbuf *out);
int cg_remove_tree(const char *path, struct perr *e);

/* In the box's child, after unshare(CLONE_NEWCGROUP) and with the rootfs
 * not yet pivoted: mount the cgroup tree at <rootfs_fd>/sys/fs/cgroup as
 * systemd's container interface expects (v2: cgroup2 read-write, rooted at
 * the box's cgroup; v1/hybrid: tmpfs with one mount per hierarchy, the
 * name=systemd and unified hierarchies writable, controllers read-only,
 * plus the cpu,cpuacct style symlinks). */
int cg_mount_in_box(const struct cg_box *cg, const char *sysfs_cgroup_dir, struct perr *e);

/* The path of pid's cgroup (v2: 0:: line; v1: name=systemd) relative to
 * the hierarchy root, into buf. */
int cg_pid_path(pid_t pid, const char *controller, char *buf, size_t len, struct perr *e);

#endif
