/* ph_proto_decode.c - strict decoding of one phcluster frame.
 *
 * Three stages, each refusing what the next must not see:
 *   1. size cap and a bounds-checked pre-scan of the raw bytes
 *      (ph_proto_scan.c), because msgpack-c reserves memory from counts;
 *   2. msgpack_unpack_next, which must consume exactly the frame;
 *   3. typed extraction: exact field counts, types and ranges.
 * Strings and bins come back as views into the caller's frame: msgpack-c's
 * msgpack_unpack_next leaves str/bin pointers in the input buffer, which
 * dec_raw verifies for every field, so the unpacker's zone is freed before
 * ph_msg_decode returns. */
#include "ph_proto.h"
#include "ph_proto_int.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dec {
    const char *buf;     /* the frame, for the view check */
    size_t len;
    ph_err *err;
    char path[160];      /* "STATUS_REPLY.jobs[3].nodes[1]" */
    size_t plen;
} dec;

/* Append a path segment; returns the previous length for dec_pop. */
static size_t dec_push(dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t dec_push(dec *d, const char *fmt, ...)
{
    size_t old = d->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->path + old, sizeof d->path - old, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->plen = old + (size_t)n < sizeof d->path ? old + (size_t)n : sizeof d->path - 1;
    return old;
}

static void dec_pop(dec *d, size_t old)
{
    d->plen = old;
    d->path[old] = '\0';
}

static int dec_fail(dec *d, const char *field, const char *what)
{
    return ph_err_set(d->err, PH_EPROTO, "%s%s%s: %s", d->path,
                      field ? "." : "", field ? field : "", what);
}

static int dec_uint(dec *d, const msgpack_object *o, const char *field,
                    uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return dec_fail(d, field, "expected uint");
    if (o->via.u64 > max) {
        char what[64];
        snprintf(what, sizeof what, "%llu out of range (max %llu)",
                 (unsigned long long)o->via.u64, (unsigned long long)max);
        return dec_fail(d, field, what);
    }
    *v = o->via.u64;
    return 0;
}

static int dec_u32(dec *d, const msgpack_object *o, const char *field, uint32_t *v)
{
    uint64_t x = 0;
    int rc = dec_uint(d, o, field, UINT32_MAX, &x);
    if (rc == 0)
        *v = (uint32_t)x;
    return rc;
}

static int dec_u64(dec *d, const msgpack_object *o, const char *field, uint64_t *v)
{
    return dec_uint(d, o, field, UINT64_MAX, v);
}

/* A signed 32-bit field: msgpack-c packs non-negative ints as uints. */
static int dec_i32(dec *d, const msgpack_object *o, const char *field, int32_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX)
        *v = (int32_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= INT32_MIN)
        *v = (int32_t)o->via.i64;
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER
             || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return dec_fail(d, field, "out of range (int32)");
    else
        return dec_fail(d, field, "expected int");
    return 0;
}

static int dec_bool(dec *d, const msgpack_object *o, const char *field, bool *v)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return dec_fail(d, field, "expected bool");
    *v = o->via.boolean;
    return 0;
}

static int dec_raw(dec *d, const msgpack_object *o, const char *field, bool bin,
                   ph_bytes *v)
{
    msgpack_object_type want = bin ? MSGPACK_OBJECT_BIN : MSGPACK_OBJECT_STR;
    if (o->type != want)
        return dec_fail(d, field, bin ? "expected bin" : "expected str");
    const char *p = bin ? o->via.bin.ptr : o->via.str.ptr;
    uint32_t n = bin ? o->via.bin.size : o->via.str.size;
    /* The views must point into the frame (see the file comment); a
     * msgpack-c that copied into its zone would leave them dangling. */
    uintptr_t b = (uintptr_t)d->buf, q = (uintptr_t)p;
    if (n > 0 && (q < b || q - b > d->len || d->len - (q - b) < n))
        return dec_fail(d, field, "internal: unpacked data not in the frame");
    v->p = n > 0 ? p : d->buf;
    v->n = n;
    return 0;
}

static int dec_str(dec *d, const msgpack_object *o, const char *field, ph_bytes *v)
{
    return dec_raw(d, o, field, false, v);
}

