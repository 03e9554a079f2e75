/* Shared by the cgroupns test programs (test_cgroupns, test_cgroupns_devices,
 * test_cgroupns_layouts): children placed in cgroups before they run, what to
 * remove at the end whatever happened, the tests' own readings of /proc.
 * test_cgroupns_limits and test_cgroupns_stats use only the fake trees.
 *
 * Everything made here is named *-<pid> and removed at the end whatever
 * happened; leftovers of a crashed earlier run (dead pid) are removed first.
 *
 * Nothing here counts checks: check.h keeps its counters per file, so every
 * CHECK stays in the test programs themselves. */
#ifndef PLANET_TEST_CGTEST_H
#define PLANET_TEST_CGTEST_H

#include "cgroupns/internal.h"

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define MAXKIDS 32

extern char test_name[64];		/* planet-test-<pid> */
extern char cleanup_dirs[64][PATH_MAX]; /* everything to cg_remove_tree at the end */
extern size_t ncleanup;

void remember_dir(const char *p);
void remember_box(const struct cg_box *cg);
/* A child that waits for a byte on `go` (after the parent has placed it),
 * then runs fn (or pauses). Returns its pid; *gofd is the write end. */
pid_t spawn(int (*fn)(void *), void *arg, int *gofd);
void go(int *gofd);
/* waitpid with a deadline; returns the status or -1 on timeout. */
int wait_for(pid_t pid, int ms);
bool is_dir(const char *p);
int read_text(const char *path, char **out);
long fs_type(const char *p);
/* The test's own reading of /proc/<pid>/cgroup: ctl NULL = "0::" line. */
bool set_eq(const char *a, const char *b);
bool proc_path(pid_t pid, const char *ctl, char *buf, size_t len);

/* Device probes, run in a child placed in a cgroup. */
struct devprobe {
	const char *path;
	int flags;
	bool ok;
};
struct devprobes {
	const struct devprobe *p;
	size_t n;
	const char *tmp; /* for mknod probes */
};
/* Open each device; an expected failure is EPERM. Also mknod c 1:3 (allowed
 * with m) and c 1:7 (not). Returns the number of surprises. */
int child_probe(void *arg);

/* Fake cgroup trees: plain directories holding the files a kernel would.
 * touch writes dir/file, slurp reads it back (a static buffer, "" if it
 * cannot be read); hier adds dir (made here) to cg as one hierarchy with
 * the given mount options, mounted at mnt. */
void touch(const char *dir, const char *file, const char *content);
const char *slurp(const char *dir, const char *file);
void hier(struct cg_box *cg, const char *mnt, const char *dir, const char *opts, bool v2);

/* The start of main: root and /sys/fs/cgroup (else 77, skip), test_name,
 * stale leftovers removed, a temp dir made into tmp (64 bytes) unless tmp
 * is NULL, the layout detected (else 77), and the cgroup2 mount if any.
 * Returns 0, 77 (skip) or 1. */
int cgtest_start(const char *prog, char *tmp, enum cg_layout *layout, const char **v2mount);
/* Kill the children, remove every remembered cgroup and temp dir. */
void cleanup(void);

#endif
