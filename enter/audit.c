/* enter: the audit records (base/log.c sends them to the journal as
 * planet-audit), each value quoted with base's sb_quote, so whatever a
 * client or the box chose stays inside its quotes, on one line of ASCII;
 * and the same fields as a `session` event (planet events). */
#include "enter/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define AUDIT_ARGV_MAX 512

void enter_audit(const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n >= 0)
		plog_audit("%s", line);
}

int session_audit_prepare(struct session_audit *a, const struct proto_exec *x)
{
	struct strbuf b = { 0 };
	for (char **v = x->argv; *v && b.len < AUDIT_ARGV_MAX; v++) {
		if (b.len)
			sb_append(&b, " ", 1);
		sb_quote(&b, *v, AUDIT_ARGV_MAX - b.len);
	}
	struct strbuf u = { 0 };
	sb_quote(&u, *x->user ? x->user : "root", 64);
	struct strbuf w = { 0 };
	sb_quote(&w, *x->cwd ? x->cwd : "~", 256);
	a->argv = b.s;
	a->user = u.s;
	a->cwd = w.s;
	a->tty = x->tty;
	a->detached = x->detach;
	a->t0 = now_ns();
	return b.s && u.s && w.s ? 0 : -1;
}

void session_audit(const struct session_audit *a, const struct enter_conn *c,
		   const char *result, bool gone)
{
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	/* A detached session's client left at STARTED, by design: that is
	 * said as detached=yes, never as client=gone. */
	enter_audit("enter: uid=%u pid=%d user=%s cwd=%s tty=%s argv=%s result=%s%s duration_ms=%llu",
		    (unsigned)uid, (int)pid, a->user ? a->user : "?", a->cwd ? a->cwd : "?",
		    a->tty ? "yes" : "no", a->argv ? a->argv : "?", result,
		    a->detached ? " detached=yes" : gone ? " client=gone" : "",
		    (now_ns() - a->t0) / 1000000ull);
	char u[16], p[16], ms[24];
	snprintf(u, sizeof u, "%u", (unsigned)uid);
	snprintf(p, sizeof p, "%d", (int)pid);
	snprintf(ms, sizeof ms, "%llu", (now_ns() - a->t0) / 1000000ull);
	enter_server_event(conn_server(c), "session", "phase", "end", "uid", u, "pid", p, "user",
			   a->user ? a->user : "?", "argv", a->argv ? a->argv : "?", "tty",
			   a->tty ? "yes" : "no", "detached", a->detached ? "yes" : "no", "result",
			   result, "duration_ms", ms, EVENT_END);
}

void session_audit_free(struct session_audit *a)
{
	free(a->argv);
	free(a->user);
	free(a->cwd);
}
