/* coord.c - the coordinator's event loop: one ROUTER, one thread.
 *
 * Workers and clients are both DEALERs on the same ROUTER; a peer is a
 * worker once it has sent READY.  Every frame pair is [identity][ph_msg].
 * The loop, in the spirit of the ZeroMQ guide's Majordomo broker but with
 * our own policy:
 *   1. poll the socket (timeout = next heartbeat or WAIT deadline),
 *   2. handle every message already queued (bounded batch),
 *   3. dispatch tasks while some worker has a free credit,
 *   4. heartbeat workers, drop silent ones (requeueing what they held),
 *      answer WAITs whose deadline passed.
 * Unlike the guide's broker we track task -> worker ourselves, because a
 * dropped worker's tasks must be requeued and its late results ignored. */
#include "coord_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "ph_keys.h"
#include "ph_curve.h"
#include "ph_fs.h"
#include "ph_log.h"
#include "ph_path.h"
#include "ph_time.h"
#include "ph_wire.h"
#include "ph_zap.h"

#define COORD_BATCH 512               /* messages handled per poll wake-up */
#define COORD_MAX_WAIT_MS 600000u     /* cap on a client's WAIT */
#define COORD_STATUS_JOBS 32          /* finished jobs listed by STATUS */
#define COORD_KEYS_MAX (PH_PROTO_MAX_FRAME - 65536u) /* room for the TASK header */
/* Prefetch.  A worker gets a task for each of its threads whatever it is;
 * beyond that, up to its credits, only as many as it finishes in about
 * --prefetch-ms (at its measured pace: the mean time between its results
 * while busy), and only while the keys it holds total under this.  Tiny
 * tasks then travel in bursts (fewer wake-ups on both sides: sys32 took
 * 1.28x the in-process time with two tasks queued per worker, 1.05x with
 * 32), while slow or big ones are not hoarded by one worker as another
 * idles at the end of a job.  Also bounds the keys kept here for writes. */
#define COORD_PREFETCH_BYTES (1u << 20)

uint64_t coord_now_ms(void) { return ph_time_ms(); }

void coord_opts_init(coord_opts *o)
{
    memset(o, 0, sizeof *o);
    o->bind = COORD_DEFAULT_BIND;
    o->heartbeat_ms = 250;
    o->liveness_ms = 3000;
    o->writers = -1;
    o->prefetch_ms = COORD_DEFAULT_PREFETCH_MS;
}

/* ---- sending ----------------------------------------------------------- */

static int reply(coord *c, const void *ident, size_t ident_len, const ph_msg *m)
{
    ph_err err = {0};
    int rc = ph_wire_send(c->sock, ident, ident_len, m, &err);
    if (rc)
        ph_log_warn("coord", "type=%s msg=\"reply dropped: %s\"", ph_msg_type_name(m->type),
                    err.msg);
    return rc;
}

static void reply_error(coord *c, const void *ident, size_t ident_len, int code,
                        const char *text)
{
    ph_msg m = {.type = PH_MSG_ERROR};
    m.u.error.code = code;
    m.u.error.text = ph_bytes_str(text);
    reply(c, ident, ident_len, &m);
}

static void reply_job(coord *c, const void *ident, size_t ident_len, const coord_job *j)
{
    ph_msg m = {.type = PH_MSG_JOB};
    if (coord_job_msg(j, &m.u.job) != 0) {
        reply_error(c, ident, ident_len, PH_ENOMEM, "out of memory");
        return;
    }
    reply(c, ident, ident_len, &m);
    free(m.u.job.nodes);
}

/* ---- workers ----------------------------------------------------------- */

static void ident_hex(const unsigned char *id, size_t n, char *out)
{
    bool printable = n > 0;
    for (size_t i = 0; i < n && printable; i++)
        printable = id[i] > 32 && id[i] < 127;
    if (printable) {
        memcpy(out, id, n);
        out[n] = '\0';
        return;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * n] = '\0';
}

static coord_worker *find_worker(coord *c, const void *ident, size_t n, size_t *idx)
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

/* w no longer holds task t (answered, or timed out). */
static void worker_release(coord_worker *w, const coord_task *t)
{
    if (w->inflight > 0)
        w->inflight--;
    w->inflight_bytes -= t->keys_len < w->inflight_bytes ? t->keys_len : w->inflight_bytes;
}

/* A result came from w: one sample of its pace, the time since its last
 * result or since it was last sent work while idle, whichever is later. */
