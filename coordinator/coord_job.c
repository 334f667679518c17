/* coord_job.c - the job table: directory walk, task queue, results rows,
 * completion.  A leaf: it calls no other part of the coordinator; its
 * callers journal, notify and dispatch from what it returns.
 *
 * A bulk job knows only file NAMES until a task is dispatched: the bytes of a
 * keys file are read when its TASK is sent (coord_dispatch.c), so 100k files
 * cost about one short string and one results row each, not their contents. */
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

#include "ph_keys.h"
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
    if ((o->table_flags & PH_TABLE_KEY64) && strcmp(hash, "auto") && strcmp(hash, "mix"))
        return ph_err_set(err, PH_EINVAL, "hash: %s works on 32-bit keys; 64-bit keys use "
                          "mix (or auto)", hash);
    memcpy(j->hash, hash, sizeof j->hash);
    j->compact = o->compact;
    j->table_flags = o->table_flags;
    j->partition = o->partition;
    j->threads = o->threads;
    j->seed = o->seed;
    return PH_OK;
}

static int jobs_grow(coord_jobs *t, ph_err *err)
{
    if (t->n < t->cap)
        return PH_OK;
    size_t cap = t->cap ? 2 * t->cap : 16;
    coord_job **p = realloc(t->v, cap * sizeof *p);
    if (!p)
        return ph_err_set(err, PH_ENOMEM, "job table: out of memory");
    t->v = p;
    t->cap = cap;
    return PH_OK;
}


static uint64_t next_id(const coord_jobs *t) { return t->next_id ? t->next_id : 1; }

int coord_jobs_add(coord_jobs *t, coord_job *j, ph_err *err)
{
    int rc = jobs_grow(t, err);
    if (rc)
        return rc;
    j->id = next_id(t);
    t->next_id = j->id + 1;
    make_token(j->token, j->id);
    j->start_us = ph_time_us();
    j->start_wall_us = ph_time_wall_us();
    j->first_error_index = UINT64_MAX;
    t->v[t->n++] = j;
    if (j->total == 0) {
        j->state = PH_JOB_NO_KEYS;
        j->end_us = j->start_us;
    }
    return PH_OK;
}

void coord_jobs_unadd(coord_jobs *t)
{
    if (t->n > 0) {
        t->n--; /* the caller frees the job */
        t->next_id = t->v[t->n]->id;
    }
}

/* Index of job id in t->v, or t->n. */
static size_t find_id(const coord_jobs *t, uint64_t id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && t->v[lo]->id == id ? lo : t->n;
}

void coord_jobs_forget(coord_jobs *t, uint64_t id)
{
    size_t i = find_id(t, id);
    if (i == t->n)
        return;
    coord_job_free(t->v[i]);
    memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
    t->n--;
}

