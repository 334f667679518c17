/* ph_proto.c - encoding of phcluster messages, and the small helpers.
 *
 * Every message is a msgpack array [version, type, field...] whose fields
 * follow the order of its struct in ph_proto.h; nested structs are nested
 * arrays in their own struct order (docs/PROTOCOL.md lists them).  The
 * decoder lives in ph_proto_decode.c. */
#include "ph_proto.h"
#include "ph_proto_int.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

ph_bytes ph_bytes_str(const char *s)
{
    ph_bytes b = { s ? s : "", 0 };
    size_t n = s ? strlen(s) : 0;
    /* A C string longer than a frame cannot be sent anyway; clamping keeps
     * the view in bounds and the encoder refuses the frame later. */
    b.n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    return b;
}

int ph_bytes_cstr(ph_bytes b, char *out, size_t outlen, ph_err *err)
{
    if (outlen == 0 || b.n > outlen - 1)
        return ph_err_set(err, PH_EINVAL, "string of %u bytes does not fit in %zu",
                          b.n, outlen);
    if (b.n > 0 && memchr(b.p, '\0', b.n))
        return ph_err_set(err, PH_EINVAL, "string holds a NUL byte");
    if (b.n > 0)
        memcpy(out, b.p, b.n);
    out[b.n] = '\0';
    return 0;
}

bool ph_bytes_eq(ph_bytes b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n == b.n && (n == 0 || memcmp(b.p, s, n) == 0);
}

const char *ph_msg_type_name(ph_msg_type t)
{
    switch (t) {
    case PH_MSG_READY: return "READY";
    case PH_MSG_HEARTBEAT: return "HEARTBEAT";
    case PH_MSG_RESULT: return "RESULT";
    case PH_MSG_PROGRESS: return "PROGRESS";
    case PH_MSG_CANCEL_TASK: return "CANCEL_TASK";
    case PH_MSG_TASK: return "TASK";
    case PH_MSG_STOP: return "STOP";
    case PH_MSG_PART_TASK: return "PART_TASK";
    case PH_MSG_PART_RESULT: return "PART_RESULT";
    case PH_MSG_SUBMIT_CREATE: return "SUBMIT_CREATE";
    case PH_MSG_SUBMIT_BULK: return "SUBMIT_BULK";
    case PH_MSG_WAIT: return "WAIT";
    case PH_MSG_STATUS: return "STATUS";
    case PH_MSG_SHUTDOWN: return "SHUTDOWN";
    case PH_MSG_PING: return "PING";
    case PH_MSG_CANCEL: return "CANCEL";
    case PH_MSG_ACCEPTED: return "ACCEPTED";
    case PH_MSG_JOB: return "JOB";
    case PH_MSG_STATUS_REPLY: return "STATUS_REPLY";
    case PH_MSG_OK: return "OK";
    case PH_MSG_PONG: return "PONG";
    case PH_MSG_ERROR: return "ERROR";
    case PH_MSG_CANCEL_REPLY: return "CANCEL_REPLY";
    }
    return "UNKNOWN";
}

/* ---- encoding ---------------------------------------------------------
 * The enc_* helpers do nothing once something failed, so the per-type
 * writers read as plain field lists; the first failure is kept in rc. */

typedef struct enc {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int rc;
    ph_err *err;
    const char *type;    /* message name, for error messages */
} enc;

static void enc_check(enc *e, int packer_rc)
{
    if (packer_rc != 0 && e->rc == 0)
        e->rc = ph_err_set(e->err, PH_ENOMEM, "%s: out of memory while encoding", e->type);
}

static void enc_uint(enc *e, uint64_t v)
{
    if (e->rc == 0)
        enc_check(e, msgpack_pack_uint64(&e->pk, v));
}

static void enc_int(enc *e, int32_t v)
{
    if (e->rc == 0)
        enc_check(e, msgpack_pack_int32(&e->pk, v));
}

static void enc_bool(enc *e, bool v)
{
    if (e->rc == 0)
        enc_check(e, v ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk));
}

static void enc_array(enc *e, size_t n)
{
    if (e->rc == 0)
        enc_check(e, msgpack_pack_array(&e->pk, n));
}

