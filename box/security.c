/* The box's capability bounding set and seccomp filter (box/seccomp.c).
 * Both are computed once in the supervisor (box_security_check, at plan
 * time) and applied in every process that enters the box just before it
 * execs: init and each enter session. Applying is then a handful of prctl
 * calls, no parsing and no allocation, which keeps `planet exec` fast. */
#include "box/box.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CAPBIT(c) (1ull << (c))

/* The default bounding set: nspawn's retained set, which is what a system
 * inside (systemd, its services, package managers) needs, plus net_admin
 * (the box shares the host's network and configures it) and ipc_lock
 * (locked memory is charged to the box's memory cgroup). Dropped: the
 * capabilities whose only use is the host's kernel or hardware (modules,
 * raw I/O, the clock, accounting, the kernel log, MAC policy, wake-up
 * alarms, suspend blocking, bpf, perf, checkpoint/restore) and the audit
 * ones (the audit subsystem is not namespaced). docs/SECURITY.md has the
 * table, with the reason for each. */
static const unsigned long long caps_default =
	CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_DAC_READ_SEARCH) |
	CAPBIT(CAP_FOWNER) | CAPBIT(CAP_FSETID) | CAPBIT(CAP_KILL) | CAPBIT(CAP_SETGID) |
	CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETPCAP) | CAPBIT(CAP_LINUX_IMMUTABLE) |
	CAPBIT(CAP_NET_BIND_SERVICE) | CAPBIT(CAP_NET_BROADCAST) | CAPBIT(CAP_NET_ADMIN) |
	CAPBIT(CAP_NET_RAW) | CAPBIT(CAP_IPC_LOCK) | CAPBIT(CAP_IPC_OWNER) |
	CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_SYS_PTRACE) | CAPBIT(CAP_SYS_ADMIN) |
	CAPBIT(CAP_SYS_BOOT) | CAPBIT(CAP_SYS_NICE) | CAPBIT(CAP_SYS_RESOURCE) |
	CAPBIT(CAP_SYS_TTY_CONFIG) | CAPBIT(CAP_MKNOD) | CAPBIT(CAP_LEASE) | CAPBIT(CAP_SETFCAP);

/* `all`: the set planet kept before it had a default of its own, every
 * capability but CAP_AUDIT_* (systemd's container interface asks for those
 * to stay out); an audit capability is kept only when named. */
static const unsigned long long caps_all =
	~(CAPBIT(CAP_AUDIT_WRITE) | CAPBIT(CAP_AUDIT_CONTROL) | CAPBIT(CAP_AUDIT_READ));

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
		bits = caps_all;
	} else if (strcasecmp(name, "default") == 0) {
		bits = caps_default;
	} else {
		cap_value_t v;
		char lower[64];
		size_t i;
		for (i = 0; name[i] && i < sizeof lower - 1; i++)
			lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
		lower[i] = 0;
		if (cap_from_name(lower, &v) < 0 || v < 0 || v > 63)
			return perr_set(e, 0, "capabilities: \"%s\" is not a capability name "
					      "(expected e.g. cap_sys_admin, all, default, -cap_sys_module)",
					tok);
		bits = CAPBIT(v);
	}
	*set = drop ? (*set & ~bits) : (*set | bits);
	return 0;
}

static int caps_compute(const char *spec, unsigned long long *keep, struct perr *e)
{
	if (!spec) {
		*keep = caps_default;
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

/* Raw capget/capset: this runs in every exec'd process, where libcap's
 * allocations are not wanted. */
static int inheritable_restrict(unsigned long long keep, struct perr *e)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };
	if (syscall(SYS_capget, &h, d) < 0)
		return perr_set(e, errno, "capget");
	if ((d[0].inheritable & ~(uint32_t)keep) == 0 && (d[1].inheritable & ~(uint32_t)(keep >> 32)) == 0)
		return 0;
	d[0].inheritable &= (uint32_t)keep;
	d[1].inheritable &= (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return perr_set(e, errno, "restrict the inheritable capabilities");
	return 0;
}

int box_security_check(const struct box_config *cfg, struct perr *e)
{
	if (caps_compute(cfg->capabilities, &sec.keep, e) < 0 ||
	    box_seccomp_build(cfg, sec.keep, &sec.filter, &sec.filter_len, e) < 0)
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
	/* A dropped capability still in the inheritable set would come back
	 * at the exec of a root program (P' = (I & F) | (F & bounding)). */
	if (inheritable_restrict(sec.keep, e) < 0)
		return -1;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (sec.filter) {
		struct sock_fprog prog = { .len = sec.filter_len, .filter = sec.filter };
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
			return perr_set(e, errno, "load seccomp filter");
	}
	return 0;
}
