/* libFuzzer target: every config key's parser. The first byte picks a key
 * (or a raw parser, or a whole INI file), the rest is the value. Errors must
 * be one line and leave the config as it was; config_free must free
 * everything (LSan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/internal.h"

static const char *const keys[] = {
	"rootfs",	"state_dir",	  "socket",	  "hostname",	   "init",
	"stop_signal",	"stop_timeout",	  "on_reboot",	  "notify_ready",  "volume",
	"device",	"env",		  "env_file",	  "dns_hosts",	   "dns_zones",
	"capabilities", "seccomp",	  "block_devices", "writable_sys", "enter_group",
	"enter_proxy_env_file", "enter_max_sessions", "enter_monitor_group",
};
#define NKEYS (sizeof keys / sizeof keys[0])

static void raw_parsers(unsigned which, const char *s)
{
	struct perr e;
	unsigned u;
	bool b;
	char **argv = NULL;
	switch (which) {
	case 0:
		if (argv_split(s, &argv, &e) == 0) {
			if (!argv[0])
				abort(); /* success means at least one word */
			argv_free(argv);
		}
		break;
	case 1:
		if (duration_parse(s, &u) == 0 && u > 86400)
			abort();
		break;
	case 2:
		if (hostname_valid(s) && (strlen(s) > 64 || !*s))
			abort();
		break;
	default:
		(void)bool_parse(s, &b);
	}
}

/* A ".." component (not merely a name starting with ".."). */
static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "/..")); s++)
		if (s[3] == '/' || s[3] == 0)
			return true;
	return false;
}

/* The INI layer reads a path: hand it an in-memory file. */
static void ini_file(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz.conf", 0);
	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		struct box_config c;
		struct perr e;
		config_init(&c);
		int r = config_load_file(&c, path, &e);
		if (r < 0 && (strchr(e.msg, '\n') || strncmp(e.msg, path, strlen(path)) != 0))
			abort();
		if (r == 0)
			(void)config_validate(&c, &e);
		config_free(&c);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0xff) {
		ini_file(data + 1, size - 1);
		return 0;
	}
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	unsigned sel = data[0] % (NKEYS + 4);
	if (sel >= NKEYS) {
		raw_parsers(sel - NKEYS, s);
		free(s);
		return 0;
	}
	struct box_config c;
	struct perr e;
	config_init(&c);
	/* Set twice: the second call exercises replacing and appending. */
	for (int i = 0; i < 2; i++) {
		size_t nv = c.n_volumes, nd = c.n_devices, nh = c.n_dns_hosts, nz = c.n_dns_zones;
		if (config_set(&c, keys[sel], s, "fuzz", &e) < 0) {
			if (strchr(e.msg, '\n') || strncmp(e.msg, "fuzz ", 5) != 0)
				abort();
			if (nv != c.n_volumes || nd != c.n_devices || nh != c.n_dns_hosts ||
			    nz != c.n_dns_zones)
				abort();
		}
	}
	for (size_t i = 0; i < c.n_volumes; i++)
		if (c.volumes[i].src[0] != '/' || c.volumes[i].dst[0] != '/' ||
		    has_dotdot(c.volumes[i].src) || has_dotdot(c.volumes[i].dst) ||
		    strchr(c.volumes[i].src, ','))
			abort();
	for (size_t i = 0; i < c.n_devices; i++)
		if (strncmp(c.devices[i].glob, "/dev/", 5) != 0 || !c.devices[i].perms[0])
			abort();
	config_free(&c);
	free(s);
	return 0;
}
