/* libFuzzer target: reading env files. Whatever parses, once written back
 * with envfile_format, must read back to the very same list. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envfile/envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envlist l = { 0 }, back = { 0 };
	struct perr e;
	/* The buffer is not NUL-terminated: the parser must honour size. */
	if (envfile_parse((const char *)data, size, &l, &e) == 0) {
		struct strbuf b = { 0 };
		if (envfile_format(&l, &b) == 0) {
			if (envfile_parse(b.s, b.len, &back, &e) != 0 || back.n != l.n)
				abort();
			for (size_t i = 0; i < l.n; i++)
				if (strcmp(l.v[i].key, back.v[i].key) != 0 ||
				    strcmp(l.v[i].value, back.v[i].value) != 0)
					abort();
		}
		sb_free(&b);
	} else if (l.n != 0 || strncmp(e.msg, "line ", 5) != 0 || strchr(e.msg, '\n')) {
		abort();
	}
	envlist_free(&l);
	envlist_free(&back);
	return 0;
}
