/* ph_port_pipe.c - readiness backend for any POSIX system: a self-pipe.
 *
 * One byte sits in the pipe while the port holds packets.  Slower than the
 * eventfd backend (two fds, byte I/O) but needs nothing Linux-specific. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_port_int.h"

struct ph_port_sig {
    int rd;
    int wr;
};

const char *ph_port_sig_name(void) { return "pipe"; }

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int ph_port_sig_open(ph_port_sig **out, ph_err *err)
{
    ph_port_sig *s = malloc(sizeof *s);
    if (!s)
        return ph_err_set(err, PH_ENOMEM, "port: out of memory");
    int p[2];
    if (pipe(p) < 0) {
        free(s);
        return ph_err_set(err, PH_EIO, "port: pipe failed: %s", strerror(errno));
    }
    s->rd = p[0];
    s->wr = p[1];
    if (set_flags(s->rd) < 0 || set_flags(s->wr) < 0) {
        int e = errno;
        ph_port_sig_close(s);
        return ph_err_set(err, PH_EIO, "port: pipe setup failed: %s", strerror(e));
    }
    *out = s;
    return 0;
}

int ph_port_sig_fd(const ph_port_sig *s) { return s->rd; }

void ph_port_sig_raise(ph_port_sig *s)
{
    char c = 1;
    while (write(s->wr, &c, 1) < 0 && errno == EINTR)
        ;
}

void ph_port_sig_lower(ph_port_sig *s)
{
    char buf[16];
    for (;;) {
        ssize_t n = read(s->rd, buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        break; /* EAGAIN: empty, i.e. unreadable */
    }
}

void ph_port_sig_close(ph_port_sig *s)
{
    if (!s)
        return;
    close(s->rd);
    close(s->wr);
    free(s);
}
