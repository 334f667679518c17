/* test_util.c - the scratch directory of a group of tests (see
 * test_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static char g_dir[PATH_MAX];

int tu_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    int n = snprintf(tmpl, sizeof tmpl, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp",
                     program_invocation_short_name);
    if (n < 0 || (size_t)n >= sizeof tmpl || !mkdtemp(tmpl))
        return -1;
    return realpath(tmpl, g_dir) ? 0 : -1;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

int tu_teardown(void **state)
{
    (void)state;
    if (!g_dir[0])
        return -1;
    int rc = nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_dir[0] = '\0';
    return rc == 0 ? 0 : -1;
}

const char *tu_dir(void) { return g_dir; }

static char *next_buf(void)
{
    static char bufs[8][PATH_MAX + 64];
    static unsigned turn;
    turn = (turn + 1) % 8;
    return bufs[turn];
}

const char *tu_at(const char *name) { return tu_atf("%s", name); }

const char *tu_atf(const char *fmt, ...)
{
    char *out = next_buf();
    size_t size = PATH_MAX + 64;
    int n = snprintf(out, size, "%s/", g_dir);
    assert_true(n > 0 && (size_t)n < size);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(out + n, size - (size_t)n, fmt, ap);
    va_end(ap);
    assert_true(m >= 0 && (size_t)m < size - (size_t)n);
    return out;
}

const char *tu_path(char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", g_dir, name);
    assert_true(n > 0 && (size_t)n < size);
    return out;
}

bool tu_exists(const char *name)
{
    struct stat st;
    return lstat(tu_at(name), &st) == 0;
}

void tu_mkdir(const char *name) { assert_int_equal(mkdir(tu_at(name), 0755), 0); }

void tu_write(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        assert_true(w > 0);
        p += w;
        len -= (size_t)w;
    }
    assert_int_equal(close(fd), 0);
}

void tu_write_text(const char *path, const char *text)
{
    tu_write(path, text, strlen(text), 0644);
}

char *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t got; (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (cap - n - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            assert_non_null(bigger);
            buf = bigger;
            cap *= 2;
        }
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
