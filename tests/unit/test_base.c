/* core: errors, signal names, bounded reads, and above all the rootfs-
 * confined path helpers against hostile symlinks. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "tests/unit/check.h"

static char top[] = "/var/tmp/planet-test-base.XXXXXX";

static void path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", top, rel);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	path(p, sizeof p, rel);
	return lstat(p, &st) == 0;
}

static void test_perr(void)
{
	struct perr e = { 0 };
	CHECK(perr_set(&e, ENOENT, "open %s", "/x") == -1);
	CHECK_STREQ(e.msg, "open /x: No such file or directory");
	CHECK(e.errnum == ENOENT);
	perr_wrap(&e, "volume %s", "/a:/b");
	CHECK_STREQ(e.msg, "volume /a:/b: open /x: No such file or directory");
	CHECK(perr_set(NULL, 1, "x") == -1);
}

static void test_signals(void)
{
	char buf[32];
	CHECK(signal_parse("SIGTERM") == SIGTERM);
	CHECK(signal_parse("term") == SIGTERM);
	CHECK(signal_parse("USR1") == SIGUSR1);
	CHECK(signal_parse("10") == 10);
	CHECK(signal_parse("SIGRTMIN+3") == SIGRTMIN + 3);
	CHECK(signal_parse("RTMIN") == SIGRTMIN);
	CHECK(signal_parse("SIGRTMAX-1") == SIGRTMAX - 1);
	CHECK(signal_parse("SIGRTMIN+99") == -1);
	CHECK(signal_parse("0") == -1);
	CHECK(signal_parse("65") == -1);
	CHECK(signal_parse("SIGFOO") == -1);
	CHECK(signal_parse("") == -1);
	CHECK(signal_parse("RTMIN+") == -1);
	CHECK_STREQ(signal_name(SIGKILL, buf, sizeof buf), "SIGKILL");
	CHECK_STREQ(signal_name(SIGRTMIN + 3, buf, sizeof buf), "SIGRTMIN+3");
}

static void test_strbuf_and_read(void)
{
	struct strbuf b = { 0 };
	CHECK(sb_printf(&b, "%s=%d", "a", 1) == 0);
	CHECK(sb_append(&b, "xyz", 2) == 0);
	CHECK_STREQ(b.s, "a=1xy");
	for (int i = 0; i < 1000; i++)
		sb_append(&b, "0123456789", 10);
	CHECK(b.len == 10005);
	sb_free(&b);

	char p[PATH_MAX];
	path(p, sizeof p, "big");
	char *data = malloc(10000);
	memset(data, 'x', 10000);
	struct perr e;
	CHECK(write_file_atomic(p, data, 10000, 0600, &e) == 0);
	free(data);
	char *out = NULL;
	size_t len = 0;
	CHECK(read_file_at(AT_FDCWD, p, 20000, &out, &len, &e) == 0 && len == 10000);
	free(out);
	out = NULL;
	CHECK(read_file_at(AT_FDCWD, p, 5000, &out, &len, &e) < 0 && e.errnum == EFBIG);
	CHECK(out == NULL);
}

/* A rootfs whose links all point out of it, at a decoy on the host. */
static void build_hostile(void)
{
	char p[PATH_MAX], decoy[PATH_MAX];
	path(decoy, sizeof decoy, "decoy");
	mkdir(decoy, 0755);
	path(p, sizeof p, "root");
	mkdir(p, 0755);
	path(p, sizeof p, "root/etc");
	CHECK(symlink(decoy, p) == 0); /* absolute link to the host */
	path(p, sizeof p, "root/run");
	CHECK(symlink("../../../../../../decoy", p) == 0);
	path(p, sizeof p, "root/loop");
	CHECK(symlink("loop", p) == 0);
	path(p, sizeof p, "root/dev");
	mkdir(p, 0755);
	path(p, sizeof p, "root/dev/hosts");
	snprintf(decoy, sizeof decoy, "%s/decoy/hosts", top);
	CHECK(symlink(decoy, p) == 0);
}

