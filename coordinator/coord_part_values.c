/* coord_part_values.c - a partitioned table's values file, written with
 * direct I/O.
 *
 * Every group's values are written once, at their offset, and nothing of
 * the coordinator reads them back for the C files: through the page cache
 * each write first has the kernel allocate and fill fresh page-cache pages
 * (8.4 bytes a key), which on the 2-core VM of docs/BENCHMARKS.md cost the
 * coordinator 0.1-0.2 s of CPU per 10M keys (perf: copy_folio_from_iter_atomic),
 * then kernel threads write them back.  Written with O_DIRECT the values go
 * from a bounce buffer of at most 1 MiB a write (heap memory, which malloc
 * hands out again group after group) to the disk.
 *
 * Direct I/O takes whole blocks (the file system's offset alignment, from
 * statx) at aligned memory.  A group's interior blocks are written from a
 * bounce buffer; a block it shares with its neighbours (groups end where
 * their vertices do, anywhere in a block) is kept in memory, loaded from the
 * file the first time, and written whole under one lock each time a group
 * puts its bytes in, so that it always holds what every group written so far
 * put there (on a restart the file's own content of saved groups).  The
 * file's last page is left to ordinary writes through the page cache: a
 * direct write of whole blocks could not stop at the file's size, and a page
 * written both ways at once could lose data, so every page goes only one
 * way.  A file system without direct I/O (tmpfs) or alignment information
 * keeps the ordinary writes for the whole file. */
#include "coord_part_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_part.h"

/* Bounce buffer: the interior goes out in writes of at most this. */
#define PVALS_CHUNK (1u << 20)
/* The buffers' alignment, the stride of the shared blocks' copies and the
 * largest block or memory alignment used: whatever the file system asks
 * up to this, every buffer meets it. */
#define PVALS_ALIGN 4096u

struct coord_pvals {
    int dfd;                    /* the values file, O_DIRECT */
    uint32_t align;             /* block: offset and length of every direct write */
    uint64_t direct_end;        /* below: direct I/O; from here: the page cache;
                                   a multiple of the page size */
    uint32_t nedges;
    uint64_t *edge;             /* block numbers of the shared blocks, ascending */
    unsigned char *edge_buf;    /* nedges copies, PVALS_ALIGN bytes apart */
    bool *edge_loaded;
    pthread_mutex_t lock;       /* the shared blocks */
};

