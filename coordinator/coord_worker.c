/* coord_worker.c - the workers as the coordinator sees them: their
 * registration, pace and credits, their results (handed to the writer pool)
 * and heartbeats, and what happens to their tasks when they are lost or a
 * task is held too long (stalled tasks: coord_stall.c).
 *
 * Tasks refer to their worker by serial number; a dropped worker's tasks
 * are taken back (coord_task_taken_back) and its late results discarded. */
#include "coord_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_keys.h"
#include "ph_log.h"
#include "ph_time.h"
#include "ph_wire.h"


coord_worker *coord_worker_find(coord *c, const void *ident, size_t n, size_t *idx)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        coord_worker *w = c->workers[i];
        if (w->ident_len == n && !memcmp(w->ident, ident, n)) {
            if (idx)
                *idx = i;
            return w;
        }
    }
    return NULL;
}






/* Requeue every task w holds; returns how many. */
uint64_t coord_worker_take_back(coord *c, coord_worker *w)
{
    uint64_t requeued = coord_part_take_back(c, w);
    for (size_t k = 0; k < c->jobs.n; k++) {
        coord_job *j = c->jobs.v[k];
        if (j->state != PH_JOB_RUNNING)
            continue;
        coord_jw *jw = NULL;
        for (size_t e = 0; e < j->njw && !jw; e++)
            if (j->jw[e].worker == w->serial)
                jw = &j->jw[e];
        if (!jw || jw->inflight == 0)
            continue;
        /* The job may complete (and free its tasks) when a task fails. */
        for (uint64_t t = 0; j->state == PH_JOB_RUNNING && t < j->total && jw->inflight > 0;
             t++) {
            if (j->tasks[t].state == TASK_RUNNING && j->tasks[t].worker == w->serial) {
                coord_task_taken_back(c, j, t, jw, PH_ECLOSED, "its worker was lost");
                requeued++;
            }
        }
    }
    w->inflight = 0;
    w->inflight_bytes = 0;
    return requeued;
}

/* Take back everything w holds and forget it; the line is optional. */
static void worker_remove(coord *c, size_t idx, const char *why, bool log)
{
    coord_worker *w = c->workers[idx];
    uint64_t requeued = coord_worker_take_back(c, w);
    if (log)
        ph_log_warn("coord", "worker=%s node=%s requeued=%" PRIu64
                    " msg=\"worker dropped: %s\"", w->id, w->node, requeued, why);
    c->workers[idx] = c->workers[--c->nworkers];
    free(w);
}

void coord_worker_drop(coord *c, size_t idx, const char *why)
{
    worker_remove(c, idx, why, true);
}

void coord_on_ready(coord *c, const void *ident, size_t n, const ph_msg_ready *r)
{
    size_t idx;
    /* Same identity again (a worker re-registering): start it afresh.  A
     * peer can send READY in a loop: both lines are rate-limited. */
    if (coord_worker_find(c, ident, n, &idx))
        worker_remove(c, idx, "sent READY again",
                      coord_log_peer(c, "ready-again", ident, n, PH_LOG_WARN));
    if (c->nworkers == c->capworkers) {
        size_t cap = c->capworkers ? 2 * c->capworkers : 16;
        coord_worker **p = realloc(c->workers, cap * sizeof *p);
        if (!p) {
            coord_reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
            return;
        }
        c->workers = p;
        c->capworkers = cap;
    }
    coord_worker *w = calloc(1, sizeof *w);
    if (!w) {
        coord_reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
        return;
    }
    memcpy(w->ident, ident, n);
    w->ident_len = n;
    coord_ident_text(ident, n, w->id);
    if (ph_bytes_cstr(r->host, w->host, sizeof w->host, NULL) != 0)
        snprintf(w->host, sizeof w->host, "?");
    snprintf(w->node, sizeof w->node, "%s/numa%u", w->host, r->numa_node);
    w->pid = r->pid;
    w->numa_node = r->numa_node;
    w->threads = r->threads ? r->threads : 1;
    w->credits = r->credits ? r->credits : w->threads;
    w->last_seen_ms = coord_now_ms();
    w->serial = ++c->next_serial;
    c->workers[c->nworkers++] = w;
    if (coord_log_peer(c, "ready", ident, n, PH_LOG_INFO))
        ph_log_info("coord", "worker=%s node=%s pid=%u threads=%u credits=%u "
                    "msg=\"worker ready\"", w->id, w->node, w->pid, w->threads, w->credits);
}

