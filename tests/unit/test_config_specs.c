/* Unit tests for config/'s pure spec parsers: volumes, devices, dns lists,
 * the --init command line, and scalar values (durations, booleans,
 * hostnames). The config layers are test_config.c's. */
#include "config/internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/check.h"

static struct perr e;

/* Message check that says what it got when it fails. */
#define CHECK_MSG(needle)                                                              \
	do {                                                                           \
		if (!strstr(e.msg, (needle)))                                          \
			fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", e.msg, (needle)); \
		CHECK(strstr(e.msg, (needle)) != NULL);                                \
	} while (0)

static void free_volumes(struct volume_spec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		volume_spec_free(&v[i]);
	free(v);
}

static void test_volumes(void)
{
	struct volume_spec *v = NULL;
	size_t n = 0;
	CHECK(volume_specs_parse("/a:/b", &v, &n, &e) == 0);
	CHECK(n == 1);
	CHECK_STREQ(v[0].src, "/a");
	CHECK_STREQ(v[0].dst, "/b");
	CHECK(!v[0].ro && !v[0].skip && !v[0].rec);
	CHECK(volume_specs_parse("/c:/d:rec:ro:skip,/e:/f:rw", &v, &n, &e) == 0);
	CHECK(n == 3);
	CHECK(v[1].ro && v[1].skip && v[1].rec);
	CHECK(!v[2].ro && !v[2].skip && !v[2].rec);
	CHECK(volume_specs_parse("/same", &v, &n, &e) == 0);
	CHECK_STREQ(v[3].dst, "/same");
	CHECK(volume_specs_parse("//x/./y//:/m/n/", &v, &n, &e) == 0);
	CHECK_STREQ(v[4].src, "/x/y");
	CHECK_STREQ(v[4].dst, "/m/n");
	CHECK(volume_specs_parse("/dev/sd*:/dev/sd*:ro", &v, &n, &e) == 0);
	CHECK_STREQ(v[5].dst, "/dev/sd*");
	CHECK(volume_specs_parse("/data/[ab]?:/mnt", &v, &n, &e) == 0);
	CHECK_STREQ(v[6].src, "/data/[ab]?");
	CHECK_STREQ(v[6].dst, "/mnt");
	CHECK(volume_specs_parse("/:/host:ro", &v, &n, &e) == 0);
	CHECK_STREQ(v[7].src, "/");
	CHECK(n == 8);

	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "/a:rel", "\"/a:rel\": destination \"rel\" must be an absolute path" },
		{ "rel:/b", "\"rel:/b\": source \"rel\" must be an absolute path" },
		{ "/a:ro", "destination \"ro\" must be an absolute path" },
		{ "/a:/b:ro:rw", "\"/a:/b:ro:rw\": ro and rw exclude each other" },
		{ "/a:/b:ro:ro", "option \"ro\" given twice" },
		{ "/a:/b:rec:rec", "option \"rec\" given twice" },
		{ "/a:/b:bogus", "unknown option \"bogus\" (expected ro, rw, skip or rec)" },
		{ "/a:/b:", "empty field" },
		{ "/a::/b", "empty field" },
		{ ":/b", "empty field" },
		{ "/a:/b,", "empty volume entry" },
		{ ",/a:/b", "empty volume entry" },
		{ "/a:/b,,/c", "empty volume entry" },
		{ "", "empty volume entry" },
		{ "/a/../b:/c", "source \"/a/../b\" must not contain \"..\"" },
		{ "/a:/c/..", "must not contain \"..\"" },
		{ "/a:/", "destination must not be the box's root" },
		{ "/a:/b*", "destination \"/b*\" must not contain * ? or [" },
		{ "/ok:/ok,/x:y", "\"/x:y\": destination \"y\"" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		CHECK(volume_specs_parse(bad[i].spec, &v, &n, &e) == -1);
		CHECK_MSG(bad[i].msg);
	}
	CHECK(n == 8); /* nothing appended by a failure, not even the good half */
	free_volumes(v, n);

	/* blanks around entries are not part of them */
	v = NULL;
	n = 0;
	CHECK(volume_specs_parse(" /s1:/s1 ,\t/s2:/t2:ro ", &v, &n, &e) == 0);
	CHECK(n == 2 && strcmp(v[0].src, "/s1") == 0 && strcmp(v[1].dst, "/t2") == 0);
	CHECK(volume_specs_parse("/s3, ,/s4", &v, &n, &e) == -1);
	CHECK_MSG("empty volume entry");
	CHECK(n == 2);
	free_volumes(v, n);
}

