/* coord_part.c - one big table over the whole cluster.
 *
 * A keys file of a bulk job with at least PH_PART_AUTO_MIN_KEYS keys (or as
 * --partition says) is not one TASK: it is solved as a partitioned table
 * (solver/ph_part.h) whose buckets travel in groups.  When its task comes
 * up for dispatch a writer thread (coord_write.c's pool, so the event loop
 * keeps heartbeating meanwhile) reads the file (a copy, not a mapping:
 * a file truncated meanwhile must not fault the coordinator), splits the
 * keys (32- or 64-bit) and their positions by bucket (8 or 12 bytes a key;
 * the file's copy is then dropped), lays out the
 * bucket records and creates OUT/NAME/NAME.values as a temporary file of
 * its final size.  The groups (consecutive buckets, about
 * --part-task-bytes of keys each, and never more than a frame carries
 * either way) are then dispatched like tasks (coord_dispatch.c picks the
 * worker and drops one that cannot be sent to): to any worker with room
 * (its threads plus one, so the next group waits at the worker), taken
 * back when the worker is lost or the group outlives --task-timeout-ms,
 * failing the file after --max-tries.
 *
 * A PART_RESULT is not trusted: its lengths must match the group, and
 * every key of the group is looked up through
 * the returned seeds and values (ph_part_check_group) before the values are
 * written at their offset in the temporary file; the worker verified each
 * bucket too.  Since the split holds every position exactly once, the
 * groups' checks together check Index(keys[i]) == i for every key.  Once
 * every group is in, coord_part_finish.c writes the table's files on a
 * writer thread; the state both files share is in coord_part_int.h.
 *
 * With --state-dir the values file has a fixed name and a progress record
 * beside it (coord_part_resume.c): a coordinator restarted mid-assembly
 * opens the file again, keeps the groups the record names and sends only
 * the others.  Without it the values go to a one-off temporary name. */
#include "coord_part_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_fs.h"
#include "ph_keys.h"
#include "ph_keys_map.h"
#include "ph_log.h"
#include "ph_part.h"
#include "ph_part_emit.h"
#include "ph_time.h"
#include "ph_wire.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "key, position and value arrays travel as they lie in memory");

/* Room a PART_TASK or PART_RESULT keeps beside its arrays. */
#define PART_FRAME_SLACK 4096u
/* Bytes a key costs in the bigger of the two frames: the result's vertex
 * values (2.09 per key, 4 bytes each) plus a margin; the task carries the
 * key and its position (8 bytes, 12 for a 64-bit key) and at worst a count
 * per key (buckets of one key): 4 more. */
#define PART_FRAME_BYTES_PER_KEY 12u
#define PART_FRAME_BYTES_PER_KEY64 16u
#define PART_SPLIT_THREADS 2u


/* ---- opening ------------------------------------------------------------ */

static bool bulk_path(const coord_job *j, uint64_t t, char *path, size_t len)
{
    ph_err e;
    return ph_fs_join(path, len, j->dir, j->tasks[t].file, &e) == PH_OK;
}

uint32_t coord_part_choose(const coord_job *j, uint64_t t)
{
    char path[4096];
    uint64_t n = 0;
    ph_err e;
    /* Groups of buckets carry 32- or 64-bit keys (PART_TASK key_size). */
    if (j->is_create || j->partition == PH_PROTO_PART_OFF ||
        !bulk_path(j, t, path, sizeof path) ||
        ph_keys_map_count_sized_flags(path, coord_job_key_size(j, t), PH_KEYS_MAP_NOFOLLOW, &n,
                                      &e) != PH_OK)
        return PH_PART_OFF;
    return ph_part_choose(j->partition ? j->partition : PH_PART_AUTO, n);
}

void coord_part_free(coord_part *p)
{
    if (!p)
        return;
    /* Not renamed into place: the table failed (or, keep, the coordinator
     * stops and its restart resumes it).  Its values and record go, and
     * OUT/NAME too if that leaves it empty (an older table's files stay,
     * and a finished table's); before the close drops the values file's
     * lock, so that no other assembly takes it up meanwhile. */
    if (!p->keep && p->dirfd >= 0) {
        if (p->vfd >= 0) {
            coord_psave_remove(p->save, p->dirfd);
            if (p->vtmp[0])
                (void)unlinkat(p->dirfd, p->vtmp, 0);
        }
        if (p->outfd >= 0)
            (void)unlinkat(p->outfd, p->name, AT_REMOVEDIR);
    }
    coord_pvals_free(p->pv);
    if (p->vfd >= 0)
        close(p->vfd);
    coord_psave_free(p->save);
    if (p->dirfd >= 0)
        close(p->dirfd);
    if (p->outfd >= 0)
        close(p->outfd);
    free(p->groups);
    free(p->buckets);
    free(p->start);
    free(p->keys);
    free(p->pos);
    ph_keys_map_close(&p->km);
    free(p);
}

/* Keys one frame of either direction carries. */
static uint64_t frame_keys(unsigned key_size)
{
    return (ph_wire_max_frame() - PART_FRAME_SLACK) /
           (key_size == 8 ? PART_FRAME_BYTES_PER_KEY64 : PART_FRAME_BYTES_PER_KEY);
}

/* Keys per group: --part-task-bytes of keys, within what one frame of
 * either direction carries. */
static uint64_t group_keys(const coord *c, unsigned key_size)
{
    uint64_t cap = frame_keys(key_size);
    uint64_t want = (uint64_t)c->opts->part_task_bytes / key_size;
    if (want == 0)
        want = COORD_DEFAULT_PART_TASK_BYTES / key_size;
    return want < cap ? want : cap;
}

/* Bucket records and groups from the split: consecutive buckets of up to
 * per_group keys together, a bigger bucket (up to a frame's worth) in a
 * group of its own. */
