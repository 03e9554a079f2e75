/* envfile: the K=V,K2="a,b" list syntax and K="V" environment files.
 * See envfile.h for both formats. */
#include "envfile/envfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool env_key_valid(const char *k)
{
	if (!k || !((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || *k == '_'))
		return false;
	for (k++; *k; k++)
		if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
		      (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

static bool key_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static ssize_t envlist_find(const struct envlist *l, const char *k)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, k) == 0)
			return (ssize_t)i;
	return -1;
}

/* Make room for `extra` more entries, so that later insertions cannot fail. */
static int envlist_reserve(struct envlist *l, size_t extra)
{
	if (l->n + extra <= l->cap)
		return 0;
	size_t cap = l->cap ? l->cap : 8;
	while (cap < l->n + extra)
		cap *= 2;
	struct envvar *nv = realloc(l->v, cap * sizeof *nv);
	if (!nv) {
		errno = ENOMEM;
		return -1;
	}
	l->v = nv;
	l->cap = cap;
	return 0;
}

/* Store k=v taking ownership of both strings; never allocates once
 * envlist_reserve(l, 1) succeeded. */
static void envlist_put(struct envlist *l, char *k, char *v)
{
	ssize_t i = envlist_find(l, k);
	if (i >= 0) {
		free(k);
		free(l->v[i].value);
		l->v[i].value = v;
		return;
	}
	l->v[l->n].key = k;
	l->v[l->n].value = v;
	l->n++;
}

int envlist_set(struct envlist *l, const char *k, const char *v)
{
	if (envlist_reserve(l, 1) < 0)
		return -1;
	char *nk = strdup(k), *nv = strdup(v);
	if (!nk || !nv) {
		free(nk);
		free(nv);
		errno = ENOMEM;
		return -1;
	}
	envlist_put(l, nk, nv);
	return 0;
}

const char *envlist_get(const struct envlist *l, const char *k)
{
	ssize_t i = envlist_find(l, k);
	return i >= 0 ? l->v[i].value : NULL;
}

