/* config: the box's inputs beyond mounts and devices: files copied in,
 * extra env files, the init user, systemd credentials and hooks. Pure
 * parsing: host files (a --file source, a --load-credential path) are
 * read by box/ at plan time, so that a missing one is still bad input. */
#include "config/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define QLEN 200
#define Q(buf, s) str_quote((buf), sizeof(buf), (s), strlen(s))

#define HOOK_TIMEOUT_MAX 3600

static int bad(struct perr *e, const char *v, const char *what)
{
	char q[QLEN];
	return perr_set(e, 0, "%s: %s", Q(q, v), what);
}

/* An absolute path, normalized; "/" refused. NULL with e set. */
static char *abs_path(const char *v, const char *entry, const char *what, struct perr *e)
{
	const char *why;
	char *n = spec_path_normalize(v, &why);
	char q[QLEN], q2[QLEN];
	if (!n && !why)
		return perr_set(e, ENOMEM, "config"), NULL;
	if (!n || strcmp(n, "/") == 0) {
		perr_set(e, 0, "%s: %s %s %s", Q(q, entry), what, Q(q2, v),
			 n ? "must name a file below \"/\"" : why);
		free(n);
		return NULL;
	}
	return n;
}

/* ---- --file SRC:DST[:mode=0644][:uid=N][:gid=N][:skip] ------------------- */

static int file_option(struct file_spec *f, const char *o, const char *entry, struct perr *e)
{
	unsigned long long x;
	char q[QLEN], q2[QLEN];
	if (strcmp(o, "skip") == 0) {
		f->skip = true;
	} else if (strncmp(o, "mode=", 5) == 0) {
		if (spec_parse_uint(o + 5, 8, 07777, &x) < 0)
			return perr_set(e, 0, "%s: %s: expected an octal mode from 0 to 07777",
					Q(q, entry), Q(q2, o));
		f->mode = (mode_t)x;
	} else if (strncmp(o, "uid=", 4) == 0 || strncmp(o, "gid=", 4) == 0) {
		if (spec_parse_uint(o + 4, 10, 4294967294ull, &x) < 0)
			return perr_set(e, 0, "%s: %s: expected a number from 0 to 4294967294",
					Q(q, entry), Q(q2, o));
		if (o[0] == 'u')
			f->uid = (uid_t)x;
		else
			f->gid = (gid_t)x;
	} else {
		return perr_set(e, 0, "%s: unknown option %s (expected mode=OCTAL, uid=N, gid=N "
				      "or skip)", Q(q, entry), Q(q2, o));
	}
	return 0;
}

static void file_spec_free(struct file_spec *f)
{
	free(f->src);
	free(f->dst);
}

static int file_parse(struct file_spec *f, const char *v, struct perr *e)
{
	_cleanup_free_ char *buf = strdup(v);
	if (!buf)
		return perr_set(e, ENOMEM, "config");
	char *save = NULL, *src = strtok_r(buf, ":", &save), *dst = strtok_r(NULL, ":", &save);
	if (!src || !dst || v[0] == ':' || strstr(v, "::"))
		return bad(e, v, "expected SRC:DST[:mode=0644][:uid=N][:gid=N][:skip]");
	*f = (struct file_spec){ .mode = 0644 };
	if (!(f->src = abs_path(src, v, "source", e)) || !(f->dst = abs_path(dst, v, "destination", e)))
		return -1;
	for (char *o; (o = strtok_r(NULL, ":", &save));)
		if (file_option(f, o, v, e) < 0)
			return -1;
	return 0;
}

int config_set_file(struct box_config *c, const char *v, struct perr *e)
{
	struct file_spec f = { 0 };
	if (file_parse(&f, v, e) < 0) {
		file_spec_free(&f);
		return -1;
	}
	struct file_spec *n = spec_grow(c->files, c->n_files, sizeof *n);
	if (!n) {
		file_spec_free(&f);
		return perr_set(e, ENOMEM, "config");
	}
	c->files = n;
	c->files[c->n_files++] = f;
	return 0;
}

/* ---- extra env files -------------------------------------------------------- */

static struct envfile_spec *envfile_get(struct box_config *c, const char *path, struct perr *e)
{
	for (size_t i = 0; i < c->n_envfiles; i++)
		if (strcmp(c->envfiles[i].path, path) == 0)
			return &c->envfiles[i];
	struct envfile_spec *n = spec_grow(c->envfiles, c->n_envfiles, sizeof *n);
	if (!n)
		return perr_set(e, ENOMEM, "config"), NULL;
	c->envfiles = n;
	if (!(n[c->n_envfiles].path = strdup(path)))
		return perr_set(e, ENOMEM, "config"), NULL;
	return &c->envfiles[c->n_envfiles++];
}

