/* coord_client.c - what clients ask: submit a job, wait for it, status.
 *
 * A submitted job is built by the job table from paths checked here
 * against --allow-root, journaled (synced) before its token is handed out,
 * and only then dispatched.  A WAIT on a running job parks the client until
 * the job finishes (coord_notify_job) or its deadline passes. */
#include "coord_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_log.h"
#include "ph_path.h"

#define COORD_MAX_WAIT_MS 600000u     /* cap on a client's WAIT */
#define COORD_STATUS_JOBS 32          /* finished jobs listed by STATUS */
#define COORD_PATH_MAX 4096

int coord_check_path(const coord *c, const char *what, const char *path, char *resolved,
                     size_t len, ph_err *err)
{
    ph_err e = {0};
    char tmp[COORD_PATH_MAX];
    if (!resolved) {
        resolved = tmp;
        len = sizeof tmp;
    }
    int rc = c->nroots ? ph_path_check_roots(path, c->roots, c->nroots, resolved, len, &e)
                       : ph_path_resolve(path, resolved, len, &e);
    if (rc)
        return ph_err_set(err, rc, "%s %s", what, e.msg);
    return PH_OK;
}

/* A path field of a SUBMIT, resolved and confined. */
static int submit_path(const coord *c, const char *field, const char *what, ph_bytes raw_b,
                       char *out, ph_err *err)
{
    char raw[COORD_PATH_MAX];
    if (ph_bytes_cstr(raw_b, raw, sizeof raw, err) || !raw[0])
        return ph_err_set(err, PH_EINVAL, "%s: empty or invalid path", field);
    return coord_check_path(c, what, raw, out, COORD_PATH_MAX, err);
}

static int build_job(coord *c, const ph_msg *m, coord_job **out, ph_err *err)
{
    char dir[COORD_PATH_MAX], out_dir[COORD_PATH_MAX];
    if (m->type == PH_MSG_SUBMIT_BULK) {
        const ph_msg_submit_bulk *b = &m->u.submit_bulk;
        int rc = submit_path(c, "SUBMIT_BULK.dir", "input directory or keys file", b->dir, dir,
                             err);
        if (!rc)
            rc = submit_path(c, "SUBMIT_BULK.out_dir", "output directory", b->out_dir,
                             out_dir, err);
        char vfile[COORD_PATH_MAX];
        if (!rc && b->values_file.n)
            rc = submit_path(c, "SUBMIT_BULK.values_file", "values file", b->values_file,
                             vfile, err);
        if (!rc)
            rc = coord_job_bulk(dir, out_dir, &b->opts, out, err);
        if (!rc && b->values_file.n && (rc = coord_job_values_file(*out, vfile, err)) != 0) {
            coord_job_free(*out);
            *out = NULL;
        }
        return rc;
    }
    const ph_msg_submit_create *s = &m->u.submit_create;
    int rc = submit_path(c, "SUBMIT_CREATE.out_dir", "output directory", s->out_dir, out_dir,
                         err);
    return rc ? rc : coord_job_create(s, out_dir, out, err);
}

/* Build, add and journal a job; on failure nothing of it remains. */
static int accept_job(coord *c, const ph_msg *m, coord_job **out, ph_err *err)
{
    coord_job *j = NULL;
    int rc = build_job(c, m, &j, err);
    if (!rc && (rc = coord_jobs_add(&c->jobs, j, err)) == 0 &&
        (rc = coord_journal_job(c->journal, j, err)) != 0)
        coord_jobs_unadd(&c->jobs);
    if (rc) {
        coord_job_free(j);
        return rc;
    }
    *out = j;
    return PH_OK;
}

void coord_on_submit(coord *c, const void *ident, size_t n, const ph_msg *m)
{
    ph_err err = {0};
    coord_job *j = NULL;
    int rc = accept_job(c, m, &j, &err);
    if (rc) {
        if (coord_log_peer(c, "submit-refused", ident, n, PH_LOG_WARN))
            ph_log_warn("coord", "type=%s msg=\"submit refused: %s\"",
                        ph_msg_type_name(m->type), err.msg);
        coord_reply_error(c, ident, n, rc, err.msg);
        return;
    }
    if (coord_log_peer(c, "job-accepted", ident, n, PH_LOG_INFO))
        ph_log_info("coord", "job=%s tasks=%" PRIu64 " out=%s msg=\"job accepted\"",
                    j->token, j->total, j->out_dir);
    ph_msg a = {.type = PH_MSG_ACCEPTED};
    a.u.accepted.token = (ph_bytes){j->token, 16};
    a.u.accepted.total = j->total;
    coord_reply(c, ident, n, &a);
}

