/* ph_journal.c - append-only, checksummed record log (see ph_journal.h). */
#include "ph_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_crc.h"
#include "ph_fs.h"

#define JOURNAL_MAGIC 0xA7u
#define HEADER_LEN 10u

struct ph_journal {
    int fd;
    char *path;  /* owned, for messages */
    uint64_t size;
    bool broken; /* a failed append could not be undone: refuse more */
};

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t record_crc(uint8_t type, uint32_t len, const void *data)
{
    unsigned char head[5] = {type};
    put_le32(head + 1, len);
    return ph_crc32c(ph_crc32c(0, head, sizeof head), data, len);
}

/* Length of the good record at buf[off..size), or 0 if torn or corrupt. */
static size_t record_at(const unsigned char *buf, size_t off, size_t size)
{
    if (size - off < HEADER_LEN || buf[off] != JOURNAL_MAGIC)
        return 0;
    uint32_t len = get_le32(buf + off + 2);
    if (len > PH_JOURNAL_MAX_RECORD || size - off - HEADER_LEN < len)
        return 0;
    if (record_crc(buf[off + 1], len, buf + off + HEADER_LEN) != get_le32(buf + off + 6))
        return 0;
    return HEADER_LEN + len;
}

static int replay_buffer(const unsigned char *buf, size_t size,
                         ph_journal_fn fn, void *ctx, uint64_t *records, size_t *good)
{
    size_t off = 0, rec;
    uint64_t count = 0;
    while (off < size && (rec = record_at(buf, off, size))) {
        int rc = fn ? fn(ctx, buf[off + 1], buf + off + HEADER_LEN, (uint32_t)(rec - HEADER_LEN))
                    : 0;
        if (rc)
            return rc;
        off += rec;
        count++;
    }
    if (records)
        *records = count;
    *good = off;
    return PH_OK;
}

/* Read the whole journal and hand its intact records to fn; *size is the
 * file's length, *good the end of its last intact record. */
static int replay_file(const char *path, ph_journal_fn fn, void *ctx, uint64_t *records,
                       size_t *size, size_t *good, ph_err *err)
{
    void *data = NULL;
    int rc = ph_fs_read_all(path, (size_t)1 << 40, &data, size, err);
    if (rc)
        return rc;
    rc = replay_buffer(data, *size, fn, ctx, records, good);
    free(data);
    return rc;
}

int ph_journal_replay(const char *path, ph_journal_fn fn, void *ctx, uint64_t *records,
                      ph_err *err)
{
    if (records)
        *records = 0;
    struct stat st;
    if (lstat(path, &st) && errno == ENOENT)
        return PH_OK;
    /* The journal is the coordinator's own file: never reached through a
     * link, which could make replay truncate (and appends extend) a file
     * elsewhere. */
    if (S_ISLNK(st.st_mode))
        return ph_err_set(err, PH_EPERM, "%s: the journal is a symbolic link; refused", path);
    size_t size = 0, good = 0;
    int rc = replay_file(path, fn, ctx, records, &size, &good, err);
    if (rc)
        return rc;
    if (good < size && truncate(path, (off_t)good))
        return ph_err_set(err, PH_EIO, "%s: cannot cut torn tail at byte %zu: %s", path, good,
                          strerror(errno));
    return PH_OK;
}

int ph_journal_replay_strict(const char *path, ph_journal_fn fn, void *ctx, uint64_t *records,
                             ph_err *err)
{
    if (records)
        *records = 0;
    size_t size = 0, good = 0;
    int rc = replay_file(path, fn, ctx, records, &size, &good, err);
    if (!rc && good < size)
        rc = ph_err_set(err, PH_EPROTO, "%s: corrupt record at byte %zu of %zu", path, good,
                        size);
    return rc;
}

int ph_journal_open(const char *path, ph_journal **out, ph_err *err)
{
    *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == ELOOP)
        return ph_err_set(err, PH_EPERM, "%s: the journal is a symbolic link; refused", path);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open journal: %s", path, strerror(errno));
    ph_journal *j = calloc(1, sizeof *j);
    char *copy = strdup(path);
    if (!j || !copy) {
        free(j);
        free(copy);
        close(fd);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", path);
    }
    struct stat st;
    j->fd = fd;
    j->path = copy;
    j->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    *out = j;
    return PH_OK;
}

int ph_journal_append(ph_journal *j, uint8_t type, const void *data, uint32_t len, bool sync,
                      ph_err *err)
{
    if (j->broken)
        return ph_err_set(err, PH_EIO, "%s: journal unusable after a failed write", j->path);
    if (len > PH_JOURNAL_MAX_RECORD)
        return ph_err_set(err, PH_EINVAL, "%s: record of %u bytes is too large", j->path, len);
    /* A write cut short (disk full, I/O error) must not leave half a record:
     * replay stops at the first bad record and would drop every later one,
     * synced or not.  So the file is cut back to where this record began. */
    off_t start = lseek(j->fd, 0, SEEK_END);
    /* One write per record: with O_APPEND a record is never interleaved. */
    unsigned char *rec = malloc(HEADER_LEN + (size_t)len);
    if (!rec)
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", j->path);
    rec[0] = JOURNAL_MAGIC;
    rec[1] = type;
    put_le32(rec + 2, len);
    put_le32(rec + 6, record_crc(type, len, data));
    if (len)
        memcpy(rec + HEADER_LEN, data, len);
    int failed = start < 0 || ph_fs_write_full(j->fd, rec, HEADER_LEN + (size_t)len);
    int saved = errno;
    free(rec);
    if (failed) {
        if (start < 0 || ftruncate(j->fd, start) != 0)
            j->broken = true;
        return ph_err_set(err, PH_EIO, "%s: journal write failed: %s", j->path, strerror(saved));
    }
    j->size = (uint64_t)start + HEADER_LEN + len;
    return sync ? ph_journal_sync(j, err) : PH_OK;
}

uint64_t ph_journal_size(const ph_journal *j) { return j->size; }

int ph_journal_sync(ph_journal *j, ph_err *err)
{
    if (fdatasync(j->fd))
        return ph_err_set(err, PH_EIO, "%s: fdatasync failed: %s", j->path, strerror(errno));
    return PH_OK;
}

void ph_journal_close(ph_journal *j)
{
    if (!j)
        return;
    close(j->fd);
    free(j->path);
    free(j);
}
