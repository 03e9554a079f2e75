/* cgroupns: memory pressure in the box, as file descriptors the
 * supervisor's loop waits on (libcontainer's NotifyMemoryPressure).
 *
 * v1: one eventfd per level registered through cgroup.event_control on
 * memory.pressure_level, in "hierarchy" mode so that a listener the box's
 * own system registers below cannot swallow the notification (the default
 * mode stops at the first listener). A level's eventfd counts every
 * notification at that level or above; readable when it is not zero.
 *
 * v2: one PSI trigger per level written to the box's memory.pressure (the
 * kernel keeps a trigger as long as its fd is open); the fd says POLLPRI
 * once per window in which the stall exceeded the threshold. It says
 * POLLIN always, so it is only ever watched for POLLPRI. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cgroupns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

const char *const cg_pressure_levels[CG_PRESSURE_LEVELS] = { "low", "medium", "critical" };
/* stalled time (us) in a window (us): some task waited for memory 15% of
 * the window; every task waited 15%; every task waited half of it. The
 * window is 2 s because without CAP_SYS_RESOURCE (a supervisor in a
 * container, or this project's CI) the kernel takes only multiples of 2 s;
 * it also fires a trigger at most once per window. */
const char *const cg_psi_triggers[CG_PRESSURE_LEVELS] = {
	"some 300000 2000000", "full 300000 2000000", "full 1000000 2000000"
};

static const struct cg_hier *memory_hier(const struct cg_box *cg)
{
	const struct cg_hier *v2 = NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cg_hier *h = &cg->hier[i];
		if (h->path && !h->v2 && cg_has_token(h->options, "memory"))
			return h;
		if (h->path && h->v2)
			v2 = h;
	}
	return v2;
}

static int watch_v1(const struct cg_hier *m, struct cg_pressure_watch *w, struct perr *e)
{
	char p[PATH_MAX], line[96];
	_cleanup_fd_ int lvl = -1;
	if (cg_pathf(p, sizeof p, "%s/memory.pressure_level", m->path) < 0 ||
	    (lvl = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return perr_set(e, errno, "open %s", p);
	if (cg_pathf(p, sizeof p, "%s/cgroup.event_control", m->path) < 0)
		return perr_set(e, errno, "%s", m->path);
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++) {
		w->fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->fd[i] < 0)
			return perr_set(e, errno, "eventfd");
		snprintf(line, sizeof line, "%d %d %s,hierarchy", w->fd[i], lvl, cg_pressure_levels[i]);
		if (cg_write_str(p, line) < 0)
			return perr_set(e, errno, "register for %s memory pressure in %s",
					cg_pressure_levels[i], p);
	}
	return 0;
}

static int watch_v2(const struct cg_hier *m, struct cg_pressure_watch *w, struct perr *e)
{
	char p[PATH_MAX];
	if (cg_pathf(p, sizeof p, "%s/memory.pressure", m->path) < 0)
		return perr_set(e, errno, "%s", m->path);
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++) {
		const char *t = cg_psi_triggers[i];
		w->fd[i] = open(p, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (w->fd[i] < 0)
			return perr_set(e, errno, "open %s (no PSI: psi=1 on the kernel command line?)", p);
		if (write(w->fd[i], t, strlen(t) + 1) < 0)
			return perr_set(e, errno, "write the trigger \"%s\" to %s", t, p);
	}
	return 0;
}

void cg_pressure_close(struct cg_pressure_watch *w)
{
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++) {
		if (w->fd[i] >= 0)
			close(w->fd[i]);
		w->fd[i] = -1;
	}
}

int cg_box_pressure_watch(const struct cg_box *cg, struct cg_pressure_watch *w, struct perr *e)
{
	const struct cg_hier *m = memory_hier(cg);
	*w = (struct cg_pressure_watch){ .fd = { -1, -1, -1 } };
	if (!m)
		return perr_set(e, 0, "no memory controller: memory pressure is not watched");
	w->v2 = m->v2;
	if ((m->v2 ? watch_v2(m, w, e) : watch_v1(m, w, e)) < 0) {
		cg_pressure_close(w);
		return -1;
	}
	return 0;
}

/* Never blocks: v1 reads (and so resets) each eventfd, v2 asks poll()
 * with no timeout (which resets each trigger's flag). */
void cg_pressure_take(const struct cg_pressure_watch *w, uint64_t counts[CG_PRESSURE_LEVELS])
{
	if (!w->v2) {
		for (int i = 0; i < CG_PRESSURE_LEVELS; i++) {
			uint64_t v = 0;
			counts[i] = read(w->fd[i], &v, sizeof v) == (ssize_t)sizeof v ? v : 0;
		}
		return;
	}
	struct pollfd p[CG_PRESSURE_LEVELS];
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++)
		p[i] = (struct pollfd){ .fd = w->fd[i], .events = POLLPRI };
	int n = poll(p, CG_PRESSURE_LEVELS, 0);
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++)
		counts[i] = n > 0 && (p[i].revents & POLLPRI) ? 1 : 0;
}
