/* ph_keys_map.c - a keys file read into memory, checked (see ph_keys_map.h). */
#include "ph_keys_map.h"

#include "ph_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int size_checks(const char *path, unsigned ks, const struct stat *st, ph_err *err)
{
    if (ks != PH_KEY_SIZE_32 && ks != PH_KEY_SIZE_64)
        return ph_err_set(err, PH_EINVAL, "%s: key size %u: expected 4 or 8", path, ks);
    if (!S_ISREG(st->st_mode))
        return ph_err_set(err, PH_EINVAL, "%s: not a regular file", path);
    if (st->st_size == 0)
        return ph_err_set(err, PH_EINVAL, "%s: empty keys file", path);
    if (st->st_size % ks)
        return ph_err_set(err, PH_EINVAL, "%s: size %lld bytes is not a multiple of %u "
                          "(key size %u: raw little-endian uint%u keys)", path,
                          (long long)st->st_size, ks, ks, ks * 8);
    if ((uint64_t)st->st_size / ks > PH_KEYS_MAP_MAX_COUNT)
        return ph_err_set(err, PH_EINVAL, "%s: %lld keys, more than the limit of 2^32 - 1",
                          path, (long long)st->st_size / ks);
    return PH_OK;
}

int ph_keys_map_count_sized(const char *path, unsigned key_size, uint64_t *n, ph_err *err)
{
    return ph_keys_map_count_sized_flags(path, key_size, 0, n, err);
}

int ph_keys_map_count(const char *path, uint64_t *n, ph_err *err)
{
    return ph_keys_map_count_sized(path, PH_KEY_SIZE_32, n, err);
}

int ph_keys_map_count_flags(const char *path, int flags, uint64_t *n, ph_err *err)
{
    return ph_keys_map_count_sized_flags(path, PH_KEY_SIZE_32, flags, n, err);
}

int ph_keys_map_count_sized_flags(const char *path, unsigned key_size, int flags, uint64_t *n,
                                  ph_err *err)
{
    struct stat st;
    unsigned ks = ph_keys_size_resolve(key_size, path);
    if ((flags & PH_KEYS_MAP_NOFOLLOW) ? lstat(path, &st) : stat(path, &st))
        return ph_err_set(err, PH_EIO, "%s: %s", path,
                          strerror(errno));
    int rc = size_checks(path, ks, &st, err);
    if (!rc)
        *n = (uint64_t)st.st_size / ks;
    return rc;
}

#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
static void copy_le(void *dst, const unsigned char *p, uint32_t n, unsigned ks)
{
    for (uint32_t i = 0; i < n; i++, p += ks) {
        uint64_t k = 0;
        for (unsigned b = ks; b-- > 0;)
            k = k << 8 | p[b];
        if (ks == 8)
            ((uint64_t *)dst)[i] = k;
        else
            ((uint32_t *)dst)[i] = (uint32_t)k;
    }
}
#endif

int ph_keys_map_open(const char *path, ph_keys_map *out, ph_err *err)
{
    return ph_keys_map_read_sized(path, PH_KEY_SIZE_32, 0, out, err);
}

int ph_keys_map_open_sized(const char *path, unsigned key_size, ph_keys_map *out, ph_err *err)
{
    return ph_keys_map_read_sized(path, key_size, 0, out, err);
}

int ph_keys_map_read(const char *path, int flags, ph_keys_map *out, ph_err *err)
{
    return ph_keys_map_read_sized(path, PH_KEY_SIZE_32, flags, out, err);
}

/* Test aid: with PH_TEST_KEYS_READ_PAUSE=FIFO in the environment the reader
 * stops between sizing the file and reading it, until the FIFO's writer
 * (the test) closes it; the test changes the file meanwhile.  Never set
 * outside tests. */
static void test_pause(void)
{
    const char *fifo = getenv("PH_TEST_KEYS_READ_PAUSE");
    if (!fifo || !*fifo)
        return;
    int fd = open(fifo, O_RDONLY | O_CLOEXEC);
    char c;
    while (fd >= 0 && (read(fd, &c, 1) > 0 || errno == EINTR)) {
    }
    if (fd >= 0)
        close(fd);
}