static int dec_bin(dec *d, const msgpack_object *o, const char *field, ph_bytes *v)
{
    return dec_raw(d, o, field, true, v);
}

/* An array of exactly n elements (n == 0: any length up to the list limit;
 * the count is then returned in *count). */
static int dec_array(dec *d, const msgpack_object *o, const char *field,
                     uint32_t n, uint32_t *count)
{
    char what[80];
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return dec_fail(d, field, "expected array");
    uint32_t got = o->via.array.size;
    if (n == 0 && got > PH_PROTO_MAX_LIST) {
        snprintf(what, sizeof what, "%u entries exceed the limit of %u", got,
                 PH_PROTO_MAX_LIST);
        return dec_fail(d, field, what);
    }
    if (n != 0 && got != n) {
        snprintf(what, sizeof what, "expected %u entries, got %u", n, got);
        return dec_fail(d, field, what);
    }
    if (count)
        *count = got;
    return 0;
}

/* calloc for a decoded list; n may be 0 (then NULL is fine). */
static int dec_alloc(dec *d, const char *field, uint32_t n, size_t size, void **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    *out = calloc(n, size);
    if (!*out)
        return ph_err_set(d->err, PH_ENOMEM, "%s.%s: out of memory for %u entries",
                          d->path, field, n);
    return 0;
}

static int dec_opts(dec *d, const msgpack_object *o, ph_opts *v)
{
    uint32_t n = 0;
    int rc = dec_array(d, o, "opts", 0, &n);
    if (rc)
        return rc;
    if (n < 4 || n > 6) /* table_flags and partition are optional */
        return dec_fail(d, "opts", "expected 4 to 6 entries");
    const msgpack_object *f = o->via.array.ptr;
    size_t old = dec_push(d, ".opts");
    v->table_flags = 0;
    v->partition = 0;
    if (!(rc = dec_str(d, &f[0], "hash", &v->hash))
        && !(rc = dec_bool(d, &f[1], "compact", &v->compact))
        && !(rc = dec_u32(d, &f[2], "threads", &v->threads))
        && !(rc = dec_u64(d, &f[3], "seed", &v->seed)) && n >= 5
        && !(rc = dec_u32(d, &f[4], "table_flags", &v->table_flags))) {
        if (v->table_flags & ~PH_TABLE_FLAGS_KNOWN)
            rc = dec_fail(d, "table_flags", "unknown bits set");
        else if ((v->table_flags & PH_TABLE_NO_C) && !(v->table_flags & PH_TABLE_BIN))
            rc = dec_fail(d, "table_flags", "no C sources and no binary file");
        else if ((v->table_flags & PH_TABLE_KEY64) && (v->table_flags & PH_TABLE_KEY32))
            rc = dec_fail(d, "table_flags", "key size 4 and 8 both set");
        else if ((v->table_flags & PH_TABLE_VALUES32) && (v->table_flags & PH_TABLE_VALUES64))
            rc = dec_fail(d, "table_flags", "values of 4 and 8 bytes both set");
        else if ((v->table_flags & (PH_TABLE_VALUES32 | PH_TABLE_VALUES64)) &&
                 (v->table_flags & PH_TABLE_INDEX_ONLY))
            rc = dec_fail(d, "table_flags", "values need the key set (not index-only)");
        else if (n == 6)
            rc = dec_u32(d, &f[5], "partition", &v->partition);
    }
    dec_pop(d, old);
    return rc;
}

/* ---- per-type field lists (f = the fields after version and type) ---- */

static int dec_ready(dec *d, const msgpack_object *f, ph_msg_ready *v)
{
    int rc;
    if ((rc = dec_str(d, &f[0], "host", &v->host))
        || (rc = dec_u32(d, &f[1], "pid", &v->pid))
        || (rc = dec_u32(d, &f[2], "numa_node", &v->numa_node))
        || (rc = dec_u32(d, &f[3], "threads", &v->threads)))
        return rc;
    return dec_u32(d, &f[4], "credits", &v->credits);
}

static int dec_heartbeat(dec *d, const msgpack_object *f, ph_msg_heartbeat *v)
{
    int rc;
    if ((rc = dec_u32(d, &f[0], "running", &v->running))
        || (rc = dec_u64(d, &f[1], "done", &v->done)))
        return rc;
    return dec_u64(d, &f[2], "failed", &v->failed);
}

