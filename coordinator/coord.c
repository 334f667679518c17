/* coord.c - the coordinator's event loop: one ROUTER, one thread.
 *
 * Workers and clients are both DEALERs on the same ROUTER; a peer is a
 * worker once it has sent READY.  Every frame pair is [identity][ph_msg].
 * The loop, in the spirit of the ZeroMQ guide's Majordomo broker but with
 * our own policy:
 *   1. poll the socket (timeout = next heartbeat or WAIT deadline),
 *   2. handle every message already queued (bounded batch),
 *   3. dispatch tasks while some worker has a free credit,
 *   4. heartbeat workers, drop silent ones (requeueing what they held),
 *      take back stalled tasks, answer WAITs whose deadline passed.  A
 *      worker counts as silent, and a task as stalled, only once every
 *      message queued for us has been read: when this loop was slow (a
 *      starved or sanitizer-slowed process), the heartbeats and progress
 *      waiting in the socket are the workers' alibi, not their silence.
 * This file owns the loop and routes each message to the file that handles
 * its kind (coord_client.c, coord_worker.c); decisions flow down from here
 * (coord_int.h draws the map).
 * Unlike the guide's broker we track task -> worker ourselves, because a
 * dropped worker's tasks must be requeued and its late results ignored. */
#include "coord_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "ph_curve.h"
#include "ph_fs.h"
#include "ph_local.h"
#include "ph_log.h"
#include "ph_lograte.h"
#include "ph_wire.h"
#include "ph_zap.h"

#define COORD_BATCH 512               /* messages handled per poll wake-up */

void coord_opts_init(coord_opts *o)
{
    memset(o, 0, sizeof *o);
    o->heartbeat_ms = PH_PROTO_HEARTBEAT_MS;
    o->liveness_ms = PH_PROTO_LIVENESS_MS;
    o->writers = -1;
    o->prefetch_ms = COORD_DEFAULT_PREFETCH_MS;
    o->keep_jobs = COORD_DEFAULT_KEEP_JOBS;
    o->job_ttl_s = COORD_DEFAULT_JOB_TTL_S;
    o->journal_compact_bytes = COORD_DEFAULT_COMPACT_BYTES;
    o->part_task_bytes = COORD_DEFAULT_PART_TASK_BYTES;
    o->stall_ms = COORD_STALL_DEFAULT;
}

/* ---- one message ------------------------------------------------------- */

static void handle(coord *c, const void *ident, size_t n, zmq_msg_t *frame, ph_msg *m)
{
    coord_worker *w = coord_worker_find(c, ident, n, NULL);
    if (w) {
        w->last_seen_ms = coord_now_ms();
        w->blocked = false;
    }
    switch (m->type) {
    case PH_MSG_READY:
        coord_on_ready(c, ident, n, &m->u.ready);
        return;
    case PH_MSG_HEARTBEAT:
    case PH_MSG_RESULT:
    case PH_MSG_PART_RESULT:
    case PH_MSG_PROGRESS:
        if (!w) {
            /* e.g. we dropped it for silence: tell it to register again. */
            coord_reply_error(c, ident, n, PH_EPROTO, "unknown worker: send READY");
            return;
        }
        if (m->type == PH_MSG_RESULT)
            coord_on_result(c, w, frame, m);
        else if (m->type == PH_MSG_PART_RESULT)
            coord_on_part_result(c, w, frame, m);
        else if (m->type == PH_MSG_PROGRESS)
            coord_on_progress(c, w, &m->u.progress);
        else
            coord_on_heartbeat(c, w, &m->u.heartbeat);
        return;
    case PH_MSG_SUBMIT_BULK:
    case PH_MSG_SUBMIT_CREATE:
        coord_on_submit(c, ident, n, m);
        return;
    case PH_MSG_WAIT:
        coord_on_wait(c, ident, n, &m->u.wait);
        return;
    case PH_MSG_STATUS:
        coord_on_status(c, ident, n);
        return;
    case PH_MSG_CANCEL:
        coord_on_cancel(c, ident, n, &m->u.cancel);
        return;
    case PH_MSG_SHUTDOWN: {
        ph_msg ok = {.type = PH_MSG_OK};
        coord_reply(c, ident, n, &ok);
        ph_log_info("coord", "msg=\"shutdown requested\"");
        c->quit = true;
        return;
    }
    case PH_MSG_PING: {
        ph_msg p = {.type = PH_MSG_PONG};
        p.u.pong.version = PH_PROTO_VERSION;
        p.u.pong.uptime_ms = coord_now_ms() - c->start_ms;
        coord_reply(c, ident, n, &p);
        return;
    }
    default:
        if (coord_log_peer(c, "unexpected", ident, n, PH_LOG_WARN))
            ph_log_warn("coord", "type=%s msg=\"unexpected message\"",
                        ph_msg_type_name(m->type));
        if (!w)
            coord_reply_error(c, ident, n, PH_EPROTO, "unexpected message type");
        return;
    }
}

