/* core/log: planet's own lines (lifecycle, errors, the enter audit).
 *
 * Each line is one record: to the journal's native socket when it exists
 * (SYSLOG_IDENTIFIER=planet or planet-audit, PRIORITY=<syslog level>,
 * MESSAGE=...), and to stderr as "planet: MSG" or "planet-audit: MSG"
 * unless stderr is the journal's stream already (JOURNAL_STREAM, as under
 * planet.service); on stderr always in one write ending in "\n", so that
 * no other output can land inside it. Control characters in the message are escaped C-style (\n,
 * \t, \x1b), so one record is always one line.
 *
 * The box's console is not logged here: box/supervise.c relays it to
 * stdout, each line prefixed with "console: ", which these lines never
 * carry. See docs/LOGGING.md. */
#ifndef PLANET_CORE_LOG_H
#define PLANET_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO */

/* A lifecycle or error line of the supervisor (identifier "planet"). */
void plog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An audit record of the enter API (identifier "planet-audit"). */
void plog_audit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* While set, a line bound for stderr is handed to sink instead (the whole
 * line, "\n" included), so that the supervisor can queue it in order with
 * the console relay when stdout and stderr are one file. NULL: write it. */
void log_set_stderr_sink(void (*sink)(void *ctx, const char *line, size_t len), void *ctx);

/* Append s[0..n) to out with control characters and DEL escaped C-style
 * (\n \t \r \xNN), and '\' as \\ when backslash is set (text whose
 * escapes must be told from its own backslashes: the console's). out must
 * hold 4*n bytes; returns the length written. Bytes >= 0x80 (UTF-8 text)
 * are kept. */
size_t log_escape(char *out, const char *s, size_t n, bool backslash);

#endif