int config_set_env_file_entry(struct box_config *c, const char *v, struct perr *e)
{
	const char *colon = strchr(v, ':');
	if (!colon || colon == v)
		return bad(e, v, "expected PATH:K=V,K2=\"a,b\" (the file inside the box, a colon, "
				 "then the variables)");
	_cleanup_free_ char *raw = strndup(v, (size_t)(colon - v));
	if (!raw)
		return perr_set(e, ENOMEM, "config");
	_cleanup_free_ char *path = abs_path(raw, v, "path", e);
	if (!path)
		return -1;
	/* Parsed on its own first: on error nothing is added. */
	struct envlist l = { 0 };
	if (envlist_parse(&l, colon + 1, e) < 0)
		return -1;
	struct envfile_spec *f = envfile_get(c, path, e);
	for (size_t i = 0; f && i < l.n; i++)
		if (envlist_set(&f->env, l.v[i].key, l.v[i].value) < 0)
			f = NULL, perr_set(e, ENOMEM, "config");
	envlist_free(&l);
	return f ? 0 : -1;
}

int config_envfile_set(struct box_config *c, const char *path, const char *key, const char *value,
		       struct perr *e)
{
	char q[QLEN];
	_cleanup_free_ char *p = abs_path(path, path, "env file", e);
	if (!p)
		return -1;
	if (!env_key_valid(key))
		return perr_set(e, 0, "%s: expected a variable name ([A-Za-z_][A-Za-z0-9_]*)",
				Q(q, key));
	struct envfile_spec *f = envfile_get(c, p, e);
	if (!f)
		return -1;
	return envlist_set(&f->env, key, value) < 0 ? perr_set(e, ENOMEM, "config") : 0;
}

/* ---- --init-user USER[:GROUP] ------------------------------------------------ */

int config_set_init_user(struct box_config *c, const char *v, struct perr *e)
{
	free(c->init_user);
	c->init_user = NULL;
	if (!*v)
		return 0; /* a later layer can go back to root */
	const char *colon = strchr(v, ':');
	if (v[0] == ':' || (colon && (!colon[1] || strchr(colon + 1, ':'))) ||
	    strpbrk(v, " \t\n/,"))
		return bad(e, v, "expected USER[:GROUP], names or numbers of the box's "
				 "/etc/passwd and /etc/group");
	return (c->init_user = strdup(v)) ? 0 : perr_set(e, ENOMEM, "config");
}

/* ---- credentials ---------------------------------------------------------------- */

bool credential_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 255 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (; *id; id++)
		if (*id < ' ' || *id > '~' || *id == '/' || *id == ':')
			return false;
	return true;
}

static void credential_free(struct credential_spec *cr)
{
	if (cr->value)
		explicit_bzero(cr->value, cr->len);
	free(cr->value);
	free(cr->id);
	free(cr->path);
}

/* Split "ID:REST" and check ID. The value is never quoted in a message.
 * Every failure sets *id to NULL and returns -1 in so many words: the
 * analyzer cannot know that perr_set returns -1. */
static int credential_id(const struct box_config *c, const char *v, const char *form, char **id,
			 struct perr *e)
{
	char q[QLEN];
	const char *colon = strchr(v, ':');
	*id = NULL;
	if (!colon) {
		perr_set(e, 0, "expected %s (no ':' found)", form);
		return -1;
	}
	_cleanup_free_ char *s = strndup(v, (size_t)(colon - v));
	if (!s) {
		perr_set(e, ENOMEM, "config");
		return -1;
	}
	if (!credential_id_valid(s)) {
		perr_set(e, 0, "ID %s: expected 1 to 255 printable ASCII characters, "
			       "no '/' or ':', not \".\" or \"..\"", Q(q, s));
		return -1;
	}
	for (size_t i = 0; i < c->n_credentials; i++)
		if (strcmp(c->credentials[i].id, s) == 0) {
			perr_set(e, 0, "ID %s given twice", Q(q, s));
			return -1;
		}
	*id = s; /* not take_ptr: the analyzer would lose track of it */
	s = NULL;
	return 0;
}

static int credential_add(struct box_config *c, struct credential_spec *cr, struct perr *e)
{
	struct credential_spec *n = spec_grow(c->credentials, c->n_credentials, sizeof *n);
	if (!n) {
		credential_free(cr);
		return perr_set(e, ENOMEM, "config");
	}
	c->credentials = n;
	c->credentials[c->n_credentials++] = *cr;
	return 0;
}

int config_set_set_credential(struct box_config *c, const char *v, struct perr *e)
{
	struct credential_spec cr = { 0 };
	if (credential_id(c, v, "ID:VALUE", &cr.id, e) < 0 || !cr.id)
		return -1;
	const char *val = strchr(v, ':') + 1;
	cr.len = strlen(val);
	if (cr.len > CREDENTIAL_SIZE_MAX) {
		char q[QLEN];
		int r = perr_set(e, 0, "credential %s: the value has %zu bytes, at most %u",
				 Q(q, cr.id), cr.len, CREDENTIAL_SIZE_MAX);
		credential_free(&cr);
		return r;
	}
	if (!(cr.value = strdup(val))) {
		credential_free(&cr);
		return perr_set(e, ENOMEM, "config");
	}
	return credential_add(c, &cr, e);
}

