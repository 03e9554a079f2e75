/* base: the one PATH walk, shared by the box's init and by sessions. */
#include "base/base.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The errors that mean "not in this directory": the search goes on. */
static bool search_goes_on(int err)
{
	return err == ENOENT || err == ENOTDIR || err == ELOOP || err == ENAMETOOLONG ||
	       err == ESTALE || err == ENODEV || err == ETIMEDOUT;
}

int exec_search(const char *file, char *const argv[], char *const envp[], const char *path)
{
	size_t nlen = strlen(file);
	bool denied = false;
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char *cand = malloc(dlen + nlen + 3);
		if (!cand)
			return ENOMEM;
		snprintf(cand, dlen + nlen + 3, "%.*s/%s", dlen ? (int)dlen : 1, dlen ? p : ".", file);
		execve(cand, argv, envp);
		int err = errno;
		free(cand);
		if (err == EACCES)
			denied = true;
		else if (!search_goes_on(err))
			return err;
		if (!*end)
			break;
		p = end;
	}
	return denied ? EACCES : ENOENT;
}