static int part_layout(coord_part *p, ph_err *err)
{
    uint64_t per = p->per_group, cap = frame_keys(p->key_size), base = 0;
    p->buckets = calloc((size_t)p->nbuckets + 1, sizeof *p->buckets);
    p->groups = calloc(p->nbuckets, sizeof *p->groups); /* at most one per bucket */
    if (!p->buckets || !p->groups)
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory for %u buckets", p->path,
                          p->nbuckets);
    uint64_t in_group = 0;
    for (uint32_t b = 0; b < p->nbuckets; b++) {
        uint64_t k = p->start[b + 1] - p->start[b];
        if (k > cap)
            return ph_err_set(err, PH_EINVAL, "%s: a bucket of %" PRIu64 " keys does not fit "
                              "one %u-byte frame; use fewer keys per bucket (--partition)",
                              p->path, k, ph_wire_max_frame());
        p->buckets[b] = ph_part_entry(base, 0);
        base += ph_part_bucket_nverts((uint32_t)k);
        if (p->ngroups == 0 || in_group + k > per) {
            p->groups[p->ngroups++] = (coord_pgroup){.b_lo = b};
            in_group = 0;
        }
        p->groups[p->ngroups - 1].ngroup++;
        in_group += k;
    }
    p->buckets[p->nbuckets] = ph_part_entry(base, 0);
    p->nverts = base;
    if (base > PH_PART_BASE_MASK)
        return ph_err_set(err, PH_EINVAL, "%s: %" PRIu64 " vertices, more than a bucket entry "
                          "holds", p->path, base);
    return PH_OK;
}

/* The values file under its fixed name, with what its record says is
 * already in (coord_part_resume.c); p->save stays NULL when another
 * assembly of OUT/NAME holds it. */
static int part_values_resume(coord_part *p, const char *shown, ph_err *err)
{
    coord_psave_id id = {.token = p->token, .name = p->name, .km = &p->km,
                         .table_seed = p->table_seed, .per_group = p->per_group,
                         .nverts = p->nverts, .kpb = p->kpb, .nbuckets = p->nbuckets,
                         .ngroups = p->ngroups};
    int rc = coord_psave_open(&id, p->dirfd, shown, p->groups, p->buckets, &p->save, &p->vfd,
                              &p->resumed, err);
    if (rc || !p->save)
        return rc;
    snprintf(p->vtmp, sizeof p->vtmp, "%s", coord_psave_values_name(p->save));
    p->ndone = p->resumed.groups;
    p->attempts = p->resumed.attempts;
    p->max_bucket_attempts = p->resumed.max_attempts;
    return PH_OK;
}

/* OUT/NAME/ and a temporary NAME.values of nverts zero values: the file
 * ph_part_create_file writes for the same keys. */
