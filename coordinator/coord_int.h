/* coord_int.h - the coordinator's state, shared by its source files.
 *
 * Calls go one way, from the loop down to leaves that never call back:
 *
 *   coord.c            the loop: poll, receive, route, timers, set-up
 *     coord_client.c   client requests: submit, wait, status; waiters
 *     coord_worker.c   worker messages: ready, result, heartbeat; losses
 *     coord_stall.c    worker progress; taking back stalled tasks
 *     coord_dispatch.c which task goes to which worker, and sending it
 *     coord_restore.c  applying the journal's records after a restart
 *       coord_part.c     big keys files: partitioned tables solved group by
 *                        group (below client, worker, stall and dispatch);
 *                        coord_part_finish.c writes a finished one's files
 *       coord_outcome.c  what follows a task's final result: its row, its
 *                        journal record, the job's completion, its waiters
 *         leaves: coord_job.c (the job table), coord_journal.c (records
 *         on disk), coord_write.c (writer pool), coord_reply.c (sending),
 *         coord_credit.c (a worker's credits and pace, stall limits)
 *
 * A leaf reports what happened (coord_job_finish_task returns whether the
 * job is complete; replay hands back decoded records) and the caller
 * decides what follows.
 *
 * Ownership: the coord owns workers[], jobs[] and waiters[]; a job owns its
 * tasks, rows and (for SUBMIT_CREATE) the in-band keys.  Tasks refer to the
 * worker holding them by serial number, never by pointer, so a dropped
 * worker cannot leave a dangling reference behind: its serial simply stops
 * matching anything. */
#ifndef COORD_INT_H
#define COORD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "coord.h"
#include "ph_emit.h"
#include "ph_log.h"
#include "ph_results_csv.h"
#include "ph_proto.h"

#define COORD_IDENT_MAX 255
#define COORD_NODE_MAX 96
/* Tables of one job waiting for the writer pool before dispatch skips the
 * job (coord_dispatch.c). */
#define COORD_JOB_WRITES_MAX 128

typedef struct coord_worker {
    unsigned char ident[COORD_IDENT_MAX];
    size_t ident_len;
    char id[2 * COORD_IDENT_MAX + 1]; /* printable form of ident */
    char host[64];
    char node[COORD_NODE_MAX];        /* "host/numaN" */
    uint32_t pid, numa_node, threads, credits;
    uint32_t inflight;                /* tasks sent, no result yet */
    uint64_t inflight_bytes;          /* keys bytes of those tasks */
    uint64_t last_result_us;          /* when its last result came */
    uint64_t busy_since_us;           /* when it was last sent work while idle */
    uint64_t interval_us;             /* its pace: mean time between results; 0 = unknown */
    bool blocked;                     /* its queue was full: wait for a message */
    uint64_t done, failed;            /* results accepted from it */
    uint64_t last_seen_ms;
    uint64_t last_task_ms;            /* last TASK sent to it */
    bool reports_progress;            /* it has sent PROGRESS (coord_stall.c) */
    uint64_t progress_seen_ms;        /* when its last PROGRESS came */
    uint64_t advance_ms;              /* when one of its tasks last progressed */
    uint32_t stuck;                   /* tasks it still runs that were taken
                                         back from it: threads it cannot use */
    uint64_t serial;                  /* never reused */
} coord_worker;

/* WRITING: its worker answered, the table's files are being written by
 * the writer pool; no longer the worker's, not yet final. */
enum { TASK_QUEUED = 0, TASK_RUNNING = 1, TASK_DONE = 2, TASK_WRITING = 3 };

typedef struct coord_task {
    char *file;            /* bulk: base name "x.keys"; create: table name */
    uint64_t worker;       /* serial of the holder while RUNNING, else 0 */
    uint64_t sent_ms;      /* when the current holder got it */
    uint64_t progress_ms;  /* RUNNING: when its steps last grew (or it was sent) */
    uint64_t steps;        /* RUNNING: the holder's last PROGRESS for it; 0 = not started */
    void *keys;            /* bulk, RUNNING: the bytes sent, kept for the write */
    uint32_t keys_len;     /* bytes sent (create: the job's keys) */
    uint64_t name_owner;   /* the first task whose table has this one's C
                              symbol (itself when none); a clash fails with PH_ENAME */
    uint8_t state;
    uint8_t tries;         /* times taken back (timeout, worker lost) */
    int16_t status;        /* DONE: 0 or the PH_E* code, for the snapshot */
    uint32_t jw;           /* DONE: 1 + index in the job's jw[] it counted on */
    bool part;             /* RUNNING as a partitioned table (coord_part.c): held
                              by the coordinator, worker 0, its groups at workers */
} coord_task;

