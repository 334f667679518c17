/* ph_port_file.c - whole-file reads that complete on a port.
 *
 * Issue-time problems (open, fstat, size) are returned to the caller like a
 * failing ReadFile; the read itself completes as a packet.  With io_uring the
 * kernel performs the read and one reaper thread per port (started on first
 * use) turns completion-queue entries into packets; without it the caller
 * reads with pread.  Both produce the same ph_port_file. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef PH_HAVE_URING
#include <liburing.h>
#endif

#include "ph_log.h"
#include "ph_port_int.h"

#define IO_DEPTH 64u
#define URING_CHUNK ((size_t)1 << 30) /* one SQE reads at most this much */

/* The public struct first, so a ph_port_file * is the allocation itself. */
typedef struct file_req {
    ph_port_file pub;
    int fd;
    size_t want;   /* bytes the uring read was asked for */
} file_req;

struct ph_port_io {
    ph_port *port;
    bool uring;       /* false: this port reads with pread */
#ifdef PH_HAVE_URING
    struct io_uring ring;
    pthread_t reaper;
    unsigned inflight; /* under port->ext_mu */
    bool stopping;
#endif
};

/* ---- one-time probe -------------------------------------------------- */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool probe_ok;

static void probe(void)
{
#ifdef PH_HAVE_URING
    struct io_uring r;
    int rc = io_uring_queue_init(4, &r, 0);
    if (rc == 0) {
        io_uring_queue_exit(&r);
        probe_ok = true;
        return;
    }
    ph_log_info("runtime", "io_uring=off reason=\"%s\" msg=\"file reads fall back to pread\"",
                strerror(-rc));
#else
    ph_log_info("runtime", "io_uring=off reason=\"not built in\" msg=\"file reads use pread\"");
#endif
}

bool ph_port_uring_usable(void)
{
    pthread_once(&probe_once, probe);
    return probe_ok;
}

static bool uring_wanted(void)
{
    const char *e = getenv("PH_PORT_URING");
    if (e && e[0] == '0')
        return false;
    return ph_port_uring_usable();
}

void ph_port_file_free(ph_port_file *f) { free(f); }

/* ---- shared pieces --------------------------------------------------- */

