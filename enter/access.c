/* enter: who may connect, and what each peer may ask. Root and members of
 * the [enter] group have every right (admin); members of the [enter]
 * monitor_group only the read-only requests (status, stats, ps, events):
 * every other request, verbs added later included, needs admin. Two
 * gates: the socket file itself (created 0600, then opened up to
 * root:group 0660, plus an ACL entry for the monitor group), and each
 * peer's credentials as the kernel recorded them at connect(), read at
 * accept and judged per request. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <endian.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <sys/xattr.h>

#include "config/config.h"

int enter_group_resolve(const char *name, struct enter_group *g, struct perr *e)
{
	return enter_group_resolve_as("enter group", name, g, e);
}

int enter_group_resolve_as(const char *what, const char *name, struct enter_group *g,
			   struct perr *e)
{
	g->set = false;
	g->gid = 0;
	if (!name || !*name)
		return 0;
	/* The group is the host's: here, and only here, host NSS is right. */
	struct group *gr = getgrnam(name);
	if (gr) {
		g->gid = gr->gr_gid;
		g->set = true;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long v = strtoul(name, &end, 10);
	if (*end || errno || v >= (gid_t)-1)
		return perr_set(e, 0, "%s \"%s\": no such group on the host", what, name);
	g->gid = (gid_t)v;
	g->set = true;
	return 0;
}

/* A socket file left by a crashed supervisor is replaced; a live one
 * (something accepts on it) is not ours to take. */
static int clear_stale(const char *path, const struct sockaddr_un *a, struct perr *e)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : perr_set(e, errno, "stat %s", path);
	if (!S_ISSOCK(st.st_mode))
		return perr_set(e, 0, "%s exists and is not a socket", path);
	_cleanup_fd_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)a, sizeof *a) == 0)
		return perr_set(e, EADDRINUSE, "%s is served by another process", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return perr_set(e, errno, "remove stale %s", path);
	return 0;
}

/* The monitor group gets rw (connect needs write) through an ACL entry,
 * the file's owner and group stay root:[enter] group. The ACL is written
 * as the kernel's system.posix_acl_access value (its uapi layout): five
 * fixed entries need no library. The group bits of the mode become the
 * mask, rw, so ls shows 0660+. */
static int socket_acl(const char *path, const struct enter_group *admin,
		      const struct enter_group *monitor, struct perr *e)
{
	if (!monitor->set)
		return 0;
	struct {
		struct posix_acl_xattr_header h;
		struct posix_acl_xattr_entry a[5];
	} acl = { .h.a_version = htole32(POSIX_ACL_XATTR_VERSION) };
	const struct { uint16_t tag, perm; uint32_t id; } ent[5] = {
		/* sorted by tag, as the kernel requires */
		{ ACL_USER_OBJ, ACL_READ | ACL_WRITE, (uint32_t)ACL_UNDEFINED_ID },
		{ ACL_GROUP_OBJ, admin->set ? ACL_READ | ACL_WRITE : 0, (uint32_t)ACL_UNDEFINED_ID },
		{ ACL_GROUP, ACL_READ | ACL_WRITE, monitor->gid },
		{ ACL_MASK, ACL_READ | ACL_WRITE, (uint32_t)ACL_UNDEFINED_ID },
		{ ACL_OTHER, 0, (uint32_t)ACL_UNDEFINED_ID },
	};
	for (size_t i = 0; i < 5; i++)
		acl.a[i] = (struct posix_acl_xattr_entry){ htole16(ent[i].tag), htole16(ent[i].perm),
							   htole32(ent[i].id) };
	if (lsetxattr(path, "system.posix_acl_access", &acl, sizeof acl, 0) < 0)
		return perr_set(e, errno, "give the monitor group access to %s (a POSIX ACL entry)",
				path);
	return 0;
}