/* Nothing left to read on the socket (an error counts as nothing). */
static bool socket_drained(coord *c)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt(c->sock, ZMQ_EVENTS, &events, &len) != 0 || !(events & ZMQ_POLLIN);
}

/* Receive and handle one [identity][payload] pair; 0 when none is queued. */
static int recv_one(coord *c)
{
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, c->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&id);
        return 0;
    }
    const void *ident = zmq_msg_data(&id);
    size_t n = zmq_msg_size(&id);
    if (n == 0 || n > COORD_IDENT_MAX || !zmq_msg_more(&id)) {
        if (coord_log_peer(c, "bad-envelope", ident, n < COORD_IDENT_MAX ? n : COORD_IDENT_MAX,
                           PH_LOG_WARN))
            ph_log_warn("coord", "msg=\"malformed envelope dropped\"");
        ph_wire_drain_parts(c->sock);
        zmq_msg_close(&id);
        return 1;
    }
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, c->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&body);
        zmq_msg_close(&id);
        return 1;
    }
    bool extra = zmq_msg_more(&body);
    ph_msg m;
    ph_err err = {0};
    if (extra) {
        ph_wire_drain_parts(c->sock);
        ph_err_set(&err, PH_EPROTO, "expected one frame per message, got several");
    }
    int rc = extra ? PH_EPROTO : ph_msg_decode(zmq_msg_data(&body), zmq_msg_size(&body), &m, &err);
    if (rc) {
        char idtxt[2 * COORD_IDENT_MAX + 1];
        coord_ident_text(ident, n, idtxt);
        if (coord_log_peer(c, "bad-frame", ident, n, PH_LOG_WARN))
            ph_log_warn("coord", "peer=%s bytes=%zu msg=\"bad frame: %s\"", idtxt,
                        zmq_msg_size(&body), err.msg);
        /* Clients get told; workers (which never send garbage on purpose)
         * are not answered, so a confused worker cannot loop on errors. */
        if (!coord_worker_find(c, ident, n, NULL))
            coord_reply_error(c, ident, n, rc, err.msg);
    } else {
        c->taken = false;
        handle(c, ident, n, &body, &m);
        if (!c->taken)
            ph_msg_free(&m);
    }
    zmq_msg_close(&body);
    zmq_msg_close(&id);
    return 1;
}

static long poll_timeout(const coord *c, uint64_t now)
{
    uint64_t next = c->last_hb_ms + (uint64_t)c->opts->heartbeat_ms;
    for (size_t i = 0; i < c->nwaiters; i++)
        if (c->waiters[i].deadline_ms < next)
            next = c->waiters[i].deadline_ms;
    return next > now ? (long)(next - now) : 0;
}

/* ---- set-up and teardown ------------------------------------------------ */

/* An ipc:// endpoint lives in a directory only this user (and --group)
 * can reach: made or checked before the bind, the socket's mode set after
 * (ph_local.h). */
