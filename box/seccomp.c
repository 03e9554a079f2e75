/* The box's system call filter, compiled once into classic BPF.
 *
 * `seccomp = default` is a deny list (everything else is allowed), in two
 * parts (docs/SECURITY.md lists both):
 *  - calls no box needs and that reach state the kernel does not namespace
 *    (the key ring, swap, quotas, fanotify, file handles, kexec, the
 *    obsolete and CPU-emulation calls, protection keys, umount -f): always
 *    denied;
 *  - calls that are the whole point of one capability (modules, the clock,
 *    port I/O, accounting, the kernel log, bpf, perf): denied unless the
 *    bounding set keeps that capability. bpf and perf_event_open also work
 *    with CAP_SYS_ADMIN alone, which every box keeps, so for them the
 *    filter is the only rail.
 * A denied call fails with EPERM, as under systemd-nspawn, whose callers
 * (systemd itself among them) treat that as "not allowed here".
 *
 * `seccomp = FILE` replaces the list by the names in FILE. */
#include "box/box.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#define CAPBIT(c) (1ull << (c))

struct deny {
	const char *name;
	unsigned long long unless; /* kept if any of these capabilities is; 0: always */
};

/* Names the native ABI lacks (i386-only calls) are skipped. Keep in step
 * with tests/integration/t-guardrails.sh and docs/SECURITY.md. */
static const struct deny default_deny[] = {
	/* The key ring is not namespaced: a box would read and change the
	 * host root's keys (same uid 0). */
	{ "keyctl", 0 }, { "add_key", 0 }, { "request_key", 0 },
	/* Swap is the host's: busybox init's `swapoff -a` would turn off the
	 * host's swap. */
	{ "swapon", 0 }, { "swapoff", 0 },
	/* Host-wide quota state and whole-filesystem event watching. */
	{ "quotactl", 0 }, { "quotactl_fd", 0 }, { "fanotify_init", 0 }, { "fanotify_mark", 0 },
	/* Loading a new kernel, and opening any inode of a filesystem by its
	 * handle (how "shocker" walked out of containers). */
	{ "kexec_load", 0 }, { "kexec_file_load", 0 }, { "open_by_handle_at", 0 },
	/* Obsolete calls: nothing uses them, some were never implemented. */
	{ "_sysctl", 0 }, { "afs_syscall", 0 }, { "bdflush", 0 }, { "break", 0 },
	{ "create_module", 0 }, { "ftime", 0 }, { "get_kernel_syms", 0 }, { "getpmsg", 0 },
	{ "gtty", 0 }, { "idle", 0 }, { "lock", 0 }, { "lookup_dcookie", 0 }, { "mpx", 0 },
	{ "nfsservctl", 0 }, { "prof", 0 }, { "profil", 0 }, { "putpmsg", 0 },
	{ "query_module", 0 }, { "security", 0 }, { "sgetmask", 0 }, { "ssetmask", 0 },
	{ "stime", 0 }, { "stty", 0 }, { "sysfs", 0 }, { "tuxcall", 0 }, { "ulimit", 0 },
	{ "uselib", 0 }, { "ustat", 0 }, { "vserver", 0 },
	/* CPU emulation and memory protection keys: rare, and a kernel
	 * surface nspawn leaves out too. */
	{ "modify_ldt", 0 }, { "subpage_prot", 0 }, { "switch_endian", 0 }, { "vm86", 0 },
	{ "vm86old", 0 }, { "pkey_alloc", 0 }, { "pkey_free", 0 }, { "pkey_mprotect", 0 },

	{ "init_module", CAPBIT(CAP_SYS_MODULE) },
	{ "finit_module", CAPBIT(CAP_SYS_MODULE) },
	{ "delete_module", CAPBIT(CAP_SYS_MODULE) },
	/* Also the read-only uses of adjtimex: it cannot be told apart. */
	{ "settimeofday", CAPBIT(CAP_SYS_TIME) },
	{ "clock_settime", CAPBIT(CAP_SYS_TIME) },
	{ "clock_settime64", CAPBIT(CAP_SYS_TIME) },
	{ "adjtimex", CAPBIT(CAP_SYS_TIME) },
	{ "clock_adjtime", CAPBIT(CAP_SYS_TIME) },
	{ "clock_adjtime64", CAPBIT(CAP_SYS_TIME) },
	{ "ioperm", CAPBIT(CAP_SYS_RAWIO) },
	{ "iopl", CAPBIT(CAP_SYS_RAWIO) },
	{ "pciconfig_iobase", CAPBIT(CAP_SYS_RAWIO) },
	{ "pciconfig_read", CAPBIT(CAP_SYS_RAWIO) },
	{ "pciconfig_write", CAPBIT(CAP_SYS_RAWIO) },
	{ "acct", CAPBIT(CAP_SYS_PACCT) },
	{ "syslog", CAPBIT(CAP_SYSLOG) },
	{ "bpf", CAPBIT(CAP_BPF) },
	{ "perf_event_open", CAPBIT(CAP_PERFMON) },
};