static int dec_progress_entry(dec *d, const msgpack_object *o, uint32_t i,
                              ph_task_progress *t)
{
    size_t old = dec_push(d, ".tasks[%u]", i);
    int rc = dec_array(d, o, NULL, PH_PROTO_PROGRESS_FIELDS, NULL);
    const msgpack_object *f = rc ? NULL : o->via.array.ptr;
    if (!rc && !(rc = dec_u64(d, &f[0], "job_id", &t->job_id))
        && !(rc = dec_u64(d, &f[1], "task_id", &t->task_id)))
        rc = dec_u64(d, &f[2], "steps", &t->steps);
    dec_pop(d, old);
    return rc;
}

static int dec_group_progress(dec *d, const msgpack_object *o, uint32_t i,
                              ph_group_progress *g)
{
    size_t old = dec_push(d, ".groups[%u]", i);
    int rc = dec_array(d, o, NULL, PH_PROTO_GROUP_PROGRESS_FIELDS, NULL);
    const msgpack_object *f = rc ? NULL : o->via.array.ptr;
    if (!rc && !(rc = dec_u64(d, &f[0], "job_id", &g->job_id))
        && !(rc = dec_u64(d, &f[1], "task_id", &g->task_id))
        && !(rc = dec_u32(d, &f[2], "group", &g->group)))
        rc = dec_u64(d, &f[3], "steps", &g->steps);
    dec_pop(d, old);
    return rc;
}

static int dec_progress(dec *d, const msgpack_object *f, ph_msg_progress *v)
{
    int rc;
    if ((rc = dec_array(d, &f[0], "tasks", 0, &v->ntasks))
        || (rc = dec_array(d, &f[1], "groups", 0, &v->ngroups))
        || (rc = dec_alloc(d, "tasks", v->ntasks, sizeof *v->tasks, (void **)&v->tasks))
        || (rc = dec_alloc(d, "groups", v->ngroups, sizeof *v->groups, (void **)&v->groups)))
        return rc;
    for (uint32_t i = 0; i < v->ntasks; i++)
        if ((rc = dec_progress_entry(d, &f[0].via.array.ptr[i], i, &v->tasks[i])))
            return rc;
    for (uint32_t i = 0; i < v->ngroups; i++)
        if ((rc = dec_group_progress(d, &f[1].via.array.ptr[i], i, &v->groups[i])))
            return rc;
    return 0;
}

static int dec_task(dec *d, const msgpack_object *f, ph_msg_task *v)
{
    int rc;
    if ((rc = dec_u64(d, &f[0], "job_id", &v->job_id))
        || (rc = dec_u64(d, &f[1], "task_id", &v->task_id))
        || (rc = dec_str(d, &f[2], "name", &v->name))
        || (rc = dec_bin(d, &f[3], "keys", &v->keys)))
        return rc;
    return dec_opts(d, &f[4], &v->opts);
}

static int dec_part_task(dec *d, const msgpack_object *f, ph_msg_part_task *v)
{
    int rc;
    if ((rc = dec_u64(d, &f[0], "job_id", &v->job_id))
        || (rc = dec_u64(d, &f[1], "task_id", &v->task_id))
        || (rc = dec_u32(d, &f[2], "group", &v->group))
        || (rc = dec_str(d, &f[3], "name", &v->name))
        || (rc = dec_u64(d, &f[4], "table_seed", &v->table_seed))
        || (rc = dec_u32(d, &f[5], "nkeys", &v->nkeys))
        || (rc = dec_u32(d, &f[6], "nbuckets", &v->nbuckets))
        || (rc = dec_u32(d, &f[7], "bucket_lo", &v->bucket_lo))
        || (rc = dec_u32(d, &f[8], "key_size", &v->key_size))
        || (rc = dec_u32(d, &f[9], "max_attempts", &v->max_attempts))
        || (rc = dec_bin(d, &f[10], "counts", &v->counts))
        || (rc = dec_bin(d, &f[11], "keys", &v->keys))
        || (rc = dec_bin(d, &f[12], "positions", &v->positions)))
        return rc;
    const char *bad = ph_proto_part_task_problem(v);
    return bad ? ph_err_set(d->err, PH_EPROTO, "%s.%s", d->path, bad) : 0;
}