static void test_root_confined(void)
{
	char p[PATH_MAX];
	struct perr e;
	build_hostile();
	path(p, sizeof p, "root");
	int root = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK(root >= 0);

	/* /etc -> <top>/decoy resolves to <root><top>/decoy, which does not
	 * exist: an error, and nothing on the host. */
	CHECK(root_write_file(root, "/etc/container-environment", "K=\"v\"\n", 6, 0644, &e) < 0);
	CHECK(!exists("decoy/container-environment"));
	/* Once the link's target exists inside the root, writes land there. */
	char inside[PATH_MAX];
	snprintf(inside, sizeof inside, "%s/root%s", top, top);
	{
		char cmd[3 * PATH_MAX];
		snprintf(cmd, sizeof cmd, "mkdir -p '%s/decoy' '%s/root/decoy'", inside, top);
		CHECK(system(cmd) == 0);
	}
	CHECK(root_write_file(root, "/etc/container-environment", "K=\"v\"\n", 6, 0644, &e) == 0);
	CHECK(!exists("decoy/container-environment"));
	snprintf(inside, sizeof inside, "root%s/decoy/container-environment", top);
	CHECK(exists(inside));

	/* ../../.. cannot climb above the root. */
	int fd = root_mkdir_p(root, "/run/host", 0755, &e);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(!exists("decoy/host"));
	CHECK(exists("root/decoy/host"));

	/* A file target that is a link to a host file: replaced, never
	 * written through. */
	path(p, sizeof p, "decoy/hosts");
	CHECK(write_file_atomic(p, "host\n", 5, 0644, &e) == 0);
	CHECK(root_write_file(root, "/dev/hosts", "box\n", 4, 0644, &e) == 0);
	char *text = NULL;
	CHECK(read_file_at(AT_FDCWD, p, 100, &text, NULL, &e) == 0 && text && strcmp(text, "host\n") == 0);
	free(text);

	/* A touch through an absolute link lands inside the root. */
	fd = root_touch(root, "/etc/resolv.conf", 0644, &e);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK(!exists("decoy/resolv.conf"));

	/* A looping link is an error, not a hang. */
	CHECK(root_open(root, "/loop/x", O_RDONLY, 0, &e) < 0 && e.errnum == ELOOP);
	CHECK(root_mkdir_p(root, "/loop/x", 0755, &e) < 0);
	close(root);
}

/* The one escaper: console relay and log records (one line always, the
 * box's bytes never taken for planet's), quoted values in messages. */
static void test_escape(void)
{
	char out[64];
	const char in[] = "a\nb\tc\rd\x1b[2J\\e\x7f\x01\xc3\xa9";
	size_t n = str_escape(out, sizeof out, in, sizeof in - 1, ESC_BACKSLASH);
	CHECK(strcmp(out, "a\\nb\\tc\\rd\\x1b[2J\\\\e\\x7f\\x01\xc3\xa9") == 0);
	CHECK(n == strlen(out));
	str_escape(out, sizeof out, in, sizeof in - 1, 0);
	CHECK(strcmp(out, "a\\nb\\tc\\rd\\x1b[2J\\e\\x7f\\x01\xc3\xa9") == 0);
	CHECK(str_escape(out, sizeof out, "", 0, ESC_BACKSLASH) == 0 && !out[0]);
	/* the worst case is 4 bytes per byte */
	CHECK(str_escape(out, 9, "\x01\x02", 2, 0) == 8);
	/* too long: cut, marked, NUL-terminated within size */
	CHECK(str_escape(out, 8, "abcdefghij", 10, 0) == 7 && strcmp(out, "abcd...") == 0);
	CHECK(strcmp(str_quote(out, sizeof out, "a\"b\\", 4), "\"a\\\"b\\\\\"") == 0);
	struct strbuf b = { 0 };
	CHECK(sb_quote(&b, "x\xff\n", 64) == 0 && strcmp(b.s, "\"x\\xff\\n\"") == 0);
	sb_free(&b);
}

int main(void)
{
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	test_perr();
	test_signals();
	test_strbuf_and_read();
	test_root_confined();
	test_escape();
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	return check_done("test_base");
}
