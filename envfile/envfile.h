/* envfile: environment lists and environment files.
 *
 * The list syntax operators type:   K=V,K2="a,b",K3='x y'
 *   - entries separated by commas; blanks before a key are skipped;
 *   - a value is unquoted text (up to the next comma), "double-quoted"
 *     (\" and \\ escape; any other backslash is literal) or 'single-quoted'
 *     (literal) parts, concatenated as a shell would: K=a"b,c" is "ab,c";
 *   - keys: [A-Za-z_][A-Za-z0-9_]*; a later entry for a key replaces it;
 *   - an empty string is an empty list; an empty entry (leading, trailing
 *     or doubled comma), a missing '=' or an unterminated quote is an error.
 *
 * The file format written into the rootfs (and read back by the enter API):
 *   K="V"           one variable per line
 *   inside the double quotes only \ \" \$ and \` are escaped (with a
 *   backslash); every other byte, newline included, is written as it is, so
 *   a value with newlines spans several lines. This is exactly what a POSIX
 *   shell (`. file`) and systemd's EnvironmentFile= read back as the same
 *   value, and envfile_parse(envfile_format(l)) == l for every value.
 * The reader also accepts what people write by hand, with shell word rules
 * and no expansion: blank lines, # comments (also after a value), `export
 * K=V`, unquoted values (backslash escapes the next character; a blank ends
 * the value), 'single-quoted' values, "double-quoted" values as above (where
 * a backslash before another character stays), backslash-newline joining
 * lines, and CRLF line ends. "K=two words" is an error: quote it.
 * Errors name the line: "line 3: expected KEY=VALUE". */
#ifndef PLANET_ENVFILE_H
#define PLANET_ENVFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/base.h"

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
#define _cleanup_envlist_ __attribute__((cleanup(envlist_free)))
/* Parse the comma list syntax, appending/overriding into l. On error l is
 * unchanged and e names the offending entry. */
int envlist_parse(struct envlist *l, const char *spec, struct perr *e);
/* Serialize as an env file (K="V" lines), appending to out. -1 with errno
 * ENOMEM, or EINVAL when a key is not a valid name. */
int envfile_format(const struct envlist *l, struct strbuf *out);
/* Parse env file contents (buf need not be NUL-terminated; a NUL byte in it
 * is an error), appending/overriding into l. On error l is unchanged and e
 * says "line N: ...". */
int envfile_parse(const char *buf, size_t len, struct envlist *l, struct perr *e);

#endif
