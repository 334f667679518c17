/* cl_cmd.c - the commands: each one a short dialogue with the coordinator. */
#include "cl_int.h"

#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ph_keys.h"
#include "ph_keys_map.h"
#include "ph_part.h"
#include "ph_part_emit.h"
#include "ph_curve.h"
#include "ph_fs.h"
#include "ph_log.h"
#include "ph_solver.h"
#include "ph_time.h"

#define CL_REQUEST_MS 60000      /* SUBMIT (directory walk) and friends */
#define CL_WAIT_POLL_MS 250      /* long-poll slice of a WAIT */
#define CL_WAIT_RETRY_MS 2000    /* no JOB reply this long after the slice: ask again */
#define CL_WAIT_LOST_MS 30000    /* silent this long while waiting: unreachable (exit 4),
                                    or PHCLUSTER_REACH_MS if longer */

static int fail(int code, const char *msg)
{
    fprintf(stderr, "phclient: %s\n", msg);
    return code;
}

/* PH_ETIMEOUT from a request means the coordinator is gone or absent. */
static int request_failed(const ph_err *err)
{
    return fail(err->code == PH_ETIMEOUT ? CL_EXIT_UNREACHABLE : CL_EXIT_OTHER, err->msg);
}

/* Absolute form of path: realpath when it exists, else realpath of the
 * parent + the last component (an output dir the coordinator creates). */
static int abs_path(const char *path, char *out, size_t len, ph_err *err)
{
    char buf[PATH_MAX];
    if (realpath(path, buf)) {
        if (strlen(buf) >= len)
            return ph_err_set(err, PH_EINVAL, "%s: path too long", path);
        strcpy(out, buf);
        return PH_OK;
    }
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s", path);
    snprintf(b, sizeof b, "%s", path);
    const char *base = basename(b);
    char *parent = dirname(a);
    if (realpath(parent, buf)) {
        int n = snprintf(out, len, "%s/%s", strcmp(buf, "/") ? buf : "", base);
        return n > 0 && (size_t)n < len ? PH_OK
                                         : ph_err_set(err, PH_EINVAL, "%s: path too long", path);
    }
    if (path[0] == '/') { /* only on the coordinator's host, perhaps */
        snprintf(out, len, "%s", path);
        return PH_OK;
    }
    if (!getcwd(buf, sizeof buf))
        return ph_err_set(err, PH_EINVAL, "%s: cannot resolve: %s", path, strerror(errno));
    int n = snprintf(out, len, "%s/%s", buf, path);
    return n > 0 && (size_t)n < len ? PH_OK
                                     : ph_err_set(err, PH_EINVAL, "%s: path too long", path);
}

/* key_bits: PH_TABLE_KEY64, PH_TABLE_KEY32 or 0 (bulk: by file name). */
static void fill_opts(const cl_args *a, uint32_t key_bits, ph_opts *o)
{
    o->hash = ph_bytes_str(a->hash ? a->hash : "auto");
    o->compact = a->compact;
    o->threads = a->threads;
    o->seed = a->seed;
    o->table_flags = (a->index_only ? PH_TABLE_INDEX_ONLY : 0) | (a->emit_bin ? PH_TABLE_BIN : 0)
                     | (a->emit_c ? 0 : PH_TABLE_NO_C) | key_bits
                     | (a->values == 8 ? PH_TABLE_VALUES64 : a->values == 4 ? PH_TABLE_VALUES32 : 0);
    o->partition = a->partition == PH_PART_AUTO  ? 0
                   : a->partition == PH_PART_OFF ? PH_PROTO_PART_OFF
                                                 : a->partition;
}

static int exit_for_state(uint32_t state)
{
    switch (state) {
    case PH_JOB_ALL_SUCCEEDED: return CL_EXIT_OK;
    case PH_JOB_SOME_FAILED: return CL_EXIT_SOME_FAILED;
    case PH_JOB_NO_KEYS: return CL_EXIT_NO_KEYS;
    case PH_JOB_CANCELLED: return CL_EXIT_CANCELLED;
    default: return CL_EXIT_OTHER;
    }
}

