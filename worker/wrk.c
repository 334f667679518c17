/* wrk.c - the worker's loop: one DEALER, one completion port, one runtime.
 *
 * Life of a connection:
 *   new DEALER (routing id unique per connection) -> READY(credits) ->
 *   TASKs in, RESULTs out, HEARTBEATs both ways ->
 *   coordinator silent past liveness: close, back off, new DEALER, READY.
 * The runtime and port outlive connections: tasks still running when we
 * reconnect finish and their RESULTs go out on the new connection, where
 * the coordinator discards them if it has already requeued those tasks. */
#include "wrk.h"
#include "wrk_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "ph_curve.h"
#include "ph_log.h"
#include "ph_runtime.h"
#include "ph_time.h"
#include "ph_topology.h"
#include "ph_wire.h"

#define WRK_BACKOFF_MIN_MS 100
#define WRK_BACKOFF_MAX_MS 5000
#define WRK_PREFETCH 32         /* default tasks held beyond the threads */

typedef struct wrk {
    const wrk_opts *o;
    void *ctx;
    void *sock;
    ph_runtime *rt;
    ph_port *port;
    ph_node_info node;
    uint32_t numa_node;     /* OS index, reported in READY/RESULT */
    uint32_t threads, credits;
    char host[64];
    uint32_t held;          /* tasks received, RESULT not yet sent */
    uint64_t received;      /* TASKs taken since start (--test-stall-after) */
    wrk_task *tasks;        /* handed to the runtime, not yet back (PROGRESS) */
    ph_task_progress *report; /* PROGRESS entries, grown as needed */
    uint32_t report_cap;
    ph_group_progress *greport;
    uint32_t greport_cap;
    uint64_t last_progress_ms;
    bool reported;          /* the last PROGRESS listed something */
    atomic_int exiting;     /* set on the way out: ends --test-stall-after stalls */
    uint64_t done, failed;
    uint64_t last_recv_ms, last_send_ms;
    unsigned generation;    /* connections made */
    bool registering;       /* READY sent, nothing heard from the coordinator since */
    uint64_t ready_ms;      /* when that READY went out */
    bool stop;
} wrk;

void wrk_opts_init(wrk_opts *o)
{
    memset(o, 0, sizeof *o);
    o->numa_node = -1;
    o->heartbeat_ms = PH_PROTO_HEARTBEAT_MS;
    o->liveness_ms = PH_PROTO_LIVENESS_MS;
    o->test_stall_after = -1;
}

static bool stop_requested(const wrk *w)
{
    return w->stop || (w->o->stop && atomic_load(w->o->stop));
}

/* ---- sending ----------------------------------------------------------- */

static void send_msg(wrk *w, const ph_msg *m)
{
    ph_err err = {0};
    /* Short blocking wait: the socket is ours alone and HWM is far above
     * what credits allow, so room is there unless the link is gone. */
    if (ph_wire_send_wait(w->sock, m, 1000, &err) != 0)
        ph_log_warn("worker", "type=%s msg=\"send failed: %s\"", ph_msg_type_name(m->type),
                    err.msg);
    else
        w->last_send_ms = ph_time_ms();
}

static void send_ready(wrk *w)
{
    ph_msg m = {.type = PH_MSG_READY};
    m.u.ready.host = ph_bytes_str(w->host);
    m.u.ready.pid = (uint32_t)getpid();
    m.u.ready.numa_node = w->numa_node;
    m.u.ready.threads = w->threads;
    m.u.ready.credits = w->credits;
    send_msg(w, &m);
    w->registering = true;
    w->ready_ms = ph_time_ms();
}

static void send_heartbeat(wrk *w)
{
    ph_msg m = {.type = PH_MSG_HEARTBEAT};
    m.u.heartbeat.running = w->held;
    m.u.heartbeat.done = w->done;
    m.u.heartbeat.failed = w->failed;
    send_msg(w, &m);
}

/* ---- the tasks the runtime holds (for PROGRESS) ------------------------ */

static void track_add(wrk *w, wrk_task *t)
{
    t->prev = NULL;
    t->next = w->tasks;
    if (w->tasks)
        w->tasks->prev = t;
    w->tasks = t;
    t->tracked = true;
}

