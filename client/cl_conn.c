/* cl_conn.c - the client's socket: a DEALER with receive deadlines. */
#include "cl_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ph_curve.h"
#include "ph_time.h"
#include "ph_wire.h"

static void release(cl_conn *c)
{
    if (!c->have)
        return;
    ph_msg_free(&c->reply);
    zmq_msg_close(&c->frame);
    c->have = false;
}

int cl_conn_open(cl_conn *c, void *ctx, const char *endpoint, const char *curve_secret,
                 const char *curve_server, ph_err *err)
{
    memset(c, 0, sizeof *c);
    c->endpoint = endpoint;
    c->ctx = ctx;
    if (!ctx) {
        c->ctx = zmq_ctx_new();
        c->own_ctx = true;
        if (!c->ctx)
            return ph_err_set(err, PH_EIO, "zmq_ctx_new: %s", ph_wire_strerror());
    }
    ph_wire_opts wo;
    ph_wire_opts_init(&wo);
    wo.linger_ms = 0;      /* a client never needs its unsent requests after exit */
    wo.heartbeat_ms = 0;   /* deadlines on each request do the job */
    int rc = ph_wire_socket(c->ctx, ZMQ_DEALER, &wo, &c->sock, err);
    if (!rc && curve_secret)
        rc = ph_curve_client(c->sock, curve_secret, curve_server, err);
    if (!rc && zmq_connect(c->sock, endpoint) != 0)
        rc = ph_err_set(err, PH_EINVAL, "coordinator endpoint '%s': %s", endpoint,
                        ph_wire_strerror());
    if (rc)
        cl_conn_close(c);
    return rc;
}

static int recv_reply(cl_conn *c, int timeout_ms, ph_err *err)
{
    zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&it, 1, timeout_ms);
    if (n < 0)
        return ph_err_set(err, zmq_errno() == EINTR ? PH_ETIMEOUT : PH_EIO, "zmq_poll: %s",
                          ph_wire_strerror());
    if (n == 0)
        return PH_ETIMEOUT;
    zmq_msg_init(&c->frame);
    if (zmq_msg_recv(&c->frame, c->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&c->frame);
        return PH_ETIMEOUT;
    }
    if (zmq_msg_more(&c->frame)) {
        ph_wire_drain_parts(c->sock);
        zmq_msg_close(&c->frame);
        return ph_err_set(err, PH_EPROTO, "coordinator sent a multipart reply");
    }
    int rc = ph_msg_decode(zmq_msg_data(&c->frame), zmq_msg_size(&c->frame), &c->reply, err);
    if (rc) {
        zmq_msg_close(&c->frame);
        return rc;
    }
    c->have = true;
    return PH_OK;
}

int cl_conn_request(cl_conn *c, const ph_msg *req, ph_msg_type expect, int timeout_ms,
                    const ph_msg **reply, ph_err *err)
{
    release(c);
    int rc = ph_wire_send_wait(c->sock, req, timeout_ms, err);
    if (rc)
        return rc == PH_ETIMEOUT
                   ? ph_err_set(err, PH_ETIMEOUT, "cannot reach coordinator at %s", c->endpoint)
                   : rc;
    uint64_t deadline = ph_time_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = ph_time_ms();
        if (now >= deadline)
            break;
        rc = recv_reply(c, (int)(deadline - now), err);
        if (rc == PH_ETIMEOUT)
            break;
        if (rc)
            return rc;
        if (c->reply.type == expect) {
            *reply = &c->reply;
            return PH_OK;
        }
        if (c->reply.type == PH_MSG_ERROR) {
            const ph_msg_error *e = &c->reply.u.error;
            rc = ph_err_set(err, e->code < 0 ? e->code : PH_EPROTO, "coordinator: %.*s",
                            (int)e->text.n, e->text.p);
            release(c);
            return rc;
        }
        release(c); /* a late reply to an earlier request */
    }
    return ph_err_set(err, PH_ETIMEOUT, "cannot reach coordinator at %s (no reply to %s "
                      "within %d ms)", c->endpoint, ph_msg_type_name(req->type), timeout_ms);
}

void cl_conn_close(cl_conn *c)
{
    release(c);
    if (c->sock)
        zmq_close(c->sock);
    c->sock = NULL;
    if (c->own_ctx && c->ctx)
        zmq_ctx_term(c->ctx);
    c->ctx = NULL;
}
