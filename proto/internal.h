/* proto: what the codec's files share (not for users of proto.h): the
 * big-endian field helpers and the frame writer. */
#ifndef PLANET_PROTO_INTERNAL_H
#define PLANET_PROTO_INTERNAL_H

#include "proto/proto.h"

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Append a frame whose payload is head followed by tail. On failure b is
 * left exactly as it was, so a caller's queue never holds half a frame. */
int proto_put_frame(struct strbuf *b, uint8_t kind, const void *head, uint32_t hlen,
		    const void *tail, uint32_t tlen);

#endif