/* A keys file too big for one graph, solved group by group (coord_part.c):
 * the file read, its keys and their positions grouped by bucket, the
 * bucket entries, and the table's vertex values written group by group
 * into a temporary file of their final size in OUT/NAME/. */
typedef struct coord_part coord_part;

/* One group of consecutive buckets of a partitioned table: a PART_TASK. */
typedef struct coord_pgroup {
    uint32_t b_lo, ngroup;
    uint64_t worker;       /* serial of the holder while RUNNING, else 0 */
    uint64_t sent_ms;
    uint32_t bytes;        /* keys + positions sent (credits' byte count) */
    uint8_t state;         /* TASK_QUEUED, TASK_RUNNING or TASK_DONE */
    uint8_t tries;
    uint64_t progress_ms;  /* RUNNING: when its steps last grew (or it was sent) */
    uint64_t steps;        /* RUNNING: the holder's last PROGRESS for it; 0 = not started */
} coord_pgroup;

/* A keys file too big for one graph, solved group by group (coord_part.c):
 * the file read, its keys and their positions grouped by bucket, the
 * bucket entries, and the table's vertex values written group by group
 * into a temporary file of their final size in OUT/NAME/. */

/* Counts of one job at one worker; kept after the worker leaves so that
 * per-node totals always add up. */
typedef struct coord_jw {
    uint64_t worker;       /* serial; 0 = failed before dispatch */
    char node[COORD_NODE_MAX];
    uint32_t threads;
    uint64_t inflight, succeeded, failed;
    bool replayed;         /* rebuilt from the journal: no live worker */
} coord_jw;

typedef struct coord_job {
    uint64_t id;
    char token[17];
    bool is_create;
    char *dir;             /* bulk: absolute input dir */
    char *out_dir;
    char hash[16];
    bool compact;
    uint32_t table_flags;  /* PH_TABLE_* (ph_proto.h): what written tables carry */
    uint32_t partition;    /* ph_opts.partition: 0 auto, PH_PROTO_PART_OFF, or keys
                              per bucket */
    uint32_t threads;
    uint64_t seed;
    coord_part *parts;     /* partitioned tables under way (owned, a list) */
    uint64_t parts_total, parts_done; /* their groups, for JOB */
    char *keys;            /* create: in-band keys (owned) */
    size_t keys_len;
    char *values;          /* create: starting values (owned), NULL = all 0 */
    size_t values_len;
    char *values_file;     /* bulk of one file, partitioned: its starting values
                              (a resolved path, owned), NULL = all 0 */

    coord_task *tasks;     /* sorted by file name */
    ph_result_row *rows;   /* rows[i] for tasks[i] */
    uint64_t total, next;  /* next: first never-dispatched task */
    uint64_t *requeue;     /* FIFO of task indexes taken back from workers */
    size_t rq_head, rq_len, rq_cap;
    uint64_t inflight, succeeded, failed;
    uint64_t writing;      /* tasks in TASK_WRITING */
    uint64_t first_error_index;
    char first_error[512];
    uint32_t state;        /* ph_job_state */
    uint64_t start_us, end_us;   /* monotonic (ph_time_us) */
    uint64_t start_wall_us;      /* wall clock at acceptance, journaled; 0 = unknown */
    coord_jw *jw;
    size_t njw, capjw;
    bool cancel;           /* cancelled: nothing more is dispatched; ends
                              PH_JOB_CANCELLED once nothing is in flight */
    bool done_recorded;    /* replay: the journal has its DONE record */
    bool restored;         /* rebuilt from the journal: a previous process may
                              have left saved assemblies of its tables */
    bool forget;           /* retention ended: coord_jobs_sweep frees it */
    uint64_t done_elapsed_us; /* replay: its run time, from that record */
    uint64_t stalled;      /* running tasks quiet in the last stall scan */
    uint64_t stalls;       /* tasks taken back for a stall */
} coord_job;