/* A list of n entries from pointer p: refuse what the decoder would. */
static bool enc_list(enc *e, const char *field, uint32_t n, const void *p)
{
    if (e->rc != 0)
        return false;
    if (n > PH_PROTO_MAX_LIST)
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s.%s: %u entries exceed the limit of %u",
                           e->type, field, n, PH_PROTO_MAX_LIST);
    else if (n > 0 && p == NULL)
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s.%s: %u entries but no array",
                           e->type, field, n);
    else
        enc_array(e, n);
    return e->rc == 0;
}

static void enc_raw(enc *e, ph_bytes b, bool bin)
{
    if (e->rc != 0)
        return;
    if (b.n > 0 && b.p == NULL) {
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s: %u-byte field without data", e->type, b.n);
        return;
    }
    /* Refuse an oversized frame before copying the field, not after: a
     * caller's multi-GB buffer must not be duplicated just to be refused. */
    if (e->sb.size > PH_PROTO_MAX_FRAME || b.n > PH_PROTO_MAX_FRAME - e->sb.size) {
        e->rc = ph_err_set(e->err, PH_EINVAL,
                           "%s: a %u-byte field makes the frame exceed the frame limit of %u",
                           e->type, b.n, PH_PROTO_MAX_FRAME);
        return;
    }
    enc_check(e, bin ? msgpack_pack_bin(&e->pk, b.n) : msgpack_pack_str(&e->pk, b.n));
    /* memcpy from NULL is undefined even for zero bytes: skip empty bodies */
    if (e->rc == 0 && b.n > 0)
        enc_check(e, bin ? msgpack_pack_bin_body(&e->pk, b.p, b.n)
                         : msgpack_pack_str_body(&e->pk, b.p, b.n));
}

static void enc_str(enc *e, ph_bytes b) { enc_raw(e, b, false); }
static void enc_bin(enc *e, ph_bytes b) { enc_raw(e, b, true); }

/* The optional tail (table_flags, then partition) travels only as far as
 * its last non-default entry: the shortest form the decoder takes, so that
 * whatever decodes re-encodes to no more bytes than it came in. */
static void enc_opts(enc *e, const ph_opts *o)
{
    unsigned n = o->partition ? 6 : o->table_flags ? 5 : 4;
    enc_array(e, n);
    enc_str(e, o->hash);
    enc_bool(e, o->compact);
    enc_uint(e, o->threads);
    enc_uint(e, o->seed);
    if (n >= 5)
        enc_uint(e, o->table_flags);
    if (n == 6)
        enc_uint(e, o->partition);
}

static void enc_ready(enc *e, const ph_msg_ready *r)
{
    enc_str(e, r->host);
    enc_uint(e, r->pid);
    enc_uint(e, r->numa_node);
    enc_uint(e, r->threads);
    enc_uint(e, r->credits);
}

static void enc_heartbeat(enc *e, const ph_msg_heartbeat *h)
{
    enc_uint(e, h->running);
    enc_uint(e, h->done);
    enc_uint(e, h->failed);
}

static void enc_progress(enc *e, const ph_msg_progress *p)
{
    if (!enc_list(e, "tasks", p->ntasks, p->tasks))
        return;
    for (uint32_t i = 0; i < p->ntasks && e->rc == 0; i++) {
        enc_array(e, PH_PROTO_PROGRESS_FIELDS);
        enc_uint(e, p->tasks[i].job_id);
        enc_uint(e, p->tasks[i].task_id);
        enc_uint(e, p->tasks[i].steps);
    }
    if (!enc_list(e, "groups", p->ngroups, p->groups))
        return;
    for (uint32_t i = 0; i < p->ngroups && e->rc == 0; i++) {
        enc_array(e, PH_PROTO_GROUP_PROGRESS_FIELDS);
        enc_uint(e, p->groups[i].job_id);
        enc_uint(e, p->groups[i].task_id);
        enc_uint(e, p->groups[i].group);
        enc_uint(e, p->groups[i].steps);
    }
}

static void enc_task(enc *e, const ph_msg_task *t)
{
    enc_uint(e, t->job_id);
    enc_uint(e, t->task_id);
    enc_str(e, t->name);
    enc_bin(e, t->keys);
    enc_opts(e, &t->opts);
}