/* ---- devices ------------------------------------------------------------ */

static void test_devices(void)
{
	struct device_spec *d = NULL;
	size_t n = 0;
	CHECK(device_spec_parse("path=/dev/nvidia*;permissions=rwm;fileMode=0666;uid=0;gid=0", &d,
				&n, &e) == 0);
	CHECK(n == 1);
	CHECK_STREQ(d[0].glob, "/dev/nvidia*");
	CHECK_STREQ(d[0].perms, "rwm");
	CHECK(d[0].mode == 0666 && d[0].has_mode);
	CHECK(!d[0].optional);
	CHECK(device_spec_parse("path=/dev/loop[0-9]", &d, &n, &e) == 0);
	CHECK_STREQ(d[1].perms, "rwm");
	CHECK(!d[1].has_mode && d[1].uid == 0 && d[1].gid == 0);
	CHECK(device_spec_parse("optional=true;gid=4294967294;uid=1000;fileMode=640;"
				"permissions=mr;path=/dev//fuse",
				&d, &n, &e) == 0);
	CHECK_STREQ(d[2].glob, "/dev/fuse");
	CHECK_STREQ(d[2].perms, "rm");
	CHECK(d[2].mode == 0640);
	CHECK(d[2].uid == 1000 && d[2].gid == 4294967294u);
	CHECK(d[2].optional);
	CHECK(device_spec_parse("path=/dev/x;fileMode=07777;permissions=w", &d, &n, &e) == 0);
	CHECK(d[3].mode == 07777);
	CHECK_STREQ(d[3].perms, "w");
	CHECK(n == 4);
	/* a bare path is path=PATH with the defaults (planet device add, --device) */
	CHECK(device_spec_parse("/dev/null", &d, &n, &e) == 0);
	CHECK(n == 5);
	CHECK_STREQ(d[4].glob, "/dev/null");
	CHECK_STREQ(d[4].perms, "rwm");
	CHECK(!d[4].has_mode && d[4].mode == 0666 && d[4].uid == 0 && d[4].gid == 0);
	CHECK(!d[4].optional);
	CHECK(device_spec_parse("/dev//loop*", &d, &n, &e) == 0);
	CHECK_STREQ(d[5].glob, "/dev/loop*");
	CHECK(n == 6);

	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "permissions=rw", "path=/dev/... is required" },
		{ "path=/tmp/x", "path \"/tmp/x\": must be a path under /dev/" },
		{ "path=/dev", "must be a path under /dev/" },
		{ "path=dev/x", "must be an absolute path" },
		{ "path=/dev/../etc/x", "must not contain \"..\"" },
		{ "path=/dev/x;permissions=rwx", "permissions \"rwx\": expected a non-empty subset" },
		{ "path=/dev/x;permissions=rr", "permissions \"rr\"" },
		{ "path=/dev/x;permissions=", "permissions \"\"" },
		{ "path=/dev/x;fileMode=0999", "fileMode \"0999\": expected an octal mode" },
		{ "path=/dev/x;fileMode=10000", "fileMode \"10000\"" },
		{ "path=/dev/x;fileMode=", "fileMode \"\"" },
		{ "path=/dev/x;uid=-1", "uid \"-1\": expected a decimal id" },
		{ "path=/dev/x;gid=4294967295", "gid \"4294967295\"" },
		{ "path=/dev/x;uid=1x", "uid \"1x\"" },
		{ "path=/dev/x;optional=maybe", "optional \"maybe\": expected true or false" },
		{ "Path=/dev/x", "unknown key \"Path\"" },
		{ "path=/dev/x;mode=0666", "unknown key \"mode\"" },
		{ "path=/dev/x;path=/dev/y", "path given twice" },
		{ "path=/dev/x;", "empty item" },
		{ ";path=/dev/x", "empty item" },
		{ "path=/dev/x;;uid=1", "empty item" },
		{ "path", "\"path\" is not key=value" },
		{ "", "empty item" },
		{ "/tmp/x", "\"/tmp/x\": must be a path under /dev/" },
		{ "/dev/../etc/x", "must not contain \"..\"" },
		{ "/dev/x;uid=1", "\"/dev/x\" is not key=value" },
		{ "/dev", "must be a path under /dev/" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		CHECK(device_spec_parse(bad[i].spec, &d, &n, &e) == -1);
		CHECK_MSG(bad[i].msg);
	}
	CHECK(n == 6);
	for (size_t i = 0; i < n; i++)
		device_spec_free(&d[i]);
	free(d);
}

