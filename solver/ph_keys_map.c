/* ph_keys_map.c - a keys file mapped read-only (see ph_keys_map.h). */
#include "ph_keys_map.h"

#include "ph_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    struct stat st;
    unsigned ks = ph_keys_size_resolve(key_size, path);
    if (stat(path, &st))
        return ph_err_set(err, PH_EIO, "%s: %s", path,
                          strerror(errno));
    int rc = size_checks(path, ks, &st, err);
    if (!rc)
        *n = (uint64_t)st.st_size / ks;
    return rc;
}

int ph_keys_map_count(const char *path, uint64_t *n, ph_err *err)
{
    return ph_keys_map_count_sized(path, PH_KEY_SIZE_32, n, err);
}

int ph_keys_map_count_flags(const char *path, int flags, uint64_t *n, ph_err *err)
{
    struct stat st;
    if ((flags & PH_KEYS_MAP_NOFOLLOW) ? lstat(path, &st) : stat(path, &st))
        return ph_err_set(err, PH_EIO, "%s: %s", path,
                          strerror(errno));
    int rc = size_checks(path, PH_KEY_SIZE_32, &st, err);
    if (!rc)
        *n = (uint64_t)st.st_size / PH_KEY_SIZE_32;
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
    return ph_keys_map_open_sized(path, PH_KEY_SIZE_32, out, err);
}

int ph_keys_map_open_sized(const char *path, unsigned key_size, ph_keys_map *out, ph_err *err)
{
    memset(out, 0, sizeof *out);
    unsigned ks = ph_keys_size_resolve(key_size, path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: %s", path,
                          strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) ? ph_err_set(err, PH_EIO, "%s: %s", path, strerror(errno))
                            : size_checks(path, ks, &st, err);
    if (rc) {
        close(fd);
        return rc;
    }
    size_t len = (size_t)st.st_size;
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (m == MAP_FAILED)
        return ph_err_set(err, map_errno == ENOMEM ? PH_ENOMEM : PH_EIO, "%s: cannot map: %s",
                          path, strerror(map_errno));
    (void)madvise(m, len, MADV_SEQUENTIAL); /* advice only */
    out->map = m;
    out->map_len = len;
    out->n = (uint32_t)(len / ks);
    out->key_size = ks;
    const void *keys = m;
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    out->copy = malloc(len);
    if (!out->copy) {
        ph_keys_map_close(out);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory for %zu keys", path, len / ks);
    }
    copy_le(out->copy, m, (uint32_t)(len / ks), ks);
    keys = out->copy;
#endif
    if (ks == PH_KEY_SIZE_64)
        out->v64 = keys;
    else
        out->v = keys;
    return PH_OK;
}

int ph_keys_map_read(const char *path, int flags, ph_keys_map *out, ph_err *err)
{
    memset(out, 0, sizeof *out);
    int oflags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
    if (flags & PH_KEYS_MAP_NOFOLLOW)
        oflags |= O_NOFOLLOW;
    int fd = open(path, oflags);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: %s", path,
                          errno == ELOOP ? "a symbolic link, refused" : strerror(errno));
    struct stat st;
    int rc = fstat(fd, &st) ? ph_err_set(err, PH_EIO, "%s: %s", path, strerror(errno))
                            : size_checks(path, PH_KEY_SIZE_32, &st, err);
    size_t len = rc ? 0 : (size_t)st.st_size;
    unsigned char *buf = rc ? NULL : malloc(len);
    if (!rc && !buf)
        rc = ph_err_set(err, PH_ENOMEM, "%s: out of memory for %zu keys", path, len / 4);
    for (size_t got = 0; !rc && got < len;) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = ph_err_set(err, PH_EINVAL, "%s: %s while reading", path,
                            r < 0 ? strerror(errno) : "shrank");
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    out->size = (uint64_t)st.st_size;
    out->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    out->n = (uint32_t)(len / 4);
    out->key_size = PH_KEY_SIZE_32;
    out->copy = buf;
#if !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
    copy_le(out->copy, buf, out->n, 4); /* in place: each key read before it is written */
#endif
    out->v = out->copy;
    return PH_OK;
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
    if (m->map)
        munmap(m->map, m->map_len);
    free(m->copy);
    memset(m, 0, sizeof *m);
}
