/* wrk_int.h - the worker's task record, shared by wrk.c and wrk_task.c. */
#ifndef WRK_INT_H
#define WRK_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ph_emit.h"
#include "ph_results_csv.h"
#include "ph_err.h"
#include "ph_part.h"
#include "ph_port.h"
#include "ph_proto.h"
#include "ph_runtime.h"
#include "ph_solver.h"

/* One TASK from receipt to RESULT.  Owned by the loop thread, lent to one
 * runtime thread while it runs, handed back through the port. */
typedef struct wrk_task {
    uint64_t job_id, task_id;
    char name[256];
    void *keys;            /* copy of the TASK's key bytes */
    size_t keys_len;
    char hash[16];
    unsigned key_size;     /* 4 or 8 (TASK.opts.table_flags KEY64) */
    bool compact;
    uint32_t threads;      /* solver threads; 0 = decide by size */
    uint64_t seed;
    unsigned node_threads; /* threads of the node, for large tables */
    unsigned delay_ms;     /* wrk_opts.task_delay_ms (tests) */
    bool stall;            /* wrk_opts.test_stall_after: block, never progress */
    unsigned stall_ms;     /* wrk_opts.test_stall_ms: for this long (0 = until exit) */
    const atomic_int *exiting; /* set when the worker exits (ends a test stall) */
    atomic_int stop;       /* set by the loop (CANCEL_TASK, or the worker exits):
                              ends the delay and the solve; the task is then
                              answered PH_ECANCELED unless it was done */
    ph_runtime *rt;        /* parallel attempts run on the node's threads */
    unsigned node;         /* set by wrk_task_work */
    ph_port *done;         /* where to post the finished task */
    /* Progress, read by the loop for PROGRESS while a runtime thread runs
     * the task: 0 until a thread takes it, then one step when it starts,
     * per delay slice, after the keys are checked, per solve attempt and
     * per solve phase (ph_solve_opts.progress). */
    _Atomic uint64_t steps;
    /* The loop's list of tasks handed to the runtime (loop thread only). */
    struct wrk_task *prev, *next;
    bool tracked;
    /* filled by the run */
    int status;
    ph_err err;
    ph_table table;        /* the solved table (RESULT ships it) */
    ph_result_row row;
    /* PART_TASK: one group of buckets of a partitioned table (keys_len is
     * 0; the group's arrays live in part_buf) */
    bool part;
    uint32_t group;
    ph_part_group pg;      /* counts, keys, pos point into part_buf */
    uint32_t *part_buf;
    uint32_t *seeds;       /* filled by the run: pg.ngroup */
    uint32_t *values;      /* ph_part_group_nverts(&pg) */
    uint64_t nvalues;
    uint64_t attempts;
    uint32_t max_bucket_attempts;
    uint64_t solve_us;
} wrk_task;

/* Build a task from a decoded TASK (copies what it needs). */
wrk_task *wrk_task_new(const ph_msg_task *t, unsigned node_threads, ph_port *done);
/* The same for a PART_TASK. */
wrk_task *wrk_task_new_part(const ph_msg_part_task *t, ph_port *done);
/* Solve: fills status/err/table/row (or a part's seeds and values).  Any
 * thread. */
void wrk_task_execute(wrk_task *t);
/* ph_work_fn for the runtime: execute, then post to t->done. */
void wrk_task_work(void *arg, unsigned node, unsigned thread);
/* RESULT (PART_RESULT for a part) message for a finished task (views into
 * t). */
void wrk_task_result(const wrk_task *t, uint32_t numa_node, ph_msg *m);
void wrk_task_free(void *arg);

#endif
