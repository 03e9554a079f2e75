/* Unit tests for envfile/: the K=V,... list syntax and K="V" env files. */
#include "envfile/envfile.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/check.h"

static struct perr e;

/* Parse a list into a fresh envlist; returns envlist_parse's result. */
static int plist(struct envlist *l, const char *spec)
{
	memset(&e, 0, sizeof e);
	return envlist_parse(l, spec, &e);
}

static int pfile(struct envlist *l, const char *text)
{
	memset(&e, 0, sizeof e);
	return envfile_parse(text, strlen(text), l, &e);
}

static void test_keys(void)
{
	CHECK(env_key_valid("A"));
	CHECK(env_key_valid("_x9"));
	CHECK(env_key_valid("PATH_2"));
	CHECK(!env_key_valid(""));
	CHECK(!env_key_valid("9A"));
	CHECK(!env_key_valid("A-B"));
	CHECK(!env_key_valid("A B"));
	CHECK(!env_key_valid("A=B"));
	CHECK(!env_key_valid(NULL));
}

static void test_set_get(void)
{
	struct envlist l = { 0 };
	CHECK(envlist_set(&l, "A", "1") == 0);
	CHECK(envlist_set(&l, "B", "2") == 0);
	CHECK(envlist_set(&l, "A", "3") == 0);
	CHECK(l.n == 2);
	CHECK_STREQ(envlist_get(&l, "A"), "3");
	CHECK_STREQ(l.v[0].key, "A"); /* replaced in place, order kept */
	CHECK(envlist_get(&l, "C") == NULL);
	for (int i = 0; i < 100; i++) {
		char k[16];
		snprintf(k, sizeof k, "K%d", i);
		envlist_set(&l, k, k);
	}
	CHECK(l.n == 102);
	CHECK_STREQ(envlist_get(&l, "K99"), "K99");
	envlist_free(&l);
	CHECK(l.n == 0 && l.v == NULL);
}

static void test_list_good(void)
{
	struct envlist l = { 0 };
	CHECK(plist(&l, "K=V,K2=\"a,b\",K3='x y'") == 0);
	CHECK(l.n == 3);
	CHECK_STREQ(envlist_get(&l, "K"), "V");
	CHECK_STREQ(envlist_get(&l, "K2"), "a,b");
	CHECK_STREQ(envlist_get(&l, "K3"), "x y");
	envlist_free(&l);

	CHECK(plist(&l, "A=\"q\\\"x\\\\y\\n\"") == 0);
	CHECK_STREQ(envlist_get(&l, "A"), "q\"x\\y\\n"); /* only \" and \\ escape */
	envlist_free(&l);

	CHECK(plist(&l, "A=,B=\"\",C=''") == 0);
	CHECK_STREQ(envlist_get(&l, "A"), "");
	CHECK_STREQ(envlist_get(&l, "B"), "");
	CHECK_STREQ(envlist_get(&l, "C"), "");
	envlist_free(&l);

	CHECK(plist(&l, "A=a\"b,c\"'d e'f,  B=x=y") == 0);
	CHECK_STREQ(envlist_get(&l, "A"), "ab,cd ef");
	CHECK_STREQ(envlist_get(&l, "B"), "x=y");
	envlist_free(&l);

	CHECK(plist(&l, "A=1,A=2") == 0);
	CHECK(l.n == 1);
	CHECK_STREQ(envlist_get(&l, "A"), "2");
	CHECK(plist(&l, "B=3,A=4") == 0); /* a second list merges into the first */
	CHECK(l.n == 2);
	CHECK_STREQ(envlist_get(&l, "A"), "4");
	envlist_free(&l);

	CHECK(plist(&l, "") == 0 && l.n == 0);
	CHECK(plist(&l, "  ") == 0 && l.n == 0);
	CHECK(plist(&l, "U=h\xc3\xa9llo") == 0);
	CHECK_STREQ(envlist_get(&l, "U"), "h\xc3\xa9llo");
	envlist_free(&l);
}

