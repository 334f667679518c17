/* ph_proto.h - the messages of the phcluster wire protocol (msgpack).
 *
 * One ZeroMQ frame carries one message: a msgpack array
 *     [version, type, field...]
 * whose fields are fixed per type (see docs/PROTOCOL.md).  The decoder is
 * strict: the frame size is capped before parsing, container counts are
 * checked against the bytes left, every field's type is checked, and
 * trailing bytes are refused.
 *
 * Decoded strings and byte fields are views (ph_bytes) into the frame that
 * was decoded: keep the frame alive as long as the message.  Arrays inside a
 * decoded message (workers, jobs, per-node counts) are owned by
 * the message and released by ph_msg_free. */
#ifndef PH_PROTO_H
#define PH_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

/* 2: RESULT carries the solved table instead of rendered files.
 * 3: partitioned tables over the cluster (PART_TASK, PART_RESULT, opts.partition,
 *    JOB part counts); PROGRESS, JOB's stalled and stalls, worker_info's
 *    stuck.
 * 4: CANCEL, CANCEL_REPLY and CANCEL_TASK; job states CANCELLED and
 *    CANCELLING. */
#define PH_PROTO_VERSION 4
/* Largest frame accepted (also set as ZMQ_MAXMSGSIZE on every socket). */
#define PH_PROTO_MAX_FRAME (64u * 1024u * 1024u)
#define PH_PROTO_MAX_LIST 100000u   /* workers, jobs, nodes */
/* Room a frame keeps beside its bulk payload (the keys of a TASK or a
 * SUBMIT_CREATE, the table of a RESULT) for the other fields and the
 * msgpack headers. */
#define PH_PROTO_FRAME_SLACK 65536u
/* The most key bytes one TASK or SUBMIT_CREATE carries (and so the largest
 * keys file a job takes): what is left of a frame after the slack. */
#define PH_PROTO_MAX_KEYS_BYTES (PH_PROTO_MAX_FRAME - PH_PROTO_FRAME_SLACK)

/* Liveness, the same for every peer: HEARTBEATs (and ZMTP heartbeats)
 * every PH_PROTO_HEARTBEAT_MS; a peer silent for PH_PROTO_LIVENESS_MS is
 * lost (the coordinator drops a worker and requeues its tasks, a worker
 * reconnects).  phcoord and phworker take other values with --heartbeat-ms
 * and --liveness-ms; liveness is at least twice the heartbeat. */
#define PH_PROTO_HEARTBEAT_MS 250
#define PH_PROTO_LIVENESS_MS 3000
/* A worker reports the progress of the tasks it has started (PROGRESS)
 * this often, whatever else it sends; the coordinator's stall limits
 * (phcoord --stall-ms) are at least twice this. */
#define PH_PROTO_PROGRESS_MS 1000

typedef enum ph_msg_type {
    /* worker -> coordinator */
    PH_MSG_READY = 1,
    PH_MSG_HEARTBEAT = 2,      /* both directions */
    PH_MSG_RESULT = 3,
    /* coordinator -> worker */
    PH_MSG_TASK = 4,
    PH_MSG_STOP = 5,           /* worker: finish up and exit */
    PH_MSG_PART_TASK = 6,      /* a group of buckets of a partitioned table */
    /* worker -> coordinator */
    PH_MSG_PART_RESULT = 7,    /* the solved group: bucket seeds, vertex values */
    PH_MSG_PROGRESS = 8,       /* the worker's started tasks and their steps */
    /* coordinator -> worker */
    PH_MSG_CANCEL_TASK = 9,    /* stop one task (a TASK, or the PART_TASK groups
                                  of one file), answer it PH_ECANCELED */
    /* client -> coordinator */
    PH_MSG_SUBMIT_CREATE = 10,
    PH_MSG_SUBMIT_BULK = 11,
    PH_MSG_WAIT = 12,
    PH_MSG_STATUS = 13,
    PH_MSG_SHUTDOWN = 14,
    PH_MSG_PING = 15,
    PH_MSG_CANCEL = 16,        /* cancel a job by token */
    /* coordinator -> client (replies) */
    PH_MSG_ACCEPTED = 20,
    PH_MSG_JOB = 21,           /* reply to WAIT: progress or final state */
    PH_MSG_STATUS_REPLY = 22,
    PH_MSG_OK = 23,            /* reply to SHUTDOWN */
    PH_MSG_PONG = 24,
    PH_MSG_ERROR = 25,
    PH_MSG_CANCEL_REPLY = 26,  /* reply to CANCEL */
} ph_msg_type;

typedef struct ph_bytes {
    const char *p;   /* not NUL-terminated */
    uint32_t n;
} ph_bytes;

