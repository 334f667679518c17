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
 * bounce buffer (ph_fs_direct_pwrite, which every big file written from
 * memory uses too: ph_fs.h); a block it shares with its neighbours (groups
 * end where their vertices do, anywhere in a block) is kept in memory,
 * loaded from the file the first time, and written whole under one lock each time a group
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

#include "ph_fs.h"
#include "ph_part.h"

struct coord_pvals {
    int dfd;                    /* the values file, O_DIRECT */
    uint32_t align;             /* block: offset and length of every direct write */
    uint64_t direct_end;        /* below: direct I/O; from here: the page cache;
                                   a multiple of the page size */
    uint32_t nedges;
    uint64_t *edge;             /* block numbers of the shared blocks, ascending */
    unsigned char *edge_buf;    /* nedges copies, PH_FS_DIRECT_ALIGN bytes apart */
    bool *edge_loaded;
    pthread_mutex_t lock;       /* the shared blocks */
};

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
    size_t bytes = ((size_t)pv->nedges + 1) * PH_FS_DIRECT_ALIGN;
    if (!pv->edge_loaded ||
        posix_memalign((void **)&pv->edge_buf, PH_FS_DIRECT_ALIGN, bytes) != 0) {
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
    uint32_t align = ph_fs_direct_align(dfd);
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
    uint64_t page = ph_fs_direct_page();
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
    unsigned char *buf = pv->edge_buf + (size_t)s * PH_FS_DIRECT_ALIGN;
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
        rc = ph_fs_pwrite_full(pv->dfd, buf, pv->align, block * pv->align);
    }
    pthread_mutex_unlock(&pv->lock);
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
    if (in_lo < in_hi &&
        ph_fs_direct_pwrite(pv->dfd, data + (in_lo - off), in_hi - in_lo, in_lo) != 0)
        return -1;
    if (in_hi < end && edge_write(pv, data + (in_hi - off), (size_t)(end - in_hi), in_hi) != 0)
        return -1;
    return 0;
}

int coord_pvals_write(coord_pvals *pv, int vfd, const void *data, size_t len, uint64_t off)
{
    if (!pv)
        return ph_fs_pwrite_full(vfd, data, len, off);
    const char *q = data;
    uint64_t split = off + len < pv->direct_end ? off + len
                     : off < pv->direct_end    ? pv->direct_end
                                               : off;
    if (split > off && direct_write(pv, q, split - off, off) != 0)
        return -1;
    if (off + len > split &&
        ph_fs_pwrite_full(vfd, q + (split - off), off + len - split, split) != 0)
        return -1;
    return 0;
}