static void print_final(const cl_args *a, const ph_msg_job *j)
{
    if (a->json) {
        cl_json_job(stdout, j);
        return;
    }
    double secs = (double)j->elapsed_us / 1e6;
    uint64_t done = j->succeeded + j->failed;
    if (a->cmd == CL_CREATE && j->state != PH_JOB_CANCELLED) {
        /* One table: one line either way (the error names the file). */
        if (j->state == PH_JOB_ALL_SUCCEEDED)
            printf("created 1 table in %.3f s -> %.*s\n", secs, (int)j->out_dir.n, j->out_dir.p);
        else
            fprintf(stderr, "phclient: %.*s\n", (int)j->first_error.n, j->first_error.p);
        return;
    }
    switch (j->state) {
    case PH_JOB_ALL_SUCCEEDED:
        printf("all succeeded: %" PRIu64 " table(s) in %.2f s (%.0f files/s) -> %.*s\n",
               j->succeeded, secs, secs > 0 ? (double)done / secs : 0.0, (int)j->out_dir.n,
               j->out_dir.p);
        break;
    case PH_JOB_SOME_FAILED:
        printf("some failed: %" PRIu64 " of %" PRIu64 " failed in %.2f s -> %.*s\n", j->failed,
               j->total, secs, (int)j->out_dir.n, j->out_dir.p);
        fprintf(stderr, "phclient: first failure: %.*s\n", (int)j->first_error.n,
                j->first_error.p);
        break;
    case PH_JOB_NO_KEYS:
        fprintf(stderr, "phclient: no *.keys files found\n");
        break;
    case PH_JOB_CANCELLED:
        printf("cancelled: %" PRIu64 " of %" PRIu64 " table(s) written, %" PRIu64
               " failed, %" PRIu64 " not built, in %.2f s -> %.*s\n", j->succeeded, j->total,
               j->failed, j->total - done, secs, (int)j->out_dir.n, j->out_dir.p);
        break;
    default:
        break;
    }
    for (uint32_t i = 0; i < j->nnodes && j->state != PH_JOB_NO_KEYS; i++)
        printf("  %-30.*s ok=%" PRIu64 " failed=%" PRIu64 "\n", (int)j->nodes[i].node.n,
               j->nodes[i].node.p, j->nodes[i].succeeded, j->nodes[i].failed);
}

/* Long-poll until the job is final; prints it and returns the exit code. */
static int wait_job(cl_conn *c, const cl_args *a, const char *token, bool progress)
{
    cl_progress p;
    cl_progress_init(&p);
    ph_msg req = {.type = PH_MSG_WAIT};
    req.u.wait.token = ph_bytes_str(token);
    req.u.wait.timeout_ms = CL_WAIT_POLL_MS;
    uint64_t last_reply = ph_time_ms();
    /* As patient as the reach (PHCLUSTER_REACH_MS) if that is longer. */
    uint64_t lost_ms = a->reach_ms > CL_WAIT_LOST_MS ? (uint64_t)a->reach_ms : CL_WAIT_LOST_MS;
    for (;;) {
        const ph_msg *r;
        ph_err err = {0};
        int rc = cl_conn_request(c, &req, PH_MSG_JOB, CL_WAIT_POLL_MS + CL_WAIT_RETRY_MS, &r,
                                 &err);
        /* No answer: the coordinator may be restarting (its journal keeps
         * the job); the socket reconnects by itself, so ask again until it
         * has been silent for lost_ms. */
        if (rc == PH_ETIMEOUT && ph_time_ms() - last_reply < lost_ms)
            continue;
        if (rc != 0) {
            cl_progress_end(&p);
            return request_failed(&err);
        }
        last_reply = ph_time_ms();
        const ph_msg_job *j = &r->u.job;
        if (j->state != PH_JOB_RUNNING && j->state != PH_JOB_CANCELLING) {
            if (progress && j->total > 0)
                cl_progress_update(&p, j);
            cl_progress_end(&p);
            print_final(a, j);
            return exit_for_state(j->state);
        }
        if (progress)
            cl_progress_update(&p, j);
    }
}

static int submit(cl_conn *c, const ph_msg *req, char token[17], uint64_t *total)
{
    const ph_msg *r;
    ph_err err = {0};
    if (cl_conn_request(c, req, PH_MSG_ACCEPTED, CL_REQUEST_MS, &r, &err) != 0)
        return request_failed(&err);
    if (ph_bytes_cstr(r->u.accepted.token, token, 17, &err) != 0)
        return fail(CL_EXIT_OTHER, "coordinator sent a malformed token");
    *total = r->u.accepted.total;
    return CL_EXIT_OK;
}

static int table_name(const char *path, char *out, size_t len)
{
    if (ph_keys_table_name(path, out, len, NULL) == 0)
        return 0;
    /* Not NAME.keys: the base name without its extension. */
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, len, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
    return out[0] ? 0 : -1;
}

/* A keys file big enough to be partitioned is not sent: the coordinator
 * reads it from the same path (a job of that one file) and spreads its
 * buckets over the workers. */
