/* test_util.h - a scratch directory for a group of tests, shared by the
 * test folders that need no process harness (tests/harness links libzmq):
 * made fresh in the group's setup, paths named inside it, small files
 * written, read and checked there, and all of it removed in the group's
 * teardown.  Failures are cmocka assertions. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A cmocka setup and teardown (group or test; state unused): a fresh
 * directory $TMPDIR/PROGRAM.XXXXXX (/tmp without TMPDIR) held as its real
 * path, and its removal with all in it, links removed and not followed.
 * Each returns 0, or -1 on failure. */
int tu_setup(void **state);
int tu_teardown(void **state);
/* The directory itself. */
const char *tu_dir(void);
/* NAME inside the directory, and the same with a printf format.  The
 * result is one of 8 static buffers used in turn: good until 8 more
 * calls. */
const char *tu_at(const char *name);
const char *tu_atf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* NAME inside the directory copied to out (size bytes, asserted to fit), for
 * a path a test keeps; returns out. */
const char *tu_path(char *out, size_t size, const char *name);

/* Does NAME exist in the directory (lstat: a dangling link exists)? */
bool tu_exists(const char *name);
/* NAME in the directory made a directory (mode 0755), asserted made. */
void tu_mkdir(const char *name);
/* The file PATH written with len bytes of data (created with mode, or
 * truncated), asserted written; and the same with a NUL-terminated text. */
void tu_write(const char *path, const void *data, size_t len, mode_t mode);
void tu_write_text(const char *path, const char *text);
/* The whole file PATH, NUL-terminated (caller frees; len may be NULL);
 * NULL if it cannot be opened. */
char *tu_slurp(const char *path, size_t *len);

#endif