static int dec_part_result(dec *d, const msgpack_object *f, ph_msg_part_result *v)
{
    int rc;
    if ((rc = dec_u64(d, &f[0], "job_id", &v->job_id))
        || (rc = dec_u64(d, &f[1], "task_id", &v->task_id))
        || (rc = dec_u32(d, &f[2], "group", &v->group))
        || (rc = dec_i32(d, &f[3], "status", &v->status))
        || (rc = dec_str(d, &f[4], "error", &v->error))
        || (rc = dec_u32(d, &f[5], "numa_node", &v->numa_node))
        || (rc = dec_u32(d, &f[6], "bucket_lo", &v->bucket_lo))
        || (rc = dec_bin(d, &f[7], "seeds", &v->seeds))
        || (rc = dec_bin(d, &f[8], "values", &v->values))
        || (rc = dec_u64(d, &f[9], "attempts", &v->attempts))
        || (rc = dec_u32(d, &f[10], "max_bucket_attempts", &v->max_bucket_attempts))
        || (rc = dec_u64(d, &f[11], "solve_us", &v->solve_us)))
        return rc;
    const char *bad = ph_proto_part_result_problem(v);
    return bad ? ph_err_set(d->err, PH_EPROTO, "%s.%s", d->path, bad) : 0;
}

static int dec_seeds(dec *d, const msgpack_object *o, uint32_t seeds[4])
{
    int rc = dec_array(d, o, "seeds", 4, NULL);
    for (int i = 0; !rc && i < 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "seeds[%d]", i);
        rc = dec_u32(d, &o->via.array.ptr[i], name, &seeds[i]);
    }
    return rc;
}

/* RESULT.table: [] (no table), or the 9 fields of ph_table_view, then the
 * checks the encoder makes too (ph_proto_table_problem). */
static int dec_table(dec *d, const msgpack_object *o, ph_msg_result *v)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return dec_fail(d, "table", "expected array");
    if (o->via.array.size == 0)
        return 0;
    int rc = dec_array(d, o, "table", PH_PROTO_TABLE_FIELDS, NULL);
    if (rc)
        return rc;
    const msgpack_object *f = o->via.array.ptr;
    ph_table_view *t = &v->table;
    size_t old = dec_push(d, ".table");
    if (!(rc = dec_u32(d, &f[0], "hash", &t->hash))
        && !(rc = dec_bool(d, &f[1], "compact", &t->compact))
        && !(rc = dec_seeds(d, &f[2], t->seeds))
        && !(rc = dec_u32(d, &f[3], "nkeys", &t->nkeys))
        && !(rc = dec_u32(d, &f[4], "nedges", &t->nedges))
        && !(rc = dec_u32(d, &f[5], "nverts", &t->nverts))
        && !(rc = dec_u32(d, &f[6], "shift", &t->shift))
        && !(rc = dec_u32(d, &f[7], "width", &t->width))
        && !(rc = dec_bin(d, &f[8], "assigned", &t->assigned))) {
        const char *bad = ph_proto_table_problem(t);
        if (bad)
            rc = ph_err_set(d->err, PH_EPROTO, "%s.%s", d->path, bad);
    }
    dec_pop(d, old);
    if (!rc)
        v->has_table = true;
    return rc;
}

static int dec_result_tail(dec *d, const msgpack_object *f, ph_msg_result *v)
{
    int rc;
    if ((rc = dec_seeds(d, &f[7], v->seeds))
        || (rc = dec_u32(d, &f[8], "vertices", &v->vertices))
        || (rc = dec_u64(d, &f[9], "attempts", &v->attempts))
        || (rc = dec_u64(d, &f[10], "solve_us", &v->solve_us))
        || (rc = dec_u64(d, &f[11], "verify_us", &v->verify_us))
        || (rc = dec_u64(d, &f[12], "table_bytes", &v->table_bytes)))
        return rc;
    if ((rc = dec_table(d, &f[13], v)))
        return rc;
    if (v->status != 0 && v->has_table)
        return dec_fail(d, "table", "must be empty when status is not 0");
    return 0;
}