void coord_jobs_free(coord_jobs *t)
{
    for (size_t i = 0; i < t->n; i++)
        coord_job_free(t->v[i]);
    free(t->v);
    memset(t, 0, sizeof *t);
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

/* Frees the n strings of v, then v (NULL: nothing). */
static void names_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
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
        names_free(v, n);
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

/* Table names of a bulk job that sanitize to one C symbol ("a-b.keys",
 * "a b.keys", "a_b.keys" all give a_b_index) cannot be used in one program:
 * the first in file-name order keeps the symbol, the others fail with
 * PH_ENAME when dispatched.  Derived from the file names alone, so a job
 * restored from the journal marks the same tasks. */
static int mark_name_owners(coord_job *j, ph_err *err)
{
    if (j->is_create || j->total < 2) {
        for (uint64_t i = 0; i < j->total; i++)
            j->tasks[i].name_owner = i;
        return PH_OK;
    }
    size_t n = (size_t)j->total;
    char **names = calloc(n, sizeof *names);
    size_t *first = calloc(n, sizeof *first);
    int rc = names && first ? PH_OK : ph_err_set(err, PH_ENOMEM, "job: out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        size_t len = strlen(j->tasks[i].file);
        /* "x.keys" -> "x" (list_keys took only such names) */
        if (!(names[i] = strndup(j->tasks[i].file, len > 5 ? len - 5 : len)))
            rc = ph_err_set(err, PH_ENOMEM, "job: out of memory");
    }
    if (!rc)
        rc = ph_emit_symbol_clashes((const char *const *)names, n, first, err);
    for (size_t i = 0; i < n && !rc; i++)
        j->tasks[i].name_owner = first[i];
    names_free(names, n);
    free(first);
    return rc;
}

unsigned coord_job_key_size(const coord_job *j, uint64_t task)
{
    if (j->table_flags & PH_TABLE_KEY64)
        return 8;
    if ((j->table_flags & PH_TABLE_KEY32) || j->is_create || task >= j->total)
        return 4;
    return ph_keys_size_of_name(j->tasks[task].file);
}

int coord_job_name_check(const coord_job *j, uint64_t task, ph_err *err)
{
    const coord_task *t = &j->tasks[task];
    if (t->name_owner == task || t->name_owner >= j->total)
        return PH_OK;
    char sym[300];
    size_t len = strlen(t->file);
    char *name = strndup(t->file, len > 5 ? len - 5 : len);
    ph_emit_symbol(name ? name : t->file, sym, sizeof sym);
    free(name);
    return ph_err_set(err, PH_ENAME, "%s: its table's C symbols (%s_index) are those of %s in "
                      "this job; rename one of the files", t->file, sym,
                      j->tasks[t->name_owner].file);
}

static coord_job *job_new(bool is_create)
{
    coord_job *j = calloc(1, sizeof *j);
    if (j)
        j->is_create = is_create;
    return j;
}

/* dir names one keys file: its directory and its name, as a job of one
 * file (a big create: the file is read here, not sent by the client). */
static int one_file(const char *path, char **dir, char ***names, size_t *count, ph_err *err)
{
    const char *slash = strrchr(path, '/');
    *names = calloc(1, sizeof **names);
    if (*names && slash && slash[1])
        (*names)[0] = strdup(slash + 1);
    *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
    if (!*names || !(*names)[0] || !*dir) {
        if (*names)
            free((*names)[0]);
        free(*names);
        free(*dir);
        *names = NULL;
        *dir = NULL;
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", path);
    }
    *count = 1;
    return PH_OK;
}

int coord_job_bulk(const char *dir, const char *out_dir, const ph_opts *o, coord_job **out,
                   ph_err *err)
{
    *out = NULL;
    coord_job *j = job_new(false);
    if (!j)
        return ph_err_set(err, PH_ENOMEM, "job: out of memory");
    char **names = NULL, *file_dir = NULL;
    size_t n = 0;
    struct stat st;
    int rc = opts_from_msg(j, o, err);
    if (!rc && stat(dir, &st) == 0 && S_ISREG(st.st_mode))
        rc = one_file(dir, &file_dir, &names, &n, err);
    else if (!rc)
        rc = list_keys(dir, &names, &n, err);
    if (file_dir)
        dir = file_dir;
    if (!rc && n > 0)
        rc = ph_fs_mkdirs_nofollow(out_dir, err);
    if (!rc)
        rc = alloc_tasks(j, n, err);
    if (!rc && (!(j->dir = strdup(dir)) || !(j->out_dir = strdup(out_dir))))
        rc = ph_err_set(err, PH_ENOMEM, "job: out of memory");
    free(file_dir);
    if (rc) {
        names_free(names, n);
        coord_job_free(j);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        j->tasks[i].file = names[i]; /* ownership moves to the task */
    free(names);
    if ((rc = mark_name_owners(j, err)) != 0) {
        coord_job_free(j);
        return rc;
    }
    *out = j;
    return PH_OK;
}

int coord_job_create(const ph_msg_submit_create *m, const char *out_dir, coord_job **out,
                     ph_err *err)
{
    char name[200];
    *out = NULL;
    if (ph_bytes_cstr(m->name, name, sizeof name, err) || !name[0] || strchr(name, '/') ||
        !strcmp(name, ".") || !strcmp(name, ".."))
        return ph_err_set(err, PH_EINVAL, "SUBMIT_CREATE.name: empty, too long or not a plain "
                          "file name");
    /* A table the cluster cannot carry back is refused before any work. */
    char file[sizeof name + 8];
    snprintf(file, sizeof file, "%s.keys", name);
    uint32_t n = m->keys.n / ((m->opts.table_flags & PH_TABLE_KEY64) ? 8 : 4);
    int rc0 = ph_proto_check_table_size(file, n, ph_table_bytes_for(n, m->opts.compact), err);
    if (rc0)
        return rc0;
    unsigned vb = (m->opts.table_flags & PH_TABLE_VALUES64)   ? 8
                  : (m->opts.table_flags & PH_TABLE_VALUES32) ? 4
                                                              : 0;
    if (m->values.n && (uint64_t)m->values.n != (uint64_t)n * vb)
        return ph_err_set(err, PH_EINVAL, "SUBMIT_CREATE.values: %u bytes, but %u keys take %u "
                          "values of %u bytes", m->values.n, n, n, vb);
    coord_job *j = job_new(true);
    if (!j)
        return ph_err_set(err, PH_ENOMEM, "job: out of memory");
    int rc = opts_from_msg(j, &m->opts, err);
    if (!rc)
        rc = ph_fs_mkdirs_nofollow(out_dir, err);
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
        if (m->values.n)
            j->values = malloc(m->values.n);
        if (!j->out_dir || !j->tasks[0].file || !j->keys || (m->values.n && !j->values))
            rc = ph_err_set(err, PH_ENOMEM, "job: out of memory");
    }
    if (!rc) {
        memcpy(j->keys, m->keys.p, m->keys.n);
        j->keys_len = m->keys.n;
        if (m->values.n)
            memcpy(j->values, m->values.p, m->values.n);
        j->values_len = m->values.n;
    }
    if (rc) {
        coord_job_free(j);
        return rc;
    }
    *out = j;
    return PH_OK;
}

size_t coord_jobs_sweep(coord_jobs *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i]->forget)
            coord_job_free(t->v[i]);
        else
            t->v[k++] = t->v[i];
    }
    t->n = k;
    /* A table that shrank a lot gives its memory back. */
    if (t->cap > 64 && t->n < t->cap / 4) {
        coord_job **p = realloc(t->v, (t->cap / 2) * sizeof *p);
        if (p) {
            t->v = p;
            t->cap /= 2;
        }
    }
    return k;
}