static void worker_pace(coord_worker *w)
{
    uint64_t now = ph_time_us();
    uint64_t from = w->last_result_us > w->busy_since_us ? w->last_result_us
                                                         : w->busy_since_us;
    uint64_t gap = now > from ? now - from : 1;
    w->interval_us = w->interval_us ? (7 * w->interval_us + gap) / 8 : gap;
    w->last_result_us = now;
}

/* May w be sent one more task now?  Unknown pace: no prefetch. */
static bool worker_has_room(const coord *c, const coord_worker *w)
{
    if (w->blocked || w->inflight >= w->credits)
        return false;
    if (w->inflight < w->threads)
        return true;
    uint64_t ahead = w->interval_us ? (uint64_t)c->opts->prefetch_ms * 1000u / w->interval_us
                                    : 0;
    return w->inflight - w->threads < ahead && w->inflight_bytes < COORD_PREFETCH_BYTES;
}

/* Task t of j was taken from its worker (jw its entry, may be NULL): send
 * it again, or fail it once it has been taken back max_tries times. */
static void retry_or_fail(coord *c, coord_job *j, uint64_t t, coord_jw *jw, int code,
                          const char *why)
{
    j->inflight--;
    if (jw)
        jw->inflight--;
    coord_task *task = &j->tasks[t];
    if (task->tries < UINT8_MAX)
        task->tries++;
    if (task->tries < c->max_tries) {
        coord_job_requeue(j, t);
        return;
    }
    char msg[256];
    snprintf(msg, sizeof msg, "%s: %s %u times; given up", task->file, why, task->tries);
    ph_log_warn("coord", "job=%s file=%s tries=%u msg=\"%s\"", j->token, task->file,
                task->tries, msg);
    coord_job_finish_task(c, j, t, jw, NULL, code, msg);
}

/* Requeue every task w holds; returns how many. */
static uint64_t take_back(coord *c, coord_worker *w)
{
    uint64_t requeued = 0;
    for (size_t k = 0; k < c->njobs; k++) {
        coord_job *j = c->jobs[k];
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
                retry_or_fail(c, j, t, jw, PH_ECLOSED, "its worker was lost");
                requeued++;
            }
        }
    }
    w->inflight = 0;
    w->inflight_bytes = 0;
    return requeued;
}

/* Take back everything w holds and forget it. */
static void drop_worker(coord *c, size_t idx, const char *why)
{
    coord_worker *w = c->workers[idx];
    uint64_t requeued = take_back(c, w);
    ph_log_warn("coord", "worker=%s node=%s requeued=%" PRIu64 " msg=\"worker dropped: %s\"",
                w->id, w->node, requeued, why);
    c->workers[idx] = c->workers[--c->nworkers];
    free(w);
}

static void on_ready(coord *c, const void *ident, size_t n, const ph_msg_ready *r)
{
    size_t idx;
    /* Same identity again (a worker re-registering): start it afresh. */
    if (find_worker(c, ident, n, &idx))
        drop_worker(c, idx, "sent READY again");
    if (c->nworkers == c->capworkers) {
        size_t cap = c->capworkers ? 2 * c->capworkers : 16;
        coord_worker **p = realloc(c->workers, cap * sizeof *p);
        if (!p) {
            reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
            return;
        }
        c->workers = p;
        c->capworkers = cap;
    }
    coord_worker *w = calloc(1, sizeof *w);
    if (!w) {
        reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
        return;
    }
    memcpy(w->ident, ident, n);
    w->ident_len = n;
    ident_hex(ident, n, w->id);
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
    ph_log_info("coord", "worker=%s node=%s pid=%u threads=%u credits=%u msg=\"worker ready\"",
                w->id, w->node, w->pid, w->threads, w->credits);
}

static void result_error(const ph_msg_result *r, char *error, size_t len)
{
    if (ph_bytes_cstr(r->error, error, len, NULL) != 0)
        snprintf(error, len, "%.*s", (int)(r->error.n < 500 ? r->error.n : 500), r->error.p);
}