static int dec_result(dec *d, const msgpack_object *f, ph_msg_result *v)
{
    int rc;
    if ((rc = dec_u64(d, &f[0], "job_id", &v->job_id))
        || (rc = dec_u64(d, &f[1], "task_id", &v->task_id))
        || (rc = dec_i32(d, &f[2], "status", &v->status))
        || (rc = dec_str(d, &f[3], "error", &v->error))
        || (rc = dec_u32(d, &f[4], "numa_node", &v->numa_node))
        || (rc = dec_u32(d, &f[5], "keys", &v->keys))
        || (rc = dec_str(d, &f[6], "hash", &v->hash)))
        return rc;
    return dec_result_tail(d, f, v);
}

static int dec_submit_create(dec *d, const msgpack_object *f, uint32_t nf,
                             ph_msg_submit_create *v)
{
    int rc;
    v->values = (ph_bytes){NULL, 0};
    if ((rc = dec_str(d, &f[0], "name", &v->name))
        || (rc = dec_bin(d, &f[1], "keys", &v->keys))
        || (rc = dec_str(d, &f[2], "out_dir", &v->out_dir))
        || (rc = dec_opts(d, &f[3], &v->opts)))
        return rc;
    if (nf == 5 && (rc = dec_bin(d, &f[4], "values", &v->values)))
        return rc;
    if (v->values.n && !(v->opts.table_flags & (PH_TABLE_VALUES32 | PH_TABLE_VALUES64)))
        return dec_fail(d, "values", "sent without opts.table_flags values");
    return 0;
}

static int dec_submit_bulk(dec *d, const msgpack_object *f, uint32_t nf,
                           ph_msg_submit_bulk *v)
{
    int rc;
    v->values_file = (ph_bytes){NULL, 0};
    if ((rc = dec_str(d, &f[0], "dir", &v->dir))
        || (rc = dec_str(d, &f[1], "out_dir", &v->out_dir))
        || (rc = dec_opts(d, &f[2], &v->opts)))
        return rc;
    if (nf == 4 && (rc = dec_str(d, &f[3], "values_file", &v->values_file)))
        return rc;
    if (nf == 4 && !v->values_file.n)
        return dec_fail(d, "values_file", "empty (the shortest form leaves it out)");
    if (v->values_file.n && !(v->opts.table_flags & (PH_TABLE_VALUES32 | PH_TABLE_VALUES64)))
        return dec_fail(d, "values_file", "sent without opts.table_flags values");
    return 0;
}

static int dec_node(dec *d, const msgpack_object *o, uint32_t i, ph_node_count *c)
{
    size_t old = dec_push(d, ".nodes[%u]", i);
    int rc = dec_array(d, o, NULL, 5, NULL);
    if (!rc) {
        const msgpack_object *f = o->via.array.ptr;
        if (!(rc = dec_str(d, &f[0], "node", &c->node))
            && !(rc = dec_u64(d, &f[1], "queued", &c->queued))
            && !(rc = dec_u64(d, &f[2], "running", &c->running))
            && !(rc = dec_u64(d, &f[3], "succeeded", &c->succeeded)))
            rc = dec_u64(d, &f[4], "failed", &c->failed);
    }
    dec_pop(d, old);
    return rc;
}

/* The PH_PROTO_JOB_FIELDS JOB fields (a JOB message's body, or one
 * STATUS_REPLY job), nf of them: 13, or 15 with the part counts. */