const char *ph_proto_table_problem(const ph_table_view *t)
{
    if (t->hash > PH_PROTO_HASH_MAX)
        return "hash: unknown family";
    if (t->width != 2 && t->width != 4)
        return "width: must be 2 or 4";
    /* 64-bit product: nverts * width cannot wrap, and more than a frame
     * cannot be in the frame anyway. */
    uint64_t want = (uint64_t)t->nverts * t->width;
    if (want > PH_PROTO_MAX_FRAME)
        return "assigned: nverts * width exceeds the frame limit";
    if (t->assigned.n != want)
        return "assigned: length is not nverts * width";
    return NULL;
}

static uint32_t le32_at(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

const char *ph_proto_part_task_problem(const ph_msg_part_task *t)
{
    if (t->key_size != PH_PROTO_KEY_SIZE_MIN && t->key_size != PH_PROTO_KEY_SIZE_MAX)
        return "key_size: not a supported key size";
    if (t->nkeys == 0 || t->nbuckets == 0)
        return "nkeys: a table has at least one key and one bucket";
    if (t->counts.n == 0 || t->counts.n % 4 != 0)
        return "counts: not a non-empty array of u32";
    uint32_t ngroup = t->counts.n / 4;
    if (t->bucket_lo >= t->nbuckets || ngroup > t->nbuckets - t->bucket_lo)
        return "bucket_lo: the group does not lie inside the table's buckets";
    uint64_t sum = 0;
    for (uint32_t i = 0; i < ngroup; i++)
        sum += le32_at(t->counts.p + 4 * (size_t)i);
    if (sum > t->nkeys)
        return "counts: more keys than the table has";
    if ((uint64_t)t->keys.n != sum * t->key_size)
        return "keys: length is not key_size * sum(counts)";
    if ((uint64_t)t->positions.n != sum * 4)
        return "positions: length is not 4 * sum(counts)";
    return NULL;
}

const char *ph_proto_part_result_problem(const ph_msg_part_result *r)
{
    if (r->seeds.n % 4 != 0)
        return "seeds: not an array of u32";
    if (r->values.n % 4 != 0)
        return "values: not an array of u32";
    if (r->status != 0 && (r->seeds.n || r->values.n))
        return "values: must be empty when status is not 0";
    return NULL;
}

static void enc_part_task(enc *e, const ph_msg_part_task *t)
{
    const char *bad = e->rc ? NULL : ph_proto_part_task_problem(t);
    if (bad) {
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s.%s", e->type, bad);
        return;
    }
    enc_uint(e, t->job_id);
    enc_uint(e, t->task_id);
    enc_uint(e, t->group);
    enc_str(e, t->name);
    enc_uint(e, t->table_seed);
    enc_uint(e, t->nkeys);
    enc_uint(e, t->nbuckets);
    enc_uint(e, t->bucket_lo);
    enc_uint(e, t->key_size);
    enc_uint(e, t->max_attempts);
    enc_bin(e, t->counts);
    enc_bin(e, t->keys);
    enc_bin(e, t->positions);
}

static void enc_part_result(enc *e, const ph_msg_part_result *r)
{
    const char *bad = e->rc ? NULL : ph_proto_part_result_problem(r);
    if (bad) {
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s.%s", e->type, bad);
        return;
    }
    enc_uint(e, r->job_id);
    enc_uint(e, r->task_id);
    enc_uint(e, r->group);
    enc_int(e, r->status);
    enc_str(e, r->error);
    enc_uint(e, r->numa_node);
    enc_uint(e, r->bucket_lo);
    enc_bin(e, r->seeds);
    enc_bin(e, r->values);
    enc_uint(e, r->attempts);
    enc_uint(e, r->max_bucket_attempts);
    enc_uint(e, r->solve_us);
}

/* The table of a RESULT: [] (none), or [hash, compact, seeds[4], nkeys, nedges,
 * nverts, shift, width, assigned]. */
static void enc_table(enc *e, const ph_table_view *t)
{
    if (e->rc != 0)
        return;
    if (!t) {
        enc_array(e, 0);
        return;
    }
    const char *bad = ph_proto_table_problem(t);
    if (bad) {
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s.table.%s", e->type, bad);
        return;
    }
    enc_array(e, PH_PROTO_TABLE_FIELDS);
    enc_uint(e, t->hash);
    enc_bool(e, t->compact);
    enc_array(e, 4);
    for (int i = 0; i < 4; i++)
        enc_uint(e, t->seeds[i]);
    enc_uint(e, t->nkeys);
    enc_uint(e, t->nedges);
    enc_uint(e, t->nverts);
    enc_uint(e, t->shift);
    enc_uint(e, t->width);
    enc_bin(e, t->assigned);
}

static void enc_result(enc *e, const ph_msg_result *r)
{
    enc_uint(e, r->job_id);
    enc_uint(e, r->task_id);
    enc_int(e, r->status);
    enc_str(e, r->error);
    enc_uint(e, r->numa_node);
    enc_uint(e, r->keys);
    enc_str(e, r->hash);
    enc_array(e, 4);
    for (int i = 0; i < 4; i++)
        enc_uint(e, r->seeds[i]);
    enc_uint(e, r->vertices);
    enc_uint(e, r->attempts);
    enc_uint(e, r->solve_us);
    enc_uint(e, r->verify_us);
    enc_uint(e, r->table_bytes);
    if (e->rc == 0 && r->status != 0 && r->has_table)
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s.table: must be empty when status is not 0",
                           e->type);
    enc_table(e, r->has_table ? &r->table : NULL);
}

