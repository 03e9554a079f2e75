/* proto: the codecs of the requests that came with version 3 besides
 * EXEC's fields: OP (an operation on the running box, "VERB\n" and
 * "key=value" lines) and COPY (planet cp's session). docs/PROTOCOL.md is
 * the normative description. */
#include "proto/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int proto_put_op(struct strbuf *b, const char *verb, const char *args)
{
	_cleanup_strbuf_ struct strbuf p = { 0 };
	uint8_t v[2];
	put16(v, PROTO_VERSION);
	if (sb_append(&p, (const char *)v, 2) < 0 || sb_append(&p, verb, strlen(verb)) < 0 ||
	    sb_append(&p, "\n", 1) < 0 || (args && sb_append(&p, args, strlen(args)) < 0)) {
		errno = ENOMEM;
		return -1;
	}
	if (p.len > PROTO_MAX_FRAME - 1) {
		errno = EMSGSIZE;
		return -1;
	}
	return proto_put_frame(b, PK_OP, p.s, (uint32_t)p.len, NULL, 0);
}

int proto_op_parse(const struct proto_frame *f, struct proto_op *op, struct perr *e)
{
	*op = (struct proto_op){ 0 };
	if (f->kind != PK_OP || f->len < 3)
		return perr_set(e, 0, "not an OP frame");
	op->version = be16(f->payload);
	op->buf_ = malloc(f->len - 1);
	if (!op->buf_)
		return perr_set(e, ENOMEM, "OP");
	memcpy(op->buf_, f->payload + 2, f->len - 2);
	op->buf_[f->len - 2] = 0;
	char *nl = strchr(op->buf_, '\n');
	if (!nl || nl == op->buf_) {
		proto_op_free(op);
		return perr_set(e, 0, "OP: the verb must be one word on the first line");
	}
	*nl = 0;
	op->verb = op->buf_;
	op->args = nl + 1;
	for (const char *v = op->verb; *v; v++)
		if (!((*v >= 'a' && *v <= 'z') || *v == '-')) {
			proto_op_free(op);
			return perr_set(e, 0, "OP: the verb must be a lowercase word");
		}
	return 0;
}

void proto_op_free(struct proto_op *op)
{
	free(op->buf_);
	*op = (struct proto_op){ 0 };
}

int proto_put_copy(struct strbuf *b, const struct proto_copy *c)
{
	size_t n = strlen(c->path);
	uint8_t p[4];
	if (!n || (c->dir != PCOPY_IN && c->dir != PCOPY_OUT) || (c->flags & ~PCOPY_FLAGS)) {
		errno = EINVAL;
		return -1;
	}
	if (n > PROTO_MAX_FRAME - 1 - sizeof p) {
		errno = EMSGSIZE;
		return -1;
	}
	put16(p, c->version ? c->version : PROTO_VERSION);
	p[2] = c->dir;
	p[3] = c->flags;
	return proto_put_frame(b, PK_COPY, p, sizeof p, c->path, (uint32_t)n);
}

int proto_copy_parse(const struct proto_frame *f, struct proto_copy *c, struct perr *e)
{
	*c = (struct proto_copy){ 0 };
	if (f->kind != PK_COPY || f->len < 5)
		return perr_set(e, 0, "not a COPY frame");
	const uint8_t *p = f->payload;
	if (p[2] != PCOPY_IN && p[2] != PCOPY_OUT)
		return perr_set(e, 0, "COPY: direction %u is neither 1 (in) nor 2 (out)", p[2]);
	if (p[3] & ~PCOPY_FLAGS)
		return perr_set(e, 0, "COPY: unknown flag bits 0x%02x", p[3] & ~PCOPY_FLAGS);
	if ((p[3] & PCOPY_STREAM) && p[2] != PCOPY_IN)
		return perr_set(e, 0, "COPY: the stream flag is for direction 1 (in) only");
	if (p[4] != '/')
		return perr_set(e, 0, "COPY: the path must be absolute");
	c->path = strndup((const char *)p + 4, f->len - 4);
	if (!c->path)
		return perr_set(e, ENOMEM, "COPY");
	c->version = be16(p);
	c->dir = p[2];
	c->flags = p[3];
	return 0;
}

void proto_copy_free(struct proto_copy *c)
{
	free(c->path);
	c->path = NULL;
}
