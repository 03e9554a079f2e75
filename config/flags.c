/* config: `planet start` flags (getopt_long over the key table),
 * config_load_all (which applies the layers in their order), and --help. */
#include "config/internal.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QLEN 200
#define Q(buf, s) str_quote((buf), sizeof(buf), (s), strlen(s))

/* ---- flags ------------------------------------------------------------------ */

enum { OPT_HELP = 'h', OPT_CONFIG = 1000, OPT_KEY = 1001 };

struct flag_val {
	const struct config_key *k;
	const char *v;
};

static void build_options(struct option *o)
{
	size_t i = 0;
	for (; i < config_nkeys; i++)
		o[i] = (struct option){ config_keys[i].flag,
					config_keys[i].kind == CK_BOOL ? optional_argument
								 : required_argument,
					NULL, OPT_KEY + (int)i };
	o[i++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
	o[i++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	o[i] = (struct option){ 0 };
}

/* getopt_long accepts any unambiguous prefix (--vol); we do not, so that a
 * flag added later cannot change what an existing script means. */
static bool spelled_out(const char *arg, const char *name)
{
	if (strncmp(arg, "--", 2) != 0)
		return true; /* -h */
	size_t n = strcspn(arg + 2, "=");
	return n == strlen(name) && strncmp(arg + 2, name, n) == 0;
}

/* After getopt_long reported r ('?' or ':'), name the culprit. */
static int flag_error(int r, char **argv, struct perr *e)
{
	char q[QLEN];
	if (r == '?' && optopt > 0 && optopt < 128 && optopt != 'h')
		return perr_set(e, 0, "unknown option \"-%c\" (see planet start --help)", optopt);
	const char *arg = argv[optind - 1];
	size_t n = strcspn(arg, "=");
	char name[QLEN];
	snprintf(name, sizeof name, "%.*s", (int)(n < 100 ? n : 100), arg);
	if (r == ':')
		return perr_set(e, 0, "option %s needs a value", Q(q, name));
	if (optopt == 'h')
		return perr_set(e, 0, "option --help takes no value");
	return perr_set(e, 0, "unknown option %s (see planet start --help)", Q(q, name));
}

/* One pass over argv: collect the flags (applied after the file and the
 * environment), remember --config, stop at --help. Returns 1 for help. */
static int parse_flags(int argc, char **argv, struct flag_val *fv, size_t *nfv,
		       const char **config, struct perr *e)
{
	_cleanup_free_ struct option *opts = calloc(config_nkeys + 3, sizeof *opts);
	if (!opts)
		return perr_set(e, ENOMEM, "config");
	build_options(opts);
	optind = 0; /* full re-initialisation: we may not be the first caller */
	opterr = 0;
	for (;;) {
		int cur = optind ? optind : 1, idx = -1;
		int r = getopt_long(argc, argv, "+:h", opts, &idx);
		if (r == -1)
			break;
		if (r == '?' || r == ':')
			return flag_error(r, argv, e);
		if (idx >= 0 && !spelled_out(argv[cur], opts[idx].name)) {
			char q[QLEN];
			return perr_set(e, 0, "unknown option %s (write it in full: --%s)",
					Q(q, argv[cur]), opts[idx].name);
		}
		if (r == OPT_HELP)
			return 1;
		if (r == OPT_CONFIG) {
			*config = optarg;
			continue;
		}
		const struct config_key *k = &config_keys[r - OPT_KEY];
		fv[(*nfv)++] = (struct flag_val){ k, optarg ? optarg : "true" };
	}
	if (optind < argc) {
		char q[QLEN];
		return perr_set(e, 0, "unexpected argument %s (planet start takes only options)",
				Q(q, argv[optind]));
	}
	return 0;
}

const char *config_env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

const char *config_file_name(char *const *envp)
{
	const char *config = config_env_lookup(envp, "PLANET_CONFIG");
	return config && *config ? config : NULL;
}

int config_load_all(struct box_config *c, int argc, char **argv, char *const *envp,
		    struct perr *e)
{
	_cleanup_free_ struct flag_val *fv = calloc((size_t)argc + 1, sizeof *fv);
	if (!fv)
		return perr_set(e, ENOMEM, "config");
	size_t nfv = 0;
	const char *config = NULL;
	int r = parse_flags(argc, argv, fv, &nfv, &config, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		config_usage(stdout);
		return 1;
	}
	if (!config)
		config = config_file_name(envp);
	if (config && config_load_file(c, config, e) < 0)
		return -1;
	if (config_load_env(c, envp, e) < 0)
		return -1;
	for (size_t i = 0; i < nfv; i++) {
		char origin[64];
		snprintf(origin, sizeof origin, "--%s", fv[i].k->flag);
		if (config_key_apply(c, fv[i].k, fv[i].v, origin, e) < 0)
			return -1;
	}
	return config_validate(c, e);
}

/* ---- --help ------------------------------------------------------------------- */

void config_usage(FILE *out)
{
	fputs("usage: planet start [OPTIONS]\n"
	      "Boot the box whose root filesystem is --rootfs, with init as PID 1, and\n"
	      "supervise it in the foreground until init ends.\n"
	      "\n"
	      "  --config FILE                INI file to read first (PLANET_CONFIG)\n",
	      out);
	for (size_t i = 0; i < config_nkeys; i++) {
		char left[64];
		snprintf(left, sizeof left, "--%s%s%s", config_keys[i].flag,
			 config_keys[i].kind == CK_BOOL ? "" : " ", config_keys[i].arg);
		if (strlen(left) > 28)
			fprintf(out, "  %s\n%31s", left, "");
		else
			fprintf(out, "  %-28s ", left);
		/* continuation lines of a help text line up under its first */
		for (const char *h = config_keys[i].help;;) {
			size_t n = strcspn(h, "\n");
			fprintf(out, "%.*s\n", (int)n, h);
			if (!h[n])
				break;
			h += n + 1;
			fprintf(out, "%31s", "");
		}
	}
	fputs("  -h, --help                   show this text\n"
	      "\n"
	      "Every option is also a key of the INI file and a PLANET_* variable:\n"
	      "--stop-timeout is stop_timeout in [box] and PLANET_STOP_TIMEOUT;\n"
	      "--enter-group is group in [enter] and PLANET_ENTER_GROUP; --memory-max\n"
	      "is memory_max in [resources] and PLANET_MEMORY_MAX.\n"
	      "Precedence: defaults < INI file < PLANET_* < flags. Single values: the\n"
	      "last one wins. Lists (--volume, --device, --env, --dns-hosts,\n"
	      "--dns-zones, --file, --env-file-entry, --set-credential,\n"
	      "--load-credential, --hook) accumulate over all layers; repeat a\n"
	      "flag to add more. [envfile PATH] sections of the INI file add env\n"
	      "files too (docs/CONFIG.md, \"Box inputs\").\n"
	      "Flags take --opt VALUE or --opt=VALUE and must be spelled out in full.\n"
	      "\n"
	      "Reference: planet.conf(5), docs/CONFIG.md; a commented example:\n"
	      "/etc/planet/planet.conf.\n"
	      "\n"
	      "Exit status:\n"
	      "  0      init exited 0 (after a halt or power-off inside, or planet stop)\n"
	      "  N      init's exit code N\n"
	      "  128+N  init was killed by signal N (137: killed at the stop deadline)\n"
	      "  129    the box asked to reboot and on_reboot is exit\n"
	      "  1      the box could not be started\n"
	      "  2      a setting is invalid, or --rootfs is no root filesystem; nothing\n"
	      "         was touched\n",
	      out);
}
