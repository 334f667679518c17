/* coord_journal.c - what the coordinator must not forget, on disk.
 *
 * With --state-dir, every accepted job and every final task result is
 * appended to STATE_DIR/journal (common/ph_journal.h: checksummed records,
 * a torn tail is cut off on replay).  A restarted coordinator replays it:
 * jobs come back under the same ids and tokens, finished tasks keep their
 * results.csv rows and are not redone, everything else is queued again.
 *
 * Durability: a job record is fdatasync'd before the client gets its token,
 * so no accepted job is lost.  Task records are synced in groups (at most
 * every COORD_JOURNAL_SYNC_MS).  A process crash loses nothing that was
 * appended.  A power cut is weaker: table files are not fsync'd (that would
 * cost a flush per file), so a task the journal counts as done may have lost
 * its files, and it is not redone.
 *
 * Records (little-endian; str = u32 length + bytes):
 *   JOB  id u64, token 16 bytes, is_create u8, compact u8, threads u32,
 *        seed u64, hash str, dir str, out_dir str, ntasks u64, file str x n,
 *        keys str (create jobs; empty for bulk)
 *   TASK job u64, task u64, status i32, node str, keys u32, hash str,
 *        seeds 4 x u32, vertices u32, attempts u64, solve_us u64,
 *        verify_us u64, table_bytes u64, error str
 *   DONE job u64, elapsed_us u64
 *
 * A leaf: it encodes what it is given and hands decoded records to the
 * caller's function on replay (coord_restore.c applies them). */
#include "coord_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_fs.h"
#include "ph_journal.h"
#include "ph_log.h"
#include "ph_time.h"

#define COORD_JOURNAL_SYNC_MS 50

struct coord_journal {
    ph_journal *log;
    bool dirty;            /* appended since the last sync */
    uint64_t sync_ms;      /* when it was last synced */
};

/* ---- record building ----------------------------------------------------- */

typedef struct jbuf {
    char *p;
    size_t n, cap;
    bool oom;
} jbuf;

static void jb_put(jbuf *b, const void *data, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
}

static void jb_u64(jbuf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    jb_put(b, x, 8);
}

static void jb_u32(jbuf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    jb_put(b, x, 4);
}

static void jb_u8(jbuf *b, uint8_t v) { jb_put(b, &v, 1); }

static void jb_str(jbuf *b, const char *s, size_t len)
{
    jb_u32(b, (uint32_t)len);
    jb_put(b, s, len);
}

static void jb_cstr(jbuf *b, const char *s) { jb_str(b, s ? s : "", s ? strlen(s) : 0); }

/* ---- record reading (bounds-checked: a record is our own, but a disk
 * can still hand back garbage that passed the CRC by accident) ----------- */

typedef struct jrd {
    const unsigned char *p;
    size_t n, off;
    bool bad;
} jrd;

static uint64_t jr_uint(jrd *r, int bytes)
{
    if (r->bad || r->n - r->off < (size_t)bytes) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
    r->off += (size_t)bytes;
    return v;
}

/* A view of a str field; copied out by the caller. */
static const char *jr_str(jrd *r, size_t *len)
{
    *len = (size_t)jr_uint(r, 4);
    if (r->bad || r->n - r->off < *len) {
        r->bad = true;
        *len = 0;
        return "";
    }
    const char *s = (const char *)r->p + r->off;
    r->off += *len;
    return s;
}