static void enc_submit_create(enc *e, const ph_msg_submit_create *s)
{
    enc_str(e, s->name);
    enc_bin(e, s->keys);
    enc_str(e, s->out_dir);
    enc_opts(e, &s->opts);
    if (s->values.n) /* shortest form: no values, no fifth field */
        enc_bin(e, s->values);
}

static void enc_submit_bulk(enc *e, const ph_msg_submit_bulk *s)
{
    enc_str(e, s->dir);
    enc_str(e, s->out_dir);
    enc_opts(e, &s->opts);
    if (s->values_file.n) /* shortest form: no values file, no fourth field */
        enc_str(e, s->values_file);
}

/* JOB fields, shared by the JOB message and STATUS_REPLY's job entries. */
static void enc_job_fields(enc *e, const ph_msg_job *j)
{
    if (e->rc == 0 && j->state > PH_JOB_STATE_MAX)
        e->rc = ph_err_set(e->err, PH_EINVAL, "%s.state: unknown job state %u",
                           e->type, j->state);
    enc_str(e, j->token);
    enc_uint(e, j->state);
    enc_uint(e, j->total);
    enc_uint(e, j->queued);
    enc_uint(e, j->running);
    enc_uint(e, j->succeeded);
    enc_uint(e, j->failed);
    enc_uint(e, j->elapsed_us);
    enc_str(e, j->first_error);
    enc_str(e, j->out_dir);
    if (!enc_list(e, "nodes", j->nnodes, j->nodes))
        return;
    for (uint32_t i = 0; i < j->nnodes && e->rc == 0; i++) {
        const ph_node_count *c = &j->nodes[i];
        enc_array(e, 5);
        enc_str(e, c->node);
        enc_uint(e, c->queued);
        enc_uint(e, c->running);
        enc_uint(e, c->succeeded);
        enc_uint(e, c->failed);
    }
    enc_uint(e, j->stalled);
    enc_uint(e, j->stalls);
    if (j->parts_total) {
        enc_uint(e, j->parts_total);
        enc_uint(e, j->parts_done);
    }
}

static int job_nfields(const ph_msg_job *j)
{
    return j->parts_total ? PH_PROTO_JOB_FIELDS_PARTS : PH_PROTO_JOB_FIELDS;
}

static void enc_worker(enc *e, const ph_worker_info *w)
{
    enc_array(e, PH_PROTO_WORKER_FIELDS);
    enc_str(e, w->id);
    enc_str(e, w->host);
    enc_uint(e, w->pid);
    enc_uint(e, w->numa_node);
    enc_uint(e, w->threads);
    enc_uint(e, w->running);
    enc_uint(e, w->done);
    enc_uint(e, w->failed);
    enc_uint(e, w->last_heartbeat_ms);
    enc_uint(e, w->stuck);
}

