/* copy_pack: a tar of one path, read with libarchive's disk reader and
 * written with its pax writer to the caller's io. Owners travel as numbers
 * only: no user or group name is ever looked up (inside the box that would
 * load the box's NSS modules into planet). */
#include "copy/copy.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct packer {
	struct archive *disk, *tar;
	const struct copy_io *io;
	const char *src; /* as given, trailing slashes gone */
	const char *name; /* its last component: the entries' first */
	struct strbuf path;
	int io_errno;
};

static la_ssize_t tar_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct packer *p = ctx;
	if (p->io->write(p->io->ctx, buf, len) < 0) {
		p->io_errno = errno;
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

/* src's entry names: NAME, NAME/below... */
static int entry_rename(struct packer *p, struct archive_entry *ent)
{
	const char *full = archive_entry_pathname(ent);
	size_t n = strlen(p->src);
	const char *rest = full && strncmp(full, p->src, n) == 0 ? full + n : "";
	p->path.len = 0;
	if (sb_printf(&p->path, "%s%s", p->name, rest) < 0)
		return -1;
	archive_entry_set_pathname(ent, p->path.s);
	return 0;
}

static int pack_data(struct packer *p, const char *what, struct perr *e)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(p->disk, &buf, &len, &off)) == ARCHIVE_OK)
		if (len && archive_write_data(p->tar, buf, len) < 0)
			return perr_set(e, p->io_errno, "write the tar%s%s", p->io_errno ? "" : ": ",
					p->io_errno ? "" : archive_error_string(p->tar));
	if (r != ARCHIVE_EOF)
		return perr_set(e, 0, "%s: %s", what, archive_error_string(p->disk));
	return 0;
}

static int pack_entries(struct packer *p, struct perr *e)
{
	struct archive_entry *ent = archive_entry_new();
	if (!ent)
		return perr_set(e, ENOMEM, "tar entry");
	int rc = 0;
	for (;;) {
		int r = archive_read_next_header2(p->disk, ent);
		if (r == ARCHIVE_EOF)
			break;
		const char *where = archive_entry_sourcepath(ent);
		if (!where)
			where = p->src;
		if (r < ARCHIVE_WARN) {
			rc = perr_set(e, 0, "%s: %s", where, archive_error_string(p->disk));
			break;
		}
		_cleanup_free_ char *what = strdup(where);
		if (!what || archive_read_disk_descend(p->disk) < ARCHIVE_WARN ||
		    entry_rename(p, ent) < 0) {
			rc = perr_set(e, ENOMEM, "tar entry");
			break;
		}
		if (archive_write_header(p->tar, ent) < ARCHIVE_WARN) {
			rc = perr_set(e, p->io_errno, "%s: %s", what,
				      p->io_errno ? "write the tar" : archive_error_string(p->tar));
			break;
		}
		if (archive_entry_filetype(ent) == AE_IFREG && archive_entry_size(ent) > 0 &&
		    (rc = pack_data(p, what, e)) < 0)
			break;
	}
	archive_entry_free(ent);
	return rc;
}

/* src without its trailing slashes; its last component ("/" for the root). */
static int split_src(char *src, const char **name, struct perr *e)
{
	size_t n = strlen(src);
	while (n > 1 && src[n - 1] == '/')
		src[--n] = 0;
	const char *slash = strrchr(src, '/');
	*name = slash && slash[1] ? slash + 1 : src;
	if (strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0 || strcmp(src, "/") == 0)
		return perr_set(e, 0, "%s: name a file or a directory (not . .. or /)", src);
	return 0;
}

int copy_pack(const char *src, unsigned flags, const struct copy_io *io, struct perr *e)
{
	_cleanup_free_ char *s = strdup(src);
	struct packer p = { .io = io };
	if (!s)
		return perr_set(e, ENOMEM, "copy");
	if (split_src(s, &p.name, e) < 0)
		return -1;
	p.src = s;
	p.disk = archive_read_disk_new();
	p.tar = archive_write_new();
	int rc = -1;
	if (!p.disk || !p.tar) {
		perr_set(e, ENOMEM, "libarchive");
		goto out;
	}
	archive_read_disk_set_behavior(p.disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL |
						       ARCHIVE_READDISK_NO_FFLAGS |
						       ARCHIVE_READDISK_NO_SPARSE);
	if (flags & COPY_FOLLOW)
		archive_read_disk_set_symlink_logical(p.disk);
	else
		archive_read_disk_set_symlink_physical(p.disk);
	/* No blocking: the data goes to the io as it comes, with no padding
	 * to a 10 KiB record (readers do not need it). */
	archive_write_set_format_pax_restricted(p.tar);
	archive_write_set_bytes_per_block(p.tar, 0);
	if (archive_read_disk_open(p.disk, s) != ARCHIVE_OK) {
		perr_set(e, 0, "%s: %s", s, archive_error_string(p.disk));
		goto out;
	}
	if (archive_write_open(p.tar, &p, NULL, tar_write, NULL) != ARCHIVE_OK) {
		perr_set(e, 0, "the tar: %s", archive_error_string(p.tar));
		goto out;
	}
	rc = pack_entries(&p, e);
	if (archive_write_close(p.tar) != ARCHIVE_OK && rc == 0)
		rc = perr_set(e, p.io_errno, "write the tar");
out:
	if (p.disk)
		archive_read_free(p.disk);
	if (p.tar)
		archive_write_free(p.tar);
	sb_free(&p.path);
	return rc;
}
