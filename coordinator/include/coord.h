/* coord.h - the phcluster coordinator as a library.
 *
 * coord_run owns one ROUTER socket and runs a single-threaded zmq_poll loop
 * until SHUTDOWN (or *stop becomes non-zero).  It can run in the main thread
 * (phcoord) or in a thread of phclient --local, sharing a zmq context so an
 * inproc:// endpoint works. */
#ifndef COORD_H
#define COORD_H

#include <stdatomic.h>
#include <stdint.h>

#include "ph_err.h"

#define COORD_DEFAULT_WRITERS 2
#define COORD_DEFAULT_MAX_TRIES 3
#define COORD_DEFAULT_PREFETCH_MS 10
#define COORD_DEFAULT_KEEP_JOBS 1000
#define COORD_DEFAULT_JOB_TTL_S (7u * 24 * 3600)
#define COORD_DEFAULT_COMPACT_BYTES (4u << 20)
/* Keys bytes per group of a partitioned table's buckets (coord_part.c). */
#define COORD_DEFAULT_PART_TASK_BYTES (1u << 20)
/* Default stall limit of a task of N keys: max(FLOOR, N * US_PER_KEY / 1000)
 * ms without progress (coord_stall.c).  A solve reports progress at least
 * once per attempt; one attempt took ~1.2 us a key on one thread of a
 * 2-vCPU machine at load 12 (4M keys: 18 attempts in 43 s on 2 threads),
 * so 10 us a key (80 s for the ~8M keys of the largest table a RESULT
 * carries) and the 30 s floor leave ~8x room. */
#define COORD_STALL_FLOOR_MS 30000u
#define COORD_STALL_US_PER_KEY 10u
#define COORD_STALL_DEFAULT (-1)

typedef struct coord_opts {
    const char *bind;          /* endpoint; NULL = the private local endpoint
                                  ipc://DIR/coord (ph_local.h) */
    const char *group;         /* ipc:// endpoints: this group may connect too
                                  (directory 0750, socket 0660); NULL = only
                                  this user */
    int heartbeat_ms;          /* app + ZMTP heartbeat interval; default
                                  PH_PROTO_HEARTBEAT_MS */
    int liveness_ms;           /* worker silent this long is dropped; default
                                  PH_PROTO_LIVENESS_MS */
    const char *endpoint_file; /* if set, the bound endpoint is written here (atomic) */
    atomic_int *stop;          /* optional: set non-zero to leave the loop */
    int writers;               /* threads writing tables; 0 = the loop itself;
                                  < 0 = default (2) */
    /* CURVE (docs/SECURITY.md): required to bind a non-loopback endpoint. */
    const char *curve_secret;  /* our secret key file (mode 0600) */
    const char *curve_allow;   /* allow-list: dir of *.pub or file of ph_keys */
    atomic_int *reload;        /* optional: non-zero = re-read the allow-list */
    /* Directories jobs may read from and write to (after resolving symlinks
     * and ".."); none given = anywhere this process can. */
    const char *const *allow_roots;
    size_t nallow_roots;
    /* Poison tasks: a task held longer than task_timeout_ms (0 = no limit)
     * is taken back; a task taken back (timeout or its worker lost)
     * max_tries times fails instead of being sent again. */
    int task_timeout_ms;
    int max_tries;             /* 0 = default (3) */
    /* Stalls: a task whose worker reports progress (PROGRESS) but whose
     * progress has not advanced for this many ms is taken back like a
     * timed-out one.  COORD_STALL_DEFAULT (coord_opts_init): scaled by the
     * task's keys (above); 0 = never taken back (status still shows it). */
    int stall_ms;
    /* Tasks a worker is sent beyond its threads: about this many ms of its
     * measured pace (0 = none; coord_opts_init: 10). */
    int prefetch_ms;
    const char *state_dir;     /* journal of jobs and results: survives restarts */
    /* Retention: a finished job is forgotten once keep_jobs newer finished
     * jobs exist or job_ttl_s seconds after it ended (0 = no age limit). */
    uint64_t keep_jobs;        /* coord_opts_init: COORD_DEFAULT_KEEP_JOBS */
    uint64_t job_ttl_s;        /* coord_opts_init: COORD_DEFAULT_JOB_TTL_S */
    /* The journal is compacted once its log passes this many bytes and the
     * size of its last snapshot. */
    uint64_t journal_compact_bytes; /* coord_opts_init: COORD_DEFAULT_COMPACT_BYTES */
    uint32_t part_task_bytes;  /* coord_opts_init: COORD_DEFAULT_PART_TASK_BYTES */
} coord_opts;

void coord_opts_init(coord_opts *o);

/* zmq_ctx: the context to use (NULL = make and destroy one). */
int coord_run(const coord_opts *o, void *zmq_ctx, ph_err *err);

#endif