static void result_error(const ph_msg_result *r, char *error, size_t len)
{
    if (ph_bytes_cstr(r->error, error, len, NULL) != 0)
        snprintf(error, len, "%.*s", (int)(r->error.n < 500 ? r->error.n : 500), r->error.p);
}

/* The write of a RESULT's files finished (in the pool or inline). */
bool coord_finish_write(coord *c, coord_wjob *wj)
{
    return coord_durable_add(c, wj);
}

/* What the writer needs: the table's name and the keys the task was sent
 * with (the task's buffer moves to the write job). */
static int wjob_source(coord_job *j, uint64_t tid, coord_wjob *wj, ph_err *err)
{
    int rc = ph_keys_table_name(j->tasks[tid].file, wj->name, sizeof wj->name, err);
    if (rc)
        return rc;
    if (j->is_create) {
        wj->keys = j->keys;
        wj->keys_len = j->keys_len;
        return PH_OK;
    }
    coord_task *t = &j->tasks[tid];
    if (!t->keys) /* cannot happen: a RUNNING bulk task keeps what it sent */
        return ph_err_set(err, PH_EVERIFY, "%s: the keys sent are gone", t->file);
    wj->keys = wj->keys_owned = t->keys;
    wj->keys_len = t->keys_len;
    t->keys = NULL;
    return PH_OK;
}

/* Hand a successful RESULT (frame + decoded message) to the writer pool, or
 * write it here when there is no pool or it is full. */
static void start_write(coord *c, coord_job *j, coord_worker *w, zmq_msg_t *frame,
                        ph_msg *m)
{
    uint64_t tid = m->u.result.task_id;
    ph_err err = {0};
    coord_wjob *wj = calloc(1, sizeof *wj);
    int rc = wj ? wjob_source(j, tid, wj, &err)
                : ph_err_set(&err, PH_ENOMEM, "out of memory for a table write");
    if (rc) {
        free(wj);
        coord_task_settle(c, j, tid, coord_job_jw(j, w), &m->u.result, rc, err.msg);
        return;
    }
    wj->job_id = j->id;
    wj->task_id = tid;
    wj->worker = w->serial;
    wj->out_dir = j->out_dir;
    wj->table_flags = j->table_flags;
    wj->key_size = coord_job_key_size(j, tid);
    wj->values = j->is_create ? j->values : NULL;
    zmq_msg_init(&wj->frame);
    zmq_msg_move(&wj->frame, frame);
    wj->msg = *m;          /* the table view moves with it */
    c->taken = true;       /* recv_one must not free either */
    j->tasks[tid].state = TASK_WRITING;
    j->writing++;
    if (coord_writer_submit(c->writer, wj))
        return;
    wj->status = coord_write_table(wj, &wj->err);
    if (!coord_finish_write(c, wj))
        coord_wjob_free(wj);
}

void coord_on_result(coord *c, coord_worker *w, zmq_msg_t *frame, ph_msg *m)
{
    const ph_msg_result *r = &m->u.result;
    coord_job *j = coord_job_by_id(&c->jobs, r->job_id);
    coord_task *t = NULL;
    if (j && j->state == PH_JOB_RUNNING && r->task_id < j->total)
        t = &j->tasks[r->task_id];
    /* Only the current holder's answer counts: a result from a worker the
     * task was taken back from (dropped, then late) is discarded; so is
     * PH_ECANCELED outside a cancelled job: the answer of a copy stopped
     * after a stall (coord_stall.c), even if the task went back to w. */
    if (!t || t->state != TASK_RUNNING || t->worker != w->serial ||
        (r->status == PH_ECANCELED && !j->cancel)) {
        if (coord_log_peer(c, "stale-result", w->ident, w->ident_len, PH_LOG_WARN))
            ph_log_warn("coord", "worker=%s job=%" PRIu64 " task=%" PRIu64
                        " msg=\"stale result discarded\"", w->id, r->job_id, r->task_id);
        return;
    }
    coord_jw *jw = coord_job_jw(j, w);
    coord_worker_pace(w);
    coord_worker_release(w, t);
    j->inflight--;
    if (jw)
        jw->inflight--;
    if (r->status == PH_ECANCELED && j->cancel) {
        /* The worker stopped it on our CANCEL_TASK: no row, no count. */
        coord_task_dropped(c, j, r->task_id);
        return;
    }
    if (r->status == 0)
        w->done++;
    else
        w->failed++;
    if (r->status == 0 && r->has_table) {
        start_write(c, j, w, frame, m);
        return;
    }
    /* A failure, or a success without a table (phworker --fake-work, the
     * dispatch benchmark): nothing to write. */
    char error[512] = "";
    if (r->status != 0)
        result_error(r, error, sizeof error);
    coord_task_settle(c, j, r->task_id, jw, r, r->status, error);
}