typedef struct coord_waiter {
    unsigned char ident[COORD_IDENT_MAX];
    size_t ident_len;
    uint64_t job_id;
    uint64_t deadline_ms;
} coord_waiter;

/* One successful RESULT on its way to disk: owns the received frame and
 * the decoded message viewing into it. */
typedef struct coord_wjob {
    uint64_t job_id, task_id, worker;  /* worker: serial of the sender */
    const char *out_dir;               /* the job's; jobs live until teardown */
    uint32_t table_flags;              /* the job's PH_TABLE_* bits */
    unsigned key_size;                 /* the task's: 4 or 8 */
    char name[256];                    /* table name */
    const void *keys;                  /* the keys the worker was sent: */
    size_t keys_len;                   /* the task's (bulk), the job's (create) */
    void *keys_owned;                  /* bulk: the task's buffer, moved here */
    const void *values;                /* create: the job's starting values, or NULL */
    zmq_msg_t frame;
    ph_msg msg;
    int status;                        /* filled by the writer */
    ph_err err;
    /* Other work for the pool (a partitioned table's build, coord_part.c):
     * run(wj) on a writer thread instead of coord_write_table, and the
     * loop hands the finished job to coord_part_done, which frees it. */
    int (*run)(struct coord_wjob *wj);
    coord_part *part;
    uint32_t group;                    /* a group's check: which */
    uint64_t check_us, check_cpu_us;
} coord_wjob;

typedef struct coord_writer coord_writer;
typedef struct coord_journal coord_journal;

/* The job table: the jobs still known, in id order (ids only grow; a job
 * forgotten after its retention leaves a gap, never a reused id). */
typedef struct coord_jobs {
    coord_job **v;
    size_t n, cap;
    uint64_t next_id;      /* the id the next new job gets (0 = 1) */
} coord_jobs;

typedef struct coord {
    const coord_opts *opts;
    void *sock;
    coord_writer *writer;  /* NULL: the loop writes tables itself */
    struct ph_zap *zap;    /* CURVE allow-list handler, or NULL */
    unsigned max_tries;
    coord_journal *journal; /* --state-dir, or NULL */
    const char *const *roots; /* --allow-root; none = no confinement */
    size_t nroots;
    bool taken;            /* handler kept the current frame (recv_one) */
    uint64_t start_ms;
    coord_worker **workers;
    size_t nworkers, capworkers, cursor;
    uint64_t next_serial;
    coord_jobs jobs;
    size_t first_live;     /* jobs before it have all finished */
    size_t job_cursor;     /* round robin over jobs from first_live */
    coord_waiter *waiters;
    size_t nwaiters, capwaiters;
    uint64_t last_hb_ms;
    uint64_t last_stall_ms; /* last stall scan (coord_stall.c) */
    uint64_t retain_ms;    /* last full retention pass */
    coord_part *part_orphans; /* closed parts with checks still on writer threads */
    coord_wjob **unsynced; /* finished writes waiting for their sync */
    size_t nunsynced, capunsynced;
    uint64_t unsynced_since_ms;
    int trace_fd;          /* PH_TEST_DURABILITY_TRACE, or -1 */
    struct ph_lograte *lograte; /* log budget of peer events (coord_log_peer) */
    bool quit;
} coord;

/* ---- leaves ------------------------------------------------------------ */

/* coord_job.c: the job table.  Calls nothing else of the coordinator. */

/* A job's fields as the journal keeps them. */
typedef struct coord_job_restore {
    uint64_t id;
    const char *token;
    bool is_create, compact;
    uint32_t table_flags;
    uint32_t partition;
    uint32_t threads;
    uint64_t seed;
    char hash[16];
    const char *dir, *out_dir;
    char **files;          /* taken over on success */
    uint64_t nfiles;
    const char *keys;
    size_t keys_len;
    const char *values;    /* create: starting values, NULL/0 = all 0 */
    size_t values_len;
    const char *values_file; /* bulk: NULL or the job's values file */
} coord_job_restore;

/* A bulk job over the *.keys files of dir (both paths already resolved and
 * confined by the caller); creates out_dir. */
int coord_job_bulk(const char *dir, const char *out_dir, const ph_opts *o, coord_job **out,
                   ph_err *err);
/* The starting values of j, a bulk job of one keys file with values: the
 * file at path (resolved and confined by the caller), read when its
 * partitioned table is assembled.  PH_EINVAL for any other job. */