static int dec_job_fields(dec *d, const msgpack_object *f, uint32_t nf, ph_msg_job *v)
{
    int rc;
    if ((rc = dec_str(d, &f[0], "token", &v->token))
        || (rc = dec_u32(d, &f[1], "state", &v->state)))
        return rc;
    if (v->state > PH_JOB_STATE_MAX)
        return dec_fail(d, "state", "unknown job state");
    if ((rc = dec_u64(d, &f[2], "total", &v->total))
        || (rc = dec_u64(d, &f[3], "queued", &v->queued))
        || (rc = dec_u64(d, &f[4], "running", &v->running))
        || (rc = dec_u64(d, &f[5], "succeeded", &v->succeeded))
        || (rc = dec_u64(d, &f[6], "failed", &v->failed))
        || (rc = dec_u64(d, &f[7], "elapsed_us", &v->elapsed_us))
        || (rc = dec_str(d, &f[8], "first_error", &v->first_error))
        || (rc = dec_str(d, &f[9], "out_dir", &v->out_dir))
        || (rc = dec_array(d, &f[10], "nodes", 0, &v->nnodes))
        || (rc = dec_alloc(d, "nodes", v->nnodes, sizeof *v->nodes, (void **)&v->nodes)))
        return rc;
    for (uint32_t i = 0; i < v->nnodes; i++)
        if ((rc = dec_node(d, &f[10].via.array.ptr[i], i, &v->nodes[i])))
            return rc;
    if ((rc = dec_u64(d, &f[11], "stalled", &v->stalled))
        || (rc = dec_u64(d, &f[12], "stalls", &v->stalls)))
        return rc;
    if (nf == PH_PROTO_JOB_FIELDS_PARTS
        && ((rc = dec_u64(d, &f[13], "parts_total", &v->parts_total))
            || (rc = dec_u64(d, &f[14], "parts_done", &v->parts_done))))
        return rc;
    if (v->parts_done > v->parts_total)
        return dec_fail(d, "parts_done", "more than parts_total");
    return 0;
}

static bool job_nfields_ok(uint32_t n)
{
    return n == PH_PROTO_JOB_FIELDS || n == PH_PROTO_JOB_FIELDS_PARTS;
}

static int dec_worker(dec *d, const msgpack_object *o, uint32_t i, ph_worker_info *w)
{
    size_t old = dec_push(d, ".workers[%u]", i);
    int rc = dec_array(d, o, NULL, PH_PROTO_WORKER_FIELDS, NULL);
    const msgpack_object *f = rc ? NULL : o->via.array.ptr;
    if (!rc && !(rc = dec_str(d, &f[0], "id", &w->id))
        && !(rc = dec_str(d, &f[1], "host", &w->host))
        && !(rc = dec_u32(d, &f[2], "pid", &w->pid))
        && !(rc = dec_u32(d, &f[3], "numa_node", &w->numa_node))
        && !(rc = dec_u32(d, &f[4], "threads", &w->threads))
        && !(rc = dec_u32(d, &f[5], "running", &w->running))
        && !(rc = dec_u64(d, &f[6], "done", &w->done))
        && !(rc = dec_u64(d, &f[7], "failed", &w->failed))
        && !(rc = dec_u64(d, &f[8], "last_heartbeat_ms", &w->last_heartbeat_ms)))
        rc = dec_u32(d, &f[9], "stuck", &w->stuck);
    dec_pop(d, old);
    return rc;
}

/* A job nested in another message: an array of either JOB length. */
static int dec_nested_job(dec *d, const msgpack_object *o, ph_msg_job *j)
{
    int rc = 0;
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        rc = dec_fail(d, NULL, "expected array");
    } else if (!job_nfields_ok(o->via.array.size)) {
        char what[64];
        snprintf(what, sizeof what, "expected %u or %u entries, got %u", PH_PROTO_JOB_FIELDS,
                 PH_PROTO_JOB_FIELDS_PARTS, o->via.array.size);
        rc = dec_fail(d, NULL, what);
    }
    if (!rc)
        rc = dec_job_fields(d, o->via.array.ptr, o->via.array.size, j);
    return rc;
}

static int dec_status_job(dec *d, const msgpack_object *o, uint32_t i, ph_msg_job *j)
{
    size_t old = dec_push(d, ".jobs[%u]", i);
    int rc = dec_nested_job(d, o, j);
    dec_pop(d, old);
    return rc;
}

static int dec_status_reply(dec *d, const msgpack_object *f, ph_msg_status_reply *v)
{
    int rc;
    if ((rc = dec_u64(d, &f[0], "uptime_ms", &v->uptime_ms))
        || (rc = dec_array(d, &f[1], "workers", 0, &v->nworkers))
        || (rc = dec_array(d, &f[2], "jobs", 0, &v->njobs))
        || (rc = dec_alloc(d, "workers", v->nworkers, sizeof *v->workers,
                           (void **)&v->workers))
        || (rc = dec_alloc(d, "jobs", v->njobs, sizeof *v->jobs, (void **)&v->jobs)))
        return rc;
    for (uint32_t i = 0; i < v->nworkers; i++)
        if ((rc = dec_worker(d, &f[1].via.array.ptr[i], i, &v->workers[i])))
            return rc;
    for (uint32_t i = 0; i < v->njobs; i++)
        if ((rc = dec_status_job(d, &f[2].via.array.ptr[i], i, &v->jobs[i])))
            return rc;
    return 0;
}

