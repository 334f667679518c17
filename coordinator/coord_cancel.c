/* coord_cancel.c - cancelling a job (CANCEL from a client).
 *
 * The CANCEL record is journaled and synced first, so the job stays
 * cancelled across a restart.  Then nothing more of the job is dispatched,
 * its queued tasks are dropped, and each worker holding one of its running
 * tasks (or a bucket group of one of its partitioned tables) gets a
 * CANCEL_TASK; partitioned tables under way are closed at once, their
 * temporary files removed; a worker answers such a task with RESULT
 * status PH_ECANCELED (or with its result, if it finished first: that
 * table is written and listed).  A task whose worker is lost is dropped,
 * not requeued.  Once nothing of the job is in flight or being written,
 * the job settles as PH_JOB_CANCELLED (coord_outcome.c): results.csv lists
 * the tables that have a result, the DONE record follows, waiters are
 * answered.  Until then WAIT and STATUS show it as PH_JOB_CANCELLING. */
#include "coord_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ph_log.h"
#include "ph_wire.h"

static const char *finished_name(uint32_t state)
{
    switch (state) {
    case PH_JOB_ALL_SUCCEEDED: return "all succeeded";
    case PH_JOB_SOME_FAILED: return "some failed";
    case PH_JOB_NO_KEYS: return "no keys files";
    default: return "finished";
    }
}

static void reply_cancel(coord *c, const void *ident, size_t n, const coord_job *j,
                         bool already)
{
    ph_msg m = {.type = PH_MSG_CANCEL_REPLY};
    m.u.cancel_reply.already = already;
    if (coord_job_msg(j, &m.u.cancel_reply.job) != 0) {
        coord_reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
        return;
    }
    coord_reply(c, ident, n, &m);
    free(m.u.cancel_reply.job.nodes);
}

/* Tell the worker holding each running task of j to stop it.  A worker
 * that cannot be told keeps the task until it answers or is lost; either
 * way the task comes back here and is dropped. */
static uint64_t cancel_running(coord *c, const coord_job *j)
{
    uint64_t told = 0;
    for (uint64_t t = 0; t < j->total && told < j->inflight; t++) {
        const coord_task *task = &j->tasks[t];
        if (task->state != TASK_RUNNING || task->part) /* parts: coord_part_cancel */
            continue;
        coord_worker *w = coord_worker_by_serial(c, task->worker);
        if (!w)
            continue;
        ph_msg m = {.type = PH_MSG_CANCEL_TASK};
        m.u.cancel_task.job_id = j->id;
        m.u.cancel_task.task_id = t;
        ph_err err = {0};
        if (ph_wire_send(c->sock, w->ident, w->ident_len, &m, &err) != 0)
            ph_log_warn("coord", "job=%s worker=%s msg=\"CANCEL_TASK not sent: %s\"", j->token,
                        w->id, err.msg);
        told++;
    }
    return told;
}

void coord_on_cancel(coord *c, const void *ident, size_t n, const ph_msg_cancel *m)
{
    coord_job *j = coord_job_by_token(&c->jobs, m->token);
    if (!j) {
        coord_reply_unknown_token(c, ident, n, m->token);
        return;
    }
    if (j->cancel || j->state == PH_JOB_CANCELLED) {
        reply_cancel(c, ident, n, j, true);
        return;
    }
    if (j->state != PH_JOB_RUNNING) {
        char text[160];
        snprintf(text, sizeof text, "job %s has already finished (%s): nothing to cancel",
                 j->token, finished_name(j->state));
        coord_reply_error(c, ident, n, PH_EINVAL, text);
        return;
    }
    ph_err err = {0};
    if (coord_journal_cancel(c->journal, j, &err) != 0) {
        ph_log_error("coord", "job=%s msg=\"cancel not journaled: %s\"", j->token, err.msg);
        coord_reply_error(c, ident, n, err.code, err.msg);
        return;
    }
    uint64_t queued = j->total - j->inflight - j->writing - j->succeeded - j->failed;
    coord_job_cancel(j);
    uint64_t told = cancel_running(c, j);
    uint64_t parts = coord_part_cancel(c, j);
    coord_part_discard_queued(c, j); /* saved assemblies a restart left for them */
    ph_log_info("coord", "job=%s dropped=%" PRIu64 " running=%" PRIu64 " partitioned=%" PRIu64
                " writing=%" PRIu64 " msg=\"job cancel requested\"", j->token, queued, told,
                parts, j->writing);
    if (coord_job_drained(j))
        coord_job_settle(c, j);
    reply_cancel(c, ident, n, j, false);
}
