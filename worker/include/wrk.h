/* wrk.h - the phcluster worker as a library (phworker, phclient --local).
 *
 * wrk_run serves ONE NUMA node: a ph_runtime restricted to that node runs
 * the tasks, and the calling thread owns the DEALER socket.  Results come
 * back from the runtime threads through a ph_port whose fd sits in the same
 * zmq_poll as the socket, so only the loop thread ever touches the socket. */
#ifndef WRK_H
#define WRK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ph_err.h"

typedef struct wrk_opts {
    const char *coordinator; /* endpoint, e.g. tcp://HOST:7710 or inproc://x */
    int numa_node;           /* OS index of the node to serve; -1 = first node */
    unsigned threads;        /* 0 = PUs of the node */
    unsigned prefetch;       /* credits beyond threads; 0 = max(32, 4 x threads);
                                credits are capped at 512 */
    const char *topology;    /* NULL = this machine; hwloc synthetic string or XML */
    uint64_t node_mask;      /* wrk_supervise: only these OS indices (bit i = node i);
                                0 = every node */
    bool fake_work;          /* answer every task at once with an empty success */
    unsigned task_delay_ms;  /* tests: each task sleeps this long before solving, so a
                                frozen worker reliably holds tasks */
    long test_stall_after;   /* test aid: tasks after the first N stall (their thread
                                blocks without progress until the worker exits) while
                                the loop keeps heartbeating; -1 = never */
    unsigned test_stall_ms;  /* test aid: a stalled task resumes after this long;
                                0 = only when the worker exits */
    int heartbeat_ms;        /* default PH_PROTO_HEARTBEAT_MS */
    int liveness_ms;         /* coordinator silent this long -> reconnect; default
                                PH_PROTO_LIVENESS_MS */
    atomic_int *stop;        /* optional: non-zero = leave */
    /* CURVE (docs/SECURITY.md): both or neither; required for a coordinator
     * that is not on loopback. */
    const char *curve_secret; /* our secret key file (mode 0600) */
    const char *curve_server; /* the coordinator's public key file */
} wrk_opts;

/* The CURVE rules above, checked before anything starts. */
int wrk_check_security(const wrk_opts *o, ph_err *err);

void wrk_opts_init(wrk_opts *o);

/* Runs until STOP from the coordinator or *stop.  zmq_ctx NULL = own one. */
int wrk_run(const wrk_opts *o, void *zmq_ctx, ph_err *err);

/* --all-nodes: fork one wrk_run process per node, restart crashed ones,
 * forward SIGTERM/SIGINT.  Returns the exit code for main. */
int wrk_supervise(const wrk_opts *o);

#endif