void envlist_free(struct envlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Move every entry of `from` into `to` (later wins), all or nothing: the only
 * allocation happens before anything is moved. `from` is emptied. */
static int envlist_merge(struct envlist *to, struct envlist *from)
{
	if (envlist_reserve(to, from->n) < 0) {
		envlist_free(from);
		return -1;
	}
	for (size_t i = 0; i < from->n; i++)
		envlist_put(to, from->v[i].key, from->v[i].value);
	free(from->v);
	from->v = NULL;
	from->n = from->cap = 0;
	return 0;
}

/* A value quoted for an error message: printable, one line, bounded. */
struct qbuf {
	char s[160];
};

static const char *quote(struct qbuf *q, const char *s, size_t n)
{
	return str_quote(q->s, sizeof q->s, s, n);
}

/* ---- the comma list ---------------------------------------------------- */

struct listp {
	const char *s, *entry; /* whole spec, start of the current entry */
	size_t pos;
	struct perr *e;
};

static int list_err(struct listp *p, const char *what)
{
	struct qbuf q;
	const char *end = strchr(p->s + p->pos, ',');
	size_t n = end ? (size_t)(end - p->entry) : strlen(p->entry);
	return perr_set(p->e, 0, "%s: %s", quote(&q, p->entry, n), what);
}

/* Read one value: unquoted text up to ',' and quoted segments, concatenated
 * as a shell would ("a"'b'c is abc). */
static int list_value(struct listp *p, struct strbuf *v)
{
	const char *s = p->s;
	while (s[p->pos] && s[p->pos] != ',') {
		char c = s[p->pos++];
		if (c == '\'') {
			const char *close = strchr(s + p->pos, '\'');
			if (!close)
				return list_err(p, "unterminated single quote");
			if (sb_append(v, s + p->pos, (size_t)(close - (s + p->pos))) < 0)
				return perr_set(p->e, ENOMEM, "env list");
			p->pos = (size_t)(close - s) + 1;
			continue;
		}
		if (c == '"') {
			for (;;) {
				c = s[p->pos++];
				if (!c) {
					p->pos--;
					return list_err(p, "unterminated double quote");
				}
				if (c == '"')
					break;
				if (c == '\\' && (s[p->pos] == '"' || s[p->pos] == '\\'))
					c = s[p->pos++];
				if (sb_append(v, &c, 1) < 0)
					return perr_set(p->e, ENOMEM, "env list");
			}
			continue;
		}
		if (sb_append(v, &c, 1) < 0)
			return perr_set(p->e, ENOMEM, "env list");
	}
	/* An empty value still needs a buffer to hand out. */
	if (!v->s && sb_append(v, "", 0) < 0)
		return perr_set(p->e, ENOMEM, "env list");
	return 0;
}

static int list_entry(struct listp *p, struct envlist *tmp)
{
	const char *s = p->s;
	while (s[p->pos] == ' ' || s[p->pos] == '\t')
		p->pos++;
	p->entry = s + p->pos;
	if (!s[p->pos] || s[p->pos] == ',')
		return perr_set(p->e, 0, "%s: empty entry (a leading, trailing or doubled comma)",
				quote(&(struct qbuf){ 0 }, s, strlen(s)));
	size_t k0 = p->pos;
	while (s[p->pos] && s[p->pos] != '=' && s[p->pos] != ',')
		p->pos++;
	if (s[p->pos] != '=')
		return list_err(p, "expected KEY=VALUE");
	_cleanup_free_ char *key = strndup(s + k0, p->pos - k0);
	if (!key)
		return perr_set(p->e, ENOMEM, "env list");
	if (!env_key_valid(key)) {
		struct qbuf q;
		char what[256];
		snprintf(what, sizeof what,
			 "%s is not a valid variable name (letters, digits and _, "
			 "not starting with a digit)",
			 quote(&q, key, strlen(key)));
		return list_err(p, what);
	}
	p->pos++;
	struct strbuf v = { 0 };
	if (list_value(p, &v) < 0) {
		sb_free(&v);
		return -1;
	}
	if (envlist_reserve(tmp, 1) < 0) {
		sb_free(&v);
		return perr_set(p->e, ENOMEM, "env list");
	}
	envlist_put(tmp, take_ptr(&key), v.s);
	return 0;
}

int envlist_parse(struct envlist *l, const char *spec, struct perr *e)
{
	_cleanup_envlist_ struct envlist tmp = { 0 };
	struct listp p = { .s = spec, .entry = spec, .pos = 0, .e = e };
	struct perr scratch;
	if (!p.e)
		p.e = &scratch;
	/* Nothing at all (or only blanks) is an empty list, not an error. */
	if (spec[strspn(spec, " \t")] == 0)
		return 0;
	for (;;) {
		if (list_entry(&p, &tmp) < 0)
			return -1;
		if (!spec[p.pos])
			break;
		p.pos++; /* the comma */
	}
	if (envlist_merge(l, &tmp) < 0)
		return perr_set(e, ENOMEM, "env list");
	return 0;
}

/* ---- env files --------------------------------------------------------- */

int envfile_format(const struct envlist *l, struct strbuf *out)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!env_key_valid(l->v[i].key)) {
			errno = EINVAL;
			return -1;
		}
		if (sb_printf(out, "%s=\"", l->v[i].key) < 0)
			return -1;
		/* Only the four characters a shell (and systemd's EnvironmentFile=)
		 * treats specially inside double quotes are escaped; newlines are
		 * written as they are, which both read back unchanged. */
		for (const char *s = l->v[i].value; *s;) {
			size_t n = strcspn(s, "\\\"$`");
			if (sb_append(out, s, n) < 0)
				return -1;
			s += n;
			if (!*s)
				break;
			char esc[2] = { '\\', *s++ };
			if (sb_append(out, esc, 2) < 0)
				return -1;
		}
		if (sb_append(out, "\"\n", 2) < 0)
			return -1;
	}
	if (!out->s && sb_append(out, "", 0) < 0)
		return -1;
	return 0;
}

struct filep {
	const char *b;
	size_t len, pos;
	unsigned line;
	struct perr *e;
};

static bool at_blank(const struct filep *p)
{
	return p->pos < p->len &&
	       (p->b[p->pos] == ' ' || p->b[p->pos] == '\t' || p->b[p->pos] == '\r');
}

static int file_err(struct filep *p, unsigned line, const char *what)
{
	return perr_set(p->e, 0, "line %u: %s", line, what);
}

static int file_put(struct filep *p, struct strbuf *v, char c)
{
	if (c == '\n')
		p->line++;
	return sb_append(v, &c, 1) < 0 ? perr_set(p->e, ENOMEM, "env file") : 0;
}

static int file_squote(struct filep *p, struct strbuf *v)
{
	unsigned start = p->line;
	while (p->pos < p->len) {
		char c = p->b[p->pos++];
		if (c == '\'')
			return 0;
		if (file_put(p, v, c) < 0)
			return -1;
	}
	return file_err(p, start, "unterminated single quote");
}

/* POSIX double quotes: backslash escapes " \ $ ` and joins lines; before
 * any other character it stays a backslash. */
