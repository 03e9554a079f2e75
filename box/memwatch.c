/* The supervisor's watch on the box's memory: OOM kills (counted, logged
 * with the victim the kernel's log names, an `oom` event) and memory
 * pressure (a `pressure` event with its level).
 *
 * Event-driven: the eventfds, inotify watch and PSI triggers of cgroupns/
 * sit in the loop, and nothing runs while nothing happens. A timer runs
 * only after something did: the hold after a pressure event (at most one
 * per PRESSURE_HOLD_MS, so that a box under steady pressure cannot flood
 * listeners or the log: what came meanwhile is counted into the next
 * event), and a short recheck when a v1 OOM notification comes before the
 * kernel has counted the kill (it notifies, then kills). */
#include "box/box.h"
#include "enter/enter.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define PRESSURE_HOLD_MS 1000
#define OOM_RECHECK_MS 10
#define OOM_RECHECKS 50
#define OOM_VICTIMS_MAX 16

struct box_memwatch {
	const struct cg_box *cg;
	struct enter_server *srv;
	int oom_fd, kmsg;
	int64_t oom_kills; /* as last seen */
	unsigned oom_rechecks;
	bool oom_early; /* v1: notified before the kill is counted */
	char memcg[PATH_MAX]; /* "" when unknown: no victim is named */
	uv_poll_t oom_watch;
	uv_timer_t oom_timer;
	struct cg_pressure_watch pw;
	uv_poll_t pw_watch[CG_PRESSURE_LEVELS];
	uv_timer_t hold;
	bool oom_on, pw_on, pressured; /* pressured: events were sent, not yet eased */
};

/* ---- OOM kills ---- */

static void oom_event(struct box_memwatch *w, int64_t total, const struct cg_oom_victim *v,
		      int64_t unnamed, const char *why)
{
	char n[24], pid[24], k[24];
	snprintf(n, sizeof n, "%" PRId64, total);
	if (v) {
		snprintf(pid, sizeof pid, "%d", (int)v->pid);
		char q[4 * sizeof v->comm + 3];
		plog(LOG_WARNING, "OOM: the kernel killed a process in the box: pid=%d command=%s "
				  "oom_kills=%" PRId64,
		     (int)v->pid, str_quote(q, sizeof q, v->comm, strlen(v->comm)), total);
		enter_server_event(w->srv, "oom", "oom_kills", n, "pid", pid, "command", v->comm,
				   EVENT_END);
		return;
	}
	snprintf(k, sizeof k, "%" PRId64, unnamed);
	plog(LOG_WARNING, "OOM: the kernel killed %" PRId64 " process(es) in the box: victim "
			  "unknown (%s) oom_kills=%" PRId64, unnamed, why, total);
	enter_server_event(w->srv, "oom", "oom_kills", n, "killed", k, "victim", "unknown",
			   EVENT_END);
}

/* The counter is the truth; the kernel's log names whom it can. */
static bool oom_check(struct box_memwatch *w)
{
	int64_t total = cg_box_oom_kills(w->cg);
	if (total <= w->oom_kills)
		return false;
	int64_t killed = total - w->oom_kills;
	struct cg_oom_victim v[OOM_VICTIMS_MAX];
	size_t nv = 0;
	if (w->kmsg >= 0 && w->memcg[0])
		nv = cg_kmsg_oom_victims(w->kmsg, w->memcg, v, OOM_VICTIMS_MAX);
	/* more records than kills: the counter is the truth, the last ones count */
	size_t first = (int64_t)nv > killed ? nv - (size_t)killed : 0;
	for (size_t i = first; i < nv; i++)
		oom_event(w, total, &v[i], 0, NULL);
	nv -= first;
	if ((int64_t)nv < killed)
		oom_event(w, total, NULL, killed - (int64_t)nv,
			  w->kmsg < 0 ? "/dev/kmsg cannot be read" : "no kernel record for it");
	w->oom_kills = total;
	return true;
}

static void oom_recheck(uv_timer_t *t)
{
	struct box_memwatch *w = t->data;
	if (oom_check(w) || ++w->oom_rechecks >= OOM_RECHECKS)
		uv_timer_stop(t);
}

static void oom_readable(uv_poll_t *h, int status, int events)
{
	struct box_memwatch *w = h->data;
	cg_oom_watch_drain(w->oom_fd);
	if (oom_check(w) || !w->oom_early)
		return;
	w->oom_rechecks = 0;
	uv_timer_start(&w->oom_timer, oom_recheck, OOM_RECHECK_MS, OOM_RECHECK_MS);
}

