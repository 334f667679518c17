/* ph_port.c - the portable core of the completion port: a bounded ring.
 *
 * Why a mutex and two condition variables rather than a lock-free ring: the
 * port must block producers at the high-water mark, block consumers with a
 * timeout, and wake everybody on close.  A lock-free ring still needs a
 * sleep/wake protocol for that, which is where such designs get subtle; the
 * work a packet stands for (a whole solve) costs milliseconds, so a mutex
 * ring good for millions of packets per second is ample, and ThreadSanitizer
 * understands it.  Waiter counts let the fast path skip futex wakeups, and
 * the readiness fd is only maintained once somebody has asked for it, so
 * thread-only ports pay no syscalls per packet. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "ph_port_int.h"

/* Slots kept beyond the high-water mark for ph_port_post_urgent. */
static size_t urgent_room(size_t cap) { return cap / 4 < 16 ? 16 : cap / 4; }

int ph_port_create(size_t capacity, ph_port **out, ph_err *err)
{
    if (capacity == 0 || capacity > ((size_t)1 << 30))
        return ph_err_set(err, PH_EINVAL, "port: capacity %zu out of range 1..2^30", capacity);
    ph_port *p = calloc(1, sizeof *p);
    if (!p)
        return ph_err_set(err, PH_ENOMEM, "port: out of memory");
    p->cap = capacity;
    p->slots = capacity + urgent_room(capacity);
    p->ring = calloc(p->slots, sizeof *p->ring);
    if (!p->ring) {
        size_t slots = p->slots;
        free(p);
        return ph_err_set(err, PH_ENOMEM, "port: out of memory for %zu slots", slots);
    }
    int rc = ph_port_sig_open(&p->sig, err);
    if (rc) {
        free(p->ring);
        free(p);
        return rc;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    /* Timeouts must not jump with the wall clock. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->can_get, &ca);
    pthread_cond_init(&p->can_put, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->ext_mu, NULL);
    *out = p;
    return 0;
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Sleep on cv; returns ETIMEDOUT once the deadline (if any) has passed. */
static int wait_on(pthread_cond_t *cv, pthread_mutex_t *mu, int timeout_ms,
                   const struct timespec *dl)
{
    if (timeout_ms < 0)
        return pthread_cond_wait(cv, mu);
    return pthread_cond_timedwait(cv, mu, dl);
}

/* Called with mu held after count went up by one. */
static void pushed(ph_port *p)
{
    if (p->count == 1 && p->fd_armed)
        ph_port_sig_raise(p->sig);
    if (p->get_waiters)
        pthread_cond_signal(&p->can_get);
}

int ph_port_post(ph_port *port, const ph_packet *pk, int timeout_ms)
{
    struct timespec dl;
    if (timeout_ms > 0)
        dl = deadline_after(timeout_ms);
    pthread_mutex_lock(&port->mu);
    int rc = 0;
    while (!port->closed && port->count >= port->cap) {
        if (timeout_ms == 0 || rc == ETIMEDOUT) {
            pthread_mutex_unlock(&port->mu);
            return PH_EBUSY;
        }
        port->put_waiters++;
        rc = wait_on(&port->can_put, &port->mu, timeout_ms, &dl);
        port->put_waiters--;
    }
    if (port->closed) {
        pthread_mutex_unlock(&port->mu);
        return PH_ECLOSED;
    }
    port->ring[(port->head + port->count) % port->slots] = *pk;
    port->count++;
    pushed(port);
    pthread_mutex_unlock(&port->mu);
    return 0;
}

int ph_port_post_urgent(ph_port *port, const ph_packet *pk)
{
    pthread_mutex_lock(&port->mu);
    int rc = 0;
    if (port->closed)
        rc = PH_ECLOSED;
    else if (port->count >= port->slots)
        rc = PH_EBUSY;
    else {
        port->head = (port->head + port->slots - 1) % port->slots;
        port->ring[port->head] = *pk;
        port->count++;
        pushed(port);
    }
    pthread_mutex_unlock(&port->mu);
    return rc;
}

int ph_port_get(ph_port *port, ph_packet *out, int timeout_ms)
{
    struct timespec dl;
    if (timeout_ms > 0)
        dl = deadline_after(timeout_ms);
    pthread_mutex_lock(&port->mu);
    int rc = 0;
    while (port->count == 0) {
        if (port->closed) {
            pthread_mutex_unlock(&port->mu);
            return PH_ECLOSED;
        }
        if (timeout_ms == 0 || rc == ETIMEDOUT) {
            pthread_mutex_unlock(&port->mu);
            return PH_ETIMEOUT;
        }
        port->get_waiters++;
        rc = wait_on(&port->can_get, &port->mu, timeout_ms, &dl);
        port->get_waiters--;
    }
    *out = port->ring[port->head];
    port->head = (port->head + 1) % port->slots;
    port->count--;
    if (port->count == 0 && port->fd_armed)
        ph_port_sig_lower(port->sig);
    if (port->put_waiters)
        pthread_cond_signal(&port->can_put);
    pthread_mutex_unlock(&port->mu);
    return 0;
}

void ph_port_close(ph_port *port)
{
    pthread_mutex_lock(&port->mu);
    port->closed = true;
    pthread_cond_broadcast(&port->can_get);
    pthread_cond_broadcast(&port->can_put);
    pthread_mutex_unlock(&port->mu);
}

size_t ph_port_depth(ph_port *port)
{
    pthread_mutex_lock(&port->mu);
    size_t n = port->count;
    pthread_mutex_unlock(&port->mu);
    return n;
}

int ph_port_fd(ph_port *port)
{
    pthread_mutex_lock(&port->mu);
    if (!port->fd_armed) {
        port->fd_armed = true;
        if (port->count > 0)
            ph_port_sig_raise(port->sig);
    }
    int fd = ph_port_sig_fd(port->sig);
    pthread_mutex_unlock(&port->mu);
    return fd;
}

const char *ph_port_backend_name(void) { return ph_port_sig_name(); }

void ph_port_destroy(ph_port *port)
{
    if (!port)
        return;
    /* An attached service (file reads) may still post completions: refuse
     * them (it then frees them itself) and stop it before the ring goes. */
    ph_port_close(port);
    if (port->ext)
        port->ext_stop(port->ext);
    ph_port_sig_close(port->sig);
    pthread_cond_destroy(&port->can_get);
    pthread_cond_destroy(&port->can_put);
    pthread_mutex_destroy(&port->mu);
    pthread_mutex_destroy(&port->ext_mu);
    free(port->ring);
    free(port);
}