/* The write of a RESULT's files finished (in the pool or inline). */
static void finish_write(coord *c, coord_wjob *wj)
{
    coord_job *j = coord_job_by_id(c, wj->job_id);
    if (!j || j->state != PH_JOB_RUNNING || j->tasks[wj->task_id].state != TASK_WRITING)
        return; /* cannot happen: a WRITING task waits for exactly this */
    j->writing--;
    coord_jw *jw = coord_job_jw_serial(j, wj->worker);
    coord_job_finish_task(c, j, wj->task_id, jw, &wj->msg.u.result, wj->status,
                          wj->status ? wj->err.msg : "");
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
        coord_job_finish_task(c, j, tid, coord_job_jw(j, w), &m->u.result, rc, err.msg);
        return;
    }
    wj->job_id = j->id;
    wj->task_id = tid;
    wj->worker = w->serial;
    wj->out_dir = j->out_dir;
    zmq_msg_init(&wj->frame);
    zmq_msg_move(&wj->frame, frame);
    wj->msg = *m;          /* the table view moves with it */
    c->taken = true;       /* recv_one must not free either */
    j->tasks[tid].state = TASK_WRITING;
    j->writing++;
    if (coord_writer_submit(c->writer, wj))
        return;
    wj->status = coord_write_table(wj, &wj->err);
    finish_write(c, wj);
    coord_wjob_free(wj);
}

static void on_result(coord *c, coord_worker *w, zmq_msg_t *frame, ph_msg *m)
{
    const ph_msg_result *r = &m->u.result;
    coord_job *j = coord_job_by_id(c, r->job_id);
    coord_task *t = NULL;
    if (j && j->state == PH_JOB_RUNNING && r->task_id < j->total)
        t = &j->tasks[r->task_id];
    /* Only the current holder's answer counts: a result from a worker the
     * task was taken back from (dropped, then late) is discarded. */
    if (!t || t->state != TASK_RUNNING || t->worker != w->serial) {
        ph_log_warn("coord", "worker=%s job=%" PRIu64 " task=%" PRIu64
                    " msg=\"stale result discarded\"", w->id, r->job_id, r->task_id);
        return;
    }
    coord_jw *jw = coord_job_jw(j, w);
    worker_pace(w);
    worker_release(w, t);
    j->inflight--;
    if (jw)
        jw->inflight--;
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
    coord_job_finish_task(c, j, r->task_id, jw, r, r->status, error);
}

/* A worker that says it holds nothing, while we think it holds tasks sent
 * long ago, lost them (a connection reset can drop queued frames, and the
 * worker keeps heartbeating on the new connection so it is never "silent").
 * Frames of one connection arrive in order, so every RESULT it sent before
 * this HEARTBEAT has been handled: take the rest back.  A result that turns
 * up later anyway is discarded as stale. */
static void on_heartbeat(coord *c, coord_worker *w, const ph_msg_heartbeat *h)
{
    uint64_t now = coord_now_ms();
    if (h->running != 0 || w->inflight == 0 ||
        now - w->last_task_ms <= (uint64_t)c->opts->liveness_ms)
        return;
    uint64_t n = take_back(c, w);
    ph_log_warn("coord", "worker=%s node=%s requeued=%" PRIu64
                " msg=\"worker holds none of its tasks; requeued\"", w->id, w->node, n);
}

/* ---- dispatch ---------------------------------------------------------- */

static coord_job *next_pending_job(coord *c)
{
    for (size_t i = 0; i < c->njobs; i++)
        if (coord_job_pending(c->jobs[i]))
            return c->jobs[i];
    return NULL;
}

static coord_worker *next_free_worker(coord *c)
{
    for (size_t k = 0; k < c->nworkers; k++) {
        size_t i = (c->cursor + k) % c->nworkers;
        coord_worker *w = c->workers[i];
        if (worker_has_room(c, w)) {
            c->cursor = i + 1;
            return w;
        }
    }
    return NULL;
}

/* Read a keys file without ever blocking the loop: O_NONBLOCK makes opening
 * a FIFO (or one swapped in after the directory walk) return at once, and
 * anything but a regular file is refused. */
