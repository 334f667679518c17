/* ph_fs_direct.c - big files written with direct I/O (see ph_fs.h).
 *
 * A big file written once and not read back (a table's data) gains nothing
 * from the page cache, and on the VM of docs/BENCHMARKS.md each fresh
 * page-cache page costs several times more to fill than a reused one
 * (writing 84 MB took 0.02 s of CPU into reused pages and 0.07-0.26 s into
 * fresh ones).  With O_DIRECT the bytes go from a small reused buffer to
 * the disk.  Direct I/O takes whole blocks (the file system's offset
 * alignment, from statx) at aligned memory; what is not a whole page, and
 * every file on a file system without direct I/O (tmpfs), goes through the
 * page cache as before. */
#include "ph_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

uint32_t ph_fs_direct_align(int fd)
{
#ifdef STATX_DIOALIGN
    struct statx sx;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) != 0 ||
        !(sx.stx_mask & STATX_DIOALIGN))
        return 0;
    uint32_t a = sx.stx_dio_offset_align, m = sx.stx_dio_mem_align;
    if (a == 0 || m == 0 || a > PH_FS_DIRECT_ALIGN || PH_FS_DIRECT_ALIGN % a != 0 ||
        m > PH_FS_DIRECT_ALIGN || PH_FS_DIRECT_ALIGN % m != 0)
        return 0;
    return a;
#else
    (void)fd;
    return 0;
#endif
}

uint64_t ph_fs_direct_page(void)
{
    long sz = sysconf(_SC_PAGESIZE);
    return sz > (long)PH_FS_DIRECT_ALIGN ? (uint64_t)sz : PH_FS_DIRECT_ALIGN;
}

int ph_fs_direct_pwrite(int dfd, const void *data, uint64_t len, uint64_t off)
{
    size_t cap = len < PH_FS_DIRECT_CHUNK ? (size_t)len : PH_FS_DIRECT_CHUNK;
    void *bounce = NULL;
    if (cap == 0)
        return 0;
    if (posix_memalign(&bounce, PH_FS_DIRECT_ALIGN, cap) != 0) {
        errno = ENOMEM;
        return -1;
    }
    const char *q = data;
    int rc = 0;
    for (uint64_t done = 0; rc == 0 && done < len; done += cap) {
        size_t n = len - done < cap ? (size_t)(len - done) : cap;
        memcpy(bounce, q + done, n);
        rc = ph_fs_pwrite_full(dfd, bounce, n, off + done);
    }
    free(bounce);
    return rc;
}

/* fd's status flags with O_DIRECT set or cleared; 0 or -1. */
static int direct_set(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT);
}

int ph_fs_write_fresh(int fd, const void *data, size_t len)
{
    /* Small files keep the page cache: a direct write waits for the disk,
     * which for a few pages costs more than it saves. */
    uint64_t page = ph_fs_direct_page();
    uint64_t whole = len < PH_FS_DIRECT_CHUNK ? 0 : len / page * page;
    if (whole && (ph_fs_direct_align(fd) == 0 || direct_set(fd, 1) != 0))
        whole = 0; /* no direct I/O here: all through the page cache */
    /* On a failure the caller drops the file, O_DIRECT still set or not. */
    if (whole && (ph_fs_direct_pwrite(fd, data, whole, 0) != 0 || direct_set(fd, 0) != 0))
        return -1;
    return ph_fs_pwrite_full(fd, (const char *)data + whole, len - (size_t)whole, whole);
}