static void test_list_bad(void)
{
	struct envlist l = { 0 };
	envlist_set(&l, "KEEP", "1");
	static const struct {
		const char *spec, *needle;
	} bad[] = {
		{ "A=1,", "empty entry" },
		{ ",A=1", "empty entry" },
		{ "A=1,,B=2", "empty entry" },
		{ ",", "empty entry" },
		{ "A=1,NOEQ", "\"NOEQ\": expected KEY=VALUE" },
		{ "NOEQ", "expected KEY=VALUE" },
		{ "1A=x", "\"1A\" is not a valid variable name" },
		{ "A-B=x", "\"A-B\" is not a valid variable name" },
		{ "=x", "is not a valid variable name" },
		{ "A=\"abc", "unterminated double quote" },
		{ "A='abc", "unterminated single quote" },
		{ "A=\"a\\\"", "unterminated double quote" },
		{ "OK=1,B=\"x", "\"B=\\\"x\": unterminated double quote" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = plist(&l, bad[i].spec);
		CHECK(r == -1);
		if (!strstr(e.msg, bad[i].needle))
			fprintf(stderr, "  spec %s: message \"%s\" lacks \"%s\"\n", bad[i].spec,
				e.msg, bad[i].needle);
		CHECK(strstr(e.msg, bad[i].needle) != NULL);
		CHECK(!strchr(e.msg, '\n'));
	}
	/* a failed parse leaves the list as it was */
	CHECK(l.n == 1);
	CHECK_STREQ(envlist_get(&l, "KEEP"), "1");
	CHECK(plist(&l, "A=\"line\nbreak") == -1);
	CHECK(!strchr(e.msg, '\n')); /* control characters are escaped in messages */
	CHECK(l.n == 1);
	envlist_free(&l);
}

static void test_format(void)
{
	struct envlist l = { 0 };
	struct strbuf b = { 0 };
	envlist_set(&l, "A", "x");
	envlist_set(&l, "B", "say \"hi\" $HOME `id` \\");
	envlist_set(&l, "C", "two\nlines");
	envlist_set(&l, "D", "");
	CHECK(envfile_format(&l, &b) == 0);
	CHECK_STREQ(b.s, "A=\"x\"\n"
			 "B=\"say \\\"hi\\\" \\$HOME \\`id\\` \\\\\"\n"
			 "C=\"two\nlines\"\n"
			 "D=\"\"\n");
	sb_free(&b);
	envlist_free(&l);

	CHECK(envfile_format(&l, &b) == 0); /* an empty list is an empty file */
	CHECK(b.s && b.len == 0);
	sb_free(&b);

	l.v = calloc(1, sizeof *l.v);
	l.n = l.cap = 1;
	l.v[0].key = strdup("BAD KEY");
	l.v[0].value = strdup("v");
	CHECK(envfile_format(&l, &b) == -1);
	sb_free(&b);
	envlist_free(&l);
}

static const char *const tricky[] = {
	"",
	"plain",
	"with space",
	"a \"quoted\" word",
	"back\\slash",
	"trailing backslash\\",
	"\\\"",
	"$HOME and ${X} and $(id)",
	"`uname`",
	"line1\nline2\n",
	"\n",
	"backslash-newline\\\nend",
	"cr\r\nlf",
	"key=value=more",
	"it's",
	"'single'",
	"#not a comment",
	"tab\there",
	"unicode \xc3\xa9\xe2\x82\xac\xf0\x9f\x9a\x80",
	"\x01\x7f\xff",
	"  leading and trailing  ",
	"a,b,c",
};

static void test_roundtrip(void)
{
	struct envlist l = { 0 }, back = { 0 };
	struct strbuf b = { 0 };
	size_t n = sizeof tricky / sizeof tricky[0];
	for (size_t i = 0; i < n; i++) {
		char k[16];
		snprintf(k, sizeof k, "V%zu", i);
		envlist_set(&l, k, tricky[i]);
	}
	CHECK(envfile_format(&l, &b) == 0);
	CHECK(envfile_parse(b.s, b.len, &back, &e) == 0);
	CHECK(back.n == n);
	size_t same = 0;
	for (size_t i = 0; i < n && i < back.n; i++) {
		same += strcmp(back.v[i].key, l.v[i].key) == 0 &&
			strcmp(back.v[i].value, l.v[i].value) == 0;
		if (strcmp(back.v[i].value, l.v[i].value) != 0)
			fprintf(stderr, "  round trip of value %zu differs\n", i);
	}
	CHECK(same == n);

	/* The same file, sourced by a POSIX shell, gives the same values. */
	char path[] = "/tmp/planet-test-envfile-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK(write(fd, b.s, b.len) == (ssize_t)b.len);
		close(fd);
		size_t sh_same = 0;
		for (size_t i = 0; i < n; i++) {
			char cmd[256];
			snprintf(cmd, sizeof cmd, "sh -c '. \"$0\"; printf %%s \"$V%zu\"' %s", i,
				 path);
			FILE *p = popen(cmd, "r");
			char out[256] = { 0 };
			size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
			if (p)
				pclose(p);
			bool ok = got == strlen(tricky[i]) && memcmp(out, tricky[i], got) == 0;
			if (!ok)
				fprintf(stderr, "  sh reads value %zu differently\n", i);
			sh_same += ok;
		}
		CHECK(sh_same == n);
		unlink(path);
	}
	sb_free(&b);
	envlist_free(&l);
	envlist_free(&back);
}

