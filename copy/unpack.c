/* copy_unpack: a tar from the caller's io extracted with libarchive's disk
 * writer, by cp(1)'s destination rules (copy.h). The writer runs in the
 * target directory (fchdir) with relative names only, and with the secure
 * flags: no "..", no absolute name, no path through a symlink. Every
 * regular file is written under a temporary name in its own directory and
 * renamed onto its name once complete (libarchive's SAFE_WRITES only does
 * that for files that already exist). */
#include "copy/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECURE_FLAGS                                                                   \
	(ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |           \
	 ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS)
#define ARCHIVE_FLAGS (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME)

/* Where the entries go: the directory to run in, and the name the tar's
 * first component takes there (NULL: unchanged). */
struct target {
	int dirfd;
	char *rename;
	bool onto_nondir; /* DST exists and is no directory */
	const char *dst;
};

/* The temporary file being written, for copy_abort: a relative name (the
 * process runs in the target directory), set only while it exists. */
static char abort_path[PATH_MAX];
static volatile sig_atomic_t abort_set;

/* async-signal-safe */
static void copy_abort(void)
{
	if (abort_set)
		(void)unlink(abort_path);
}

static void on_signal(int sig)
{
	copy_abort();
	_exit(128 + sig);
}

void copy_signals_catch(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

struct unpacker {
	struct archive *tar, *disk;
	const struct copy_io *io;
	struct target t;
	struct strbuf name, tmp;
	unsigned n_tmp;
	int io_errno;
};

static la_ssize_t tar_read(struct archive *a, void *ctx, const void **buf)
{
	struct unpacker *u = ctx;
	ssize_t n = u->io->read(u->io->ctx, buf);
	if (n < 0) {
		u->io_errno = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
	}
	return n;
}

static int open_dir(const char *path, struct perr *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return perr_set(e, errno, "%s", path);
	return fd;
}

/* cp(1)'s rules: into an existing directory, else as DST's name. */
static int target_resolve(const char *dst, unsigned flags, struct target *t, struct perr *e)
{
	struct stat st;
	t->dst = dst;
	t->dirfd = -1;
	bool exists = stat(dst, &st) == 0;
	if (!exists && errno != ENOENT)
		return perr_set(e, errno, "%s", dst);
	if ((exists && S_ISDIR(st.st_mode)) || (flags & COPY_STREAM)) {
		t->dirfd = open_dir(dst, e);
		return t->dirfd < 0 ? -1 : 0;
	}
	size_t n = strlen(dst);
	if (n && dst[n - 1] == '/')
		return perr_set(e, exists ? ENOTDIR : ENOENT, "%s", dst);
	const char *slash = strrchr(dst, '/');
	const char *base = slash ? slash + 1 : dst;
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return perr_set(e, 0, "%s: not a name a copy can take", dst);
	if (!(t->rename = strdup(base)))
		return perr_set(e, ENOMEM, "copy");
	t->onto_nondir = exists;
	/* the parent: "." for a bare name, "/" for "/name" */
	char *dir = slash ? strndup(dst, slash == dst ? 1 : (size_t)(slash - dst)) : strdup(".");
	if (!dir)
		return perr_set(e, ENOMEM, "copy");
	t->dirfd = open_dir(dir, e);
	free(dir);
	return t->dirfd < 0 ? -1 : 0;
}

/* The tar's first component becomes t.rename ("tree/a" -> "NEW/a"); the
 * target of a hard link with it. */
static int rename_one(struct unpacker *u, const char *in, struct strbuf *out)
{
	const char *rest = in;
	while (*rest == '/')
		rest++;
	rest += strcspn(rest, "/");
	out->len = 0;
	return sb_printf(out, "%s%s", u->t.rename, rest);
}

static int entry_names(struct unpacker *u, struct archive_entry *ent, struct perr *e)
{
	if (!u->t.rename)
		return 0;
	const char *path = archive_entry_pathname(ent);
	if (!path)
		return perr_set(e, 0, "a tar entry without a name");
	if (rename_one(u, path, &u->name) < 0)
		return perr_set(e, ENOMEM, "copy");
	archive_entry_set_pathname(ent, u->name.s);
	const char *hl = archive_entry_hardlink(ent);
	if (hl) {
		_cleanup_strbuf_ struct strbuf h = { 0 };
		if (rename_one(u, hl, &h) < 0)
			return perr_set(e, ENOMEM, "copy");
		archive_entry_set_hardlink(ent, h.s);
	}
	return 0;
}

/* A regular file's temporary name: beside its own, hidden. */
static int temp_name(struct unpacker *u, const char *path)
{
	const char *slash = strrchr(path, '/');
	u->tmp.len = 0;
	return sb_printf(&u->tmp, "%.*s.planet-cp.%d.%u", slash ? (int)(slash - path + 1) : 0, path,
			 (int)getpid(), ++u->n_tmp);
}

static int copy_data(struct unpacker *u, const char *name, struct perr *e)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(u->tar, &buf, &len, &off)) == ARCHIVE_OK)
		if (archive_write_data_block(u->disk, buf, len, off) < ARCHIVE_WARN)
			return perr_set(e, 0, "%s: %s", name, archive_error_string(u->disk));
	if (r != ARCHIVE_EOF)
		return perr_set(e, u->io_errno, "%s: the tar stream%s%s", name,
				u->io_errno ? "" : ": ",
				u->io_errno ? "" : archive_error_string(u->tar));
	return 0;
}