static void enc_status_reply(enc *e, const ph_msg_status_reply *s)
{
    enc_uint(e, s->uptime_ms);
    if (!enc_list(e, "workers", s->nworkers, s->workers))
        return;
    for (uint32_t i = 0; i < s->nworkers && e->rc == 0; i++)
        enc_worker(e, &s->workers[i]);
    if (!enc_list(e, "jobs", s->njobs, s->jobs))
        return;
    for (uint32_t i = 0; i < s->njobs && e->rc == 0; i++) {
        enc_array(e, (size_t)job_nfields(&s->jobs[i]));
        enc_job_fields(e, &s->jobs[i]);
    }
}

/* CANCEL_REPLY: already, then the job as one nested array. */
static void enc_cancel_reply(enc *e, const ph_msg_cancel_reply *r)
{
    enc_bool(e, r->already);
    enc_array(e, (size_t)job_nfields(&r->job));
    enc_job_fields(e, &r->job);
}

/* Fields after [version, type]; -1 for an unknown type.  The one table
 * both directions use. */
int ph_proto_nfields(uint64_t type)
{
    switch (type) {
    case PH_MSG_STOP: case PH_MSG_STATUS: case PH_MSG_SHUTDOWN:
    case PH_MSG_PING: case PH_MSG_OK:
        return 0;
    case PH_MSG_PROGRESS:
        return 2;
    case PH_MSG_CANCEL:
        return 1;
    case PH_MSG_WAIT: case PH_MSG_ACCEPTED: case PH_MSG_ERROR: case PH_MSG_PONG:
    case PH_MSG_CANCEL_TASK: case PH_MSG_CANCEL_REPLY:
        return 2;
    case PH_MSG_HEARTBEAT: case PH_MSG_SUBMIT_BULK: case PH_MSG_STATUS_REPLY:
        return 3;
    case PH_MSG_SUBMIT_CREATE:
        return 4;
    case PH_MSG_READY: case PH_MSG_TASK:
        return 5;
    case PH_MSG_JOB:
        return PH_PROTO_JOB_FIELDS;
    case PH_MSG_PART_RESULT:
        return 12;
    case PH_MSG_PART_TASK:
        return 13;
    case PH_MSG_RESULT:
        return 14;
    default:
        return -1;
    }
}

static void enc_body(enc *e, const ph_msg *m)
{
    switch (m->type) {
    case PH_MSG_READY: enc_ready(e, &m->u.ready); break;
    case PH_MSG_HEARTBEAT: enc_heartbeat(e, &m->u.heartbeat); break;
    case PH_MSG_PROGRESS: enc_progress(e, &m->u.progress); break;
    case PH_MSG_RESULT: enc_result(e, &m->u.result); break;
    case PH_MSG_TASK: enc_task(e, &m->u.task); break;
    case PH_MSG_PART_TASK: enc_part_task(e, &m->u.part_task); break;
    case PH_MSG_PART_RESULT: enc_part_result(e, &m->u.part_result); break;
    case PH_MSG_SUBMIT_CREATE: enc_submit_create(e, &m->u.submit_create); break;
    case PH_MSG_SUBMIT_BULK: enc_submit_bulk(e, &m->u.submit_bulk); break;
    case PH_MSG_WAIT:
        enc_str(e, m->u.wait.token);
        enc_uint(e, m->u.wait.timeout_ms);
        break;
    case PH_MSG_ACCEPTED:
        enc_str(e, m->u.accepted.token);
        enc_uint(e, m->u.accepted.total);
        break;
    case PH_MSG_JOB: enc_job_fields(e, &m->u.job); break;
    case PH_MSG_CANCEL_TASK:
        enc_uint(e, m->u.cancel_task.job_id);
        enc_uint(e, m->u.cancel_task.task_id);
        break;
    case PH_MSG_CANCEL: enc_str(e, m->u.cancel.token); break;
    case PH_MSG_CANCEL_REPLY: enc_cancel_reply(e, &m->u.cancel_reply); break;
    case PH_MSG_STATUS_REPLY: enc_status_reply(e, &m->u.status_reply); break;
    case PH_MSG_ERROR:
        enc_int(e, m->u.error.code);
        enc_str(e, m->u.error.text);
        break;
    case PH_MSG_PONG:
        enc_uint(e, m->u.pong.version);
        enc_uint(e, m->u.pong.uptime_ms);
        break;
    default:
        break;  /* no fields */
    }
}

