/* coord_restore.c - a restarted coordinator takes up where it stopped.
 *
 * The journal (coord_journal.c) hands back its records in order; this file
 * applies them to the job table: jobs come back under the same ids and
 * tokens, finished tasks keep their results.csv rows and are not redone,
 * everything else is queued again.  Nothing is journaled or announced while
 * records are applied; jobs that turn out complete are settled afterwards,
 * with the journal open, so they get their DONE record. */
#include "coord_int.h"

#include <string.h>

#include "ph_fs.h"
#include "ph_log.h"

static int apply_task(coord *c, const coord_jrec *rec)
{
    coord_job *j = coord_job_by_id(&c->jobs, rec->job_id);
    if (!j || j->state != PH_JOB_RUNNING || !j->tasks || rec->task >= j->total ||
        j->tasks[rec->task].state == TASK_DONE)
        return -1;
    coord_job_finish_task(j, rec->task, coord_job_jw_replayed(j, rec->node), &rec->result,
                          rec->status, rec->error);
    return 0;
}

static int apply_record(void *ctx, coord_jrec *rec)
{
    coord *c = ctx;
    switch (rec->type) {
    case COORD_JREC_JOB:
        return coord_jobs_restore(&c->jobs, &rec->job);
    case COORD_JREC_TASK:
        return apply_task(c, rec);
    case COORD_JREC_FINISHED:
        return coord_jobs_restore_finished(&c->jobs, &rec->finished);
    case COORD_JREC_NEXTID:
        if (rec->job_id > c->jobs.next_id)
            c->jobs.next_id = rec->job_id;
        return 0;
    case COORD_JREC_FORGET: {
        coord_job *j = coord_job_by_id(&c->jobs, rec->job_id);
        if (!j)
            return -1;
        coord_jobs_forget(&c->jobs, rec->job_id);
        return 0;
    }
    case COORD_JREC_START: {
        coord_job *j = coord_job_by_id(&c->jobs, rec->job_id);
        if (!j)
            return -1;
        if (j->state == PH_JOB_RUNNING) /* a job of no keys ended at once */
            coord_job_started_at(j, rec->start_wall_us);
        return 0;
    }
    case COORD_JREC_CANCEL: {
        coord_job *j = coord_job_by_id(&c->jobs, rec->job_id);
        if (!j || j->state != PH_JOB_RUNNING)
            return -1;
        j->cancel = true;
        return 0;
    }
    case COORD_JREC_DONE: {
        coord_job *j = coord_job_by_id(&c->jobs, rec->job_id);
        if (!j)
            return -1;
        j->done_recorded = true;
        j->done_elapsed_us = rec->elapsed_us;
        return 0;
    }
    default:
        return -1;
    }
}

/* A write cut short by the crash left "X.tmp.PID.N" files in the job's
 * output (results.csv beside the table dirs): the previous process is dead,
 * so nothing will ever rename them. */
static void sweep_job_tmp(const coord_job *j)
{
    unsigned long removed = 0;
    ph_err e;
    if (ph_fs_sweep_stale_tmp(j->out_dir, 1, &removed, &e) != 0)
        ph_log_warn("coord", "job=%s msg=\"%s\"", j->token, e.msg);
    else if (removed)
        ph_log_info("coord", "job=%s removed=%lu msg=\"stale temporary files removed\"",
                    j->token, removed);
}

/* After replay: settle complete and cancelled jobs, queue every unfinished
 * task of the others again. */
static void resume(coord *c)
{
    for (size_t i = 0; i < c->jobs.n; i++) {
        coord_job *j = c->jobs.v[i];
        if (j->state != PH_JOB_RUNNING)
            continue;
        /* Cancelled: nothing of it runs again; it ends with what it has. */
        if (j->succeeded + j->failed < j->total && !j->cancel) {
            for (uint64_t t = 0; t < j->total; t++)
                if (j->tasks[t].state != TASK_DONE)
                    coord_job_requeue(j, t);
            sweep_job_tmp(j);
            continue;
        }
        if (!j->done_recorded && j->cancel)
            sweep_job_tmp(j); /* a table write the crash cut short */
        if (!j->done_recorded)
            coord_job_settle(c, j); /* results.csv may not have been written */
        else
            coord_job_completed_before(j, j->done_elapsed_us);
    }
}

int coord_restore(coord *c, const char *state_dir, ph_err *err)
{
    int rc = coord_journal_open(state_dir, c->opts->journal_compact_bytes, apply_record, c,
                                &c->journal, err);
    if (rc)
        return rc;
    resume(c);
    uint64_t running = 0;
    for (size_t i = 0; i < c->jobs.n; i++)
        running += c->jobs.v[i]->state == PH_JOB_RUNNING;
    ph_log_info("coord", "jobs=%zu running=%llu msg=\"state restored\"", c->jobs.n,
                (unsigned long long)running);
    return PH_OK;
}
