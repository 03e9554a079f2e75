/* config: where a running box is found, for the client commands. They go
 * through the same layers as `planet start` (the INI file, PLANET_*, the
 * flags, config_key_apply for each value), limited to the two keys that
 * place the socket, so that a client finds the socket start created. */
#include "config/internal.h"

#include <errno.h>
#include <stdlib.h>

/* One layer's value for key, when given. */
static int apply(struct box_config *c, const char *key, const char *value, const char *origin,
		 struct perr *e)
{
	if (!value)
		return 0;
	return config_set(c, key, value, origin, e);
}

static int env_value(struct box_config *c, char *const *envp, const char *key,
		     const char *var, struct perr *e)
{
	const char *v = config_env_lookup(envp, var);
	/* unset and empty look the same to systemd units, as in sources.c */
	return apply(c, key, v && *v ? v : NULL, var, e);
}

int config_locate(const char *config, const char *state_dir, const char *socket,
		  char *const *envp, char **socket_out, char **state_dir_out, struct perr *e)
{
	struct box_config c;
	config_init(&c);
	if (!config)
		config = config_file_name(envp);
	int r = -1;
	if ((config && config_load_file(&c, config, e) < 0) ||
	    env_value(&c, envp, "state_dir", "PLANET_STATE_DIR", e) < 0 ||
	    env_value(&c, envp, "socket", "PLANET_SOCKET", e) < 0 ||
	    apply(&c, "state_dir", state_dir, "--state-dir", e) < 0 ||
	    apply(&c, "socket", socket, "--socket", e) < 0 || config_fill_location(&c, e) < 0 ||
	    config_check_location(&c, e) < 0)
		goto out;
	*socket_out = take_ptr(&c.socket_path);
	*state_dir_out = take_ptr(&c.state_dir);
	r = 0;
out:
	config_free(&c);
	return r;
}
