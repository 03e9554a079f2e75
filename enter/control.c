/* enter: the control requests, each a connection's first frame: STATUS (a
 * reply, then the close) and STOP (an acknowledgement, then the halt; the
 * connection stays open until the box is gone). EXEC sessions are
 * session.c's. */
#include "enter/internal.h"

#include <time.h>

#include "config/config.h"

void control_status(struct enter_conn *c, unsigned sessions)
{
	const struct enter_box *box = conn_box(c);
	struct strbuf b = { 0 };
	struct strbuf reply = { 0 };
	struct strbuf root = { 0 };
	/* One line per key: no control character of a path may break it. */
	for (const char *r = box->cfg->rootfs ? box->cfg->rootfs : ""; *r; r++)
		sb_append(&root, (unsigned char)*r < 0x20 || *r == 0x7f ? "?" : r, 1);
	unsigned long long now = (unsigned long long)time(NULL);
	unsigned long long up = now > box->started_unix ? now - box->started_unix : 0;
	int rc = sb_printf(&b,
			   "state=%s\nbox_id=%s\ninit_pid=%d\nuptime_sec=%llu\nrootfs=%s\n"
			   "sessions=%u\nsessions_detached=%u\n",
			   enter_server_state(conn_server(c)), box->box_id, (int)box->init_pid, up,
			   root.s ? root.s : "", sessions, enter_server_detached(conn_server(c)));
	if (rc == 0) {
		binds_describe(&b);
		devices_describe(&b);
	}
	if (rc < 0 || proto_put_status_reply(&reply, b.s, b.len) < 0)
		conn_fail(c, EXIT_PLANET, PE_INTERNAL, "out of memory");
	else
		conn_send_frame(c, &reply);
	sb_free(&b);
	sb_free(&reply);
	sb_free(&root);
	conn_end(c);
}

void control_stop(struct enter_conn *c, const struct proto_frame *f)
{
	uint32_t timeout = 0;
	(void)proto_get_stop(f, &timeout);
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	enter_audit("enter: stop uid=%u pid=%d timeout_sec=%u", (unsigned)uid, (int)pid, timeout);
	struct strbuf ack = { 0 };
	if (proto_put_empty(&ack, PK_STOP_ACK) == 0)
		conn_send_frame(c, &ack);
	sb_free(&ack);
	const struct enter_box *box = conn_box(c);
	if (box->request_stop)
		box->request_stop(box->ctx, timeout);
}