static void jr_cstr(jrd *r, char *out, size_t outlen)
{
    size_t len;
    const char *s = jr_str(r, &len);
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

static char *jr_dup(jrd *r)
{
    size_t len;
    const char *s = jr_str(r, &len);
    char *d = malloc(len + 1);
    if (!d) {
        r->bad = true;
        return NULL;
    }
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* ---- writing --------------------------------------------------------------- */

static int append(coord_journal *jl, uint8_t type, jbuf *b, bool sync, ph_err *err)
{
    int rc = PH_OK;
    if (b->oom)
        rc = ph_err_set(err, PH_ENOMEM, "journal: out of memory");
    else if (b->n > PH_JOURNAL_MAX_RECORD)
        rc = ph_err_set(err, PH_EINVAL, "journal: record of %zu bytes is over the %u-byte "
                        "limit (keys too large to keep across restarts)", b->n,
                        PH_JOURNAL_MAX_RECORD);
    else
        rc = ph_journal_append(jl->log, type, b->p, (uint32_t)b->n, sync, err);
    free(b->p);
    if (!rc && !sync)
        jl->dirty = true;
    return rc;
}

int coord_journal_job(coord_journal *jl, const coord_job *j, ph_err *err)
{
    if (!jl)
        return PH_OK;
    jbuf b = {0};
    jb_u64(&b, j->id);
    jb_put(&b, j->token, 16);
    jb_u8(&b, j->is_create);
    jb_u8(&b, j->compact);
    jb_u32(&b, j->threads);
    jb_u64(&b, j->seed);
    jb_cstr(&b, j->hash);
    jb_cstr(&b, j->dir);
    jb_cstr(&b, j->out_dir);
    jb_u64(&b, j->total);
    for (uint64_t i = 0; i < j->total; i++)
        jb_cstr(&b, j->tasks[i].file);
    jb_str(&b, j->keys ? j->keys : "", j->keys ? j->keys_len : 0);
    /* Synced: a client holding a token can count on the job surviving. */
    return append(jl, COORD_JREC_JOB, &b, true, err);
}

void coord_journal_task(coord_journal *jl, const coord_job *j, uint64_t task,
                        const char *node, int status, const char *error)
{
    if (!jl)
        return;
    const ph_result_row *row = &j->rows[task];
    jbuf b = {0};
    jb_u64(&b, j->id);
    jb_u64(&b, task);
    jb_u32(&b, (uint32_t)status);
    jb_cstr(&b, node);
    jb_u32(&b, row->keys);
    jb_cstr(&b, row->hash);
    for (int i = 0; i < 4; i++)
        jb_u32(&b, row->seeds[i]);
    jb_u32(&b, row->vertices);
    jb_u64(&b, row->attempts);
    jb_u64(&b, row->solve_us);
    jb_u64(&b, row->verify_us);
    jb_u64(&b, row->table_bytes);
    jb_cstr(&b, error);
    ph_err err = {0};
    if (append(jl, COORD_JREC_TASK, &b, false, &err) != 0)
        ph_log_error("coord", "job=%s task=%llu msg=\"journal: %s\"", j->token,
                     (unsigned long long)task, err.msg);
}

void coord_journal_done(coord_journal *jl, const coord_job *j)
{
    if (!jl)
        return;
    jbuf b = {0};
    jb_u64(&b, j->id);
    jb_u64(&b, j->end_us - j->start_us);
    ph_err err = {0};
    if (append(jl, COORD_JREC_DONE, &b, false, &err) != 0)
        ph_log_error("coord", "job=%s msg=\"journal: %s\"", j->token, err.msg);
}

void coord_journal_flush(coord_journal *jl, bool force)
{
    if (!jl || !jl->dirty)
        return;
    uint64_t now = ph_time_ms();
    if (!force && now - jl->sync_ms < COORD_JOURNAL_SYNC_MS)
        return;
    ph_err err = {0};
    if (ph_journal_sync(jl->log, &err) != 0)
        ph_log_error("coord", "msg=\"journal sync: %s\"", err.msg);
    jl->dirty = false;
    jl->sync_ms = now;
}

/* ---- replay ----------------------------------------------------------------- */

typedef struct replay_ctx {
    coord_jrec_fn fn;
    void *ctx;
} replay_ctx;

static int replay_job(const replay_ctx *rc_, jrd *r)
{
    uint64_t id = jr_uint(r, 8);
    char token[17];
    if (r->bad || r->n - r->off < 16)
        return -1;
    memcpy(token, r->p + r->off, 16);
    token[16] = '\0';
    r->off += 16;
    coord_jrec rec = {.type = COORD_JREC_JOB, .job_id = id};
    coord_job_restore *rs = &rec.job;
    rs->id = id;
    rs->token = token;
    rs->is_create = jr_uint(r, 1) != 0;
    rs->compact = jr_uint(r, 1) != 0;
    rs->threads = (uint32_t)jr_uint(r, 4);
    rs->seed = jr_uint(r, 8);
    jr_cstr(r, rs->hash, sizeof rs->hash);
    char *dir = jr_dup(r), *out_dir = jr_dup(r);
    uint64_t n = jr_uint(r, 8);
    int rc = -1;
    /* Each name takes at least its 4-byte length: a count beyond that is
     * corruption, not a reason to allocate. */
    char **files = !r->bad && n <= (r->n - r->off) / 4 ? calloc(n ? n : 1, sizeof *files) : NULL;
    for (uint64_t i = 0; files && i < n && !r->bad; i++)
        files[i] = jr_dup(r);
    size_t klen = 0;
    const char *keys = jr_str(r, &klen);
    if (files && !r->bad && r->off == r->n && dir && out_dir) {
        rs->dir = dir;
        rs->out_dir = out_dir;
        rs->files = files;
        rs->nfiles = n;
        rs->keys = keys;
        rs->keys_len = klen;
        rc = rc_->fn(rc_->ctx, &rec); /* may take the file names */
    }
    if (files)
        for (uint64_t i = 0; i < n; i++)
            free(files[i]);
    free(files);
    free(dir);
    free(out_dir);
    return rc;
}

static int replay_task(const replay_ctx *rc_, jrd *r)
{
    coord_jrec rec = {.type = COORD_JREC_TASK};
    rec.job_id = jr_uint(r, 8);
    rec.task = jr_uint(r, 8);
    rec.status = (int)(int32_t)jr_uint(r, 4);
    char node[COORD_NODE_MAX], hash[16], error[512];
    jr_cstr(r, node, sizeof node);
    ph_msg_result *res = &rec.result;
    res->job_id = rec.job_id;
    res->task_id = rec.task;
    res->keys = (uint32_t)jr_uint(r, 4);
    jr_cstr(r, hash, sizeof hash);
    res->hash = ph_bytes_str(hash);
    for (int i = 0; i < 4; i++)
        res->seeds[i] = (uint32_t)jr_uint(r, 4);
    res->vertices = (uint32_t)jr_uint(r, 4);
    res->attempts = jr_uint(r, 8);
    res->solve_us = jr_uint(r, 8);
    res->verify_us = jr_uint(r, 8);
    res->table_bytes = jr_uint(r, 8);
    jr_cstr(r, error, sizeof error);
    if (r->bad || r->off != r->n)
        return -1;
    rec.node = node;
    rec.error = error;
    return rc_->fn(rc_->ctx, &rec);
}

static int replay_one(void *ctx, uint8_t type, const void *data, uint32_t len)
{
    const replay_ctx *rx = ctx;
    jrd r = {data, len, 0, false};
    int rc;
    switch (type) {
    case COORD_JREC_JOB: rc = replay_job(rx, &r); break;
    case COORD_JREC_TASK: rc = replay_task(rx, &r); break;
    case COORD_JREC_DONE: {
        coord_jrec rec = {.type = COORD_JREC_DONE};
        rec.job_id = jr_uint(&r, 8);
        rec.elapsed_us = jr_uint(&r, 8);
        rc = r.bad || r.off != r.n ? -1 : rx->fn(rx->ctx, &rec);
        break;
    }
    default: rc = -1; break;
    }
    if (rc != 0)
        ph_log_warn("coord", "type=%u bytes=%u msg=\"journal record not understood; skipped\"",
                    type, len);
    return 0; /* one bad record must not cost the rest */
}

int coord_journal_open(const char *state_dir, coord_jrec_fn fn, void *ctx,
                       coord_journal **out, ph_err *err)
{
    *out = NULL;
    char path[4096];
    int rc = ph_fs_mkdirs(state_dir, err);
    if (!rc)
        rc = ph_fs_join(path, sizeof path, state_dir, "journal", err);
    if (rc)
        return rc;
    coord_journal *jl = calloc(1, sizeof *jl);
    if (!jl)
        return ph_err_set(err, PH_ENOMEM, "journal: out of memory");
    uint64_t records = 0;
    replay_ctx rx = {fn, ctx};
    rc = ph_journal_replay(path, replay_one, &rx, &records, err);
    if (!rc)
        rc = ph_journal_open(path, &jl->log, err);
    if (rc) {
        free(jl);
        return rc;
    }
    ph_log_info("coord", "journal=%s records=%llu msg=\"journal replayed\"", path,
                (unsigned long long)records);
    *out = jl;
    return PH_OK;
}

void coord_journal_close(coord_journal *jl)
{
    if (!jl)
        return;
    coord_journal_flush(jl, true);
    ph_journal_close(jl->log);
    free(jl);
}