static void test_file_good(void)
{
	struct envlist l = { 0 };
	CHECK(pfile(&l, "# a comment\n"
			"\n"
			"   \t\n"
			"A=1\n"
			"export B=two\n"
			"export\tC='single $quoted \\n'\n"
			"  D=\"dq \\$x \\q\"   # trailing comment\n"
			"E=unquoted\\ escaped\n"
			"F=\n"
			"G=\"multi\n"
			"line\"\n"
			"H=a'b'\"c\"d\n"
			"I=joined\\\n"
			"line\n"
			"J=crlf\r\n"
			"A=override\n"
			"K=#hash\n"
			"export=x\n"
			"L=last") == 0);
	CHECK_STREQ(envlist_get(&l, "A"), "override");
	CHECK_STREQ(envlist_get(&l, "B"), "two");
	CHECK_STREQ(envlist_get(&l, "C"), "single $quoted \\n");
	CHECK_STREQ(envlist_get(&l, "D"), "dq $x \\q");
	CHECK_STREQ(envlist_get(&l, "E"), "unquoted escaped");
	CHECK_STREQ(envlist_get(&l, "F"), "");
	CHECK_STREQ(envlist_get(&l, "G"), "multi\nline");
	CHECK_STREQ(envlist_get(&l, "H"), "abcd");
	CHECK_STREQ(envlist_get(&l, "I"), "joinedline");
	CHECK_STREQ(envlist_get(&l, "J"), "crlf");
	CHECK_STREQ(envlist_get(&l, "K"), "#hash");
	CHECK_STREQ(envlist_get(&l, "export"), "x");
	CHECK_STREQ(envlist_get(&l, "L"), "last");
	CHECK(l.n == 13);
	envlist_free(&l);

	CHECK(pfile(&l, "") == 0 && l.n == 0);
	CHECK(pfile(&l, "\n\n# only comments\n") == 0 && l.n == 0);
	/* not NUL-terminated: only len bytes count */
	CHECK(envfile_parse("A=1\nB=2", 6, &l, &e) == 0);
	CHECK(l.n == 2);
	CHECK_STREQ(envlist_get(&l, "A"), "1");
	CHECK_STREQ(envlist_get(&l, "B"), "");
	envlist_free(&l);
}

static void test_file_bad(void)
{
	struct envlist l = { 0 };
	envlist_set(&l, "KEEP", "1");
	static const struct {
		const char *text, *needle;
	} bad[] = {
		{ "FOO\n", "line 1: expected KEY=VALUE" },
		{ "A=1\n\n1A=x\n", "line 3: expected KEY=VALUE" },
		{ "A=1\nB=two words\n", "line 2: unexpected text after the value" },
		{ "A=1\nB=\"open\nstill\n", "line 2: unterminated double quote" },
		{ "A='open\n", "line 1: unterminated single quote" },
		{ "export\n", "line 1: expected KEY=VALUE" },
		{ "export A\n", "line 1: expected KEY=VALUE" },
		{ "=x\n", "line 1: expected KEY=VALUE" },
		{ "A B=1\n", "line 1: expected KEY=VALUE" },
		{ "A=\"x\"y z\n", "line 1: unexpected text" },
		{ "A=\"two\nlines\"\nB C\n", "line 3: expected KEY=VALUE" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(pfile(&l, bad[i].text) == -1);
		if (!strstr(e.msg, bad[i].needle))
			fprintf(stderr, "  text %zu: message \"%s\" lacks \"%s\"\n", i, e.msg,
				bad[i].needle);
		CHECK(strstr(e.msg, bad[i].needle) != NULL);
	}
	CHECK(envfile_parse("A=1\nB=\0\n", 7, &l, &e) == -1);
	CHECK(strstr(e.msg, "line 2: NUL byte") != NULL);
	CHECK(l.n == 1); /* unchanged by every failure */
	envlist_free(&l);
}

int main(void)
{
	test_keys();
	test_set_get();
	test_list_good();
	test_list_bad();
	test_format();
	test_roundtrip();
	test_file_good();
	test_file_bad();
	return check_done("test_envfile");
}
