/* config: what only the module's own files share. */
#ifndef PLANET_CONFIG_INTERNAL_H
#define PLANET_CONFIG_INTERNAL_H

#include "config/config.h"


/* spec.c: normalise an absolute path (NULL with *why set when it is not
 * acceptable). Values in messages are quoted with base's str_quote. */
char *spec_path_normalize(const char *in, const char **why);
/* spec.c: digits of `base` only, at most max. 0 or -1. */
int spec_parse_uint(const char *s, int base, unsigned long long max, unsigned long long *out);
/* spec.c: grow an array by one zeroed slot; the caller bumps its count only
 * once the element is complete. NULL on ENOMEM (arr unchanged). */
void *spec_grow(void *arr, size_t n, size_t size);

/* inputs.c: the box's inputs beyond mounts and devices (files, env files,
 * init user, credentials, hooks): setters of the key table, the
 * [envfile PATH] sections of the INI file, and freeing. */
int config_set_file(struct box_config *c, const char *v, struct perr *e);
int config_set_env_file_entry(struct box_config *c, const char *v, struct perr *e);
int config_set_init_user(struct box_config *c, const char *v, struct perr *e);
int config_set_set_credential(struct box_config *c, const char *v, struct perr *e);
int config_set_load_credential(struct box_config *c, const char *v, struct perr *e);
int config_set_hook(struct box_config *c, const char *v, struct perr *e);
int config_set_hook_timeout(struct box_config *c, const char *v, struct perr *e);
/* One "KEY = VALUE" of an [envfile PATH] section: VALUE is taken as it is. */
int config_envfile_set(struct box_config *c, const char *path, const char *key, const char *value,
		       struct perr *e);
void config_inputs_free(struct box_config *c);
int config_inputs_validate(const struct box_config *c, struct perr *e);

/* config.c: the key table, one entry per setting, in --help order. */
enum config_key_kind { CK_SCALAR, CK_LIST, CK_BOOL };
struct config_key {
	const char *name; /* config_set's name */
	const char *section, *ini, *env, *flag;
	enum config_key_kind kind;
	int (*set)(struct box_config *c, const char *v, struct perr *e);
	const char *arg, *help; /* for --help */
};
extern const struct config_key config_keys[];
extern const size_t config_nkeys;
/* config_set for a key already looked up: an empty list value adds
 * nothing; an error is prefixed with origin. */
int config_key_apply(struct box_config *c, const struct config_key *k, const char *value,
		     const char *origin, struct perr *e);
/* config.c: default state_dir and socket (<state_dir>/enter.sock), and
 * their checks (absolute; the socket path fits sun_path). */
int config_fill_location(struct box_config *c, struct perr *e);
int config_check_location(const struct box_config *c, struct perr *e);
/* flags.c: NAME's value in envp, or NULL; the INI file PLANET_CONFIG names
 * (NULL when unset or empty). */
const char *config_env_lookup(char *const *envp, const char *name);
const char *config_file_name(char *const *envp);

/* config.c: the one-line error for a bad value: "VALUE": what. -1. */
int config_bad(struct perr *e, const char *v, const char *what);
/* resources.c: the [resources] setters. */
int set_memory_max(struct box_config *c, const char *v, struct perr *e);
int set_memory_high(struct box_config *c, const char *v, struct perr *e);
int set_memory_swap_max(struct box_config *c, const char *v, struct perr *e);
int set_cpus(struct box_config *c, const char *v, struct perr *e);
int set_cpu_weight(struct box_config *c, const char *v, struct perr *e);
int set_cpuset_cpus(struct box_config *c, const char *v, struct perr *e);
int set_cpuset_mems(struct box_config *c, const char *v, struct perr *e);
int set_pids_max(struct box_config *c, const char *v, struct perr *e);
int set_io_weight(struct box_config *c, const char *v, struct perr *e);

#endif
