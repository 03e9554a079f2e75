#!/usr/bin/env python3
"""bpf-devprogs.py CGROUP_DIR -- print how many BPF_PROG_TYPE_CGROUP_DEVICE
programs are attached directly to a cgroup v2 directory (BPF_PROG_QUERY via
the bpf(2) syscall; no bpftool needed). Exit 0 and the count on stdout, or
exit 2 with the error on stderr. x86-64 / aarch64 syscall numbers only."""
import ctypes
import os
import platform
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}
BPF_PROG_QUERY = 16
BPF_CGROUP_DEVICE = 6


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    nr = SYS_BPF.get(platform.machine())
    if nr is None:
        sys.stderr.write("unknown bpf syscall number on %s\n" % platform.machine())
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
    ids = (ctypes.c_uint32 * 64)()
    attr = ctypes.create_string_buffer(128)
    # struct { u32 target_fd, attach_type, query_flags, attach_flags;
    #          u64 prog_ids; u32 prog_cnt; } (union bpf_attr, BPF_PROG_QUERY)
    struct.pack_into("IIIIQI", attr, 0, fd, BPF_CGROUP_DEVICE, 0, 0, ctypes.addressof(ids), 64)
    libc.syscall.restype = ctypes.c_long
    r = libc.syscall(ctypes.c_long(nr), ctypes.c_long(BPF_PROG_QUERY), attr, ctypes.c_uint(128))
    os.close(fd)
    if r < 0:
        sys.stderr.write("BPF_PROG_QUERY %s: %s\n" % (sys.argv[1], os.strerror(ctypes.get_errno())))
        return 2
    cnt = struct.unpack_from("IIIIQI", attr, 0)[5]
    print(cnt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
