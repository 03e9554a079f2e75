/* libFuzzer target: the box's own passwd/group lookup (enter/passwd.c,
 * box_user_lookup), as `planet exec -u SPEC` runs it in the session child.
 *
 * Input: SPEC '\n' PASSWD '\0' GROUP. The two files are written into a
 * private directory under /dev/shm (the "rootfs") that is opened with
 * RESOLVE_IN_ROOT, exactly as in the box. Checked beyond memory safety:
 * an error is one non-empty line and leaves the user zeroed; a success has
 * a home and a shell, at least one group, the primary gid among the groups
 * and no gid twice, never the "no id" value (uid_t)-1, and a name that
 * matches the spec when the spec names a user.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     tests/fuzz/fuzz_passwd.c enter/passwd.c base/base.c */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enter/internal.h"

static char dir[64];
static int rootfd = -1;

static void cleanup(void)
{
	char p[96];
	snprintf(p, sizeof p, "%s/etc/passwd", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/etc/group", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/etc", dir);
	rmdir(p);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof dir, "/dev/shm/planet-fuzz-passwd.XXXXXX");
	if (!mkdtemp(dir)) {
		snprintf(dir, sizeof dir, "/var/tmp/planet-fuzz-passwd.XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	char p[96];
	snprintf(p, sizeof p, "%s/etc", dir);
	if (mkdir(p, 0755) < 0)
		abort();
	atexit(cleanup);
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		abort();
	return 0;
}

static void put(const char *name, const uint8_t *data, size_t len)
{
	char p[96];
	snprintf(p, sizeof p, "%s/etc/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t speclen = nl ? (size_t)(nl - data) : size;
	if (speclen > 256)
		return 0;
	char spec[257];
	memcpy(spec, data, speclen);
	spec[speclen] = 0;
	if (strlen(spec) != speclen)
		return 0; /* the wire forbids NUL in a str */
	const uint8_t *rest = nl ? nl + 1 : data + size;
	size_t restlen = (size_t)(data + size - rest);
	const uint8_t *z = memchr(rest, 0, restlen);
	size_t pwlen = z ? (size_t)(z - rest) : restlen;
	put("passwd", rest, pwlen);
	put("group", z ? z + 1 : rest, z ? restlen - pwlen - 1 : 0);

	struct box_user u;
	struct perr e;
	memset(&e, 0, sizeof e);
	if (box_user_lookup(rootfd, spec, &u, &e) < 0) {
		if (!e.msg[0] || strchr(e.msg, '\n'))
			abort();
		if (u.name || u.home || u.shell || u.groups || u.n_groups)
			abort();
		return 0;
	}
	if (!u.home || !u.shell || !u.home[0] || !u.shell[0] || u.n_groups < 1 || !u.groups)
		abort();
	if (u.uid == (uid_t)-1 || u.gid == (gid_t)-1)
		abort();
	bool primary = false;
	for (size_t i = 0; i < u.n_groups; i++) {
		if (u.groups[i] == u.gid)
			primary = true;
		if (u.groups[i] == (gid_t)-1)
			abort();
		for (size_t j = i + 1; j < u.n_groups; j++)
			if (u.groups[i] == u.groups[j])
				abort();
	}
	if (!primary)
		abort();
	if (u.name && (strchr(u.name, ':') || strchr(u.name, '\n')))
		abort();
	/* A spec that names a user resolves to that user. */
	char *colon = strchr(spec, ':');
	if (colon)
		*colon = 0;
	if (spec[0] && !str_is_digits(spec) && (!u.name || strcmp(u.name, spec) != 0))
		abort();
	if (!spec[0] && u.uid != 0)
		abort();
	box_user_free(&u);
	return 0;
}