int coord_job_values_file(coord_job *j, const char *path, ph_err *err);
/* A create job of one in-band keys set named name. */
int coord_job_create(const ph_msg_submit_create *m, const char *out_dir, coord_job **out,
                     ph_err *err);
/* Give j the next id and a fresh token and append it to t. */
int coord_jobs_add(coord_jobs *t, coord_job *j, ph_err *err);
/* Take back the job coord_jobs_add appended last (its journal record failed). */
void coord_jobs_unadd(coord_jobs *t);
/* Rebuild a job from its journal record, under its old id and token. */
int coord_jobs_restore(coord_jobs *t, const coord_job_restore *rs);
void coord_jobs_free(coord_jobs *t);
/* Forget job id (it must have finished): removed from t and freed. */
void coord_jobs_forget(coord_jobs *t, uint64_t id);
/* Free and remove every job marked forget; returns the jobs left. */
size_t coord_jobs_sweep(coord_jobs *t);
/* A finished job as a snapshot keeps it: counts, outcome, per-node totals. */
typedef struct coord_job_summary {
    uint64_t id;
    const char *token;
    bool is_create;
    uint32_t state;
    uint64_t total, succeeded, failed, elapsed_us;
    const char *first_error, *dir, *out_dir;
    size_t nnodes;
    const char *const *nodes;      /* node names */
    const uint64_t *node_counts;   /* succeeded, failed per node */
} coord_job_summary;
int coord_jobs_restore_finished(coord_jobs *t, const coord_job_summary *s);
coord_job *coord_job_by_token(const coord_jobs *t, ph_bytes token);
coord_job *coord_job_by_id(const coord_jobs *t, uint64_t id);
bool coord_job_pending(const coord_job *j);
/* A task whose table would take the C symbols of an earlier task of its
 * job: PH_ENAME with a message naming both files; PH_OK otherwise. */
int coord_job_name_check(const coord_job *j, uint64_t task, ph_err *err);
/* Bytes per key of a task's keys: 8 or 4 as the job's PH_TABLE_KEY64 /
 * PH_TABLE_KEY32 say; a create job without KEY64 is 4; a bulk job without
 * either goes by the file name (ph_keys_size_of_name). */
unsigned coord_job_key_size(const coord_job *j, uint64_t task);
/* Cancel j (running): nothing more is dispatched and queued tasks are
 * dropped (they get no row).  True when nothing is in flight or being
 * written: the job can be settled now. */
bool coord_job_cancel(coord_job *j);
/* Task of a cancelled job came back without a result (answered
 * PH_ECANCELED, or taken from its worker): it gets no row.  True when that
 * was the last task in flight. */
bool coord_job_drop_task(coord_job *j, uint64_t task);
/* A cancelled job with nothing in flight or being written. */
bool coord_job_drained(const coord_job *j);
/* Take the next task to dispatch (requeued first). */
uint64_t coord_job_take(coord_job *j);
void coord_job_requeue(coord_job *j, uint64_t task);
coord_jw *coord_job_jw(coord_job *j, const coord_worker *w);
coord_jw *coord_job_jw_serial(coord_job *j, uint64_t serial);
/* The per-node entry of results replayed from the journal for node. */
coord_jw *coord_job_jw_replayed(coord_job *j, const char *node);
/* Record a final result for task (status 0 = ok) in its row and counts;
 * true when that was the job's last task. */
bool coord_job_finish_task(coord_job *j, uint64_t task, coord_jw *jw, const ph_msg_result *r,
                           int status, const char *error);
/* Every task has its result (or the cancelled job has drained): write
 * results.csv (rows of the tasks with a result), set the final state, free
 * the tasks. */
void coord_job_complete(coord_job *j);
/* The journal says j was accepted at wall-clock time wall_us (its START
 * record): its elapsed time counts from then, not from the restart. */
void coord_job_started_at(coord_job *j, uint64_t wall_us);
/* A job whose DONE record was replayed: its results.csv is on disk. */
void coord_job_completed_before(coord_job *j, uint64_t elapsed_us);
/* Fill a JOB message; nodes array allocated (free with free(m->nodes)). */
int coord_job_msg(const coord_job *j, ph_msg_job *m);
void coord_job_free(coord_job *j);

/* coord_journal.c: records on disk (--state-dir).  A NULL journal takes
 * every append as a no-op. */
