/* A connection the server will not serve (the peer's credentials, or too
 * many connections): one ERROR, and a close that does not lose it.
 *
 * The refusal waits for the first 7 bytes of the request (header and
 * version), so that it is written in the layout of the version the client
 * asked for; a peer that sends nothing gets it after REFUSE_WAIT_MS in the
 * oldest layout. It is then followed by a half-close, and what the peer
 * still sends is read and dropped until it closes. Closing with unread
 * bytes instead would reset the connection: a forwarder such as socat,
 * still writing the request, then fails on EPIPE or ECONNRESET and may
 * never pass the refusal on. Nothing of the peer's is kept beyond those 7
 * bytes, and the lingering is bounded in bytes and in time. */
#include "enter/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define REFUSE_WAIT_MS 1000 /* for the request's version; then answer anyway */
#define LINGER_MS 2000	    /* after the answer, for the peer's close */
#define LINGER_MAX (PROTO_HDR + (size_t)PROTO_MAX_FRAME) /* bytes dropped at most */

struct conn_refusal {
	enum proto_err code;
	uint8_t head[PROTO_HDR + 2]; /* header and version of the request */
	size_t head_len, dropped;
	bool answered, shut, eof;
	char msg[256];
};

static void maybe_close(struct enter_conn *c)
{
	if (c->refusal->shut && c->refusal->eof)
		conn_close_sock(c);
}

static void linger_expired(uv_timer_t *t)
{
	conn_close_sock(t->data);
}

static void refuse_shut(uv_shutdown_t *req, int status)
{
	struct enter_conn *c = req->data;
	c->refusal->shut = true;
	if (status < 0)
		conn_close_sock(c);
	else
		maybe_close(c);
}

static void answer(struct enter_conn *c)
{
	struct conn_refusal *r = c->refusal;
	if (r->answered)
		return;
	r->answered = true;
	uv_timer_stop(&c->timer);
	struct strbuf b = { 0 };
	int rc = proto_put_error(&b, c->version, EXIT_PLANET, r->code, r->msg);
	if (rc == 0)
		rc = conn_send_frame(c, &b);
	sb_free(&b);
	c->shut.data = c;
	/* The shutdown completes once the ERROR is written. */
	if (rc < 0 || c->sock_closing ||
	    uv_shutdown(&c->shut, (uv_stream_t *)&c->sock, refuse_shut) < 0)
		conn_close_sock(c);
	else
		uv_timer_start(&c->timer, linger_expired, LINGER_MS, 0);
}

static void wait_expired(uv_timer_t *t)
{
	answer(t->data);
}

void conn_refuse(struct enter_conn *c, enum proto_err code, const char *msg)
{
	if (!(c->refusal = calloc(1, sizeof *c->refusal))) {
		conn_fail(c, EXIT_PLANET, code, msg); /* the old way: at once */
		return;
	}
	c->refusal->code = code;
	snprintf(c->refusal->msg, sizeof c->refusal->msg, "%s", msg);
	c->state = C_REFUSED;
	uv_timer_start(&c->timer, wait_expired, REFUSE_WAIT_MS, 0);
	conn_read_on(c);
}

void conn_refused_read(struct enter_conn *c, const uint8_t *p, ssize_t n)
{
	struct conn_refusal *r = c->refusal;
	if (n == UV_EOF) {
		r->eof = true;
		answer(c);
		if (!c->sock_closing)
			maybe_close(c);
		return;
	}
	if (n < 0) {
		conn_close_sock(c);
		return;
	}
	size_t take = sizeof r->head - r->head_len;
	if (take > (size_t)n)
		take = (size_t)n;
	memcpy(r->head + r->head_len, p, take);
	r->head_len += take;
	r->dropped += (size_t)n - take;
	uint16_t v;
	int k = proto_request_version(r->head, r->head_len, &v);
	if (!r->answered && (k != 0 || r->head_len == sizeof r->head)) {
		c->version = k == 1 ? proto_reply_version(v) : 0;
		answer(c);
	}
	if (r->dropped > LINGER_MAX)
		conn_close_sock(c);
}
