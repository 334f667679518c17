/* wrk_task.c - one table solved on a runtime thread; the RESULT carries the
 * table, the coordinator renders its files. */
#include "wrk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ph_keys.h"
#include "ph_create.h"
#include "ph_log.h"
#include "ph_solver.h"
#include "ph_time.h"

/* assigned[] goes on the wire as it lies in memory: little-endian. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "RESULT.table needs a little-endian host");

/* Tables at least this large get the node's threads for parallel attempts;
 * below it one thread per table keeps every thread busy with its own file,
 * which is faster for the many small files of a bulk job. */
#define WRK_BIG_TABLE 100000u

wrk_task *wrk_task_new(const ph_msg_task *m, unsigned node_threads, ph_port *done)
{
    wrk_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    atomic_init(&t->steps, 0);
    atomic_init(&t->stop, 0);
    t->job_id = m->job_id;
    t->task_id = m->task_id;
    t->node_threads = node_threads;
    t->done = done;
    t->compact = m->opts.compact;
    t->key_size = (m->opts.table_flags & PH_TABLE_KEY64) ? 8 : 4;
    t->threads = m->opts.threads;
    t->seed = m->opts.seed;
    if (ph_bytes_cstr(m->name, t->name, sizeof t->name, NULL) != 0 ||
        ph_bytes_cstr(m->opts.hash, t->hash, sizeof t->hash, NULL) != 0) {
        /* Reported as the task's failure, not dropped: the coordinator must
         * get exactly one RESULT per TASK. */
        t->status = ph_err_set(&t->err, PH_EINVAL, "TASK: name or hash field invalid");
    }
    t->keys = malloc(m->keys.n ? m->keys.n : 1);
    if (!t->keys) {
        free(t);
        return NULL;
    }
    memcpy(t->keys, m->keys.p, m->keys.n);
    t->keys_len = m->keys.n;
    return t;
}