coord_job *coord_job_by_token(const coord_jobs *t, ph_bytes token)
{
    if (token.n != 16)
        return NULL;
    for (size_t i = t->n; i-- > 0;)
        if (!memcmp(t->v[i]->token, token.p, 16))
            return t->v[i];
    return NULL;
}

coord_job *coord_job_by_id(const coord_jobs *t, uint64_t id)
{
    size_t i = find_id(t, id);
    return i < t->n ? t->v[i] : NULL;
}

bool coord_job_pending(const coord_job *j)
{
    return j->state == PH_JOB_RUNNING && !j->cancel && (j->rq_len > 0 || j->next < j->total);
}

bool coord_job_drained(const coord_job *j)
{
    return j->cancel && j->state == PH_JOB_RUNNING && j->inflight == 0 && j->writing == 0;
}

bool coord_job_cancel(coord_job *j)
{
    j->cancel = true;
    /* Queued tasks (never sent, or taken back) simply stay TASK_QUEUED:
     * with the queue emptied nothing sends them, and complete() lists only
     * tasks with a result. */
    j->next = j->total;
    j->rq_len = 0;
    j->rq_head = 0;
    return coord_job_drained(j);
}

bool coord_job_drop_task(coord_job *j, uint64_t task)
{
    coord_task *t = &j->tasks[task];
    t->state = TASK_QUEUED;
    t->worker = 0;
    free(t->keys);
    t->keys = NULL;
    return coord_job_drained(j);
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
    free(j->values);
    j->tasks = NULL;
    j->rows = NULL;
    j->requeue = NULL;
    j->keys = NULL;
    j->values = NULL;
    j->values_len = 0;
    j->rq_len = j->rq_cap = j->rq_head = 0;
}

/* A cancelled job lists only the tasks that have a result: their rows are
 * moved to the front, still in file-name order.  Returns how many. */
static size_t rows_with_result(coord_job *j)
{
    if (!j->cancel)
        return (size_t)j->total;
    size_t k = 0;
    for (uint64_t i = 0; i < j->total; i++)
        if (j->tasks[i].state == TASK_DONE)
            j->rows[k++] = j->rows[i];
    return k;
}