static void track_remove(wrk *w, wrk_task *t)
{
    if (!t->tracked)
        return;
    if (t->prev)
        t->prev->next = t->next;
    else
        w->tasks = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
    t->tracked = false;
}

/* Forget the list without touching its tasks (the runtime frees the queued
 * ones when it is destroyed). */
static void track_clear(wrk *w)
{
    for (wrk_task *t = w->tasks, *n; t; t = n) {
        n = t->next;
        t->prev = t->next = NULL;
        t->tracked = false;
    }
    w->tasks = NULL;
}

/* A newer copy of t's task (or group) is in the list: the coordinator took
 * it back and sent it here again while the old copy still runs. */
static bool superseded(const wrk *w, const wrk_task *t)
{
    for (const wrk_task *o = w->tasks; o != t; o = o->next)
        if (o->job_id == t->job_id && o->task_id == t->task_id && o->part == t->part &&
            (!t->part || o->group == t->group))
            return true;
    return false;
}

/* Room for one more entry in *v (cap entries of size bytes); false when
 * out of memory (the report then lists what fits). */
static bool report_room(void **v, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    uint32_t c = *cap ? 2 * *cap : 64;
    void *p = realloc(*v, (size_t)c * size);
    if (!p)
        return false;
    *v = p;
    *cap = c;
    return true;
}

/* PROGRESS: every task and group a runtime thread has started, with its
 * steps.  Sent every PH_PROTO_PROGRESS_MS while there is one, whatever else
 * goes out, so the coordinator can tell a long solve that works from one
 * that is stuck, then once empty.  Of two copies of one task only the newer
 * is listed: its steps are the ones the coordinator must judge. */
static void send_progress(wrk *w)
{
    uint32_t nt = 0, ng = 0;
    for (wrk_task *t = w->tasks; t; t = t->next) {
        uint64_t steps = atomic_load_explicit(&t->steps, memory_order_relaxed);
        if (steps == 0 || superseded(w, t))
            continue;
        if (t->part && report_room((void **)&w->greport, ng, &w->greport_cap,
                                   sizeof *w->greport))
            w->greport[ng++] = (ph_group_progress){t->job_id, t->task_id, t->group, steps};
        else if (!t->part && report_room((void **)&w->report, nt, &w->report_cap,
                                         sizeof *w->report))
            w->report[nt++] = (ph_task_progress){t->job_id, t->task_id, steps};
    }
    w->last_progress_ms = ph_time_ms();
    /* One empty report after the last started task is gone tells the
     * coordinator that none of its threads is held any more. */
    if (nt == 0 && ng == 0 && !w->reported)
        return;
    w->reported = nt + ng > 0;
    ph_msg m = {.type = PH_MSG_PROGRESS};
    m.u.progress.ntasks = nt;
    m.u.progress.tasks = w->report;
    m.u.progress.ngroups = ng;
    m.u.progress.groups = w->greport;
    send_msg(w, &m);
}

static void send_result(wrk *w, wrk_task *t)
{
    ph_msg m;
    wrk_task_result(t, w->numa_node, &m);
    if (t->status == 0)
        w->done++;
    else if (t->status != PH_ECANCELED)
        w->failed++;
    if (w->held > 0)
        w->held--;
    send_msg(w, &m);
    wrk_task_free(t);
}

/* ---- receiving --------------------------------------------------------- */

/* A TASK or PART_TASK, as a wrk_task (NULL when out of memory). */
static void on_task(wrk *w, wrk_task *t, uint64_t task_id)
{
    if (!t) {
        ph_log_error("worker", "task=%" PRIu64 " msg=\"out of memory\"", task_id);
        return; /* the coordinator requeues it if we ever go silent */
    }
    w->held++;
    t->delay_ms = w->o->task_delay_ms;
    t->stall = w->o->test_stall_after >= 0 && w->received >= (uint64_t)w->o->test_stall_after;
    t->stall_ms = w->o->test_stall_ms;
    t->exiting = &w->exiting;
    w->received++;
    t->rt = w->rt;
    if (w->o->fake_work) {
        /* Dispatch benchmark: an empty success, straight back. */
        t->row.keys = (uint32_t)(t->keys_len / 4);
        send_result(w, t);
        return;
    }
    track_add(w, t);
    if (ph_runtime_submit(w->rt, 0, wrk_task_work, t, 0) != 0) {
        /* Queue full: the coordinator gave more than our credits (can
         * happen right after a re-READY).  Answer with a failure rather
         * than blocking the socket loop. */
        track_remove(w, t);
        t->status = ph_err_set(&t->err, PH_EBUSY, "%s: worker queue full", t->name);
        send_result(w, t);
    }
}