static int open_req(const char *path, size_t max_len, file_req **out, ph_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ph_err_set(err, PH_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ph_err_set(err, PH_EIO, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    if (max_len && len > max_len) {
        close(fd);
        return ph_err_set(err, PH_EINVAL, "%s: %zu bytes exceeds the limit of %zu", path, len,
                          max_len);
    }
    size_t plen = strlen(path) + 1;
    file_req *r = malloc(sizeof *r + plen + len + 1);
    if (!r) {
        close(fd);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    memset(r, 0, sizeof *r);
    char *p = (char *)(r + 1);
    memcpy(p, path, plen);
    r->pub.path = p;
    r->pub.bytes = (unsigned char *)p + plen;
    r->pub.len = len;
    r->fd = fd;
    *out = r;
    return 0;
}

/* Read [from, len) with pread; records an error in the result. */
static void finish_pread(file_req *r, size_t from)
{
    while (from < r->pub.len) {
        ssize_t n = pread(r->fd, r->pub.bytes + from, r->pub.len - from, (off_t)from);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r->pub.status = ph_err_set(&r->pub.err, PH_EIO, "%s: read failed at %zu: %s",
                                       r->pub.path, from, n < 0 ? strerror(errno) : "file shrank");
            return;
        }
        from += (size_t)n;
    }
}

/* Close the file and hand the result to the port (or drop it if closed). */
static void complete(ph_port *port, file_req *r)
{
    close(r->fd);
    r->fd = -1;
    ph_packet pk = {.key = r->pub.key, .value = r->pub.len, .data = &r->pub};
    if (ph_port_post(port, &pk, -1) != 0)
        free(r);
}

/* ---- io_uring -------------------------------------------------------- */

#ifdef PH_HAVE_URING
static void *reaper_main(void *arg)
{
    struct ph_port_io *io = arg;
    for (;;) {
        struct io_uring_cqe *cqe;
        int rc = io_uring_wait_cqe(&io->ring, &cqe);
        if (rc == -EINTR)
            continue;
        if (rc < 0) {
            ph_log_error("runtime", "io_uring wait failed: %s", strerror(-rc));
            break;
        }
        file_req *r = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        io_uring_cqe_seen(&io->ring, cqe);
        /* Taking ext_mu before touching r orders us after the submitter's
         * writes to r (which it made before unlocking) for TSan as well. */
        pthread_mutex_lock(&io->port->ext_mu);
        if (r)
            io->inflight--;
        bool done = io->stopping && io->inflight == 0;
        pthread_mutex_unlock(&io->port->ext_mu);
        if (r) {
            if (res < 0)
                r->pub.status = ph_err_set(&r->pub.err, PH_EIO, "%s: read failed: %s",
                                           r->pub.path, strerror(-res));
            else
                finish_pread(r, (size_t)res); /* short read: rare, finish plainly */
            complete(io->port, r);
        }
        if (done)
            break;
    }
    return NULL;
}

/* Called with ext_mu held.  Returns false if the ring is full. */
static bool uring_submit(struct ph_port_io *io, file_req *r)
{
    if (io->inflight >= IO_DEPTH)
        return false;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
    if (!sqe)
        return false;
    r->want = r->pub.len < URING_CHUNK ? r->pub.len : URING_CHUNK;
    r->pub.via_uring = true;
    io_uring_prep_read(sqe, r->fd, r->pub.bytes, (unsigned)r->want, 0);
    io_uring_sqe_set_data(sqe, r);
    if (io_uring_submit(&io->ring) < 1) {
        /* The SQE stays in the ring and would go out with the next submit:
         * make it a harmless NOP (NULL data only wakes the reaper). */
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, NULL);
        r->pub.via_uring = false;
        return false;
    }
    io->inflight++;
    return true;
}

static bool uring_start(struct ph_port_io *io)
{
    int rc = io_uring_queue_init(IO_DEPTH, &io->ring, 0);
    if (rc < 0) {
        ph_log_warn("runtime", "io_uring=off reason=\"%s\" msg=\"this port reads with pread\"",
                    strerror(-rc));
        return false;
    }
    if (pthread_create(&io->reaper, NULL, reaper_main, io) != 0) {
        io_uring_queue_exit(&io->ring);
        return false;
    }
    return true;
}
#endif

/* The port's ext_stop: runs in ph_port_destroy, after the ring is closed. */
static void io_stop(void *ext)
{
    struct ph_port_io *io = ext;
#ifdef PH_HAVE_URING
    if (io->uring) {
        /* A NOP with no request wakes the reaper; it leaves once nothing
         * is in flight (completions may come in any order). */
        pthread_mutex_lock(&io->port->ext_mu);
        io->stopping = true;
        struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);
        while (!sqe) {
            io_uring_submit(&io->ring);
            sqe = io_uring_get_sqe(&io->ring);
        }
        io_uring_prep_nop(sqe);
        io_uring_sqe_set_data(sqe, NULL);
        io_uring_submit(&io->ring);
        pthread_mutex_unlock(&io->port->ext_mu);
        pthread_join(io->reaper, NULL);
        io_uring_queue_exit(&io->ring);
    }
#endif
    free(io);
}

/* ext_mu held: the port's file service, created on first use. */
static struct ph_port_io *get_io(ph_port *port)
{
    if (port->ext)
        return port->ext;
    struct ph_port_io *io = calloc(1, sizeof *io);
    if (!io)
        return NULL;
    io->port = port;
#ifdef PH_HAVE_URING
    io->uring = uring_wanted() && uring_start(io);
#else
    (void)uring_wanted();
#endif
    port->ext = io;
    port->ext_stop = io_stop;
    return io;
}

int ph_port_read_file(ph_port *port, const char *path, uint64_t key, size_t max_len,
                      ph_err *err)
{
    file_req *r = NULL;
    int rc = open_req(path, max_len, &r, err);
    if (rc)
        return rc;
    r->pub.key = key;
    pthread_mutex_lock(&port->ext_mu);
    struct ph_port_io *io = get_io(port);
    bool queued = false;
#ifdef PH_HAVE_URING
    if (io && io->uring && !io->stopping && r->pub.len > 0)
        queued = uring_submit(io, r);
#endif
    pthread_mutex_unlock(&port->ext_mu);
    if (!io) {
        close(r->fd);
        free(r);
        return ph_err_set(err, PH_ENOMEM, "%s: out of memory", path);
    }
    if (!queued) {
        finish_pread(r, 0);
        complete(port, r);
    }
    return 0;
}
