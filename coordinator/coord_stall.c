/* coord_stall.c - stalled tasks: the progress workers report for the tasks
 * they run, and taking back a task whose progress stopped.
 *
 * A worker sends PROGRESS every PH_PROTO_PROGRESS_MS listing the tasks its
 * threads have started and their steps (one per solve attempt and phase).
 * A task is quiet while its steps do not grow; a task the worker has not
 * started yet is quiet while none of that worker's tasks grows (it waits
 * behind the worker's threads).  A task quiet for its stall limit is taken
 * back like a timed-out one (it counts towards --max-tries) and requeued.
 * The worker is sent CANCEL_TASK for it; a solve that still checks stops
 * and answers PH_ECANCELED (discarded), a stuck one may keep its thread:
 * such tasks, listed by the worker but no longer its own, are the worker's
 * "stuck" count, and dispatch gives the worker that many threads fewer.
 *
 * Groups of a partitioned table follow the same rule (coord_part_stall),
 * each with the limit of its own keys.
 *
 * Workers that never send PROGRESS (scripted test peers, --fake-work) are
 * never judged: their tasks keep the --task-timeout-ms rule alone. */
#include "coord_int.h"

#include <inttypes.h>
#include <stdio.h>

#include "ph_log.h"

/* The holder's task for a PROGRESS entry, or NULL when the task is not (or
 * no longer) w's. */
static coord_task *held_task(coord *c, const coord_worker *w, const ph_task_progress *e)
{
    coord_job *j = coord_job_by_id(&c->jobs, e->job_id);
    if (!j || j->state != PH_JOB_RUNNING || e->task_id >= j->total)
        return NULL;
    coord_task *t = &j->tasks[e->task_id];
    return t->state == TASK_RUNNING && t->worker == w->serial ? t : NULL;
}

void coord_on_progress(coord *c, coord_worker *w, const ph_msg_progress *p)
{
    uint64_t now = coord_now_ms();
    uint32_t stuck = 0;
    w->reports_progress = true;
    w->progress_seen_ms = now;
    for (uint32_t i = 0; i < p->ntasks; i++) {
        const ph_task_progress *e = &p->tasks[i];
        coord_task *t = held_task(c, w, e);
        if (!t) {
            stuck++; /* taken back from it, still running there */
            continue;
        }
        if (e->steps > t->steps) {
            t->steps = e->steps;
            t->progress_ms = now;
            w->advance_ms = now;
        }
    }
    for (uint32_t i = 0; i < p->ngroups; i++)
        if (!coord_part_progress(c, w, &p->groups[i], now))
            stuck++;
    w->stuck = stuck;
}

static void take_back(coord *c, coord_job *j, uint64_t tid, coord_worker *w, uint64_t quiet)
{
    coord_task *t = &j->tasks[tid];
    /* Sent before the task can go out again: a copy sent later is not
     * stopped by it. */
    coord_reply_cancel_task(c, w, j->id, tid);
    coord_worker_release(w, t);
    if (t->steps > 0)
        w->stuck++; /* its thread stays busy; the next PROGRESS recounts */
    j->stalls++;
    ph_log_warn("coord", "job=%s file=%s worker=%s node=%s steps=%" PRIu64 " quiet_ms=%" PRIu64
                " msg=\"task stalled; taken back\"", j->token, t->file, w->id, w->node,
                t->steps, quiet);
    char why[96];
    snprintf(why, sizeof why, "stalled (no progress for %" PRIu64 " ms)", quiet);
    coord_task_taken_back(c, j, tid, coord_job_jw_serial(j, t->worker), PH_ETIMEOUT, why);
}

/* One job: take back its stalled tasks, count the quiet ones. */
static void scan_job(coord *c, coord_job *j, uint64_t now)
{
    uint64_t seen = 0, inflight = j->inflight, quiet_now = 0;
    for (uint64_t tid = 0; j->state == PH_JOB_RUNNING && seen < inflight && tid < j->total;
         tid++) {
        coord_task *t = &j->tasks[tid];
        if (t->state != TASK_RUNNING)
            continue;
        seen++;
        coord_worker *w = coord_worker_by_serial(c, t->worker);
        if (!w || !w->reports_progress)
            continue;
        uint64_t since = coord_stall_quiet_since(w, t->steps, t->progress_ms);
        uint64_t quiet = now > since ? now - since : 0;
        uint64_t limit = coord_stall_limit_ms(c->opts, t->keys_len / 4u);
        if (quiet >= limit && c->opts->stall_ms != 0) {
            take_back(c, j, tid, w, quiet);
            continue;
        }
        if (quiet >= (limit < COORD_STALL_SHOW_MS ? limit : COORD_STALL_SHOW_MS))
            quiet_now++;
    }
    j->stalled = j->state == PH_JOB_RUNNING ? quiet_now : 0;
}

void coord_stall_tick(coord *c, uint64_t now, bool heard_all)
{
    /* After a slow iteration the workers' PROGRESS may still sit unread in
     * our socket: judged then, honest tasks would look quiet.  As with
     * silence (coord_workers_tick), what is queued is read first. */
    if (!heard_all || now - c->last_stall_ms < PH_PROTO_PROGRESS_MS)
        return;
    c->last_stall_ms = now;
    /* A worker lists its started tasks every PH_PROTO_PROGRESS_MS while it
     * has any (then once empty): one that stopped has no stuck thread. */
    for (size_t i = 0; i < c->nworkers; i++) {
        coord_worker *w = c->workers[i];
        if (w->stuck && now - w->progress_seen_ms > 3u * PH_PROTO_PROGRESS_MS)
            w->stuck = 0;
    }
    /* A job may complete (a task given up after --max-tries) while scanned;
     * jobs are only freed by retention, never here. */
    for (size_t k = c->first_live; k < c->jobs.n; k++) {
        coord_job *j = c->jobs.v[k];
        if (j->state == PH_JOB_RUNNING)
            scan_job(c, j, now);
    }
    coord_part_stall(c, now); /* after: adds to the counts scan_job set */
}