static int create_big(cl_conn *c, const cl_args *a, const char *out_dir, bool *done)
{
    uint64_t n = 0;
    ph_err err = {0};
    char path[PATH_MAX], token[17];
    *done = false;
    unsigned ks = ph_keys_size_resolve(a->key_size, a->arg);
    if (ph_keys_map_count_sized(a->arg, ks, &n, &err) != 0 ||
        ph_part_choose(a->partition, n) == PH_PART_OFF)
        return CL_EXIT_OK; /* the ordinary path reports a bad file */
    *done = true;
    /* The values file, like the keys file, is read by the coordinator from
     * the same path; checked here first for a quick one-line error. */
    char vpath[PATH_MAX];
    if (a->values_file && (ph_part_values_check(a->values_file, a->values, n, a->arg, &err) ||
                           abs_path(a->values_file, vpath, sizeof vpath, &err)))
        return fail(CL_EXIT_OTHER, err.msg);
    if (abs_path(a->arg, path, sizeof path, &err))
        return fail(CL_EXIT_OTHER, err.msg);
    ph_msg req = {.type = PH_MSG_SUBMIT_BULK};
    req.u.submit_bulk.dir = ph_bytes_str(path);
    if (a->values_file)
        req.u.submit_bulk.values_file = ph_bytes_str(vpath);
    req.u.submit_bulk.out_dir = ph_bytes_str(out_dir);
    fill_opts(a, ks == 8 ? PH_TABLE_KEY64 : PH_TABLE_KEY32, &req.u.submit_bulk.opts);
    uint64_t total;
    int rc = submit(c, &req, token, &total);
    return rc ? rc : wait_job(c, a, token, false);
}

/* The values file of a create: one little-endian value of a->values bytes
 * per key, as many as the nkeys keys; anything else is one line naming it. */