/* CANCEL_REPLY: already, then the job as one nested array. */
static int dec_cancel_reply(dec *d, const msgpack_object *f, ph_msg_cancel_reply *v)
{
    int rc = dec_bool(d, &f[0], "already", &v->already);
    if (rc)
        return rc;
    size_t old = dec_push(d, ".job");
    rc = dec_nested_job(d, &f[1], &v->job);
    dec_pop(d, old);
    return rc;
}

static int dec_pair(dec *d, const msgpack_object *f, ph_msg *m)
{
    int rc;
    switch (m->type) {
    case PH_MSG_CANCEL_TASK:
        if ((rc = dec_u64(d, &f[0], "job_id", &m->u.cancel_task.job_id)))
            return rc;
        return dec_u64(d, &f[1], "task_id", &m->u.cancel_task.task_id);
    case PH_MSG_CANCEL_REPLY:
        return dec_cancel_reply(d, f, &m->u.cancel_reply);
    case PH_MSG_WAIT:
        if ((rc = dec_str(d, &f[0], "token", &m->u.wait.token)))
            return rc;
        return dec_u32(d, &f[1], "timeout_ms", &m->u.wait.timeout_ms);
    case PH_MSG_ACCEPTED:
        if ((rc = dec_str(d, &f[0], "token", &m->u.accepted.token)))
            return rc;
        return dec_u64(d, &f[1], "total", &m->u.accepted.total);
    case PH_MSG_ERROR:
        if ((rc = dec_i32(d, &f[0], "code", &m->u.error.code)))
            return rc;
        return dec_str(d, &f[1], "text", &m->u.error.text);
    default: /* PH_MSG_PONG */
        if ((rc = dec_u32(d, &f[0], "version", &m->u.pong.version)))
            return rc;
        return dec_u64(d, &f[1], "uptime_ms", &m->u.pong.uptime_ms);
    }
}

static int dec_body(dec *d, const msgpack_object *f, uint32_t nf, ph_msg *m)
{
    switch (m->type) {
    case PH_MSG_READY: return dec_ready(d, f, &m->u.ready);
    case PH_MSG_HEARTBEAT: return dec_heartbeat(d, f, &m->u.heartbeat);
    case PH_MSG_PROGRESS: return dec_progress(d, f, &m->u.progress);
    case PH_MSG_RESULT: return dec_result(d, f, &m->u.result);
    case PH_MSG_TASK: return dec_task(d, f, &m->u.task);
    case PH_MSG_PART_TASK: return dec_part_task(d, f, &m->u.part_task);
    case PH_MSG_PART_RESULT: return dec_part_result(d, f, &m->u.part_result);
    case PH_MSG_SUBMIT_CREATE: return dec_submit_create(d, f, nf, &m->u.submit_create);
    case PH_MSG_SUBMIT_BULK: return dec_submit_bulk(d, f, nf, &m->u.submit_bulk);
    case PH_MSG_JOB: return dec_job_fields(d, f, nf, &m->u.job);
    case PH_MSG_STATUS_REPLY: return dec_status_reply(d, f, &m->u.status_reply);
    case PH_MSG_CANCEL:
        return dec_str(d, &f[0], "token", &m->u.cancel.token);
    case PH_MSG_WAIT: case PH_MSG_ACCEPTED: case PH_MSG_ERROR: case PH_MSG_PONG:
    case PH_MSG_CANCEL_TASK: case PH_MSG_CANCEL_REPLY:
        return dec_pair(d, f, m);
    default:
        return 0;   /* no fields */
    }
}

static int version_fail(ph_err *err, uint64_t version)
{
    return ph_err_set(err, PH_EPROTO,
                      "message.version: unsupported version %llu (this peer speaks %d)",
                      (unsigned long long)version, PH_PROTO_VERSION);
}