int enter_socket_bind(const char *path, const struct enter_group *g,
		      const struct enter_group *monitor, dev_t *dev, ino_t *ino, struct perr *e)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof a.sun_path)
		return perr_set(e, ENAMETOOLONG, "socket path %s", path);
	memcpy(a.sun_path, path, strlen(path));
	if (clear_stale(path, &a, e) < 0)
		return -1;
	_cleanup_fd_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return perr_set(e, errno, "socket");
	/* Created 0600 and only then opened up to the group: never a moment
	 * when anyone else could connect. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
	umask(old);
	if (rc < 0)
		return perr_set(e, errno, "bind %s", path);
	struct stat st;
	if ((g->set && (fchownat(AT_FDCWD, path, 0, g->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			chmod(path, 0660) < 0)) ||
	    lstat(path, &st) < 0) {
		int err = errno;
		unlink(path);
		return perr_set(e, err, "set owner/mode of %s", path);
	}
	if (socket_acl(path, g, monitor, e) < 0) {
		unlink(path);
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return take_fd(&fd);
}

static bool peer_in_group(int fd, gid_t gid)
{
	gid_t small[64];
	gid_t *groups = small;
	socklen_t len = sizeof small;
	_cleanup_free_ gid_t *big = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE || !(big = malloc(len)))
			return false;
		groups = big;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			return false;
	}
	for (size_t i = 0; i < len / sizeof *groups; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* SO_PEERCRED and SO_PEERGROUPS are the peer's identity at connect(): no
 * race with a pid that exits and gets reused, unlike /proc/<pid>. */
enum enter_right enter_peer_right(int fd, uid_t uid, gid_t gid, const struct enter_group *admin,
				  const struct enter_group *monitor)
{
	if (uid == 0 || (admin->set && (gid == admin->gid || peer_in_group(fd, admin->gid))))
		return RIGHT_ADMIN;
	if (monitor->set && (gid == monitor->gid || peer_in_group(fd, monitor->gid)))
		return RIGHT_READ;
	return RIGHT_NONE;
}

void enter_peer_refusal(char *msg, size_t len, uid_t uid, const char *admin,
			const char *monitor)
{
	if (admin && *admin && monitor && *monitor)
		snprintf(msg, len,
			 "permission denied: uid %u is neither root nor in group \"%s\" or \"%s\"",
			 (unsigned)uid, admin, monitor);
	else if ((admin && *admin) || (monitor && *monitor))
		snprintf(msg, len, "permission denied: uid %u is neither root nor in group \"%s\"",
			 (unsigned)uid, admin && *admin ? admin : monitor);
	else
		snprintf(msg, len, "permission denied: uid %u is not root", (unsigned)uid);
}

/* The read-only requests: what a monitor may ask. Everything else needs
 * admin, whatever it is: a verb added later is admin-only until it is
 * put here. */
static const char *const read_only[] = { "status", "stats", "metrics", "ps", "events", "list" };

static bool is_read_only(const char *name)
{
	for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++)
		if (strcmp(name, read_only[i]) == 0)
			return true;
	return false;
}

/* The request's name as the rights table (docs/SECURITY.md) has it: the
 * kind, or an OP's verb (an OP that does not parse is the handler's to
 * refuse; here it is a request like any other: admin). */
static void request_name(const struct proto_frame *f, char *name, size_t len)
{
	struct proto_op op;
	struct perr e = { 0 };
	if (f->kind == PK_OP && proto_op_parse(f, &op, &e) == 0) {
		str_escape(name, len, op.verb, strlen(op.verb), ESC_DQUOTE | ESC_BACKSLASH | ESC_HIGH);
		proto_op_free(&op);
		return;
	}
	snprintf(name, len, "%s", f->kind == PK_EXEC ? "exec" : f->kind == PK_STOP ? "stop"
				  : f->kind == PK_STATUS ? "status" : f->kind == PK_COPY ? "cp" : "op");
}

bool enter_request_allowed(struct enter_conn *c, const struct proto_frame *f)
{
	if (c->right == RIGHT_ADMIN)
		return true;
	char name[64];
	request_name(f, name, sizeof name);
	if (c->right == RIGHT_READ && is_read_only(name))
		return true;
	const struct box_config *cfg = conn_box(c)->cfg;
	const char *admin = cfg->enter_group;
	char msg[256];
	snprintf(msg, sizeof msg,
		 "permission denied: \"%s\" needs the admin right (root%s%s%s); uid %u has the "
		 "monitor right only (status, stats, metrics, ps, events)",
		 name, admin ? " or group \"" : "", admin ? admin : "", admin ? "\"" : "",
		 (unsigned)c->peer.uid);
	enter_audit("enter: denied uid=%u pid=%d request=\"%s\" right=monitor",
		    (unsigned)c->peer.uid, (int)c->peer.pid, name);
	conn_fail(c, EXIT_PLANET, PE_DENIED, msg);
	return false;
}