static void oom_start(struct box_memwatch *w, uv_loop_t *loop)
{
	struct perr e = { 0 };
	w->oom_fd = cg_box_oom_watch(w->cg, &w->oom_early, &e);
	if (w->oom_fd < 0)
		return;
	int64_t total = cg_box_oom_kills(w->cg);
	w->oom_kills = total > 0 ? total : 0;
	w->kmsg = cg_kmsg_open();
	if (cg_box_memcg(w->cg, w->memcg, sizeof w->memcg) < 0)
		w->memcg[0] = 0;
	w->oom_watch.data = w->oom_timer.data = w;
	if (uv_poll_init(loop, &w->oom_watch, w->oom_fd) < 0)
		return;
	w->oom_on = true;
	uv_timer_init(loop, &w->oom_timer);
	uv_poll_start(&w->oom_watch, UV_READABLE, oom_readable);
}

/* ---- memory pressure ---- */

static void pressure_cb(uv_poll_t *h, int status, int events);

/* One event for what came since the last: the highest level signalled. */
static bool pressure_report(struct box_memwatch *w)
{
	uint64_t c[CG_PRESSURE_LEVELS];
	cg_pressure_take(&w->pw, c);
	int top = -1;
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++)
		if (c[i])
			top = i;
	if (top < 0)
		return false;
	char n[24];
	snprintf(n, sizeof n, "%" PRIu64, c[top]);
	if (!w->pressured)
		plog(LOG_NOTICE, "memory pressure in the box: %s", cg_pressure_levels[top]);
	w->pressured = true;
	if (w->pw.v2)
		enter_server_event(w->srv, "pressure", "level", cg_pressure_levels[top], "count", n,
				   "trigger", cg_psi_triggers[top], EVENT_END);
	else
		enter_server_event(w->srv, "pressure", "level", cg_pressure_levels[top], "count", n,
				   EVENT_END);
	return true;
}

static void pressure_poll(struct box_memwatch *w, bool on)
{
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++) {
		if (on)
			uv_poll_start(&w->pw_watch[i], w->pw.v2 ? UV_PRIORITIZED : UV_READABLE,
				      pressure_cb);
		else
			uv_poll_stop(&w->pw_watch[i]);
	}
}

/* The hold is over: report what came meanwhile (and hold again), or watch
 * again once it has eased. */
static void pressure_hold_end(uv_timer_t *t)
{
	struct box_memwatch *w = t->data;
	if (pressure_report(w)) {
		uv_timer_start(&w->hold, pressure_hold_end, PRESSURE_HOLD_MS, 0);
		return;
	}
	plog(LOG_NOTICE, "memory pressure in the box has eased");
	w->pressured = false;
	pressure_poll(w, true);
}

static void pressure_cb(uv_poll_t *h, int status, int events)
{
	struct box_memwatch *w = h->data;
	if (!pressure_report(w))
		return;
	pressure_poll(w, false);
	uv_timer_start(&w->hold, pressure_hold_end, PRESSURE_HOLD_MS, 0);
}

static void pressure_start(struct box_memwatch *w, uv_loop_t *loop)
{
	struct perr e = { 0 };
	if (cg_box_pressure_watch(w->cg, &w->pw, &e) < 0) {
		plog(LOG_INFO, "memory pressure is not watched: %s", e.msg);
		return;
	}
	for (int i = 0; i < CG_PRESSURE_LEVELS; i++) {
		w->pw_watch[i].data = w;
		if (uv_poll_init(loop, &w->pw_watch[i], w->pw.fd[i]) < 0) {
			for (int j = 0; j < i; j++)
				uv_close((uv_handle_t *)&w->pw_watch[j], NULL);
			cg_pressure_close(&w->pw);
			return;
		}
	}
	w->hold.data = w;
	uv_timer_init(loop, &w->hold);
	w->pw_on = true;
	pressure_poll(w, true);
}

/* ---- life ---- */

struct box_memwatch *box_memwatch_start(uv_loop_t *loop, const struct cg_box *cg,
					struct enter_server *srv)
{
	struct box_memwatch *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	*w = (struct box_memwatch){ .cg = cg, .srv = srv, .oom_fd = -1, .kmsg = -1,
				    .pw = { .fd = { -1, -1, -1 } } };
	oom_start(w, loop);
	pressure_start(w, loop);
	return w;
}

static void close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void box_memwatch_stop(struct box_memwatch *w)
{
	if (!w)
		return;
	if (w->oom_on) {
		close_handle((uv_handle_t *)&w->oom_watch);
		close_handle((uv_handle_t *)&w->oom_timer);
	}
	if (w->pw_on) {
		for (int i = 0; i < CG_PRESSURE_LEVELS; i++)
			close_handle((uv_handle_t *)&w->pw_watch[i]);
		close_handle((uv_handle_t *)&w->hold);
	}
	w->srv = NULL;
}

void box_memwatch_free(struct box_memwatch *w)
{
	if (!w)
		return;
	if (w->oom_fd >= 0)
		close(w->oom_fd);
	if (w->kmsg >= 0)
		close(w->kmsg);
	cg_pressure_close(&w->pw);
	free(w);
}