void coord_job_complete(coord_job *j)
{
    ph_err err = {0};
    /* Tasks are in file-name order, so rows already are: results.csv is
     * sorted by name without a sort. */
    size_t nrows = rows_with_result(j);
    if (ph_results_csv_write(j->out_dir, j->rows, nrows, &err) != 0) {
        ph_log_error("coord", "job=%s msg=\"%s\"", j->token, err.msg);
        if (!j->first_error[0])
            snprintf(j->first_error, sizeof j->first_error, "%s", err.msg);
        j->state = j->cancel ? PH_JOB_CANCELLED : PH_JOB_SOME_FAILED;
    } else {
        j->state = j->cancel ? PH_JOB_CANCELLED
                   : j->failed ? PH_JOB_SOME_FAILED : PH_JOB_ALL_SUCCEEDED;
    }
    j->end_us = ph_time_us();
    for (size_t i = 0; i < j->njw; i++)
        ph_log_info("coord", "job=%s worker=%" PRIu64 " node=%s succeeded=%" PRIu64
                    " failed=%" PRIu64, j->token, j->jw[i].worker, j->jw[i].node,
                    j->jw[i].succeeded, j->jw[i].failed);
    ph_log_info("coord", "job=%s state=%u total=%" PRIu64 " succeeded=%" PRIu64
                " failed=%" PRIu64 " ms=%" PRIu64 " msg=\"%s\"", j->token, j->state, j->total,
                j->succeeded, j->failed, (j->end_us - j->start_us) / 1000,
                j->cancel ? "job cancelled" : "job complete");
    free_work(j);
}

bool coord_job_finish_task(coord_job *j, uint64_t task, coord_jw *jw, const ph_msg_result *r,
                           int status, const char *error)
{
    coord_task *t = &j->tasks[task];
    t->state = TASK_DONE;
    t->worker = 0;
    t->status = (int16_t)status;
    t->jw = jw ? (uint32_t)(jw - j->jw) + 1 : 0;
    free(t->keys);
    t->keys = NULL;
    fill_row(&j->rows[task], t->file, r, status);
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
    return j->succeeded + j->failed == j->total || coord_job_drained(j);
}

int coord_job_msg(const coord_job *j, ph_msg_job *m)
{
    memset(m, 0, sizeof *m);
    m->token = (ph_bytes){j->token, 16};
    m->state = j->state == PH_JOB_RUNNING && j->cancel ? PH_JOB_CANCELLING : j->state;
    m->total = j->total;
    m->running = j->inflight + j->writing;
    m->succeeded = j->succeeded;
    m->failed = j->failed;
    /* A cancelled job's tasks without a result will never run. */
    bool ended = j->cancel || j->state == PH_JOB_CANCELLED;
    m->queued = ended ? 0 : j->total - m->running - j->succeeded - j->failed;
    uint64_t end = j->state == PH_JOB_RUNNING ? ph_time_us() : j->end_us;
    m->elapsed_us = end - j->start_us;
    m->first_error = ph_bytes_str(j->first_error);
    m->out_dir = ph_bytes_str(j->out_dir);
    m->parts_total = j->parts_total;
    m->parts_done = j->parts_done;
    m->stalled = j->state == PH_JOB_RUNNING ? j->stalled : 0;
    m->stalls = j->stalls;
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
    free(j->values_file);
    free(j->jw);
    free(j);
}

int coord_job_values_file(coord_job *j, const char *path, ph_err *err)
{
    if (j->is_create || j->total != 1 ||
        !(j->table_flags & (PH_TABLE_VALUES32 | PH_TABLE_VALUES64)))
        return ph_err_set(err, PH_EINVAL, "SUBMIT_BULK.values_file: goes with a job of one "
                          "keys file with values");
    free(j->values_file);
    if (!(j->values_file = strdup(path)))
        return ph_err_set(err, PH_ENOMEM, "job: out of memory");
    return PH_OK;
}

/* ---- rebuilding from the journal ------------------------------------------ */