typedef struct ph_opts {
    ph_bytes hash;       /* "auto", "mulshift", "mulrot", "mix" */
    bool compact;
    uint32_t threads;    /* solver threads per task; 0 = worker decides */
    uint64_t seed;
    uint32_t table_flags; /* PH_TABLE_* bits: what the written table carries */
    uint32_t partition;  /* big sets: 0 = auto, PH_PROTO_PART_OFF = one graph, else
                            keys per bucket; absent on the wire (4 or 5 entries) = 0 */
} ph_opts;

#define PH_PROTO_PART_OFF UINT32_MAX

/* table_flags bits.  Absent on the wire (a 4-entry opts) means 0. */
#define PH_TABLE_INDEX_ONLY 1u /* no key set, no NAME_find: Index alone */
#define PH_TABLE_BIN 2u        /* also write NAME/NAME.phc, the binary table file */
#define PH_TABLE_NO_C 4u       /* leave out the C sources (with PH_TABLE_BIN) */
/* The key size.  TASK and SUBMIT_CREATE: KEY64 set = the keys are 8-byte
 * little-endian, else 4-byte.  SUBMIT_BULK: KEY64 = every file is 8-byte,
 * KEY32 = every file is 4-byte, neither = by file name (ph_keys_size_of_name:
 * 8 for a letter then "64.keys", as in ids64.keys).  A
 * job of 32-bit keys encodes as before the key size existed; a peer that
 * predates it refuses a KEY64 job as "unknown bits set". */
#define PH_TABLE_KEY64 8u
#define PH_TABLE_KEY32 16u
/* Values (--values 4|8): one uint32 / uint64 per key and NAME_lookup,
 * NAME_insert, NAME_delete, NAME_increment; they need the key set (refused
 * with PH_TABLE_INDEX_ONLY).  They start at 0, or for a create at
 * SUBMIT_CREATE.values. */
#define PH_TABLE_VALUES32 32u
#define PH_TABLE_VALUES64 64u
#define PH_TABLE_FLAGS_KNOWN                                                               \
    (PH_TABLE_INDEX_ONLY | PH_TABLE_BIN | PH_TABLE_NO_C | PH_TABLE_KEY64 | PH_TABLE_KEY32 | \
     PH_TABLE_VALUES32 | PH_TABLE_VALUES64)

typedef struct ph_msg_ready {
    ph_bytes host;
    uint32_t pid;
    uint32_t numa_node;
    uint32_t threads;
    uint32_t credits;    /* tasks it will hold at once (threads + prefetch) */
} ph_msg_ready;

typedef struct ph_msg_heartbeat {
    uint32_t running;
    uint64_t done;
    uint64_t failed;
} ph_msg_heartbeat;

/* One started task in a PROGRESS: steps grows while its solve works (one
 * when a thread takes it, one per attempt and per phase); a task whose
 * steps stop growing is stalled. */
typedef struct ph_task_progress {
    uint64_t job_id;
    uint64_t task_id;
    uint64_t steps;
} ph_task_progress;

/* The same for one started group of buckets of a partitioned table. */
typedef struct ph_group_progress {
    uint64_t job_id;
    uint64_t task_id;
    uint32_t group;
    uint64_t steps;
} ph_group_progress;

typedef struct ph_msg_progress {
    uint32_t ntasks;
    ph_task_progress *tasks;   /* owned when decoded */
    uint32_t ngroups;
    ph_group_progress *groups; /* owned when decoded */
} ph_msg_progress;

typedef struct ph_msg_task {
    uint64_t job_id;
    uint64_t task_id;
    ph_bytes name;       /* table name, e.g. "foo-123" */
    ph_bytes keys;       /* raw LE uint32 keys, validated by the worker */
    ph_opts opts;
} ph_msg_task;

/* Hash families on the wire (the values of ph_hash_kind; AUTO is never a
 * table's family). */
#define PH_PROTO_HASH_MAX 2u

/* A solved table as a worker ships it (ph_table of solver/ph_solver.h
 * without the timings).  The decoder checks the field types, hash <=
 * PH_PROTO_HASH_MAX, width 2 or 4 and assigned.n == nverts * width; the
 * coordinator checks the shape against nkeys and verifies every key. */
typedef struct ph_table_view {
    uint32_t hash;       /* ph_hash_kind */
    bool compact;
    uint32_t seeds[4];
    uint32_t nkeys;
    uint32_t nedges;
    uint32_t nverts;
    uint32_t shift;
    uint32_t width;      /* bytes per assigned element: 2 or 4 */
    ph_bytes assigned;   /* nverts elements, little-endian */
} ph_table_view;

