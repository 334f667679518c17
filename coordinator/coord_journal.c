/* coord_journal.c - what the coordinator must not forget, on disk.
 *
 * With --state-dir, every accepted job and every final task result is
 * appended to the log of STATE_DIR (common/ph_jstore.h: checksummed
 * records, a torn tail is cut off on replay; compacted into a snapshot of
 * the live state once the log outgrows it).  A restarted coordinator
 * replays snapshot and log:
 * jobs come back under the same ids and tokens, finished tasks keep their
 * results.csv rows and are not redone, everything else is queued again.
 *
 * Durability: a job record is fdatasync'd before the client gets its token,
 * so no accepted job is lost.  Task records are synced in groups (at most
 * every COORD_JOURNAL_SYNC_MS), and a TASK record is appended only after its
 * table's files are on disk (coord_durable.c), so a power cut can lose the
 * record of a finished table (it is then redone), never a table the journal
 * counts as done.
 *
 * Records (little-endian; str = u32 length + bytes):
 *   JOB  id u64, token 16 bytes, is_create u8, flags u8 (bit 0 compact,
 *        bit 1 index-only tables), threads u32,
 *        seed u64, hash str, dir str, out_dir str, ntasks u64, file str x n,
 *        keys str (create jobs; empty for bulk), then partition u32 when it
 *        is not 0 (ph_opts.partition; absent = 0, auto)
 *   TASK job u64, task u64, status i32, node str, keys u32, hash str,
 *        seeds 4 x u32, vertices u32, attempts u64, solve_us u64,
 *        verify_us u64, table_bytes u64, error str
 *   START job u64, start_wall_us u64: the job's wall-clock start (us since
 *        the epoch), right after its JOB record, so that its elapsed time
 *        counts from it after a restart.  A journal without it (older
 *        versions) counts from the restart; older versions skip it.
 *   DONE job u64, elapsed_us u64
 *   FINISHED (snapshots) a finished job whose tasks are no longer kept:
 *        id u64, token 16 bytes, is_create u8, state u32, total u64,
 *        succeeded u64, failed u64, elapsed_us u64, first_error str,
 *        dir str, out_dir str, nnodes u32, (node str, succeeded u64,
 *        failed u64) x nnodes
 *   NEXTID next job id u64 (snapshots: ids of forgotten jobs stay used)
 *   FORGET job u64 (its retention ended)
 *   CANCEL job u64 (cancelled: no task of it runs again; the job ends
 *        PH_JOB_CANCELLED, listing only the tasks that have a TASK record)
 *
 * New record types only ever get added: a journal written before one
 * existed replays unchanged.
 *
 * A leaf: it encodes what it is given and hands decoded records to the
 * caller's function on replay (coord_restore.c applies them). */
#include "coord_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_fs.h"
#include "ph_jstore.h"
#include "ph_log.h"
#include "ph_time.h"

#define COORD_JOURNAL_SYNC_MS 50

