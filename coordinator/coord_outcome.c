/* coord_outcome.c - what follows when a task has its final result.
 *
 * The job table records the row and says whether the job is complete; this
 * file then does what the coordinator owes for it, in order: the task's
 * journal record, and for the last task the job's results.csv, its DONE
 * record and the answer to every client waiting on it.  A cancelled job
 * settles the same way once its last task in flight is back. */
#include "coord_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "ph_log.h"

void coord_job_settle(coord *c, coord_job *j)
{
    coord_job_complete(j);
    if (c->journal) {
        /* DONE tells a restart that results.csv exists: on disk first. */
        ph_err err = {0};
        if (j->out_dir && coord_sync_dir(c, j->out_dir, &err) != 0)
            ph_log_error("coord", "job=%s msg=\"%s\"", j->token, err.msg);
        coord_sync_trace(c, "done %" PRIu64 "%.0" PRIu64 "\n", j->id, 0);
    }
    coord_journal_done(c->journal, j);
    coord_notify_job(c, j);
}

void coord_task_settle(coord *c, coord_job *j, uint64_t t, coord_jw *jw,
                       const ph_msg_result *r, int status, const char *error)
{
    if (status) /* a saved assembly a restart left for it goes */
        coord_part_discard_saved(c, j, t);
    bool complete = coord_job_finish_task(j, t, jw, r, status, error);
    coord_journal_task(c->journal, j, t, jw ? jw->node : "coordinator", status, error);
    if (complete)
        coord_job_settle(c, j);
}

void coord_task_dropped(coord *c, coord_job *j, uint64_t t)
{
    if (coord_job_drop_task(j, t))
        coord_job_settle(c, j);
}

void coord_task_taken_back(coord *c, coord_job *j, uint64_t t, coord_jw *jw, int code,
                           const char *why)
{
    j->inflight--;
    if (jw)
        jw->inflight--;
    if (j->cancel) { /* it would not run again anyway */
        coord_task_dropped(c, j, t);
        return;
    }
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
    coord_task_settle(c, j, t, jw, NULL, code, msg);
}
