/* ph_jstore.c - snapshot plus log, compacted atomically (see ph_jstore.h). */
#include "ph_jstore_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_fs.h"

#define SNAP_HEADER 0u
#define SNAP_END 255u
#define SNAP_VERSION 1u
static const unsigned char snap_magic[4] = {'P', 'H', 'J', 'S'};

struct ph_jstore {
    char *dir;
    ph_journal *log;
    uint64_t gen;
    uint64_t snapshot_bytes;
};

struct ph_jsnap {
    ph_journal *file;
    uint64_t records;
};

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int path_in(char *out, size_t n, const char *dir, const char *name, ph_err *err)
{
    return ph_fs_join(out, n, dir, name, err);
}

static int log_path(char *out, size_t n, const char *dir, uint64_t gen, ph_err *err)
{
    char name[40];
    if (gen == 0)
        snprintf(name, sizeof name, "journal");
    else
        snprintf(name, sizeof name, "journal.%" PRIu64, gen);
    return path_in(out, n, dir, name, err);
}

static int sync_dir(const char *dir, ph_err *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open directory: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc)
        return ph_err_set(err, PH_EIO, "%s: fsync failed: %s", dir, strerror(saved));
    return PH_OK;
}

/* ---- reading the snapshot ------------------------------------------------ */

typedef struct snap_reader {
    ph_journal_fn fn;
    void *ctx;
    uint64_t gen, records;
    bool header, end;
    int fn_rc;
} snap_reader;

static int snap_record(void *vctx, uint8_t type, const void *data, uint32_t len)
{
    snap_reader *r = vctx;
    const unsigned char *p = data;
    if (r->end)
        return 1; /* anything after the end record */
    if (!r->header) {
        if (type != SNAP_HEADER || len != 16 || memcmp(p, snap_magic, 4) != 0 ||
            (uint32_t)p[4] != SNAP_VERSION || p[5] || p[6] || p[7])
            return 1;
        r->gen = get_u64(p + 8);
        r->header = true;
        return 0;
    }
    if (type == SNAP_END) {
        if (len != 8 || get_u64(p) != r->records)
            return 1;
        r->end = true;
        return 0;
    }
    if (type == SNAP_HEADER)
        return 1;
    r->records++;
    int rc = r->fn ? r->fn(r->ctx, type, data, len) : 0;
    if (rc) {
        r->fn_rc = rc;
        return 1;
    }
    return 0;
}