static int read_values(const cl_args *a, uint64_t nkeys, void **buf, size_t *len, ph_err *err)
{
    uint64_t want = nkeys * a->values;
    int rc = ph_fs_read_all(a->values_file, PH_PROTO_MAX_FRAME, buf, len, err);
    if (rc)
        return rc;
    if (*len % a->values)
        rc = ph_err_set(err, PH_EINVAL, "%s: size %zu bytes is not a multiple of %u (values "
                        "of %u bytes)", a->values_file, *len, a->values, a->values);
    else if (*len != want)
        rc = ph_err_set(err, PH_EINVAL, "%s: %zu values, but %s has %llu keys (one value per "
                        "key, in key order)", a->values_file, *len / a->values, a->arg,
                        (unsigned long long)nkeys);
    if (rc) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

static int cmd_create(cl_conn *c, const cl_args *a)
{
    char out_dir[PATH_MAX], name[256], token[17];
    ph_err err = {0};
    if (abs_path(a->out_dir, out_dir, sizeof out_dir, &err))
        return fail(CL_EXIT_OTHER, err.msg);
    bool big = false;
    int big_rc = create_big(c, a, out_dir, &big);
    if (big)
        return big_rc;
    if (table_name(a->arg, name, sizeof name))
        return fail(CL_EXIT_OTHER, "create: cannot derive a table name from the file name");
    void *buf;
    size_t len;
    struct stat st;
    unsigned ks = ph_keys_size_resolve(a->key_size, a->arg);
    if (ks == 8 && a->hash && strcmp(a->hash, "auto") && strcmp(a->hash, "mix")) {
        ph_err_set(&err, PH_EINVAL, "%s: --hash %s works on 32-bit keys; 64-bit keys use "
                   "mix (or auto)", a->arg, a->hash);
        return fail(CL_EXIT_OTHER, err.msg);
    }
    /* A file that cannot be keys of this size, or that the cluster cannot
     * carry: refused before reading or solving. */
    if (stat(a->arg, &st) == 0 && S_ISREG(st.st_mode) && st.st_size % ks) {
        uint64_t n;
        ph_keys_map_count_sized(a->arg, ks, &n, &err);
        return fail(CL_EXIT_OTHER, err.msg);
    }
    if (stat(a->arg, &st) == 0 && S_ISREG(st.st_mode) &&
        ph_proto_check_table_size(a->arg, (uint64_t)st.st_size / ks,
                                  ph_table_bytes_for((uint32_t)(st.st_size / ks > UINT32_MAX
                                                                    ? UINT32_MAX
                                                                    : st.st_size / ks),
                                                     a->compact),
                                  &err) != 0)
        return fail(CL_EXIT_OTHER, err.msg);
    if (ph_fs_read_all(a->arg, PH_PROTO_MAX_KEYS_BYTES, &buf, &len, &err))
        return fail(CL_EXIT_OTHER, err.msg);
    void *vbuf = NULL;
    size_t vlen = 0;
    if (a->values_file && read_values(a, len / ks, &vbuf, &vlen, &err)) {
        free(buf);
        return fail(CL_EXIT_OTHER, err.msg);
    }
    ph_msg req = {.type = PH_MSG_SUBMIT_CREATE};
    req.u.submit_create.values = (ph_bytes){vbuf, (uint32_t)vlen};
    req.u.submit_create.name = ph_bytes_str(name);
    req.u.submit_create.keys = (ph_bytes){buf, (uint32_t)len};
    req.u.submit_create.out_dir = ph_bytes_str(out_dir);
    fill_opts(a, ks == 8 ? PH_TABLE_KEY64 : 0, &req.u.submit_create.opts);
    uint64_t total;
    int rc = submit(c, &req, token, &total);
    free(buf);
    free(vbuf);
    return rc ? rc : wait_job(c, a, token, false);
}

static int cmd_bulk(cl_conn *c, const cl_args *a)
{
    char dir[PATH_MAX], out_dir[PATH_MAX], token[17];
    ph_err err = {0};
    if (abs_path(a->arg, dir, sizeof dir, &err) || abs_path(a->out_dir, out_dir, sizeof out_dir,
                                                             &err))
        return fail(CL_EXIT_OTHER, err.msg);
    ph_msg req = {.type = PH_MSG_SUBMIT_BULK};
    req.u.submit_bulk.dir = ph_bytes_str(dir);
    req.u.submit_bulk.out_dir = ph_bytes_str(out_dir);
    fill_opts(a, a->key_size == 8 ? PH_TABLE_KEY64 : a->key_size == 4 ? PH_TABLE_KEY32 : 0,
              &req.u.submit_bulk.opts);
    uint64_t total;
    int rc = submit(c, &req, token, &total);
    if (rc)
        return rc;
    if (a->json && a->no_wait) {
        printf("{\"token\":\"%s\",\"total\":%" PRIu64 "}\n", token, total);
        return CL_EXIT_OK;
    }
    if (!a->json) {
        printf("%s\n", token);
        fflush(stdout);
        if (!a->no_wait)
            fprintf(stderr, "job %s: %" PRIu64 " keys file(s)\n", token, total);
    }
    if (a->no_wait)
        return total == 0 ? CL_EXIT_NO_KEYS : CL_EXIT_OK;
    return wait_job(c, a, token, !a->json || isatty(STDERR_FILENO));
}

/* CANCEL, then wait for the job to wind down and print how it ended.  A
 * job that was already cancelled is reported as such; both exit 0. */
static int cmd_cancel(cl_conn *c, const cl_args *a)
{
    ph_msg req = {.type = PH_MSG_CANCEL};
    req.u.cancel.token = ph_bytes_str(a->arg);
    const ph_msg *r;
    ph_err err = {0};
    if (cl_conn_request(c, &req, PH_MSG_CANCEL_REPLY, CL_REQUEST_MS, &r, &err) != 0)
        return request_failed(&err);
    bool already = r->u.cancel_reply.already;
    fprintf(stderr, already ? "job %s was already cancelled\n"
                            : "job %s: cancelled; waiting for its running tasks to stop\n",
            a->arg);
    int rc = wait_job(c, a, a->arg, false);
    return rc == CL_EXIT_CANCELLED ? CL_EXIT_OK : rc;
}

static int cmd_status(cl_conn *c, const cl_args *a)
{
    bool tty = isatty(STDOUT_FILENO);
    for (;;) {
        ph_msg req = {.type = PH_MSG_STATUS};
        const ph_msg *r;
        ph_err err = {0};
        if (cl_conn_request(c, &req, PH_MSG_STATUS_REPLY, CL_REQUEST_MS, &r, &err) != 0)
            return request_failed(&err);
        if (a->watch && tty && !a->json && !a->metrics)
            fputs("\033[H\033[2J", stdout);
        if (a->metrics)
            cl_metrics_status(stdout, &r->u.status_reply);
        else if (a->json)
            cl_json_status(stdout, &r->u.status_reply);
        else
            cl_print_status(stdout, &r->u.status_reply);
        fflush(stdout);
        if (!a->watch)
            return CL_EXIT_OK;
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
}

static int cmd_simple(cl_conn *c, ph_msg_type type, ph_msg_type expect, const ph_msg **r)
{
    ph_msg req = {.type = type};
    ph_err err = {0};
    if (cl_conn_request(c, &req, expect, type == PH_MSG_PING ? CL_REACH_MS : CL_REQUEST_MS, r,
                        &err) != 0)
        return request_failed(&err);
    return CL_EXIT_OK;
}

/* PING until a PONG comes or reach_ms has passed, one PING per 2 s: a
 * frame lost with a dropped connection (a busy host can miss transport
 * heartbeats) is sent again rather than waited for. */
static int reach(cl_conn *c, int reach_ms, const ph_msg **r)
{
    uint64_t end = ph_time_ms() + (uint64_t)reach_ms;
    for (;;) {
        uint64_t now = ph_time_ms();
        int slice = end - now < CL_REACH_MS ? (int)(end - now) : CL_REACH_MS;
        ph_msg req = {.type = PH_MSG_PING};
        ph_err err = {0};
        if (cl_conn_request(c, &req, PH_MSG_PONG, slice > 0 ? slice : 1, r, &err) == 0)
            return CL_EXIT_OK;
        if (err.code != PH_ETIMEOUT || ph_time_ms() >= end)
            return request_failed(&err);
    }
}

static int dispatch(cl_conn *c, const cl_args *a)
{
    const ph_msg *r;
    /* Every command first proves the coordinator is there, so "cannot
     * reach" is one clear error after ~2 s, not a hang. */
    int rc = reach(c, a->reach_ms, &r);
    if (rc)
        return rc;
    switch (a->cmd) {
    case CL_PING:
        printf("pong from %s: protocol %u, up %.1f s\n", a->local ? "embedded coordinator"
                                                                 : a->coordinator,
               r->u.pong.version, (double)r->u.pong.uptime_ms / 1000.0);
        return CL_EXIT_OK;
    case CL_CREATE: return cmd_create(c, a);
    case CL_BULK: return cmd_bulk(c, a);
    case CL_WAIT: return wait_job(c, a, a->arg, !a->json || isatty(STDERR_FILENO));
    case CL_CANCEL: return cmd_cancel(c, a);
    case CL_STATUS: return cmd_status(c, a);
    case CL_SHUTDOWN:
        rc = cmd_simple(c, PH_MSG_SHUTDOWN, PH_MSG_OK, &r);
        if (!rc)
            printf("coordinator is shutting down\n");
        return rc;
    case CL_KEYGEN:
        break; /* handled before connecting */
    }
    return CL_EXIT_OTHER;
}

static int cmd_keygen(const cl_args *a)
{
    ph_err err = {0};
    if (ph_curve_keygen(a->arg, &err) != 0)
        return fail(CL_EXIT_OTHER, err.msg);
    printf("secret key: %s.key (keep it private, mode 0600)\npublic key: %s.pub\n", a->arg,
           a->arg);
    return CL_EXIT_OK;
}

int cl_run(const cl_args *a)
{
    if (a->cmd == CL_KEYGEN)
        return cmd_keygen(a);
    int big_exit;
    if (cl_big_create(a, &big_exit))
        return big_exit;
    cl_local *local = NULL;
    void *ctx = NULL;
    const char *ep = a->coordinator;
    ph_err err = {0};
    /* The embedded coordinator's warnings (a refused submit, a failed
     * table) repeat what the client prints in one line: keep them out
     * unless asked for with PH_LOG_LEVEL. */
    if (a->local && !getenv("PH_LOG_LEVEL"))
        ph_log_set_level(PH_LOG_ERROR);
    if (a->local && cl_local_start(&local, &ctx, &ep, &err) != 0)
        return fail(CL_EXIT_OTHER, err.msg);
    cl_conn c;
    int rc;
    /* The embedded coordinator is reached over inproc: no keys needed. */
    if (cl_conn_open(&c, ctx, ep, local ? NULL : a->curve_secret,
                     local ? NULL : a->curve_server, &err) != 0) {
        rc = fail(CL_EXIT_OTHER, err.msg);
    } else {
        cl_args eff = *a;
        eff.coordinator = ep;
        /* --local --no-wait would shut the job down with us: wait anyway. */
        if (a->local)
            eff.no_wait = false;
        rc = dispatch(&c, &eff);
        if (local) {
            const ph_msg *r;
            cmd_simple(&c, PH_MSG_SHUTDOWN, PH_MSG_OK, &r);
        }
        cl_conn_close(&c);
    }
    cl_local_stop(local);
    return rc;
}