int coord_jobs_restore(coord_jobs *t, const coord_job_restore *rs)
{
    ph_err err = {0};
    if (rs->id < next_id(t) || strlen(rs->token) != 16 || jobs_grow(t, &err) != 0)
        return -1;
    coord_job *j = job_new(rs->is_create);
    if (!j)
        return -1;
    int rc = alloc_tasks(j, rs->nfiles, &err);
    if (!rc && rs->dir[0] && !(j->dir = strdup(rs->dir)))
        rc = -1;
    if (!rc && !(j->out_dir = strdup(rs->out_dir)))
        rc = -1;
    if (!rc && rs->values_file && !(j->values_file = strdup(rs->values_file)))
        rc = -1;
    if (!rc && rs->is_create) {
        if (!(j->keys = malloc(rs->keys_len ? rs->keys_len : 1)))
            rc = -1;
        else {
            memcpy(j->keys, rs->keys, rs->keys_len);
            j->keys_len = rs->keys_len;
        }
        if (!rc && rs->values_len) {
            if (!(j->values = malloc(rs->values_len)))
                rc = -1;
            else {
                memcpy(j->values, rs->values, rs->values_len);
                j->values_len = rs->values_len;
            }
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
    if (mark_name_owners(j, &err) != 0) {
        coord_job_free(j);
        return -1;
    }
    j->id = rs->id;
    memcpy(j->token, rs->token, 17);
    snprintf(j->hash, sizeof j->hash, "%s", rs->hash);
    j->compact = rs->compact;
    j->table_flags = rs->table_flags;
    j->partition = rs->partition;
    j->threads = rs->threads;
    j->seed = rs->seed;
    j->start_us = ph_time_us();
    j->first_error_index = UINT64_MAX;
    j->restored = true;
    j->next = j->total; /* unfinished tasks are queued again after replay */
    if (j->total == 0) {
        j->state = PH_JOB_NO_KEYS;
        j->end_us = j->start_us;
    }
    t->v[t->n++] = j;
    t->next_id = j->id + 1;
    return 0;
}

int coord_jobs_restore_finished(coord_jobs *t, const coord_job_summary *s)
{
    ph_err err = {0};
    if (s->id < next_id(t) || strlen(s->token) != 16 || s->state == PH_JOB_RUNNING ||
        s->state > PH_JOB_CANCELLED ||
        s->succeeded + s->failed > s->total || jobs_grow(t, &err) != 0)
        return -1;
    coord_job *j = job_new(s->is_create);
    if (!j)
        return -1;
    bool ok = (!s->dir[0] || (j->dir = strdup(s->dir))) && (j->out_dir = strdup(s->out_dir));
    for (size_t i = 0; ok && i < s->nnodes; i++) {
        coord_jw *e = jw_push(j);
        if (!e) {
            ok = false;
            break;
        }
        e->worker = UINT64_MAX - (uint64_t)i;
        e->replayed = true;
        e->threads = 1;
        snprintf(e->node, sizeof e->node, "%s", s->nodes[i]);
        e->succeeded = s->node_counts[2 * i];
        e->failed = s->node_counts[2 * i + 1];
    }
    if (!ok) {
        coord_job_free(j);
        return -1;
    }
    j->id = s->id;
    memcpy(j->token, s->token, 17);
    j->state = s->state;
    j->total = j->next = s->total;
    j->succeeded = s->succeeded;
    j->failed = s->failed;
    snprintf(j->first_error, sizeof j->first_error, "%s", s->first_error);
    j->first_error_index = UINT64_MAX;
    j->end_us = ph_time_us();
    j->start_us = j->end_us - s->elapsed_us;
    t->v[t->n++] = j;
    t->next_id = j->id + 1;
    return 0;
}

/* Per-node counts of replayed results: one entry per node name, under a
 * serial from the top of the range, which no live worker ever gets. */
coord_jw *coord_job_jw_replayed(coord_job *j, const char *node)
{
    for (size_t i = 0; i < j->njw; i++)
        if (j->jw[i].replayed && !strcmp(j->jw[i].node, node))
            return &j->jw[i];
    coord_jw *e = jw_push(j);
    if (!e)
        return NULL;
    e->worker = UINT64_MAX - (uint64_t)(j->njw - 1);
    e->replayed = true;
    e->threads = 1;
    snprintf(e->node, sizeof e->node, "%s", node);
    return e;
}

void coord_job_started_at(coord_job *j, uint64_t wall_us)
{
    uint64_t now_wall = ph_time_wall_us();
    j->start_wall_us = wall_us;
    /* A wall clock set back past the start: count from now, as without
     * the record.  start_us may wrap below 0 (a job older than this boot's
     * monotonic clock): every use is a difference, which stays right. */
    if (wall_us && wall_us <= now_wall)
        j->start_us = ph_time_us() - (now_wall - wall_us);
}

void coord_job_completed_before(coord_job *j, uint64_t elapsed_us)
{
    j->state = j->cancel ? PH_JOB_CANCELLED
               : j->failed ? PH_JOB_SOME_FAILED : PH_JOB_ALL_SUCCEEDED;
    j->end_us = j->start_us + elapsed_us;
    free_work(j);
}