/* A worker that says it holds nothing, while we think it holds tasks sent
 * long ago, lost them (a connection reset can drop queued frames, and the
 * worker keeps heartbeating on the new connection so it is never "silent").
 * Frames of one connection arrive in order, so every RESULT it sent before
 * this HEARTBEAT has been handled: take the rest back.  A result that turns
 * up later anyway is discarded as stale. */
void coord_on_heartbeat(coord *c, coord_worker *w, const ph_msg_heartbeat *h)
{
    uint64_t now = coord_now_ms();
    if (h->running != 0 || w->inflight == 0 ||
        now - w->last_task_ms <= (uint64_t)c->opts->liveness_ms)
        return;
    uint64_t n = coord_worker_take_back(c, w);
    ph_log_warn("coord", "worker=%s node=%s requeued=%" PRIu64
                " msg=\"worker holds none of its tasks; requeued\"", w->id, w->node, n);
}

/* ---- timers ------------------------------------------------------------ */


/* Take back tasks held past --task-timeout-ms (a hung thread, a poison
 * file).  A linear scan per heartbeat tick: cheap next to the work. */
static void expire_tasks(coord *c, uint64_t now)
{
    uint64_t limit = (uint64_t)c->opts->task_timeout_ms;
    if (limit == 0)
        return;
    coord_part_expire(c, now, limit);
    for (size_t k = 0; k < c->jobs.n; k++) {
        coord_job *j = c->jobs.v[k];
        for (uint64_t t = 0; j->state == PH_JOB_RUNNING && j->inflight > 0 && t < j->total;
             t++) {
            coord_task *task = &j->tasks[t];
            if (task->state != TASK_RUNNING || task->part || now - task->sent_ms <= limit)
                continue;
            coord_worker *w = coord_worker_by_serial(c, task->worker);
            if (w)
                coord_worker_release(w, task);
            ph_log_warn("coord", "job=%s file=%s worker=%s msg=\"task timed out\"", j->token,
                        task->file, w ? w->id : "?");
            char why[64];
            snprintf(why, sizeof why, "timed out after %llu ms", (unsigned long long)limit);
            coord_task_taken_back(c, j, t, coord_job_jw_serial(j, task->worker), PH_ETIMEOUT, why);
        }
    }
}

void coord_workers_tick(coord *c, uint64_t now, bool heard_all)
{
    uint64_t limit = (uint64_t)c->opts->liveness_ms * (heard_all ? 1u : 2u);
    for (size_t i = 0; i < c->nworkers;) {
        coord_worker *w = c->workers[i];
        if (now - w->last_seen_ms > limit) {
            coord_worker_drop(c, i, "silent past liveness");
            continue; /* slot i now holds another worker */
        }
        i++;
    }
    if (now - c->last_hb_ms < (uint64_t)c->opts->heartbeat_ms)
        return;
    c->last_hb_ms = now;
    expire_tasks(c, now);
    for (size_t i = 0; i < c->nworkers;) {
        coord_worker *w = c->workers[i];
        ph_msg m = {.type = PH_MSG_HEARTBEAT};
        m.u.heartbeat.running = w->inflight;
        m.u.heartbeat.done = w->done;
        m.u.heartbeat.failed = w->failed;
        ph_err err = {0};
        if (ph_wire_send(c->sock, w->ident, w->ident_len, &m, &err) == PH_ECLOSED) {
            coord_worker_drop(c, i, "disconnected");
            continue;
        }
        i++;
    }
}

