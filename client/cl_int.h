/* cl_int.h - phclient's pieces: arguments, connection, output, embedded cluster.
 *
 * Every command talks to a coordinator through cl_conn; --local only
 * changes WHICH coordinator (an embedded one on inproc://), never the code
 * path, so the zero-setup default exercises the same protocol as a cluster. */
#ifndef CL_INT_H
#define CL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <zmq.h>

#include "ph_err.h"
#include "ph_local.h"
#include "ph_proto.h"

/* Exit codes (documented in --help). */
enum {
    CL_EXIT_OK = 0,
    CL_EXIT_OTHER = 1,       /* usage, bad input, refused request */
    CL_EXIT_SOME_FAILED = 2,
    CL_EXIT_NO_KEYS = 3,
    CL_EXIT_UNREACHABLE = 4,
    CL_EXIT_CANCELLED = 5,   /* the job was cancelled (phclient cancel) */
};

typedef enum cl_cmd {
    CL_CREATE, CL_BULK, CL_WAIT, CL_CANCEL, CL_STATUS, CL_SHUTDOWN, CL_PING, CL_KEYGEN,
} cl_cmd;

/* Default time for the coordinator to answer the first PING. */
#define CL_REACH_MS 2000

typedef struct cl_args {
    cl_cmd cmd;
    const char *arg;         /* FILE, DIR or TOKEN */
    const char *out_dir;
    const char *hash;        /* NULL = auto */
    bool compact;
    bool index_only;         /* tables without the key set (no NAME_find) */
    bool emit_c, emit_bin;   /* --emit: C sources (default), NAME.phc */
    unsigned key_size;       /* --key-size 4|8; 0 = from the file name (ids64.keys: 8) */
    unsigned values;         /* --values 4|8: bytes per value; 0 = no values */
    const char *values_file; /* --values-file F: starting values (create) */
    unsigned threads;        /* solver threads per table; 0 = worker decides */
    uint64_t seed;
    uint32_t partition;      /* PH_PART_AUTO, PH_PART_OFF or keys per bucket */
    bool partition_set;      /* given on the command line */
    bool local, no_wait, json, watch, metrics;
    const char *coordinator;
    char local_ep[PH_LOCAL_ENDPOINT_MAX];      /* the default: this user's local endpoint */
    const char *curve_secret;  /* our key pair's secret file (CURVE) */
    const char *curve_server;  /* the coordinator's public key file */
    int reach_ms;              /* no PONG this long: cannot reach (exit 4) */
} cl_args;

/* cl_cli.c: parse argv.  Returns -1 to exit with *exit_code (help, version,
 * usage error already printed), 0 to run. */
int cl_parse(int argc, char **argv, cl_args *a, int *exit_code);

/* cl_big.c: create --local of a big keys file, partitioned in this
 * process.  Returns 1 and sets *exit_code when it handled the command, 0
 * when the file is for the ordinary path. */
int cl_big_create(const cl_args *a, int *exit_code);

/* cl_conn.c: one DEALER to the coordinator, strictly request -> reply. */
typedef struct cl_conn {
    void *ctx;
    bool own_ctx;
    void *sock;
    const char *endpoint;
    zmq_msg_t frame;         /* frame of the current reply */
    bool have;
    ph_msg reply;            /* views into frame; valid until the next request */
} cl_conn;

/* curve_secret/curve_server: both NULL (no CURVE) or both set. */
int cl_conn_open(cl_conn *c, void *ctx, const char *endpoint, const char *curve_secret,
                 const char *curve_server, ph_err *err);
/* Send req, wait at most timeout_ms for a reply of type expect (others are
 * stale replies and skipped).  ERROR replies -> their code and text;
 * no reply -> PH_ETIMEOUT. */
int cl_conn_request(cl_conn *c, const ph_msg *req, ph_msg_type expect, int timeout_ms,
                    const ph_msg **reply, ph_err *err);
void cl_conn_close(cl_conn *c);

/* cl_output.c: progress display, summaries, JSON. */
typedef struct cl_progress {
    bool tty;
    uint64_t last_ms;
    bool drawn;
} cl_progress;

void cl_progress_init(cl_progress *p);
void cl_progress_update(cl_progress *p, const ph_msg_job *j);
void cl_progress_end(cl_progress *p);
void cl_json_job(FILE *f, const ph_msg_job *j);
void cl_json_status(FILE *f, const ph_msg_status_reply *s);
/* Prometheus text exposition of a STATUS reply. */
void cl_metrics_status(FILE *f, const ph_msg_status_reply *s);
void cl_print_status(FILE *f, const ph_msg_status_reply *s);
const char *cl_job_state_name(uint32_t state);

/* cl_local.c: an embedded coordinator + one worker per NUMA node. */
typedef struct cl_local cl_local;
int cl_local_start(cl_local **out, void **zmq_ctx, const char **endpoint, ph_err *err);
/* Call after SHUTDOWN was sent (or to abandon): joins everything. */
void cl_local_stop(cl_local *l);

/* cl_cmd.c */
int cl_run(const cl_args *a);

#endif
