/* coord_durable.c - a table counts as done only once it is on disk.
 *
 * With --state-dir, the journal's TASK record tells a restarted coordinator
 * not to redo a table, so it must not be written while the table's files
 * (and the directory entries that name them) may still be only in the page
 * cache: a power cut would then lose tables the journal counts as done.
 * Flushing each file would cost a disk flush per file (sys32: 13,637 tables,
 * five files each), so finished writes wait here in a batch; one syncfs(2)
 * per output filesystem puts the whole batch on disk, files and directories
 * alike, and only then are the batch's results settled (TASK records
 * appended, results rows filled, jobs completed).  A batch is flushed when
 * it holds COORD_DURABLE_BATCH writes or its oldest is COORD_DURABLE_MS old.
 * results.csv gets the same treatment before a job's DONE record.
 *
 * Without --state-dir nothing is journaled and results settle at once.
 *
 * The syncs and the test trace (PH_TEST_DURABILITY_TRACE) are in
 * coord_sync.c, below this file and coord_outcome.c alike. */
#include "coord_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_fs.h"
#include "ph_log.h"

#define COORD_DURABLE_BATCH 512
#define COORD_DURABLE_MS 20

void coord_durable_init(coord *c)
{
    coord_sync_trace_open(c);
}

/* Settle one finished write (its files are on disk, or it failed). */
static void settle(coord *c, coord_wjob *wj, int sync_rc, const char *sync_err)
{
    coord_job *j = coord_job_by_id(&c->jobs, wj->job_id);
    if (!j || j->state != PH_JOB_RUNNING || j->tasks[wj->task_id].state != TASK_WRITING)
        return; /* cannot happen: a WRITING task waits for exactly this */
    j->writing--;
    int status = wj->status ? wj->status : sync_rc;
    const char *error = wj->status ? wj->err.msg : sync_rc ? sync_err : "";
    coord_sync_trace(c, "record %" PRIu64 " %" PRIu64 "\n", wj->job_id, wj->task_id);
    coord_task_settle(c, j, wj->task_id, coord_job_jw_serial(j, wj->worker),
                      &wj->msg.u.result, status, error);
}

bool coord_durable_add(coord *c, coord_wjob *wj)
{
    coord_sync_trace(c, "written %" PRIu64 " %" PRIu64 "\n", wj->job_id, wj->task_id);
    if (!c->journal) {
        settle(c, wj, 0, "");
        return false;
    }
    if (c->nunsynced == c->capunsynced) {
        size_t cap = c->capunsynced ? 2 * c->capunsynced : 64;
        coord_wjob **p = realloc(c->unsynced, cap * sizeof *p);
        if (!p) {
            /* No room to wait: sync this one alone. */
            ph_err err = {0};
            int rc = wj->status ? 0 : coord_sync_dir(c, wj->out_dir, &err);
            settle(c, wj, rc, err.msg);
            return false;
        }
        c->unsynced = p;
        c->capunsynced = cap;
    }
    if (c->nunsynced == 0)
        c->unsynced_since_ms = coord_now_ms();
    c->unsynced[c->nunsynced++] = wj;
    return true;
}

void coord_durable_flush(coord *c, bool force)
{
    if (c->nunsynced == 0)
        return;
    if (!force && c->nunsynced < COORD_DURABLE_BATCH &&
        coord_now_ms() - c->unsynced_since_ms < COORD_DURABLE_MS)
        return;
    /* One syncfs per distinct output directory in the batch (usually one
     * job, one directory); a failed sync fails the tables it covers. */
    int rc = PH_OK;
    ph_err err = {0};
    const char *last = NULL;
    for (size_t i = 0; i < c->nunsynced && rc == PH_OK; i++) {
        const char *dir = c->unsynced[i]->out_dir;
        if (c->unsynced[i]->status || (last && !strcmp(last, dir)))
            continue;
        rc = coord_sync_dir(c, dir, &err);
        last = dir;
    }
    if (rc)
        ph_log_error("coord", "msg=\"%s; tables of this batch counted as failed\"", err.msg);
    size_t n = c->nunsynced;
    c->nunsynced = 0; /* settle may complete jobs; nothing re-enters the batch */
    for (size_t i = 0; i < n; i++) {
        settle(c, c->unsynced[i], rc, err.msg);
        coord_wjob_free(c->unsynced[i]);
    }
}

long coord_durable_timeout(const coord *c, long timeout)
{
    if (c->nunsynced == 0)
        return timeout;
    uint64_t due = c->unsynced_since_ms + COORD_DURABLE_MS, now = coord_now_ms();
    long left = due > now ? (long)(due - now) : 0;
    return left < timeout ? left : timeout;
}

void coord_durable_stop(coord *c)
{
    coord_durable_flush(c, true);
    free(c->unsynced);
    c->unsynced = NULL;
    c->capunsynced = 0;
    coord_sync_trace_close(c);
}