enum {
    COORD_JREC_JOB = 1, COORD_JREC_TASK = 2, COORD_JREC_DONE = 3,
    COORD_JREC_FINISHED = 4, COORD_JREC_NEXTID = 5, COORD_JREC_FORGET = 6,
    COORD_JREC_START = 7, COORD_JREC_CANCEL = 8
};
typedef struct coord_jrec {
    int type;
    coord_job_restore job;     /* JOB */
    coord_job_summary finished; /* FINISHED */
    uint64_t job_id;           /* TASK, DONE, FORGET, CANCEL; NEXTID: the next id */
    uint64_t task;             /* TASK */
    const char *node;
    ph_msg_result result;
    int status;
    const char *error;
    uint64_t elapsed_us;       /* DONE */
    uint64_t start_wall_us;    /* START */
} coord_jrec;
/* Called once per replayed record, in order; non-zero = not applied (the
 * record is logged and skipped). */
typedef int (*coord_jrec_fn)(void *ctx, coord_jrec *rec);
/* Replay STATE_DIR's snapshot and log through fn, then open the log for
 * appending; compact_bytes: see coord_journal_wants_compact. */
int coord_journal_open(const char *state_dir, uint64_t compact_bytes, coord_jrec_fn fn,
                       void *ctx, coord_journal **out, ph_err *err);
int coord_journal_job(coord_journal *jl, const coord_job *j, ph_err *err);
void coord_journal_task(coord_journal *jl, const coord_job *j, uint64_t task,
                        const char *node, int status, const char *error);
void coord_journal_done(coord_journal *jl, const coord_job *j);
void coord_journal_forget(coord_journal *jl, const coord_job *j);
/* Synced before the cancel is acknowledged: a restart keeps it cancelled. */
int coord_journal_cancel(coord_journal *jl, const coord_job *j, ph_err *err);
/* The log has outgrown both compact_bytes and the snapshot it follows. */
bool coord_journal_wants_compact(const coord_journal *jl);
/* Replace snapshot and log by a snapshot of jobs (ph_jstore.h). */
int coord_journal_compact(coord_journal *jl, const coord_jobs *jobs, ph_err *err);
/* Snapshot plus log, in bytes. */
uint64_t coord_journal_bytes(const coord_journal *jl);
/* Sync appended records (at most every 50 ms unless force). */
void coord_journal_flush(coord_journal *jl, bool force);
void coord_journal_close(coord_journal *jl);

/* coord_write.c */
/* Check wj's table against the task's keys, render its files and write
 * them under wj->out_dir, atomically each.  A table that fails any check
 * writes nothing (PH_EPROTO / PH_EVERIFY). */
int coord_write_table(const coord_wjob *wj, ph_err *err);
int coord_writer_start(unsigned nthreads, coord_writer **out, ph_err *err);
int coord_writer_fd(const coord_writer *wr);
/* Queue wj; false if the pool is absent or full (then write it yourself). */
bool coord_writer_submit(coord_writer *wr, coord_wjob *wj);
/* A finished write, or NULL. */
coord_wjob *coord_writer_take(coord_writer *wr);
/* Join the threads, free unfinished writes. */
void coord_writer_stop(coord_writer *wr);
void coord_wjob_free(coord_wjob *wj);

/* coord_reply.c: sending to one peer. */
int coord_reply(coord *c, const void *ident, size_t ident_len, const ph_msg *m);
void coord_reply_error(coord *c, const void *ident, size_t ident_len, int code,
                       const char *text);
void coord_reply_job(coord *c, const void *ident, size_t ident_len, const coord_job *j);
/* CANCEL_TASK to w: stop its copies of a task (or of the task's groups). */
void coord_reply_cancel_task(coord *c, const coord_worker *w, uint64_t job_id,
                             uint64_t task_id);
/* ERROR(PH_EINVAL) "unknown or expired job token '...'". */
void coord_reply_unknown_token(coord *c, const void *ident, size_t ident_len, ph_bytes token);
/* Printable form of a peer identity (out: 2 * n + 1 bytes). */
void coord_ident_text(const unsigned char *id, size_t n, char *out);
uint64_t coord_now_ms(void);
/* Should this event caused by a peer be logged at level?  Repeated events
 * of one kind from one peer are rate-limited (ph_lograte.h: a few per
 * window, then one line with the count). */