static int write_all_at(int fd, const void *data, size_t len, uint64_t off)
{
    const char *q = data;
    while (len > 0) {
        ssize_t w = pwrite(fd, q, len, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO; /* no progress and no reason given */
        if (w <= 0)
            return -1;
        q += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* The file system's direct I/O block for fd, or 0 when it has none this
 * writer can use (a block above a page, or memory alignment above it). */
static uint32_t direct_align(int fd)
{
#ifdef STATX_DIOALIGN
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) != 0 ||
        !(sx.stx_mask & STATX_DIOALIGN))
        return 0;
    uint32_t a = sx.stx_dio_offset_align, m = sx.stx_dio_mem_align;
    if (a == 0 || m == 0 || a > PVALS_ALIGN || PVALS_ALIGN % a != 0 || m > PVALS_ALIGN ||
        PVALS_ALIGN % m != 0)
        return 0;
    return a;
#else
    (void)fd;
    return 0;
#endif
}

/* The page size the one-way rule is kept at: the system's (a 16 or 64 KiB
 * page written both ways at once could lose data), at least PVALS_ALIGN. */
static uint64_t pvals_page(void)
{
    long sz = sysconf(_SC_PAGESIZE);
    return sz > (long)PVALS_ALIGN ? (uint64_t)sz : PVALS_ALIGN;
}

/* The blocks that group boundaries fall inside (not on a block's start),
 * below direct_end: the shared ones. */
static int edges_lay_out(coord_pvals *pv, const coord_pgroup *groups, uint32_t ngroups,
                         const uint64_t *buckets, uint64_t size)
{
    pv->edge = malloc(((size_t)ngroups + 1) * sizeof *pv->edge);
    if (!pv->edge)
        return -1;
    for (uint32_t g = 0; g <= ngroups; g++) {
        uint64_t at = g < ngroups ? (buckets[groups[g].b_lo] & PH_PART_BASE_MASK) * 4u : size;
        uint64_t block = at / pv->align;
        if (at % pv->align == 0 || at >= pv->direct_end ||
            (pv->nedges && pv->edge[pv->nedges - 1] == block))
            continue;
        pv->edge[pv->nedges++] = block;
    }
    pv->edge_loaded = calloc(pv->nedges ? pv->nedges : 1, sizeof *pv->edge_loaded);
    if (!pv->edge_loaded || posix_memalign((void **)&pv->edge_buf, PVALS_ALIGN,
                                           ((size_t)pv->nedges + 1) * PVALS_ALIGN) != 0) {
        pv->edge_buf = NULL;
        return -1;
    }
    return 0;
}

coord_pvals *coord_pvals_open(int dirfd, const char *vname, int vfd, const coord_pgroup *groups,
                              uint32_t ngroups, const uint64_t *buckets, uint64_t nverts)
{
    struct stat a, b;
    int dfd = openat(dirfd, vname, O_RDWR | O_DIRECT | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return NULL; /* no direct I/O here: the page cache */
    uint32_t align = direct_align(dfd);
    coord_pvals *pv = align ? calloc(1, sizeof *pv) : NULL;
    /* The very file the part holds (not one put at its name since). */
    if (!pv || fstat(dfd, &a) != 0 || fstat(vfd, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        free(pv);
        close(dfd);
        return NULL;
    }
    pv->dfd = dfd;
    pv->align = align;
    uint64_t page = pvals_page();
    pv->direct_end = nverts * 4u / page * page;
    if (edges_lay_out(pv, groups, ngroups, buckets, nverts * 4u) != 0 ||
        pthread_mutex_init(&pv->lock, NULL) != 0) {
        free(pv->edge);
        free(pv->edge_loaded);
        free(pv->edge_buf);
        free(pv);
        close(dfd);
        return NULL;
    }
    return pv;
}

void coord_pvals_free(coord_pvals *pv)
{
    if (!pv)
        return;
    pthread_mutex_destroy(&pv->lock);
    free(pv->edge);
    free(pv->edge_loaded);
    free(pv->edge_buf);
    close(pv->dfd);
    free(pv);
}

/* The slot of shared block `block` (it is one: edges_lay_out found it). */
static uint32_t edge_slot(const coord_pvals *pv, uint64_t block)
{
    uint32_t lo = 0, hi = pv->nedges;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pv->edge[mid] <= block)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Bytes [off, off + len) of one shared block from data: the block as the
 * groups so far left it, with these bytes, written whole. */
static int edge_write(coord_pvals *pv, const void *data, size_t len, uint64_t off)
{
    uint64_t block = off / pv->align;
    uint32_t s = edge_slot(pv, block);
    if (s >= pv->nedges || pv->edge[s] != block) {
        errno = EINVAL; /* cannot happen: every shared block was laid out */
        return -1;
    }
    unsigned char *buf = pv->edge_buf + (size_t)s * PVALS_ALIGN;
    int rc = 0;
    pthread_mutex_lock(&pv->lock);
    if (!pv->edge_loaded[s]) {
        ssize_t r;
        do
            r = pread(pv->dfd, buf, pv->align, (off_t)(block * pv->align));
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            rc = -1;
        } else {
            memset(buf + r, 0, pv->align - (size_t)r);
            pv->edge_loaded[s] = true;
        }
    }
    if (rc == 0) {
        memcpy(buf + (off - block * pv->align), data, len);
        rc = write_all_at(pv->dfd, buf, pv->align, block * pv->align);
    }
    pthread_mutex_unlock(&pv->lock);
    return rc;
}

/* Whole blocks [off, off + len) from data, through a bounce buffer. */
static int interior_write(coord_pvals *pv, const char *data, uint64_t len, uint64_t off)
{
    size_t cap = len < PVALS_CHUNK ? (size_t)len : PVALS_CHUNK;
    void *bounce = NULL;
    if (posix_memalign(&bounce, PVALS_ALIGN, cap) != 0) {
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (uint64_t done = 0; rc == 0 && done < len; done += cap) {
        size_t n = len - done < cap ? (size_t)(len - done) : cap;
        memcpy(bounce, data + done, n);
        rc = write_all_at(pv->dfd, bounce, n, off + done);
    }
    free(bounce);
    return rc;
}

/* Bytes [off, off + len) below direct_end. */
static int direct_write(coord_pvals *pv, const char *data, uint64_t len, uint64_t off)
{
    uint64_t a = pv->align, end = off + len;
    uint64_t in_lo = (off + a - 1) / a * a, in_hi = end / a * a;
    if (in_lo > in_hi) /* inside one block */
        return edge_write(pv, data, (size_t)len, off);
    if (off < in_lo && edge_write(pv, data, (size_t)(in_lo - off), off) != 0)
        return -1;
    if (in_lo < in_hi && interior_write(pv, data + (in_lo - off), in_hi - in_lo, in_lo) != 0)
        return -1;
    if (in_hi < end && edge_write(pv, data + (in_hi - off), (size_t)(end - in_hi), in_hi) != 0)
        return -1;
    return 0;
}

int coord_pvals_write(coord_pvals *pv, int vfd, const void *data, size_t len, uint64_t off)
{
    if (!pv)
        return write_all_at(vfd, data, len, off);
    const char *q = data;
    uint64_t split = off + len < pv->direct_end ? off + len
                     : off < pv->direct_end    ? pv->direct_end
                                               : off;
    if (split > off && direct_write(pv, q, split - off, off) != 0)
        return -1;
    if (off + len > split && write_all_at(vfd, q + (split - off), off + len - split, split) != 0)
        return -1;
    return 0;
}
