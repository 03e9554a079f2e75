/* The box's inputs beyond mounts and devices: --file copies, the extra env
 * files, systemd credentials and the init user.
 *
 * Everything that comes from the host (file sources, credential files) is
 * read while planning, so that a missing or oversized one is bad input
 * (exit 2) before anything is written; the child then writes from memory,
 * at every boot, resolving each path inside the root (base/ root_*). */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <grp.h>
#include <signal.h>

#define QLEN 200
#define Q(buf, s) str_quote((buf), sizeof(buf), (s), strlen(s))
#define FILE_MAX (16u << 20) /* a --file source is held in memory */

/* A regular file of the host, whole (at most max bytes). ENOENT is left in
 * e->errnum for the caller (:skip). */
static int read_host_regular(const char *path, size_t max, char **out, size_t *len,
			     struct perr *e)
{
	char q[QLEN];
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return perr_set(e, errno, "%s", Q(q, path));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return perr_set(e, errno, "%s", Q(q, path));
	if (!S_ISREG(st.st_mode))
		return perr_set(e, 0, "%s: not a regular file", Q(q, path));
	if ((size_t)st.st_size > max)
		return perr_set(e, 0, "%s: %lld bytes, at most %zu", Q(q, path),
				(long long)st.st_size, max);
	if (read_fd_all(fd, max, out, len, e) < 0)
		return perr_wrap(e, "%s", Q(q, path));
	return 0;
}

/* ---- --file ------------------------------------------------------------------ */

/* Where DST lands must be reachable from the rootfs without a symbolic link
 * that leaves it as the host reads it (an absolute target, or ".." above
 * the root): such a link names a place of the host, and writing "inside the
 * root" instead would put the file where nobody meant it. The deepest
 * existing ancestor is checked with RESOLVE_BENEATH, which refuses exactly
 * those (EXDEV); relative links inside (merged /usr) are fine. The child
 * writes with RESOLVE_IN_ROOT all the same. */