static int bind_socket(coord *c, ph_err *err)
{
    const coord_opts *o = c->opts;
    bool ipc = !strncmp(o->bind, "ipc://", 6);
    char dir[PH_LOCAL_ENDPOINT_MAX], name[PH_LOCAL_ENDPOINT_MAX];
    gid_t gid = 0;
    int dirfd = -1;
    int rc = PH_OK;
    if (o->group && !ipc)
        return ph_err_set(err, PH_EINVAL, "--group %s: only for an ipc:// endpoint (--bind "
                          "%s)", o->group, o->bind);
    if (ipc && ((rc = ph_local_ipc_split(o->bind, dir, sizeof dir, name, sizeof name, err)) ||
                (o->group && (rc = ph_local_group(o->group, &gid, err))) ||
                (rc = ph_local_listen_dir(dir, name, o->group != NULL, gid, &dirfd, err))))
        return rc;
    if (zmq_bind(c->sock, o->bind) != 0)
        rc = ph_err_set(err, PH_EIO, "--bind %s: %s", o->bind, ph_wire_strerror());
    if (!rc && ipc)
        rc = ph_local_listen_socket(dirfd, dir, name, o->group != NULL, gid, err);
    if (dirfd >= 0)
        close(dirfd);
    if (!rc && ipc)
        ph_log_info("coord", "dir=%s group=%s msg=\"local endpoint: only %s may connect\"",
                    dir, o->group ? o->group : "-",
                    o->group ? "this user and the group" : "this user");
    if (!rc && !ipc && !o->curve_secret && strncmp(o->bind, "inproc://", 9) != 0)
        ph_log_warn("coord", "endpoint=%s msg=\"TCP on loopback without CURVE: every local "
                    "user can submit jobs, register as a worker and shut the coordinator "
                    "down (docs/SECURITY.md)\"", o->bind);
    return rc;
}

