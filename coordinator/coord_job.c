/* coord_job.c - jobs: directory walk, task queue, results, completion.
 *
 * A bulk job knows only file NAMES until a task is dispatched: the bytes of a
 * keys file are read when its TASK is sent (coord.c), so 100k files cost
 * about one short string and one results row each, not their contents. */
#include "coord_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "ph_fs.h"
#include "ph_log.h"
#include "ph_solver.h"
#include "ph_time.h"

#define COORD_PATH_MAX 4096

static void make_token(char out[17], uint64_t id)
{
    uint64_t r = 0;
    /* A token names a job to any shell that holds it; random so that one
     * job's token cannot be guessed from another's. */
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = ph_time_ns() ^ (id * 0x9E3779B97F4A7C15ull) ^ (uint64_t)time(NULL) << 20;
    snprintf(out, 17, "%016" PRIx64, r);
}

static int opts_from_msg(coord_job *j, const ph_opts *o, ph_err *err)
{
    char hash[16] = "auto";
    if (o->hash.n > 0 && ph_bytes_cstr(o->hash, hash, sizeof hash, err) != 0)
        return ph_err_set(err, PH_EINVAL, "hash: name too long");
    if (ph_hash_parse(hash) < 0)
        return ph_err_set(err, PH_EINVAL, "hash: unknown family '%s' (auto, mulshift, mulrot, mix)",
                          hash);
    memcpy(j->hash, hash, sizeof j->hash);
    j->compact = o->compact;
    j->threads = o->threads;
    j->seed = o->seed;
    return PH_OK;
}