int coord_read_keys_file(const char *path, void **buf, size_t *len, ph_err *err)
{
    *buf = NULL;
    *len = 0;
    /* O_NOFOLLOW: a bulk job reads the regular files of the directory it
     * names (resolved when the job was accepted); an entry that is a symlink
     * could lead anywhere (another user's keys, /etc) and is refused.  One
     * open instead of resolving every path: dispatch is per task. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ELOOP)
        return ph_err_set(err, PH_EPERM, "%s: is a symlink; bulk jobs read only regular "
                          "files of their directory", path);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    int rc = PH_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = ph_err_set(err, PH_EINVAL, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > COORD_KEYS_MAX)
        rc = ph_err_set(err, PH_EINVAL, "%s: %lld bytes, more than the %u-byte limit", path,
                        (long long)st.st_size, COORD_KEYS_MAX);
    else if (!(*buf = malloc(st.st_size ? (size_t)st.st_size : 1)))
        rc = ph_err_set(err, PH_ENOMEM, "%s: out of memory", path);
    size_t got = 0;
    while (!rc && got < (size_t)st.st_size) {
        ssize_t r = read(fd, (char *)*buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = ph_err_set(err, PH_EIO, "%s: read failed: %s", path,
                            r < 0 ? strerror(errno) : "file shrank");
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc) {
        free(*buf);
        *buf = NULL;
        return rc;
    }
    *len = got;
    return PH_OK;
}

static int task_keys(const coord_job *j, uint64_t tid, void **buf, size_t *len, ph_err *err)
{
    if (j->is_create) {
        *buf = j->keys;
        *len = j->keys_len;
        return PH_OK;
    }
    char path[8192];
    int rc = ph_fs_join(path, sizeof path, j->dir, j->tasks[tid].file, err);
    if (!rc)
        rc = coord_read_keys_file(path, buf, len, err);
    return rc;
}

/* Send one task of j to w; false if w turned out unusable. */
static bool send_task(coord *c, coord_job *j, coord_worker *w, size_t widx)
{
    uint64_t tid = coord_job_take(j);
    coord_task *t = &j->tasks[tid];
    ph_err err = {0};
    void *kbuf = NULL;
    size_t len = 0;
    char name[256];
    int rc = task_keys(j, tid, &kbuf, &len, &err);
    if (!rc)
        rc = ph_keys_table_name(t->file, name, sizeof name, &err);
    if (rc) {
        /* Unreadable input fails the task here; no worker is involved. */
        if (!j->is_create)
            free(kbuf);
        coord_job_finish_task(c, j, tid, coord_job_jw(j, NULL), NULL, rc, err.msg);
        return true;
    }
    ph_msg m = {.type = PH_MSG_TASK};
    m.u.task.job_id = j->id;
    m.u.task.task_id = tid;
    m.u.task.name = ph_bytes_str(name);
    m.u.task.keys = (ph_bytes){kbuf, (uint32_t)len};
    m.u.task.opts.hash = ph_bytes_str(j->hash);
    m.u.task.opts.compact = j->compact;
    m.u.task.opts.threads = j->threads;
    m.u.task.opts.seed = j->seed;
    rc = ph_wire_send(c->sock, w->ident, w->ident_len, &m, &err);
    if (rc) {
        if (!j->is_create)
            free(kbuf);
        coord_job_requeue(j, tid);
        if (rc == PH_EBUSY) {
            w->blocked = true; /* until it talks to us again */
            return true;
        }
        drop_worker(c, widx, err.msg);
        return false;
    }
    t->state = TASK_RUNNING;
    t->worker = w->serial;
    t->sent_ms = w->last_task_ms = coord_now_ms();
    if (!j->is_create)
        t->keys = kbuf; /* kept for the write: the file is read once */
    t->keys_len = (uint32_t)len;
    if (w->inflight == 0)
        w->busy_since_us = ph_time_us(); /* idle until now: not part of its pace */
    w->inflight++;
    w->inflight_bytes += len;
    j->inflight++;
    coord_jw *jw = coord_job_jw(j, w);
    if (jw)
        jw->inflight++;
    return true;
}

static void dispatch(coord *c)
{
    for (;;) {
        coord_job *j = next_pending_job(c);
        if (!j)
            return;
        coord_worker *w = next_free_worker(c);
        if (!w)
            return;
        size_t widx = (c->cursor + c->nworkers - 1) % c->nworkers;
        send_task(c, j, w, widx);
    }
}

/* ---- clients ----------------------------------------------------------- */

void coord_notify_job(coord *c, coord_job *j)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nwaiters; i++) {
        coord_waiter *wt = &c->waiters[i];
        if (wt->job_id == j->id)
            reply_job(c, wt->ident, wt->ident_len, j);
        else
            c->waiters[k++] = *wt;
    }
    c->nwaiters = k;
}