static int open_socket(coord *c, void *ctx, ph_err *err)
{
    ph_wire_opts wo;
    ph_wire_opts_init(&wo);
    wo.heartbeat_ms = c->opts->heartbeat_ms;
    wo.heartbeat_timeout_ms = c->opts->liveness_ms;
    int rc = ph_wire_socket(ctx, ZMQ_ROUTER, &wo, &c->sock, err);
    if (rc)
        return rc;
    /* The ZAP handler is already running (coord_run): no CURVE client is
     * ever let in unchecked. */
    if (c->opts->curve_secret &&
        (rc = ph_curve_server_file(c->sock, c->opts->curve_secret, err)) != 0)
        return rc;
    if ((rc = bind_socket(c, err)) != 0)
        return rc;
    char ep[512];
    size_t len = sizeof ep;
    if (zmq_getsockopt(c->sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        snprintf(ep, sizeof ep, "%s", c->opts->bind);
    ph_log_info("coord", "endpoint=%s msg=\"coordinator listening\"", ep);
    if (c->opts->endpoint_file) {
        char line[520];
        int n = snprintf(line, sizeof line, "%s\n", ep);
        rc = ph_fs_write_atomic(c->opts->endpoint_file, line, (size_t)n, 0, err);
    }
    return rc;
}

static void teardown(coord *c)
{
    /* First: pending writes refer to jobs' out_dir. */
    coord_writer_stop(c->writer);
    c->writer = NULL;
    coord_durable_stop(c); /* finished writes still waiting for their sync */
    coord_journal_close(c->journal);
    c->journal = NULL;
    for (size_t i = 0; i < c->nwaiters; i++)
        coord_reply_error(c, c->waiters[i].ident, c->waiters[i].ident_len, PH_ECLOSED,
                    "coordinator shutting down");
    /* Workers are not told to stop: they keep reconnecting with backoff
     * until a coordinator is back (docs/OPERATIONS.md), so restarting
     * phcoord never takes the cluster down.  STOP stays in the protocol for
     * a future "shutdown --workers". */
    for (size_t i = 0; i < c->nworkers; i++)
        free(c->workers[i]);
    free(c->workers);
    for (size_t i = 0; i < c->jobs.n; i++)
        coord_part_abandon(c->jobs.v[i]); /* one-off temporaries removed; with
                                             --state-dir values and record stay */
    coord_part_orphans_free(c);
    coord_jobs_free(&c->jobs);
    free(c->waiters);
    ph_lograte_free(c->lograte); /* logs the counts still pending */
    c->lograte = NULL;
}

static void maybe_reload(coord *c)
{
    if (!c->zap || !c->opts->reload || !atomic_exchange(c->opts->reload, 0))
        return;
    ph_err err = {0};
    if (ph_zap_reload(c->zap, &err) != 0)
        ph_log_error("coord", "msg=\"allow-list reload failed, old list kept: %s\"", err.msg);
    else
        ph_log_info("coord", "keys=%zu msg=\"allow-list reloaded\"",
                    ph_zap_allowed_count(c->zap));
}

static int loop(coord *c, ph_err *err)
{
    while (!c->quit && !(c->opts->stop && atomic_load(c->opts->stop))) {
        uint64_t now = coord_now_ms(), polled = now;
        long timeout = coord_durable_timeout(c, poll_timeout(c, now));
        /* A stop flag set from another thread is noticed within 100 ms. */
        if (c->opts->stop && timeout > 100)
            timeout = 100;
        zmq_pollitem_t it[2] = {
            {c->sock, 0, ZMQ_POLLIN, 0},
            {NULL, c->writer ? coord_writer_fd(c->writer) : -1, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(it, c->writer ? 2 : 1, timeout) < 0) {
            if (zmq_errno() == EINTR)
                continue;
            if (zmq_errno() == ETERM)
                break;
            return ph_err_set(err, PH_EIO, "zmq_poll: %s", ph_wire_strerror());
        }
        uint64_t t0 = coord_now_ms();
        /* A poll that returns long after its timeout: this process got no
         * CPU (or was stopped) meanwhile. */
        uint64_t late = t0 - polled > (uint64_t)timeout ? t0 - polled - (uint64_t)timeout : 0;
        for (int i = 0; i < COORD_BATCH && !c->quit && recv_one(c); i++)
            ;
        uint64_t t1 = coord_now_ms();
        coord_wjob *wj;
        while ((wj = coord_writer_take(c->writer)) != NULL) {
            if (wj->part)
                coord_part_done(c, wj);
            else if (!coord_finish_write(c, wj))
                coord_wjob_free(wj);
        }
        coord_durable_flush(c, false);
        uint64_t t2 = coord_now_ms();
        if (!c->quit)
            coord_dispatch(c);
        maybe_reload(c);
        now = coord_now_ms();
        ph_lograte_tick(c->lograte, now);
        /* Peers judge us by our heartbeats: say when we were away long. */
        if (now - t0 + late > (uint64_t)c->opts->liveness_ms / 2)
            ph_log_warn("coord", "ms=%llu poll_late_ms=%llu messages_ms=%llu writes_ms=%llu "
                        "dispatch_ms=%llu msg=\"slow loop iteration\"",
                        (unsigned long long)(now - t0 + late), (unsigned long long)late,
                        (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1),
                        (unsigned long long)(now - t2));
        coord_retain(c, now);
        coord_journal_flush(c->journal, false);
        bool heard_all = socket_drained(c);
        coord_workers_tick(c, now, heard_all);
        coord_stall_tick(c, now, heard_all);
        coord_expire_waiters(c, now);
    }
    return PH_OK;
}

static void setup_roots(coord *c)
{
    c->roots = c->opts->allow_roots;
    c->nroots = c->opts->nallow_roots;
    for (size_t i = 0; i < c->nroots; i++)
        ph_log_info("coord", "root=%s msg=\"jobs may read and write here\"", c->roots[i]);
    if (c->nroots == 0)
        ph_log_info("coord", "msg=\"no --allow-root: jobs may use any path this process "
                    "can\"");
}

/* Loopback needs no keys; anything else needs CURVE with an allow-list. */
static int check_security(const coord_opts *o, ph_err *err)
{
    if (o->curve_secret && !o->curve_allow)
        return ph_err_set(err, PH_EINVAL, "--curve-secret needs --curve-allow (the keys "
                          "that may connect)");
    if (o->curve_allow && !o->curve_secret)
        return ph_err_set(err, PH_EINVAL, "--curve-allow needs --curve-secret");
    if (!o->curve_secret && !ph_endpoint_is_loopback(o->bind))
        return ph_err_set(err, PH_EPERM, "--bind %s is not loopback; it requires "
                          "--curve-secret and --curve-allow (CURVE)", o->bind);
    if (o->curve_secret && !ph_curve_available())
        return ph_err_set(err, PH_EINVAL, "--curve-secret: this libzmq has no CURVE support");
    return PH_OK;
}

int coord_run(const coord_opts *o, void *zmq_ctx, ph_err *err)
{
    coord_opts defaults;
    coord_opts_init(&defaults);
    coord_opts eff = *o;
    char local_ep[PH_LOCAL_ENDPOINT_MAX];
    if (!eff.bind) {
        int lrc = ph_local_default_endpoint(local_ep, sizeof local_ep, err);
        if (lrc)
            return lrc;
        eff.bind = local_ep;
    }
    if (eff.heartbeat_ms <= 0)
        eff.heartbeat_ms = defaults.heartbeat_ms;
    if (eff.liveness_ms <= 0)
        eff.liveness_ms = defaults.liveness_ms;
    if (eff.keep_jobs == 0)
        eff.keep_jobs = defaults.keep_jobs;
    if (eff.journal_compact_bytes == 0)
        eff.journal_compact_bytes = defaults.journal_compact_bytes;
    if (eff.liveness_ms < 2 * eff.heartbeat_ms)
        return ph_err_set(err, PH_EINVAL, "--liveness-ms %d: must be at least twice "
                          "--heartbeat-ms %d", eff.liveness_ms, eff.heartbeat_ms);
    int rc = check_security(&eff, err);
    if (rc)
        return rc;
    void *ctx = zmq_ctx ? zmq_ctx : zmq_ctx_new();
    if (!ctx)
        return ph_err_set(err, PH_EIO, "zmq_ctx_new: %s", ph_wire_strerror());
    coord c = {.opts = &eff};
    c.start_ms = c.last_hb_ms = coord_now_ms();
    coord_durable_init(&c);
    rc = ph_lograte_new("coord", 0, 0, &c.lograte, err);
    if (!rc && eff.curve_secret) {
        rc = ph_zap_start(ctx, eff.curve_allow, &c.zap, err);
        if (!rc)
            ph_log_info("coord", "keys=%zu msg=\"CURVE on, allow-list loaded\"",
                        ph_zap_allowed_count(c.zap));
    }
    setup_roots(&c);
    c.max_tries = eff.max_tries > 0 ? (unsigned)eff.max_tries : COORD_DEFAULT_MAX_TRIES;
    if (!rc && eff.state_dir)
        rc = coord_restore(&c, eff.state_dir, err);
    if (!rc && eff.writers != 0)
        rc = coord_writer_start(eff.writers < 0 ? COORD_DEFAULT_WRITERS : (unsigned)eff.writers,
                                &c.writer, err);
    if (!rc)
        rc = open_socket(&c, ctx, err);
    if (!rc)
        rc = loop(&c, err);
    teardown(&c);
    if (c.sock)
        zmq_close(c.sock);
    ph_zap_stop(c.zap); /* before the context goes */
    if (!zmq_ctx)
        zmq_ctx_term(ctx);
    return rc;
}