static int add_job(coord *c, coord_job *j, ph_err *err)
{
    if (c->njobs == c->capjobs) {
        size_t cap = c->capjobs ? 2 * c->capjobs : 16;
        coord_job **p = realloc(c->jobs, cap * sizeof *p);
        if (!p)
            return ph_err_set(err, PH_ENOMEM, "job table: out of memory");
        c->jobs = p;
        c->capjobs = cap;
    }
    j->id = c->njobs + 1;
    make_token(j->token, j->id);
    j->start_us = ph_time_us();
    j->first_error_index = UINT64_MAX;
    c->jobs[c->njobs++] = j;
    int rc = coord_journal_job(c, j, err);
    if (rc)
        c->njobs--; /* not accepted: the caller frees it */
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.keys entry except directories becomes a task: a FIFO, device,
 * socket or dangling symlink then gets a refusing row in results.csv (the
 * read checks the type without blocking) instead of vanishing silently. */
static bool is_keys_file(int dfd, const struct dirent *de)
{
    size_t n = strlen(de->d_name);
    if (n <= 5 || strcmp(de->d_name + n - 5, ".keys") != 0)
        return false;
    if (de->d_type == DT_DIR)
        return false;
    if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
        return true;
    struct stat st;
    return fstatat(dfd, de->d_name, &st, 0) != 0 || !S_ISDIR(st.st_mode);
}

/* Sorted names of the regular *.keys files in dir. */
static int list_keys(const char *dir, char ***names, size_t *count, ph_err *err)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return ph_err_set(err, PH_EINVAL, "%s: cannot open directory: %s", dir, strerror(errno));
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = PH_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_keys_file(dirfd(d), de))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **p = realloc(v, cap * sizeof *p);
            if (!p) {
                rc = ph_err_set(err, PH_ENOMEM, "%s: out of memory listing files", dir);
                break;
            }
            v = p;
        }
        if (!(v[n] = strdup(de->d_name))) {
            rc = ph_err_set(err, PH_ENOMEM, "%s: out of memory listing files", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return PH_OK;
}

static int alloc_tasks(coord_job *j, uint64_t n, ph_err *err)
{
    j->total = n;
    if (n == 0)
        return PH_OK;
    j->tasks = calloc(n, sizeof *j->tasks);
    j->rows = calloc(n, sizeof *j->rows);
    if (!j->tasks || !j->rows)
        return ph_err_set(err, PH_ENOMEM, "job: out of memory for %" PRIu64 " tasks", n);
    return PH_OK;
}

static coord_job *job_new(bool is_create)
{
    coord_job *j = calloc(1, sizeof *j);
    if (j)
        j->is_create = is_create;
    return j;
}

int coord_job_bulk(coord *c, const ph_msg_submit_bulk *m, coord_job **out, ph_err *err)
{
    char raw[COORD_PATH_MAX], dir[COORD_PATH_MAX], out_dir[COORD_PATH_MAX];
    *out = NULL;
    if (ph_bytes_cstr(m->dir, raw, sizeof raw, err) || !raw[0])
        return ph_err_set(err, PH_EINVAL, "SUBMIT_BULK.dir: empty or invalid path");
    int rc = coord_check_path(c, "input directory", raw, dir, sizeof dir, err);
    if (rc)
        return rc;
    if (ph_bytes_cstr(m->out_dir, raw, sizeof raw, err) || !raw[0])
        return ph_err_set(err, PH_EINVAL, "SUBMIT_BULK.out_dir: empty or invalid path");
    if ((rc = coord_check_path(c, "output directory", raw, out_dir, sizeof out_dir, err)) != 0)
        return rc;
    coord_job *j = job_new(false);
    if (!j)
        return ph_err_set(err, PH_ENOMEM, "job: out of memory");
    char **names = NULL;
    size_t n = 0;
    rc = opts_from_msg(j, &m->opts, err);
    if (!rc)
        rc = list_keys(dir, &names, &n, err);
    if (!rc && n > 0)
        rc = ph_fs_mkdirs(out_dir, err);
    if (!rc)
        rc = alloc_tasks(j, n, err);
    if (!rc && (!(j->dir = strdup(dir)) || !(j->out_dir = strdup(out_dir))))
        rc = ph_err_set(err, PH_ENOMEM, "job: out of memory");
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        coord_job_free(j);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        j->tasks[i].file = names[i]; /* ownership moves to the task */
    free(names);
    if ((rc = add_job(c, j, err)) != 0) {
        coord_job_free(j);
        return rc;
    }
    if (n == 0) {
        j->state = PH_JOB_NO_KEYS;
        j->end_us = j->start_us;
    }
    *out = j;
    return PH_OK;
}

int coord_job_create(coord *c, const ph_msg_submit_create *m, coord_job **out, ph_err *err)
{
    char name[200], raw[COORD_PATH_MAX], out_dir[COORD_PATH_MAX];
    *out = NULL;
    if (ph_bytes_cstr(m->name, name, sizeof name, err) || !name[0] || strchr(name, '/') ||
        !strcmp(name, ".") || !strcmp(name, ".."))
        return ph_err_set(err, PH_EINVAL, "SUBMIT_CREATE.name: empty, too long or not a plain "
                          "file name");
    if (ph_bytes_cstr(m->out_dir, raw, sizeof raw, err) || !raw[0])
        return ph_err_set(err, PH_EINVAL, "SUBMIT_CREATE.out_dir: empty or invalid path");
    int rc0 = coord_check_path(c, "output directory", raw, out_dir, sizeof out_dir, err);
    if (rc0)
        return rc0;
    coord_job *j = job_new(true);
    if (!j)
        return ph_err_set(err, PH_ENOMEM, "job: out of memory");
    int rc = opts_from_msg(j, &m->opts, err);
    if (!rc)
        rc = ph_fs_mkdirs(out_dir, err);
    if (!rc)
        rc = alloc_tasks(j, 1, err);
    if (!rc) {
        j->out_dir = strdup(out_dir);
        /* The row names the keys file as a bulk job would; TASK sends the
         * bare table name (send_task strips ".keys" for create jobs too). */
        j->tasks[0].file = malloc(strlen(name) + sizeof ".keys");
        if (j->tasks[0].file)
            sprintf(j->tasks[0].file, "%s.keys", name);
        j->keys = malloc(m->keys.n ? m->keys.n : 1);
        if (!j->out_dir || !j->tasks[0].file || !j->keys)
            rc = ph_err_set(err, PH_ENOMEM, "job: out of memory");
    }
    if (!rc) {
        memcpy(j->keys, m->keys.p, m->keys.n);
        j->keys_len = m->keys.n;
        rc = add_job(c, j, err);
    }
    if (rc) {
        coord_job_free(j);
        return rc;
    }
    *out = j;
    return PH_OK;
}

coord_job *coord_job_by_token(coord *c, ph_bytes token)
{
    if (token.n != 16)
        return NULL;
    for (size_t i = c->njobs; i-- > 0;)
        if (!memcmp(c->jobs[i]->token, token.p, 16))
            return c->jobs[i];
    return NULL;
}

coord_job *coord_job_by_id(coord *c, uint64_t id)
{
    return id >= 1 && id <= c->njobs ? c->jobs[id - 1] : NULL;
}

bool coord_job_pending(const coord_job *j)
{
    return j->state == PH_JOB_RUNNING && (j->rq_len > 0 || j->next < j->total);
}

uint64_t coord_job_take(coord_job *j)
{
    if (j->rq_len > 0) {
        uint64_t t = j->requeue[j->rq_head];
        j->rq_head = (j->rq_head + 1) % j->rq_cap;
        j->rq_len--;
        return t;
    }
    return j->next++;
}

void coord_job_requeue(coord_job *j, uint64_t task)
{
    if (j->rq_len == j->rq_cap) {
        /* Grow the ring, unrolling it so rq_head becomes 0.  The ring can
         * never exceed total entries, so on allocation failure we fall back
         * to a full-size ring sized once. */
        size_t cap = j->rq_cap ? 2 * j->rq_cap : 64;
        if (cap > j->total)
            cap = (size_t)j->total;
        uint64_t *p = malloc(cap * sizeof *p);
        if (!p) {
            ph_log_error("coord", "job=%s msg=\"out of memory requeueing a task\"", j->token);
            abort();
        }
        for (size_t i = 0; i < j->rq_len; i++)
            p[i] = j->requeue[(j->rq_head + i) % j->rq_cap];
        free(j->requeue);
        j->requeue = p;
        j->rq_cap = cap;
        j->rq_head = 0;
    }
    j->requeue[(j->rq_head + j->rq_len) % j->rq_cap] = task;
    j->rq_len++;
    coord_task *t = &j->tasks[task];
    t->state = TASK_QUEUED;
    t->worker = 0;
    free(t->keys); /* read again when sent again: the file may have been fixed */
    t->keys = NULL;
}

/* A zeroed new entry at the end of j->jw, or NULL when out of memory. */
static coord_jw *jw_push(coord_job *j)
{
    if (j->njw == j->capjw) {
        size_t cap = j->capjw ? 2 * j->capjw : 8;
        coord_jw *p = realloc(j->jw, cap * sizeof *p);
        if (!p)
            return NULL;
        j->jw = p;
        j->capjw = cap;
    }
    coord_jw *e = &j->jw[j->njw++];
    memset(e, 0, sizeof *e);
    return e;
}

coord_jw *coord_job_jw(coord_job *j, const coord_worker *w)
{
    uint64_t serial = w ? w->serial : 0;
    for (size_t i = 0; i < j->njw; i++)
        if (j->jw[i].worker == serial)
            return &j->jw[i];
    coord_jw *e = jw_push(j);
    if (!e)
        return NULL;
    e->worker = serial;
    /* Tasks that fail before reaching any worker (unreadable file) are
     * counted on a pseudo node so per-node sums still equal the total. */
    snprintf(e->node, sizeof e->node, "%s", w ? w->node : "coordinator");
    e->threads = w ? w->threads : 1;
    return e;
}

coord_jw *coord_job_jw_serial(coord_job *j, uint64_t serial)
{
    for (size_t i = 0; i < j->njw; i++)
        if (j->jw[i].worker == serial)
            return &j->jw[i];
    return NULL;
}

static void fill_row(ph_result_row *row, const char *file, const ph_msg_result *r, int status)
{
    memset(row, 0, sizeof *row);
    snprintf(row->file, sizeof row->file, "%s", file);
    if (r) {
        row->keys = r->keys;
        if (ph_bytes_cstr(r->hash, row->hash, sizeof row->hash, NULL) != 0)
            row->hash[0] = '\0';
        memcpy(row->seeds, r->seeds, sizeof row->seeds);
        row->vertices = r->vertices;
        row->attempts = r->attempts;
        row->solve_us = r->solve_us;
        row->verify_us = r->verify_us;
        row->table_bytes = r->table_bytes;
    }
    snprintf(row->status, sizeof row->status, "%s", status == 0 ? "ok" : ph_err_name(status));
}

static void free_work(coord_job *j)
{
    for (uint64_t i = 0; j->tasks && i < j->total; i++) {
        free(j->tasks[i].file);
        free(j->tasks[i].keys);
    }
    free(j->tasks);
    free(j->rows);
    free(j->requeue);
    free(j->keys);
    j->tasks = NULL;
    j->rows = NULL;
    j->requeue = NULL;
    j->keys = NULL;
    j->rq_len = j->rq_cap = j->rq_head = 0;
}

static void job_complete(coord *c, coord_job *j)
{
    ph_err err = {0};
    /* Tasks are in file-name order, so rows already are: results.csv is
     * sorted by name without a sort. */
    if (ph_results_csv_write(j->out_dir, j->rows, (size_t)j->total, &err) != 0) {
        ph_log_error("coord", "job=%s msg=\"%s\"", j->token, err.msg);
        if (!j->first_error[0])
            snprintf(j->first_error, sizeof j->first_error, "%s", err.msg);
        j->state = PH_JOB_SOME_FAILED;
    } else {
        j->state = j->failed ? PH_JOB_SOME_FAILED : PH_JOB_ALL_SUCCEEDED;
    }
    j->end_us = ph_time_us();
    for (size_t i = 0; i < j->njw; i++)
        ph_log_info("coord", "job=%s worker=%" PRIu64 " node=%s succeeded=%" PRIu64
                    " failed=%" PRIu64, j->token, j->jw[i].worker, j->jw[i].node,
                    j->jw[i].succeeded, j->jw[i].failed);
    ph_log_info("coord", "job=%s state=%u total=%" PRIu64 " failed=%" PRIu64 " ms=%" PRIu64
                " msg=\"job complete\"", j->token, j->state, j->total, j->failed,
                (j->end_us - j->start_us) / 1000);
    free_work(j);
    coord_journal_done(c, j);
    coord_notify_job(c, j);
}

void coord_job_finish_task(coord *c, coord_job *j, uint64_t task, coord_jw *jw,
                           const ph_msg_result *r, int status, const char *error)
{
    coord_task *t = &j->tasks[task];
    t->state = TASK_DONE;
    t->worker = 0;
    free(t->keys);
    t->keys = NULL;
    fill_row(&j->rows[task], t->file, r, status);
    coord_journal_task(c, j, task, jw ? jw->node : "coordinator", status, error);
    if (status == 0) {
        j->succeeded++;
        if (jw)
            jw->succeeded++;
    } else {
        j->failed++;
        if (jw)
            jw->failed++;
        /* "First" failure = first in file order, so it does not depend on
         * which worker happened to answer first. */
        if (task < j->first_error_index) {
            j->first_error_index = task;
            const char *e = error && error[0] ? error : ph_err_name(status);
            /* Most errors already name the file (or its full path). */
            if (strstr(e, t->file))
                snprintf(j->first_error, sizeof j->first_error, "%s", e);
            else
                snprintf(j->first_error, sizeof j->first_error, "%s: %s", t->file, e);
        }
    }
    /* While replaying, completion waits for coord_job_restore_finish. */
    if (j->succeeded + j->failed == j->total && !c->replaying)
        job_complete(c, j);
}

int coord_job_msg(const coord_job *j, ph_msg_job *m)
{
    memset(m, 0, sizeof *m);
    m->token = (ph_bytes){j->token, 16};
    m->state = j->state;
    m->total = j->total;
    m->running = j->inflight + j->writing;
    m->succeeded = j->succeeded;
    m->failed = j->failed;
    m->queued = j->total - m->running - j->succeeded - j->failed;
    uint64_t end = j->state == PH_JOB_RUNNING ? ph_time_us() : j->end_us;
    m->elapsed_us = end - j->start_us;
    m->first_error = ph_bytes_str(j->first_error);
    m->out_dir = ph_bytes_str(j->out_dir);
    if (j->njw == 0)
        return PH_OK;
    m->nodes = calloc(j->njw, sizeof *m->nodes);
    if (!m->nodes)
        return PH_ENOMEM;
    for (size_t i = 0; i < j->njw; i++) {
        const coord_jw *e = &j->jw[i];
        ph_node_count *nc = NULL;
        for (uint32_t k = 0; k < m->nnodes && !nc; k++)
            if (ph_bytes_eq(m->nodes[k].node, e->node))
                nc = &m->nodes[k];
        if (!nc) {
            nc = &m->nodes[m->nnodes++];
            nc->node = ph_bytes_str(e->node);
        }
        /* In flight beyond the worker's threads is prefetch: queued there. */
        uint64_t run = e->inflight < e->threads ? e->inflight : e->threads;
        nc->running += run;
        nc->queued += e->inflight - run;
        nc->succeeded += e->succeeded;
        nc->failed += e->failed;
    }
    return PH_OK;
}

void coord_job_free(coord_job *j)
{
    if (!j)
        return;
    free_work(j);
    free(j->dir);
    free(j->out_dir);
    free(j->jw);
    free(j);
}

/* ---- rebuilding from the journal (coord_journal.c) ----------------------- */

int coord_job_restore_job(coord *c, const coord_job_restore *rs)
{
    if (rs->id != c->njobs + 1 || strlen(rs->token) != 16)
        return -1;
    coord_job *j = job_new(rs->is_create);
    if (!j)
        return -1;
    ph_err err = {0};
    int rc = alloc_tasks(j, rs->nfiles, &err);
    if (!rc && rs->dir[0] && !(j->dir = strdup(rs->dir)))
        rc = -1;
    if (!rc && !(j->out_dir = strdup(rs->out_dir)))
        rc = -1;
    if (!rc && rs->is_create) {
        if (!(j->keys = malloc(rs->keys_len ? rs->keys_len : 1)))
            rc = -1;
        else {
            memcpy(j->keys, rs->keys, rs->keys_len);
            j->keys_len = rs->keys_len;
        }
    }
    if (!rc && c->njobs == c->capjobs) {
        size_t cap = c->capjobs ? 2 * c->capjobs : 16;
        coord_job **p = realloc(c->jobs, cap * sizeof *p);
        if (!p)
            rc = -1;
        else {
            c->jobs = p;
            c->capjobs = cap;
        }
    }
    if (rc) {
        coord_job_free(j);
        return -1;
    }
    for (uint64_t i = 0; i < rs->nfiles; i++) {
        j->tasks[i].file = rs->files[i];
        rs->files[i] = NULL; /* ownership moves to the task */
    }
    j->id = rs->id;
    memcpy(j->token, rs->token, 17);
    snprintf(j->hash, sizeof j->hash, "%s", rs->hash);
    j->compact = rs->compact;
    j->threads = rs->threads;
    j->seed = rs->seed;
    j->start_us = ph_time_us();
    j->first_error_index = UINT64_MAX;
    j->next = j->total; /* unfinished tasks are queued by restore_finish */
    if (j->total == 0) {
        j->state = PH_JOB_NO_KEYS;
        j->end_us = j->start_us;
    }
    c->jobs[c->njobs++] = j;
    return 0;
}

/* Per-node counts of replayed results: one entry per node name, under a
 * serial no live worker will ever have. */
static coord_jw *replay_jw(coord *c, coord_job *j, const char *node)
{
    for (size_t i = 0; i < j->njw; i++)
        if (j->jw[i].replayed && !strcmp(j->jw[i].node, node))
            return &j->jw[i];
    coord_jw *e = jw_push(j);
    if (!e)
        return NULL;
    e->worker = ++c->next_serial;
    e->replayed = true;
    e->threads = 1;
    snprintf(e->node, sizeof e->node, "%s", node);
    return e;
}

int coord_job_restore_task(coord *c, uint64_t job, uint64_t task, const char *node,
                           const ph_msg_result *r, int status, const char *error)
{
    coord_job *j = coord_job_by_id(c, job);
    if (!j || j->state != PH_JOB_RUNNING || !j->tasks || task >= j->total ||
        j->tasks[task].state == TASK_DONE)
        return -1;
    coord_job_finish_task(c, j, task, replay_jw(c, j, node), r, status, error);
    return 0;
}

int coord_job_restore_done(coord *c, uint64_t job, uint64_t elapsed_us)
{
    coord_job *j = coord_job_by_id(c, job);
    if (!j)
        return -1;
    j->done_recorded = true;
    j->done_elapsed_us = elapsed_us;
    return 0;
}

void coord_job_restore_finish(coord *c)
{
    for (size_t i = 0; i < c->njobs; i++) {
        coord_job *j = c->jobs[i];
        if (j->state != PH_JOB_RUNNING)
            continue;
        if (j->succeeded + j->failed < j->total) {
            for (uint64_t t = 0; t < j->total; t++)
                if (j->tasks[t].state != TASK_DONE)
                    coord_job_requeue(j, t);
            continue;
        }
        if (!j->done_recorded) {
            job_complete(c, j); /* results.csv may not have been written */
            continue;
        }
        /* Finished before the restart: results.csv is on disk already. */
        j->state = j->failed ? PH_JOB_SOME_FAILED : PH_JOB_ALL_SUCCEEDED;
        j->end_us = j->start_us + j->done_elapsed_us;
        free_work(j);
    }
}
