/* cl_local.c - phclient --local: the whole cluster inside this process.
 *
 * A coordinator thread (coord_run on a private inproc:// endpoint) and one
 * worker thread per NUMA node (wrk_run, each with its own runtime bound to
 * its node) share one zmq context with the client's socket.  The client
 * then runs exactly the code it runs against a remote coordinator. */
#include "cl_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord.h"
#include "ph_log.h"
#include "ph_topology.h"
#include "wrk.h"

#define CL_MAX_NODES 64

typedef struct cl_wrk_thread {
    wrk_opts o;
    void *ctx;               /* shared: inproc needs one context */
    pthread_t tid;
    bool started;
    ph_err err;
    int rc;
} cl_wrk_thread;

struct cl_local {
    void *ctx;
    char endpoint[96];
    atomic_int stop;
    coord_opts co;
    pthread_t coord_tid;
    bool coord_started;
    ph_err coord_err;
    int coord_rc;
    cl_wrk_thread workers[CL_MAX_NODES];
    unsigned nworkers;
};

static void *coord_main(void *arg)
{
    cl_local *l = arg;
    pthread_setname_np(pthread_self(), "ph-coord");
    l->coord_rc = coord_run(&l->co, l->ctx, &l->coord_err);
    if (l->coord_rc)
        fprintf(stderr, "phclient: embedded coordinator: %s\n", l->coord_err.msg);
    return NULL;
}

static void *wrk_main(void *arg)
{
    cl_wrk_thread *t = arg;
    char name[16];
    snprintf(name, sizeof name, "ph-wrk-n%d", t->o.numa_node);
    pthread_setname_np(pthread_self(), name);
    t->rc = wrk_run(&t->o, t->ctx, &t->err);
    return NULL;
}

int cl_local_start(cl_local **out, void **zmq_ctx, const char **endpoint, ph_err *err)
{
    *out = NULL;
    unsigned nodes[CL_MAX_NODES], n = 0;
    int rc = ph_topology_nodes(NULL, nodes, CL_MAX_NODES, &n, err);
    if (rc)
        return rc;
    cl_local *l = calloc(1, sizeof *l);
    if (!l)
        return ph_err_set(err, PH_ENOMEM, "out of memory");
    l->ctx = zmq_ctx_new();
    if (!l->ctx) {
        free(l);
        return ph_err_set(err, PH_EIO, "zmq_ctx_new failed");
    }
    snprintf(l->endpoint, sizeof l->endpoint, "inproc://phclient-local-%ld", (long)getpid());
    coord_opts_init(&l->co);
    l->co.bind = l->endpoint;
    /* In-process, the "coordinator" is the user: it may use any path the
     * user can. */
    static const char *const everywhere[] = {"/"};
    l->co.allow_roots = everywhere;
    l->co.nallow_roots = 1;
    l->co.stop = &l->stop;
    if (pthread_create(&l->coord_tid, NULL, coord_main, l) != 0) {
        cl_local_stop(l);
        return ph_err_set(err, PH_EIO, "cannot start the embedded coordinator thread");
    }
    l->coord_started = true;
    for (unsigned i = 0; i < n; i++) {
        cl_wrk_thread *t = &l->workers[l->nworkers];
        wrk_opts_init(&t->o);
        t->o.coordinator = l->endpoint;
        t->o.numa_node = (int)nodes[i];
        t->o.stop = &l->stop;
        t->ctx = l->ctx;
        if (pthread_create(&t->tid, NULL, wrk_main, t) != 0)
            break;
        t->started = true;
        l->nworkers++;
    }
    *out = l;
    *zmq_ctx = l->ctx;
    *endpoint = l->endpoint;
    return PH_OK;
}

void cl_local_stop(cl_local *l)
{
    if (!l)
        return;
    /* The coordinator normally left on SHUTDOWN; the flag stops the
     * workers (which would otherwise wait for a coordinator to return) and
     * covers an abandoned run. */
    atomic_store(&l->stop, 1);
    if (l->coord_started)
        pthread_join(l->coord_tid, NULL);
    for (unsigned i = 0; i < l->nworkers; i++) {
        cl_wrk_thread *t = &l->workers[i];
        pthread_join(t->tid, NULL);
        if (t->rc)
            fprintf(stderr, "phclient: embedded worker (node %d): %s\n", t->o.numa_node,
                    t->err.msg);
    }
    zmq_ctx_term(l->ctx);
    free(l);
}