void coord_notify_job(coord *c, const coord_job *j)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nwaiters; i++) {
        coord_waiter *wt = &c->waiters[i];
        if (wt->job_id == j->id)
            coord_reply_job(c, wt->ident, wt->ident_len, j);
        else
            c->waiters[k++] = *wt;
    }
    c->nwaiters = k;
}

void coord_expire_waiters(coord *c, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nwaiters; i++) {
        coord_waiter *wt = &c->waiters[i];
        const coord_job *j = now >= wt->deadline_ms ? coord_job_by_id(&c->jobs, wt->job_id)
                                                     : NULL;
        if (j)
            coord_reply_job(c, wt->ident, wt->ident_len, j);
        else if (now >= wt->deadline_ms)
            coord_reply_error(c, wt->ident, wt->ident_len, PH_EINVAL,
                              "job forgotten while waited on");
        else
            c->waiters[k++] = *wt;
    }
    c->nwaiters = k;
}

void coord_on_wait(coord *c, const void *ident, size_t n, const ph_msg_wait *m)
{
    coord_job *j = coord_job_by_token(&c->jobs, m->token);
    if (!j) {
        coord_reply_unknown_token(c, ident, n, m->token);
        return;
    }
    if (j->state != PH_JOB_RUNNING || m->timeout_ms == 0) {
        coord_reply_job(c, ident, n, j);
        return;
    }
    if (c->nwaiters == c->capwaiters) {
        size_t cap = c->capwaiters ? 2 * c->capwaiters : 16;
        coord_waiter *p = realloc(c->waiters, cap * sizeof *p);
        if (!p) {
            coord_reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
            return;
        }
        c->waiters = p;
        c->capwaiters = cap;
    }
    coord_waiter *wt = &c->waiters[c->nwaiters++];
    memcpy(wt->ident, ident, n);
    wt->ident_len = n;
    wt->job_id = j->id;
    uint32_t ms = m->timeout_ms < COORD_MAX_WAIT_MS ? m->timeout_ms : COORD_MAX_WAIT_MS;
    wt->deadline_ms = coord_now_ms() + ms;
}

void coord_on_status(coord *c, const void *ident, size_t n)
{
    ph_msg m = {.type = PH_MSG_STATUS_REPLY};
    ph_msg_status_reply *s = &m.u.status_reply;
    uint64_t now = coord_now_ms();
    s->uptime_ms = now - c->start_ms;
    s->workers = calloc(c->nworkers ? c->nworkers : 1, sizeof *s->workers);
    s->jobs = calloc(c->jobs.n ? c->jobs.n : 1, sizeof *s->jobs);
    if (!s->workers || !s->jobs) {
        free(s->workers);
        free(s->jobs);
        coord_reply_error(c, ident, n, PH_ENOMEM, "coordinator out of memory");
        return;
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        const coord_worker *w = c->workers[i];
        ph_worker_info *wi = &s->workers[s->nworkers++];
        wi->id = ph_bytes_str(w->id);
        wi->host = ph_bytes_str(w->host);
        wi->pid = w->pid;
        wi->numa_node = w->numa_node;
        wi->threads = w->threads;
        wi->running = w->inflight;
        wi->done = w->done;
        wi->failed = w->failed;
        wi->last_heartbeat_ms = now - w->last_seen_ms;
        wi->stuck = w->stuck;
    }
    /* Running jobs and the most recent finished ones. */
    for (size_t i = 0; i < c->jobs.n; i++) {
        const coord_job *j = c->jobs.v[i];
        if (j->state != PH_JOB_RUNNING && i + COORD_STATUS_JOBS < c->jobs.n)
            continue;
        coord_job_msg(j, &s->jobs[s->njobs++]);
    }
    coord_reply(c, ident, n, &m);
    for (uint32_t i = 0; i < s->njobs; i++)
        free(s->jobs[i].nodes);
    free(s->jobs);
    free(s->workers);
}