static void on_wait(coord *c, const void *ident, size_t n, const ph_msg_wait *m)
{
    coord_job *j = coord_job_by_token(c, m->token);
    if (!j) {
        char text[128];
        snprintf(text, sizeof text, "unknown job token '%.*s'",
                 (int)(m->token.n < 64 ? m->token.n : 64), m->token.p);
        reply_error(c, ident, n, PH_EINVAL, text);
        return;
    }
    if (j->state != PH_JOB_RUNNING || m->timeout_ms == 0) {
        reply_job(c, ident, n, j);
        return;
    }
    if (c->nwaiters == c->capwaiters) {
        size_t cap = c->capwaiters ? 2 * c->capwaiters : 16;
        coord_waiter *p = realloc(c->waiters, cap * sizeof *p);
        if (!p) {
            reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
            return;
        }
        c->waiters = p;
        c->capwaiters = cap;
    }
    coord_waiter *wt = &c->waiters[c->nwaiters++];
    memcpy(wt->ident, ident, n);
    wt->ident_len = n;
    wt->job_id = j->id;
    uint32_t ms = m->timeout_ms < COORD_MAX_WAIT_MS ? m->timeout_ms : COORD_MAX_WAIT_MS;
    wt->deadline_ms = coord_now_ms() + ms;
}

static void on_submit(coord *c, const void *ident, size_t n, const ph_msg *m)
{
    ph_err err = {0};
    coord_job *j = NULL;
    int rc = m->type == PH_MSG_SUBMIT_BULK ? coord_job_bulk(c, &m->u.submit_bulk, &j, &err)
                                           : coord_job_create(c, &m->u.submit_create, &j, &err);
    if (rc) {
        ph_log_warn("coord", "type=%s msg=\"submit refused: %s\"", ph_msg_type_name(m->type),
                    err.msg);
        reply_error(c, ident, n, rc, err.msg);
        return;
    }
    ph_log_info("coord", "job=%s tasks=%" PRIu64 " out=%s msg=\"job accepted\"", j->token,
                j->total, j->out_dir);
    ph_msg a = {.type = PH_MSG_ACCEPTED};
    a.u.accepted.token = (ph_bytes){j->token, 16};
    a.u.accepted.total = j->total;
    reply(c, ident, n, &a);
}

static void on_status(coord *c, const void *ident, size_t n)
{
    ph_msg m = {.type = PH_MSG_STATUS_REPLY};
    ph_msg_status_reply *s = &m.u.status_reply;
    uint64_t now = coord_now_ms();
    s->uptime_ms = now - c->start_ms;
    s->workers = calloc(c->nworkers ? c->nworkers : 1, sizeof *s->workers);
    s->jobs = calloc(c->njobs ? c->njobs : 1, sizeof *s->jobs);
    if (!s->workers || !s->jobs) {
        free(s->workers);
        free(s->jobs);
        reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
        return;
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        const coord_worker *w = c->workers[i];
        ph_worker_info *wi = &s->workers[s->nworkers++];
        wi->id = ph_bytes_str(w->id);
        wi->host = ph_bytes_str(w->host);
        wi->pid = w->pid;
        wi->numa_node = w->numa_node;
        wi->threads = w->threads;
        wi->running = w->inflight;
        wi->done = w->done;
        wi->failed = w->failed;
        wi->last_heartbeat_ms = now - w->last_seen_ms;
    }
    /* Running jobs and the most recent finished ones. */
    for (size_t i = 0; i < c->njobs; i++) {
        const coord_job *j = c->jobs[i];
        if (j->state != PH_JOB_RUNNING && i + COORD_STATUS_JOBS < c->njobs)
            continue;
        coord_job_msg(j, &s->jobs[s->njobs++]);
    }
    reply(c, ident, n, &m);
    for (uint32_t i = 0; i < s->njobs; i++)
        free(s->jobs[i].nodes);
    free(s->jobs);
    free(s->workers);
}

/* ---- one message ------------------------------------------------------- */

static void handle(coord *c, const void *ident, size_t n, zmq_msg_t *frame, ph_msg *m)
{
    coord_worker *w = find_worker(c, ident, n, NULL);
    if (w) {
        w->last_seen_ms = coord_now_ms();
        w->blocked = false;
    }
    switch (m->type) {
    case PH_MSG_READY:
        on_ready(c, ident, n, &m->u.ready);
        return;
    case PH_MSG_HEARTBEAT:
    case PH_MSG_RESULT:
        if (!w) {
            /* e.g. we dropped it for silence: tell it to register again. */
            reply_error(c, ident, n, PH_EPROTO, "unknown worker: send READY");
            return;
        }
        if (m->type == PH_MSG_RESULT)
            on_result(c, w, frame, m);
        else
            on_heartbeat(c, w, &m->u.heartbeat);
        return;
    case PH_MSG_SUBMIT_BULK:
    case PH_MSG_SUBMIT_CREATE:
        on_submit(c, ident, n, m);
        return;
    case PH_MSG_WAIT:
        on_wait(c, ident, n, &m->u.wait);
        return;
    case PH_MSG_STATUS:
        on_status(c, ident, n);
        return;
    case PH_MSG_SHUTDOWN: {
        ph_msg ok = {.type = PH_MSG_OK};
        reply(c, ident, n, &ok);
        ph_log_info("coord", "msg=\"shutdown requested\"");
        c->quit = true;
        return;
    }
    case PH_MSG_PING: {
        ph_msg p = {.type = PH_MSG_PONG};
        p.u.pong.version = PH_PROTO_VERSION;
        p.u.pong.uptime_ms = coord_now_ms() - c->start_ms;
        reply(c, ident, n, &p);
        return;
    }
    default:
        ph_log_warn("coord", "type=%s msg=\"unexpected message\"", ph_msg_type_name(m->type));
        if (!w)
            reply_error(c, ident, n, PH_EPROTO, "unexpected message type");
        return;
    }
}

