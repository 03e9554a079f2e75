/* One client connection of the enter server, and the first frame of each.
 * The control requests (status, stop) are control.c's, exec sessions
 * session.c's.
 *
 * A connection's life:
 *   accept        peer credentials (SO_PEERCRED, SO_PEERGROUPS): root or a
 *                 member of [enter] group, else an ERROR and close
 *   C_NEW         the first complete frame must arrive within HANDSHAKE_MS
 *                 (a peer that sends nothing, or half a frame, is dropped)
 *   (STATUS)      reply, flush, close
 *   C_STOP        acknowledge, start the halt, stay open: the close at the
 *                 end of the halt is the client's "box is gone"
 *   C_SESSION     frames go to the session until it ends
 *   C_ENDING      flushing the last frames before the close
 *
 * Untrusted bytes: frames go through proto_decode; a frame that cannot be
 * valid, or a kind the current state does not take, is refused from its
 * header, before any of its payload is buffered. Reads land in one shared
 * scratch buffer; only an incomplete frame is copied to the connection. */
#include "enter/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "config/config.h"


#define HANDSHAKE_MS 10000
#define PART_KEEP 4096	      /* a partial-frame buffer above this is freed after use */
#define HOLD_MAX (256 * 1024) /* frames kept while a session starts */

static void conn_reading(struct enter_conn *c);

/* ---- connection lifetime ------------------------------------------------ */

void server_unref(struct enter_server *srv)
{
	if (--srv->refs)
		return;
	enter_events_free(srv->events);
	free(srv->path);
	free(srv);
}

void conn_ref(struct enter_conn *c)
{
	c->refs++;
}

void conn_unref(struct enter_conn *c)
{
	if (--c->refs)
		return;
	struct enter_server *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->n_conns--;
	if (c->sess) {
		srv->n_sessions--;
		session_free(c->sess);
	}
	free(c->part);
	free(c->refusal);
	free(c);
	server_unref(srv);
}

static void conn_handle_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

/* The socket is gone: a session still running learns it here, once, from
 * the loop (never from inside a send). */
static void conn_sock_closed(uv_handle_t *h)
{
	struct enter_conn *c = h->data;
	if (c->sess)
		session_client_gone(c->sess);
	conn_unref(c);
}

void conn_close_sock(struct enter_conn *c)
{
	if (c->sock_closing)
		return;
	if (c->state == C_EVENTS)
		enter_events_unlisten(c->srv->events, c);
	/* a bind still running: killed and reaped, its result dropped */
	if (c->job_cancel)
		c->job_cancel(c->job, c);
	else
		binds_job_cancel(c->job);
	c->job = NULL;
	c->job_cancel = NULL;
	c->sock_closing = true;
	c->state = C_ENDING;
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&c->sock, conn_sock_closed);
}

static void conn_shut(uv_shutdown_t *req, int status)
{
	conn_close_sock(req->data);
}

void conn_end(struct enter_conn *c)
{
	if (c->state == C_ENDING || c->sock_closing)
		return;
	c->state = C_ENDING;
	uv_timer_stop(&c->timer);
	conn_reading(c);
	c->shut.data = c;
	/* uv_shutdown completes once every queued frame is written. */
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->sock, conn_shut) < 0)
		conn_close_sock(c);
}

void conn_attach(struct enter_conn *c, struct enter_session *s)
{
	c->sess = s;
	c->srv->n_sessions++;
}

struct uv_loop_s *conn_loop(const struct enter_conn *c)
{
	return c->srv->loop;
}

const struct enter_box *conn_box(const struct enter_conn *c)
{
	return c->srv->box;
}

struct inbox_spawner **conn_spawner(struct enter_conn *c)
{
	return &c->srv->spawner;
}

void conn_peer(const struct enter_conn *c, uid_t *uid, pid_t *pid)
{
	*uid = c->peer.uid;
	*pid = c->peer.pid;
}

/* ---- sending ------------------------------------------------------------ */

static void conn_sent(void *data, int status)
{
	struct enter_conn *c = data;
	if (status < 0) {
		if (status != UV_ECANCELED)
			conn_close_sock(c);
		return;
	}
	if (c->sess && !c->sock_closing)
		session_client_drained(c->sess);
}

static int conn_write(struct enter_conn *c, const void *a, size_t alen, const void *b,
		      size_t blen)
{
	if (c->sock_closing || c->state == C_ENDING)
		return -1;
	if (enter_stream_send((uv_stream_t *)&c->sock, a, alen, b, blen, conn_sent, c) < 0) {
		conn_close_sock(c);
		return -1;
	}
	return 0;
}

