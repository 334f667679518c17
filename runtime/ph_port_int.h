/* ph_port_int.h - what the port core shares with its backends (internal).
 *
 * Like Redis's ae.c, the portable core (ph_port.c: the bounded ring, its
 * locking and wakeups) talks to a readiness backend through four calls and
 * never includes an OS event API itself.  Exactly one backend file is
 * compiled in: ph_port_epoll.c (Linux, default) or ph_port_pipe.c (any
 * POSIX system).  Both are leaves: they never call into the core.
 *
 * File reads (ph_port_file.c) sit one level up: they call the core (to
 * post completions) and the core never calls them by name.  The file
 * service attaches itself to a port as an opaque object with a stop
 * function, which ph_port_destroy runs after closing the ring. */
#ifndef PH_PORT_INT_H
#define PH_PORT_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "ph_port.h"

/* --- readiness backend: an fd that is readable exactly while "raised" --- */
typedef struct ph_port_sig ph_port_sig;

int ph_port_sig_open(ph_port_sig **out, ph_err *err);
int ph_port_sig_fd(const ph_port_sig *s);
void ph_port_sig_raise(ph_port_sig *s); /* the fd becomes readable */
void ph_port_sig_lower(ph_port_sig *s); /* the fd becomes unreadable */
void ph_port_sig_close(ph_port_sig *s);
const char *ph_port_sig_name(void);

/* --- a service attached to the port (the file reader), created on first
 * use by that service under ext_mu; stopped by ph_port_destroy --- */
typedef void (*ph_port_ext_stop)(void *ext);

struct ph_port {
    pthread_mutex_t mu;
    pthread_cond_t can_get;   /* signalled when a packet is queued or on close */
    pthread_cond_t can_put;   /* signalled when a slot frees or on close */
    ph_packet *ring;          /* slots entries; head = oldest */
    size_t cap;               /* high-water mark for ordinary posts */
    size_t slots;             /* cap + room kept for urgent posts */
    size_t head;
    size_t count;
    unsigned get_waiters;     /* threads sleeping in get (skip futex calls if 0) */
    unsigned put_waiters;
    bool closed;
    bool fd_armed;            /* someone asked for ph_port_fd: keep it level */
    ph_port_sig *sig;

    pthread_mutex_t ext_mu;   /* guards ext creation and the service's own state */
    void *ext;                /* attached service, or NULL */
    ph_port_ext_stop ext_stop;
};

#endif
