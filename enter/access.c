/* enter: who may connect. Root, and members of the [enter] group (a group
 * of the host, resolved here). Two gates: the socket file itself (created
 * 0600, then opened up to root:group 0660), and each peer's credentials as
 * the kernel recorded them at connect(). */
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

int enter_group_resolve(const char *name, struct enter_group *g, struct perr *e)
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
		return perr_set(e, 0, "enter group \"%s\": no such group on the host", name);
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

int enter_socket_bind(const char *path, const struct enter_group *g, dev_t *dev, ino_t *ino,
		      struct perr *e)
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
bool enter_peer_allowed(int fd, uid_t uid, gid_t gid, const struct enter_group *g)
{
	if (uid == 0)
		return true;
	if (!g->set)
		return false;
	return gid == g->gid || peer_in_group(fd, g->gid);
}

void enter_peer_refusal(char *msg, size_t len, uid_t uid, const struct enter_group *g,
			const char *group_name)
{
	if (g->set)
		snprintf(msg, len, "permission denied: uid %u is neither root nor in group \"%s\"",
			 (unsigned)uid, group_name);
	else
		snprintf(msg, len, "permission denied: uid %u is not root", (unsigned)uid);
}
