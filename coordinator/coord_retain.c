/* coord_retain.c - how long finished jobs are remembered, and keeping the
 * journal the size of what is remembered.
 *
 * A finished job costs a little memory (its counts, paths and per-node
 * totals; its tasks and rows are freed when it completes) and a little
 * journal.  For a coordinator that runs for months both must stay bounded:
 * a finished job is forgotten once --keep-jobs newer finished jobs exist,
 * or --job-ttl seconds after it ended, whichever comes first.  Its FORGET
 * record is journaled; WAIT and STATUS on its token then answer "unknown or
 * expired".  The journal's log is compacted into a snapshot of what is left
 * once it outgrows both --journal-compact-bytes and the last snapshot, so
 * its size follows the live state, not the history. */
#include "coord_int.h"

#include "ph_log.h"
#include "ph_time.h"

#define COORD_RETAIN_EVERY_MS 1000 /* the TTL needs no finer grain */

static bool finished(const coord_job *j) { return j->state != PH_JOB_RUNNING; }

/* Mark the finished jobs to forget, oldest (lowest id) first. */
static size_t mark(coord *c, uint64_t now_us)
{
    coord_jobs *t = &c->jobs;
    uint64_t done = 0;
    for (size_t i = 0; i < t->n; i++)
        done += finished(t->v[i]);
    uint64_t excess = done > c->opts->keep_jobs ? done - c->opts->keep_jobs : 0;
    uint64_t ttl_us = c->opts->job_ttl_s * 1000000u;
    size_t marked = 0;
    for (size_t i = 0; i < t->n; i++) {
        coord_job *j = t->v[i];
        if (!finished(j))
            continue;
        bool expired = ttl_us && now_us >= j->end_us && now_us - j->end_us >= ttl_us;
        if (excess == 0 && !expired)
            continue;
        if (excess)
            excess--;
        j->forget = true;
        marked++;
        coord_journal_forget(c->journal, j);
        ph_log_debug("coord", "job=%s msg=\"finished job forgotten (retention)\"", j->token);
    }
    return marked;
}

static void compact(coord *c)
{
    if (!coord_journal_wants_compact(c->journal))
        return;
    /* The snapshot holds finished tasks only once their files are synced. */
    coord_durable_flush(c, true);
    ph_err err = {0};
    /* A failed compaction leaves the old snapshot and log in use: nothing
     * is lost, the log just goes on growing until the next try. */
    if (coord_journal_compact(c->journal, &c->jobs, &err) != 0)
        ph_log_error("coord", "msg=\"journal compaction failed, old log kept: %s\"", err.msg);
}

void coord_retain(coord *c, uint64_t now_ms)
{
    bool due = now_ms - c->retain_ms >= COORD_RETAIN_EVERY_MS ||
               c->jobs.n > c->opts->keep_jobs;
    if (due) {
        c->retain_ms = now_ms;
        size_t marked = mark(c, ph_time_us());
        if (marked) {
            size_t n = coord_jobs_sweep(&c->jobs);
            /* Dispatch's indexes into the table moved: it scans again. */
            c->first_live = 0;
            c->job_cursor = 0;
            ph_log_info("coord", "forgotten=%zu kept=%zu msg=\"finished jobs past retention "
                        "forgotten\"", marked, n);
        }
    }
    compact(c);
}
