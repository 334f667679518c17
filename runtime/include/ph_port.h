/* ph_port.h - a completion port: the Linux form of a Windows IOCP.
 *
 * A bounded FIFO of completion packets that any thread may post to and any
 * number of threads may wait on.  The backend (epoll + eventfd by default,
 * chosen at build time behind this interface, as Redis's ae.c does) also
 * exposes a file descriptor that is readable while packets are queued, so an
 * event loop (zmq_poll) can wait on the port and on sockets at once. */
#ifndef PH_PORT_H
#define PH_PORT_H

#include <stdbool.h>
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

/* Queue p at the FRONT, never blocking: it is taken before everything
 * already queued.  Uses slots kept beyond the high-water mark (capacity/4,
 * at least 16), so it succeeds even when ordinary posts get PH_EBUSY;
 * PH_EBUSY only when those are used up too, PH_ECLOSED after close.  The
 * runtime posts the solver's helper jobs this way so they are not stuck
 * behind a queue of whole files. */
int ph_port_post_urgent(ph_port *port, const ph_packet *p);

/* "epoll" or "pipe": the readiness backend compiled in. */
const char *ph_port_backend_name(void);

/* Result of ph_port_read_file, delivered as a packet with key = the key
 * given, value = len, data = this struct.  One allocation: the receiver
 * frees it with ph_port_file_free. */
typedef struct ph_port_file {
    uint64_t key;
    int status;            /* 0, or PH_EIO with err.msg naming the file */
    ph_err err;
    const char *path;      /* inside this allocation */
    unsigned char *bytes;  /* inside this allocation; len bytes */
    size_t len;
    bool via_uring;        /* read by io_uring (false: plain read) */
} ph_port_file;

/* Read the whole regular file at path (at most max_len bytes; 0 = no limit)
 * and post its bytes to port as a completion.  With io_uring (built in when
 * liburing is found, and usable at run time: containers often refuse it
 * with EPERM, which is logged once) the read runs in the kernel and a reaper
 * thread of the port posts it; otherwise the calling thread reads with
 * pread and posts.  PH_PORT_URING=0 in the environment forces the plain
 * path.  Problems found before the read (open, not a regular file, too big)
 * are returned here and nothing is posted; I/O errors arrive as a packet
 * with status != 0.  Posting waits for room like ph_port_post(.., -1), so
 * the port's only consumer should not call this on a full port. */
int ph_port_read_file(ph_port *port, const char *path, uint64_t key, size_t max_len,
                      ph_err *err);
void ph_port_file_free(ph_port_file *f);

/* True if io_uring works in this process (probed once, result cached). */
bool ph_port_uring_usable(void);

#endif
