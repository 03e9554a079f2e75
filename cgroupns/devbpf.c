/* devbpf: the cgroup v2 device filter.
 *
 * cgroup v2 has no devices.allow file: the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup (and to each of
 * its ancestors) whether an open/mknod of a device node may proceed. The
 * program gets a struct bpf_cgroup_dev_ctx:
 *
 *     u32 access_type  at offset 0: (access << 16) | type
 *                      type:   BPF_DEVCG_DEV_BLOCK (1) or BPF_DEVCG_DEV_CHAR (2)
 *                      access: bit mask of BPF_DEVCG_ACC_MKNOD (1),
 *                              BPF_DEVCG_ACC_READ (2), BPF_DEVCG_ACC_WRITE (4)
 *     u32 major        at offset 4
 *     u32 minor        at offset 8
 *
 * and returns 1 to allow, 0 to deny (EPERM for the caller).
 *
 * The program we generate is a straight list of rule blocks, one per
 * cg_dev_rule, each ending in "return 1"; a mismatch in any test of a block
 * jumps to the first instruction of the next block; after the last block
 * comes "return 0". Registers after the prologue:
 *     r2 = device type, r3 = requested access, r4 = major, r5 = minor,
 *     r1 = scratch (the ctx pointer is no longer needed).
 *
 * These functions are internal to cgroupns/; cgroupns.h declares them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Upper bound on rules: each block is at most 9 instructions and the kernel
 * accepts far more, but a device list this long is a configuration error. */
#define DEVBPF_MAX_RULES 4096

enum { R0 = 0, R1, R2, R3, R4, R5 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i;
	memset(&i, 0, sizeof i);
	i.code = code;
	i.dst_reg = dst & 0xf;
	i.src_reg = src & 0xf;
	i.off = off;
	i.imm = imm;
	return i;
}

/* dst = *(u32 *)(src + off) */
static struct bpf_insn ld_w(uint8_t dst, uint8_t src, int16_t off)
{
	return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
/* dst = src (64 bit) */
static struct bpf_insn mov_reg(uint8_t dst, uint8_t src)
{
	return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
/* dst = imm */
static struct bpf_insn mov_imm(uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
/* dst op= imm (64 bit ALU) */
static struct bpf_insn alu_imm(uint8_t op, uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
}
/* if dst != imm goto pc + 1 + off */
static struct bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off)
{
	return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
static struct bpf_insn exit_insn(void)
{
	return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

static int access_mask(const char *access, size_t max)
{
	int m = 0;
	for (const char *p = access; p < access + max && *p; p++) {
		if (*p == 'r')
			m |= BPF_DEVCG_ACC_READ;
		else if (*p == 'w')
			m |= BPF_DEVCG_ACC_WRITE;
		else if (*p == 'm')
			m |= BPF_DEVCG_ACC_MKNOD;
		else
			return -1;
	}
	return m;
}

/* Build the instruction array. Returns the count, or -1 (EINVAL/ENOMEM). */
static ssize_t build_prog(const struct cg_dev_rule *rules, size_t n, struct bpf_insn **out,
			 struct perr *e)
{
	if (n > DEVBPF_MAX_RULES)
		return perr_set(e, EINVAL, "device program: %zu rules (at most %d)", n,
				DEVBPF_MAX_RULES);
	size_t cap = 6 + n * 10 + 2;
	struct bpf_insn *p = calloc(cap, sizeof *p);
	if (!p)
		return perr_set(e, ENOMEM, "device program");
	size_t k = 0;

	/* Prologue: unpack the context into registers. */
	p[k++] = ld_w(R2, R1, (int16_t)offsetof(struct bpf_cgroup_dev_ctx, access_type));
	p[k++] = mov_reg(R3, R2);
	p[k++] = alu_imm(BPF_AND, R2, 0xffff); /* type */
	p[k++] = alu_imm(BPF_RSH, R3, 16);     /* access */
	p[k++] = ld_w(R4, R1, (int16_t)offsetof(struct bpf_cgroup_dev_ctx, major));
	p[k++] = ld_w(R5, R1, (int16_t)offsetof(struct bpf_cgroup_dev_ctx, minor));

