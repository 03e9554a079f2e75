/* enter: helpers shared by the module's server side: the one read scratch
 * buffer of the loop, and stream writes that copy only what the kernel did
 * not take. */
#include "enter/internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define SCRATCH_SIZE (128 * 1024)

static uint8_t scratch[SCRATCH_SIZE];

void *enter_scratch(size_t *len)
{
	*len = sizeof scratch;
	return scratch;
}

struct send_req {
	uv_write_t req;
	enter_sent_cb cb;
	void *data;
	char bytes[];
};

static void stream_sent(uv_write_t *req, int status)
{
	struct send_req *w = (struct send_req *)req;
	enter_sent_cb cb = w->cb;
	void *data = w->data;
	free(w);
	if (cb)
		cb(data, status);
}

int enter_stream_send(struct uv_stream_s *st, const void *a, size_t alen, const void *b,
		      size_t blen, enter_sent_cb cb, void *data)
{
	uv_buf_t bufs[2] = { uv_buf_init((char *)a, (unsigned)alen),
			     uv_buf_init((char *)b, (unsigned)blen) };
	int w = uv_try_write(st, bufs, blen ? 2 : 1);
	if (w < 0 && w != UV_EAGAIN)
		return w;
	size_t done = w > 0 ? (size_t)w : 0, total = alen + blen;
	if (done == total)
		return 0;
	struct send_req *r = malloc(sizeof *r + (total - done));
	if (!r)
		return UV_ENOMEM;
	size_t k = 0;
	if (done < alen) {
		memcpy(r->bytes, (const char *)a + done, alen - done);
		k = alen - done;
		done = alen;
	}
	if (blen > done - alen)
		memcpy(r->bytes + k, (const char *)b + (done - alen), blen - (done - alen));
	r->cb = cb;
	r->data = data;
	uv_buf_t rest = uv_buf_init(r->bytes, (unsigned)(total - (w > 0 ? (size_t)w : 0)));
	int err = uv_write(&r->req, st, &rest, 1, stream_sent);
	if (err < 0)
		free(r);
	return err;
}
