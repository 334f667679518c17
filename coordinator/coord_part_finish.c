/* coord_part_finish.c - a partitioned table's last step: its files.
 *
 * Once every group of a partitioned table (coord_part.c) is in, on a
 * writer thread (a big table's NAME.phc takes seconds; the loop keeps
 * heartbeating meanwhile): the keys file must be unchanged (else the table
 * is dropped), the values file is synced, the bucket records and the text
 * files are written (each atomically), with --emit bin NAME.phc is
 * streamed from the values file and the keys file (no copy of either
 * held), and the values file is renamed into place last (--emit bin alone:
 * NAME.phc is the table, the values file goes).  Nothing at a final name
 * is ever half-written: each file goes to a temporary name and is renamed,
 * and a step that fails removes what the steps before it put in place.
 *
 * A file of its own because it shares nothing with the groups' traffic
 * but the part's state (coord_part_int.h): it reads the part, writes
 * files, and hands the result back to coord_part_close. */
#include "coord_part_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_fs.h"
#include "ph_image.h"
#include "ph_keys_map.h"
#include "ph_part.h"
#include "ph_part_emit.h"
#include "ph_time.h"

/* ---- the table file (--emit bin) ------------------------------------------ */

typedef struct phc_feed {
    const coord_part *p;
    int kfd;                    /* the keys file, or -1 (index only) */
    int sfd;                    /* the job's values file, or -1 */
    const char *shown;          /* OUT/NAME */
} phc_feed;