int ph_msg_encode(const ph_msg *m, char **buf, size_t *len, ph_err *err)
{
    *buf = NULL;
    *len = 0;
    int nfields = ph_proto_nfields((uint64_t)m->type);
    if (nfields < 0)
        return ph_err_set(err, PH_EINVAL, "message: cannot encode unknown type %d",
                          (int)m->type);
    if (m->type == PH_MSG_JOB)
        nfields = job_nfields(&m->u.job);
    if (m->type == PH_MSG_SUBMIT_CREATE && m->u.submit_create.values.n)
        nfields = 5;
    if (m->type == PH_MSG_SUBMIT_BULK && m->u.submit_bulk.values_file.n)
        nfields = 4;
    enc e = { .rc = 0, .err = err, .type = ph_msg_type_name(m->type) };
    msgpack_sbuffer_init(&e.sb);
    msgpack_packer_init(&e.pk, &e.sb, msgpack_sbuffer_write);
    enc_array(&e, 2 + (size_t)nfields);
    enc_uint(&e, PH_PROTO_VERSION);
    enc_uint(&e, (uint64_t)m->type);
    enc_body(&e, m);
    if (e.rc == 0 && e.sb.size > PH_PROTO_MAX_FRAME)
        e.rc = ph_err_set(err, PH_EINVAL, "%s: %zu bytes exceed the frame limit of %u",
                          e.type, e.sb.size, PH_PROTO_MAX_FRAME);
    if (e.rc != 0) {
        msgpack_sbuffer_destroy(&e.sb);
        return e.rc;
    }
    *len = e.sb.size;
    *buf = msgpack_sbuffer_release(&e.sb);
    return 0;
}

/* ---- release ---------------------------------------------------------- */

void ph_msg_free(ph_msg *m)
{
    if (!m)
        return;
    switch (m->type) {
    case PH_MSG_PROGRESS:
        free(m->u.progress.tasks);
        free(m->u.progress.groups);
        break;
    case PH_MSG_JOB:
        free(m->u.job.nodes);
        break;
    case PH_MSG_CANCEL_REPLY:
        free(m->u.cancel_reply.job.nodes);
        break;
    case PH_MSG_STATUS_REPLY:
        free(m->u.status_reply.workers);
        for (uint32_t i = 0; m->u.status_reply.jobs && i < m->u.status_reply.njobs; i++)
            free(m->u.status_reply.jobs[i].nodes);
        free(m->u.status_reply.jobs);
        break;
    default:
        break;
    }
    /* keep the type, drop every pointer: a second free is harmless */
    ph_msg_type t = m->type;
    memset(m, 0, sizeof *m);
    m->type = t;
}

int ph_proto_check_table_size(const char *file, uint64_t nkeys, uint64_t table_bytes,
                              ph_err *err)
{
    const uint64_t room = PH_PROTO_MAX_FRAME - PH_PROTO_SLACK;
    if (nkeys == 0) /* an empty keys file is refused with its own message */
        return PH_OK;
    if (nkeys * 4u > room)
        return ph_err_set(err, PH_EINVAL, "%s: %llu keys, more than the %llu that fit one "
                          "%u-byte message", file, (unsigned long long)nkeys,
                          (unsigned long long)(room / 4u), PH_PROTO_MAX_FRAME);
    if (table_bytes == 0 || table_bytes > room)
        return ph_err_set(err, PH_EINVAL, "%s: %llu keys make a table of %llu bytes, more than "
                          "the %llu bytes of table one %u-byte RESULT message carries (--compact "
                          "tables are about half the size)", file, (unsigned long long)nkeys,
                          (unsigned long long)table_bytes, (unsigned long long)room,
                          PH_PROTO_MAX_FRAME);
    return PH_OK;
}