typedef struct ph_msg_result {
    uint64_t job_id;
    uint64_t task_id;
    int32_t status;      /* PH_OK or a PH_E* code */
    ph_bytes error;      /* one line when status != 0 */
    uint32_t numa_node;
    uint32_t keys;
    ph_bytes hash;       /* family used */
    uint32_t seeds[4];
    uint32_t vertices;
    uint64_t attempts;
    uint64_t solve_us;
    uint64_t verify_us;
    uint64_t table_bytes;
    bool has_table;      /* an empty array on the wire when false */
    ph_table_view table; /* set iff has_table (a success, except fake work) */
} ph_msg_result;

/* Bytes per key of a PART_TASK: 4 (uint32 keys) or 8 (uint64 keys), and
 * nothing between. */
#define PH_PROTO_KEY_SIZE_MIN 4u
#define PH_PROTO_KEY_SIZE_MAX 8u

/* A group of consecutive buckets of a partitioned table (solver/ph_part.h):
 * the keys of buckets [bucket_lo, bucket_lo + ngroup) grouped by bucket, in
 * ascending position within a bucket, with their global positions.  The
 * decoder checks counts.n % 4 == 0 (ngroup = counts.n / 4 >= 1), the group
 * inside [0, nbuckets), key_size, and keys.n == key_size * sum(counts),
 * positions.n == 4 * sum(counts). */
typedef struct ph_msg_part_task {
    uint64_t job_id;
    uint64_t task_id;        /* the keys file's task in its job */
    uint32_t group;          /* this group among the table's groups */
    ph_bytes name;           /* table name */
    uint64_t table_seed;     /* the bucket-selection seed */
    uint32_t nkeys;          /* keys of the whole table: the index modulus */
    uint32_t nbuckets;       /* buckets of the whole table */
    uint32_t bucket_lo;
    uint32_t key_size;
    uint32_t max_attempts;   /* per bucket; 0 = the solver's default */
    ph_bytes counts;         /* u32 LE keys per bucket of the group */
    ph_bytes keys;           /* key_size bytes LE per key */
    ph_bytes positions;      /* u32 LE: each key's position in the keys file */
} ph_msg_part_task;

/* A solved group: a seed per bucket and the vertex values of the group's
 * buckets back to back, in bucket order (the coordinator knows each
 * bucket's vertex count from its key count).  The decoder checks
 * seeds.n % 4 == 0, values.n % 4 == 0, and both empty when status != 0. */
typedef struct ph_msg_part_result {
    uint64_t job_id;
    uint64_t task_id;
    uint32_t group;
    int32_t status;          /* PH_OK or a PH_E* code */
    ph_bytes error;          /* one line when status != 0 */
    uint32_t numa_node;
    uint32_t bucket_lo;
    ph_bytes seeds;          /* u32 LE per bucket */
    ph_bytes values;         /* u32 LE per vertex */
    uint64_t attempts;       /* graphs tried, all buckets of the group */
    uint32_t max_bucket_attempts;
    uint64_t solve_us;       /* solve and per-bucket verification */
} ph_msg_part_result;

typedef struct ph_msg_submit_create {
    ph_bytes name;       /* table name */
    ph_bytes keys;       /* raw keys, read by the client */
    ph_bytes out_dir;    /* on the coordinator's host */
    ph_opts opts;
    ph_bytes values;     /* optional fifth field: the starting values (--values-file),
                            little-endian, one per key; empty = all 0 (and not sent) */
} ph_msg_submit_create;

typedef struct ph_msg_submit_bulk {
    ph_bytes dir;        /* on the coordinator's host */
    ph_bytes out_dir;
    ph_opts opts;
    /* Optional (a fourth field, sent only when not empty): the starting
     * values of a one-file job with values (a big create), a file on the
     * coordinator's host like dir. */
    ph_bytes values_file;
} ph_msg_submit_bulk;

typedef struct ph_msg_wait {
    ph_bytes token;
    uint32_t timeout_ms; /* reply at completion or after this long */
} ph_msg_wait;

/* A task the coordinator no longer wants (its job was cancelled). */
typedef struct ph_msg_cancel_task {
    uint64_t job_id;
    uint64_t task_id;
} ph_msg_cancel_task;

typedef struct ph_msg_cancel {
    ph_bytes token;
} ph_msg_cancel;

typedef struct ph_msg_accepted {
    ph_bytes token;
    uint64_t total;      /* tasks in the job */
} ph_msg_accepted;

typedef struct ph_node_count {
    ph_bytes node;       /* "host/numaN" */
    uint64_t queued, running, succeeded, failed;
} ph_node_count;