struct coord_journal {
    ph_jstore *store;
    uint64_t compact_bytes; /* compact once the log is past this and the snapshot */
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

/* The low `bytes` bytes of v, little-endian. */
static void jb_le(jbuf *b, uint64_t v, unsigned bytes)
{
    unsigned char x[8];
    for (unsigned i = 0; i < bytes; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    jb_put(b, x, bytes);
}

static void jb_u64(jbuf *b, uint64_t v) { jb_le(b, v, 8); }
static void jb_u32(jbuf *b, uint32_t v) { jb_le(b, v, 4); }

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
        rc = ph_jstore_append(jl->store, type, b->p, (uint32_t)b->n, sync, err);
    free(b->p);
    if (!rc && !sync)
        jl->dirty = true;
    return rc;
}

static void encode_job(jbuf *b, const coord_job *j)
{
    jb_u64(b, j->id);
    jb_put(b, j->token, 16);
    jb_u8(b, j->is_create);
    jb_u8(b, (uint8_t)((j->compact ? 1u : 0u)
                       | ((j->table_flags & PH_TABLE_INDEX_ONLY) ? 2u : 0u)
                       | ((j->table_flags & PH_TABLE_BIN) ? 4u : 0u)
                       | ((j->table_flags & PH_TABLE_NO_C) ? 8u : 0u)
                       | ((j->table_flags & PH_TABLE_KEY64) ? 16u : 0u)
                       | ((j->table_flags & PH_TABLE_KEY32) ? 32u : 0u)
                       | ((j->table_flags & PH_TABLE_VALUES32) ? 64u : 0u)
                       | ((j->table_flags & PH_TABLE_VALUES64) ? 128u : 0u)));
    jb_u32(b, j->threads);
    jb_u64(b, j->seed);
    jb_cstr(b, j->hash);
    jb_cstr(b, j->dir);
    jb_cstr(b, j->out_dir);
    jb_u64(b, j->total);
    for (uint64_t i = 0; i < j->total; i++)
        jb_cstr(b, j->tasks[i].file);
    jb_str(b, j->keys ? j->keys : "", j->keys ? j->keys_len : 0);
    bool values = (j->table_flags & (PH_TABLE_VALUES32 | PH_TABLE_VALUES64)) != 0;
    if (j->partition || values) /* optional: records without it mean 0 (auto) */
        jb_u32(b, j->partition);
    if (values) /* a job with values: their starting bytes, empty = all 0 */
        jb_str(b, j->values ? j->values : "", j->values ? j->values_len : 0);
    if (values && j->values_file) /* optional: a bulk job's values file */
        jb_cstr(b, j->values_file);
}

static void encode_task(jbuf *b, const coord_job *j, uint64_t task, const char *node,
                        int status, const char *error)
{
    const ph_result_row *row = &j->rows[task];
    jb_u64(b, j->id);
    jb_u64(b, task);
    jb_u32(b, (uint32_t)status);
    jb_cstr(b, node);
    jb_u32(b, row->keys);
    jb_cstr(b, row->hash);
    for (int i = 0; i < 4; i++)
        jb_u32(b, row->seeds[i]);
    jb_u32(b, row->vertices);
    jb_u64(b, row->attempts);
    jb_u64(b, row->solve_us);
    jb_u64(b, row->verify_us);
    jb_u64(b, row->table_bytes);
    jb_cstr(b, error);
}

static void encode_finished(jbuf *b, const coord_job *j)
{
    jb_u64(b, j->id);
    jb_put(b, j->token, 16);
    jb_u8(b, j->is_create);
    jb_u32(b, j->state);
    jb_u64(b, j->total);
    jb_u64(b, j->succeeded);
    jb_u64(b, j->failed);
    jb_u64(b, j->end_us - j->start_us);
    jb_cstr(b, j->first_error);
    jb_cstr(b, j->dir);
    jb_cstr(b, j->out_dir);
    jb_u32(b, (uint32_t)j->njw);
    for (size_t i = 0; i < j->njw; i++) {
        jb_cstr(b, j->jw[i].node);
        jb_u64(b, j->jw[i].succeeded);
        jb_u64(b, j->jw[i].failed);
    }
}

static void encode_start(jbuf *b, const coord_job *j)
{
    jb_u64(b, j->id);
    jb_u64(b, j->start_wall_us);
}

int coord_journal_job(coord_journal *jl, const coord_job *j, ph_err *err)
{
    if (!jl)
        return PH_OK;
    jbuf b = {0};
    encode_job(&b, j);
    int rc = append(jl, COORD_JREC_JOB, &b, false, err);
    if (rc)
        return rc;
    /* Synced with it: a client holding a token can count on the job
     * surviving.  Without its START the job still resumes (its elapsed
     * time then counts from the restart). */
    b = (jbuf){0}; /* append freed the JOB record */
    encode_start(&b, j);
    ph_err e = {0};
    if (append(jl, COORD_JREC_START, &b, true, &e) == 0)
        return PH_OK;
    ph_log_warn("coord", "job=%s msg=\"journal: %s\"", j->token, e.msg);
    rc = ph_jstore_sync(jl->store, err);
    if (!rc)
        jl->dirty = false;
    return rc;
}

void coord_journal_task(coord_journal *jl, const coord_job *j, uint64_t task,
                        const char *node, int status, const char *error)
{
    if (!jl)
        return;
    jbuf b = {0};
    encode_task(&b, j, task, node, status, error);
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

void coord_journal_forget(coord_journal *jl, const coord_job *j)
{
    if (!jl)
        return;
    jbuf b = {0};
    jb_u64(&b, j->id);
    ph_err err = {0};
    if (append(jl, COORD_JREC_FORGET, &b, false, &err) != 0)
        ph_log_error("coord", "job=%s msg=\"journal: %s\"", j->token, err.msg);
}

int coord_journal_cancel(coord_journal *jl, const coord_job *j, ph_err *err)
{
    if (!jl)
        return PH_OK;
    jbuf b = {0};
    jb_u64(&b, j->id);
    return append(jl, COORD_JREC_CANCEL, &b, true, err);
}

/* ---- compaction ------------------------------------------------------------- */

static int snap_put(ph_jsnap *snap, uint8_t type, jbuf *b, ph_err *err)
{
    int rc = b->oom ? ph_err_set(err, PH_ENOMEM, "journal snapshot: out of memory")
                    : b->n > PH_JOURNAL_MAX_RECORD
                          ? ph_err_set(err, PH_EINVAL, "journal snapshot: record too large")
                          : ph_jsnap_put(snap, type, b->p, (uint32_t)b->n, err);
    free(b->p);
    memset(b, 0, sizeof *b);
    return rc;
}

/* A running job as its JOB record plus a TASK record per finished task;
 * a finished one (its tasks freed) as one FINISHED record. */
static int snap_job(ph_jsnap *snap, const coord_job *j, ph_err *err)
{
    jbuf b = {0};
    if (j->state != PH_JOB_RUNNING || !j->tasks) {
        encode_finished(&b, j);
        return snap_put(snap, COORD_JREC_FINISHED, &b, err);
    }
    encode_job(&b, j);
    int rc = snap_put(snap, COORD_JREC_JOB, &b, err);
    if (!rc && j->start_wall_us) {
        encode_start(&b, j);
        rc = snap_put(snap, COORD_JREC_START, &b, err);
    }
    for (uint64_t t = 0; !rc && t < j->total; t++) {
        const coord_task *task = &j->tasks[t];
        if (task->state != TASK_DONE)
            continue;
        const char *node = task->jw ? j->jw[task->jw - 1].node : "coordinator";
        encode_task(&b, j, t, node, task->status,
                    t == j->first_error_index ? j->first_error : "");
        rc = snap_put(snap, COORD_JREC_TASK, &b, err);
    }
    if (!rc && j->cancel) {
        jb_u64(&b, j->id);
        rc = snap_put(snap, COORD_JREC_CANCEL, &b, err);
    }
    return rc;
}

bool coord_journal_wants_compact(const coord_journal *jl)
{
    if (!jl)
        return false;
    uint64_t log = ph_jstore_log_bytes(jl->store);
    return log >= jl->compact_bytes && log >= ph_jstore_snapshot_bytes(jl->store);
}

int coord_journal_compact(coord_journal *jl, const coord_jobs *jobs, ph_err *err)
{
    if (!jl)
        return PH_OK;
    uint64_t before = ph_jstore_log_bytes(jl->store);
    ph_jsnap *snap;
    int rc = ph_jstore_snapshot_begin(jl->store, &snap, err);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < jobs->n; i++)
        rc = snap_job(snap, jobs->v[i], err);
    /* Last: restored jobs must come in rising id order, from any start. */
    jbuf b = {0};
    jb_u64(&b, jobs->next_id ? jobs->next_id : 1);
    if (!rc)
        rc = snap_put(snap, COORD_JREC_NEXTID, &b, err);
    else
        free(b.p);
    if (rc) {
        ph_jstore_snapshot_abort(jl->store, snap);
        return rc;
    }
    rc = ph_jstore_snapshot_commit(jl->store, snap, err);
    if (!rc) {
        jl->dirty = false;
        ph_log_info("coord", "generation=%llu jobs=%zu log_bytes=%llu snapshot_bytes=%llu "
                    "msg=\"journal compacted\"",
                    (unsigned long long)ph_jstore_generation(jl->store), jobs->n,
                    (unsigned long long)before,
                    (unsigned long long)ph_jstore_snapshot_bytes(jl->store));
    }
    return rc;
}

uint64_t coord_journal_bytes(const coord_journal *jl)
{
    return jl ? ph_jstore_log_bytes(jl->store) + ph_jstore_snapshot_bytes(jl->store) : 0;
}

void coord_journal_flush(coord_journal *jl, bool force)
{
    if (!jl || !jl->dirty)
        return;
    uint64_t now = ph_time_ms();
    if (!force && now - jl->sync_ms < COORD_JOURNAL_SYNC_MS)
        return;
    ph_err err = {0};
    if (ph_jstore_sync(jl->store, &err) != 0)
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
    uint64_t flags = jr_uint(r, 1);
    rs->compact = (flags & 1u) != 0;
    rs->table_flags = ((flags & 2u) ? PH_TABLE_INDEX_ONLY : 0) | ((flags & 4u) ? PH_TABLE_BIN : 0)
                      | ((flags & 8u) ? PH_TABLE_NO_C : 0)
                      | ((flags & 16u) ? PH_TABLE_KEY64 : 0) | ((flags & 32u) ? PH_TABLE_KEY32 : 0)
                      | ((flags & 64u) ? PH_TABLE_VALUES32 : 0)
                      | ((flags & 128u) ? PH_TABLE_VALUES64 : 0);
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
    char *values_file = NULL;
    if (rs->table_flags & (PH_TABLE_VALUES32 | PH_TABLE_VALUES64)) {
        rs->partition = (uint32_t)jr_uint(r, 4);
        rs->values = jr_str(r, &rs->values_len);
        if (!r->bad && r->off < r->n)
            rs->values_file = values_file = jr_dup(r);
    } else if (!r->bad && r->n - r->off == 4) {
        rs->partition = (uint32_t)jr_uint(r, 4);
    }
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
    free(values_file);
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

static int replay_finished(const replay_ctx *rx, jrd *r)
{
    coord_jrec rec = {.type = COORD_JREC_FINISHED};
    coord_job_summary *sm = &rec.finished;
    char token[17], first_error[512];
    sm->id = rec.job_id = jr_uint(r, 8);
    if (r->bad || r->n - r->off < 16)
        return -1;
    memcpy(token, r->p + r->off, 16);
    token[16] = '\0';
    r->off += 16;
    sm->token = token;
    sm->is_create = jr_uint(r, 1) != 0;
    sm->state = (uint32_t)jr_uint(r, 4);
    sm->total = jr_uint(r, 8);
    sm->succeeded = jr_uint(r, 8);
    sm->failed = jr_uint(r, 8);
    sm->elapsed_us = jr_uint(r, 8);
    jr_cstr(r, first_error, sizeof first_error);
    char *dir = jr_dup(r), *out_dir = jr_dup(r);
    uint64_t n = jr_uint(r, 4);
    /* Each node takes at least 20 bytes: a larger count is corruption. */
    bool fits = !r->bad && n <= (r->n - r->off) / 20;
    char **nodes = fits ? calloc(n ? n : 1, sizeof *nodes) : NULL;
    uint64_t *counts = fits ? calloc(n ? 2 * n : 1, sizeof *counts) : NULL;
    for (uint64_t i = 0; nodes && counts && i < n && !r->bad; i++) {
        nodes[i] = jr_dup(r);
        counts[2 * i] = jr_uint(r, 8);
        counts[2 * i + 1] = jr_uint(r, 8);
    }
    int rc = -1;
    if (nodes && counts && dir && out_dir && !r->bad && r->off == r->n) {
        sm->first_error = first_error;
        sm->dir = dir;
        sm->out_dir = out_dir;
        sm->nnodes = (size_t)n;
        sm->nodes = (const char *const *)nodes;
        sm->node_counts = counts;
        rc = rx->fn(rx->ctx, &rec);
    }
    for (uint64_t i = 0; nodes && i < n; i++)
        free(nodes[i]);
    free(nodes);
    free(counts);
    free(dir);
    free(out_dir);
    return rc;
}

/* A record holding one u64 (NEXTID, FORGET, CANCEL). */
static int replay_u64(const replay_ctx *rx, jrd *r, int type)
{
    coord_jrec rec = {.type = type};
    rec.job_id = jr_uint(r, 8);
    return r->bad || r->off != r->n ? -1 : rx->fn(rx->ctx, &rec);
}

static int replay_one(void *ctx, uint8_t type, const void *data, uint32_t len)
{
    const replay_ctx *rx = ctx;
    jrd r = {data, len, 0, false};
    int rc;
    switch (type) {
    case COORD_JREC_JOB: rc = replay_job(rx, &r); break;
    case COORD_JREC_TASK: rc = replay_task(rx, &r); break;
    case COORD_JREC_FINISHED: rc = replay_finished(rx, &r); break;
    case COORD_JREC_NEXTID:
    case COORD_JREC_FORGET:
    case COORD_JREC_CANCEL: rc = replay_u64(rx, &r, type); break;
    case COORD_JREC_START: {
        coord_jrec rec = {.type = COORD_JREC_START};
        rec.job_id = jr_uint(&r, 8);
        rec.start_wall_us = jr_uint(&r, 8);
        rc = r.bad || r.off != r.n ? -1 : rx->fn(rx->ctx, &rec);
        break;
    }
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

int coord_journal_open(const char *state_dir, uint64_t compact_bytes, coord_jrec_fn fn,
                       void *ctx, coord_journal **out, ph_err *err)
{
    *out = NULL;
    coord_journal *jl = calloc(1, sizeof *jl);
    if (!jl)
        return ph_err_set(err, PH_ENOMEM, "journal: out of memory");
    replay_ctx rx = {fn, ctx};
    ph_jstore_info info;
    int rc = ph_jstore_open(state_dir, replay_one, &rx, &jl->store, &info, err);
    if (rc) {
        free(jl);
        return rc;
    }
    jl->compact_bytes = compact_bytes;
    ph_log_info("coord", "state_dir=%s generation=%llu snapshot_records=%llu log_records=%llu "
                "stale_removed=%lu msg=\"journal replayed\"", state_dir,
                (unsigned long long)info.generation, (unsigned long long)info.snapshot_records,
                (unsigned long long)info.log_records, info.stale_removed);
    *out = jl;
    return PH_OK;
}

void coord_journal_close(coord_journal *jl)
{
    if (!jl)
        return;
    coord_journal_flush(jl, true);
    ph_jstore_close(jl->store);
    free(jl);
}