static int file_dquote(struct filep *p, struct strbuf *v)
{
	unsigned start = p->line;
	while (p->pos < p->len) {
		char c = p->b[p->pos++];
		if (c == '"')
			return 0;
		if (c == '\\' && p->pos < p->len) {
			char n = p->b[p->pos];
			if (n == '\n') {
				p->pos++;
				p->line++;
				continue;
			}
			if (n == '"' || n == '\\' || n == '$' || n == '`')
				c = p->b[p->pos++];
		}
		if (file_put(p, v, c) < 0)
			return -1;
	}
	return file_err(p, start, "unterminated double quote");
}

/* One shell word: unquoted text, 'single' and "double" quoted parts,
 * backslash escapes; it ends at unquoted blank space or end of line. */
static int file_word(struct filep *p, struct strbuf *v)
{
	while (p->pos < p->len && !at_blank(p) && p->b[p->pos] != '\n') {
		char c = p->b[p->pos++];
		int r = 0;
		if (c == '\'')
			r = file_squote(p, v);
		else if (c == '"')
			r = file_dquote(p, v);
		else if (c == '\\' && p->pos < p->len && p->b[p->pos] == '\n') {
			p->pos++;
			p->line++;
		} else if (c == '\\' && p->pos < p->len)
			r = file_put(p, v, p->b[p->pos++]);
		else
			r = file_put(p, v, c);
		if (r < 0)
			return -1;
	}
	if (!v->s && sb_append(v, "", 0) < 0)
		return perr_set(p->e, ENOMEM, "env file");
	return 0;
}

static void skip_blank(struct filep *p)
{
	while (at_blank(p))
		p->pos++;
}

static void skip_to_eol(struct filep *p)
{
	while (p->pos < p->len && p->b[p->pos] != '\n')
		p->pos++;
}

static bool take_export(struct filep *p)
{
	if (p->len - p->pos > 6 && memcmp(p->b + p->pos, "export", 6) == 0 &&
	    (p->b[p->pos + 6] == ' ' || p->b[p->pos + 6] == '\t')) {
		p->pos += 6;
		skip_blank(p);
		return true;
	}
	return false;
}

static int file_assignment(struct filep *p, struct envlist *tmp)
{
	unsigned line = p->line;
	take_export(p);
	size_t k0 = p->pos;
	while (p->pos < p->len && key_char(p->b[p->pos], p->pos == k0))
		p->pos++;
	if (p->pos == k0 || p->pos == p->len || p->b[p->pos] != '=')
		return file_err(p, line, "expected KEY=VALUE (KEY: letters, digits and _, "
					 "not starting with a digit)");
	_cleanup_free_ char *key = strndup(p->b + k0, p->pos - k0);
	if (!key)
		return perr_set(p->e, ENOMEM, "env file");
	p->pos++;
	struct strbuf v = { 0 };
	if (file_word(p, &v) < 0) {
		sb_free(&v);
		return -1;
	}
	skip_blank(p);
	if (p->pos < p->len && p->b[p->pos] == '#')
		skip_to_eol(p);
	if (p->pos < p->len && p->b[p->pos] != '\n') {
		sb_free(&v);
		return file_err(p, p->line, "unexpected text after the value "
					    "(quote a value that contains spaces)");
	}
	if (envlist_reserve(tmp, 1) < 0) {
		sb_free(&v);
		return perr_set(p->e, ENOMEM, "env file");
	}
	envlist_put(tmp, take_ptr(&key), v.s);
	return 0;
}

static int file_lines(struct filep *p, struct envlist *tmp)
{
	while (p->pos < p->len) {
		skip_blank(p);
		if (p->pos == p->len)
			break;
		char c = p->b[p->pos];
		if (c == '#')
			skip_to_eol(p);
		else if (c != '\n' && file_assignment(p, tmp) < 0)
			return -1;
		if (p->pos < p->len) { /* at the newline */
			p->pos++;
			p->line++;
		}
	}
	return 0;
}

int envfile_parse(const char *buf, size_t len, struct envlist *l, struct perr *e)
{
	struct filep p = { .b = buf, .len = len, .pos = 0, .line = 1, .e = e };
	struct perr scratch;
	if (!p.e)
		p.e = &scratch;
	const char *nul = memchr(buf, 0, len);
	if (nul) {
		unsigned line = 1;
		for (const char *s = buf; s < nul; s++)
			line += *s == '\n';
		return file_err(&p, line, "NUL byte");
	}
	_cleanup_envlist_ struct envlist tmp = { 0 };
	if (file_lines(&p, &tmp) < 0)
		return -1;
	if (envlist_merge(l, &tmp) < 0)
		return perr_set(e, ENOMEM, "env file");
	return 0;
}