/* One entry; a regular file through its temporary name. */
static int unpack_entry(struct unpacker *u, struct archive_entry *ent, struct perr *e)
{
	_cleanup_free_ char *name = strdup(archive_entry_pathname(ent));
	if (!name)
		return perr_set(e, ENOMEM, "copy");
	bool reg = archive_entry_filetype(ent) == AE_IFREG && !archive_entry_hardlink(ent);
	if (reg) {
		if (temp_name(u, name) < 0)
			return perr_set(e, ENOMEM, "copy");
		archive_entry_set_pathname(ent, u->tmp.s);
		if (u->tmp.len < sizeof abort_path) {
			memcpy(abort_path, u->tmp.s, u->tmp.len + 1);
			abort_set = 1;
		}
	}
	if (archive_write_header(u->disk, ent) < ARCHIVE_WARN)
		return perr_set(e, 0, "%s: %s", name, archive_error_string(u->disk));
	int rc = archive_entry_size(ent) > 0 ? copy_data(u, name, e) : 0;
	/* Not finished when the data broke off: libarchive would set the
	 * file's metadata, and the rename below must not happen. */
	if (rc == 0 && archive_write_finish_entry(u->disk) < ARCHIVE_WARN)
		rc = perr_set(e, 0, "%s: %s", name, archive_error_string(u->disk));
	if (reg && rc == 0 && rename(u->tmp.s, name) < 0)
		rc = perr_set(e, errno, "%s", name);
	if (reg && rc < 0)
		(void)unlink(u->tmp.s);
	abort_set = 0;
	return rc;
}

static int unpack_entries(struct unpacker *u, struct perr *e)
{
	struct archive_entry *ent;
	bool first = true;
	for (;;) {
		int r = archive_read_next_header(u->tar, &ent);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return perr_set(e, u->io_errno, "the tar stream%s%s", u->io_errno ? "" : ": ",
					u->io_errno ? "" : archive_error_string(u->tar));
		if (first && u->t.onto_nondir && archive_entry_filetype(ent) == AE_IFDIR)
			return perr_set(e, 0, "%s: cannot overwrite a non-directory with a directory",
					u->t.dst);
		first = false;
		if (entry_names(u, ent, e) < 0 || unpack_entry(u, ent, e) < 0)
			return -1;
	}
}

static int unpack_run(struct unpacker *u, unsigned flags, struct perr *e)
{
	u->tar = archive_read_new();
	u->disk = archive_write_disk_new();
	if (!u->tar || !u->disk)
		return perr_set(e, ENOMEM, "libarchive");
	archive_read_support_format_tar(u->tar);
	/* No user or group lookup: owners are the tar's numbers (with -a). */
	archive_write_disk_set_options(u->disk,
				       SECURE_FLAGS | ((flags & COPY_ARCHIVE) ? ARCHIVE_FLAGS : 0));
	if (archive_read_open(u->tar, u, NULL, tar_read, NULL) != ARCHIVE_OK)
		return perr_set(e, u->io_errno, "the tar stream%s%s", u->io_errno ? "" : ": ",
				u->io_errno ? "" : archive_error_string(u->tar));
	if (fchdir(u->t.dirfd) < 0)
		return perr_set(e, errno, "%s", u->t.dst);
	int rc = unpack_entries(u, e);
	/* Directories' modes and times are set at the close (after their
	 * contents were written). */
	if (archive_write_close(u->disk) < ARCHIVE_WARN && rc == 0)
		rc = perr_set(e, 0, "%s: %s", u->t.dst, archive_error_string(u->disk));
	return rc;
}

int copy_unpack(const char *dst, unsigned flags, const struct copy_io *io, struct perr *e)
{
	struct unpacker u = { .io = io, .t = { .dirfd = -1 } };
	_cleanup_fd_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = target_resolve(dst, flags, &u.t, e);
	if (rc == 0)
		rc = unpack_run(&u, flags, e);
	if (u.tar)
		archive_read_free(u.tar);
	if (u.disk) {
		/* a file cut short is not finished by the free either */
		archive_write_free(u.disk);
	}
	if (cwd >= 0 && fchdir(cwd) < 0 && rc == 0)
		rc = perr_set(e, errno, "back to the working directory");
	if (u.t.dirfd >= 0)
		close(u.t.dirfd);
	free(u.t.rename);
	sb_free(&u.name);
	sb_free(&u.tmp);
	return rc;
}