/* ---- dns ------------------------------------------------------------------ */

static void test_dns(void)
{
	struct dns_host *h = NULL;
	struct dns_zone *z = NULL;
	size_t nh = 0, nz = 0;
	CHECK(dns_hosts_parse("db/10.0.0.2,api.example.com/fd00::1,db/10.0.0.3", &h, &nh, &e) == 0);
	CHECK(nh == 3);
	CHECK_STREQ(h[0].host, "db");
	CHECK_STREQ(h[0].ip, "10.0.0.2");
	CHECK_STREQ(h[1].host, "api.example.com");
	CHECK_STREQ(h[1].ip, "fd00::1");
	CHECK(dns_zones_parse("cluster.local/10.100.0.10, example.com/::1", &z, &nz, &e) == 0);
	CHECK(nz == 2);
	CHECK_STREQ(z[0].zone, "cluster.local");
	CHECK_STREQ(z[0].ns, "10.100.0.10");
	CHECK_STREQ(z[1].ns, "::1");

	static const struct {
		const char *spec, *msg;
	} badh[] = {
		{ "db", "\"db\": expected host/ip" },
		{ "db/1.2.3.4/5", "expected host/ip" },
		{ "db/", "\"\" is not an IPv4 or IPv6 address" },
		{ "/1.2.3.4", "host \"\" is not a valid hostname" },
		{ "under_score/1.2.3.4", "host \"under_score\" is not a valid hostname" },
		{ "-db/1.2.3.4", "host \"-db\"" },
		{ "db./1.2.3.4", "host \"db.\"" },
		{ "db/1.2.3.256", "\"1.2.3.256\" is not an IPv4 or IPv6 address" },
		{ "db/1.2.3.4:53", "\"1.2.3.4:53\" is not an IPv4 or IPv6 address" },
		{ "db/1.2.3.4,", "empty entry" },
		{ "a/1.1.1.1,,b/2.2.2.2", "empty entry" },
		{ "", "empty entry" },
		{ "a/1.1.1.1, ", "empty entry" },
		{ "a /1.1.1.1", "host \"a \" is not a valid hostname" },
	};
	for (size_t i = 0; i < sizeof badh / sizeof badh[0]; i++) {
		memset(&e, 0, sizeof e);
		CHECK(dns_hosts_parse(badh[i].spec, &h, &nh, &e) == -1);
		CHECK_MSG(badh[i].msg);
	}
	memset(&e, 0, sizeof e);
	CHECK(dns_zones_parse("example..com/1.1.1.1", &z, &nz, &e) == -1);
	CHECK_MSG("zone \"example..com\" is not a valid domain");
	CHECK(dns_zones_parse("example.com", &z, &nz, &e) == -1);
	CHECK_MSG("\"example.com\": expected zone/nameserver");
	CHECK(dns_zones_parse("example.com/dns.google", &z, &nz, &e) == -1);
	CHECK_MSG("\"dns.google\" is not an IPv4 or IPv6 address");
	CHECK(nh == 3 && nz == 2);
	for (size_t i = 0; i < nh; i++) {
		free(h[i].host);
		free(h[i].ip);
	}
	for (size_t i = 0; i < nz; i++) {
		free(z[i].zone);
		free(z[i].ns);
	}
	free(h);
	free(z);
}

/* ---- --init ----------------------------------------------------------- */