int conn_send_frame(struct enter_conn *c, const struct strbuf *frames)
{
	return conn_write(c, frames->s, frames->len, NULL, 0);
}

int conn_send_data(struct enter_conn *c, uint8_t kind, const void *payload, size_t len)
{
	uint8_t hdr[PROTO_HDR];
	proto_header(hdr, kind, (uint32_t)len);
	return conn_write(c, hdr, sizeof hdr, payload, len);
}

int conn_send_raw(struct enter_conn *c, const void *bytes, size_t len)
{
	return conn_write(c, bytes, len, NULL, 0);
}

int conn_fd(const struct enter_conn *c)
{
	uv_os_fd_t fd;
	if (c->sock_closing || c->state == C_ENDING ||
	    uv_fileno((const uv_handle_t *)&c->sock, &fd) < 0)
		return -1;
	return fd;
}

size_t conn_queued(const struct enter_conn *c)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&c->sock);
}

uint16_t conn_version(const struct enter_conn *c)
{
	return c->version;
}

void conn_fail(struct enter_conn *c, uint32_t status, enum proto_err code, const char *msg)
{
	struct strbuf b = { 0 };
	if (proto_put_error(&b, c->version, status, code, msg) == 0)
		conn_send_frame(c, &b);
	sb_free(&b);
	conn_end(c);
}

/* ---- receiving ---------------------------------------------------------- */

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	size_t len;
	buf->base = enter_scratch(&len);
	buf->len = len;
}

static void conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf);

/* The socket is read unless the stdin pipe is full (paused), HOLD_MAX bytes
 * wait for a session that is still starting (held), or the connection is
 * ending. Reading on while held is what lets a client that gives up on a
 * slow start be noticed. */
static void conn_reading(struct enter_conn *c)
{
	bool want = !c->paused && !(c->held && c->part_len >= HOLD_MAX) && !c->sock_closing &&
		    c->state != C_ENDING;
	if (want == c->reading)
		return;
	c->reading = want;
	if (want)
		uv_read_start((uv_stream_t *)&c->sock, conn_alloc, conn_read);
	else
		uv_read_stop((uv_stream_t *)&c->sock);
}

void conn_read_on(struct enter_conn *c)
{
	conn_reading(c);
}

void conn_pause(struct enter_conn *c, bool pause)
{
	c->paused = pause;
	conn_reading(c);
}

/* Which kinds a connection takes in its current state. */
static bool kind_expected(enum conn_state st, uint8_t kind)
{
	if (st == C_NEW)
		return kind == PK_EXEC || kind == PK_STATUS || kind == PK_STOP || kind == PK_OP ||
		       kind == PK_COPY;
	if (st == C_SESSION)
		return kind == PK_STDIN || kind == PK_STDIN_EOF || kind == PK_RESIZE ||
		       kind == PK_SIGNAL;
	return true;
}

static const char *kind_hint(enum conn_state st)
{
	return st == C_NEW ? "a connection starts with EXEC, STATUS, STOP, OP or COPY"
			   : "a session takes STDIN, STDIN_EOF, RESIZE and SIGNAL";
}

static bool kind_ok(struct enter_conn *c, uint8_t kind)
{
	if (kind_expected(c->state, kind))
		return true;
	char msg[128];
	snprintf(msg, sizeof msg, "protocol error: unexpected frame kind 0x%02x (%s)", kind,
		 kind_hint(c->state));
	conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, msg);
	return false;
}

/* Refuse a frame from its header, before buffering its payload. */
static bool header_ok(struct enter_conn *c, const uint8_t *p, size_t have)
{
	return have < PROTO_HDR || kind_ok(c, p[4]);
}

/* A paused box, or one at its session limit, starts no session (EXEC,
 * COPY): the refusal is sent and false returned. */
static bool session_admit(struct enter_conn *c)
{
	struct enter_server *srv = c->srv;
	if (srv->box_paused) {
		conn_fail(c, EXIT_PLANET, PE_PAUSED, "the box is paused (planet resume)");
		return false;
	}
	if (srv->n_sessions >= srv->max_sessions) {
		char msg[64];
		snprintf(msg, sizeof msg, "too many sessions (limit %u)", srv->max_sessions);
		conn_fail(c, EXIT_PLANET, PE_LIMIT, msg);
		return false;
	}
	return true;
}

