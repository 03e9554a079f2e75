/* enter: the event stream (`planet events`, an OP "events" request that
 * stays open): box state changes, OOM kills, memory pressure, limit changes,
 * sessions, init's exit, each one line to every listener, as text or JSON.
 *
 * A slow listener never holds the supervisor: while more than
 * EVENTS_QUEUE_MAX bytes wait for it, its events are counted instead of
 * queued, and once it has caught up it gets one `lost` event saying how
 * many. The last EVENTS_KEPT events are kept for `--since-start`. Nothing
 * runs between events: no timer, no wake-up. At most
 * ENTER_EVENTS_LISTENERS_MAX listeners at once. */
#include "enter/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define EVENTS_QUEUE_MAX (64 * 1024)
/* ENTER_EVENTS_LISTENERS_MAX (internal.h): one more is refused with an
 * ERROR (PE_LIMIT), not queued: a listener stays for the box's life. */
#define EVENTS_KEPT 256
#define FIELDS_MAX 16

struct event {
	char *text, *json; /* each one line, "\n" included */
};

struct enter_events {
	struct event kept[EVENTS_KEPT];
	size_t next, n;
	struct enter_conn *listeners[ENTER_EVENTS_LISTENERS_MAX];
	size_t n_listeners;
};

/* RFC 3339 with microseconds, UTC. */
static void now_rfc3339(char *buf, size_t len)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", (long)tv.tv_usec);
}

static void json_str(struct strbuf *b, const char *s)
{
	sb_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			sb_printf(b, "\\u%04x", c);
		else
			sb_append(b, s, 1);
	}
	sb_append(b, "\"", 1);
}

/* Both renderings of one event: "TIME TYPE k=v..." and a JSON object. */
static int render(struct event *ev, const char *type, const char *const *kv, size_t n)
{
	char t[40];
	now_rfc3339(t, sizeof t);
	struct strbuf x = { 0 }, j = { 0 };
	sb_printf(&x, "%s %s", t, type);
	sb_printf(&j, "{\"type\":\"%s\",\"time\":\"%s\"", type, t);
	for (size_t i = 0; i + 1 < n; i += 2) {
		sb_printf(&x, " %s=", kv[i]);
		sb_quote(&x, kv[i + 1], 1024);
		sb_printf(&j, ",\"%s\":", kv[i]);
		if (str_is_digits(kv[i + 1] + (kv[i + 1][0] == '-')))
			sb_printf(&j, "%s", kv[i + 1]);
		else
			json_str(&j, kv[i + 1]);
	}
	if (sb_append(&x, "\n", 1) < 0 || sb_append(&j, "}\n", 2) < 0) {
		sb_free(&x);
		sb_free(&j);
		return -1;
	}
	ev->text = x.s;
	ev->json = j.s;
	return 0;
}

static void send_one(struct enter_conn *c, const struct event *ev)
{
	const char *line = conn_events_json(c) ? ev->json : ev->text;
	unsigned long lost = conn_events_lost(c);
	if (conn_queued(c) > EVENTS_QUEUE_MAX) {
		conn_events_set_lost(c, lost + 1);
		return;
	}
	if (lost) {
		char n[24];
		snprintf(n, sizeof n, "%lu", lost);
		const char *kv[] = { "count", n };
		struct event l;
		if (render(&l, "lost", kv, 2) == 0) {
			const char *ll = conn_events_json(c) ? l.json : l.text;
			conn_send_data(c, PK_OP_REPLY, ll, strlen(ll));
			free(l.text);
			free(l.json);
		}
		conn_events_set_lost(c, 0);
	}
	conn_send_data(c, PK_OP_REPLY, line, strlen(line));
}

void enter_events_emitv(struct enter_events *ev, const char *type, va_list ap)
{
	if (!ev)
		return;
	const char *kv[FIELDS_MAX];
	size_t n = 0;
	for (const char *s; n < FIELDS_MAX && (s = va_arg(ap, const char *));)
		kv[n++] = s;
	struct event *slot = &ev->kept[ev->next];
	free(slot->text);
	free(slot->json);
	*slot = (struct event){ 0 };
	if (render(slot, type, kv, n) < 0)
		return;
	ev->next = (ev->next + 1) % EVENTS_KEPT;
	if (ev->n < EVENTS_KEPT)
		ev->n++;
	for (size_t i = 0; i < ev->n_listeners; i++)
		send_one(ev->listeners[i], slot);
}

int enter_events_listen(struct enter_events *ev, struct enter_conn *c, bool since_start)
{
	if (ev->n_listeners == sizeof ev->listeners / sizeof ev->listeners[0])
		return -1;
	ev->listeners[ev->n_listeners++] = c;
	if (since_start)
		for (size_t k = 0; k < ev->n; k++)
			send_one(c, &ev->kept[(ev->next + EVENTS_KEPT - ev->n + k) % EVENTS_KEPT]);
	return 0;
}

void enter_events_unlisten(struct enter_events *ev, const struct enter_conn *c)
{
	for (size_t i = 0; ev && i < ev->n_listeners; i++)
		if (ev->listeners[i] == c) {
			ev->listeners[i] = ev->listeners[--ev->n_listeners];
			return;
		}
}

struct enter_events *enter_events_new(void)
{
	return calloc(1, sizeof(struct enter_events));
}

void enter_events_free(struct enter_events *ev)
{
	for (size_t i = 0; ev && i < EVENTS_KEPT; i++) {
		free(ev->kept[i].text);
		free(ev->kept[i].json);
	}
	free(ev);
}
