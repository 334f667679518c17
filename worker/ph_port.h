/* ph_port.h - a completion port: the Linux form of a Windows IOCP.
 *
 * A bounded FIFO of completion packets that any thread may post to and any
 * number of threads may wait on.  The backend (epoll + eventfd by default,
 * chosen at build time behind this interface, as Redis's ae.c does) also
 * exposes a file descriptor that is readable while packets are queued, so an
 * event loop (zmq_poll) can wait on the port and on sockets at once. */
#ifndef PH_PORT_H
#define PH_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "ph_err.h"

typedef struct ph_port ph_port;

/* One completion packet (like OVERLAPPED + key + bytes). */
typedef struct ph_packet {
    uint64_t key;   /* what completed: caller-defined */
    uint64_t value; /* e.g. bytes transferred, status */
    void *data;     /* caller-owned; the port never frees it */
} ph_packet;

/* capacity: high-water mark; posts past it block or report PH_EBUSY. */
int ph_port_create(size_t capacity, ph_port **out, ph_err *err);

/* Queue p.  timeout_ms: 0 = fail at once with PH_EBUSY when full, -1 = wait
 * for room, >0 = wait at most that long (then PH_EBUSY).  PH_ECLOSED after
 * ph_port_close. */
int ph_port_post(ph_port *port, const ph_packet *p, int timeout_ms);

/* Dequeue the oldest packet.  timeout_ms as above (PH_ETIMEOUT when none
 * came).  After close, queued packets are still returned, then PH_ECLOSED. */
int ph_port_get(ph_port *port, ph_packet *out, int timeout_ms);

/* Refuse new posts and wake every waiter. */
void ph_port_close(ph_port *port);

/* Packets queued now. */
size_t ph_port_depth(ph_port *port);

/* Readable while packets are queued (level-triggered); for zmq_poll. */
int ph_port_fd(ph_port *port);

/* Free the port; no thread may be using it. */
void ph_port_destroy(ph_port *port);

#endif