/* The coordinator no longer wants a task (its job was cancelled): tell
 * every copy of it handed to the runtime to stop.  Queued, it is answered
 * PH_ECANCELED when a thread takes it; running, the solve stops at its
 * next check.  Either way its RESULT goes out as usual.  A task already
 * answered is not found: nothing to do. */
static void on_cancel_task(wrk *w, const ph_msg_cancel_task *m)
{
    unsigned found = 0;
    for (wrk_task *t = w->tasks; t; t = t->next) {
        if (t->job_id == m->job_id && t->task_id == m->task_id) {
            atomic_store(&t->stop, 1);
            found++;
        }
    }
    ph_log_debug("worker", "job=%" PRIu64 " task=%" PRIu64 " found=%u msg=\"task cancelled\"",
                 m->job_id, m->task_id, found);
}

static void on_message(wrk *w, const ph_msg *m)
{
    if (m->type == PH_MSG_TASK || m->type == PH_MSG_PART_TASK || m->type == PH_MSG_HEARTBEAT)
        w->registering = false; /* it knows us */
    switch (m->type) {
    case PH_MSG_TASK:
        on_task(w, wrk_task_new(&m->u.task, w->threads, w->port), m->u.task.task_id);
        break;
    case PH_MSG_PART_TASK:
        on_task(w, wrk_task_new_part(&m->u.part_task, w->port), m->u.part_task.task_id);
        break;
    case PH_MSG_HEARTBEAT:
        break;
    case PH_MSG_CANCEL_TASK:
        on_cancel_task(w, &m->u.cancel_task);
        break;
    case PH_MSG_STOP:
        ph_log_info("worker", "node=%u msg=\"STOP from coordinator\"", w->numa_node);
        w->stop = true;
        break;
    case PH_MSG_ERROR:
        /* The coordinator does not know us (it dropped us, or restarted).
         * Every HEARTBEAT/RESULT we sent before our READY arrived earns one
         * such ERROR: answer only the first, or each extra READY would make
         * the coordinator re-register us and take back what it just gave. */
        if (w->registering && ph_time_ms() - w->ready_ms < (uint64_t)w->o->liveness_ms)
            break;
        ph_log_warn("worker", "msg=\"coordinator: %.*s; registering again\"",
                    (int)m->u.error.text.n, m->u.error.text.p);
        send_ready(w);
        break;
    default:
        ph_log_warn("worker", "type=%s msg=\"unexpected message ignored\"",
                    ph_msg_type_name(m->type));
    }
}

static void recv_all(wrk *w)
{
    for (;;) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, w->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f);
            return;
        }
        w->last_recv_ms = ph_time_ms();
        ph_msg m;
        ph_err err = {0};
        if (zmq_msg_more(&f)) {
            ph_wire_drain_parts(w->sock);
            ph_log_warn("worker", "msg=\"multipart frame dropped\"");
        } else if (ph_msg_decode(zmq_msg_data(&f), zmq_msg_size(&f), &m, &err) != 0) {
            ph_log_warn("worker", "msg=\"bad frame: %s\"", err.msg);
        } else {
            on_message(w, &m);
            ph_msg_free(&m);
        }
        zmq_msg_close(&f);
    }
}

/* Send the RESULT of every finished task (or drop them when offline). */
static void drain_port(wrk *w, bool send)
{
    ph_packet p;
    while (ph_port_get(w->port, &p, 0) == 0) {
        wrk_task *t = p.data;
        track_remove(w, t);
        if (send) {
            send_result(w, t);
        } else {
            if (w->held > 0)
                w->held--;
            wrk_task_free(t);
        }
    }
}

/* ---- connection -------------------------------------------------------- */

static void close_sock(wrk *w)
{
    if (w->sock)
        zmq_close(w->sock);
    w->sock = NULL;
}

