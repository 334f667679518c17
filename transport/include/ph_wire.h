/* ph_wire.h - ph_msg over ZeroMQ sockets, shared by coordinator, worker and
 * client.
 *
 * Every socket of phcluster is made here so ZeroMQ's pitfalls are handled
 * once: frames are capped (ZMQ_MAXMSGSIZE) before msgpack sees
 * them, high-water marks are bounded, LINGER is small so zmq_ctx_term never
 * hangs, and ZMTP heartbeats detect dead peers below the application's own
 * heartbeats.  Sockets stay single-owner: these helpers never lock. */
#ifndef PH_WIRE_H
#define PH_WIRE_H

#include <stddef.h>

#include "ph_err.h"
#include "ph_proto.h"

typedef struct ph_wire_opts {
    int hwm;            /* SNDHWM and RCVHWM (messages); 0 = 10000 */
    int linger_ms;      /* 0 = drop unsent at close; default 100 */
    int heartbeat_ms;   /* ZMTP heartbeat interval; 0 = off */
    int heartbeat_timeout_ms;
    const char *routing_id; /* DEALER identity (printable); NULL = let ROUTER pick */
} ph_wire_opts;

void ph_wire_opts_init(ph_wire_opts *o);

/* New socket of type (ZMQ_ROUTER / ZMQ_DEALER) with the options above.  A
 * ROUTER also gets ROUTER_MANDATORY (unroutable sends fail loudly instead of
 * vanishing) and ROUTER_HANDOVER (a worker that reconnects under the same
 * routing id takes its identity over). */
int ph_wire_socket(void *ctx, int type, const ph_wire_opts *o, void **out, ph_err *err);

/* The frame cap of every socket and send: PH_PROTO_MAX_FRAME, or less when
 * the environment sets PH_TEST_MAX_FRAME (bytes, 65536 to the cap; tests
 * prove that no frame outgrows a small cap: a bigger one would cut the
 * connection and never arrive). */
uint32_t ph_wire_max_frame(void);

/* Encode m and send it; ident (ROUTER only) is prepended as its own frame.
 * Non-blocking: PH_EBUSY when the peer's queue is full, PH_ECLOSED when the
 * peer is unknown (EHOSTUNREACH), PH_EIO otherwise. */
int ph_wire_send(void *sock, const void *ident, size_t ident_len, const ph_msg *m,
                 ph_err *err);

/* Same with a blocking wait of at most timeout_ms for room (DEALER side). */
int ph_wire_send_wait(void *sock, const ph_msg *m, int timeout_ms, ph_err *err);

/* Drop any remaining parts of a multipart message (malformed input). */
void ph_wire_drain_parts(void *sock);

/* Current zmq errno as text. */
const char *ph_wire_strerror(void);

#endif
