/* coord_write.c - writing tables to disk off the event loop.
 *
 * A successful RESULT carries a table's files.  Writing them (a directory,
 * then temp + rename per file) costs far more than the rest of handling the
 * message, so the loop hands the whole received frame to a small pool of
 * writer threads through a completion port and goes back to dispatching.
 * Finished writes come back on a second port whose fd sits in the loop's
 * zmq_poll; only the loop thread ever touches jobs, workers or the socket.
 *
 * A write job owns the frame (zmq_msg_t) and the decoded RESULT whose
 * artifact views point into it, so nothing is copied. */
#include "coord_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ph_fs.h"
#include "ph_log.h"
#include "ph_port.h"

#define COORD_WRITE_QUEUE 1024  /* writes outstanding before the loop writes itself */

struct coord_writer {
    ph_port *todo;              /* loop -> threads */
    ph_port *done;              /* threads -> loop */
    pthread_t *threads;
    unsigned nthreads;
    size_t outstanding;         /* posted to todo, not yet taken back from done */
};

/* Artifact paths come from the network: relative, no empty, "." or ".."
 * component, at most a few levels deep, so writes stay inside out_dir. */
static int path_ok(const char *path, ph_err *err)
{
    if (!path[0] || path[0] == '/')
        return ph_err_set(err, PH_EPROTO, "RESULT artifact '%s': path must be relative", path);
    unsigned depth = 0;
    for (const char *p = path; *p; depth++) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return ph_err_set(err, PH_EPROTO,
                              "RESULT artifact '%s': empty, '.' or '..' component", path);
        p += n;
        if (*p == '/' && !*++p)
            return ph_err_set(err, PH_EPROTO, "RESULT artifact '%s': ends in '/'", path);
    }
    if (depth > 4)
        return ph_err_set(err, PH_EPROTO, "RESULT artifact '%s': too deep", path);
    return PH_OK;
}

/* Create the parent of full (one mkdir in the usual case: out_dir exists). */
static int make_parent(char *full, char *last_dir, size_t last_len, ph_err *err)
{
    char *slash = strrchr(full, '/');
    if (!slash || slash == full)
        return PH_OK;
    *slash = '\0';
    int rc = PH_OK;
    if (strcmp(full, last_dir) != 0) {
        if (mkdir(full, 0755) != 0 && errno != EEXIST)
            rc = ph_fs_mkdirs(full, err);
        if (!rc)
            snprintf(last_dir, last_len, "%s", full);
    }
    *slash = '/';
    return rc;
}

int coord_write_result(const char *out_dir, const ph_msg_result *r, ph_err *err)
{
    char path[1024];
    /* Check every path first so a bad set writes nothing at all. */
    for (uint32_t i = 0; i < r->nartifacts; i++) {
        int rc = ph_bytes_cstr(r->artifacts[i].path, path, sizeof path, err);
        if (!rc)
            rc = path_ok(path, err);
        if (rc)
            return rc;
    }
    char last_dir[4096] = "";
    for (uint32_t i = 0; i < r->nartifacts; i++) {
        char full[4096];
        int rc = ph_bytes_cstr(r->artifacts[i].path, path, sizeof path, err);
        if (!rc)
            rc = ph_fs_join(full, sizeof full, out_dir, path, err);
        if (!rc)
            rc = make_parent(full, last_dir, sizeof last_dir, err);
        if (!rc)
            rc = ph_fs_write_atomic(full, r->artifacts[i].data.p, r->artifacts[i].data.n, 0,
                                   err);
        if (rc)
            return rc;
    }
    return PH_OK;
}

/* ---- the pool ---------------------------------------------------------- */

static void *writer_main(void *arg)
{
    coord_writer *wr = arg;
    pthread_setname_np(pthread_self(), "ph-write");
    ph_packet p;
    while (ph_port_get(wr->todo, &p, -1) == 0) {
        coord_wjob *wj = p.data;
        wj->status = coord_write_result(wj->out_dir, &wj->msg.u.result, &wj->err);
        /* done holds more than todo ever has outstanding: never blocks long. */
        if (ph_port_post(wr->done, &p, -1) != 0)
            coord_wjob_free(wj);
    }
    return NULL;
}

int coord_writer_start(unsigned nthreads, coord_writer **out, ph_err *err)
{
    *out = NULL;
    coord_writer *wr = calloc(1, sizeof *wr);
    if (!wr)
        return ph_err_set(err, PH_ENOMEM, "writer pool: out of memory");
    int rc = ph_port_create(COORD_WRITE_QUEUE, &wr->todo, err);
    if (!rc)
        rc = ph_port_create(2 * COORD_WRITE_QUEUE + nthreads, &wr->done, err);
    if (!rc && nthreads && !(wr->threads = calloc(nthreads, sizeof *wr->threads)))
        rc = ph_err_set(err, PH_ENOMEM, "writer pool: out of memory");
    for (unsigned i = 0; !rc && i < nthreads; i++) {
        if (pthread_create(&wr->threads[i], NULL, writer_main, wr) != 0)
            rc = ph_err_set(err, PH_EIO, "writer pool: cannot start thread %u", i);
        else
            wr->nthreads++;
    }
    if (rc) {
        coord_writer_stop(wr);
        return rc;
    }
    *out = wr;
    return PH_OK;
}

int coord_writer_fd(const coord_writer *wr) { return ph_port_fd(wr->done); }

bool coord_writer_submit(coord_writer *wr, coord_wjob *wj)
{
    if (!wr || wr->nthreads == 0 || wr->outstanding >= COORD_WRITE_QUEUE)
        return false;
    ph_packet p = {.key = wj->task_id, .data = wj};
    if (ph_port_post(wr->todo, &p, 0) != 0)
        return false;
    wr->outstanding++;
    return true;
}

coord_wjob *coord_writer_take(coord_writer *wr)
{
    ph_packet p;
    if (!wr || ph_port_get(wr->done, &p, 0) != 0)
        return NULL;
    wr->outstanding--;
    return p.data;
}

void coord_writer_stop(coord_writer *wr)
{
    if (!wr)
        return;
    if (wr->todo)
        ph_port_close(wr->todo);
    for (unsigned i = 0; i < wr->nthreads; i++)
        pthread_join(wr->threads[i], NULL);
    /* Writes still queued or finished but not taken: the jobs they belong
     * to are abandoned with the coordinator. */
    ph_packet p;
    while (wr->todo && ph_port_get(wr->todo, &p, 0) == 0)
        coord_wjob_free(p.data);
    while (wr->done && ph_port_get(wr->done, &p, 0) == 0)
        coord_wjob_free(p.data);
    if (wr->todo)
        ph_port_destroy(wr->todo);
    if (wr->done)
        ph_port_destroy(wr->done);
    free(wr->threads);
    free(wr);
}

void coord_wjob_free(coord_wjob *wj)
{
    if (!wj)
        return;
    ph_msg_free(&wj->msg);
    zmq_msg_close(&wj->frame);
    free(wj);
}
