/* enter: the audit records (base/log.c sends them to the journal as
 * planet-audit) and the escaping of the values they quote, which the
 * server's ERROR messages use too: whatever a client or the box chose stays
 * inside its quotes, on one line of ASCII. */
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

/* The escapes of enter_quote; quote: also '"', and room kept for the
 * closing quote. Appends at most max bytes, "..." marking a cut. */
static void escape(struct strbuf *b, const char *s, size_t max, bool quote)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = b->len, tail = quote ? 4 : 3;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[4] = { '\\', (char)ch, 0, 0 };
		size_t n = 2;
		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && (ch != '"' || !quote)) {
			esc[0] = (char)ch;
			n = 1;
		} else if (ch == '\n' || ch == '\t' || ch == '\r') {
			esc[1] = (char)(ch == '\n' ? 'n' : ch == '\t' ? 't' : 'r');
		} else if (ch < 0x20 || ch >= 0x7f) {
			esc[1] = 'x';
			esc[2] = hex[ch >> 4];
			esc[3] = hex[ch & 15];
			n = 4;
		}
		if (b->len - start + n + tail > max) {
			sb_append(b, "...", 3);
			break;
		}
		sb_append(b, esc, n);
	}
}

void enter_quote(struct strbuf *b, const char *s, size_t max)
{
	sb_append(b, "\"", 1);
	escape(b, s, max > 1 ? max - 1 : 0, true);
	sb_append(b, "\"", 1);
}

void enter_escape(struct strbuf *b, const char *s, size_t max)
{
	escape(b, s, max, false);
}

int session_audit_prepare(struct session_audit *a, const struct proto_exec *x)
{
	struct strbuf b = { 0 };
	for (char **v = x->argv; *v && b.len < AUDIT_ARGV_MAX; v++) {
		if (b.len)
			sb_append(&b, " ", 1);
		enter_quote(&b, *v, AUDIT_ARGV_MAX - b.len);
	}
	struct strbuf u = { 0 };
	enter_quote(&u, *x->user ? x->user : "root", 64);
	struct strbuf w = { 0 };
	enter_quote(&w, *x->cwd ? x->cwd : "~", 256);
	a->argv = b.s;
	a->user = u.s;
	a->cwd = w.s;
	a->tty = x->tty;
	a->t0 = now_ns();
	return b.s && u.s && w.s ? 0 : -1;
}

void session_audit(const struct session_audit *a, const struct enter_conn *c,
		   const char *result, bool gone)
{
	uid_t uid;
	pid_t pid;
	conn_peer(c, &uid, &pid);
	enter_audit("enter: uid=%u pid=%d user=%s cwd=%s tty=%s argv=%s result=%s%s duration_ms=%llu",
		    (unsigned)uid, (int)pid, a->user ? a->user : "?", a->cwd ? a->cwd : "?",
		    a->tty ? "yes" : "no", a->argv ? a->argv : "?", result,
		    gone ? " client=gone" : "", (now_ns() - a->t0) / 1000000ull);
}

void session_audit_free(struct session_audit *a)
{
	free(a->argv);
	free(a->user);
	free(a->cwd);
}