int config_set_load_credential(struct box_config *c, const char *v, struct perr *e)
{
	struct credential_spec cr = { 0 };
	if (credential_id(c, v, "ID:PATH", &cr.id, e) < 0 || !cr.id)
		return -1;
	const char *path = strchr(v, ':') + 1;
	/* A relative PATH is a name in planet's own $CREDENTIALS_DIRECTORY. */
	if (path[0] != '/' && !credential_id_valid(path)) {
		char q[QLEN], q2[QLEN];
		int r = perr_set(e, 0, "credential %s: path %s: expected an absolute path, or the "
				       "name of a credential of planet's own $CREDENTIALS_DIRECTORY",
				 Q(q, cr.id), Q(q2, path));
		credential_free(&cr);
		return r;
	}
	if (!(cr.path = strdup(path))) {
		credential_free(&cr);
		return perr_set(e, ENOMEM, "config");
	}
	return credential_add(c, &cr, e);
}

/* ---- hooks ----------------------------------------------------------------------- */

static const char *const hook_names[] = { "prestart", "poststart", "poststop" };

const char *hook_kind_name(enum hook_kind k)
{
	return hook_names[k];
}

int config_set_hook(struct box_config *c, const char *v, struct perr *e)
{
	const char *colon = strchr(v, ':');
	struct hook_spec h = { 0 };
	size_t klen = colon ? (size_t)(colon - v) : 0;
	bool known = false;
	for (size_t i = 0; i < sizeof hook_names / sizeof hook_names[0] && !known; i++)
		if (colon && strlen(hook_names[i]) == klen && strncmp(v, hook_names[i], klen) == 0) {
			h.kind = (enum hook_kind)i;
			known = true;
		}
	if (!known)
		return bad(e, v, "expected prestart:CMD, poststart:CMD or poststop:CMD");
	if (argv_split(colon + 1, &h.argv, e) < 0)
		return -1;
	if (!h.argv[0] || h.argv[0][0] != '/') {
		argv_free(h.argv);
		return bad(e, v, "the hook's command must be an absolute path on the host");
	}
	struct hook_spec *n = spec_grow(c->hooks, c->n_hooks, sizeof *n);
	if (!n) {
		argv_free(h.argv);
		return perr_set(e, ENOMEM, "config");
	}
	c->hooks = n;
	c->hooks[c->n_hooks++] = h;
	return 0;
}

int config_set_hook_timeout(struct box_config *c, const char *v, struct perr *e)
{
	unsigned s;
	if (duration_parse(v, &s) < 0 || s < 1 || s > HOOK_TIMEOUT_MAX)
		return bad(e, v, "expected a duration from 1s to 1h: 30, 30s, 2m");
	c->hook_timeout_sec = s;
	return 0;
}

/* ---- validation and freeing ----------------------------------------------------- */

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strcmp(dir, "/") == 0 ||
	       (strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0));
}

/* What is written into the rootfs must not land on the kernel's file
 * systems, twice on one path, or under a volume (which would hide it, or
 * write through it onto the host). */
static int check_target(const struct box_config *c, const char *what, const char *path,
			size_t self, struct perr *e)
{
	char q[QLEN], q2[QLEN];
	static const char *const kernel[] = { "/proc", "/sys", "/dev" };
	for (size_t i = 0; i < 3; i++)
		if (under(path, kernel[i]))
			return perr_set(e, 0, "%s %s: under %s, which the box mounts over", what,
					Q(q, path), kernel[i]);
	if (strcmp(path, c->env_file) == 0)
		return perr_set(e, 0, "%s %s: that is the box's env file (env_file); use --env for it",
				what, Q(q, path));
	for (size_t i = 0; i < c->n_volumes; i++)
		if (under(path, c->volumes[i].dst))
			return perr_set(e, 0, "%s %s: under the volume at %s, which would hide it", what,
					Q(q, path), Q(q2, c->volumes[i].dst));
	for (size_t i = 0; i < c->n_files; i++)
		if (i != self && strcmp(path, c->files[i].dst) == 0)
			return perr_set(e, 0, "%s %s: a --file writes there too", what, Q(q, path));
	return 0;
}

int config_inputs_validate(const struct box_config *c, struct perr *e)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (check_target(c, "file", c->files[i].dst, i, e) < 0)
			return -1;
	for (size_t i = 0; i < c->n_envfiles; i++)
		if (check_target(c, "env file", c->envfiles[i].path, (size_t)-1, e) < 0)
			return -1;
	return 0;
}

void config_inputs_free(struct box_config *c)
{
	for (size_t i = 0; i < c->n_files; i++)
		file_spec_free(&c->files[i]);
	free(c->files);
	for (size_t i = 0; i < c->n_envfiles; i++) {
		free(c->envfiles[i].path);
		envlist_free(&c->envfiles[i].env);
	}
	free(c->envfiles);
	free(c->init_user);
	for (size_t i = 0; i < c->n_credentials; i++)
		credential_free(&c->credentials[i]);
	free(c->credentials);
	for (size_t i = 0; i < c->n_hooks; i++)
		argv_free(c->hooks[i].argv);
	free(c->hooks);
}