/* Look at the version before anything else: a peer speaking another
 * version is told so even when the rest of its frame would not pass this
 * version's scan (other nesting, other types).  Only the canonical shapes
 * (an array header, then a uint) are recognised here; anything else is
 * left to the full decode, which checks the version again. */
static int peek_version(const unsigned char *p, size_t len, ph_err *err)
{
    size_t off;
    if (p[0] >= 0x92 && p[0] <= 0x9f)
        off = 1;                          /* fixarray of >= 2 */
    else if (p[0] == 0xdc)
        off = 3;                          /* array16 */
    else if (p[0] == 0xdd)
        off = 5;                          /* array32 */
    else
        return 0;
    if (off >= len)
        return 0;
    unsigned char b = p[off++];
    unsigned n;
    if (b <= 0x7f)
        return b == PH_PROTO_VERSION ? 0 : version_fail(err, b);
    else if (b >= 0xcc && b <= 0xcf)
        n = 1u << (b - 0xcc);             /* uint8/16/32/64 */
    else
        return 0;
    if (len - off < n)
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[off + i];
    return v == PH_PROTO_VERSION ? 0 : version_fail(err, v);
}

/* Check [version, type, ...] and the field count, then the fields. */
static int dec_message(dec *d, const msgpack_object *root, ph_msg *m)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2)
        return ph_err_set(d->err, PH_EPROTO,
                          "message: expected an array [version, type, ...]");
    const msgpack_object *a = root->via.array.ptr;
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ph_err_set(d->err, PH_EPROTO, "message.version: expected uint");
    if (a[0].via.u64 != PH_PROTO_VERSION)
        return version_fail(d->err, a[0].via.u64);
    if (a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return ph_err_set(d->err, PH_EPROTO, "message.type: expected uint");
    int nf = ph_proto_nfields(a[1].via.u64);
    if (nf < 0)
        return ph_err_set(d->err, PH_EPROTO, "message.type: unknown message type %llu",
                          (unsigned long long)a[1].via.u64);
    m->type = (ph_msg_type)a[1].via.u64;
    dec_push(d, "%s", ph_msg_type_name(m->type));
    uint32_t got = root->via.array.size - 2;
    bool ok = m->type == PH_MSG_JOB             ? job_nfields_ok(got)
              : m->type == PH_MSG_SUBMIT_CREATE ? got == 4 || got == 5 /* values optional */
              : m->type == PH_MSG_SUBMIT_BULK   ? got == 3 || got == 4 /* values file optional */
                                                : got == (uint32_t)nf;
    if (!ok)
        return ph_err_set(d->err, PH_EPROTO, "%s: expected %d fields, got %u",
                          d->path, nf, got);
    return dec_body(d, a + 2, got, m);
}

int ph_msg_decode(const void *buf, size_t len, ph_msg *out, ph_err *err)
{
    memset(out, 0, sizeof *out);
    if (len == 0)
        return ph_err_set(err, PH_EPROTO, "message: empty frame");
    if (len > PH_PROTO_MAX_FRAME)
        return ph_err_set(err, PH_EPROTO, "message: %zu bytes exceed the frame limit of %u",
                          len, PH_PROTO_MAX_FRAME);
    int rc = peek_version(buf, len, err);
    if (rc == 0)
        rc = ph_proto_scan(buf, len, err);
    if (rc)
        return rc;

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_return ur = msgpack_unpack_next(&up, buf, len, &off);
    if (ur == MSGPACK_UNPACK_SUCCESS && off == len) {
        dec d = { .buf = buf, .len = len, .err = err };
        rc = dec_message(&d, &up.data, out);
    } else if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        rc = ph_err_set(err, PH_ENOMEM, "message: out of memory while unpacking");
    } else if (ur == MSGPACK_UNPACK_CONTINUE) {
        rc = ph_err_set(err, PH_EPROTO, "message: truncated");
    } else if (ur == MSGPACK_UNPACK_SUCCESS) {
        rc = ph_err_set(err, PH_EPROTO, "message: %zu trailing bytes", len - off);
    } else {
        rc = ph_err_set(err, PH_EPROTO, "message: not valid msgpack");
    }
    msgpack_unpacked_destroy(&up);
    if (rc) {
        ph_msg_free(out);
        memset(out, 0, sizeof *out);
    }
    return rc;
}