static void test_argv(void)
{
	char **a = NULL;
	CHECK(argv_split("/sbin/init", &a, &e) == 0);
	CHECK(check_argc(a) == 1);
	CHECK_STREQ(a[0], "/sbin/init");
	argv_free(a);
	CHECK(argv_split("  /bin/sh  -c 'echo \"hi\" $x'\t\"a \\\"b\\\" \\\\ \\n\" c\\ d '' \n", &a,
			 &e) == 0);
	CHECK(check_argc(a) == 6);
	CHECK_STREQ(a[0], "/bin/sh");
	CHECK_STREQ(a[1], "-c");
	CHECK_STREQ(a[2], "echo \"hi\" $x");
	CHECK_STREQ(a[3], "a \"b\" \\ \\n");
	CHECK_STREQ(a[4], "c d");
	CHECK_STREQ(a[5], "");
	argv_free(a);
	CHECK(argv_split("a\"b\"'c'\\'", &a, &e) == 0);
	CHECK(check_argc(a) == 1);
	CHECK_STREQ(a[0], "abc'");
	argv_free(a);

	a = NULL;
	CHECK(argv_split("/bin/sh -c 'oops", &a, &e) == -1);
	CHECK_MSG("\"/bin/sh -c 'oops\": unterminated single quote");
	CHECK(argv_split("x \"oops", &a, &e) == -1);
	CHECK_MSG("unterminated double quote");
	CHECK(argv_split("x \\", &a, &e) == -1);
	CHECK_MSG("trailing backslash");
	CHECK(argv_split("", &a, &e) == -1);
	CHECK_MSG("\"\": empty command");
	CHECK(argv_split(" \t\n", &a, &e) == -1);
	CHECK_MSG("empty command");
	CHECK(a == NULL);
}

/* ---- small scalars -------------------------------------------------------- */

static void test_scalars(void)
{
	unsigned s = 99;
	CHECK(duration_parse("30", &s) == 0 && s == 30);
	CHECK(duration_parse("30s", &s) == 0 && s == 30);
	CHECK(duration_parse("2m", &s) == 0 && s == 120);
	CHECK(duration_parse("1h", &s) == 0 && s == 3600);
	CHECK(duration_parse("1500ms", &s) == 0 && s == 2);
	CHECK(duration_parse("1ms", &s) == 0 && s == 1);
	CHECK(duration_parse("0", &s) == 0 && s == 0);
	CHECK(duration_parse("86400", &s) == 0 && s == 86400);
	CHECK(duration_parse("24h", &s) == 0 && s == 86400);
	s = 7;
	CHECK(duration_parse("86401", &s) == -1 && s == 7);
	CHECK(duration_parse("25h", &s) == -1);
	CHECK(duration_parse("", &s) == -1);
	CHECK(duration_parse("s", &s) == -1);
	CHECK(duration_parse("-1", &s) == -1);
	CHECK(duration_parse("1.5s", &s) == -1);
	CHECK(duration_parse("10 s", &s) == -1);
	CHECK(duration_parse("5d", &s) == -1);
	CHECK(duration_parse("99999999999999999999", &s) == -1);

	CHECK(hostname_valid("planet"));
	CHECK(hostname_valid("a"));
	CHECK(hostname_valid("node-1.example.com"));
	CHECK(hostname_valid("123"));
	CHECK(!hostname_valid(""));
	CHECK(!hostname_valid("-a"));
	CHECK(!hostname_valid("a-"));
	CHECK(!hostname_valid("a..b"));
	CHECK(!hostname_valid(".a"));
	CHECK(!hostname_valid("a."));
	CHECK(!hostname_valid("a_b"));
	CHECK(!hostname_valid("a b"));
	char longname[80];
	memset(longname, 'a', 64);
	longname[64] = 0;
	CHECK(!hostname_valid(longname)); /* a 64-char label is too long */
	memset(longname, 'a', 65);
	for (int i = 8; i < 65; i += 9)
		longname[i] = '.';
	longname[64] = 0;
	CHECK(hostname_valid(longname)); /* 64 characters in all is the limit */
	longname[64] = 'b';
	longname[65] = 0;
	CHECK(!hostname_valid(longname));

	bool b = false;
	CHECK(bool_parse("true", &b) == 0 && b);
	CHECK(bool_parse("No", &b) == 0 && !b);
	CHECK(bool_parse("ON", &b) == 0 && b);
	CHECK(bool_parse("0", &b) == 0 && !b);
	CHECK(bool_parse("yes", &b) == 0 && b);
	CHECK(bool_parse("off", &b) == 0 && !b);
	CHECK(bool_parse("", &b) == -1);
	CHECK(bool_parse("2", &b) == -1);
	CHECK(bool_parse("truee", &b) == -1);
}

/* ---- config_set -------------------------------------------------------------- */

int main(void)
{
	test_volumes();
	test_devices();
	test_dns();
	test_argv();
	test_scalars();
	return check_done("test_config_specs");
}
