/* libFuzzer target: the K=V,K2="a,b" list syntax. Whatever parses must
 * survive a trip through the env file format unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envfile/envfile.h"

static void same_or_die(const struct envlist *a, const struct envlist *b)
{
	if (a->n != b->n)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) != 0 ||
		    strcmp(a->v[i].value, b->v[i].value) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	struct envlist l = { 0 }, back = { 0 };
	struct perr e;
	if (envlist_parse(&l, s, &e) == 0) {
		struct strbuf b = { 0 };
		if (envfile_format(&l, &b) == 0) {
			if (envfile_parse(b.s, b.len, &back, &e) != 0)
				abort();
			same_or_die(&l, &back);
		}
		sb_free(&b);
	} else if (l.n != 0 || strchr(e.msg, '\n')) {
		abort(); /* a failed parse leaves the list alone; messages are one line */
	}
	envlist_free(&l);
	envlist_free(&back);
	free(s);
	return 0;
}
