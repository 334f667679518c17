/* ph_runtime.h - NUMA-aware completion-port runtime.
 *
 * One port per NUMA node, drained by threads we create and bind to that
 * node's cpuset (hwloc).  Work is a function + argument posted to a node.
 * A fake topology (hwloc synthetic string or XML file) drives tests: binding
 * is then a no-op, detected and logged once. */
#ifndef PH_RUNTIME_H
#define PH_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

typedef struct ph_runtime ph_runtime;

/* Runs on a node thread.  node: index into the runtime's nodes (0..n-1). */
typedef void (*ph_work_fn)(void *arg, unsigned node, unsigned thread);

typedef struct ph_runtime_opts {
    const char *topology;      /* NULL = this machine; synthetic string or XML path */
    int numa_node;             /* -1 = all (subject to node_mask), else this OS index */
    uint64_t node_mask;        /* 0 = all; bit i = OS NUMA index i */
    unsigned threads_per_node; /* 0 = cores (PUs) of the node */
    unsigned max_concurrency;  /* 0 = no cap; else cap on threads_per_node */
    size_t queue_capacity;     /* per node high-water mark; 0 = 1024 */
} ph_runtime_opts;

void ph_runtime_opts_init(ph_runtime_opts *o);

typedef struct ph_node_info {
    unsigned os_index;         /* NUMA node number as the OS/hwloc names it */
    unsigned threads;
    bool bound;                /* threads really bound (false on a fake topology) */
    char cpuset[128];          /* hwloc list string, e.g. "0-3" */
} ph_node_info;

int ph_runtime_create(const ph_runtime_opts *opts, ph_runtime **out, ph_err *err);

unsigned ph_runtime_node_count(const ph_runtime *rt);
int ph_runtime_node_info(const ph_runtime *rt, unsigned node, ph_node_info *out);

/* Queue fn(arg) on node's port; timeout_ms as ph_port_post. */
int ph_runtime_submit(ph_runtime *rt, unsigned node, ph_work_fn fn, void *arg, int timeout_ms);

/* Round-robin over nodes. */
int ph_runtime_submit_any(ph_runtime *rt, ph_work_fn fn, void *arg, int timeout_ms);

/* Allocate/free memory local to node (falls back to malloc on fake topologies). */
void *ph_runtime_node_alloc(ph_runtime *rt, unsigned node, size_t size);
void ph_runtime_node_free(ph_runtime *rt, unsigned node, void *p, size_t size);

/* Stop: drain = run everything queued first; else queued work is cancelled
 * (cancel_fn(arg) is called for each, if given, on the node threads,
 * possibly concurrently).  Work already running is finished, never
 * interrupted.  Joins threads, frees all. */
void ph_runtime_destroy(ph_runtime *rt, bool drain, void (*cancel_fn)(void *arg));

/* Threads of node (0 if node is out of range). */
unsigned ph_runtime_node_threads(const ph_runtime *rt, unsigned node);

/* Executor hook for the solver (ph_solve_opts.exec_post / exec_ctx): a work
 * fn running on node passes ph_runtime_exec_post and
 * ph_runtime_node_exec_ctx(rt, node) so a big table's parallel attempts run
 * on that node's own threads.  exec_post never blocks and never deadlocks:
 * the helper goes to the FRONT of the node's queue (ph_port_post_urgent), or
 * runs inline at once if there is no room or the runtime is shutting down.
 * Helpers always run, even when destroy cancels queued work (a solve may be
 * waiting for them).  ctx NULL: fn runs inline. */
void *ph_runtime_node_exec_ctx(ph_runtime *rt, unsigned node);
void ph_runtime_exec_post(void *ctx, void (*fn)(void *arg), void *arg);

/* Parse a NUMA node list such as "0", "1,3" or "0-2,5" (OS indices < 64)
 * into a ph_runtime_opts.node_mask.  PH_EINVAL with err naming the list. */
int ph_runtime_parse_nodes(const char *list, uint64_t *mask, ph_err *err);

#endif
