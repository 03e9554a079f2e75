/* base/log.c: planet's own lines, to the journal or to stderr (base.h).
 *
 * The journal's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL): one
 * datagram per record on /run/systemd/journal/socket, "KEY=VALUE\n" fields.
 * MESSAGE never holds a newline here (escaped), so the simple form of a
 * field is enough. journald adds the trusted fields (_PID, _SYSTEMD_UNIT,
 * _TRANSPORT=journal) itself; nothing a box writes can carry them. */
#include "base/base.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
/* For the tests only: a stand-in for journald's socket. */
#define JOURNAL_SOCKET_ENV "PLANET_TEST_JOURNAL_SOCKET"
#define MSG_MAX 2048
#define STDERR_WAIT_MS 100 /* for room on a stalled stderr pipe */

static void (*stderr_sink)(void *ctx, const char *line, size_t len);
static void *stderr_sink_ctx;

void log_set_stderr_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx)
{
	stderr_sink = sink;
	stderr_sink_ctx = ctx;
}

static int journal_fd = -1; /* opened at the first record, closed by log_close */

/* Send one record to the journal; false when there is no journal (or it
 * cannot take the record now: never wait for it, the line goes to stderr). */
static bool journal_send(int prio, const char *ident, const char *msg, size_t n)
{
	const char *path = getenv(JOURNAL_SOCKET_ENV);
	if (!path || !*path)
		path = JOURNAL_SOCKET;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t plen = strlen(path);
	if (plen >= sizeof a.sun_path)
		return false;
	memcpy(a.sun_path, path, plen);
	if (journal_fd < 0 && (journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	char head[96];
	int h = snprintf(head, sizeof head, "PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nMESSAGE=", prio,
			 ident);
	struct iovec iov[3] = { { head, (size_t)h }, { (void *)msg, n }, { "\n", 1 } };
	struct msghdr m = { .msg_name = &a, .msg_namelen = sizeof a, .msg_iov = iov,
			    .msg_iovlen = 3 };
	return sendmsg(journal_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0;
}

/* systemd sets JOURNAL_STREAM=DEV:INO for a unit whose stdout or stderr
 * is a journal stream; it is ours when it names our stderr. */
static bool stderr_is_journal(void)
{
	static int cached = -1;
	if (cached < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat st;
		cached = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
			 fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
	}
	return cached;
}

static void stderr_line(const char *ident, const char *msg, size_t n)
{
	char line[MSG_MAX * 4 + 64];
	int k = snprintf(line, sizeof line, "%s: %.*s\n", ident, (int)n, msg);
	if (k < 0 || (size_t)k >= sizeof line)
		return; /* cannot be: msg is at most 4 * MSG_MAX */
	size_t len = (size_t)k;
	if (stderr_sink) {
		stderr_sink(stderr_sink_ctx, line, len);
		return;
	}
	/* A reader that stopped reading must not stop the supervisor: wait a
	 * little for room, then drop the line and say so with the next one. */
	static unsigned long dropped;
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };
	if (poll(&p, 1, STDERR_WAIT_MS) != 1 || !(p.revents & POLLOUT)) {
		dropped++;
		return;
	}
	if (dropped) {
		char m[96];
		int mk = snprintf(m, sizeof m, "planet: %lu log lines dropped: stderr was stalled\n",
				  dropped);
		dropped = 0;
		(void)write_all(STDERR_FILENO, m, (size_t)mk);
	}
	/* One write: stderr may be shared with other writers (the console
	 * relay on the same journal stream or file). */
	(void)write_all(STDERR_FILENO, line, len);
}

static void log_v(int prio, const char *ident, const char *fmt, va_list ap)
{
	char raw[MSG_MAX], msg[MSG_MAX * 4 + 1];
	int r = vsnprintf(raw, sizeof raw, fmt, ap);
	if (r < 0)
		return;
	size_t n = (size_t)r < sizeof raw ? (size_t)r : sizeof raw - 1;
	/* planet quotes the values it logs (sb_quote); this only keeps a
	 * record on one line whatever a message holds. */
	size_t m = str_escape(msg, sizeof msg, raw, n, 0);
	/* Under a unit, stderr is the journal already: once is enough. Run
	 * by hand or by a script, stderr shows the line too. */
	if (!journal_send(prio, ident, msg, m) || !stderr_is_journal())
		stderr_line(ident, msg, m);
}

void plog(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(prio, "planet", fmt, ap);
	va_end(ap);
}

void plog_audit(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(LOG_NOTICE, "planet-audit", fmt, ap);
	va_end(ap);
}

void log_close(void)
{
	if (journal_fd >= 0)
		close(journal_fd);
	journal_fd = -1;
}
