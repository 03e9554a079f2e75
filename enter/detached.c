/* enter: detached sessions (planet exec -d). A detached session is an
 * ordinary session of session.c with three differences, all decided at
 * its EXEC (the flag of version 3):
 *   - its stdin, stdout and stderr are the box's /dev/null (the child
 *     opens it, inside the box): no relay, nothing kept for a reader that
 *     is gone, and no console for a background job to flood;
 *   - its connection ends as soon as STARTED is out, and the close is not
 *     a hangup: the process runs on;
 *   - it stays counted (status, max_sessions) until its process ends; the
 *     connection's record lives on without its socket, held by the
 *     session's handles, so the audit line at the end still names the
 *     peer that started it.
 * A halt kills it as it kills any session (enter_server_close). */
#include "enter/internal.h"

void detached_started(struct enter_session *s)
{
	/* STARTED is queued: the close flushes it, then the client returns. */
	conn_end(s->c);
}

bool session_detached(const struct enter_session *s)
{
	return s->detached;
}

unsigned enter_server_detached(const struct enter_server *srv)
{
	unsigned n = 0;
	for (const struct enter_conn *c = srv ? srv->conns : NULL; c; c = c->next)
		n += c->sess && session_detached(c->sess) && session_open(c->sess);
	return n;
}
