/* planet stop and planet status: one control request, one answer (and for
 * stop, the connection held open until the box is gone); the status reply
 * printed as key=value lines or one JSON object. */
#include "client/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define EXIT_NOT_RUNNING 3 /* planet status: LSB "program is not running" */

/* Connect and send one control request. Returns the socket, or -1 with a
 * message in e; *not_running tells "no box there" from other failures. */
static int control_request(const char *path, const struct strbuf *req, bool *not_running,
			   struct perr *e)
{
	*not_running = false;
	signal(SIGPIPE, SIG_IGN);
	_cleanup_fd_ int fd = client_dial(path, e);
	if (fd < 0) {
		*not_running = e->errnum == ENOENT || e->errnum == ECONNREFUSED;
		return -1;
	}
	client_remote_no_box_answers(fd); /* over ssh: no box there is an answer */
	if (client_write_full(fd, req->s, req->len) < 0)
		return perr_set(e, errno, "send to %s", path);
	return take_fd(&fd);
}

/* Send a control request (req is consumed) and wait for its answer.
 * Returns 1 with the answer of kind `want` in *f, the connection in *fd and
 * rx ready (the caller frees both); 0 when no box answers at path; -1 when
 * the exchange failed, already reported, with the exit status in *status.
 * `before` ends "connection ... closed before ..." for an early close. */
int client_control_exchange(const char *path, struct strbuf *req, uint8_t want,
			   const char *before, int *fd, struct client_rx *rx, struct proto_frame *f,
			   int *status)
{
	struct perr e = { 0 };
	bool not_running;
	*status = EXIT_PLANET;
	*fd = control_request(path, req, &not_running, &e);
	sb_free(req);
	if (*fd < 0 && not_running)
		return 0;
	if (*fd < 0) {
		fprintf(stderr, "planet: %s\n", e.msg);
		return -1;
	}
	if (client_rx_init(rx) < 0)
		return -1;
	int r = client_rx_wait(rx, *fd, f, &e);
	if (r == 0 && client_remote_no_box(*fd)) {
		client_rx_free(rx);
		return 0;
	}
	if (r < 0)
		fprintf(stderr, "planet: %s\n", e.msg);
	else if (r == 0)
		fprintf(stderr, "planet: connection to %s closed before %s\n", path, before);
	else if (f->kind == PK_ERROR)
		*status = client_report_error(f);
	else if (f->kind != want)
		client_unexpected(f, want == PK_STOP_ACK	? "in answer to STOP"
				     : want == PK_OP_REPLY ? "in answer to OP"
							   : "in answer to STATUS");
	else
		return 1;
	client_rx_free(rx);
	return -1;
}

/* ---- stop ------------------------------------------------------------------ */

int client_stop_box(const struct client_opts *o)
{
	const char *path = client_socket_path(o->socket);
	struct strbuf req = { 0 };
	struct perr e = { 0 };
	if (proto_put_stop(&req, o->timeout) < 0) {
		sb_free(&req);
		return EXIT_PLANET;
	}
	_cleanup_fd_ int fd = -1;
	struct client_rx rx;
	struct proto_frame f;
	int status;
	int r = client_control_exchange(path, &req, PK_STOP_ACK, "the halt began", &fd, &rx, &f, &status);
	if (r == 0) {
		fprintf(stderr, "planet: no box is running at %s (nothing to stop)\n", path);
		return 0;
	}
	if (r < 0)
		return status;
	/* The halt has begun; the server holds the connection until the box is
	 * gone, so EOF is our "done". */
	if ((r = client_rx_wait(&rx, fd, &f, &e)) == 0)
		status = 0;
	else if (r < 0)
		fprintf(stderr, "planet: %s\n", e.msg);
	else if (f.kind == PK_ERROR) /* killed at the deadline: EXIT_STOP_KILLED */
		status = client_report_error(&f);
	else
		client_unexpected(&f, "after STOP_ACK");
	client_rx_free(&rx);
	return status;
}

/* ---- status ---------------------------------------------------------------- */

int client_box_state(const char *path, char *state, size_t len)
{
	struct strbuf req = { 0 };
	struct perr e = { 0 };
	bool not_running;
	if (proto_put_status(&req) < 0) {
		sb_free(&req);
		return -1;
	}
	_cleanup_fd_ int fd = control_request(path, &req, &not_running, &e);
	sb_free(&req);
	if (fd < 0)
		return not_running ? 0 : -1;
	/* Only a remark after the session: never hang on a stuck supervisor. */
	struct timeval tv = { .tv_sec = 2 };
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct client_rx rx;
	struct proto_frame f;
	if (client_rx_init(&rx) < 0)
		return -1;
	int r = client_rx_wait(&rx, fd, &f, &e) == 1 && f.kind == PK_STATUS_REPLY ? 1 : -1;
	_cleanup_free_ char *text = r == 1 ? strndup((const char *)f.payload, f.len) : NULL;
	if (!text || !kv_get(text, "state", state, len))
		state[0] = 0;
	client_rx_free(&rx);
	return r;
}

/* Keys whose values are integers, printed as JSON numbers. */
static bool numeric_key(const char *k, size_t n)
{
	static const char *const keys[] = { "init_pid", "uptime_sec", "sessions",
					     "sessions_detached" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (strlen(keys[i]) == n && memcmp(keys[i], k, n) == 0)
			return true;
	return false;
}

static bool all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

void client_json_string(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The reply is "key=value\n" lines; lines without '=' are skipped. */
static void print_status_json(const char *text, size_t len)
{
	fputs("{\"running\":true", stdout);
	for (const char *line = text, *end = text + len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		const char *eq = memchr(line, '=', n);
		if (eq && eq != line) {
			size_t kn = (size_t)(eq - line), vn = n - kn - 1;
			putchar(',');
			client_json_string(line, kn);
			putchar(':');
			if (numeric_key(line, kn) && all_digits(eq + 1, vn))
				fwrite(eq + 1, 1, vn, stdout);
			else
				client_json_string(eq + 1, vn);
		}
		line += n + 1;
	}
	fputs("}\n", stdout);
}

static int print_status(const struct client_opts *o, const struct proto_frame *f)
{
	if (o->json) {
		print_status_json((const char *)f->payload, f->len);
	} else {
		fputs("running=yes\n", stdout);
		client_print_clean(stdout, f->payload, f->len, true);
		if (f->len && f->payload[f->len - 1] != '\n')
			putchar('\n');
	}
	return fflush(stdout) == 0 ? 0 : EXIT_PLANET;
}

int client_status_query(const char *path, struct client_rx *rx, struct proto_frame *f,
			int *status)
{
	struct strbuf req = { 0 };
	*status = EXIT_PLANET;
	if (proto_put_status(&req) < 0) {
		sb_free(&req);
		return -1;
	}
	_cleanup_fd_ int fd = -1;
	return client_control_exchange(path, &req, PK_STATUS_REPLY, "the status came", &fd, rx, f,
				       status);
}

int client_status_box(const struct client_opts *o)
{
	const char *path = client_socket_path(o->socket);
	struct client_rx rx;
	struct proto_frame f;
	int status;
	int r = client_status_query(path, &rx, &f, &status);
	if (r == 0) {
		fputs(o->json ? "{\"running\":false}\n" : "running=no\n", stdout);
		fflush(stdout);
		if (o->state_dir)
			client_leftovers(o->state_dir, path);
		return EXIT_NOT_RUNNING;
	}
	if (r < 0)
		return status;
	status = print_status(o, &f);
	client_rx_free(&rx);
	return status;
}
