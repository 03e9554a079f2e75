/* A minimal unit-test harness: CHECK() records a failure and goes on;
 * check_done() prints "N passed, N failed" and returns the exit status. */
#ifndef PLANET_CHECK_H
#define PLANET_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (cond) {                                                            \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                \
		}                                                                      \
	} while (0)

#define CHECK_STREQ(a, b)                                                              \
	do {                                                                           \
		const char *check_a_ = (a), *check_b_ = (b);                           \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {         \
			check_passed++;                                                \
		} else {                                                               \
			check_failed++;                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)", \
				check_b_ ? check_b_ : "(null)");                       \
		}                                                                      \
	} while (0)

/* Entries of a NULL-terminated vector. */
static inline size_t check_argc(char **argv)
{
	size_t n = 0;
	while (argv[n])
		n++;
	return n;
}

static inline int check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