/* Receive and handle one [identity][payload] pair; 0 when none is queued. */
static int recv_one(coord *c)
{
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, c->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&id);
        return 0;
    }
    const void *ident = zmq_msg_data(&id);
    size_t n = zmq_msg_size(&id);
    if (n == 0 || n > COORD_IDENT_MAX || !zmq_msg_more(&id)) {
        ph_log_warn("coord", "msg=\"malformed envelope dropped\"");
        ph_wire_drain_parts(c->sock);
        zmq_msg_close(&id);
        return 1;
    }
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, c->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&body);
        zmq_msg_close(&id);
        return 1;
    }
    bool extra = zmq_msg_more(&body);
    ph_msg m;
    ph_err err = {0};
    if (extra) {
        ph_wire_drain_parts(c->sock);
        ph_err_set(&err, PH_EPROTO, "expected one frame per message, got several");
    }
    int rc = extra ? PH_EPROTO : ph_msg_decode(zmq_msg_data(&body), zmq_msg_size(&body), &m, &err);
    if (rc) {
        char idtxt[2 * COORD_IDENT_MAX + 1];
        ident_hex(ident, n, idtxt);
        ph_log_warn("coord", "peer=%s bytes=%zu msg=\"bad frame: %s\"", idtxt,
                    zmq_msg_size(&body), err.msg);
        /* Clients get told; workers (which never send garbage on purpose)
         * are not answered, so a confused worker cannot loop on errors. */
        if (!find_worker(c, ident, n, NULL))
            reply_error(c, ident, n, rc, err.msg);
    } else {
        c->taken = false;
        handle(c, ident, n, &body, &m);
        if (!c->taken)
            ph_msg_free(&m);
    }
    zmq_msg_close(&body);
    zmq_msg_close(&id);
    return 1;
}

/* ---- timers ------------------------------------------------------------ */

static coord_worker *worker_by_serial(coord *c, uint64_t serial)
{
    for (size_t i = 0; i < c->nworkers; i++)
        if (c->workers[i]->serial == serial)
            return c->workers[i];
    return NULL;
}

/* Take back tasks held past --task-timeout-ms (a hung thread, a poison
 * file).  A linear scan per heartbeat tick: cheap next to the work. */
static void expire_tasks(coord *c, uint64_t now)
{
    uint64_t limit = (uint64_t)c->opts->task_timeout_ms;
    if (limit == 0)
        return;
    for (size_t k = 0; k < c->njobs; k++) {
        coord_job *j = c->jobs[k];
        for (uint64_t t = 0; j->state == PH_JOB_RUNNING && j->inflight > 0 && t < j->total;
             t++) {
            coord_task *task = &j->tasks[t];
            if (task->state != TASK_RUNNING || now - task->sent_ms <= limit)
                continue;
            coord_worker *w = worker_by_serial(c, task->worker);
            if (w)
                worker_release(w, task);
            ph_log_warn("coord", "job=%s file=%s worker=%s msg=\"task timed out\"", j->token,
                        task->file, w ? w->id : "?");
            char why[64];
            snprintf(why, sizeof why, "timed out after %llu ms", (unsigned long long)limit);
            retry_or_fail(c, j, t, coord_job_jw_serial(j, task->worker), PH_ETIMEOUT, why);
        }
    }
}

static void heartbeat(coord *c, uint64_t now)
{
    for (size_t i = 0; i < c->nworkers;) {
        coord_worker *w = c->workers[i];
        if (now - w->last_seen_ms > (uint64_t)c->opts->liveness_ms) {
            drop_worker(c, i, "silent past liveness");
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
            drop_worker(c, i, "disconnected");
            continue;
        }
        i++;
    }
}

