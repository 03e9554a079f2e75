/* The box's capability bounding set and seccomp filter. Both are computed
 * once in the supervisor (box_security_check, at plan time) and applied in
 * every process that enters the box just before it execs: init and each
 * enter session. Applying is then a handful of prctl calls, no parsing and no
 * allocation, which keeps `planet exec` fast. */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Denied by `seccomp = default`: calls that reach past the box into the host
 * kernel's identity. reboot is not here: in a pid namespace the kernel turns
 * it into the end of init, which the supervisor handles. */
static const char *const default_deny[] = {
	"kexec_load", "kexec_file_load", "open_by_handle_at", "uselib", "lookup_dcookie",
	"nfsservctl", NULL,
};

static struct {
	bool ready;
	unsigned long long keep; /* bit per capability kept in the bounding set */
	struct sock_filter *filter;
	unsigned short filter_len;
} sec;

static int cap_set_name(unsigned long long *set, const char *tok, struct perr *e)
{
	bool drop = tok[0] == '-';
	const char *name = drop ? tok + 1 : tok;
	unsigned long long bits;
	if (strcasecmp(name, "all") == 0) {
		bits = ~0ull;
	} else {
		cap_value_t v;
		char lower[64];
		size_t i;
		for (i = 0; name[i] && i < sizeof lower - 1; i++)
			lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		lower[i] = 0;
		if (cap_from_name(lower, &v) < 0 || v < 0 || v > 63)
			return perr_set(e, 0, "capabilities: \"%s\" is not a capability name "
					      "(expected e.g. cap_sys_admin, all, -cap_sys_module)", tok);
		bits = 1ull << v;
	}
	*set = drop ? (*set & ~bits) : (*set | bits);
	return 0;
}

static int caps_compute(const char *spec, unsigned long long *keep, struct perr *e)
{
	if (!spec) {
		*keep = ~0ull & ~((1ull << CAP_AUDIT_WRITE) | (1ull << CAP_AUDIT_CONTROL) |
				  (1ull << CAP_AUDIT_READ));
		return 0;
	}
	_cleanup_free_ char *copy = strdup(spec);
	if (!copy)
		return perr_set(e, ENOMEM, "capabilities");
	*keep = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
		if (cap_set_name(keep, t, e) < 0)
			return -1;
	return 0;
}

static int deny_list_add(scmp_filter_ctx ctx, const char *name, bool strict, struct perr *e)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR) {
		if (strict)
			return perr_set(e, 0, "seccomp: \"%s\" is not a system call name", name);
		return 0;
	}
	int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	if (r < 0 && r != -EEXIST)
		return perr_set(e, -r, "seccomp rule for %s", name);
	return 0;
}

/* A deny-list file: one system call name per line, # comments. */
static int deny_file_add(scmp_filter_ctx ctx, const char *path, struct perr *e)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL, e) < 0)
		return perr_wrap(e, "seccomp file");
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *name = line + strspn(line, " \t");
		name[strcspn(name, " \t\r")] = 0;
		if (*name && deny_list_add(ctx, name, true, e) < 0)
			return perr_wrap(e, "%s", path);
	}
	return 0;
}

/* Export the compiled filter into memory once, so a child only has to hand
 * it to the kernel. */
static int filter_export(scmp_filter_ctx ctx, struct perr *e)
{
	_cleanup_fd_ int fd = memfd_create("planet-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return perr_set(e, errno, "seccomp export");
	int r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return perr_set(e, -r, "seccomp export");
	off_t len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) || len > 65535 * 8)
		return perr_set(e, EINVAL, "seccomp export");
	struct sock_filter *f = malloc((size_t)len);
	if (!f)
		return perr_set(e, ENOMEM, "seccomp export");
	if (pread(fd, f, (size_t)len, 0) != len) {
		free(f);
		return perr_set(e, EIO, "seccomp export");
	}
	free(sec.filter);
	sec.filter = f;
	sec.filter_len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	return 0;
}

static int seccomp_compute(const struct box_config *cfg, struct perr *e)
{
	if (cfg->seccomp == SECCOMP_NONE)
		return 0;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return perr_set(e, ENOMEM, "seccomp");
	/* Without no_new_privs: setuid programs inside (su, sudo) must work;
	 * the filter is loaded while CAP_SYS_ADMIN is still held. */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		r = perr_set(e, -r, "seccomp");
	for (size_t i = 0; r == 0 && cfg->seccomp == SECCOMP_DEFAULT && default_deny[i]; i++)
		r = deny_list_add(ctx, default_deny[i], false, e);
	if (r == 0 && cfg->seccomp == SECCOMP_FILE)
		r = deny_file_add(ctx, cfg->seccomp_file, e);
	if (r == 0)
		r = filter_export(ctx, e);
	seccomp_release(ctx);
	return r;
}

int box_security_check(const struct box_config *cfg, struct perr *e)
{
	if (caps_compute(cfg->capabilities, &sec.keep, e) < 0 || seccomp_compute(cfg, e) < 0)
		return -1;
	sec.ready = true;
	return 0;
}

int box_apply_security(const struct box_config *cfg, struct perr *e)
{
	if (!sec.ready && box_security_check(cfg, e) < 0)
		return -1;
	for (int c = 0; c <= 63; c++) {
		if (sec.keep & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return perr_set(e, errno, "drop capability %d from the bounding set", c);
	}
	/* Keep inheritable and ambient inside the bounding set as well. */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (sec.filter) {
		struct sock_fprog prog = { .len = sec.filter_len, .filter = sec.filter };
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
			return perr_set(e, errno, "load seccomp filter");
	}
	return 0;
}
