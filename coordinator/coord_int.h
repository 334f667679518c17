/* coord_int.h - the coordinator's state, shared by its source files.
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
#include "ph_results_csv.h"
#include "ph_proto.h"

#define COORD_IDENT_MAX 255
#define COORD_NODE_MAX 96

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
    uint64_t serial;                  /* never reused */
} coord_worker;

/* WRITING: its worker answered, the table's files are being written by
 * the writer pool; no longer the worker's, not yet final. */
enum { TASK_QUEUED = 0, TASK_RUNNING = 1, TASK_DONE = 2, TASK_WRITING = 3 };

typedef struct coord_task {
    char *file;            /* bulk: base name "x.keys"; create: table name */
    uint64_t worker;       /* serial of the holder while RUNNING, else 0 */
    uint64_t sent_ms;      /* when the current holder got it */
    void *keys;            /* bulk, RUNNING: the bytes sent, kept for the write */
    uint32_t keys_len;     /* bytes sent (create: the job's keys) */
    uint8_t state;
    uint8_t tries;         /* times taken back (timeout, worker lost) */
} coord_task;

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
    uint32_t threads;
    uint64_t seed;
    char *keys;            /* create: in-band keys (owned) */
    size_t keys_len;

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
    uint64_t start_us, end_us;
    coord_jw *jw;
    size_t njw, capjw;
    bool done_recorded;    /* replay: the journal has its DONE record */
    uint64_t done_elapsed_us; /* replay: its run time, from that record */
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
    char name[256];                    /* table name */
    const void *keys;                  /* the keys the worker was sent: */
    size_t keys_len;                   /* the task's (bulk), the job's (create) */
    void *keys_owned;                  /* bulk: the task's buffer, moved here */
    zmq_msg_t frame;
    ph_msg msg;
    int status;                        /* filled by the writer */
    ph_err err;
} coord_wjob;

typedef struct coord_writer coord_writer;

typedef struct coord {
    const coord_opts *opts;
    void *sock;
    coord_writer *writer;  /* NULL: the loop writes tables itself */
    struct ph_zap *zap;    /* CURVE allow-list handler, or NULL */
    unsigned max_tries;
    struct ph_journal *journal; /* --state-dir, or NULL */
    bool journal_dirty, replaying;
    uint64_t journal_sync_ms;
    const char *const *roots; /* --allow-root; none = no confinement */
    size_t nroots;
    bool taken;            /* handler kept the current frame (recv_one) */
    uint64_t start_ms;
    coord_worker **workers;
    size_t nworkers, capworkers, cursor;
    uint64_t next_serial;
    coord_job **jobs;      /* index = id - 1 */
    size_t njobs, capjobs;
    coord_waiter *waiters;
    size_t nwaiters, capwaiters;
    uint64_t last_hb_ms;
    bool quit;
} coord;

/* coord_journal.c */
int coord_journal_open(coord *c, const char *state_dir, ph_err *err);
int coord_journal_job(coord *c, const coord_job *j, ph_err *err);
void coord_journal_task(coord *c, const coord_job *j, uint64_t task, const char *node,
                        int status, const char *error);
void coord_journal_done(coord *c, const coord_job *j);
void coord_journal_flush(coord *c, bool force);
void coord_journal_close(coord *c);

/* coord_job.c: rebuilding jobs from the journal. */
typedef struct coord_job_restore {
    uint64_t id;
    const char *token;
    bool is_create, compact;
    uint32_t threads;
    uint64_t seed;
    char hash[16];
    const char *dir, *out_dir;
    char **files;          /* taken over on success */
    uint64_t nfiles;
    const char *keys;
    size_t keys_len;
} coord_job_restore;
int coord_job_restore_job(coord *c, const coord_job_restore *rs);
int coord_job_restore_task(coord *c, uint64_t job, uint64_t task, const char *node,
                           const ph_msg_result *r, int status, const char *error);
int coord_job_restore_done(coord *c, uint64_t job, uint64_t elapsed_us);
/* After replay: finish complete jobs, queue every unfinished task again. */
void coord_job_restore_finish(coord *c);

/* coord.c: path confinement; resolved gets the canonical path. */
int coord_check_path(const coord *c, const char *what, const char *path, char *resolved,
                     size_t len, ph_err *err);

/* coord_job.c */
int coord_job_bulk(coord *c, const ph_msg_submit_bulk *m, coord_job **out, ph_err *err);
int coord_job_create(coord *c, const ph_msg_submit_create *m, coord_job **out, ph_err *err);
coord_job *coord_job_by_token(coord *c, ph_bytes token);
coord_job *coord_job_by_id(coord *c, uint64_t id);
bool coord_job_pending(const coord_job *j);
/* Take the next task to dispatch (requeued first). */
uint64_t coord_job_take(coord_job *j);
void coord_job_requeue(coord_job *j, uint64_t task);
coord_jw *coord_job_jw(coord_job *j, const coord_worker *w);
/* Record a final result for task (status 0 = ok). */
void coord_job_finish_task(coord *c, coord_job *j, uint64_t task, coord_jw *jw,
                           const ph_msg_result *r, int status, const char *error);
/* Fill a JOB message; nodes array allocated (free with free(m->nodes)). */
int coord_job_msg(const coord_job *j, ph_msg_job *m);
void coord_job_free(coord_job *j);

coord_jw *coord_job_jw_serial(coord_job *j, uint64_t serial);

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

/* coord.c */
/* A keys file of a bulk job: O_NOFOLLOW, regular files only, size capped;
 * *buf malloc'd. */
int coord_read_keys_file(const char *path, void **buf, size_t *len, ph_err *err);
void coord_notify_job(coord *c, coord_job *j);
uint64_t coord_now_ms(void);

#endif