static void exec_request(struct enter_conn *c, const struct proto_frame *f)
{
	struct perr e = { 0 };
	if (!session_admit(c))
		return;
	struct proto_exec x;
	int rc = f->kind == PK_COPY ? copy_request_exec(f, &x, &e)
				    : proto_exec_parse(f->payload, f->len, &x, &e);
	if (rc < 0) {
		conn_fail(c, EXIT_PLANET, e.errnum == ENOMEM ? PE_INTERNAL : PE_BAD_REQUEST, e.msg);
		return;
	}
	c->state = C_SESSION;
	rc = session_start(c, &x, &e);
	proto_exec_free(&x);
	if (rc < 0)
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, e.msg);
}

static void conn_frame(struct enter_conn *c, const struct proto_frame *f)
{
	struct perr e = { 0 };
	if (!kind_ok(c, f->kind))
		return;
	switch (c->state) {
	case C_NEW:
		uv_timer_stop(&c->timer);
		if (!enter_request_allowed(c, f))
			return;
		if (f->kind == PK_STATUS) {
			control_status(c, enter_server_sessions(c->srv));
		} else if (f->kind == PK_STOP) {
			c->state = C_STOP;
			control_stop(c, f);
		} else if (f->kind == PK_OP) {
			c->state = C_OP;
			ops_request(c, f);
		} else {
			exec_request(c, f);
		}
		return;
	case C_SESSION:
		if (session_frame(c->sess, f, &e) < 0)
			conn_fail(c, EXIT_PLANET, PE_BAD_REQUEST, e.msg);
		return;
	default:
		return;
	}
}

/* The first frame's version decides the layout of every ERROR the
 * connection gets, from as soon as its 7 bytes are in: a refusal of the
 * request itself included. */
static void learn_version(struct enter_conn *c, const uint8_t *p, size_t n)
{
	uint16_t v;
	if (c->state != C_NEW || c->version || proto_request_version(p, n, &v) != 1)
		return;
	c->version = proto_reply_version(v);
	c->version_refused = c->version != v;
}

/* A frame that can never be valid. When the request's version is one the
 * server does not speak, that is what the client must learn (PE_VERSION):
 * the decoder checks a request's version right after its header. */
static void decode_failed(struct enter_conn *c, const struct perr *e)
{
	bool version = c->state == C_NEW && c->version_refused;
	conn_fail(c, EXIT_PLANET, version ? PE_VERSION : PE_BAD_REQUEST, e->msg);
}

static bool conn_feeding(const struct enter_conn *c)
{
	return (c->state == C_NEW || c->state == C_SESSION) && !c->sock_closing;
}

static int part_append(struct enter_conn *c, const uint8_t *p, size_t n)
{
	size_t want = c->part_len + n;
	/* Make room for the whole first frame at once when its length is
	 * known (and sane: a bad one is refused by the decoder, not here). */
	size_t total;
	if ((c->part_len ? proto_frame_total(c->part, c->part_len, &total)
			 : proto_frame_total(p, n, &total)) == 1 &&
	    total > want && total <= 4 + (size_t)PROTO_MAX_FRAME)
		want = total;
	if (want > c->part_cap) {
		uint8_t *np = realloc(c->part, want);
		if (!np)
			return -1;
		c->part = np;
		c->part_cap = want;
	}
	memcpy(c->part + c->part_len, p, n);
	c->part_len += n;
	return 0;
}

/* Bytes still missing from the frame begun in c->part. */
static size_t part_need(const struct enter_conn *c)
{
	size_t total;
	if (c->part_len < PROTO_HDR || proto_frame_total(c->part, c->part_len, &total) != 1)
		return PROTO_HDR - c->part_len;
	return total > c->part_len ? total - c->part_len : 0;
}

static void part_done(struct enter_conn *c)
{
	c->part_len = 0;
	if (c->part_cap > PART_KEEP) {
		free(c->part);
		c->part = NULL;
		c->part_cap = 0;
	}
}

/* Dispatch the complete frames at the front of p. Returns the bytes used:
 * up to an incomplete frame (its header, when there, accepted) or up to
 * where input got held; everything once the connection failed. */
static size_t feed_frames(struct enter_conn *c, const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off < n && conn_feeding(c) && !c->held) {
		struct perr e = { 0 };
		struct proto_frame f;
		size_t used;
		learn_version(c, p + off, n - off);
		int r = proto_decode(p + off, n - off, &f, &used, &e);
		if (r < 0) {
			decode_failed(c, &e);
			return n;
		}
		if (r == 0) {
			if (!header_ok(c, p + off, n - off))
				return n;
			break;
		}
		conn_frame(c, &f);
		off += used;
	}
	return conn_feeding(c) ? off : n;
}

/* Continue the incomplete frame in c->part with new bytes; returns how
 * many were used, or -1 when the connection failed. */
