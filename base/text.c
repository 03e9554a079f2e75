/* base: the one C-style escaper behind every quoted value and every log
 * line planet writes (error messages, audit records, the console relay),
 * so that a value a client, an operator or the box chose stays on one
 * line and inside its quotes, and reads the same everywhere. */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>

#define CUT "..."

/* One byte's escape into e (at most 4 bytes); its length. */
static size_t escape_byte(char e[4], unsigned char c, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	bool plain = c >= 0x20 && c != 0x7f && !(c >= 0x80 && (flags & ESC_HIGH)) &&
		     !(c == '"' && (flags & ESC_DQUOTE)) && !(c == '\\' && (flags & ESC_BACKSLASH));
	if (plain) {
		e[0] = (char)c;
		return 1;
	}
	e[0] = '\\';
	switch (c) {
	case '\n': e[1] = 'n'; return 2;
	case '\t': e[1] = 't'; return 2;
	case '\r': e[1] = 'r'; return 2;
	case '"':
	case '\\': e[1] = (char)c; return 2;
	default:
		e[1] = 'x';
		e[2] = hex[c >> 4];
		e[3] = hex[c & 15];
		return 4;
	}
}

size_t str_escape(char *out, size_t size, const char *s, size_t n, unsigned flags)
{
	size_t o = 0;
	if (!size)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char e[4];
		size_t k = escape_byte(e, (unsigned char)s[i], flags);
		/* Room for this byte and, were it the last to fit, the cut mark. */
		if (o + k + (i + 1 < n ? sizeof CUT - 1 : 0) >= size) {
			size_t c = sizeof CUT - 1 < size - 1 - o ? sizeof CUT - 1 : size - 1 - o;
			memcpy(out + o, CUT, c);
			o += c;
			break;
		}
		memcpy(out + o, e, k);
		o += k;
	}
	out[o] = 0;
	return o;
}

bool str_is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

const char *str_quote(char *buf, size_t size, const char *s, size_t n)
{
	if (size < 3)
		return size ? (buf[0] = 0, buf) : buf;
	buf[0] = '"';
	size_t o = 1 + str_escape(buf + 1, size - 2, s, n, ESC_DQUOTE | ESC_BACKSLASH);
	buf[o++] = '"';
	buf[o] = 0;
	return buf;
}

int sb_quote(struct strbuf *b, const char *s, size_t max)
{
	if (max < 3)
		return 0;
	size_t n = strlen(s);
	/* Escapes grow a byte to 4 at most; max bounds what is appended. */
	size_t room = 4 * n + 3 < max ? 4 * n + 3 : max;
	char *tmp = malloc(room + 1);
	if (!tmp)
		return sb_append(b, "\"?\"", 3), -1;
	tmp[0] = '"';
	size_t o = 1 + str_escape(tmp + 1, room - 1, s, n, ESC_DQUOTE | ESC_BACKSLASH | ESC_HIGH);
	tmp[o++] = '"';
	tmp[o] = 0;
	int r = sb_append(b, tmp, strlen(tmp));
	free(tmp);
	return r;
}

const char *kv_get(const char *text, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
			size_t vl = strcspn(l + kl + 1, "\n");
			if (vl >= len)
				return NULL;
			memcpy(buf, l + kl + 1, vl);
			buf[vl] = 0;
			return buf;
		}
	return NULL;
}