static uint32_t le32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static uint64_t le64(const char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* One buffer: the keys (4 or 8 bytes each: first, so 64-bit keys are
 * aligned), then counts and positions (uint32 each); the codec checked the
 * lengths and that key_size is 4 or 8. */
wrk_task *wrk_task_new_part(const ph_msg_part_task *m, ph_port *done)
{
    wrk_task *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    atomic_init(&t->steps, 0);
    atomic_init(&t->stop, 0);
    t->part = true;
    t->job_id = m->job_id;
    t->task_id = m->task_id;
    t->group = m->group;
    t->done = done;
    uint32_t ngroup = m->counts.n / 4;
    uint64_t nk = m->positions.n / 4;
    unsigned ks = m->key_size == 8 ? 8 : 4;
    t->part_buf = malloc((size_t)nk * ks + ((size_t)ngroup + nk) * sizeof(uint32_t) + 4);
    t->seeds = calloc(ngroup, sizeof *t->seeds);
    if (!t->part_buf || !t->seeds) {
        wrk_task_free(t);
        return NULL;
    }
    void *keys = t->part_buf;
    uint32_t *counts = (uint32_t *)(void *)((char *)t->part_buf + (size_t)nk * ks);
    uint32_t *pos = counts + ngroup;
    for (uint32_t i = 0; i < ngroup; i++)
        counts[i] = le32(m->counts.p + 4 * (size_t)i);
    for (uint64_t i = 0; i < nk; i++) {
        if (ks == 8)
            ((uint64_t *)keys)[i] = le64(m->keys.p + 8 * i);
        else
            ((uint32_t *)keys)[i] = le32(m->keys.p + 4 * i);
        pos[i] = le32(m->positions.p + 4 * i);
    }
    t->pg = (ph_part_group){.table_seed = m->table_seed, .nkeys = m->nkeys,
                            .nbuckets = m->nbuckets, .bucket_lo = m->bucket_lo,
                            .ngroup = ngroup, .counts = counts, .keys = keys, .key_size = ks,
                            .pos = pos,
                            .max_attempts = m->max_attempts};
    if (ph_bytes_cstr(m->name, t->name, sizeof t->name, NULL) != 0)
        t->status = ph_err_set(&t->err, PH_EINVAL, "PART_TASK: name field invalid");
    return t;
}

static bool stopped(const wrk_task *t)
{
    return atomic_load(&t->stop) != 0;
}

/* The task was told to stop before it was done. */
static int answer_cancelled(wrk_task *t)
{
    ph_table_free(&t->table);
    return ph_err_set(&t->err, PH_ECANCELED, "%s.keys: cancelled", t->name);
}

/* A group: every bucket solved and verified in turn on this thread. */
static void execute_part(wrk_task *t)
{
    uint64_t t0 = ph_time_us();
    t->pg.cancel = &t->stop;
    t->pg.progress = &t->steps;
    t->nvalues = ph_part_group_nverts(&t->pg);
    t->values = malloc(t->nvalues ? t->nvalues * sizeof *t->values : 4);
    ph_err e = {0};
    int rc = t->values ? ph_part_solve_group(&t->pg, t->seeds, t->values, &t->attempts,
                                             &t->max_bucket_attempts, &e)
                       : ph_err_set(&e, PH_ENOMEM, "out of memory for %llu vertex values",
                                    (unsigned long long)t->nvalues);
    t->solve_us = ph_time_us() - t0;
    if (rc && stopped(t))
        rc = answer_cancelled(t); /* the group gave up because it was told to */
    else if (rc)
        ph_err_set(&t->err, rc, "%s.keys: %s", t->name, e.msg);
    t->status = rc;
}

static int solve_opts(wrk_task *t, uint32_t n, ph_solve_opts *so, ph_err *err)
{
    ph_solve_opts_init(so);
    int h = ph_hash_parse(t->hash[0] ? t->hash : "auto");
    if (h < 0)
        return ph_err_set(err, PH_EINVAL, "TASK.opts.hash: unknown family '%s'", t->hash);
    so->hash = (ph_hash_kind)h;
    so->compact = t->compact;
    so->seed = t->seed;
    so->cancel = &t->stop;
    so->progress = &t->steps;
    so->threads = t->threads ? t->threads : (n >= WRK_BIG_TABLE ? t->node_threads : 1);
    if (t->rt) {
        so->exec_post = ph_runtime_exec_post;
        so->exec_ctx = ph_runtime_node_exec_ctx(t->rt, t->node);
    }
    return PH_OK;
}

/* A RESULT must fit in one frame (the coordinator's ZMQ_MAXMSGSIZE): a
 * larger one would only get the connection cut, and the task would never
 * finish.  Fail it here with a clear message instead. */
static int check_wire_size(wrk_task *t)
{
    uint64_t total = PH_PROTO_FRAME_SLACK + ph_table_bytes(&t->table);
    if (total <= PH_PROTO_MAX_FRAME)
        return PH_OK;
    ph_table_free(&t->table);
    snprintf(t->row.status, sizeof t->row.status, "%s", ph_err_name(PH_EINVAL));
    return ph_err_set(&t->err, PH_EINVAL, "%s.keys: the table takes %llu bytes, more "
                      "than the %u-byte message limit", t->name, (unsigned long long)total,
                      PH_PROTO_MAX_FRAME);
}

void wrk_task_execute(wrk_task *t)
{
    if (t->status)
        return;
    if (t->part) {
        execute_part(t);
        return;
    }
    ph_keys k = {0};
    ph_solve_opts so;
    char file[300];
    snprintf(file, sizeof file, "%s.keys", t->name);
    int rc = ph_keys_from_bytes_sized(t->keys, t->keys_len, t->key_size, file, &k, &t->err);
    atomic_fetch_add_explicit(&t->steps, 1, memory_order_relaxed);
    if (!rc)
        rc = solve_opts(t, k.n, &so, &t->err);
    if (!rc)
        rc = ph_create_table_sized(t->name, k.key_size == 8 ? (const void *)k.v64 : k.v,
                                   k.key_size, k.n, &so, &t->table, &t->row, &t->err);
    ph_keys_free(&k);
    if (!rc)
        rc = check_wire_size(t);
    if (rc && stopped(t))
        rc = answer_cancelled(t); /* the solve gave up because it was told to */
    t->status = rc;
    if (rc && !t->err.msg[0])
        ph_err_set(&t->err, rc, "%s: %s", file, ph_err_name(rc));
}

static void nap_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

void wrk_task_work(void *arg, unsigned node, unsigned thread)
{
    (void)thread;
    wrk_task *t = arg;
    t->node = node;
    atomic_fetch_add_explicit(&t->steps, 1, memory_order_relaxed);
    /* Test delay, in slices so that a task told to stop (cancelled, or the
     * worker exits) does not wait; it stands for work, so each slice is a
     * step of progress. */
    for (unsigned left = t->delay_ms; left > 0 && !stopped(t);) {
        unsigned s = left < 20 ? left : 20;
        nap_ms(s);
        atomic_fetch_add_explicit(&t->steps, 1, memory_order_relaxed);
        left -= s;
    }
    /* Test aid: a stuck solver, deaf to CANCEL_TASK as a stuck one is: it
     * ends when the worker exits (or after stall_ms). */
    for (unsigned waited = 0;
         t->stall && !(t->exiting && atomic_load(t->exiting)) &&
         (!t->stall_ms || waited < t->stall_ms);
         waited += 20)
        nap_ms(20);
    if (stopped(t) && !t->status)
        t->status = answer_cancelled(t); /* never started */
    else
        wrk_task_execute(t);
    ph_packet p = {.key = t->task_id, .value = 0, .data = t};
    /* The port holds more than the credits we ever grant, so this does not
     * block in practice; -1 keeps a result from ever being lost. */
    if (ph_port_post(t->done, &p, -1) != 0)
        wrk_task_free(t); /* port closed: we are shutting down */
}

static void part_result(const wrk_task *t, uint32_t numa_node, ph_msg *m)
{
    m->type = PH_MSG_PART_RESULT;
    ph_msg_part_result *r = &m->u.part_result;
    r->job_id = t->job_id;
    r->task_id = t->task_id;
    r->group = t->group;
    r->status = t->status;
    r->error = ph_bytes_str(t->status ? t->err.msg : "");
    r->numa_node = numa_node;
    r->bucket_lo = t->pg.bucket_lo;
    r->attempts = t->attempts;
    r->max_bucket_attempts = t->max_bucket_attempts;
    r->solve_us = t->solve_us;
    if (t->status || !t->values)
        return;
    r->seeds = (ph_bytes){(const char *)t->seeds, t->pg.ngroup * 4u};
    r->values = (ph_bytes){(const char *)t->values, (uint32_t)(t->nvalues * 4)};
}

void wrk_task_result(const wrk_task *t, uint32_t numa_node, ph_msg *m)
{
    memset(m, 0, sizeof *m);
    if (t->part) {
        part_result(t, numa_node, m);
        return;
    }
    m->type = PH_MSG_RESULT;
    ph_msg_result *r = &m->u.result;
    r->job_id = t->job_id;
    r->task_id = t->task_id;
    r->status = t->status;
    r->error = ph_bytes_str(t->status ? t->err.msg : "");
    r->numa_node = numa_node;
    r->keys = t->row.keys;
    r->hash = ph_bytes_str(t->row.hash);
    memcpy(r->seeds, t->row.seeds, sizeof r->seeds);
    r->vertices = t->row.vertices;
    r->attempts = t->row.attempts;
    r->solve_us = t->row.solve_us;
    r->verify_us = t->row.verify_us;
    r->table_bytes = t->row.table_bytes;
    if (t->status || !t->table.assigned)
        return;
    /* The coordinator renders the files from this and the keys it has. */
    const ph_table *tb = &t->table;
    ph_table_view *v = &r->table;
    r->has_table = true;
    v->hash = (uint32_t)tb->hash;
    v->compact = tb->compact;
    memcpy(v->seeds, tb->seeds, sizeof v->seeds);
    v->nkeys = tb->nkeys;
    v->nedges = tb->nedges;
    v->nverts = tb->nverts;
    v->shift = tb->shift;
    v->width = tb->width;
    v->assigned = (ph_bytes){tb->assigned, (uint32_t)ph_table_bytes(tb)};
}

void wrk_task_free(void *arg)
{
    wrk_task *t = arg;
    if (!t)
        return;
    ph_table_free(&t->table);
    free(t->keys);
    free(t->part_buf);
    free(t->seeds);
    free(t->values);
    free(t);
}