static ssize_t feed_part(struct enter_conn *c, const uint8_t *p, size_t n)
{
	struct perr e = { 0 };
	size_t k = part_need(c);
	if (k > n)
		k = n;
	if (part_append(c, p, k) < 0) {
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "out of memory");
		return -1;
	}
	struct proto_frame f;
	size_t used;
	learn_version(c, c->part, c->part_len);
	int r = proto_decode(c->part, c->part_len, &f, &used, &e);
	if (r < 0) {
		decode_failed(c, &e);
		return -1;
	}
	if (r == 0)
		return header_ok(c, c->part, c->part_len) ? (ssize_t)k : -1;
	conn_frame(c, &f);
	part_done(c);
	return (ssize_t)k;
}

static void conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct enter_conn *c = st->data;
	if (n == 0)
		return;
	if (c->state == C_REFUSED) {
		conn_refused_read(c, (const uint8_t *)buf->base, n);
		return;
	}
	if (n < 0) { /* EOF or error: the client is gone */
		conn_close_sock(c);
		return;
	}
	/* C_STOP: the client only waits; what it sends is ignored. */
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t left = (size_t)n;
	while (c->part_len && left && conn_feeding(c) && !c->held) {
		ssize_t k = feed_part(c, p, left);
		if (k < 0)
			return;
		p += k;
		left -= (size_t)k;
	}
	if (!conn_feeding(c))
		return;
	size_t used = feed_frames(c, p, left);
	/* Keep the rest: an incomplete frame, or what arrived behind a hold. */
	if (used < left && part_append(c, p + used, left - used) < 0)
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "out of memory");
	conn_reading(c);
}

/* Frames that arrived while input was held (the session was starting). */
static void conn_replay(struct enter_conn *c)
{
	if (!c->part_len || !conn_feeding(c))
		return;
	size_t used = feed_frames(c, c->part, c->part_len);
	if (used >= c->part_len || !conn_feeding(c)) {
		part_done(c);
		return;
	}
	memmove(c->part, c->part + used, c->part_len - used);
	c->part_len -= used;
}

void conn_hold(struct enter_conn *c, bool hold)
{
	bool was = c->held;
	c->held = hold;
	if (was && !hold)
		conn_replay(c);
	conn_reading(c);
}

static void handshake_expired(uv_timer_t *t)
{
	char msg[64];
	snprintf(msg, sizeof msg, "no complete request within %d s", HANDSHAKE_MS / 1000);
	conn_fail(t->data, EXIT_PLANET, PE_TIMEOUT, msg);
}

struct enter_conn *conn_new(struct enter_server *srv)
{
	struct enter_conn *c = calloc(1, sizeof *c);
	if (!c || uv_pipe_init(srv->loop, &c->sock, 0) < 0) {
		free(c);
		return NULL;
	}
	c->srv = srv;
	c->sock.data = c;
	c->timer.data = c;
	c->peer.pid = -1;
	c->peer.uid = (uid_t)-1;
	uv_timer_init(srv->loop, &c->timer);
	c->refs = 2; /* sock, timer */
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	srv->n_conns++;
	srv->refs++;
	return c;
}

bool conn_events_json(const struct enter_conn *c)
{
	return c->events_json;
}

unsigned long conn_events_lost(const struct enter_conn *c)
{
	return c->events_lost;
}

void conn_events_set_lost(struct enter_conn *c, unsigned long n)
{
	c->events_lost = n;
}

void *conn_job(const struct enter_conn *c)
{
	return c->job;
}

void conn_set_job(struct enter_conn *c, void *job)
{
	c->job = job;
	c->job_cancel = NULL;
}

void conn_set_job_fn(struct enter_conn *c, void *job, void (*cancel)(void *job, struct enter_conn *c))
{
	c->job = job;
	c->job_cancel = job ? cancel : NULL;
}

struct enter_server *conn_server(const struct enter_conn *c)
{
	return c->srv;
}

void conn_wait(struct enter_conn *c, void (*cb)(uv_timer_t *), unsigned ms)
{
	c->wait_t0 = now_ns();
	uv_timer_start(&c->timer, cb, ms, ms);
}

unsigned long long conn_waited_ms(const struct enter_conn *c)
{
	return (now_ns() - c->wait_t0) / 1000000ull;
}

/* Accepted and let in: the first frame is due within HANDSHAKE_MS. */
void conn_begin(struct enter_conn *c)
{
	uv_timer_start(&c->timer, handshake_expired, HANDSHAKE_MS, 0);
	conn_reading(c);
}