bool coord_log_peer(coord *c, const char *event, const void *ident, size_t ident_len,
                    enum ph_log_level level);

/* ---- above the leaves ------------------------------------------------------ */

/* coord_outcome.c */
/* Task t of j has its final result: row, journal, and if it was the last,
 * the job's completion. */
void coord_task_settle(coord *c, coord_job *j, uint64_t t, coord_jw *jw,
                       const ph_msg_result *r, int status, const char *error);
/* Task t was taken from its worker (jw its entry, may be NULL): queue it
 * again, or fail it once it has been taken back max_tries times. */
void coord_task_taken_back(coord *c, coord_job *j, uint64_t t, coord_jw *jw, int code,
                           const char *why);
/* Every task of j has its result: results.csv, DONE record, waiters. */
void coord_job_settle(coord *c, coord_job *j);
/* Task t of cancelled j came back without a result; settles j once it has
 * drained. */
void coord_task_dropped(coord *c, coord_job *j, uint64_t t);

/* coord_cancel.c */
/* CANCEL: journal it, stop dispatching the job, drop its queued tasks,
 * tell the workers holding its running ones; reply CANCEL_REPLY. */
void coord_on_cancel(coord *c, const void *ident, size_t n, const ph_msg_cancel *m);

/* coord_client.c */
void coord_on_submit(coord *c, const void *ident, size_t n, const ph_msg *m);
void coord_on_wait(coord *c, const void *ident, size_t n, const ph_msg_wait *m);
void coord_on_status(coord *c, const void *ident, size_t n);
/* Answer the WAITs of j (it has finished). */
void coord_notify_job(coord *c, const coord_job *j);
/* Answer WAITs whose deadline passed. */
void coord_expire_waiters(coord *c, uint64_t now);
/* Path confinement (--allow-root); resolved gets the canonical path. */
int coord_check_path(const coord *c, const char *what, const char *path, char *resolved,
                     size_t len, ph_err *err);

/* coord_credit.c: a leaf on one coord_worker (and the worker list) */
coord_worker *coord_worker_by_serial(coord *c, uint64_t serial);
/* May w be sent one more task now (credits, prefetch by pace)? */
bool coord_worker_has_room(const coord *c, const coord_worker *w);
/* w was sent a task of len keys bytes / no longer holds one. */
void coord_worker_charge(coord_worker *w, size_t len);
void coord_worker_release(coord_worker *w, const coord_task *t);
void coord_worker_release_bytes(coord_worker *w, uint64_t bytes);
/* A task (or group) of nkeys keys is stalled after this long without
 * progress (coord_stall.c applies it). */
uint64_t coord_stall_limit_ms(const coord_opts *o, uint64_t nkeys);
/* Since when a task or group w holds has been quiet (steps: its last
 * reported steps, 0 = not started; progress_ms: when they last grew). */
uint64_t coord_stall_quiet_since(const coord_worker *w, uint64_t steps, uint64_t progress_ms);
/* Room for one more group of a partitioned table: its threads plus one, so
 * the next group is there when a group's result leaves (threads stuck with
 * tasks taken back from w do not count). */
bool coord_worker_has_room_part(const coord_worker *w);
/* A result came from w: one sample of its pace. */
void coord_worker_pace(coord_worker *w);

/* coord_worker.c */
coord_worker *coord_worker_find(coord *c, const void *ident, size_t n, size_t *idx);
void coord_on_ready(coord *c, const void *ident, size_t n, const ph_msg_ready *r);
/* frame: the received RESULT; taken (c->taken) when its table is written. */
void coord_on_result(coord *c, coord_worker *w, zmq_msg_t *frame, ph_msg *m);
void coord_on_heartbeat(coord *c, coord_worker *w, const ph_msg_heartbeat *h);
/* A table write finished (in the pool or inline): true when wj was kept
 * (coord_durable.c), else the caller frees it. */
bool coord_finish_write(coord *c, coord_wjob *wj);
/* Requeue every task w holds; returns how many. */
uint64_t coord_worker_take_back(coord *c, coord_worker *w);
/* Take back everything workers[idx] holds and forget it. */
void coord_worker_drop(coord *c, size_t idx, const char *why);
/* Timers: drop silent workers, heartbeat the rest, expire tasks. */
/* heard_all: every message queued on the socket has been read; until it
 * has, a worker is dropped for silence only past twice the liveness (its
 * heartbeats may be waiting behind a slow loop). */