static int read_snapshot(const char *path, ph_journal_fn fn, void *ctx, uint64_t *gen,
                         uint64_t *records, uint64_t *bytes, ph_err *err)
{
    struct stat st;
    *gen = 0;
    *records = 0;
    *bytes = 0;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return PH_OK;
        return ph_err_set(err, PH_EIO, "%s: cannot stat snapshot: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return ph_err_set(err, PH_EPROTO, "%s: snapshot is not a regular file", path);
    snap_reader r = {.fn = fn, .ctx = ctx};
    int rc = ph_journal_replay_strict(path, snap_record, &r, NULL, err);
    if (rc == PH_OK && r.fn_rc)
        return ph_err_set(err, PH_EPROTO, "%s: snapshot record %" PRIu64 " not accepted", path,
                          r.records);
    if (rc > 0 || (rc == PH_OK && (!r.header || !r.end)))
        /* fn's stop (1): a misplaced header or end, or a wrong count */
        return ph_err_set(err, PH_EPROTO, "%s: corrupt snapshot (%s)", path,
                          !r.header ? "bad header" : "no end record");
    if (rc)
        return rc;
    if (r.gen == 0)
        return ph_err_set(err, PH_EPROTO, "%s: corrupt snapshot (generation 0)", path);
    *gen = r.gen;
    *records = r.records;
    *bytes = (uint64_t)st.st_size;
    return PH_OK;
}

/* ---- leftovers of an interrupted compaction ------------------------------ */

static bool is_stale(const char *name, uint64_t gen)
{
    if (strcmp(name, "snapshot.tmp") == 0)
        return true;
    if (strcmp(name, "journal") == 0)
        return gen != 0;
    if (strncmp(name, "journal.", 8) != 0 || !name[8])
        return false;
    uint64_t g = 0;
    for (const char *p = name + 8; *p; p++) {
        if (*p < '0' || *p > '9' || g > UINT64_MAX / 10)
            return false;
        g = g * 10 + (uint64_t)(*p - '0');
    }
    return g != gen;
}

static int remove_stale(const char *dir, uint64_t gen, unsigned long *removed, ph_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return ph_err_set(err, PH_EIO, "%s: cannot list: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = PH_OK;
    while (rc == PH_OK && (e = readdir(d)) != NULL) {
        if (!is_stale(e->d_name, gen))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0)
            rc = ph_err_set(err, PH_EIO, "%s/%s: cannot remove: %s", dir, e->d_name,
                            strerror(errno));
        else
            (*removed)++;
    }
    closedir(d);
    return rc;
}

/* ---- open / append ------------------------------------------------------- */

int ph_jstore_open(const char *dir, ph_journal_fn fn, void *ctx, ph_jstore **out,
                   ph_jstore_info *info, ph_err *err)
{
    *out = NULL;
    ph_jstore_info in = {0};
    char snap[4096], log[4096];
    int rc = ph_fs_mkdirs(dir, err);
    if (!rc)
        rc = path_in(snap, sizeof snap, dir, "snapshot", err);
    if (!rc)
        rc = read_snapshot(snap, fn, ctx, &in.generation, &in.snapshot_records,
                           &in.snapshot_bytes, err);
    if (!rc)
        rc = log_path(log, sizeof log, dir, in.generation, err);
    if (!rc)
        rc = ph_journal_replay(log, fn, ctx, &in.log_records, err);
    /* Only after both replays succeeded: a refused snapshot keeps every file. */
    if (!rc)
        rc = remove_stale(dir, in.generation, &in.stale_removed, err);
    if (rc)
        return rc;
    ph_jstore *s = calloc(1, sizeof *s);
    if (!s || !(s->dir = strdup(dir))) {
        free(s);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", dir);
    }
    rc = ph_journal_open(log, &s->log, err);
    if (rc) {
        free(s->dir);
        free(s);
        return rc;
    }
    s->gen = in.generation;
    s->snapshot_bytes = in.snapshot_bytes;
    if (info)
        *info = in;
    *out = s;
    return PH_OK;
}

int ph_jstore_append(ph_jstore *s, uint8_t type, const void *data, uint32_t len, bool sync,
                     ph_err *err)
{
    if (type == SNAP_HEADER || type == SNAP_END)
        return ph_err_set(err, PH_EINVAL, "journal: record type %u is reserved", type);
    return ph_journal_append(s->log, type, data, len, sync, err);
}

int ph_jstore_sync(ph_jstore *s, ph_err *err) { return ph_journal_sync(s->log, err); }

uint64_t ph_jstore_log_bytes(const ph_jstore *s) { return ph_journal_size(s->log); }
uint64_t ph_jstore_snapshot_bytes(const ph_jstore *s) { return s->snapshot_bytes; }
uint64_t ph_jstore_generation(const ph_jstore *s) { return s->gen; }

/* ---- compaction ------------------------------------------------------------ */

int ph_jstore_snapshot_begin(ph_jstore *s, ph_jsnap **out, ph_err *err)
{
    *out = NULL;
    char tmp[4096];
    int rc = path_in(tmp, sizeof tmp, s->dir, "snapshot.tmp", err);
    if (rc)
        return rc;
    if (unlink(tmp) != 0 && errno != ENOENT)
        return ph_err_set(err, PH_EIO, "%s: cannot remove: %s", tmp, strerror(errno));
    ph_jsnap *snap = calloc(1, sizeof *snap);
    if (!snap)
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", tmp);
    rc = ph_journal_open(tmp, &snap->file, err);
    unsigned char head[16];
    memcpy(head, snap_magic, 4);
    head[4] = SNAP_VERSION;
    head[5] = head[6] = head[7] = 0;
    put_u64(head + 8, s->gen + 1);
    if (!rc)
        rc = ph_journal_append(snap->file, SNAP_HEADER, head, sizeof head, false, err);
    if (rc) {
        ph_jstore_snapshot_abort(s, snap);
        return rc;
    }
    *out = snap;
    return PH_OK;
}

int ph_jsnap_put(ph_jsnap *snap, uint8_t type, const void *data, uint32_t len, ph_err *err)
{
    if (type == SNAP_HEADER || type == SNAP_END)
        return ph_err_set(err, PH_EINVAL, "journal: record type %u is reserved", type);
    int rc = ph_journal_append(snap->file, type, data, len, false, err);
    if (!rc)
        snap->records++;
    return rc;
}

void ph_jstore_snapshot_abort(ph_jstore *s, ph_jsnap *snap)
{
    char tmp[4096];
    ph_err e;
    if (!snap)
        return;
    ph_journal_close(snap->file);
    if (path_in(tmp, sizeof tmp, s->dir, "snapshot.tmp", &e) == PH_OK)
        unlink(tmp);
    free(snap);
}

/* Step 1: end record, fsync, close. */
static int finish_snapshot(ph_jsnap *snap, ph_err *err)
{
    unsigned char end[8];
    put_u64(end, snap->records);
    int rc = ph_journal_append(snap->file, SNAP_END, end, sizeof end, true, err);
    if (!rc) {
        ph_journal_close(snap->file);
        snap->file = NULL;
    }
    return rc;
}

/* Step 2: the next generation's log, empty and on disk. */
static int create_log(const char *path, ph_journal **out, ph_err *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return ph_err_set(err, PH_EIO, "%s: cannot remove: %s", path, strerror(errno));
    int rc = ph_journal_open(path, out, err);
    if (!rc)
        rc = ph_journal_sync(*out, err);
    if (rc) {
        ph_journal_close(*out);
        *out = NULL;
        unlink(path);
    }
    return rc;
}

/* Process tests of crash recovery set PH_TEST_JSTORE_EXIT_AFTER=K: the
 * process ends right after step K of a compaction, as a crash there would
 * end it (nothing flushed or cleaned up after the step). */
static void crash_point(int step)
{
    const char *e = getenv("PH_TEST_JSTORE_EXIT_AFTER");
    if (e && atoi(e) == step)
        _exit(70);
}

int ph_jstore_commit_until(ph_jstore *s, ph_jsnap *snap, int last, ph_err *err)
{
    char tmp[4096], snapp[4096], oldlog[4096], newlog[4096];
    ph_journal *next = NULL;
    int rc = path_in(tmp, sizeof tmp, s->dir, "snapshot.tmp", err);
    if (!rc)
        rc = path_in(snapp, sizeof snapp, s->dir, "snapshot", err);
    if (!rc)
        rc = log_path(oldlog, sizeof oldlog, s->dir, s->gen, err);
    if (!rc)
        rc = log_path(newlog, sizeof newlog, s->dir, s->gen + 1, err);
    if (!rc)
        rc = finish_snapshot(snap, err);
    if (!rc)
        crash_point(PH_JSTORE_STEP_SNAPSHOT);
    if (rc || last < PH_JSTORE_STEP_NEWLOG)
        goto out;
    rc = create_log(newlog, &next, err);
    if (!rc)
        crash_point(PH_JSTORE_STEP_NEWLOG);
    if (rc || last < PH_JSTORE_STEP_RENAME)
        goto out;
    if (rename(tmp, snapp) != 0) {
        rc = ph_err_set(err, PH_EIO, "%s: cannot rename snapshot: %s", tmp, strerror(errno));
        goto out;
    }
    /* The commit point: the new snapshot names the new log, so the store
     * moves to it even if the directory sync below fails (reported). */
    int synced = sync_dir(s->dir, err);
    crash_point(PH_JSTORE_STEP_RENAME);
    struct stat st;
    s->snapshot_bytes = stat(snapp, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (last < PH_JSTORE_STEP_ALL) {
        ph_journal_close(next);
        free(snap);
        return synced;
    }
    ph_journal_close(s->log);
    s->log = next;
    s->gen++;
    unlink(oldlog); /* a leftover is removed by the next open */
    free(snap);
    crash_point(PH_JSTORE_STEP_ALL);
    return synced;
out:
    if (next)
        ph_journal_close(next);
    if (rc) {
        unlink(newlog);
        ph_jstore_snapshot_abort(s, snap);
        return rc;
    }
    /* Stopped on purpose (tests): leave the files as a crash would. */
    if (snap->file)
        ph_journal_close(snap->file);
    free(snap);
    return PH_OK;
}

int ph_jstore_snapshot_commit(ph_jstore *s, ph_jsnap *snap, ph_err *err)
{
    return ph_jstore_commit_until(s, snap, PH_JSTORE_STEP_ALL, err);
}

void ph_jstore_crash(ph_jstore *s)
{
    if (!s)
        return;
    ph_journal_close(s->log);
    free(s->dir);
    free(s);
}

void ph_jstore_close(ph_jstore *s)
{
    if (!s)
        return;
    ph_err e;
    (void)ph_journal_sync(s->log, &e);
    ph_jstore_crash(s);
}