static int dst_check(int rootfd, const char *dst, struct perr *e)
{
	char q[QLEN];
	_cleanup_free_ char *dir = strdup(dst + 1);
	if (!dir)
		return perr_set(e, ENOMEM, "file");
	for (;;) {
		char *slash = strrchr(dir, '/');
		if (!slash) {
			dir[0] = 0;
		} else {
			*slash = 0;
		}
		struct open_how how = { .flags = O_PATH | O_CLOEXEC,
					.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
		int fd = (int)syscall(SYS_openat2, rootfd, *dir ? dir : ".", &how, sizeof how);
		if (fd >= 0) {
			struct stat st;
			int r = fstat(fd, &st);
			close(fd);
			if (r == 0 && !S_ISDIR(st.st_mode))
				return perr_set(e, 0, "file %s: /%s in the rootfs is not a directory",
						Q(q, dst), dir);
			return 0;
		}
		if (errno == EXDEV || errno == ELOOP)
			return perr_set(e, 0, "file %s: its path in the rootfs goes through a symbolic "
					      "link out of the rootfs (/%s)", Q(q, dst), dir);
		if (errno != ENOENT)
			return perr_set(e, errno, "file %s in the rootfs", Q(q, dst));
		if (!*dir)
			return perr_set(e, ENOENT, "rootfs");
	}
}

static int plan_files(struct box_plan *p, int rootfd, struct perr *e)
{
	const struct box_config *c = p->cfg;
	if (!c->n_files)
		return 0;
	if (!(p->files = calloc(c->n_files, sizeof *p->files)))
		return perr_set(e, ENOMEM, "file");
	for (size_t i = 0; i < c->n_files; i++) {
		const struct file_spec *f = &c->files[i];
		struct box_file *bf = &p->files[p->n_files++];
		bf->spec = f;
		if (read_host_regular(f->src, FILE_MAX, &bf->data, &bf->len, e) < 0) {
			if (e->errnum == ENOENT && f->skip)
				continue;
			return perr_wrap(e, "file source");
		}
		if (dst_check(rootfd, f->dst, e) < 0)
			return -1;
	}
	return 0;
}

/* ---- env files ----------------------------------------------------------------- */

static int plan_envfiles(struct box_plan *p, struct perr *e)
{
	const struct box_config *c = p->cfg;
	if (!c->n_envfiles)
		return 0;
	if (!(p->envfiles = calloc(c->n_envfiles, sizeof *p->envfiles)))
		return perr_set(e, ENOMEM, "env file");
	for (size_t i = 0; i < c->n_envfiles; i++)
		if (envfile_format(&c->envfiles[i].env, &p->envfiles[i]) < 0)
			return perr_set(e, errno, "env file %s", c->envfiles[i].path);
	return 0;
}

/* ---- credentials -------------------------------------------------------------- */

/* A relative PATH names a credential of the supervisor itself, as nspawn
 * does: planet.service can LoadCredential= a secret and pass it on. */
static int cred_path(const struct credential_spec *cr, char **out, struct perr *e)
{
	char q[QLEN];
	struct strbuf b = { 0 };
	if (cr->path[0] == '/') {
		*out = strdup(cr->path);
		return *out ? 0 : perr_set(e, ENOMEM, "credential");
	}
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	*out = NULL;
	if (!dir || dir[0] != '/')
		return perr_set(e, 0, "credential %s: path %s is relative, and planet has no "
				      "$CREDENTIALS_DIRECTORY of its own", Q(q, cr->id), cr->path);
	if (sb_printf(&b, "%s/%s", dir, cr->path) < 0 || !b.s)
		return perr_set(e, ENOMEM, "credential");
	*out = b.s;
	return 0;
}

static int plan_creds(struct box_plan *p, struct perr *e)
{
	const struct box_config *c = p->cfg;
	char q[QLEN];
	if (!c->n_credentials)
		return 0;
	if (!(p->creds = calloc(c->n_credentials, sizeof *p->creds)))
		return perr_set(e, ENOMEM, "credential");
	for (size_t i = 0; i < c->n_credentials; i++) {
		const struct credential_spec *cr = &c->credentials[i];
		struct box_cred *bc = &p->creds[p->n_creds++];
		bc->id = cr->id;
		if (cr->value) {
			if (!(bc->data = malloc(cr->len + 1)))
				return perr_set(e, ENOMEM, "credential");
			memcpy(bc->data, cr->value, cr->len + 1);
			bc->len = cr->len;
			continue;
		}
		_cleanup_free_ char *path = NULL;
		if (cred_path(cr, &path, e) < 0 || !path)
			return -1;
		if (read_host_regular(path, CREDENTIAL_SIZE_MAX, &bc->data, &bc->len, e) < 0)
			return perr_wrap(e, "credential %s", Q(q, cr->id));
	}
	return 0;
}

/* ---- init user ------------------------------------------------------------------- */

/* systemd must run as root: known, as the halt signal is, by its binary
 * (the init command resolved in the rootfs, links followed inside it). */
static bool init_is_systemd(int rootfd, const char *init)
{
	_cleanup_fd_ int fd = root_open(rootfd, init, O_PATH, 0, NULL);
	char link[64], target[PATH_MAX];
	if (fd < 0)
		return false;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	const char *base = strrchr(target, '/');
	return strcmp(base ? base + 1 : target, "systemd") == 0;
}

static int plan_init_user(const struct box_plan *p, int rootfd, struct perr *e)
{
	const struct box_config *c = p->cfg;
	char q[QLEN];
	if (!c->init_user)
		return 0;
	if (init_is_systemd(rootfd, c->init_argv[0]))
		return perr_set(e, 0, "init_user %s: init %s is systemd, which must run as root "
				      "(init_user is for other inits)", Q(q, c->init_user),
				c->init_argv[0]);
	struct box_user u;
	if (box_user_lookup(rootfd, c->init_user, &u, e) < 0)
		return perr_wrap(e, "init_user");
	box_user_free(&u);
	return 0;
}

int box_init_user_apply(const struct box_plan *p, struct perr *e)
{
	const char *spec = p->cfg->init_user;
	if (!spec)
		return 0;
	/* After pivot_root: "/" is the box's root, its files are the box's. */
	_cleanup_fd_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct box_user u;
	if (rootfd < 0)
		return perr_set(e, errno, "open /");
	if (box_user_lookup(rootfd, spec, &u, e) < 0)
		return perr_wrap(e, "init_user");
	int r = 0;
	if (setgroups(u.n_groups, u.groups) < 0 || setresgid(u.gid, u.gid, u.gid) < 0 ||
	    setresuid(u.uid, u.uid, u.uid) < 0)
		r = perr_set(e, errno, "init_user %s", spec);
	box_user_free(&u);
	/* A change of credentials clears the parent-death signal. */
	if (r == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	return r;
}

/* ---- plan ------------------------------------------------------------------------ */

int box_inputs_plan(struct box_plan *p, struct perr *e)
{
	_cleanup_fd_ int rootfd = open(p->cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return perr_set(e, errno, "rootfs %s", p->cfg->rootfs);
	if (plan_files(p, rootfd, e) < 0 || plan_envfiles(p, e) < 0 || plan_creds(p, e) < 0 ||
	    plan_init_user(p, rootfd, e) < 0)
		return -1;
	return 0;
}

void box_inputs_free(struct box_plan *p)
{
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i].data);
	free(p->files);
	for (size_t i = 0; p->envfiles && i < p->cfg->n_envfiles; i++)
		sb_free(&p->envfiles[i]);
	free(p->envfiles);
	for (size_t i = 0; i < p->n_creds; i++) {
		if (p->creds[i].data)
			explicit_bzero(p->creds[i].data, p->creds[i].len);
		free(p->creds[i].data);
	}
	free(p->creds);
	p->files = NULL;
	p->envfiles = NULL;
	p->creds = NULL;
	p->n_files = p->n_creds = 0;
}

/* ---- the child's writes ------------------------------------------------------------ */

/* nspawn's way: a ramfs (never swapped out), each credential a 0400 file,
 * made read-only before it is attached, so the box never sees it
 * writable. Built detached (fsopen/fsmount), then moved into place. */
static int write_creds(const struct box_plan *p, int rootfd, struct perr *e)
{
	if (!p->n_creds)
		return 0;
	_cleanup_fd_ int fs = fsopen("ramfs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0500", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return perr_set(e, errno, "ramfs for %s", BOX_CREDENTIALS_DIR);
	_cleanup_fd_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC,
				       MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		return perr_set(e, errno, "mount ramfs for %s", BOX_CREDENTIALS_DIR);
	for (size_t i = 0; i < p->n_creds; i++) {
		const struct box_cred *c = &p->creds[i];
		_cleanup_fd_ int fd = openat(mnt, c->id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
							  O_CLOEXEC, 0400);
		if (fd < 0 || write_all(fd, c->data, c->len) < 0 || fchmod(fd, 0400) < 0)
			return perr_set(e, errno, "credential %s", c->id);
	}
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (mount_setattr(mnt, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0)
		return perr_set(e, errno, "make %s read-only", BOX_CREDENTIALS_DIR);
	_cleanup_fd_ int tgt = root_mkdir_p(rootfd, BOX_CREDENTIALS_DIR, 0755, e);
	if (tgt < 0)
		return -1;
	if (move_mount(mnt, "", tgt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return perr_set(e, errno, "attach %s", BOX_CREDENTIALS_DIR);
	return 0;
}

int box_inputs_write(const struct box_plan *p, int rootfd, struct perr *e)
{
	const struct box_config *c = p->cfg;
	for (size_t i = 0; i < p->n_files; i++) {
		const struct box_file *f = &p->files[i];
		if (f->data && root_write_file_owned(rootfd, f->spec->dst, f->data, f->len,
						     f->spec->mode, f->spec->uid, f->spec->gid, e) < 0)
			return perr_wrap(e, "file");
	}
	for (size_t i = 0; i < c->n_envfiles; i++)
		if (root_write_file(rootfd, c->envfiles[i].path,
				    p->envfiles[i].s ? p->envfiles[i].s : "", p->envfiles[i].len,
				    0644, e) < 0)
			return perr_wrap(e, "env file");
	return write_creds(p, rootfd, e);
}