	for (size_t i = 0; i < n; i++) {
		const struct cg_dev_rule *r = &rules[i];
		int mask = access_mask(r->access, sizeof r->access);
		if (mask <= 0) {
			free(p);
			return perr_set(e, EINVAL, "device rule %zu: access \"%.4s\" (want rwm)", i,
					r->access);
		}
		if (r->type == 'a') {
			/* "a": every device, every access, as in the v1 controller.
			 * Later rules could never be reached (and the verifier
			 * refuses unreachable code): the program ends here. */
			p[k++] = mov_imm(R0, 1);
			p[k++] = exit_insn();
			*out = p;
			return (ssize_t)k;
		}
		int devtype;
		if (r->type == 'c')
			devtype = BPF_DEVCG_DEV_CHAR;
		else if (r->type == 'b')
			devtype = BPF_DEVCG_DEV_BLOCK;
		else {
			free(p);
			return perr_set(e, EINVAL, "device rule %zu: type '%c' (want a, b or c)", i,
					r->type);
		}
		if (r->major < -1 || r->major > INT32_MAX || r->minor < -1 || r->minor > INT32_MAX) {
			free(p);
			return perr_set(e, EINVAL, "device rule %zu: bad major/minor", i);
		}
		/* Tests first, each with a placeholder jump to the next block;
		 * the offsets are patched once the block length is known. */
		size_t jumps[4], nj = 0;
		jumps[nj++] = k;
		p[k++] = jne_imm(R2, devtype, 0);
		if (r->major != -1) {
			jumps[nj++] = k;
			p[k++] = jne_imm(R4, (int32_t)r->major, 0);
		}
		if (r->minor != -1) {
			jumps[nj++] = k;
			p[k++] = jne_imm(R5, (int32_t)r->minor, 0);
		}
		if (mask != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
			/* Every requested access bit must be among the allowed
			 * ones: (requested & ~allowed) == 0. */
			p[k++] = mov_reg(R1, R3);
			p[k++] = alu_imm(BPF_AND, R1, ~mask);
			jumps[nj++] = k;
			p[k++] = jne_imm(R1, 0, 0);
		}
		p[k++] = mov_imm(R0, 1);
		p[k++] = exit_insn();
		for (size_t j = 0; j < nj; j++)
			p[jumps[j]].off = (int16_t)(k - jumps[j] - 1);
	}
	/* Nothing matched: deny. */
	p[k++] = mov_imm(R0, 0);
	p[k++] = exit_insn();
	*out = p;
	return (ssize_t)k;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

int cg_devbpf_load(const struct cg_dev_rule *rules, size_t n, struct perr *e)
{
	struct bpf_insn *prog = NULL;
	ssize_t cnt = build_prog(rules, n, &prog, e);
	if (cnt < 0)
		return -1;
	static const char license[] = "GPL";
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = (uint32_t)cnt;
	attr.license = (uint64_t)(uintptr_t)license;
	memcpy(attr.prog_name, "planet_devices", sizeof "planet_devices");
	int fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0) {
		int err = errno;
		/* Load again with the verifier log, to say why. */
		char *log = calloc(1, 8192);
		if (log) {
			attr.log_buf = (uint64_t)(uintptr_t)log;
			attr.log_size = 8192;
			attr.log_level = 1;
			if (sys_bpf(BPF_PROG_LOAD, &attr) >= 0) /* cannot happen; be tidy */
				err = EAGAIN;
			size_t l = strlen(log);
			while (l && (log[l - 1] == '\n' || log[l - 1] == ' '))
				log[--l] = 0;
			char *last = strrchr(log, '\n');
			perr_set(e, err, "load device BPF program (%zd insns)%s%s", cnt,
				 *log ? ", verifier: " : "", last ? last + 1 : log);
			free(log);
		} else {
			perr_set(e, err, "load device BPF program");
		}
		free(prog);
		return -1;
	}
	free(prog);
	return fd;
}

int cg_devbpf_attach(int cgroup_fd, int prog_fd, int replace_fd, struct perr *e)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	/* ALLOW_MULTI: programs that systemd (or anyone) inside the box attaches
	 * to sub-cgroups run in addition to ours, never instead of it. REPLACE:
	 * the kernel swaps the old program for the new one in the cgroup's
	 * effective array in one step, so no open ever sees both or neither. */
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (replace_fd >= 0) {
		attr.attach_flags |= BPF_F_REPLACE;
		attr.replace_bpf_fd = (uint32_t)replace_fd;
	}
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return perr_set(e, errno, "attach device BPF program");
	return 0;
}

int cg_devbpf_detach(int cgroup_fd, int prog_fd, struct perr *e)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
		return perr_set(e, errno, "detach device BPF program");
	return 0;
}

/* Detach every device program attached directly to this cgroup (a leftover
 * from a crashed supervisor whose box directory is being reused). */
int cg_devbpf_detach_all(int cgroup_fd, struct perr *e)
{
	uint32_t ids[64];
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.query.target_fd = (uint32_t)cgroup_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = sizeof ids / sizeof ids[0];
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0) {
		if (errno == ENOSPC) /* more than 64: detach what we got, caller retries */
			attr.query.prog_cnt = sizeof ids / sizeof ids[0];
		else
			return perr_set(e, errno, "query device BPF programs");
	}
	uint32_t cnt = attr.query.prog_cnt;
	if (cnt > sizeof ids / sizeof ids[0])
		cnt = sizeof ids / sizeof ids[0];
	for (uint32_t i = 0; i < cnt; i++) {
		union bpf_attr ga;
		memset(&ga, 0, sizeof ga);
		ga.prog_id = ids[i];
		int pfd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &ga);
		if (pfd < 0) {
			if (errno == ENOENT)
				continue;
			return perr_set(e, errno, "get device BPF program %u", ids[i]);
		}
		int r = cg_devbpf_detach(cgroup_fd, pfd, e);
		close(pfd);
		if (r < 0)
			return -1;
	}
	return 0;
}
