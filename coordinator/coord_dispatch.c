/* coord_dispatch.c - which task goes to which worker, and sending it.
 *
 * Policy: running jobs share the workers round robin, one task of each in
 * turn, so a small job submitted beside a big one gets an equal share of
 * the cluster instead of waiting for the big one to drain.  A job with
 * COORD_JOB_WRITES_MAX tables waiting for the writer pool is skipped until
 * some are written: the pool is FIFO, so this bounds how long another job's
 * table waits behind it.  A worker takes a task while it has room
 * (coord_worker_has_room: its credits, and prefetch by its pace); workers
 * are taken round robin.  A bulk task's keys file is
 * read here, when its TASK is sent, and kept for the table's write. */
#include "coord_int.h"

#include <stdlib.h>

#include "ph_fs.h"
#include "ph_keys.h"
#include "ph_part.h"
#include "ph_solver.h"
#include "ph_time.h"
#include "ph_wire.h"


/* ---- dispatch ---------------------------------------------------------- */

static bool job_servable(const coord_job *j)
{
    return (coord_job_pending(j) || coord_part_pending(j)) && j->writing < COORD_JOB_WRITES_MAX;
}

/* The next servable job after the one served last, round robin.  Jobs
 * before first_live have all finished (they are never scanned again). */
static coord_job *next_pending_job(coord *c)
{
    while (c->first_live < c->jobs.n && c->jobs.v[c->first_live]->state != PH_JOB_RUNNING)
        c->first_live++;
    size_t live = c->jobs.n - c->first_live;
    for (size_t k = 0; k < live; k++) {
        size_t i = c->first_live + (c->job_cursor + k) % live;
        if (job_servable(c->jobs.v[i])) {
            c->job_cursor = i - c->first_live + 1;
            return c->jobs.v[i];
        }
    }
    return NULL;
}

/* part: for a group of a partitioned table (coord_worker_has_room_part). */
static coord_worker *next_free_worker(coord *c, bool part)
{
    for (size_t k = 0; k < c->nworkers; k++) {
        size_t i = (c->cursor + k) % c->nworkers;
        coord_worker *w = c->workers[i];
        if (part ? coord_worker_has_room_part(w) : coord_worker_has_room(c, w)) {
            c->cursor = i + 1;
            return w;
        }
    }
    return NULL;
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
        rc = ph_fs_read_file(path, PH_PROTO_MAX_KEYS_BYTES, PH_FS_NOFOLLOW, buf, len, err);
    return rc;
}

/* Send one task of j to w; false if w turned out unusable.  A keys file
 * big enough to be partitioned opens as a partitioned table and sends its
 * first group instead. */
static bool send_part(coord *c, coord_job *j, coord_worker *w, size_t widx)
{
    ph_err err = {0};
    if (coord_part_send(c, j, w, &err) == PH_OK)
        return true;
    coord_worker_drop(c, widx, err.msg);
    return false;
}

static bool send_task(coord *c, coord_job *j, coord_worker *w, size_t widx)
{
    if (coord_part_pending(j))
        return send_part(c, j, w, widx);
    uint64_t tid = coord_job_take(j);
    coord_task *t = &j->tasks[tid];
    uint32_t kpb = coord_job_name_check(j, tid, NULL) ? PH_PART_OFF : coord_part_choose(j, tid);
    if (kpb != PH_PART_OFF) {
        coord_part_open(c, j, tid, kpb);
        return !coord_part_pending(j) || !coord_worker_has_room_part(w) ||
               send_part(c, j, w, widx);
    }
    ph_err err = {0};
    void *kbuf = NULL;
    size_t len = 0;
    char name[256];
    int rc = coord_job_name_check(j, tid, &err);
    if (!rc && j->values_file) /* its values come with a partitioned table only */
        rc = ph_err_set(&err, PH_EINVAL, "%s: the values file %s goes with a partitioned "
                        "table; this one is one graph", t->file, j->values_file);
    if (!rc)
        rc = task_keys(j, tid, &kbuf, &len, &err);
    unsigned ks = coord_job_key_size(j, tid);
    if (!rc && !j->is_create) /* a table too big to come back: not sent */
        rc = ph_proto_check_table_size(t->file, len / ks,
                                       ph_table_bytes_for((uint32_t)(len / ks), j->compact), &err);
    if (!rc)
        rc = ph_keys_table_name(t->file, name, sizeof name, &err);
    if (rc) {
        /* Unreadable input fails the task here; no worker is involved. */
        if (!j->is_create)
            free(kbuf);
        coord_task_settle(c, j, tid, coord_job_jw(j, NULL), NULL, rc, err.msg);
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
    m.u.task.opts.table_flags = ks == 8 ? PH_TABLE_KEY64 : 0; /* the worker needs the key size */
    rc = ph_wire_send(c->sock, w->ident, w->ident_len, &m, &err);
    if (rc) {
        if (!j->is_create)
            free(kbuf);
        coord_job_requeue(j, tid);
        if (rc == PH_EBUSY) {
            w->blocked = true; /* until it talks to us again */
            return true;
        }
        coord_worker_drop(c, widx, err.msg);
        return false;
    }
    t->state = TASK_RUNNING;
    t->worker = w->serial;
    t->sent_ms = w->last_task_ms = coord_now_ms();
    t->progress_ms = t->sent_ms;
    t->steps = 0;
    if (!j->is_create)
        t->keys = kbuf; /* kept for the write: the file is read once */
    t->keys_len = (uint32_t)len;
    coord_worker_charge(w, len);
    j->inflight++;
    coord_jw *jw = coord_job_jw(j, w);
    if (jw)
        jw->inflight++;
    return true;
}

void coord_dispatch(coord *c)
{
    for (;;) {
        coord_job *j = next_pending_job(c);
        if (!j)
            return;
        coord_worker *w = next_free_worker(c, coord_part_pending(j));
        if (!w)
            return;
        size_t widx = (c->cursor + c->nworkers - 1) % c->nworkers;
        send_task(c, j, w, widx);
    }
}
