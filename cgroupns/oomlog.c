/* cgroupns: who the kernel OOM-killed in the box, from its log (/dev/kmsg).
 *
 * The kernel writes one record per kill:
 *   oom-kill:constraint=...,cpuset=NAME,mems_allowed=...,oom_memcg=PATH,
 *            task_memcg=PATH,task=COMM,pid=N,uid=N
 * A record counts only when the kernel wrote it (facility 0: a write to
 * /dev/kmsg from user space is given facility 1 and cannot ask for 0) and
 * its task_memcg is the box's memory cgroup or below it. Cgroup names and
 * COMM may hold anything but '/', so a record in which a marker appears
 * twice is ambiguous and dropped: a name chosen to forge a field can only
 * hide a victim, never name one. pid and uid are read from the end, where
 * no name reaches. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KMSG_RECORD_MAX 8192

static const char *memory_mount_rel(const struct cg_box *cg)
{
	const struct cg_hier *v2 = NULL, *m = NULL;
	for (size_t i = 0; i < cg->n_hier && !m; i++) {
		const struct cg_hier *h = &cg->hier[i];
		if (h->path && !h->v2 && cg_has_token(h->options, "memory"))
			m = h;
		else if (h->path && h->v2)
			v2 = h;
	}
	m = m ? m : v2;
	if (!m || !m->mountpoint || !cg_path_under(m->path, m->mountpoint))
		return NULL;
	return m->path + strlen(m->mountpoint);
}

int cg_box_memcg(const struct cg_box *cg, char *buf, size_t len)
{
	const char *rel = memory_mount_rel(cg);
	if (!rel || !*rel || (size_t)snprintf(buf, len, "%s", rel) >= len)
		return -1;
	return 0;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* A number running to the end of s or to a ','; -1 when it is not one. */
static long number_at(const char *s, const char *end)
{
	if (s >= end)
		return -1;
	long v = 0;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > 99999999)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int cg_oom_record_parse(const char *rec, const char *memcg, struct cg_oom_victim *v)
{
	/* "PRI,SEQ,USEC,FLAGS;MESSAGE\n" (then " KEY=VALUE" lines) */
	char *endp;
	long pri = strtol(rec, &endp, 10);
	const char *msg = strchr(rec, ';');
	if (endp == rec || *endp != ',' || pri < 0 || pri >> 3 != 0 || !msg)
		return 0;
	msg++;
	const char *nl = strchr(msg, '\n');
	size_t mlen = nl ? (size_t)(nl - msg) : strlen(msg);
	char m[KMSG_RECORD_MAX];
	if (strncmp(msg, "oom-kill:", 9) != 0 || mlen >= sizeof m)
		return 0;
	memcpy(m, msg, mlen);
	m[mlen] = 0;
	if (count(m, ",task_memcg=") != 1 || count(m, ",oom_memcg=") > 1 ||
	    count(m, ",task=") != 1 || count(m, ",pid=") != 1 || count(m, ",uid=") != 1)
		return 0;
	const char *tm = strstr(m, ",task_memcg=") + 12, *task = strstr(m, ",task="),
		   *pid = strstr(m, ",pid="), *uid = strstr(m, ",uid=");
	size_t ml = strlen(memcg);
	if (!(tm < task && task < pid && pid < uid) || strncmp(tm, memcg, ml) != 0 ||
	    (tm[ml] != '/' && tm + ml != task))
		return 0;
	long p = number_at(pid + 5, uid), u = number_at(uid + 5, m + mlen);
	size_t cl = (size_t)(pid - (task + 6));
	if (p <= 0 || u < 0 || cl >= sizeof v->comm)
		return 0;
	v->pid = (pid_t)p;
	memcpy(v->comm, task + 6, cl);
	v->comm[cl] = 0;
	return 1;
}

int cg_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

size_t cg_kmsg_oom_victims(int kmsg, const char *memcg, struct cg_oom_victim *out, size_t max)
{
	size_t n = 0;
	char rec[KMSG_RECORD_MAX];
	for (;;) {
		ssize_t r = read(kmsg, rec, sizeof rec - 1);
		if (r < 0 && errno == EPIPE) /* overwritten before we read it: go on */
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		if (n < max && cg_oom_record_parse(rec, memcg, &out[n]) == 1)
			n++;
	}
	return n;
}
