/* proto_samples.c - the sample messages (see proto_samples.h). */
#include "proto_samples.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVERTS 512

static const uint8_t key_bytes[] = {
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x10, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
};
static uint8_t assigned[NVERTS * 4];
static ph_node_count nodes_a[3];
static ph_node_count nodes_b[1];
static ph_worker_info workers[3];
static ph_msg_job jobs[2];
static ph_task_progress progress[3];
static ph_group_progress gprogress[2];
/* A group of 3 buckets holding 1, 0 and 2 keys (LE u32s). */
static const uint8_t part_counts[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0};
static const uint8_t part_keys[] = {7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
static const uint8_t part_pos[] = {2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
static const uint8_t part_keys64[] = {7, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 0, 0, 0};

static ph_bytes bin(const void *p, uint32_t n)
{
    ph_bytes b = { p, n };
    return b;
}

static ph_opts opts(const char *hash, bool compact, uint32_t threads, uint64_t seed)
{
    /* index-only whenever compact: both flag values get encoded */
    ph_opts o = { ph_bytes_str(hash), compact, threads, seed,
                  compact ? PH_TABLE_INDEX_ONLY : 0, 0 };
    return o;
}

static void fill_assigned(void)
{
    for (size_t i = 0; i < sizeof assigned; i++)
        assigned[i] = (uint8_t)(i * 37 + 11);
}

static void fill_nodes(void)
{
    nodes_a[0] = (ph_node_count){ ph_bytes_str("host-a/numa0"), 1, 2, 3, 4 };
    nodes_a[1] = (ph_node_count){ ph_bytes_str("host-a/numa1"), 0, 0, UINT64_MAX, 0 };
    nodes_a[2] = (ph_node_count){ ph_bytes_str(""), 5, 6, 7, 8 };
    nodes_b[0] = (ph_node_count){ ph_bytes_str("host-b/numa0"), 9, 10, 11, 12 };
}

static void fill_job(ph_msg_job *j, const char *token, uint32_t state,
                     ph_node_count *n, uint32_t nn)
{
    memset(j, 0, sizeof *j);
    j->token = ph_bytes_str(token);
    j->state = state;
    j->total = 13637;
    j->queued = 100;
    j->running = 4;
    j->succeeded = 13000;
    j->failed = 533;
    j->elapsed_us = UINT64_MAX;
    j->first_error = ph_bytes_str(state == PH_JOB_SOME_FAILED ? "x.keys: duplicate key" : "");
    j->out_dir = ph_bytes_str("/srv/out");
    j->nodes = n;
    j->nnodes = nn;
    j->stalled = state == PH_JOB_RUNNING ? 2 : 0;
    j->stalls = state == PH_JOB_NO_KEYS ? 0 : UINT64_MAX;
}

static void fill_workers(void)
{
    workers[0] = (ph_worker_info){ ph_bytes_str("w1"), ph_bytes_str("host-a"),
                                   100, 0, 8, 8, 12345, 1, 20, 1 };
    workers[1] = (ph_worker_info){ ph_bytes_str("w2"), ph_bytes_str("host-a"),
                                   101, 1, 8, 0, 0, 0, 0, 0 };
    workers[2] = (ph_worker_info){ ph_bytes_str(""), ph_bytes_str(""),
                                   UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX,
                                   UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX };
}

static void sample_progress(ph_msg *m, bool empty)
{
    m->type = PH_MSG_PROGRESS;
    progress[0] = (ph_task_progress){ 1, 0, 1 };
    progress[1] = (ph_task_progress){ 7, 13636, 4242 };
    progress[2] = (ph_task_progress){ UINT64_MAX, UINT64_MAX, UINT64_MAX };
    gprogress[0] = (ph_group_progress){ 9, 0, 4, 17 };
    gprogress[1] = (ph_group_progress){ UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT64_MAX };
    if (empty)
        return;
    m->u.progress.tasks = progress;
    m->u.progress.ntasks = 3;
    m->u.progress.groups = gprogress;
    m->u.progress.ngroups = 2;
}

static void sample_result(ph_msg *m, bool ok)
{
    ph_msg_result *r = &m->u.result;
    m->type = PH_MSG_RESULT;
    r->job_id = 7;
    r->task_id = UINT64_MAX;
    r->status = ok ? PH_OK : PH_ESOLVE;
    r->error = ph_bytes_str(ok ? "" : "t-1.keys: no acyclic graph in 1000 attempts");
    r->numa_node = 1;
    r->keys = 283263;
    r->hash = ph_bytes_str("mix");
    r->seeds[0] = 1; r->seeds[1] = 0x80000000u; r->seeds[2] = UINT32_MAX; r->seeds[3] = 0;
    r->vertices = 1048576;
    r->attempts = ok ? 3 : 1000;
    r->solve_us = 1234567;
    r->verify_us = 89;
    r->table_bytes = UINT64_MAX;
    r->has_table = ok;
    if (!ok)
        return;
    ph_table_view *t = &r->table;
    t->hash = 2;
    t->compact = true;
    t->seeds[0] = UINT32_MAX; t->seeds[1] = 0; t->seeds[2] = 0x12345678u; t->seeds[3] = 31;
    t->nkeys = 283263;
    t->nedges = UINT32_MAX;
    t->nverts = NVERTS;
    t->shift = 17;
    t->width = 4;
    t->assigned = bin(assigned, sizeof assigned);
}

static void sample_status(ph_msg *m, bool empty)
{
    m->type = PH_MSG_STATUS_REPLY;
    m->u.status_reply.uptime_ms = 987654321;
    if (empty)
        return;
    fill_job(&jobs[0], "job-1", PH_JOB_RUNNING, nodes_a, 3);
    jobs[0].parts_total = 5; /* one job with part counts, one without */
    jobs[0].parts_done = 2;
    fill_job(&jobs[1], "job-2", PH_JOB_SOME_FAILED, nodes_b, 1);
    m->u.status_reply.workers = workers;
    m->u.status_reply.nworkers = 3;
    m->u.status_reply.jobs = jobs;
    m->u.status_reply.njobs = 2;
}

static const char *const labels[] = {
    "ready", "ready-max", "heartbeat", "result-table", "result-failed", "task",
    "task-empty", "stop", "submit-create", "submit-bulk", "wait", "status",
    "shutdown", "ping", "accepted", "job", "job-no-nodes", "status-reply",
    "status-reply-empty", "ok", "pong", "error", "error-min", "part-task",
    "part-result", "part-result-failed", "job-parts", "submit-bulk-partition",
    "progress", "progress-empty",
    "cancel-task", "cancel", "cancel-reply", "cancel-reply-parts", "part-task-key64",
    "submit-bulk-values-file",
};

int proto_sample_count(void)
{
    return (int)(sizeof labels / sizeof labels[0]);
}

const char *proto_sample_label(int i)
{
    return i >= 0 && i < proto_sample_count() ? labels[i] : "?";
}

static void sample_client(int i, ph_msg *m)
{
    switch (i) {
    case 8:
        m->type = PH_MSG_SUBMIT_CREATE;
        m->u.submit_create = (ph_msg_submit_create){ ph_bytes_str("foo-123"),
            bin(key_bytes, sizeof key_bytes), ph_bytes_str("/tmp/out"),
            opts("auto", false, 0, 0), {NULL, 0} };
        break;
    case 9:
        m->type = PH_MSG_SUBMIT_BULK;
        m->u.submit_bulk = (ph_msg_submit_bulk){ ph_bytes_str("/srv/keys/sys32"),
            ph_bytes_str(""), opts("mulrot", true, 2, 42), {NULL, 0} };
        break;
    case 10:
        m->type = PH_MSG_WAIT;
        m->u.wait = (ph_msg_wait){ ph_bytes_str("tok-abc"), UINT32_MAX };
        break;
    case 11: m->type = PH_MSG_STATUS; break;
    case 12: m->type = PH_MSG_SHUTDOWN; break;
    default: m->type = PH_MSG_PING; break;
    }
}

static void sample_reply(int i, ph_msg *m)
{
    switch (i) {
    case 14:
        m->type = PH_MSG_ACCEPTED;
        m->u.accepted = (ph_msg_accepted){ ph_bytes_str("tok-abc"), 13637 };
        break;
    case 15: m->type = PH_MSG_JOB; fill_job(&m->u.job, "tok", PH_JOB_SOME_FAILED, nodes_a, 3); break;
    case 16: m->type = PH_MSG_JOB; fill_job(&m->u.job, "", PH_JOB_NO_KEYS, NULL, 0); break;
    case 17: sample_status(m, false); break;
    case 18: sample_status(m, true); break;
    case 19: m->type = PH_MSG_OK; break;
    case 20:
        m->type = PH_MSG_PONG;
        m->u.pong = (ph_msg_pong){ PH_PROTO_VERSION, UINT64_MAX };
        break;
    case 21:
        m->type = PH_MSG_ERROR;
        m->u.error = (ph_msg_error){ PH_EPERM, ph_bytes_str("out_dir: outside the allowed roots") };
        break;
    default:
        m->type = PH_MSG_ERROR;
        m->u.error = (ph_msg_error){ INT32_MIN, ph_bytes_str("") };
        break;
    }
}

static void sample_part(int i, ph_msg *m)
{
    switch (i) {
    case 23:
        m->type = PH_MSG_PART_TASK;
        m->u.part_task = (ph_msg_part_task){ 9, 0, 4, ph_bytes_str("big-10m"),
            0x0123456789abcdefull, 3, 7, 4, 4, 0, bin(part_counts, sizeof part_counts),
            bin(part_keys, sizeof part_keys), bin(part_pos, sizeof part_pos) };
        break;
    case 24:
        m->type = PH_MSG_PART_RESULT;
        m->u.part_result = (ph_msg_part_result){ 9, 0, 4, PH_OK, ph_bytes_str(""), 1, 4,
            bin(part_pos, sizeof part_pos), bin(assigned, 64), 12, 5, 345 };
        break;
    case 25:
        m->type = PH_MSG_PART_RESULT;
        m->u.part_result = (ph_msg_part_result){ UINT64_MAX, UINT64_MAX, UINT32_MAX,
            PH_ESOLVE, ph_bytes_str("bucket 4 of 7 (2 keys): no acyclic graph"),
            UINT32_MAX, UINT32_MAX, bin(NULL, 0), bin(NULL, 0), UINT64_MAX, UINT32_MAX,
            UINT64_MAX };
        break;
    case 26:
        m->type = PH_MSG_JOB;
        fill_job(&m->u.job, "tok", PH_JOB_RUNNING, nodes_b, 1);
        m->u.job.parts_total = 40;
        m->u.job.parts_done = 17;
        break;
    default:
        m->type = PH_MSG_SUBMIT_BULK;
        m->u.submit_bulk = (ph_msg_submit_bulk){ ph_bytes_str("/srv/keys/big.keys"),
            ph_bytes_str("/srv/out"), opts("auto", false, 1, 7), {NULL, 0} };
        m->u.submit_bulk.opts.partition = 4096;
        break;
    }
}

void proto_sample(int i, ph_msg *m)
{
    fill_assigned();
    fill_nodes();
    fill_workers();
    memset(m, 0, sizeof *m);
    switch (i) {
    case 0:
        m->type = PH_MSG_READY;
        m->u.ready = (ph_msg_ready){ ph_bytes_str("node-a.example"), 4242, 1, 16, 18 };
        break;
    case 1:
        m->type = PH_MSG_READY;
        m->u.ready = (ph_msg_ready){ ph_bytes_str(""), UINT32_MAX, UINT32_MAX,
                                     UINT32_MAX, UINT32_MAX };
        break;
    case 2:
        m->type = PH_MSG_HEARTBEAT;
        m->u.heartbeat = (ph_msg_heartbeat){ 3, UINT64_MAX, 0 };
        break;
    case 3: sample_result(m, true); break;
    case 4: sample_result(m, false); break;
    case 5:
        m->type = PH_MSG_TASK;
        m->u.task = (ph_msg_task){ 1, 2, ph_bytes_str("foo-123"),
            bin(key_bytes, sizeof key_bytes), opts("mix", true, 4, UINT64_MAX) };
        break;
    case 6:
        m->type = PH_MSG_TASK;
        m->u.task = (ph_msg_task){ 0, 0, ph_bytes_str(""), bin(NULL, 0), opts("", false, 0, 0) };
        break;
    case 7: m->type = PH_MSG_STOP; break;
    case 30:
        m->type = PH_MSG_CANCEL_TASK;
        m->u.cancel_task = (ph_msg_cancel_task){ UINT64_MAX, 12 };
        break;
    case 31:
        m->type = PH_MSG_CANCEL;
        m->u.cancel = (ph_msg_cancel){ ph_bytes_str("0123456789abcdef") };
        break;
    case 32:
    case 33:
        m->type = PH_MSG_CANCEL_REPLY;
        m->u.cancel_reply.already = i == 32;
        fill_job(&m->u.cancel_reply.job, "0123456789abcdef",
                 i == 32 ? PH_JOB_CANCELLING : PH_JOB_CANCELLED, nodes_b, 1);
        m->u.cancel_reply.job.parts_total = i == 33 ? 9 : 0;
        m->u.cancel_reply.job.parts_done = i == 33 ? 9 : 0;
        break;
    case 28: sample_progress(m, false); break;
    case 29: sample_progress(m, true); break;
    case 34: /* a group of 64-bit keys (key_size 8) */
        m->type = PH_MSG_PART_TASK;
        m->u.part_task = (ph_msg_part_task){ 9, 1, 2, ph_bytes_str("ids-64"),
            0xfedcba9876543210ull, 3, 7, 4, 8, 50, bin(part_counts, sizeof part_counts),
            bin(part_keys64, sizeof part_keys64), bin(part_pos, sizeof part_pos) };
        break;
    case 35: /* a big create with values from a file the coordinator reads */
        m->type = PH_MSG_SUBMIT_BULK;
        m->u.submit_bulk = (ph_msg_submit_bulk){ ph_bytes_str("/srv/keys/big.keys"),
            ph_bytes_str("/srv/out"), opts("auto", false, 0, 3),
            ph_bytes_str("/srv/keys/big.values") };
        m->u.submit_bulk.opts.table_flags = PH_TABLE_VALUES32;
        break;
    default:
        if (i >= 23)
            sample_part(i, m);
        else if (i < 14)
            sample_client(i, m);
        else
            sample_reply(i, m);
        break;
    }
}

/* ---- walking, comparing ---------------------------------------------- */

static void walk_u(proto_visit_fn fn, void *ctx, const char *name, uint64_t u)
{
    fn(ctx, name, u, NULL);
}

static void walk_b(proto_visit_fn fn, void *ctx, const char *name, ph_bytes b)
{
    fn(ctx, name, 0, &b);
}

static void walk_opts(const ph_opts *o, proto_visit_fn fn, void *ctx)
{
    walk_b(fn, ctx, "opts.hash", o->hash);
    walk_u(fn, ctx, "opts.compact", o->compact);
    walk_u(fn, ctx, "opts.threads", o->threads);
    walk_u(fn, ctx, "opts.seed", o->seed);
    walk_u(fn, ctx, "opts.table_flags", o->table_flags);
    walk_u(fn, ctx, "opts.partition", o->partition);
}

static void walk_job(const ph_msg_job *j, proto_visit_fn fn, void *ctx)
{
    walk_b(fn, ctx, "token", j->token);
    walk_u(fn, ctx, "state", j->state);
    walk_u(fn, ctx, "total", j->total);
    walk_u(fn, ctx, "queued", j->queued);
    walk_u(fn, ctx, "running", j->running);
    walk_u(fn, ctx, "succeeded", j->succeeded);
    walk_u(fn, ctx, "failed", j->failed);
    walk_u(fn, ctx, "elapsed_us", j->elapsed_us);
    walk_b(fn, ctx, "first_error", j->first_error);
    walk_b(fn, ctx, "out_dir", j->out_dir);
    walk_u(fn, ctx, "nnodes", j->nnodes);
    for (uint32_t i = 0; i < j->nnodes; i++) {
        walk_b(fn, ctx, "nodes.node", j->nodes[i].node);
        walk_u(fn, ctx, "nodes.queued", j->nodes[i].queued);
        walk_u(fn, ctx, "nodes.running", j->nodes[i].running);
        walk_u(fn, ctx, "nodes.succeeded", j->nodes[i].succeeded);
        walk_u(fn, ctx, "nodes.failed", j->nodes[i].failed);
    }
    walk_u(fn, ctx, "stalled", j->stalled);
    walk_u(fn, ctx, "stalls", j->stalls);
    walk_u(fn, ctx, "parts_total", j->parts_total);
    walk_u(fn, ctx, "parts_done", j->parts_done);
}

static void walk_part(const ph_msg *m, proto_visit_fn fn, void *ctx)
{
    if (m->type == PH_MSG_PART_TASK) {
        const ph_msg_part_task *t = &m->u.part_task;
        walk_u(fn, ctx, "job_id", t->job_id);
        walk_u(fn, ctx, "task_id", t->task_id);
        walk_u(fn, ctx, "group", t->group);
        walk_b(fn, ctx, "name", t->name);
        walk_u(fn, ctx, "table_seed", t->table_seed);
        walk_u(fn, ctx, "nkeys", t->nkeys);
        walk_u(fn, ctx, "nbuckets", t->nbuckets);
        walk_u(fn, ctx, "bucket_lo", t->bucket_lo);
        walk_u(fn, ctx, "key_size", t->key_size);
        walk_u(fn, ctx, "max_attempts", t->max_attempts);
        walk_b(fn, ctx, "counts", t->counts);
        walk_b(fn, ctx, "keys", t->keys);
        walk_b(fn, ctx, "positions", t->positions);
        return;
    }
    const ph_msg_part_result *r = &m->u.part_result;
    walk_u(fn, ctx, "job_id", r->job_id);
    walk_u(fn, ctx, "task_id", r->task_id);
    walk_u(fn, ctx, "group", r->group);
    walk_u(fn, ctx, "status", (uint64_t)(int64_t)r->status);
    walk_b(fn, ctx, "error", r->error);
    walk_u(fn, ctx, "numa_node", r->numa_node);
    walk_u(fn, ctx, "bucket_lo", r->bucket_lo);
    walk_b(fn, ctx, "seeds", r->seeds);
    walk_b(fn, ctx, "values", r->values);
    walk_u(fn, ctx, "attempts", r->attempts);
    walk_u(fn, ctx, "max_bucket_attempts", r->max_bucket_attempts);
    walk_u(fn, ctx, "solve_us", r->solve_us);
}

static void walk_result(const ph_msg_result *r, proto_visit_fn fn, void *ctx)
{
    walk_u(fn, ctx, "job_id", r->job_id);
    walk_u(fn, ctx, "task_id", r->task_id);
    walk_u(fn, ctx, "status", (uint64_t)(int64_t)r->status);
    walk_b(fn, ctx, "error", r->error);
    walk_u(fn, ctx, "numa_node", r->numa_node);
    walk_u(fn, ctx, "keys", r->keys);
    walk_b(fn, ctx, "hash", r->hash);
    for (int i = 0; i < 4; i++)
        walk_u(fn, ctx, "seeds", r->seeds[i]);
    walk_u(fn, ctx, "vertices", r->vertices);
    walk_u(fn, ctx, "attempts", r->attempts);
    walk_u(fn, ctx, "solve_us", r->solve_us);
    walk_u(fn, ctx, "verify_us", r->verify_us);
    walk_u(fn, ctx, "table_bytes", r->table_bytes);
    walk_u(fn, ctx, "has_table", r->has_table);
    if (!r->has_table)
        return;
    const ph_table_view *t = &r->table;
    walk_u(fn, ctx, "table.hash", t->hash);
    walk_u(fn, ctx, "table.compact", t->compact);
    for (int i = 0; i < 4; i++)
        walk_u(fn, ctx, "table.seeds", t->seeds[i]);
    walk_u(fn, ctx, "table.nkeys", t->nkeys);
    walk_u(fn, ctx, "table.nedges", t->nedges);
    walk_u(fn, ctx, "table.nverts", t->nverts);
    walk_u(fn, ctx, "table.shift", t->shift);
    walk_u(fn, ctx, "table.width", t->width);
    walk_b(fn, ctx, "table.assigned", t->assigned);
}

static void walk_status(const ph_msg_status_reply *s, proto_visit_fn fn, void *ctx)
{
    walk_u(fn, ctx, "uptime_ms", s->uptime_ms);
    walk_u(fn, ctx, "nworkers", s->nworkers);
    for (uint32_t i = 0; i < s->nworkers; i++) {
        const ph_worker_info *w = &s->workers[i];
        walk_b(fn, ctx, "workers.id", w->id);
        walk_b(fn, ctx, "workers.host", w->host);
        walk_u(fn, ctx, "workers.pid", w->pid);
        walk_u(fn, ctx, "workers.numa_node", w->numa_node);
        walk_u(fn, ctx, "workers.threads", w->threads);
        walk_u(fn, ctx, "workers.running", w->running);
        walk_u(fn, ctx, "workers.done", w->done);
        walk_u(fn, ctx, "workers.failed", w->failed);
        walk_u(fn, ctx, "workers.last_heartbeat_ms", w->last_heartbeat_ms);
        walk_u(fn, ctx, "workers.stuck", w->stuck);
    }
    walk_u(fn, ctx, "njobs", s->njobs);
    for (uint32_t i = 0; i < s->njobs; i++)
        walk_job(&s->jobs[i], fn, ctx);
}

static void walk_small(const ph_msg *m, proto_visit_fn fn, void *ctx)
{
    switch (m->type) {
    case PH_MSG_READY:
        walk_b(fn, ctx, "host", m->u.ready.host);
        walk_u(fn, ctx, "pid", m->u.ready.pid);
        walk_u(fn, ctx, "numa_node", m->u.ready.numa_node);
        walk_u(fn, ctx, "threads", m->u.ready.threads);
        walk_u(fn, ctx, "credits", m->u.ready.credits);
        break;
    case PH_MSG_HEARTBEAT:
        walk_u(fn, ctx, "running", m->u.heartbeat.running);
        walk_u(fn, ctx, "done", m->u.heartbeat.done);
        walk_u(fn, ctx, "failed", m->u.heartbeat.failed);
        break;
    case PH_MSG_PROGRESS:
        walk_u(fn, ctx, "ntasks", m->u.progress.ntasks);
        for (uint32_t i = 0; i < m->u.progress.ntasks; i++) {
            walk_u(fn, ctx, "tasks.job_id", m->u.progress.tasks[i].job_id);
            walk_u(fn, ctx, "tasks.task_id", m->u.progress.tasks[i].task_id);
            walk_u(fn, ctx, "tasks.steps", m->u.progress.tasks[i].steps);
        }
        walk_u(fn, ctx, "ngroups", m->u.progress.ngroups);
        for (uint32_t i = 0; i < m->u.progress.ngroups; i++) {
            walk_u(fn, ctx, "groups.job_id", m->u.progress.groups[i].job_id);
            walk_u(fn, ctx, "groups.task_id", m->u.progress.groups[i].task_id);
            walk_u(fn, ctx, "groups.group", m->u.progress.groups[i].group);
            walk_u(fn, ctx, "groups.steps", m->u.progress.groups[i].steps);
        }
        break;
    case PH_MSG_WAIT:
        walk_b(fn, ctx, "token", m->u.wait.token);
        walk_u(fn, ctx, "timeout_ms", m->u.wait.timeout_ms);
        break;
    case PH_MSG_ACCEPTED:
        walk_b(fn, ctx, "token", m->u.accepted.token);
        walk_u(fn, ctx, "total", m->u.accepted.total);
        break;
    case PH_MSG_ERROR:
        walk_u(fn, ctx, "code", (uint64_t)(int64_t)m->u.error.code);
        walk_b(fn, ctx, "text", m->u.error.text);
        break;
    case PH_MSG_PONG:
        walk_u(fn, ctx, "version", m->u.pong.version);
        walk_u(fn, ctx, "uptime_ms", m->u.pong.uptime_ms);
        break;
    case PH_MSG_CANCEL_TASK:
        walk_u(fn, ctx, "job_id", m->u.cancel_task.job_id);
        walk_u(fn, ctx, "task_id", m->u.cancel_task.task_id);
        break;
    case PH_MSG_CANCEL:
        walk_b(fn, ctx, "token", m->u.cancel.token);
        break;
    default:
        break;   /* no fields */
    }
}

void proto_msg_walk(const ph_msg *m, proto_visit_fn fn, void *ctx)
{
    walk_u(fn, ctx, "type", (uint64_t)m->type);
    switch (m->type) {
    case PH_MSG_TASK:
        walk_u(fn, ctx, "job_id", m->u.task.job_id);
        walk_u(fn, ctx, "task_id", m->u.task.task_id);
        walk_b(fn, ctx, "name", m->u.task.name);
        walk_b(fn, ctx, "keys", m->u.task.keys);
        walk_opts(&m->u.task.opts, fn, ctx);
        break;
    case PH_MSG_SUBMIT_CREATE:
        walk_b(fn, ctx, "name", m->u.submit_create.name);
        walk_b(fn, ctx, "keys", m->u.submit_create.keys);
        walk_b(fn, ctx, "out_dir", m->u.submit_create.out_dir);
        walk_opts(&m->u.submit_create.opts, fn, ctx);
        walk_b(fn, ctx, "values", m->u.submit_create.values);
        break;
    case PH_MSG_SUBMIT_BULK:
        walk_b(fn, ctx, "dir", m->u.submit_bulk.dir);
        walk_b(fn, ctx, "out_dir", m->u.submit_bulk.out_dir);
        walk_opts(&m->u.submit_bulk.opts, fn, ctx);
        walk_b(fn, ctx, "values_file", m->u.submit_bulk.values_file);
        break;
    case PH_MSG_RESULT: walk_result(&m->u.result, fn, ctx); break;
    case PH_MSG_PART_TASK: case PH_MSG_PART_RESULT: walk_part(m, fn, ctx); break;
    case PH_MSG_JOB: walk_job(&m->u.job, fn, ctx); break;
    case PH_MSG_CANCEL_REPLY:
        walk_u(fn, ctx, "already", m->u.cancel_reply.already);
        walk_job(&m->u.cancel_reply.job, fn, ctx);
        break;
    case PH_MSG_STATUS_REPLY: walk_status(&m->u.status_reply, fn, ctx); break;
    default: walk_small(m, fn, ctx); break;
    }
}

/* A flattened message: one entry per visited field. */
typedef struct flat_field {
    const char *name;
    uint64_t u;
    bool is_bytes;
    ph_bytes b;
} flat_field;

typedef struct flat {
    flat_field *v;
    size_t n, cap;
    bool oom;
} flat;

static void flat_add(void *ctx, const char *name, uint64_t u, const ph_bytes *b)
{
    flat *f = ctx;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        flat_field *v = realloc(f->v, cap * sizeof *v);
        if (!v) {
            f->oom = true;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (flat_field){ name, u, b != NULL, b ? *b : (ph_bytes){ NULL, 0 } };
}

static bool field_eq(const flat_field *x, const flat_field *y)
{
    if (x->is_bytes != y->is_bytes || strcmp(x->name, y->name) != 0)
        return false;
    if (!x->is_bytes)
        return x->u == y->u;
    return x->b.n == y->b.n && (x->b.n == 0 || memcmp(x->b.p, y->b.p, x->b.n) == 0);
}

const char *proto_msg_diff(const ph_msg *a, const ph_msg *b)
{
    static char why[96];
    flat fa = { 0 }, fb = { 0 };
    proto_msg_walk(a, flat_add, &fa);
    proto_msg_walk(b, flat_add, &fb);
    const char *res = NULL;
    if (fa.oom || fb.oom) {
        res = "out of memory while comparing";
    } else {
        size_t i = 0;
        while (i < fa.n && i < fb.n && field_eq(&fa.v[i], &fb.v[i]))
            i++;
        if (i < fa.n || i < fb.n) {
            snprintf(why, sizeof why, "field %zu (%s)", i,
                     i < fa.n ? fa.v[i].name : fb.v[i].name);
            res = why;
        }
    }
    free(fa.v);
    free(fb.v);
    return res;
}

typedef struct views_ctx {
    uintptr_t lo;
    size_t len;
    bool ok;
} views_ctx;

static void views_check(void *ctx, const char *name, uint64_t u, const ph_bytes *b)
{
    views_ctx *v = ctx;
    (void)name;
    (void)u;
    if (!b || b->n == 0)
        return;
    uintptr_t q = (uintptr_t)b->p;
    if (q < v->lo || q - v->lo > v->len || v->len - (q - v->lo) < b->n)
        v->ok = false;
}

bool proto_msg_views_in(const ph_msg *m, const void *buf, size_t len)
{
    views_ctx v = { (uintptr_t)buf, len, true };
    proto_msg_walk(m, views_check, &v);
    return v.ok;
}
