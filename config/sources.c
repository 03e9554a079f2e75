/* config: the layers read from outside planet's command line: the INI file
 * (--config FILE or PLANET_CONFIG) and PLANET_* environment variables. Each
 * value goes through config_key_apply, with its origin for messages. */
#include "config/internal.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QLEN 200
#define Q(buf, s) str_quote((buf), sizeof(buf), (s), strlen(s))

/* ---- the INI file ------------------------------------------------------------- */

struct ini_state {
	struct box_config *c;
	const char *path;
	FILE *f;
	unsigned line;
	bool indented; /* the current line starts with blank space */
	bool had_key;  /* a key was seen in this section (inih's prev_name) */
	bool cont;     /* inih will treat this line as a continuation */
	bool failed;
	struct perr *e;
};

/* Record the file's first error as "PATH:LINE: message"; returns 0, which
 * is what an inih handler returns on error. */
static int ini_fail(struct ini_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int ini_fail(struct ini_state *st, const char *fmt, ...)
{
	char msg[PERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	st->failed = true;
	perr_set(st->e, 0, "%s:%u: %s", st->path, st->line, msg);
	return 0;
}

/* inih's reader: one line per call, as fgets would, but counting lines for
 * messages, refusing NUL bytes and refusing (rather than splitting) lines
 * longer than inih's buffer. */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct ini_state *st = stream;
	if (st->failed)
		return NULL;
	size_t n = 0, max = (size_t)num - 2;
	int ch;
	while ((ch = getc(st->f)) != EOF && ch != '\n') {
		if (ch == 0 || n == max) {
			st->line++;
			if (ch == 0)
				ini_fail(st, "NUL byte");
			else
				ini_fail(st, "line longer than %zu characters; split a list "
					     "over several \"key =\" lines", max);
			return NULL;
		}
		str[n++] = (char)ch;
	}
	if (ferror(st->f)) {
		st->failed = true;
		return perr_set(st->e, errno, "read %s", st->path), NULL;
	}
	if (ch == EOF && n == 0)
		return NULL;
	if (ch == '\n')
		str[n++] = '\n';
	str[n] = 0;
	st->line++;

	/* Mirror inih's rules to know whether this line continues the
	 * previous key: comments first, then indented text after a key. */
	size_t lead = strspn(str, " \t\r\f\v");
	char first = str[lead];
	bool blank = first == 0 || first == '\n';
	st->indented = lead > 0;
	st->cont = st->indented && st->had_key && !blank && first != ';' && first != '#';
	if (!st->cont && first == '[')
		st->had_key = false;
	return str;
}

static const struct config_key *key_by_ini(const char *section, const char *name)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strcmp(config_keys[i].section, section) == 0 && strcmp(config_keys[i].ini, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* [envfile /etc/default/proxy]: each key is a variable of that file, its
 * value taken as written (inih strips the blanks around it). */
static int ini_envfile_key(struct ini_state *st, const char *path, const char *name,
			   const char *value, bool cont)
{
	char q[QLEN];
	path += strspn(path, " \t");
	if (cont)
		return ini_fail(st, "indented line continues %s: a variable of an env file takes "
				    "one line", Q(q, name));
	if (config_envfile_set(st->c, path, name, value, st->e) < 0) {
		char msg[PERR_MSG_MAX];
		snprintf(msg, sizeof msg, "%s", st->e->msg);
		return ini_fail(st, "[envfile %s]: %s", path, msg);
	}
	return 1;
}

static int ini_on_key(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	char q[QLEN], q2[QLEN];
	bool cont = st->cont;
	st->had_key = true;
	if (st->failed)
		return 0;
	if (!*section)
		return ini_fail(st, "key %s outside a section (expected under [box], [enter] or "
				    "[resources])", Q(q, name));
	if (strncmp(section, "envfile ", 8) == 0)
		return ini_envfile_key(st, section + 8, name, value, cont);
	if (strcmp(section, "box") != 0 && strcmp(section, "enter") != 0 &&
	    strcmp(section, "resources") != 0)
		return ini_fail(st, "unknown section %s (expected [box], [enter], [resources] or "
				    "[envfile PATH])",
				Q(q, section));
	const struct config_key *k = key_by_ini(section, name);
	if (!k)
		return ini_fail(st, "unknown key %s in [%s]", Q(q, name), section);
	if (cont && k->kind != CK_LIST)
		return ini_fail(st, "indented line %s continues %s, which takes one value "
				    "(only list keys continue on indented lines)",
				Q(q2, value), Q(q, name));
	char origin[PATH_MAX + 80];
	snprintf(origin, sizeof origin, "%s:%u: %s", st->path, st->line, name);
	if (config_key_apply(st->c, k, value, origin, st->e) < 0) {
		st->failed = true;
		return 0;
	}
	return 1;
}

int config_load_file(struct box_config *c, const char *path, struct perr *e)
{
	struct perr scratch;
	_cleanup_file_ FILE *f = fopen(path, "re");
	if (!f)
		return perr_set(e, errno, "config file %s", path);
	struct ini_state st = { .c = c, .path = path, .f = f, .e = e ? e : &scratch };
	int r = ini_parse_stream(ini_read_line, &st, ini_on_key, &st);
	if (st.failed)
		return -1;
	if (r == -2)
		return perr_set(e, ENOMEM, "config file %s", path);
	if (r != 0)
		return perr_set(e, 0,
				"%s:%d: syntax error (expected \"key = value\", \"[section]\" or a "
				"comment)",
				path, r);
	return 0;
}

/* ---- PLANET_* ---------------------------------------------------------------- */

static const struct config_key *key_by_env(const char *var, size_t len)
{
	for (size_t i = 0; i < config_nkeys; i++)
		if (strlen(config_keys[i].env) == len && strncmp(config_keys[i].env, var, len) == 0)
			return &config_keys[i];
	return NULL;
}

int config_load_env(struct box_config *c, char *const *envp, struct perr *e)
{
	for (; envp && *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		if (strncmp(*envp, "PLANET_", 7) != 0 || !eq || !eq[1])
			continue; /* unset and empty look the same to systemd units */
		size_t len = (size_t)(eq - *envp);
		const struct config_key *k = key_by_env(*envp, len);
		if (!k)
			continue; /* PLANET_CONFIG, or another tool's variable */
		if (config_key_apply(c, k, eq + 1, k->env, e) < 0)
			return -1;
	}
	return 0;
}
