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
 * (cancel_fn(arg) is called for each, if given).  Joins threads, frees all. */
void ph_runtime_destroy(ph_runtime *rt, bool drain, void (*cancel_fn)(void *arg));

#endif
