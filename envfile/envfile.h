/* envfile: environment lists and environment files.
 *
 * The list syntax operators type:   K=V,K2="a,b",K3='x y'
 *   - entries separated by commas; a value may be double- or single-quoted
 *     to contain commas; inside double quotes \" and \\ escape.
 *   - keys: [A-Za-z_][A-Za-z0-9_]*
 *
 * The file format written into the rootfs (and read back by the enter API):
 *   K="V"           one variable per line
 *   inside the quotes \\ \" \$ \` and \n are escaped, so any value
 *   (newlines, quotes, backslashes) survives a round trip, and the file can
 *   also be sourced by a POSIX shell.
 * The reader also accepts what people write by hand: blank lines, # comments,
 * `export K=V`, unquoted values, and single-quoted values. */
#ifndef PLANET_ENVFILE_H
#define PLANET_ENVFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core.h"

struct envvar {
	char *key;
	char *value;
};

struct envlist {
	struct envvar *v;
	size_t n, cap;
};

bool env_key_valid(const char *k);
/* Set k=v: replaces an existing key in place, else appends. 0 or -1 (ENOMEM). */
int envlist_set(struct envlist *l, const char *k, const char *v);
const char *envlist_get(const struct envlist *l, const char *k);
void envlist_free(struct envlist *l);
/* Parse the comma list syntax, appending/overriding into l. On error l is
 * unchanged and e names the offending entry. */
int envlist_parse(struct envlist *l, const char *spec, struct perr *e);
/* Serialize as an env file (K="V" lines). */
int envfile_format(const struct envlist *l, struct strbuf *out);
/* Parse env file contents (buf need not be NUL-terminated). */
int envfile_parse(const char *buf, size_t len, struct envlist *l, struct perr *e);

#endif
