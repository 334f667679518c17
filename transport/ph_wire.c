/* ph_wire.c - socket set-up and message send for every phcluster program. */
#include "ph_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

void ph_wire_opts_init(ph_wire_opts *o)
{
    memset(o, 0, sizeof *o);
    o->hwm = 10000;
    o->linger_ms = 100;
    o->heartbeat_ms = PH_PROTO_HEARTBEAT_MS;
    o->heartbeat_timeout_ms = PH_PROTO_LIVENESS_MS;
}

const char *ph_wire_strerror(void) { return zmq_strerror(zmq_errno()); }

/* Smallest frame cap the tests may set: room for the fixed fields of every
 * message and a few KiB of payload. */
#define WIRE_TEST_FRAME_MIN 65536u

uint32_t ph_wire_max_frame(void)
{
    const char *s = getenv("PH_TEST_MAX_FRAME");
    if (!s || !*s)
        return PH_PROTO_MAX_FRAME;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v < WIRE_TEST_FRAME_MIN || v > PH_PROTO_MAX_FRAME)
        return PH_PROTO_MAX_FRAME;
    return (uint32_t)v;
}

static int set_int(void *s, int opt, int v, const char *name, ph_err *err)
{
    if (zmq_setsockopt(s, opt, &v, sizeof v) != 0)
        return ph_err_set(err, PH_EIO, "zmq_setsockopt(%s=%d): %s", name, v,
                          ph_wire_strerror());
    return PH_OK;
}

static int apply_opts(void *s, int type, const ph_wire_opts *o, ph_err *err)
{
    /* The cap is enforced by libzmq before a byte reaches the decoder. */
    int64_t maxmsg = ph_wire_max_frame();
    if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
        return ph_err_set(err, PH_EIO, "zmq_setsockopt(MAXMSGSIZE): %s", ph_wire_strerror());
    int hwm = o->hwm > 0 ? o->hwm : 10000;
    int rc = set_int(s, ZMQ_SNDHWM, hwm, "SNDHWM", err);
    if (!rc)
        rc = set_int(s, ZMQ_RCVHWM, hwm, "RCVHWM", err);
    if (!rc)
        rc = set_int(s, ZMQ_LINGER, o->linger_ms, "LINGER", err);
    if (!rc && o->heartbeat_ms > 0) {
        rc = set_int(s, ZMQ_HEARTBEAT_IVL, o->heartbeat_ms, "HEARTBEAT_IVL", err);
        if (!rc)
            rc = set_int(s, ZMQ_HEARTBEAT_TIMEOUT, o->heartbeat_timeout_ms,
                         "HEARTBEAT_TIMEOUT", err);
    }
    if (!rc && type == ZMQ_ROUTER) {
        rc = set_int(s, ZMQ_ROUTER_MANDATORY, 1, "ROUTER_MANDATORY", err);
        if (!rc)
            rc = set_int(s, ZMQ_ROUTER_HANDOVER, 1, "ROUTER_HANDOVER", err);
    }
    if (!rc && type == ZMQ_DEALER && o->routing_id) {
        if (zmq_setsockopt(s, ZMQ_ROUTING_ID, o->routing_id, strlen(o->routing_id)) != 0)
            rc = ph_err_set(err, PH_EIO, "zmq_setsockopt(ROUTING_ID): %s", ph_wire_strerror());
    }
    return rc;
}

int ph_wire_socket(void *ctx, int type, const ph_wire_opts *o, void **out, ph_err *err)
{
    ph_wire_opts defaults;
    if (!o) {
        ph_wire_opts_init(&defaults);
        o = &defaults;
    }
    *out = NULL;
    void *s = zmq_socket(ctx, type);
    if (!s)
        return ph_err_set(err, PH_EIO, "zmq_socket: %s", ph_wire_strerror());
    int rc = apply_opts(s, type, o, err);
    if (rc) {
        zmq_close(s);
        return rc;
    }
    *out = s;
    return PH_OK;
}

static void free_buf(void *data, void *hint)
{
    (void)hint;
    free(data);
}

static int send_errno(ph_err *err)
{
    int e = zmq_errno();
    if (e == EAGAIN)
        return ph_err_set(err, PH_EBUSY, "send: peer queue full");
    if (e == EHOSTUNREACH)
        return ph_err_set(err, PH_ECLOSED, "send: peer is gone");
    return ph_err_set(err, PH_EIO, "send: %s", zmq_strerror(e));
}

int ph_wire_send(void *sock, const void *ident, size_t ident_len, const ph_msg *m,
                 ph_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = ph_msg_encode(m, &buf, &len, err);
    if (rc)
        return rc;
    if (len > ph_wire_max_frame()) { /* only below PH_PROTO_MAX_FRAME in tests */
        free(buf);
        return ph_err_set(err, PH_EINVAL, "%s: %zu bytes exceed the frame limit of %u",
                          ph_msg_type_name(m->type), len, ph_wire_max_frame());
    }
    if (ident && zmq_send(sock, ident, ident_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        free(buf);
        return send_errno(err);
    }
    /* Hand the encoded buffer to libzmq: no copy for large RESULT frames. */
    zmq_msg_t msg;
    if (zmq_msg_init_data(&msg, buf, len, free_buf, NULL) != 0) {
        free(buf);
        return ph_err_set(err, PH_ENOMEM, "zmq_msg_init_data: %s", ph_wire_strerror());
    }
    if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) < 0) {
        rc = send_errno(err);
        zmq_msg_close(&msg);
        return rc;
    }
    return PH_OK;
}

int ph_wire_send_wait(void *sock, const ph_msg *m, int timeout_ms, ph_err *err)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&it, 1, timeout_ms) < 0)
        return ph_err_set(err, PH_EIO, "zmq_poll: %s", ph_wire_strerror());
    if (!(it.revents & ZMQ_POLLOUT))
        return ph_err_set(err, PH_ETIMEOUT, "send: no room within %d ms", timeout_ms);
    return ph_wire_send(sock, NULL, 0, m, err);
}

void ph_wire_drain_parts(void *sock)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        zmq_msg_close(&m);
        sz = sizeof more;
    }
}
