/* Unit tests for client/remote.c: the -H URLs (unix:///PATH,
 * ssh://[USER@]HOST[:PORT][/PATH]) and what is refused, and how PLANET_HOST,
 * -H and --socket decide which box a command talks to. */
#include "client/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"

static struct remote_url u;

static void test_unix(void)
{
	CHECK(remote_url_parse("unix:///run/planet/enter.sock", &u) == 0);
	CHECK(u.kind == REMOTE_UNIX);
	CHECK_STREQ(u.path, "/run/planet/enter.sock");
	CHECK(remote_url_parse("unix://", &u) < 0);
	CHECK(remote_url_parse("unix:///", &u) < 0);
	CHECK(remote_url_parse("unix://run/enter.sock", &u) < 0); /* relative */
	CHECK(remote_url_parse("unix:///a\nb", &u) < 0);
	char longp[200] = "unix:///";
	memset(longp + 8, 'x', 120); /* longer than sun_path */
	CHECK(remote_url_parse(longp, &u) < 0);
}

static void test_ssh(void)
{
	CHECK(remote_url_parse("ssh://box1", &u) == 0);
	CHECK(u.kind == REMOTE_SSH);
	CHECK_STREQ(u.host, "box1");
	CHECK_STREQ(u.user, "");
	CHECK_STREQ(u.port, "");
	CHECK_STREQ(u.path, ""); /* the remote's default socket */

	CHECK(remote_url_parse("ssh://ops@10.0.0.7:2222/run/b/enter.sock", &u) == 0);
	CHECK_STREQ(u.user, "ops");
	CHECK_STREQ(u.host, "10.0.0.7");
	CHECK_STREQ(u.port, "2222");
	CHECK_STREQ(u.path, "/run/b/enter.sock");

	CHECK(remote_url_parse("ssh://root@[::1]:22", &u) == 0);
	CHECK_STREQ(u.host, "::1");
	CHECK_STREQ(u.port, "22");
	CHECK(remote_url_parse("ssh://[fe80::1%eth0]/s.sock", &u) == 0);
	CHECK_STREQ(u.host, "fe80::1%eth0");
	CHECK_STREQ(u.path, "/s.sock");
	CHECK(remote_url_parse("ssh://h.example.com:65535", &u) == 0);
}

static void test_refused(void)
{
	const char *bad[] = {
		"", "box1", "/run/planet/enter.sock", "tcp://h:1", "ssh:/h", "ssh://",
		"ssh://@h", "ssh://u@", "ssh://h:", "ssh://h:0", "ssh://h:65536", "ssh://h:22x",
		"ssh://h:123456", "ssh://-oProxyCommand=x", "ssh://-l@h", "ssh://u@-h",
		"ssh://h h", "ssh://h/", "ssh://h/a\tb", "ssh://[::1", "ssh://[::1]x",
		"ssh://a:b:c", "ssh://h;rm", "ssh://u;x@h", "SSH://h",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = remote_url_parse(bad[i], &u);
		if (r == 0)
			fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
		CHECK(r < 0);
	}
}

/* -H, PLANET_HOST, --socket: which wins (README, "Remote boxes"). */
static void test_resolve(void)
{
	FILE *saved = stderr;
	stderr = fopen("/dev/null", "w"); /* the refusals' lines */

	struct client_opts o = { .cmd = "status", .host = "unix:///tmp/a.sock" };
	CHECK(client_remote_resolve(&o) == 1);
	CHECK_STREQ(o.socket, "/tmp/a.sock");
	CHECK(!client_remote_active());
	free(o.located_socket);

	o = (struct client_opts){ .cmd = "status", .host = "unix:///a", .socket = "/b" };
	CHECK(client_remote_resolve(&o) == -1); /* both on the command line */
	o = (struct client_opts){ .cmd = "status", .host = "nope" };
	CHECK(client_remote_resolve(&o) == -1);

	setenv("PLANET_HOST", "unix:///env.sock", 1);
	o = (struct client_opts){ .cmd = "status", .socket = "/opt.sock" };
	CHECK(client_remote_resolve(&o) == 0); /* --socket beats the variable */
	o = (struct client_opts){ .cmd = "status", .config = "/etc/x.conf" };
	CHECK(client_remote_resolve(&o) == 0);
	o = (struct client_opts){ .cmd = "status" };
	CHECK(client_remote_resolve(&o) == 1);
	CHECK_STREQ(o.socket, "/env.sock");
	free(o.located_socket);
	o = (struct client_opts){ .cmd = "status", .host = "unix:///opt-h.sock" };
	CHECK(client_remote_resolve(&o) == 1); /* -H beats the variable */
	CHECK_STREQ(o.socket, "/opt-h.sock");
	free(o.located_socket);
	setenv("PLANET_HOST", "ftp://x", 1);
	o = (struct client_opts){ .cmd = "status" };
	CHECK(client_remote_resolve(&o) == -1);

	client_set_host("ssh://ops@h:2222"); /* planet -H URL status */
	o = (struct client_opts){ .cmd = "status" };
	CHECK(client_remote_resolve(&o) == 1);
	CHECK_STREQ(o.socket, "ssh://ops@h:2222");
	CHECK(client_remote_active());
	free(o.located_socket);
	unsetenv("PLANET_HOST");

	fclose(stderr);
	stderr = saved;
}

int main(void)
{
	test_unix();
	test_ssh();
	test_refused();
	test_resolve();
	return check_done("test_remote");
}