/* Any audit capability: then the box may talk to the audit subsystem. */
#define AUDIT_CAPS (CAPBIT(CAP_AUDIT_WRITE) | CAPBIT(CAP_AUDIT_CONTROL) | CAPBIT(CAP_AUDIT_READ))

static int rule_add(scmp_filter_ctx ctx, int nr, int err, unsigned n, const struct scmp_arg_cmp *a,
		    const char *what, struct perr *e)
{
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO((unsigned)err), nr, n, a);
	if (r < 0 && r != -EEXIST)
		return perr_set(e, -r, "seccomp rule for %s", what);
	return 0;
}

static int deny_name(scmp_filter_ctx ctx, const char *name, bool strict, struct perr *e)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR) {
		if (strict)
			return perr_set(e, 0, "seccomp: \"%s\" is not a system call name", name);
		return 0;
	}
	return rule_add(ctx, nr, EPERM, 0, NULL, name, e);
}

static int default_add(scmp_filter_ctx ctx, unsigned long long keep, struct perr *e)
{
	for (size_t i = 0; i < sizeof default_deny / sizeof default_deny[0]; i++) {
		const struct deny *d = &default_deny[i];
		if ((d->unless & keep) == 0 && deny_name(ctx, d->name, false, e) < 0)
			return -1;
	}
	/* umount -f aborts the pending requests of a network or FUSE file
	 * system, which a bind from the host shares with the host (LXC's
	 * reject_force_umount). systemd does not force unmounts in a
	 * container. */
	struct scmp_arg_cmp force = SCMP_A1(SCMP_CMP_MASKED_EQ, MNT_FORCE, MNT_FORCE);
	if (rule_add(ctx, SCMP_SYS(umount2), EPERM, 1, &force, "umount2", e) < 0)
		return -1;
	/* Without audit capabilities every audit request would fail anyway;
	 * EAFNOSUPPORT on the socket is how userspace (PAM, sshd, journald)
	 * learns that there is no audit and stays quiet, as under nspawn. */
	if ((keep & AUDIT_CAPS) == 0) {
		struct scmp_arg_cmp a[] = { SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
					    SCMP_A2(SCMP_CMP_EQ, NETLINK_AUDIT, 0) };
		if (rule_add(ctx, SCMP_SYS(socket), EAFNOSUPPORT, 2, a, "socket", e) < 0)
			return -1;
	}
	return 0;
}

/* A deny-list file: one system call name per line, # comments. */
static int file_add(scmp_filter_ctx ctx, const char *path, struct perr *e)
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
		if (*name && deny_name(ctx, name, true, e) < 0)
			return perr_wrap(e, "%s", path);
	}
	return 0;
}

/* Export the compiled filter into memory once, so a child only has to hand
 * it to the kernel. */
static int filter_export(scmp_filter_ctx ctx, struct sock_filter **out, unsigned short *out_len,
			 struct perr *e)
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
	free(*out);
	*out = f;
	*out_len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	return 0;
}

int box_seccomp_build(const struct box_config *cfg, unsigned long long keep,
		      struct sock_filter **out, unsigned short *out_len, struct perr *e)
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
	else if (cfg->seccomp == SECCOMP_DEFAULT)
		r = default_add(ctx, keep, e);
	else
		r = file_add(ctx, cfg->seccomp_file, e);
	if (r == 0)
		r = filter_export(ctx, out, out_len, e);
	seccomp_release(ctx);
	return r;
}