static int64_t mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* len bytes from fd into buf; a short read means the file shrank. */
static int read_all(int fd, const char *path, unsigned char *buf, size_t len, ph_err *err)
{
    for (size_t got = 0; got < len;) {
        size_t want = len - got > (1u << 30) ? (1u << 30) : len - got;
        ssize_t r = pread(fd, buf + got, want, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ph_err_set(err, PH_EIO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            return ph_err_set(err, PH_EINVAL, "%s: changed while being read (shrank to %zu of "
                              "its %zu bytes); nothing written", path, got, len);
        got += (size_t)r;
    }
    return PH_OK;
}

/* After the read: still the size and modification time it had when
 * opened (a file rewritten in place without shrinking is caught when its
 * mtime moved). */
static int same_after_read(int fd, const char *path, const ph_keys_map *m, ph_err *err)
{
    struct stat now;
    if (fstat(fd, &now))
        return ph_err_set(err, PH_EIO, "%s: %s", path, strerror(errno));
    if ((uint64_t)now.st_size != m->size || mtime_ns(&now) != m->mtime_ns)
        return ph_err_set(err, PH_EINVAL, "%s: changed while being read (size %llu -> %lld "
                          "bytes%s); nothing written", path, (unsigned long long)m->size,
                          (long long)now.st_size,
                          (uint64_t)now.st_size == m->size ? ", modified" : "");
    return PH_OK;
}

/* Open path and size it: out's identity and count, no key read; *fdp the
 * open file. */
static int open_sized(const char *path, unsigned key_size, int flags, ph_keys_map *out,
                      int *fdp, ph_err *err)
{
    memset(out, 0, sizeof *out);
    *fdp = -1;
    unsigned ks = ph_keys_size_resolve(key_size, path);
    int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    if (flags & PH_KEYS_MAP_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    int fd = open(path, oflags);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: %s", path,
                          errno == ELOOP ? "a symbolic link, refused" : strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) ? ph_err_set(err, PH_EIO, "%s: %s", path, strerror(errno))
                            : size_checks(path, ks, &st, err);
    if (rc) {
        close(fd);
        return rc;
    }
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    out->mtime_ns = mtime_ns(&st);
    out->n = (uint32_t)(out->size / ks);
    out->key_size = ks;
    *fdp = fd;
    return PH_OK;
}

int ph_keys_map_read_sized(const char *path, unsigned key_size, int flags, ph_keys_map *out,
                           ph_err *err)
{
    int fd;
    int rc = open_sized(path, key_size, flags, out, &fd, err);
    if (rc)
        return rc;
    size_t len = (size_t)out->size;
    unsigned char *buf = malloc(len);
    if (!buf)
        rc = ph_err_set(err, PH_ENOMEM, "%s: out of memory for a copy of its %zu keys "
                        "(%zu bytes)", path, len / out->key_size, len);
    if (!rc) {
        test_pause();
        rc = read_all(fd, path, buf, len, err);
    }
    if (!rc)
        rc = same_after_read(fd, path, out, err);
    close(fd);
    if (rc) {
        free(buf);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->copy = buf;
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    copy_le(out->copy, buf, out->n, out->key_size); /* in place: each key read before it is written */
#endif
    if (out->key_size == PH_KEY_SIZE_64)
        out->v64 = out->copy;
    else
        out->v = out->copy;
    return PH_OK;
}

int ph_keys_map_open_fd(const char *path, unsigned key_size, int flags, ph_keys_map *out,
                        int *fd, ph_err *err)
{
    int rc = open_sized(path, key_size, flags, out, fd, err);
    if (!rc)
        test_pause();
    return rc;
}

int ph_keys_map_read_done(const ph_keys_map *m, int fd, const char *path, ph_err *err)
{
    return same_after_read(fd, path, m, err);
}

int ph_keys_map_unchanged(const ph_keys_map *m, const char *path, ph_err *err)
{
    struct stat st;
    if (stat(path, &st))
        return ph_err_set(err, PH_EIO, "%s: gone while the table was built: %s", path,
                          strerror(errno));
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if ((uint64_t)st.st_dev != m->dev || (uint64_t)st.st_ino != m->ino ||
        (uint64_t)st.st_size != m->size || mt != m->mtime_ns)
        return ph_err_set(err, PH_EINVAL, "%s: changed while the table was built "
                          "(size %llu -> %lld bytes); nothing written", path,
                          (unsigned long long)m->size, (long long)st.st_size);
    return PH_OK;
}

void ph_keys_map_close(ph_keys_map *m)
{
    if (!m)
        return;
    free(m->copy);
    memset(m, 0, sizeof *m);
}