static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    char *q = buf;
    while (len > 0) {
        ssize_t r = pread(fd, q, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? 1 : -1; /* 1: the file ended early */
        q += r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* The vertex values, from the values file the groups were written into. */
static int feed_values(void *ctx, uint64_t off, void *buf, size_t len, ph_err *err)
{
    const phc_feed *f = ctx;
    int r = pread_full(f->p->vfd, buf, len, off);
    if (r != 0)
        return ph_err_set(err, PH_EIO, "%s/%s.values: cannot read back: %s", f->shown,
                          f->p->name, r > 0 ? "shorter than its table" : strerror(errno));
    return PH_OK;
}

/* len bytes at off of an input file (path, for errors) that was sized
 * before: one that ends early changed while being read. */
static int feed_input(int fd, const char *path, uint64_t off, void *buf, size_t len,
                      ph_err *err)
{
    int r = pread_full(fd, buf, len, off);
    if (r > 0)
        return ph_err_set(err, PH_EINVAL, "%s: changed while being read", path);
    if (r < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot read: %s", path, strerror(errno));
    return PH_OK;
}

/* The keys in position order: the keys file itself, checked unchanged
 * before and after (part_write_from). */
static int feed_keys(void *ctx, uint64_t off, void *buf, size_t len, ph_err *err)
{
    const phc_feed *f = ctx;
    return feed_input(f->kfd, f->p->path, off, buf, len, err);
}

/* Values from 0 (a table with values and no values file): streamed like
 * the others, never held (a billion 8-byte zeros are 8 GB of address
 * space, refused under a memory limit after the whole solve). */
static int feed_zeros(void *ctx, uint64_t off, void *buf, size_t len, ph_err *err)
{
    (void)ctx;
    (void)off;
    (void)err;
    memset(buf, 0, len);
    return PH_OK;
}

/* The starting values, from the job's values file (checked to hold one
 * value per key when the table was opened and when it was opened again). */
static int feed_start(void *ctx, uint64_t off, void *buf, size_t len, ph_err *err)
{
    const phc_feed *f = ctx;
    return feed_input(f->sfd, f->p->vstart, off, buf, len, err);
}

static int phc_fill(void *ctx, int fd, ph_err *err)
{
    const phc_feed *f = ctx;
    const coord_part *p = f->p;
    ph_part_table t = {.seed = p->table_seed, .nkeys = p->km.n, .nbuckets = p->nbuckets,
                       .buckets = p->buckets, .nverts = p->nverts, .key_size = p->key_size};
    ph_image_src src = {.kind = PH_IMAGE_PART, .part = &t, .key_size = (uint8_t)p->key_size,
                        .read_verts = feed_values, .read_keys = f->kfd >= 0 ? feed_keys : NULL,
                        .read_ctx = ctx, .read_values = f->sfd >= 0 ? feed_start : feed_zeros,
                        .value_size = (uint8_t)coord_part_value_size(p)};
    char shown[4800];
    snprintf(shown, sizeof shown, "%s/%s.phc", f->shown, p->name);
    return ph_image_write_fd(&src, fd, shown, err);
}

/* The keys file again, for the keys section: the very file that was read
 * (same inode, size and mtime), no link followed. */
static int open_keys_again(const coord_part *p, int *kfd, ph_err *err)
{
    struct stat st;
    *kfd = open(p->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (*kfd < 0)
        return ph_err_set(err, PH_EINVAL, "%s: cannot open again: %s", p->path,
                          strerror(errno));
    if (fstat(*kfd, &st) != 0 || (uint64_t)st.st_dev != p->km.dev ||
        (uint64_t)st.st_ino != p->km.ino || (uint64_t)st.st_size != p->km.size)
        return ph_err_set(err, PH_EINVAL, "%s: changed while being read", p->path);
    return PH_OK;
}

/* The job's values file, one value per key of the table, no link followed. */
static int open_start(const coord_part *p, int *sfd, ph_err *err)
{
    struct stat st;
    uint64_t want = (uint64_t)p->km.n * coord_part_value_size(p);
    *sfd = open(p->vstart, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (*sfd < 0)
        return ph_err_set(err, PH_EINVAL, "%s: cannot open: %s", p->vstart, strerror(errno));
    if (fstat(*sfd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != want)
        return ph_err_set(err, PH_EINVAL, "%s: changed while the table was built (the table "
                          "needs %llu bytes of values)", p->vstart, (unsigned long long)want);
    return PH_OK;
}

/* total bytes from read(ctx, ...) into the temporary fd, a buffer at a
 * time; ext names the file written in errors. */
static int copy_fill(const phc_feed *f, int fd, ph_image_read_fn read, uint64_t total,
                     const char *ext, ph_err *err)
{
    size_t cap = 1u << 20;
    char *buf = malloc(cap);
    if (!buf)
        return ph_err_set(err, PH_ENOMEM, "%s/%s%s: out of memory for a copy buffer",
                          f->shown, f->p->name, ext);
    int rc = PH_OK;
    for (uint64_t off = 0; !rc && off < total; off += cap) {
        size_t n = total - off < cap ? (size_t)(total - off) : cap;
        rc = read((void *)f, off, buf, n, err);
        if (!rc && ph_fs_write_full(fd, buf, n) != 0)
            rc = ph_err_set(err, PH_EIO, "%s/%s%s: write failed: %s", f->shown, f->p->name,
                            ext, strerror(errno));
    }
    free(buf);
    return rc;
}

/* The keys file copied into the temporary. */
static int keys_fill(void *ctx, int fd, ph_err *err)
{
    const phc_feed *f = ctx;
    return copy_fill(f, fd, feed_keys, (uint64_t)f->p->km.n * f->p->key_size, ".keys", err);
}

/* The job's values file copied into the temporary. */
static int start_fill(void *ctx, int fd, ph_err *err)
{
    const phc_feed *f = ctx;
    return copy_fill(f, fd, feed_start, (uint64_t)f->p->km.n * coord_part_value_size(f->p),
                     ".start", err);
}

/* The inputs a file of the finish streams from. */
enum { FROM_KEYS = 1, FROM_START = 2 };

/* OUT/NAME/NAME+ext written by fill (temporary + rename, no link
 * followed) from the inputs from names: the keys file opened again (the
 * very file that was read) and the job's values file.  A keys file that
 * changed by the end is refused too: the file written from it goes. */
static int part_write_from(coord_part *p, const char *shown, const char *ext, unsigned from,
                           ph_fs_fill_fn fill, ph_err *err)
{
    char final[300], where[4800];
    snprintf(final, sizeof final, "%s%s", p->name, ext);
    snprintf(where, sizeof where, "%s/%s", shown, final);
    phc_feed f = {.p = p, .kfd = -1, .sfd = -1, .shown = shown};
    int rc = PH_OK;
    if (from & FROM_KEYS)
        rc = open_keys_again(p, &f.kfd, err);
    if (!rc && (from & FROM_START))
        rc = open_start(p, &f.sfd, err);
    if (!rc)
        rc = ph_fs_write_atomic_at_fill(p->dirfd, final, where, fill, &f, 1, err);
    if (f.sfd >= 0)
        close(f.sfd);
    if (f.kfd >= 0)
        close(f.kfd);
    if (!rc && f.kfd >= 0 && ph_keys_map_unchanged(&p->km, p->path, err) != PH_OK) {
        rc = PH_EINVAL;
        (void)unlinkat(p->dirfd, final, 0);
    }
    return rc;
}

/* OUT/NAME/NAME.phc streamed from the values file and the keys file: the
 * coordinator holds neither the vertex values nor the keys in position
 * order, only a write buffer. */
static int part_write_phc(coord_part *p, const char *shown, ph_err *err)
{
    unsigned from = (p->table_flags & PH_TABLE_INDEX_ONLY) ? 0 : FROM_KEYS;
    if (coord_part_value_size(p) && p->vstart[0])
        from |= FROM_START;
    return part_write_from(p, shown, ".phc", from, phc_fill, err);
}

/* What a finish put at final names, removed again when a later step fails
 * (an older table's file it did not replace stays). */
enum { FIN_KEYS = 1, FIN_BUCKETS = 2, FIN_TEXT = 4, FIN_PHC = 8, FIN_START = 16 };

static void part_unfinish(coord_part *p, unsigned done, const ph_artifacts *arts)
{
    static const char *const ext[] = {".keys", ".buckets", NULL, ".phc", ".start"};
    char name[300];
    for (unsigned i = 0; i < 5; i++) {
        if (!(done & (1u << i)) || !ext[i])
            continue;
        snprintf(name, sizeof name, "%s%s", p->name, ext[i]);
        (void)unlinkat(p->dirfd, name, 0);
    }
    for (size_t i = 0; (done & FIN_TEXT) && i < arts->count; i++) {
        const char *path = arts->items[i].path, *base = strrchr(path, '/');
        size_t dir_len = base ? (size_t)(base - path) : 0;
        if (base && dir_len == strlen(p->name) && strncmp(path, p->name, dir_len) == 0)
            (void)unlinkat(p->dirfd, base + 1, 0); /* OUT/NAME/FILE */
        else if (!base)
            (void)unlinkat(p->outfd, path, 0);
    }
}

/* Every group is in: write the rest, rename the values into place.  On a
 * writer thread (or the loop when there is no pool); it touches only p.
 * --emit bin: NAME.phc alone (the values temporary then goes with the
 * part); c,bin: the C files, then NAME.phc, then the values last. */
static int part_finish(coord_part *p, ph_err *err)
{
    char shown[4400], final[300];
    snprintf(shown, sizeof shown, "%s/%s", p->out_dir, p->name);
    snprintf(final, sizeof final, "%s.values", p->name);
    bool want_c = !(p->table_flags & PH_TABLE_NO_C), want_bin = p->table_flags & PH_TABLE_BIN;
    unsigned done = 0;
    int rc = ph_keys_map_unchanged(&p->km, p->path, err);
    if (!rc && want_c && fsync(p->vfd) != 0)
        rc = ph_err_set(err, PH_EIO, "%s/%s: cannot sync: %s", shown, final, strerror(errno));
    ph_part_table t = {.seed = p->table_seed, .nkeys = p->km.n, .nbuckets = p->nbuckets,
                       .nverts = p->nverts, .key_size = p->key_size};
    ph_artifacts arts = {0};
    /* Values: from 0, or from the job's values file (NAME.start; the text
     * renderer only asks whether there is one). */
    ph_part_emit_opts eo = {.values = coord_part_value_size(p),
                            .start = p->vstart[0] ? (void *)p->vstart : NULL};
    if (!rc && want_c)
        rc = ph_part_emit_render_text_opts(&t, p->name, p->path, &eo, &arts, err);
    /* Values (C files): NAME.keys, the keys in position order that
     * NAME_find compares with; from a values file, NAME.start, embedded
     * as the starting values. */
    if (!rc && want_c && eo.values &&
        !(rc = part_write_from(p, shown, ".keys", FROM_KEYS, keys_fill, err)))
        done |= FIN_KEYS;
    if (!rc && want_c && eo.start &&
        !(rc = part_write_from(p, shown, ".start", FROM_START, start_fill, err)))
        done |= FIN_START;
    if (!rc && want_c) {
        char bname[300];
        snprintf(bname, sizeof bname, "%s.buckets", p->name);
        rc = ph_fs_write_atomic_at(p->dirfd, bname, shown, p->buckets,
                                   ((size_t)p->nbuckets + 1) * sizeof *p->buckets, 1, err);
        done |= rc ? 0 : FIN_BUCKETS;
    }
    if (!rc && want_c && !(rc = ph_artifacts_write(&arts, p->out_dir, err)))
        done |= FIN_TEXT;
    if (!rc && want_bin && !(rc = part_write_phc(p, shown, err)))
        done |= FIN_PHC;
    if (!rc && want_c && renameat(p->dirfd, p->vtmp, p->dirfd, final) != 0)
        rc = ph_err_set(err, PH_EIO, "%s/%s: cannot rename into place: %s", shown, final,
                        strerror(errno));
    if (!rc && want_c) {
        p->vtmp[0] = '\0'; /* renamed: coord_part_free must not remove it */
        coord_psave_remove(p->save, p->dirfd); /* its groups are all in place */
    }
    if (rc) /* nothing of a failed table stays (its directory goes with the part) */
        part_unfinish(p, done, &arts);
    ph_artifacts_free(&arts);
    return rc;
}

int coord_part_finish_run(coord_wjob *wj)
{
    coord_part *p = wj->part;
    uint64_t t0 = ph_time_us();
    int rc = part_finish(p, &wj->err);
    p->finish_us = ph_time_us() - t0;
    return rc;
}

/* The finish came back (on the loop): the file's result. */
void coord_part_finished(coord *c, coord_wjob *wj)
{
    coord_part *p = wj->part;
    coord_job *j = coord_job_by_id(&c->jobs, wj->job_id);
    p->opening = false;
    ph_err err = wj->err;
    int rc = wj->status;
    coord_wjob_free(wj);
    if (!j) { /* cannot happen: its task is running */
        coord_part_free(p);
        return;
    }
    if (!rc && c->journal)
        rc = coord_sync_dir(c, p->out_dir, &err);
    coord_part_close(c, j, p, rc, rc ? err.msg : "");
}

/* Every group is in: the files are written on a writer thread (a big
 * table's NAME.phc takes seconds), the part left alone meanwhile. */
void coord_part_finish_start(coord *c, coord_job *j, coord_part *p)
{
    coord_wjob *wj = coord_part_wjob(j->id, p->task, p, coord_part_finish_run);
    if (!wj) {
        coord_part_close(c, j, p, PH_ENOMEM, "out of memory finishing a partitioned table");
        return;
    }
    p->opening = true;
    if (coord_writer_submit(c->writer, wj))
        return;
    wj->status = coord_part_finish_run(wj);
    coord_part_finished(c, wj);
}

