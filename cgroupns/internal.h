/* cgroupns: what only the module's own files share. */
#ifndef PLANET_CGROUPNS_INTERNAL_H
#define PLANET_CGROUPNS_INTERNAL_H

#include "cgroupns/cgroupns.h"


#define CG_ROOT "/sys/fs/cgroup"
#define CG_BASE "planet" /* box parent when the supervisor sits at "/" */
#define CG_FILE_MAX (1u << 20)

/* util.c: path formatting (-1 + ENAMETOOLONG when it does not fit), short
 * control-file reads and writes (-1 + errno), comma-separated lists. */
int cg_pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int cg_write_str(const char *path, const char *s);
int cg_read_str(const char *path, char **out);
bool cg_has_token(const char *list, const char *tok);

/* layout.c: the mounts of /proc/self/mountinfo, and the hierarchies. */
struct cg_mnt {
	int id, parent;
	char *dev, *root, *mountpoint, *mntopts, *fstype, *superopts;
	bool hidden;
};
struct cg_hinfo {
	char *mountpoint, *options, *root;
	bool v2, ro, preferred;
	size_t mnt_index;
};
int cg_mounts_read(struct cg_mnt **out, size_t *nout, struct perr *e);
void cg_mounts_free(struct cg_mnt *m, size_t n);
bool cg_is_mountpoint(const struct cg_mnt *m, size_t n, const char *path);
bool cg_path_under(const char *p, const char *dir);
int cg_hier_scan(struct cg_hinfo *h, size_t *nh, enum cg_layout *layout, struct perr *e);
void cg_hinfo_free(struct cg_hinfo *h, size_t n);
int cg_proc_cgroup_find(const char *procfile, const char *ctrls, bool contains, char *buf,
			size_t len, struct perr *e);

/* tree.c: a cgroup directory and its descendants. */
int cg_kill_trees(char *const *dirs, size_t n, int sig);
bool cg_tree_empty(const char *dir, bool v2);
bool cg_tree_has_pid(const char *dir, pid_t pid);
int cg_remove_dirs(const char *dir, bool keep_top);
bool cg_kill_and_wait(char *const *dirs, const bool *v2, size_t n);

/* placement.c: an empty record (no hierarchy, no device program). */
void cg_box_init(struct cg_box *cg); /* lifecycle.c */

/* devbpf.c: the cgroup2 device program. */
int cg_devbpf_load(const struct cg_dev_rule *rules, size_t n, struct perr *e);
/* replace_fd >= 0: atomically in place of that program (BPF_F_REPLACE). */
int cg_devbpf_attach(int cgroup_fd, int prog_fd, int replace_fd, struct perr *e);
int cg_devbpf_detach(int cgroup_fd, int prog_fd, struct perr *e);
int cg_devbpf_detach_all(int cgroup_fd, struct perr *e);

#endif