void coord_workers_tick(coord *c, uint64_t now, bool heard_all);

/* coord_stall.c */
/* How long a quiet task (or group) counts as stalled in status before its
 * limit. */
#define COORD_STALL_SHOW_MS 5000u
/* A PROGRESS from w: the steps of the tasks it has started. */
void coord_on_progress(coord *c, coord_worker *w, const ph_msg_progress *p);
/* Timer: take back stalled tasks, count the quiet ones per job; only when
 * heard_all (every message queued for us was read). */
void coord_stall_tick(coord *c, uint64_t now, bool heard_all);


/* coord_dispatch.c */
/* Send tasks while some job has one and some worker has room. */
void coord_dispatch(coord *c);

/* coord_durable.c */
void coord_durable_init(coord *c);
/* A table write finished: with a journal it waits for the batch's sync
 * (true: wj is kept, freed by the flush); otherwise it is settled now. */
bool coord_durable_add(coord *c, coord_wjob *wj);
/* Sync and settle the batch if it is full or old enough (or force). */
void coord_durable_flush(coord *c, bool force);
/* timeout capped so the loop wakes when the batch is due. */
long coord_durable_timeout(const coord *c, long timeout);
/* Flush the batch, close the trace. */
void coord_durable_stop(coord *c);

/* coord_sync.c (leaf) */
/* syncfs(2) on the filesystem holding dir. */
int coord_sync_dir(coord *c, const char *dir, ph_err *err);
/* The test trace of PH_TEST_DURABILITY_TRACE: open, one line, close. */
void coord_sync_trace_open(coord *c);
void coord_sync_trace(coord *c, const char *fmt, uint64_t a, uint64_t b);
void coord_sync_trace_close(coord *c);

/* coord_retain.c */
/* Forget finished jobs past their retention (journaled), and compact the
 * journal when its log has grown enough. */
void coord_retain(coord *c, uint64_t now_ms);

/* coord_part.c: partitioned tables of keys files too big for one graph */
/* Keys per bucket for bulk task t of j (PH_PART_OFF: one graph, the
 * ordinary TASK); a file that cannot be sized is left to the TASK path,
 * which reports it. */
uint32_t coord_part_choose(const coord_job *j, uint64_t t);
/* Open task t of j as a partitioned table (map, split, temporary values
 * file); on failure the task is settled failed. */
void coord_part_open(coord *c, coord_job *j, uint64_t t, uint32_t keys_per_bucket);
/* j has a group waiting to be sent. */
bool coord_part_pending(const coord_job *j);
/* Send j's next group to w (a full queue marks w blocked); an error means
 * w cannot be sent to (the caller drops it). */
int coord_part_send(coord *c, coord_job *j, coord_worker *w, ph_err *err);
/* frame: the received PART_RESULT; taken (c->taken) when its check goes
 * to the writer pool. */
void coord_on_part_result(coord *c, coord_worker *w, zmq_msg_t *frame, ph_msg *m);
/* Groups held by w go back to their queues; returns how many. */
uint64_t coord_part_take_back(coord *c, coord_worker *w);
/* Groups held past the task timeout go back to their queues. */
void coord_part_expire(coord *c, uint64_t now, uint64_t limit);
/* A PROGRESS entry for a group: its steps recorded if w holds it (true),
 * else false (the group is no longer w's: a stuck thread of w). */
bool coord_part_progress(coord *c, coord_worker *w, const ph_group_progress *e, uint64_t now);
/* Stall rule for groups (coord_stall.c): take back groups quiet past their
 * limit, add the quiet ones to their job's stalled count. */
void coord_part_stall(coord *c, uint64_t now);
/* A job of the writer pool with part set came back (the loop). */
void coord_part_done(coord *c, coord_wjob *wj);
/* Teardown, after the writer pool stopped: parts closed while groups were
 * being checked. */
void coord_part_orphans_free(coord *c);
/* Teardown: drop j's open parts (temporary files removed). */
void coord_part_abandon(coord_job *j);
/* j was cancelled: each worker holding a group of an open part gets
 * CANCEL_TASK, the parts are closed (temporary files removed, no row) and
 * their tasks dropped without settling j; returns how many.  A part still
 * being built on a writer thread is dropped when its build comes back. */
uint64_t coord_part_cancel(coord *c, coord_job *j);

