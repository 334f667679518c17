/* coord_credit.c - a worker's credits and pace: whether it may be sent one
 * more task, and the counts that change when it is sent one or answers.
 * A leaf below both the per-task code (coord_worker.c, coord_dispatch.c)
 * and the partitioned tables' groups (coord_part.c): it touches only the
 * coord_worker it is given. */
#include "coord_int.h"

#include "ph_time.h"

/* Prefetch.  A worker gets a task for each of its threads whatever it is;
 * beyond that, up to its credits, only as many as it finishes in about
 * --prefetch-ms (at its measured pace: the mean time between its results
 * while busy), and only while the keys it holds total under this.  Tiny
 * tasks then travel in bursts (fewer wake-ups on both sides: sys32 took
 * 1.28x the in-process time with two tasks queued per worker, 1.05x with
 * 32), while slow or big ones are not hoarded by one worker as another
 * idles at the end of a job.  Also bounds the keys kept here for writes. */
#define COORD_PREFETCH_BYTES (1u << 20)

/* w no longer holds a task of bytes (answered, or timed out). */
void coord_worker_release_bytes(coord_worker *w, uint64_t bytes)
{
    if (w->inflight > 0)
        w->inflight--;
    w->inflight_bytes -= bytes < w->inflight_bytes ? bytes : w->inflight_bytes;
}

void coord_worker_release(coord_worker *w, const coord_task *t)
{
    coord_worker_release_bytes(w, t->keys_len);
}

/* Threads of w not held by tasks taken back from it (coord_stall.c). */
static uint32_t free_threads(const coord_worker *w)
{
    return w->threads > w->stuck ? w->threads - w->stuck : 0;
}

bool coord_worker_has_room_part(const coord_worker *w)
{
    uint32_t threads = free_threads(w);
    return !w->blocked && threads > 0 && w->inflight < w->credits && w->inflight <= threads;
}

/* A result came from w: one sample of its pace, the time since its last
 * result or since it was last sent work while idle, whichever is later. */
void coord_worker_pace(coord_worker *w)
{
    uint64_t now = ph_time_us();
    uint64_t from = w->last_result_us > w->busy_since_us ? w->last_result_us
                                                         : w->busy_since_us;
    uint64_t gap = now > from ? now - from : 1;
    w->interval_us = w->interval_us ? (7 * w->interval_us + gap) / 8 : gap;
    w->last_result_us = now;
    w->advance_ms = now / 1000u; /* an answer is progress (coord_stall.c) */
}

/* May w be sent one more task now?  Unknown pace: no prefetch.  Threads
 * still busy with tasks taken back from it (stuck) do not count. */
bool coord_worker_has_room(const coord *c, const coord_worker *w)
{
    uint32_t threads = free_threads(w);
    if (w->blocked || threads == 0 || w->inflight >= w->credits)
        return false;
    if (w->inflight < threads)
        return true;
    uint64_t ahead = w->interval_us ? (uint64_t)c->opts->prefetch_ms * 1000u / w->interval_us
                                    : 0;
    return w->inflight - threads < ahead && w->inflight_bytes < COORD_PREFETCH_BYTES;
}

coord_worker *coord_worker_by_serial(coord *c, uint64_t serial)
{
    for (size_t i = 0; i < c->nworkers; i++)
        if (c->workers[i]->serial == serial)
            return c->workers[i];
    return NULL;
}

void coord_worker_charge(coord_worker *w, size_t len)
{
    if (w->inflight == 0)
        w->busy_since_us = ph_time_us(); /* idle until now: not part of its pace */
    w->inflight++;
    w->inflight_bytes += len;
}

/* ---- stall limits (the rule is coord_stall.c's) ---------------------- */

uint64_t coord_stall_limit_ms(const coord_opts *o, uint64_t nkeys)
{
    if (o->stall_ms > 0)
        return (uint64_t)o->stall_ms;
    uint64_t scaled = nkeys * COORD_STALL_US_PER_KEY / 1000u;
    return scaled > COORD_STALL_FLOOR_MS ? scaled : COORD_STALL_FLOOR_MS;
}

uint64_t coord_stall_quiet_since(const coord_worker *w, uint64_t steps, uint64_t progress_ms)
{
    if (steps == 0 && w->advance_ms > progress_ms)
        return w->advance_ms; /* not started: waits while w works */
    return progress_ms;
}
