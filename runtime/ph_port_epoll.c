/* ph_port_epoll.c - readiness backend: an eventfd inside an epoll set.
 *
 * The eventfd counter is 1 while the port holds packets and 0 otherwise
 * (raise/lower run under the port mutex, so it never goes above 1).  We hand
 * out the epoll fd, not the eventfd: an epoll fd cannot be read(), so a
 * careless caller cannot consume the counter and desynchronise the level,
 * and the epoll set is where more sources could later be joined. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ph_port_int.h"

struct ph_port_sig {
    int efd;
    int epfd;
};

const char *ph_port_sig_name(void) { return "epoll"; }

int ph_port_sig_open(ph_port_sig **out, ph_err *err)
{
    ph_port_sig *s = malloc(sizeof *s);
    if (!s)
        return ph_err_set(err, PH_ENOMEM, "port: out of memory");
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->efd};
    if (s->efd < 0 || s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->efd, &ev) < 0) {
        int e = errno;
        ph_port_sig_close(s);
        return ph_err_set(err, PH_EIO, "port: eventfd/epoll setup failed: %s", strerror(e));
    }
    *out = s;
    return 0;
}

int ph_port_sig_fd(const ph_port_sig *s) { return s->epfd; }

void ph_port_sig_raise(ph_port_sig *s)
{
    uint64_t one = 1;
    /* Cannot block or overflow: the counter is 0 here (see file comment). */
    while (write(s->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

void ph_port_sig_lower(ph_port_sig *s)
{
    uint64_t v;
    while (read(s->efd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

void ph_port_sig_close(ph_port_sig *s)
{
    if (!s)
        return;
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->efd >= 0)
        close(s->efd);
    free(s);
}