static int connect_sock(wrk *w, ph_err *err)
{
    char id[160];
    snprintf(id, sizeof id, "w-%s-%ld-n%u-c%u", w->host, (long)getpid(), w->numa_node,
             ++w->generation);
    ph_wire_opts wo;
    ph_wire_opts_init(&wo);
    wo.heartbeat_ms = w->o->heartbeat_ms;
    wo.heartbeat_timeout_ms = w->o->liveness_ms;
    wo.routing_id = id;
    int rc = ph_wire_socket(w->ctx, ZMQ_DEALER, &wo, &w->sock, err);
    if (!rc && w->o->curve_secret)
        rc = ph_curve_client(w->sock, w->o->curve_secret, w->o->curve_server, err);
    if (rc) {
        close_sock(w);
        return rc;
    }
    if (zmq_connect(w->sock, w->o->coordinator) != 0) {
        rc = ph_err_set(err, PH_EINVAL, "--coordinator %s: %s", w->o->coordinator,
                        ph_wire_strerror());
        zmq_close(w->sock);
        w->sock = NULL;
        return rc;
    }
    w->last_recv_ms = ph_time_ms();
    send_ready(w);
    return PH_OK;
}

/* Serve one connection until it goes silent (returns 0) or we stop. */
static int serve(wrk *w, ph_err *err)
{
    zmq_pollitem_t items[2] = {
        {w->sock, 0, ZMQ_POLLIN, 0},
        {NULL, ph_port_fd(w->port), ZMQ_POLLIN, 0},
    };
    while (!stop_requested(w)) {
        uint64_t now = ph_time_ms();
        long t = (long)w->o->heartbeat_ms - (long)(now - w->last_send_ms);
        if (t < 0)
            t = 0;
        if (t > 100)
            t = 100; /* notice *stop promptly */
        if (zmq_poll(items, 2, t) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            if (zmq_errno() == ETERM)
                return PH_ECLOSED;
            return ph_err_set(err, PH_EIO, "zmq_poll: %s", ph_wire_strerror());
        }
        if (items[0].revents & ZMQ_POLLIN)
            recv_all(w);
        drain_port(w, true);
        now = ph_time_ms();
        if (now - w->last_send_ms >= (uint64_t)w->o->heartbeat_ms)
            send_heartbeat(w);
        if (now - w->last_progress_ms >= PH_PROTO_PROGRESS_MS)
            send_progress(w);
        if (now - w->last_recv_ms > (uint64_t)w->o->liveness_ms) {
            ph_log_warn("worker", "coordinator=%s msg=\"coordinator silent; reconnecting\"",
                        w->o->coordinator);
            return PH_OK;
        }
    }
    return PH_OK;
}

static void sleep_ms(wrk *w, unsigned ms)
{
    /* Sleep in slices, dropping finished work (the coordinator requeued it). */
    while (ms > 0 && !stop_requested(w)) {
        unsigned s = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)s * 1000000L};
        nanosleep(&ts, NULL);
        drain_port(w, false);
        ms -= s;
    }
}

static int run_loop(wrk *w, ph_err *err)
{
    unsigned backoff = WRK_BACKOFF_MIN_MS;
    while (!stop_requested(w)) {
        int rc = connect_sock(w, err);
        if (rc)
            return rc;
        uint64_t started = ph_time_ms();
        rc = serve(w, err);
        close_sock(w);
        if (rc)
            return rc == PH_ECLOSED ? PH_OK : rc;
        if (stop_requested(w))
            break;
        /* A connection that lived a while resets the backoff. */
        if (ph_time_ms() - started > 2u * (uint64_t)w->o->liveness_ms)
            backoff = WRK_BACKOFF_MIN_MS;
        sleep_ms(w, backoff);
        backoff = backoff * 2 > WRK_BACKOFF_MAX_MS ? WRK_BACKOFF_MAX_MS : backoff * 2;
    }
    return PH_OK;
}

/* ---- set-up ------------------------------------------------------------ */

