/* Users and groups as the box knows them: its own /etc/passwd and
 * /etc/group, read as files. Never the host's NSS (getpwnam and friends
 * would consult the supervisor's nsswitch.conf, sssd, LDAP...): the host's
 * idea of "alice" has nothing to do with the box's.
 *
 * In the session child (enter/) it runs after joining the box's mount namespace,
 * so the files are the box's; they are still opened through the root fd
 * with RESOLVE_IN_ROOT and checked to be regular files, so a box cannot make
 * the lookup hang on a FIFO or wander off through a magic link. */
#include "base/base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DB_MAX (16u << 20) /* a passwd or group file larger than this is refused */
#define DB_FIELDS 7

/* One line of a colon-separated database, split in place. */
struct db_line {
	char *f[DB_FIELDS];
	int n;
};

/* Read a whole database file of the box. A missing file reads as empty:
 * a minimal rootfs may have no /etc/group. */
static int db_read(int rootfd, const char *path, char **out, struct perr *e)
{
	*out = NULL;
	struct perr oe;
	_cleanup_fd_ int fd = root_open(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, &oe);
	if (fd < 0) {
		if (oe.errnum == ENOENT)
			return 0;
		return perr_set(e, oe.errnum, "open %s in the box", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return perr_set(e, errno, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return perr_set(e, 0, "%s in the box is not a regular file", path);
	size_t len;
	if (read_fd_all(fd, DB_MAX, out, &len, e) < 0)
		return perr_wrap(e, "%s", path);
	return 0;
}

/* Split one line (NUL-terminated in place) into fields. */
static void db_split(char *line, struct db_line *l)
{
	l->n = 0;
	char *p = line;
	while (l->n < DB_FIELDS) {
		l->f[l->n++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
}

/* Iterate over the lines of buf, destroying it. Returns the next line or
 * NULL. Comments, blank lines and NIS "+"/"-" entries are skipped. */
static char *db_next(char **cursor)
{
	while (*cursor && **cursor) {
		char *line = *cursor;
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = 0;
			*cursor = nl + 1;
		} else {
			*cursor = line + strlen(line);
		}
		if (line[0] && line[0] != '#' && line[0] != '+' && line[0] != '-')
			return line;
	}
	return NULL;
}

/* A decimal id: digits only, below (id_t)-1 which means "no id". */
static bool parse_id(const char *s, unsigned *out)
{
	if (!*s || strlen(s) > 10)
		return false;
	unsigned long long v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v >= UINT_MAX)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Find the passwd entry for a name (or, with by_uid, for a uid) and fill u. */
static int passwd_find(char *db, const char *name, bool by_uid, unsigned uid, struct box_user *u,
		       bool *found, struct perr *e)
{
	*found = false;
	char *cur = db;
	for (char *line; (line = db_next(&cur));) {
		struct db_line l;
		db_split(line, &l);
		unsigned lu, lg;
		if (l.n < 4 || !parse_id(l.f[2], &lu) || !parse_id(l.f[3], &lg))
			continue;
		if (by_uid ? lu != uid : strcmp(l.f[0], name) != 0)
			continue;
		u->uid = lu;
		u->gid = lg;
		u->name = strdup(l.f[0]);
		u->home = strdup(l.n > 5 && l.f[5][0] ? l.f[5] : "/");
		u->shell = strdup(l.n > 6 && l.f[6][0] ? l.f[6] : "/bin/sh");
		if (!u->name || !u->home || !u->shell)
			return perr_set(e, ENOMEM, "user lookup");
		*found = true;
		return 0;
	}
	return 0;
}

static int groups_add(struct box_user *u, gid_t g)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (u->groups[i] == g)
			return 0;
	gid_t *ng = realloc(u->groups, (u->n_groups + 1) * sizeof *ng);
	if (!ng)
		return -1;
	u->groups = ng;
	u->groups[u->n_groups++] = g;
	return 0;
}

static bool member_of(char *members, const char *name)
{
	for (char *save = NULL, *m = strtok_r(members, ",", &save); m;
	     m = strtok_r(NULL, ",", &save))
		if (strcmp(m, name) == 0)
			return true;
	return false;
}

/* One pass over /etc/group: resolve the requested group name (if any) and
 * collect every group that lists the user as a member. */
static int group_scan(char *db, const char *want, gid_t *want_gid, bool *want_found,
		      struct box_user *u, struct perr *e)
{
	*want_found = false;
	char *cur = db;
	for (char *line; (line = db_next(&cur));) {
		struct db_line l;
		db_split(line, &l);
		unsigned g;
		if (l.n < 3 || !parse_id(l.f[2], &g))
			continue;
		if (want && !*want_found && strcmp(l.f[0], want) == 0) {
			*want_gid = g;
			*want_found = true;
		}
		if (u->name && l.n > 3 && member_of(l.f[3], u->name) && groups_add(u, g) < 0)
			return perr_set(e, ENOMEM, "group lookup");
	}
	return 0;
}

/* The user part of the spec: "", a name or a uid. */
static int user_part(int rootfd, const char *user, struct box_user *u, struct perr *e)
{
	_cleanup_free_ char *db = NULL;
	if (db_read(rootfd, "/etc/passwd", &db, e) < 0)
		return -1;
	const char *name = *user ? user : "root";
	unsigned uid = 0;
	bool by_uid = !*user || str_is_digits(user);
	if (*user && by_uid && !parse_id(user, &uid))
		return perr_set(e, 0, "user \"%s\": not a valid uid", user);
	bool found = false;
	if (db && passwd_find(db, name, by_uid, uid, u, &found, e) < 0)
		return -1;
	if (found)
		return 0;
	if (!by_uid)
		return perr_set(e, 0, "user \"%s\" not found in the box's /etc/passwd", user);
	/* A uid the box does not list is allowed, as in docker/runc: it runs
	 * with gid 0 and HOME=/ (root without a passwd entry gets /root). */
	u->uid = uid;
	u->gid = 0;
	u->home = strdup(uid == 0 ? "/root" : "/");
	u->shell = strdup("/bin/sh");
	if (!u->home || !u->shell)
		return perr_set(e, ENOMEM, "user lookup");
	return 0;
}

int box_user_lookup(int rootfd, const char *spec, struct box_user *u, struct perr *e)
{
	memset(u, 0, sizeof *u);
	/* Declared before the first goto: a jump past a cleanup variable's
	 * initialisation would free garbage at return. */
	_cleanup_free_ char *db = NULL;
	_cleanup_free_ char *user = strdup(spec ? spec : "");
	if (!user)
		return perr_set(e, ENOMEM, "user lookup");
	char *group = strchr(user, ':');
	if (group)
		*group++ = 0;
	if (group && !*group)
		return perr_set(e, 0, "user \"%s\": empty group after ':'", spec);
	if (user_part(rootfd, user, u, e) < 0)
		goto fail;

	bool group_numeric = group && str_is_digits(group);
	unsigned gnum = 0;
	if (group_numeric && !parse_id(group, &gnum)) {
		perr_set(e, 0, "user \"%s\": \"%s\" is not a valid gid", spec, group);
		goto fail;
	}
	if (db_read(rootfd, "/etc/group", &db, e) < 0)
		goto fail;
	gid_t want_gid = gnum;
	bool want_found = false;
	if (db && group_scan(db, group && !group_numeric ? group : NULL, &want_gid, &want_found, u,
			     e) < 0)
		goto fail;
	if (group && !group_numeric && !want_found) {
		perr_set(e, 0, "group \"%s\" not found in the box's /etc/group", group);
		goto fail;
	}
	if (group)
		u->gid = want_gid;
	if (groups_add(u, u->gid) < 0) {
		perr_set(e, ENOMEM, "group lookup");
		goto fail;
	}
	return 0;
fail:
	box_user_free(u);
	return -1;
}

void box_user_free(struct box_user *u)
{
	free(u->name);
	free(u->home);
	free(u->shell);
	free(u->groups);
	memset(u, 0, sizeof *u);
}
