/* The spec parsers: pure functions from operator-typed strings to structs.
 * No I/O; every error names the offending entry and what was expected. */
#include "config/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- helpers shared with the module's other files ---------------------- */


#define QLEN 200
#define Q(buf, s) str_quote((buf), sizeof(buf), (s), strlen(s))
#define QN(buf, s, n) str_quote((buf), sizeof(buf), (s), (n))

/* Normalize an absolute path: collapse "//", drop "." components and a
 * trailing slash. ".." is refused rather than resolved: resolving it
 * lexically could point somewhere the operator did not mean. Returns NULL
 * with *why set, or NULL with errno ENOMEM and *why NULL. */
char *spec_path_normalize(const char *in, const char **why)
{
	*why = NULL;
	if (in[0] != '/') {
		*why = "must be an absolute path";
		return NULL;
	}
	size_t len = strlen(in);
	if (len >= PATH_MAX) {
		*why = "is too long";
		return NULL;
	}
	char *out = malloc(len + 2);
	if (!out)
		return NULL;
	size_t o = 0;
	for (const char *s = in; *s;) {
		while (*s == '/')
			s++;
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.')) {
			s += n;
			continue;
		}
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			free(out);
			*why = "must not contain \"..\"";
			return NULL;
		}
		out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
		s += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return out;
}