static int setup(wrk *w, ph_err *err)
{
    const wrk_opts *o = w->o;
    int numa = o->numa_node;
    if (numa < 0) {
        unsigned first = 0, count = 0;
        int rc = ph_topology_nodes(o->topology, &first, 1, &count, err);
        if (rc)
            return rc;
        numa = (int)first;
    }
    ph_runtime_opts ro;
    ph_runtime_opts_init(&ro);
    ro.topology = o->topology;
    ro.numa_node = numa;
    ro.threads_per_node = o->threads;
    /* The queue holds every task we could ever be given, with room for the
     * overlap right after a re-READY. */
    ro.queue_capacity = 1024;
    int rc = ph_runtime_create(&ro, &w->rt, err);
    if (rc)
        return rc;
    if (ph_runtime_node_count(w->rt) != 1 || ph_runtime_node_info(w->rt, 0, &w->node) != 0)
        return ph_err_set(err, PH_EINVAL, "--numa-node %d: no such NUMA node", numa);
    w->numa_node = w->node.os_index;
    w->threads = w->node.threads ? w->node.threads : 1;
    /* A deep pipeline lets tasks and results travel in bursts: with only
     * a task or two queued per thread, every small table cost a wake-up of
     * each thread on both sides (1.28x the in-process time for sys32; 1.05x
     * with 32, docs/BENCHMARKS.md).  The coordinator sends beyond our
     * threads only for a few ms of work at our pace and while the keys we
     * hold are small (phcoord --prefetch-ms), so slow or big tables are not
     * hoarded. */
    unsigned pre = o->prefetch ? o->prefetch : WRK_PREFETCH;
    if (!o->prefetch && pre < 4 * w->threads)
        pre = 4 * w->threads;
    w->credits = w->threads + pre;
    if (w->credits > 512)
        w->credits = 512;
    if (gethostname(w->host, sizeof w->host - 1) != 0 || !w->host[0])
        snprintf(w->host, sizeof w->host, "localhost");
    return ph_port_create(2048, &w->port, err);
}

int wrk_check_security(const wrk_opts *o, ph_err *err)
{
    if (!o->curve_secret != !o->curve_server)
        return ph_err_set(err, PH_EINVAL, "--curve-secret and --curve-server go together");
    if (!o->curve_secret && o->coordinator && !ph_endpoint_is_loopback(o->coordinator))
        return ph_err_set(err, PH_EPERM, "--coordinator %s is not loopback; it requires "
                          "--curve-secret and --curve-server (CURVE)", o->coordinator);
    if (o->curve_secret && !ph_curve_available())
        return ph_err_set(err, PH_EINVAL, "--curve-secret: this libzmq has no CURVE support");
    return PH_OK;
}

int wrk_run(const wrk_opts *o, void *zmq_ctx, ph_err *err)
{
    if (!o->coordinator || !o->coordinator[0])
        return ph_err_set(err, PH_EINVAL, "--coordinator: missing endpoint");
    int src = wrk_check_security(o, err);
    if (src)
        return src;
    wrk_opts eff = *o;
    if (eff.heartbeat_ms <= 0)
        eff.heartbeat_ms = PH_PROTO_HEARTBEAT_MS;
    if (eff.liveness_ms <= 0)
        eff.liveness_ms = PH_PROTO_LIVENESS_MS;
    wrk w = {.o = &eff};
    int rc = setup(&w, err);
    if (!rc) {
        w.ctx = zmq_ctx ? zmq_ctx : zmq_ctx_new();
        if (!w.ctx)
            rc = ph_err_set(err, PH_EIO, "zmq_ctx_new: %s", ph_wire_strerror());
    }
    if (!rc) {
        ph_log_info("worker", "node=%u threads=%u credits=%u bound=%d coordinator=%s "
                    "msg=\"worker started\"", w.numa_node, w.threads, w.credits,
                    (int)w.node.bound, eff.coordinator);
        rc = run_loop(&w, err);
    }
    /* Queued tasks are cancelled, running solves are told to stop (the
     * coordinator requeues whatever we held); nothing more is sent.  The
     * runtime frees the queued ones itself: forget the list first. */
    atomic_store(&w.exiting, 1);
    for (wrk_task *t = w.tasks; t; t = t->next)
        atomic_store(&t->stop, 1);
    track_clear(&w);
    free(w.report);
    free(w.greport);
    if (w.rt)
        ph_runtime_destroy(w.rt, false, wrk_task_free);
    if (w.port) {
        drain_port(&w, false);
        ph_port_destroy(w.port);
    }
    close_sock(&w);
    if (w.ctx && !zmq_ctx)
        zmq_ctx_term(w.ctx);
    return rc;
}