static void expire_waiters(coord *c, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nwaiters; i++) {
        coord_waiter *wt = &c->waiters[i];
        if (now >= wt->deadline_ms)
            reply_job(c, wt->ident, wt->ident_len, coord_job_by_id(c, wt->job_id));
        else
            c->waiters[k++] = *wt;
    }
    c->nwaiters = k;
}

static long poll_timeout(const coord *c, uint64_t now)
{
    uint64_t next = c->last_hb_ms + (uint64_t)c->opts->heartbeat_ms;
    for (size_t i = 0; i < c->nwaiters; i++)
        if (c->waiters[i].deadline_ms < next)
            next = c->waiters[i].deadline_ms;
    return next > now ? (long)(next - now) : 0;
}

/* ---- set-up and teardown ------------------------------------------------ */

static int open_socket(coord *c, void *ctx, ph_err *err)
{
    ph_wire_opts wo;
    ph_wire_opts_init(&wo);
    wo.heartbeat_ms = c->opts->heartbeat_ms;
    wo.heartbeat_timeout_ms = c->opts->liveness_ms;
    int rc = ph_wire_socket(ctx, ZMQ_ROUTER, &wo, &c->sock, err);
    if (rc)
        return rc;
    /* The ZAP handler is already running (coord_run): no CURVE client is
     * ever let in unchecked. */
    if (c->opts->curve_secret &&
        (rc = ph_curve_server_file(c->sock, c->opts->curve_secret, err)) != 0)
        return rc;
    if (zmq_bind(c->sock, c->opts->bind) != 0)
        return ph_err_set(err, PH_EIO, "--bind %s: %s", c->opts->bind, ph_wire_strerror());
    char ep[512];
    size_t len = sizeof ep;
    if (zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        snprintf(ep, sizeof ep, "%s", c->opts->bind);
    ph_log_info("coord", "endpoint=%s msg=\"coordinator listening\"", ep);
    if (c->opts->endpoint_file) {
        char line[520];
        int n = snprintf(line, sizeof line, "%s\n", ep);
        rc = ph_fs_write_atomic(c->opts->endpoint_file, line, (size_t)n, 0, err);
    }
    return rc;
}

static void teardown(coord *c)
{
    /* First: pending writes refer to jobs' out_dir. */
    coord_writer_stop(c->writer);
    c->writer = NULL;
    coord_journal_close(c);
    for (size_t i = 0; i < c->nwaiters; i++)
        reply_error(c, c->waiters[i].ident, c->waiters[i].ident_len, PH_ECLOSED,
                    "coordinator shutting down");
    /* Workers are not told to stop: they keep reconnecting with backoff
     * until a coordinator is back (docs/OPERATIONS.md), so restarting
     * phcoord never takes the cluster down.  STOP stays in the protocol for
     * a future "shutdown --workers". */
    for (size_t i = 0; i < c->nworkers; i++)
        free(c->workers[i]);
    for (size_t i = 0; i < c->njobs; i++)
        coord_job_free(c->jobs[i]);
    free(c->workers);
    free(c->jobs);
    free(c->waiters);
}

static void maybe_reload(coord *c)
{
    if (!c->zap || !c->opts->reload || !atomic_exchange(c->opts->reload, 0))
        return;
    ph_err err = {0};
    if (ph_zap_reload(c->zap, &err) != 0)
        ph_log_error("coord", "msg=\"allow-list reload failed, old list kept: %s\"", err.msg);
    else
        ph_log_info("coord", "keys=%zu msg=\"allow-list reloaded\"",
                    ph_zap_allowed_count(c->zap));
}

static int loop(coord *c, ph_err *err)
{
    while (!c->quit && !(c->opts->stop && atomic_load(c->opts->stop))) {
        uint64_t now = coord_now_ms();
        long timeout = poll_timeout(c, now);
        /* A stop flag set from another thread is noticed within 100 ms. */
        if (c->opts->stop && timeout > 100)
            timeout = 100;
        zmq_pollitem_t it[2] = {
            {c->sock, 0, ZMQ_POLLIN, 0},
            {NULL, c->writer ? coord_writer_fd(c->writer) : -1, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(it, c->writer ? 2 : 1, timeout) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            if (zmq_errno() == ETERM)
                break;
            return ph_err_set(err, PH_EIO, "zmq_poll: %s", ph_wire_strerror());
        }
        for (int i = 0; i < COORD_BATCH && !c->quit && recv_one(c); i++)
            ;
        coord_wjob *wj;
        while ((wj = coord_writer_take(c->writer)) != NULL) {
            finish_write(c, wj);
            coord_wjob_free(wj);
        }
        if (!c->quit)
            dispatch(c);
        maybe_reload(c);
        coord_journal_flush(c, false);
        now = coord_now_ms();
        heartbeat(c, now);
        expire_waiters(c, now);
    }
    return PH_OK;
}

int coord_check_path(const coord *c, const char *what, const char *path, char *resolved,
                     size_t len, ph_err *err)
{
    ph_err e = {0};
    char tmp[4096];
    if (!resolved) {
        resolved = tmp;
        len = sizeof tmp;
    }
    int rc = c->nroots ? ph_path_check_roots(path, c->roots, c->nroots, resolved, len, &e)
                       : ph_path_resolve(path, resolved, len, &e);
    if (rc)
        return ph_err_set(err, rc, "%s %s", what, e.msg);
    return PH_OK;
}

static void setup_roots(coord *c)
{
    c->roots = c->opts->allow_roots;
    c->nroots = c->opts->nallow_roots;
    for (size_t i = 0; i < c->nroots; i++)
        ph_log_info("coord", "root=%s msg=\"jobs may read and write here\"", c->roots[i]);
    if (c->nroots == 0)
        ph_log_info("coord", "msg=\"no --allow-root: jobs may use any path this process "
                    "can\"");
}

/* Loopback needs no keys; anything else needs CURVE with an allow-list. */
static int check_security(const coord_opts *o, ph_err *err)
{
    if (o->curve_secret && !o->curve_allow)
        return ph_err_set(err, PH_EINVAL, "--curve-secret needs --curve-allow (the keys "
                          "that may connect)");
    if (o->curve_allow && !o->curve_secret)
        return ph_err_set(err, PH_EINVAL, "--curve-allow needs --curve-secret");
    if (!o->curve_secret && !ph_endpoint_is_loopback(o->bind))
        return ph_err_set(err, PH_EPERM, "--bind %s is not loopback; it requires "
                          "--curve-secret and --curve-allow (CURVE)", o->bind);
    if (o->curve_secret && !ph_curve_available())
        return ph_err_set(err, PH_EINVAL, "--curve-secret: this libzmq has no CURVE support");
    return PH_OK;
}

int coord_run(const coord_opts *o, void *zmq_ctx, ph_err *err)
{
    coord_opts defaults;
    coord_opts_init(&defaults);
    coord_opts eff = *o;
    if (!eff.bind)
        eff.bind = defaults.bind;
    if (eff.heartbeat_ms <= 0)
        eff.heartbeat_ms = defaults.heartbeat_ms;
    if (eff.liveness_ms <= 0)
        eff.liveness_ms = defaults.liveness_ms;
    if (eff.liveness_ms < 2 * eff.heartbeat_ms)
        return ph_err_set(err, PH_EINVAL, "--liveness-ms %d: must be at least twice "
                          "--heartbeat-ms %d", eff.liveness_ms, eff.heartbeat_ms);
    int rc = check_security(&eff, err);
    if (rc)
        return rc;
    void *ctx = zmq_ctx ? zmq_ctx : zmq_ctx_new();
    if (!ctx)
        return ph_err_set(err, PH_EIO, "zmq_ctx_new: %s", ph_wire_strerror());
    coord c = {.opts = &eff};
    c.start_ms = c.last_hb_ms = coord_now_ms();
    if (eff.curve_secret) {
        rc = ph_zap_start(ctx, eff.curve_allow, &c.zap, err);
        if (!rc)
            ph_log_info("coord", "keys=%zu msg=\"CURVE on, allow-list loaded\"",
                        ph_zap_allowed_count(c.zap));
    }
    setup_roots(&c);
    c.max_tries = eff.max_tries > 0 ? (unsigned)eff.max_tries : COORD_DEFAULT_MAX_TRIES;
    if (!rc && eff.state_dir)
        rc = coord_journal_open(&c, eff.state_dir, err);
    if (!rc && eff.writers != 0)
        rc = coord_writer_start(eff.writers < 0 ? COORD_DEFAULT_WRITERS : (unsigned)eff.writers,
                                &c.writer, err);
    if (!rc)
        rc = open_socket(&c, ctx, err);
    if (!rc)
        rc = loop(&c, err);
    teardown(&c);
    if (c.sock)
        zmq_close(c.sock);
    ph_zap_stop(c.zap); /* before the context goes */
    if (!zmq_ctx)
        zmq_ctx_term(ctx);
    return rc;
}