/* Job result codes, as the reference's bulk-create. */
typedef enum ph_job_state {
    PH_JOB_RUNNING = 0,
    PH_JOB_ALL_SUCCEEDED = 1,
    PH_JOB_SOME_FAILED = 2,
    PH_JOB_NO_KEYS = 3,      /* directory had no *.keys files */
    PH_JOB_CANCELLED = 4,    /* cancelled: tables written until then are listed */
    PH_JOB_CANCELLING = 5,   /* cancel accepted, its running tasks winding down */
} ph_job_state;

#define PH_JOB_STATE_MAX PH_JOB_CANCELLING

typedef struct ph_msg_job {
    ph_bytes token;
    uint32_t state;          /* ph_job_state */
    uint64_t total, queued, running, succeeded, failed;
    uint64_t elapsed_us;
    ph_bytes first_error;    /* "" if none */
    ph_bytes out_dir;
    uint32_t nnodes;
    ph_node_count *nodes;    /* owned */
    uint64_t stalled;        /* running tasks whose progress stopped (now) */
    uint64_t stalls;         /* times a task was taken back for a stall */
    /* Bucket groups of the job's partitioned tables: known so far, done.
     * On the wire only when parts_total > 0 (then 15 fields, else 13). */
    uint64_t parts_total, parts_done;
} ph_msg_job;

typedef struct ph_worker_info {
    ph_bytes id;             /* coordinator's name for it */
    ph_bytes host;
    uint32_t pid, numa_node, threads;
    uint32_t running;
    uint64_t done, failed;
    uint64_t last_heartbeat_ms; /* ago */
    uint32_t stuck;          /* tasks it still runs that were taken back from it */
} ph_worker_info;

typedef struct ph_msg_status_reply {
    uint64_t uptime_ms;
    uint32_t nworkers;
    ph_worker_info *workers; /* owned */
    uint32_t njobs;
    ph_msg_job *jobs;        /* owned (each with its own nodes) */
} ph_msg_status_reply;

/* already: the job was cancelled (or being cancelled) before this request. */
typedef struct ph_msg_cancel_reply {
    bool already;
    ph_msg_job job;          /* its nodes are owned */
} ph_msg_cancel_reply;

typedef struct ph_msg_error {
    int32_t code;
    ph_bytes text;
} ph_msg_error;

typedef struct ph_msg_pong {
    uint32_t version;
    uint64_t uptime_ms;
} ph_msg_pong;

typedef struct ph_msg {
    ph_msg_type type;
    union {
        ph_msg_ready ready;
        ph_msg_heartbeat heartbeat;
        ph_msg_progress progress;
        ph_msg_task task;
        ph_msg_result result;
        ph_msg_part_task part_task;
        ph_msg_part_result part_result;
        ph_msg_cancel_task cancel_task;
        ph_msg_cancel cancel;
        ph_msg_cancel_reply cancel_reply;
        ph_msg_submit_create submit_create;
        ph_msg_submit_bulk submit_bulk;
        ph_msg_wait wait;
        ph_msg_accepted accepted;
        ph_msg_job job;
        ph_msg_status_reply status_reply;
        ph_msg_error error;
        ph_msg_pong pong;
    } u;                     /* STOP, STATUS, SHUTDOWN, PING, OK have no fields */
} ph_msg;

/* ph_bytes from a C string (NULL -> empty). */
ph_bytes ph_bytes_str(const char *s);
/* Copy b into out (size outlen) with a NUL; PH_EINVAL if it does not fit
 * or b holds a NUL byte. */
int ph_bytes_cstr(ph_bytes b, char *out, size_t outlen, ph_err *err);
bool ph_bytes_eq(ph_bytes b, const char *s);

/* Encode m into a malloc'd buffer (*buf, *len), owned by the caller. */
int ph_msg_encode(const ph_msg *m, char **buf, size_t *len, ph_err *err);

/* Decode one frame.  On success out refers into buf (see above) and must be
 * released with ph_msg_free.  On failure out needs no freeing and err names
 * the offending field ("RESULT.table.width: must be 2 or 4"). */
int ph_msg_decode(const void *buf, size_t len, ph_msg *out, ph_err *err);

void ph_msg_free(ph_msg *m);

const char *ph_msg_type_name(ph_msg_type t);

/* Room for a TASK's or RESULT's fields beside its keys or table. */
#define PH_PROTO_SLACK 65536u

/* The one place where a table's size meets the frame cap: its nkeys keys
 * travel in one SUBMIT_CREATE/TASK frame and its table of table_bytes
 * (ph_table_bytes_for) in one RESULT frame.  Checked before any work;
 * PH_EINVAL naming file and the limit when either would not fit. */
int ph_proto_check_table_size(const char *file, uint64_t nkeys, uint64_t table_bytes,
                              ph_err *err);

#endif