/* With --state-dir: task t of j failed; a saved assembly of its table
 * that a restart left (the keys file gone or no longer a keys file, so the
 * table was never opened) is removed with OUT/NAME if that leaves it empty.
 * Only for a job rebuilt from the journal: no other job can have one. */
void coord_part_discard_saved(const coord *c, const coord_job *j, uint64_t t);
/* The same for every task of cancelled j that is queued (never sent, or
 * taken back) and not an open part: one open of OUT, one lookup a task. */
void coord_part_discard_queued(const coord *c, const coord_job *j);

/* coord_part_resume.c (leaf): with --state-dir, a partitioned table's
 * values are assembled under a fixed name beside a progress record, so a
 * restarted coordinator sends only the groups not yet in. */
typedef struct coord_psave coord_psave;
struct ph_keys_map;
/* What one assembly is: a record of any other is discarded. */
typedef struct coord_psave_id {
    const char *token;             /* the job's */
    const char *name;              /* table name */
    const struct ph_keys_map *km;  /* the keys file as read (identity, key count) */
    uint64_t table_seed, per_group, nverts;
    uint32_t kpb, nbuckets, ngroups;
} coord_psave_id;
/* What a resumed assembly found: groups already in, their graphs tried;
 * note: why a record there was not used (empty: none, or it was). */
typedef struct coord_psave_resumed {
    uint32_t groups, max_attempts;
    uint64_t attempts;
    char note[200];
} coord_psave_resumed;
/* On a writer thread, after the layout: open (creating) NAME.values.partial
 * below dirfd (OUT/NAME, shown in errors) and lock it; take up its record if
 * it is this assembly's and intact (groups named there set TASK_DONE and
 * their buckets' seeds set in buckets), else empty it and size it to
 * nverts values.  *out NULL (and PH_OK) when another assembly holds the
 * file, or (res->note says why) it has other names (hard links): the
 * caller uses a one-off temporary and leaves the file alone. *vfd: the values file (the
 * caller closes it, which drops the lock). */
int coord_psave_open(const coord_psave_id *id, int dirfd, const char *shown,
                     coord_pgroup *groups, uint64_t *buckets, coord_psave **out, int *vfd,
                     coord_psave_resumed *res, ph_err *err);
void coord_psave_free(coord_psave *s);
/* The values file's name below OUT/NAME. */
const char *coord_psave_values_name(const coord_psave *s);
/* Group g's values (len bytes) were written (a writer thread, before the
 * group settles): its checksum and graphs tried for the record.  s may be NULL. */
void coord_psave_group(coord_psave *s, uint32_t g, const void *values, size_t len,
                       uint64_t attempts, uint32_t max_attempts);
/* Is a record due (ndone groups in, more than the record names, none being
 * written)?  false for NULL. */
bool coord_psave_due(const coord_psave *s, uint32_t ndone);
bool coord_psave_busy(const coord_psave *s);
/* Groups the record on disk names. */
uint32_t coord_psave_saved(const coord_psave *s);
/* The loop: the next record, of the groups TASK_DONE now; s is busy until
 * coord_psave_written. */
int coord_psave_snapshot(coord_psave *s, const coord_pgroup *groups, const uint64_t *buckets,
                         ph_err *err);
/* A writer thread: sync the values file vfd, then write the record. */
int coord_psave_write(coord_psave *s, int vfd, int dirfd, ph_err *err);
/* Back on the loop: ok if the write succeeded. */
void coord_psave_written(coord_psave *s, bool ok);
/* Remove the record (the table failed, or its values are in place). */
void coord_psave_remove(const coord_psave *s, int dirfd);
/* A table that failed before (or without) its assembly was opened: the
 * values file NAME.values.partial below dirfd and its record go, when the
 * record is the job's (token) and no assembly holds the file; no link is
 * followed.  true when both were removed. */
bool coord_psave_discard(int dirfd, const char *name, const char *token);
/* PH_TEST_PART_HOLD=N (tests and benchmarks only): each partitioned table
 * sends no more than N groups, and logs "test hold reached" once they are
 * all in its record; 0 when unset. */
uint32_t coord_psave_test_hold(void);

/* coord_restore.c */
/* Replay --state-dir's journal into the job table and open it. */
int coord_restore(coord *c, const char *state_dir, ph_err *err);

#endif