/* Trim blanks around a list entry p[0..*len): "a, b" reads as "a","b". */
static const char *trim_entry(const char *p, size_t *len)
{
	while (*len && (*p == ' ' || *p == '\t')) {
		p++;
		(*len)--;
	}
	while (*len && (p[*len - 1] == ' ' || p[*len - 1] == '\t'))
		(*len)--;
	return p;
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

int spec_parse_uint(const char *s, int base, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		int d = *s - '0';
		if (d < 0 || d >= base)
			return -1;
		v = v * (unsigned)base + (unsigned)d;
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* Grow a caller's array by one zeroed slot without publishing it: the caller
 * bumps *n only once the element is complete. */
void *spec_grow(void *arr, size_t n, size_t size)
{
	void *na = realloc(arr, (n + 1) * size);
	if (na)
		memset((char *)na + n * size, 0, size);
	return na;
}

/* ---- volumes ----------------------------------------------------------- */

void volume_spec_free(struct volume_spec *v)
{
	free(v->src);
	free(v->dst);
	v->src = v->dst = NULL;
}

static int volume_options(struct volume_spec *v, char *opts, const char *entry, size_t elen,
			  struct perr *e)
{
	char q[QLEN], q2[QLEN];
	bool seen_ro = false, seen_rw = false;
	for (char *save = NULL, *o = opts ? strtok_r(opts, ":", &save) : NULL; o;
	     o = strtok_r(NULL, ":", &save)) {
		bool *seen = NULL;
		if (strcmp(o, "ro") == 0)
			seen = &seen_ro;
		else if (strcmp(o, "rw") == 0)
			seen = &seen_rw;
		else if (strcmp(o, "skip") == 0)
			seen = &v->skip;
		else if (strcmp(o, "rec") == 0)
			seen = &v->rec;
		else
			return perr_set(e, 0, "%s: unknown option %s (expected ro, rw, skip or rec)",
					QN(q, entry, elen), Q(q2, o));
		if (*seen)
			return perr_set(e, 0, "%s: option %s given twice", QN(q, entry, elen),
					Q(q2, o));
		*seen = true;
	}
	if (seen_ro && seen_rw)
		return perr_set(e, 0, "%s: ro and rw exclude each other", QN(q, entry, elen));
	v->ro = seen_ro;
	return 0;
}

/* Split "src:dst:opt:opt" in place; empty fields are errors. */
static int volume_fields(char *buf, const char *entry, size_t elen, char **src, char **dst,
			 char **opts, struct perr *e)
{
	char q[QLEN];
	size_t len = strlen(buf);
	if (buf[0] == ':' || buf[len - 1] == ':' || strstr(buf, "::"))
		return perr_set(e, 0, "%s: empty field (expected src:dst[:ro|rw][:skip][:rec])",
				QN(q, entry, elen));
	*src = buf;
	*dst = NULL;
	*opts = NULL;
	char *c = strchr(buf, ':');
	if (!c)
		return 0;
	*c = 0;
	*dst = c + 1;
	c = strchr(*dst, ':');
	if (c) {
		*c = 0;
		*opts = c + 1;
	}
	return 0;
}

static int volume_paths(struct volume_spec *v, const char *src, const char *dst,
			const char *entry, size_t elen, struct perr *e)
{
	char q[QLEN], q2[QLEN];
	const char *why;
	v->src = spec_path_normalize(src, &why);
	if (!v->src)
		return why ? perr_set(e, 0, "%s: source %s %s", QN(q, entry, elen), Q(q2, src), why)
			   : perr_set(e, ENOMEM, "volume");
	if (!dst) {
		v->dst = strdup(v->src);
		return v->dst ? 0 : perr_set(e, ENOMEM, "volume");
	}
	v->dst = spec_path_normalize(dst, &why);
	if (!v->dst)
		return why ? perr_set(e, 0, "%s: destination %s %s", QN(q, entry, elen),
				      Q(q2, dst), why)
			   : perr_set(e, ENOMEM, "volume");
	if (strcmp(v->dst, "/") == 0)
		return perr_set(e, 0, "%s: destination must not be the box's root \"/\"",
				QN(q, entry, elen));
	if (is_glob(v->dst) && strcmp(v->dst, v->src) != 0)
		return perr_set(e, 0, "%s: destination %s must not contain * ? or [",
				QN(q, entry, elen), Q(q2, dst));
	return 0;
}

static int volume_one(const char *entry, size_t elen, struct volume_spec *v, struct perr *e)
{
	_cleanup_free_ char *buf = strndup(entry, elen);
	if (!buf)
		return perr_set(e, ENOMEM, "volume");
	char *src = NULL, *dst = NULL, *opts = NULL;
	if (volume_fields(buf, entry, elen, &src, &dst, &opts, e) < 0 ||
	    volume_paths(v, src, dst, entry, elen, e) < 0 ||
	    volume_options(v, opts, entry, elen, e) < 0) {
		volume_spec_free(v);
		return -1;
	}
	return 0;
}

int volume_specs_parse(const char *s, struct volume_spec **v, size_t *n, struct perr *e)
{
	char q[QLEN];
	struct volume_spec *tmp = NULL;
	size_t nt = 0;
	int r = -1;
	for (const char *p = s;; p++) {
		size_t span = strcspn(p, ","), elen = span;
		const char *entry = trim_entry(p, &elen);
		if (elen == 0) {
			perr_set(e, 0, "%s: empty volume entry (a leading, trailing or doubled comma)",
				 Q(q, s));
			goto out;
		}
		struct volume_spec *nt_arr = spec_grow(tmp, nt, sizeof *tmp);
		if (!nt_arr) {
			perr_set(e, ENOMEM, "volume");
			goto out;
		}
		tmp = nt_arr;
		if (volume_one(entry, elen, &tmp[nt], e) < 0)
			goto out;
		nt++;
		p += span;
		if (!*p)
			break;
	}
	struct volume_spec *na = realloc(*v, (*n + nt) * sizeof **v);
	if (!na) {
		perr_set(e, ENOMEM, "volume");
		goto out;
	}
	memcpy(na + *n, tmp, nt * sizeof *tmp);
	*v = na;
	*n += nt;
	nt = 0;
	r = 0;
out:
	for (size_t i = 0; i < nt; i++)
		volume_spec_free(&tmp[i]);
	free(tmp);
	return r;
}

/* ---- devices ----------------------------------------------------------- */

void device_spec_free(struct device_spec *d)
{
	free(d->glob);
	d->glob = NULL;
}

static int device_perms(struct device_spec *d, const char *val)
{
	bool r = false, w = false, m = false;
	if (!*val)
		return -1;
	for (const char *c = val; *c; c++) {
		bool *f = *c == 'r' ? &r : *c == 'w' ? &w : *c == 'm' ? &m : NULL;
		if (!f || *f)
			return -1;
		*f = true;
	}
	snprintf(d->perms, sizeof d->perms, "%s%s%s", r ? "r" : "", w ? "w" : "", m ? "m" : "");
	return 0;
}

static int device_path(struct device_spec *d, const char *val, const char **why)
{
	d->glob = spec_path_normalize(val, why);
	if (!d->glob)
		return -1;
	if (strncmp(d->glob, "/dev/", 5) != 0) {
		*why = "must be a path under /dev/";
		free(d->glob);
		d->glob = NULL;
		return -1;
	}
	return 0;
}

enum { DK_PATH, DK_PERMS, DK_MODE, DK_UID, DK_GID, DK_OPTIONAL, DK_N };
static const char *const device_keys[DK_N] = { "path", "permissions", "fileMode",
					       "uid",  "gid",	      "optional" };

/* Apply one key=value of a device spec. Returns -1 with *why naming what was
 * expected (or errno ENOMEM and *why NULL). */
static int device_kv(struct device_spec *d, int k, const char *val, const char **why)
{
	unsigned long long x;
	bool b;
	switch (k) {
	case DK_PATH:
		return device_path(d, val, why);
	case DK_PERMS:
		*why = "expected a non-empty subset of \"rwm\", each letter once";
		return device_perms(d, val);
	case DK_MODE:
		*why = "expected an octal mode from 0 to 07777";
		if (spec_parse_uint(val, 8, 07777, &x) < 0)
			return -1;
		d->mode = (mode_t)x;
		d->has_mode = true;
		return 0;
	case DK_UID:
	case DK_GID:
		*why = "expected a decimal id from 0 to 4294967294";
		if (spec_parse_uint(val, 10, 4294967294ull, &x) < 0)
			return -1;
		if (k == DK_UID)
			d->uid = (uid_t)x;
		else
			d->gid = (gid_t)x;
		return 0;
	default:
		*why = "expected true or false";
		if (bool_parse(val, &b) < 0)
			return -1;
		d->optional = b;
		return 0;
	}
}

static int device_item(struct device_spec *d, char *item, bool seen[DK_N], const char *s,
		       struct perr *e)
{
	char q[QLEN], q2[QLEN], q3[QLEN];
	char *eq = strchr(item, '=');
	if (!eq)
		return perr_set(e, 0, "%s: %s is not key=value", Q(q, s), Q(q2, item));
	*eq = 0;
	const char *val = eq + 1;
	int k = 0;
	while (k < DK_N && strcmp(item, device_keys[k]) != 0)
		k++;
	if (k == DK_N)
		return perr_set(e, 0,
				"%s: unknown key %s (expected path, permissions, fileMode, uid, "
				"gid or optional)",
				Q(q, s), Q(q2, item));
	if (seen[k])
		return perr_set(e, 0, "%s: %s given twice", Q(q, s), item);
	seen[k] = true;
	const char *why = NULL;
	if (device_kv(d, k, val, &why) < 0)
		return why ? perr_set(e, 0, "%s: %s %s: %s", Q(q, s), item, Q(q3, val), why)
			   : perr_set(e, ENOMEM, "device");
	return 0;
}

/* A bare path ("/dev/kvm") is path=/dev/kvm with every default. */
static int device_bare(const char *s, struct device_spec *d, struct perr *e)
{
	char q[QLEN];
	const char *why = NULL;
	if (device_path(d, s, &why) < 0)
		return why ? perr_set(e, 0, "%s: %s", Q(q, s), why) : perr_set(e, ENOMEM, "device");
	return 0;
}

static int device_one(const char *s, struct device_spec *d, struct perr *e)
{
	char q[QLEN];
	snprintf(d->perms, sizeof d->perms, "rwm");
	d->mode = 0666;
	if (s[0] == '/' && !strchr(s, '='))
		return device_bare(s, d, e);
	_cleanup_free_ char *buf = strdup(s);
	if (!buf)
		return perr_set(e, ENOMEM, "device");
	bool seen[DK_N] = { false };
	for (char *p = buf;;) {
		size_t n = strcspn(p, ";");
		if (n == 0)
			return perr_set(e, 0, "%s: empty item (a leading, trailing or doubled ';')",
					Q(q, s));
		bool last = p[n] == 0;
		p[n] = 0;
		if (device_item(d, p, seen, s, e) < 0)
			return -1;
		if (last)
			break;
		p += n + 1;
	}
	if (!seen[DK_PATH])
		return perr_set(e, 0, "%s: path=/dev/... is required", Q(q, s));
	return 0;
}

int device_spec_parse(const char *s, struct device_spec **v, size_t *n, struct perr *e)
{
	struct device_spec d = { 0 };
	if (device_one(s, &d, e) < 0) {
		device_spec_free(&d);
		return -1;
	}
	struct device_spec *na = realloc(*v, (*n + 1) * sizeof **v);
	if (!na) {
		device_spec_free(&d);
		return perr_set(e, ENOMEM, "device");
	}
	na[*n] = d;
	*v = na;
	(*n)++;
	return 0;
}

/* ---- names and addresses ------------------------------------------------ */

/* RFC 1123: dot-separated labels of 1-63 letters, digits and '-', a label
 * neither starting nor ending with '-'. */
static bool domain_valid(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (len == 0 || len > max)
		return false;
	for (const char *p = s;;) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
		if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
			return false;
		p += n;
		if (!*p)
			return true;
		if (*p != '.')
			return false;
		p++;
	}
}

bool hostname_valid(const char *s)
{
	return domain_valid(s, 64);
}

static bool ip_valid(const char *s)
{
	unsigned char a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Split "name/ip" entries of a comma list into two arrays of strings. */
struct pair {
	char *a, *b;
};

static int pairs_parse(const char *s, const char *what, const char *aname, bool is_zone,
		       struct pair **out, size_t *nout, struct perr *e)
{
	char q[QLEN], q2[QLEN];
	struct pair *tmp = NULL;
	size_t nt = 0;
	for (const char *next = s;; next++) {
		size_t span = strcspn(next, ","), elen = span;
		const char *p = trim_entry(next, &elen);
		const char *slash = memchr(p, '/', elen);
		const char *why = NULL;
		if (elen == 0)
			why = "empty entry (a leading, trailing or doubled comma)";
		else if (!slash || memchr(slash + 1, '/', elen - (size_t)(slash - p) - 1))
			why = is_zone ? "expected zone/nameserver" : "expected host/ip";
		if (why) {
			perr_set(e, 0, "%s: %s", elen ? QN(q, p, elen) : Q(q, s), why);
			goto fail;
		}
		struct pair *na = realloc(tmp, (nt + 1) * sizeof *tmp);
		if (!na)
			goto oom;
		tmp = na;
		tmp[nt].a = strndup(p, (size_t)(slash - p));
		tmp[nt].b = strndup(slash + 1, elen - (size_t)(slash - p) - 1);
		nt++;
		if (!tmp[nt - 1].a || !tmp[nt - 1].b)
			goto oom;
		if (!domain_valid(tmp[nt - 1].a, 253)) {
			perr_set(e, 0, "%s: %s %s is not a valid %s (letters, digits, '-' and dots)",
				 QN(q, p, elen), aname, Q(q2, tmp[nt - 1].a), what);
			goto fail;
		}
		if (!ip_valid(tmp[nt - 1].b)) {
			perr_set(e, 0, "%s: %s is not an IPv4 or IPv6 address", QN(q, p, elen),
				 Q(q2, tmp[nt - 1].b));
			goto fail;
		}
		next += span;
		if (!*next)
			break;
	}
	*out = tmp;
	*nout = nt;
	return 0;
oom:
	perr_set(e, ENOMEM, "%s list", what);
fail:
	for (size_t i = 0; i < nt; i++) {
		free(tmp[i].a);
		free(tmp[i].b);
	}
	free(tmp);
	return -1;
}

int dns_hosts_parse(const char *s, struct dns_host **v, size_t *n, struct perr *e)
{
	struct pair *p;
	size_t np;
	if (pairs_parse(s, "hostname", "host", false, &p, &np, e) < 0)
		return -1;
	struct dns_host *na = realloc(*v, (*n + np) * sizeof **v);
	if (!na) {
		for (size_t i = 0; i < np; i++) {
			free(p[i].a);
			free(p[i].b);
		}
		free(p);
		return perr_set(e, ENOMEM, "dns hosts");
	}
	for (size_t i = 0; i < np; i++)
		na[*n + i] = (struct dns_host){ .host = p[i].a, .ip = p[i].b };
	free(p);
	*v = na;
	*n += np;
	return 0;
}

int dns_zones_parse(const char *s, struct dns_zone **v, size_t *n, struct perr *e)
{
	struct pair *p;
	size_t np;
	if (pairs_parse(s, "domain", "zone", true, &p, &np, e) < 0)
		return -1;
	struct dns_zone *na = realloc(*v, (*n + np) * sizeof **v);
	if (!na) {
		for (size_t i = 0; i < np; i++) {
			free(p[i].a);
			free(p[i].b);
		}
		free(p);
		return perr_set(e, ENOMEM, "dns zones");
	}
	for (size_t i = 0; i < np; i++)
		na[*n + i] = (struct dns_zone){ .zone = p[i].a, .ns = p[i].b };
	free(p);
	*v = na;
	*n += np;
	return 0;
}

/* ---- --init command lines ------------------------------------------------ */

void argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

static int argv_push(char ***argv, size_t *n, struct strbuf *w)
{
	char **na = realloc(*argv, (*n + 2) * sizeof *na);
	if (!na)
		return -1;
	*argv = na;
	if (!w->s && sb_append(w, "", 0) < 0)
		return -1;
	na[(*n)++] = take_ptr(&w->s);
	na[*n] = NULL;
	w->len = w->cap = 0;
	return 0;
}

/* One character of a double-quoted string, POSIX style: backslash escapes
 * " \ $ ` and newline, and is literal before anything else. */
static const char *dquote_char(const char *p, char *out, bool *skip)
{
	*skip = false;
	if (p[0] == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
		*skip = p[1] == '\n';
		*out = p[1];
		return p + 2;
	}
	*out = p[0];
	return p + 1;
}

/* Read one word starting at *pp (not at a blank). Returns 0, or -1 with
 * *why set (or errno ENOMEM with *why NULL). */
static int argv_word(const char **pp, struct strbuf *w, const char **why)
{
	const char *p = *pp;
	while (*p && !strchr(" \t\n", *p)) {
		char c;
		bool skip = false;
		if (*p == '\'') {
			const char *close = strchr(p + 1, '\'');
			if (!close)
				return (*why = "unterminated single quote"), -1;
			if (sb_append(w, p + 1, (size_t)(close - p - 1)) < 0)
				return -1;
			p = close + 1;
			continue;
		}
		if (*p == '"') {
			for (p++; *p && *p != '"';) {
				p = dquote_char(p, &c, &skip);
				if (!skip && sb_append(w, &c, 1) < 0)
					return -1;
			}
			if (!*p)
				return (*why = "unterminated double quote"), -1;
			p++;
			continue;
		}
		if (*p == '\\') {
			if (!p[1])
				return (*why = "trailing backslash"), -1;
			c = p[1];
			p += 2;
			if (c == '\n')
				continue;
		} else {
			c = *p++;
		}
		if (sb_append(w, &c, 1) < 0)
			return -1;
	}
	*pp = p;
	return 0;
}

int argv_split(const char *s, char ***argv, struct perr *e)
{
	char q[QLEN];
	char **out = NULL;
	size_t n = 0;
	struct strbuf w = { 0 };
	const char *p = s, *why = NULL;
	for (;;) {
		p += strspn(p, " \t\n");
		if (!*p)
			break;
		if (argv_word(&p, &w, &why) < 0 || argv_push(&out, &n, &w) < 0)
			goto fail;
	}
	if (!n) {
		why = "empty command";
		goto fail;
	}
	*argv = out;
	return 0;
fail:
	sb_free(&w);
	argv_free(out);
	return why ? perr_set(e, 0, "%s: %s", Q(q, s), why) : perr_set(e, ENOMEM, "command");
}

/* ---- small scalars --------------------------------------------------------- */

int duration_parse(const char *s, unsigned *sec)
{
	size_t nd = strspn(s, "0123456789");
	const char *unit = s + nd;
	unsigned long long v, mult = 1, ms = 0;
	if (nd == 0 || nd > 12)
		return -1;
	char digits[16];
	memcpy(digits, s, nd);
	digits[nd] = 0;
	if (spec_parse_uint(digits, 10, 999999999999ull, &v) < 0)
		return -1;
	if (strcmp(unit, "ms") == 0)
		ms = 1;
	else if (strcmp(unit, "m") == 0)
		mult = 60;
	else if (strcmp(unit, "h") == 0)
		mult = 3600;
	else if (*unit && strcmp(unit, "s") != 0)
		return -1;
	unsigned long long total = ms ? (v + 999) / 1000 : v * mult;
	if (total > 86400)
		return -1;
	*sec = (unsigned)total;
	return 0;
}

int bool_parse(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return (*out = true), 0;
		if (strcasecmp(s, no[i]) == 0)
			return (*out = false), 0;
	}
	return -1;
}