static int part_values_file(coord_part *p, ph_err *err)
{
    char final[300], shown[4400];
    snprintf(final, sizeof final, "%s.values", p->name);
    snprintf(shown, sizeof shown, "%s/%s", p->out_dir, p->name);
    int rc = ph_fs_open_dir(p->out_dir, 1, &p->outfd, err);
    if (!rc)
        rc = ph_fs_open_dir_at(p->outfd, p->name, 1, shown, &p->dirfd, err);
    if (!rc && p->resumable)
        rc = part_values_resume(p, shown, err);
    if (rc || p->save)
        return rc;
    rc = ph_fs_tmp_name(p->vtmp, sizeof p->vtmp, final, err);
    if (rc)
        return rc;
    p->vfd = openat(p->dirfd, p->vtmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (p->vfd < 0) {
        int e = errno;
        p->vtmp[0] = '\0';
        return ph_err_set(err, PH_EIO, "%s/%s: cannot create: %s", shown, final, strerror(e));
    }
    if (ftruncate(p->vfd, (off_t)(p->nverts * sizeof(uint32_t))) != 0)
        return ph_err_set(err, PH_EIO, "%s/%s: cannot size to %" PRIu64 " bytes: %s", shown, final,
                          p->nverts * 4, strerror(errno));
    return PH_OK;
}

/* The build: on a writer thread (or the loop when there is no pool); it
 * touches only p. */
static int part_build(coord_part *p, ph_err *err)
{
    const char *file = strrchr(p->path, '/') ? strrchr(p->path, '/') + 1 : p->path;
    int fd = -1;
    int rc = ph_keys_table_name(file, p->name, sizeof p->name, err);
    if (!rc)
        rc = ph_keys_map_open_fd(p->path, p->key_size, PH_KEYS_MAP_NOFOLLOW, &p->km, &fd, err);
    /* A values file that does not fit the keys fails the table now. */
    if (!rc && p->vstart[0])
        rc = ph_part_values_check(p->vstart, coord_part_value_size(p), p->km.n, p->path, err);
    if (!rc) {
        p->table_seed = ph_part_table_seed(p->seed);
        p->nbuckets = ph_part_nbuckets(p->km.n, p->kpb);
        /* Split as it is read (twice: count, then scatter), a buffer at a
         * time from the page cache: no copy of the file, whose fresh pages
         * would cost as much as the split's own; grouped, the keys are sent
         * as slices. */
        rc = ph_part_split_fd(fd, p->path, p->key_size, p->km.n, p->table_seed, p->nbuckets,
                              PART_SPLIT_THREADS, &p->start, &p->keys, &p->pos, err);
    }
    if (!rc)
        rc = ph_keys_map_read_done(&p->km, fd, p->path, err);
    if (fd >= 0)
        close(fd);
    if (rc)
        return rc;
    rc = part_layout(p, err);
    if (!rc)
        rc = part_values_file(p, err);
    /* The values go to the disk without the page cache, unless NAME.phc
     * reads them back (it would then read them from the disk). */
    if (!rc && !(p->table_flags & PH_TABLE_BIN))
        p->pv = coord_pvals_open(p->dirfd, p->vtmp, p->vfd, p->groups, p->ngroups, p->buckets,
                                 p->nverts);
    return rc;
}

static int part_build_run(coord_wjob *wj)
{
    coord_part *p = wj->part;
    uint64_t cpu0 = ph_time_process_cpu_us();
    int rc = part_build(p, &wj->err);
    p->open_us = ph_time_us() - p->start_us;
    p->open_cpu_us = ph_time_process_cpu_us() - cpu0;
    return rc;
}

static void part_opened(coord *c, coord_wjob *wj);
static void group_checked(coord *c, coord_wjob *wj);
static void part_saved(coord *c, coord_wjob *wj);
static int part_save_run(coord_wjob *wj);
static void part_complete(coord *c, coord_job *j, coord_part *p);
static bool part_held(const coord_part *p);

/* A writer-pool job of p (task t of job j) that runs run; NULL when out
 * of memory. */
coord_wjob *coord_part_wjob(uint64_t job_id, uint64_t t, coord_part *p,
                            int (*run)(coord_wjob *))
{
    coord_wjob *wj = calloc(1, sizeof *wj);
    if (!wj)
        return NULL;
    wj->job_id = job_id;
    wj->task_id = t;
    wj->part = p;
    wj->run = run;
    zmq_msg_init(&wj->frame);
    return wj;
}

/* The file's task becomes the part's: it runs (held by the coordinator)
 * while the file is read and split on a writer thread, so the loop goes on
 * serving heartbeats and other jobs meanwhile (a 100M-key file takes
 * seconds); part_opened takes it from there. */
void coord_part_open(coord *c, coord_job *j, uint64_t t, uint32_t kpb)
{
    ph_err err = {0};
    coord_part *p = calloc(1, sizeof *p);
    coord_wjob *wj = p ? coord_part_wjob(j->id, t, p, part_build_run) : NULL;
    if (!wj || !bulk_path(j, t, p->path, sizeof p->path) ||
        snprintf(p->out_dir, sizeof p->out_dir, "%s", j->out_dir) >= (int)sizeof p->out_dir ||
        snprintf(p->vstart, sizeof p->vstart, "%s", j->values_file ? j->values_file : "") >=
            (int)sizeof p->vstart) {
        ph_err_set(&err, wj ? PH_EINVAL : PH_ENOMEM, "%s: %s", j->tasks[t].file,
                   wj ? "path too long" : "out of memory");
        free(wj);
        free(p);
        coord_task_settle(c, j, t, coord_job_jw(j, NULL), NULL, err.code, err.msg);
        return;
    }
    p->task = t;
    p->outfd = p->dirfd = p->vfd = -1;
    p->kpb = kpb;
    p->table_flags = j->table_flags;
    p->seed = j->seed;
    p->key_size = coord_job_key_size(j, t) == 8 ? 8 : 4;
    p->per_group = group_keys(c, p->key_size);
    p->start_us = ph_time_us();
    snprintf(p->token, sizeof p->token, "%s", j->token);
    p->resumable = c->journal != NULL;
    p->hold = coord_psave_test_hold();
    p->opening = true;
    coord_task *task = &j->tasks[t];
    task->state = TASK_RUNNING;
    task->part = true;
    task->worker = 0;
    task->sent_ms = coord_now_ms();
    j->inflight++;
    p->next = j->parts;
    j->parts = p;
    if (coord_writer_submit(c->writer, wj))
        return;
    wj->status = part_build_run(wj);
    part_opened(c, wj);
}

/* The saved assembly of file's table below OUT (outfd), if it is j's. */
static void discard_in(int outfd, const coord_job *j, const char *file)
{
    char name[256], shown[4400];
    ph_err e = {0};
    int dirfd = -1;
    if (ph_keys_table_name(strrchr(file, '/') ? strrchr(file, '/') + 1 : file, name,
                           sizeof name, &e) != PH_OK)
        return;
    snprintf(shown, sizeof shown, "%s/%s", j->out_dir, name);
    if (ph_fs_open_dir_at(outfd, name, 0, shown, &dirfd, &e) != PH_OK)
        return;
    if (coord_psave_discard(dirfd, name, j->token)) {
        ph_log_info("coord", "job=%s file=%s msg=\"saved assembly of the table removed "
                    "(failed or cancelled before it was opened)\"", j->token, file);
        (void)unlinkat(outfd, name, AT_REMOVEDIR); /* only if that left it empty */
    }
    close(dirfd);
}

/* OUT of j when saved assemblies may lie below it, else -1. */
static int discard_out(const coord *c, const coord_job *j)
{
    int outfd = -1;
    ph_err e = {0};
    if (!c->journal || !j->restored || j->is_create || !j->out_dir ||
        ph_fs_open_dir(j->out_dir, 0, &outfd, &e) != PH_OK)
        return -1;
    return outfd;
}

void coord_part_discard_saved(const coord *c, const coord_job *j, uint64_t t)
{
    int outfd = discard_out(c, j);
    if (outfd < 0)
        return;
    discard_in(outfd, j, j->tasks[t].file);
    close(outfd);
}

void coord_part_discard_queued(const coord *c, const coord_job *j)
{
    int outfd = discard_out(c, j);
    if (outfd < 0)
        return;
    for (uint64_t t = 0; t < j->total; t++)
        if (j->tasks[t].state == TASK_QUEUED && !j->tasks[t].part)
            discard_in(outfd, j, j->tasks[t].file);
    close(outfd);
}

/* ---- closing -------------------------------------------------------------- */

/* Unlink p from j's list; the caller frees it. */
static void part_unlink(coord_job *j, coord_part *p)
{
    for (coord_part **q = &j->parts; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            return;
        }
}

/* Groups still at workers: their credits come back now (their results,
 * if any come, are stale). */
static void part_release_groups(coord *c, coord_part *p)
{
    for (uint32_t g = 0; g < p->ngroups; g++) {
        coord_pgroup *pg = &p->groups[g];
        if (pg->state != TASK_RUNNING)
            continue;
        coord_worker *w = coord_worker_by_serial(c, pg->worker);
        if (w)
            coord_worker_release_bytes(w, pg->bytes);
        pg->state = TASK_QUEUED;
    }
}

static void part_row(const coord_part *p, ph_msg_result *r)
{
    memset(r, 0, sizeof *r);
    r->keys = p->km.n;
    r->hash = ph_bytes_str("part");
    r->seeds[0] = (uint32_t)p->table_seed;
    r->seeds[1] = (uint32_t)(p->table_seed >> 32);
    r->seeds[2] = p->nbuckets;
    r->vertices = p->nverts > UINT32_MAX ? UINT32_MAX : (uint32_t)p->nverts;
    r->attempts = p->attempts;
    r->solve_us = ph_time_us() - p->start_us;
    r->table_bytes = ((uint64_t)p->nbuckets + 1) * sizeof *p->buckets + p->nverts * 4u;
}

/* p, unlinked from its job, is done with: freed now, or, while writer
 * threads still have it (a group's check writing into its values file, a
 * progress record), kept among the orphans for the last of them to free
 * (part_back_closed). */
static void part_drop(coord *c, coord_part *p)
{
    if (p->checking) {
        p->closed = true;
        p->next = c->part_orphans;
        c->part_orphans = p;
    } else {
        coord_part_free(p);
    }
}

/* The file's final result: the part is closed (temporary removed unless
 * it was renamed) and its task settled. */
void coord_part_close(coord *c, coord_job *j, coord_part *p, int status, const char *error)
{
    uint64_t t = p->task;
    ph_msg_result r;
    part_row(p, &r);
    part_release_groups(c, p);
    part_unlink(j, p);
    j->inflight--;
    j->tasks[t].part = false;
    ph_log_info("coord", "job=%s file=%s status=%s ms=%" PRIu64 " open_ms=%" PRIu64
                " open_cpu_ms=%" PRIu64 " send_ms=%" PRIu64 " check_ms=%" PRIu64
                " check_cpu_ms=%" PRIu64 " finish_ms=%" PRIu64
                " groups=%u resumed=%u solved=%u msg=\"partitioned table closed\"", j->token,
                j->tasks[t].file, status ? ph_err_name(status) : "ok", r.solve_us / 1000,
                p->open_us / 1000, p->open_cpu_us / 1000, p->send_us / 1000, p->check_us / 1000,
                p->check_cpu_us / 1000, p->finish_us / 1000, p->ngroups, p->resumed.groups,
                p->ndone - p->resumed.groups);
    part_drop(c, p);
    coord_task_settle(c, j, t, coord_job_jw(j, NULL), status ? NULL : &r, status, error);
}

/* The build came back (on the loop): its groups go out, or the file fails. */
static void part_opened(coord *c, coord_wjob *wj)
{
    coord_part *p = wj->part;
    coord_job *j = coord_job_by_id(&c->jobs, wj->job_id);
    p->opening = false;
    if (!j || j->state != PH_JOB_RUNNING) { /* cannot happen: its task is running */
        coord_part_free(p);
        coord_wjob_free(wj);
        return;
    }
    if (j->cancel) { /* cancelled while it was being built: never sent */
        uint64_t t = p->task;
        part_unlink(j, p);
        j->inflight--;
        j->tasks[t].part = false;
        coord_part_free(p);
        coord_wjob_free(wj);
        coord_task_dropped(c, j, t);
        return;
    }
    if (wj->status) {
        coord_part_close(c, j, p, wj->status, wj->err.msg);
        coord_wjob_free(wj);
        return;
    }
    j->parts_total += p->ngroups;
    j->parts_done += p->resumed.groups;
    if (p->resumed.note[0] && p->save)
        ph_log_warn("coord", "job=%s file=%s msg=\"saved assembly not used (%s): solved from "
                    "the start\"", j->token, j->tasks[p->task].file, p->resumed.note);
    else if (p->resumed.note[0])
        ph_log_warn("coord", "job=%s file=%s msg=\"values file left alone (%s): a one-off "
                    "temporary, not resumable\"", j->token, j->tasks[p->task].file,
                    p->resumed.note);
    else if (p->resumable && !p->save)
        ph_log_info("coord", "job=%s file=%s msg=\"values file held by another assembly of "
                    "the table: a one-off temporary, not resumable\"", j->token,
                    j->tasks[p->task].file);
    ph_log_info("coord", "job=%s file=%s keys=%u buckets=%u groups=%u resumed=%u ms=%" PRIu64
                " values_io=%s msg=\"partitioned table opened\"", j->token,
                j->tasks[p->task].file, p->km.n, p->nbuckets, p->ngroups, p->resumed.groups,
                p->open_us / 1000, p->pv ? "direct" : "cached");
    coord_wjob_free(wj);
    if (p->ndone == p->ngroups) /* every group was in before a restart */
        part_complete(c, j, p);
}

void coord_part_done(coord *c, coord_wjob *wj)
{
    if (wj->run == part_build_run)
        part_opened(c, wj);
    else if (wj->run == part_save_run)
        part_saved(c, wj);
    else if (wj->run == coord_part_finish_run)
        coord_part_finished(c, wj);
    else
        group_checked(c, wj);
}

void coord_part_orphans_free(coord *c)
{
    while (c->part_orphans) {
        coord_part *p = c->part_orphans;
        c->part_orphans = p->next;
        coord_part_free(p);
    }
}

/* A closed part whose last check came back. */
static void orphan_release(coord *c, coord_part *p)
{
    for (coord_part **q = &c->part_orphans; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            break;
        }
    coord_part_free(p);
}

/* A writer job wj of its part came back (its count in checking already
 * taken off): when the part was closed meanwhile, wj is freed, the part
 * too if this was the last, and true says there is nothing more to do. */
static bool part_back_closed(coord *c, coord_wjob *wj)
{
    coord_part *p = wj->part;
    if (!p->closed)
        return false;
    if (p->checking == 0)
        orphan_release(c, p);
    coord_wjob_free(wj);
    return true;
}

void coord_part_abandon(coord_job *j)
{
    while (j->parts) {
        coord_part *p = j->parts;
        j->parts = p->next;
        /* The coordinator stops (the writer pool has): with a progress
         * record the values stay for the restart, and the groups in since
         * the last record go into one more. */
        if (p->save) {
            p->keep = true;
            ph_err err = {0};
            if (!p->opening && p->ndone > coord_psave_saved(p->save) &&
                coord_psave_snapshot(p->save, p->groups, p->buckets, &err) == PH_OK)
                coord_psave_written(p->save, coord_psave_write(p->save, p->vfd, p->dirfd,
                                                               &err) == PH_OK);
        }
        coord_part_free(p);
    }
}

/* Tell every worker holding a group of p to stop it (one CANCEL_TASK per
 * group: the worker stops all groups of the task on the first). */
static void part_cancel_groups(coord *c, const coord_job *j, const coord_part *p)
{
    for (uint32_t g = 0; g < p->ngroups; g++) {
        const coord_pgroup *pg = &p->groups[g];
        coord_worker *w = pg->state == TASK_RUNNING ? coord_worker_by_serial(c, pg->worker)
                                                    : NULL;
        if (!w)
            continue;
        ph_msg m = {.type = PH_MSG_CANCEL_TASK};
        m.u.cancel_task.job_id = j->id;
        m.u.cancel_task.task_id = p->task;
        ph_err err = {0};
        if (ph_wire_send(c->sock, w->ident, w->ident_len, &m, &err) != 0)
            ph_log_warn("coord", "job=%s worker=%s msg=\"CANCEL_TASK not sent: %s\"",
                        j->token, w->id, err.msg);
    }
}

uint64_t coord_part_cancel(coord *c, coord_job *j)
{
    uint64_t n = 0;
    for (coord_part **q = &j->parts; *q;) {
        coord_part *p = *q;
        if (p->opening) { /* a writer thread builds it: part_opened drops it */
            q = &p->next;
            continue;
        }
        *q = p->next;
        part_cancel_groups(c, j, p);
        part_release_groups(c, p); /* their answers will be stale */
        j->inflight--;
        j->tasks[p->task].part = false;
        coord_job_drop_task(j, p->task);
        part_drop(c, p);
        n++;
    }
    return n;
}

/* ---- groups --------------------------------------------------------------- */

static coord_part *part_of(const coord_job *j, uint64_t task)
{
    for (coord_part *p = j->parts; p; p = p->next)
        if (p->task == task && !p->opening)
            return p;
    return NULL;
}

static int32_t next_queued(coord_part *p)
{
    for (uint32_t k = 0; k < p->ngroups; k++) {
        uint32_t g = (p->cursor + k) % p->ngroups;
        if (p->groups[g].state == TASK_QUEUED) {
            p->cursor = g + 1;
            return (int32_t)g;
        }
    }
    return -1;
}

bool coord_part_pending(const coord_job *j)
{
    if (j->state != PH_JOB_RUNNING || j->cancel)
        return false;
    for (const coord_part *p = j->parts; p; p = p->next)
        if (!p->opening && p->ndone < p->ngroups && !part_held(p))
            for (uint32_t g = 0; g < p->ngroups; g++)
                if (p->groups[g].state == TASK_QUEUED)
                    return true;
    return false;
}

static int send_group(coord *c, coord_job *j, coord_part *p, uint32_t g, coord_worker *w,
                      ph_err *err)
{
    coord_pgroup *pg = &p->groups[g];
    uint64_t lo = p->start[pg->b_lo], hi = p->start[pg->b_lo + pg->ngroup];
    uint32_t k = (uint32_t)(hi - lo);
    uint32_t *counts = malloc((size_t)pg->ngroup * 4);
    if (!counts) {
        ph_log_error("coord", "job=%s msg=\"out of memory for a group\"", j->token);
        return PH_OK; /* stays queued */
    }
    for (uint32_t b = 0; b < pg->ngroup; b++)
        counts[b] = (uint32_t)(p->start[pg->b_lo + b + 1] - p->start[pg->b_lo + b]);
    ph_msg m = {.type = PH_MSG_PART_TASK};
    ph_msg_part_task *pt = &m.u.part_task;
    *pt = (ph_msg_part_task){.job_id = j->id, .task_id = p->task, .group = g,
                             .name = ph_bytes_str(p->name), .table_seed = p->table_seed,
                             .nkeys = p->km.n, .nbuckets = p->nbuckets, .bucket_lo = pg->b_lo,
                             .key_size = p->key_size,
                             .counts = {(const char *)counts, pg->ngroup * 4u},
                             .keys = {(const char *)p->keys + lo * p->key_size,
                                      k * p->key_size},
                             .positions = {(const char *)(p->pos + lo), k * 4u}};
    int rc = ph_wire_send(c->sock, w->ident, w->ident_len, &m, err);
    free(counts);
    if (rc) {
        if (rc == PH_EBUSY) {
            w->blocked = true;
            return PH_OK;
        }
        return rc;
    }
    pg->state = TASK_RUNNING;
    pg->worker = w->serial;
    pg->sent_ms = w->last_task_ms = coord_now_ms();
    pg->progress_ms = pg->sent_ms;
    pg->steps = 0;
    pg->bytes = k * 8u;
    coord_worker_charge(w, pg->bytes);
    return PH_OK;
}

int coord_part_send(coord *c, coord_job *j, coord_worker *w, ph_err *err)
{
    for (coord_part *p = j->parts; p; p = p->next) {
        int32_t g = p->opening || part_held(p) ? -1 : next_queued(p);
        if (g < 0)
            continue;
        uint64_t t0 = ph_time_us();
        int rc = send_group(c, j, p, (uint32_t)g, w, err);
        p->send_us += ph_time_us() - t0;
        return rc;
    }
    return PH_OK;
}

/* Group g comes back to the queue (its worker lost, or too slow); the file
 * fails once a group has been taken back max_tries times.  false when the
 * file failed (p is gone). */
static bool group_taken_back(coord *c, coord_job *j, coord_part *p, uint32_t g, int code,
                             const char *why)
{
    coord_pgroup *pg = &p->groups[g];
    pg->state = TASK_QUEUED;
    pg->worker = 0;
    if (pg->tries < UINT8_MAX)
        pg->tries++;
    if (pg->tries < c->max_tries)
        return true;
    char msg[512];
    snprintf(msg, sizeof msg, "%s: buckets %u-%u: %s %u times; given up", j->tasks[p->task].file,
             pg->b_lo, pg->b_lo + pg->ngroup - 1, why, pg->tries);
    coord_part_close(c, j, p, code, msg);
    return false;
}

/* What each_running_group does with running group g of p (task of job
 * j): false when that closed p (the table failed), which ends the walk
 * of p. */
typedef bool (*group_fn)(coord *c, coord_job *j, coord_part *p, uint32_t g, void *ctx);

/* fn on every running group of every open part of the running jobs from
 * jobs.v[first] on.  The part after p is taken before fn may close p, and
 * a job that stopped running meanwhile (its last part failed) is left. */
static void each_running_group(coord *c, size_t first, group_fn fn, void *ctx)
{
    for (size_t k = first; k < c->jobs.n; k++) {
        coord_job *j = c->jobs.v[k];
        coord_part *p = j->state == PH_JOB_RUNNING ? j->parts : NULL;
        while (p) {
            coord_part *next = p->next;
            for (uint32_t g = 0; !p->opening && g < p->ngroups; g++)
                if (p->groups[g].state == TASK_RUNNING && !fn(c, j, p, g, ctx))
                    break;
            p = j->state == PH_JOB_RUNNING ? next : NULL;
        }
    }
}

typedef struct take_back_walk {
    const coord_worker *w; /* the lost worker */
    uint64_t n;            /* its groups taken back */
} take_back_walk;

static bool take_back_group(coord *c, coord_job *j, coord_part *p, uint32_t g, void *ctx)
{
    take_back_walk *tb = ctx;
    if (p->groups[g].worker != tb->w->serial)
        return true;
    tb->n++;
    return group_taken_back(c, j, p, g, PH_ECLOSED, "its worker was lost");
}

uint64_t coord_part_take_back(coord *c, coord_worker *w)
{
    take_back_walk tb = {.w = w};
    each_running_group(c, 0, take_back_group, &tb);
    return tb.n;
}

typedef struct expire_walk {
    uint64_t now, limit; /* ms */
} expire_walk;

static bool expire_group(coord *c, coord_job *j, coord_part *p, uint32_t g, void *ctx)
{
    const expire_walk *ew = ctx;
    coord_pgroup *pg = &p->groups[g];
    if (ew->now - pg->sent_ms <= ew->limit)
        return true;
    coord_worker *w = coord_worker_by_serial(c, pg->worker);
    if (w)
        coord_worker_release_bytes(w, pg->bytes);
    ph_log_warn("coord", "job=%s file=%s group=%u worker=%s msg=\"group timed out\"", j->token,
                j->tasks[p->task].file, g, w ? w->id : "?");
    char why[64];
    snprintf(why, sizeof why, "timed out after %llu ms", (unsigned long long)ew->limit);
    return group_taken_back(c, j, p, g, PH_ETIMEOUT, why);
}

void coord_part_expire(coord *c, uint64_t now, uint64_t limit)
{
    expire_walk ew = {.now = now, .limit = limit};
    each_running_group(c, 0, expire_group, &ew);
}

bool coord_part_progress(coord *c, coord_worker *w, const ph_group_progress *e, uint64_t now)
{
    coord_job *j = coord_job_by_id(&c->jobs, e->job_id);
    coord_part *p = j && j->state == PH_JOB_RUNNING ? part_of(j, e->task_id) : NULL;
    coord_pgroup *pg = p && e->group < p->ngroups ? &p->groups[e->group] : NULL;
    if (!pg || pg->state != TASK_RUNNING || pg->worker != w->serial)
        return false;
    if (e->steps > pg->steps) {
        pg->steps = e->steps;
        pg->progress_ms = now;
        w->advance_ms = now;
    }
    return true;
}

/* Does w hold a running group of p other than g? */
static bool holds_other_group(const coord_part *p, uint32_t g, const coord_worker *w)
{
    for (uint32_t i = 0; i < p->ngroups; i++)
        if (i != g && p->groups[i].state == TASK_RUNNING && p->groups[i].worker == w->serial)
            return true;
    return false;
}

/* Group g of p, held by w, is stalled: taken back like a timed-out one.
 * false when the file failed (p is gone). */
static bool group_stalled(coord *c, coord_job *j, coord_part *p, uint32_t g, coord_worker *w,
                          uint64_t quiet)
{
    coord_pgroup *pg = &p->groups[g];
    /* CANCEL_TASK stops every group of the task at w: only when this is
     * the one it holds (a stuck solve may not listen anyway). */
    if (!holds_other_group(p, g, w))
        coord_reply_cancel_task(c, w, j->id, p->task);
    coord_worker_release_bytes(w, pg->bytes);
    if (pg->steps > 0)
        w->stuck++; /* its thread stays busy; the next PROGRESS recounts */
    j->stalls++;
    ph_log_warn("coord", "job=%s file=%s group=%u worker=%s node=%s steps=%" PRIu64
                " quiet_ms=%" PRIu64 " msg=\"group stalled; taken back\"", j->token,
                j->tasks[p->task].file, g, w->id, w->node, pg->steps, quiet);
    char why[96];
    snprintf(why, sizeof why, "stalled (no progress for %" PRIu64 " ms)", quiet);
    return group_taken_back(c, j, p, g, PH_ETIMEOUT, why);
}

static bool stall_group(coord *c, coord_job *j, coord_part *p, uint32_t g, void *ctx)
{
    uint64_t now = *(const uint64_t *)ctx;
    coord_pgroup *pg = &p->groups[g];
    coord_worker *w = coord_worker_by_serial(c, pg->worker);
    if (!w || !w->reports_progress)
        return true;
    uint64_t since = coord_stall_quiet_since(w, pg->steps, pg->progress_ms);
    uint64_t quiet = now > since ? now - since : 0;
    uint64_t limit = coord_stall_limit_ms(c->opts, pg->bytes / 8u);
    if (quiet >= limit && c->opts->stall_ms != 0)
        return group_stalled(c, j, p, g, w, quiet);
    if (quiet >= (limit < COORD_STALL_SHOW_MS ? limit : COORD_STALL_SHOW_MS))
        j->stalled++;
    return true;
}

void coord_part_stall(coord *c, uint64_t now)
{
    each_running_group(c, c->first_live, stall_group, &now);
}

/* Check a group's answer against what was sent, then place it: the
 * values go from the frame to their offset in the values file. */
static int group_place(coord_part *p, coord_pgroup *pg, const ph_msg_part_result *r,
                       ph_err *err)
{
    uint64_t lo = p->start[pg->b_lo];
    ph_part_group g = {.table_seed = p->table_seed, .nkeys = p->km.n, .nbuckets = p->nbuckets,
                       .bucket_lo = pg->b_lo, .ngroup = pg->ngroup,
                       .keys = (const char *)p->keys + lo * p->key_size, .key_size = p->key_size,
                       .pos = p->pos + lo};
    uint32_t *counts = malloc((size_t)pg->ngroup * 4);
    if (!counts)
        return ph_err_set(err, PH_ENOMEM, "out of memory checking a group");
    uint64_t nv = 0;
    for (uint32_t b = 0; b < pg->ngroup; b++) {
        counts[b] = (uint32_t)(p->start[pg->b_lo + b + 1] - p->start[pg->b_lo + b]);
        nv += ph_part_bucket_nverts(counts[b]);
    }
    g.counts = counts;
    int rc = PH_OK;
    if (r->seeds.n != pg->ngroup * 4u || r->values.n != nv * 4)
        rc = ph_err_set(err, PH_EPROTO, "PART_RESULT: %u seed and %u value bytes for a group "
                        "of %u buckets and %" PRIu64 " vertices", r->seeds.n, r->values.n,
                        pg->ngroup, nv);
    uint32_t seed = 0;
    ph_err why = {0}; /* keys, and seeds that fit a bucket entry */
    if (!rc && ph_part_check_group(&g, r->seeds.p, r->values.p, &why) != PH_OK)
        rc = ph_err_set(err, PH_EVERIFY, "the worker's buckets %u-%u fail verification: %s",
                        pg->b_lo, pg->b_lo + pg->ngroup - 1, why.msg);
    uint64_t voff = (p->buckets[pg->b_lo] & PH_PART_BASE_MASK) * 4;
    if (!rc && coord_pvals_write(p->pv, p->vfd, r->values.p, (size_t)nv * 4, voff) != 0)
        rc = ph_err_set(err, PH_EIO, "cannot write the table's values: %s", strerror(errno));
#ifdef SYNC_FILE_RANGE_WRITE
    /* Written through the page cache, their write-back starts now, in the
     * background, so the sync once every group is in waits for the last
     * groups only, not for the whole file (the table's last, serial step).
     * Advice: the sync still checks that all of it reached the disk. */
    if (!rc && !p->pv)
        (void)sync_file_range(p->vfd, (off_t)voff, (off_t)nv * 4, SYNC_FILE_RANGE_WRITE);
#endif
    if (!rc)
        coord_psave_group(p->save, (uint32_t)(pg - p->groups), r->values.p, (size_t)nv * 4,
                          r->attempts, r->max_bucket_attempts);
    for (uint32_t i = 0; !rc && i < pg->ngroup; i++) {
        memcpy(&seed, r->seeds.p + 4 * (size_t)i, 4); /* little-endian host */
        p->buckets[pg->b_lo + i] =
            ph_part_entry(p->buckets[pg->b_lo + i] & PH_PART_BASE_MASK, seed);
    }
    free(counts);
    return rc;
}

/* Every group is in and nothing of p is on a writer thread (a record
 * being written is waited for: it must not outlive the table): the table
 * is written (on a writer thread) and the file settled. */
static void part_complete(coord *c, coord_job *j, coord_part *p)
{
    if (p->ndone < p->ngroups || p->checking)
        return;
    coord_part_finish_start(c, j, p);
}

static int part_save_run(coord_wjob *wj)
{
    coord_part *p = wj->part;
    return coord_psave_write(p->save, p->vfd, p->dirfd, &wj->err);
}

/* The test hold (PH_TEST_PART_HOLD): no more groups go out once hold
 * groups have been sent. */
static bool part_held(const coord_part *p)
{
    if (p->hold == 0)
        return false;
    uint32_t out = 0;
    for (uint32_t g = 0; g < p->ngroups; g++)
        out += p->groups[g].state != TASK_QUEUED;
    return out >= p->hold;
}

/* Groups came in since the last progress record: the next one goes to a
 * writer thread (one at a time; the groups that come in meanwhile go into
 * the one after).  A full pool skips it: the next group tries again.
 * Without a pool (--writers 0) the loop writes it. */
static void part_save(coord *c, coord_job *j, coord_part *p)
{
    if (!coord_psave_due(p->save, p->ndone))
        return;
    ph_err err = {0};
    coord_wjob *wj = coord_part_wjob(j->id, p->task, p, part_save_run);
    if (!wj || coord_psave_snapshot(p->save, p->groups, p->buckets, &err) != PH_OK) {
        coord_wjob_free(wj);
        return;
    }
    p->checking++;
    if (coord_writer_submit(c->writer, wj))
        return;
    if (!c->writer) { /* --writers 0: the loop writes everything itself */
        wj->status = part_save_run(wj);
        part_saved(c, wj);
        return;
    }
    p->checking--;
    coord_psave_written(p->save, false);
    coord_wjob_free(wj);
}

/* A progress record was written (or not): the table may be complete, or
 * held for a test. */
static void part_saved(coord *c, coord_wjob *wj)
{
    coord_part *p = wj->part;
    p->checking--;
    coord_psave_written(p->save, wj->status == PH_OK);
    if (part_back_closed(c, wj))
        return;
    coord_job *j = coord_job_by_id(&c->jobs, wj->job_id);
    if (wj->status)
        ph_log_warn("coord", "job=%s file=%s msg=\"progress record not written (a restart "
                    "would solve the table again): %s\"", j->token, j->tasks[p->task].file,
                    wj->err.msg);
    coord_wjob_free(wj);
    if (p->hold && !p->held && part_held(p) && p->checking == 0 &&
        coord_psave_saved(p->save) == p->ndone) {
        bool idle = true;
        for (uint32_t g = 0; g < p->ngroups; g++)
            idle = idle && p->groups[g].state != TASK_RUNNING;
        if (idle) {
            p->held = true;
            ph_log_info("coord", "job=%s file=%s saved=%u groups=%u msg=\"test hold reached\"",
                        j->token, j->tasks[p->task].file, p->ndone, p->ngroups);
        }
    }
    if (p->ndone < p->ngroups)
        part_save(c, j, p);
    else
        part_complete(c, j, p);
}

/* What follows a group's final answer on the loop: rc 0 and it counts,
 * else the table fails. */
static void group_settle(coord *c, coord_job *j, coord_part *p, coord_pgroup *pg,
                         const ph_msg_part_result *r, int rc, const char *error)
{
    pg->worker = 0;
    pg->state = TASK_DONE;
    if (rc) { /* a group that fails fails its table: the seeds are deterministic */
        coord_part_close(c, j, p, rc, error);
        return;
    }
    p->ndone++;
    j->parts_done++;
    p->attempts += r->attempts;
    if (r->max_bucket_attempts > p->max_bucket_attempts)
        p->max_bucket_attempts = r->max_bucket_attempts;
    if (p->ndone < p->ngroups)
        part_save(c, j, p);
    else
        part_complete(c, j, p);
}

/* On a writer thread: the group's keys and the table's values file are
 * the part's; the loop leaves a group being checked (TASK_WRITING) alone. */
static int group_check_run(coord_wjob *wj)
{
    coord_part *p = wj->part;
    uint64_t t0 = ph_time_us(), cpu0 = ph_time_thread_cpu_us();
    int rc = group_place(p, &p->groups[wj->group], &wj->msg.u.part_result, &wj->err);
    wj->check_us = ph_time_us() - t0;
    wj->check_cpu_us = ph_time_thread_cpu_us() - cpu0;
    return rc;
}

static void group_checked(coord *c, coord_wjob *wj)
{
    coord_part *p = wj->part;
    p->checking--;
    p->check_us += wj->check_us;
    p->check_cpu_us += wj->check_cpu_us;
    if (part_back_closed(c, wj))
        return;
    coord_job *j = coord_job_by_id(&c->jobs, wj->job_id);
    char error[600] = "";
    if (wj->status)
        snprintf(error, sizeof error, "%s: %s", j->tasks[p->task].file, wj->err.msg);
    group_settle(c, j, p, &p->groups[wj->group], &wj->msg.u.part_result, wj->status, error);
    coord_wjob_free(wj);
}

void coord_on_part_result(coord *c, coord_worker *w, zmq_msg_t *frame, ph_msg *m)
{
    const ph_msg_part_result *r = &m->u.part_result;
    coord_job *j = coord_job_by_id(&c->jobs, r->job_id);
    coord_part *p = j && j->state == PH_JOB_RUNNING ? part_of(j, r->task_id) : NULL;
    coord_pgroup *pg = p && r->group < p->ngroups ? &p->groups[r->group] : NULL;
    /* PH_ECANCELED is the answer to our CANCEL_TASK (a cancelled job, or
     * a stalled group), never the current copy's result. */
    if (!pg || pg->state != TASK_RUNNING || pg->worker != w->serial ||
        r->status == PH_ECANCELED) {
        if (r->status == PH_ECANCELED)
            ph_log_debug("coord", "worker=%s job=%" PRIu64 " task=%" PRIu64 " group=%u "
                         "msg=\"cancelled group answered\"", w->id, r->job_id, r->task_id,
                         r->group);
        else
            ph_log_warn("coord", "worker=%s job=%" PRIu64 " task=%" PRIu64 " group=%u "
                        "msg=\"stale group result discarded\"", w->id, r->job_id,
                        r->task_id, r->group);
        return;
    }
    coord_worker_pace(w);
    coord_worker_release_bytes(w, pg->bytes);
    if (r->status) {
        w->failed++;
        char error[600];
        snprintf(error, sizeof error, "%.*s", (int)(r->error.n < 500 ? r->error.n : 500),
                 r->error.p);
        group_settle(c, j, p, pg, r, r->status, error);
        return;
    }
    w->done++;
    /* The check and the write of the values go to the writer pool with the
     * frame they read from; the loop goes back to sending groups. */
    coord_wjob *wj = coord_part_wjob(j->id, p->task, p, group_check_run);
    if (!wj) {
        group_settle(c, j, p, pg, r, PH_ENOMEM, "out of memory for a group's check");
        return;
    }
    wj->worker = w->serial;
    wj->group = r->group;
    zmq_msg_move(&wj->frame, frame);
    wj->msg = *m;           /* views into the frame */
    c->taken = true;        /* recv_one must not free either */
    pg->state = TASK_WRITING;
    p->checking++;
    if (coord_writer_submit(c->writer, wj))
        return;
    wj->status = group_check_run(wj);
    group_checked(c, wj);
}
