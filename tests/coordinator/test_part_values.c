/* test_part_values: a partitioned table's values file written group by
 * group (coord_part_values.c) ends up byte for byte what one write of all
 * of it gives, whatever the order of the groups and however they share the
 * file system's blocks: groups of a few bytes several to a block, groups
 * ending anywhere in a block, groups over the file's last page, the file's
 * size not a multiple of a block.
 *
 *   direct_order_any   groups of every size, written in a scrambled order,
 *                      into a file under /tmp (direct I/O where the file
 *                      system has it); the file equals the expected bytes
 *   resumed_keeps      half the groups in the file before the writer is
 *                      opened (a restart): the other half written, the
 *                      first half's bytes are still there
 *   cached_fallback    no writer (NULL): the same result through the fd
 *   threads_at_once    four threads write neighbouring groups at once (the
 *                      writer threads of a table): the shared blocks keep
 *                      every group's bytes */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coord_part_int.h"
#include "ph_part.h"
#include "test_util.h"

/* Group sizes in values (4 bytes each): tiny ones sharing a 512-byte
 * block, ones ending mid-block, and big ones over several pages. */
static const uint32_t sizes[] = {1,    3,  2,  7,   100, 128, 1,   5000, 1025, 9,
                                 3000, 17, 1,  1,   1,   2,   4096, 333,  1,    70000,
                                 64,   63, 65, 129, 127, 5,   2,    9999, 3,    1};
#define NG (sizeof sizes / sizeof sizes[0])

typedef struct layout {
    coord_pgroup groups[NG];
    uint64_t buckets[NG + 1]; /* one bucket a group: its base */
    uint64_t nverts;
    uint32_t *want;
} layout;

static void lay_out(layout *l)
{
    uint64_t base = 0;
    for (uint32_t g = 0; g < NG; g++) {
        l->groups[g] = (coord_pgroup){.b_lo = g, .ngroup = 1};
        l->buckets[g] = ph_part_entry(base, 0);
        base += sizes[g];
    }
    l->buckets[NG] = ph_part_entry(base, 0);
    l->nverts = base;
    l->want = malloc(base * 4);
    assert_non_null(l->want);
    for (uint64_t i = 0; i < base; i++)
        l->want[i] = (uint32_t)(i * 2654435761u + 1);
}

static uint64_t group_off(const layout *l, uint32_t g)
{
    return (l->buckets[g] & PH_PART_BASE_MASK) * 4;
}

/* A layout and its values file of nverts zero values in a new scratch
 * directory. */
typedef struct fixture {
    layout l;
    int dirfd, fd;
} fixture;

static void fx_open(fixture *f)
{
    lay_out(&f->l);
    assert_int_equal(tu_setup(NULL), 0);
    f->dirfd = open(tu_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(f->dirfd >= 0);
    f->fd = openat(f->dirfd, "t.values", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(f->fd >= 0);
    assert_int_equal(ftruncate(f->fd, (off_t)(f->l.nverts * 4)), 0);
}

static coord_pvals *fx_writer(fixture *f)
{
    return coord_pvals_open(f->dirfd, "t.values", f->fd, f->l.groups, NG, f->l.buckets,
                            f->l.nverts);
}

static void write_group(coord_pvals *pv, const fixture *f, uint32_t g)
{
    const layout *l = &f->l;
    assert_int_equal(coord_pvals_write(pv, f->fd, l->want + group_off(l, g) / 4,
                                       (size_t)sizes[g] * 4, group_off(l, g)),
                     0);
}

/* The file holds exactly the expected values (through a fresh open: what
 * the disk and the page cache agree on); then it goes. */
static void fx_check_close(fixture *f)
{
    int fd = open(tu_at("t.values"), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    uint64_t n = f->l.nverts;
    uint32_t *got = malloc(n * 4 + 1);
    assert_non_null(got);
    assert_int_equal(pread(fd, got, n * 4 + 1, 0), (ssize_t)(n * 4));
    for (uint64_t i = 0; i < n; i++)
        if (got[i] != f->l.want[i])
            fail_msg("value %llu: 0x%08x, want 0x%08x", (unsigned long long)i, got[i],
                     f->l.want[i]);
    free(got);
    close(fd);
    close(f->fd);
    close(f->dirfd);
    assert_int_equal(tu_teardown(NULL), 0);
    free(f->l.want);
}

static void direct_order_any(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f);
    coord_pvals *pv = fx_writer(&f);
    if (!pv)
        print_message("no direct I/O under /tmp: the page cache path only\n");
    for (uint32_t k = 0; k < NG; k++)
        write_group(pv, &f, (k * 7 + 3) % NG); /* 7 and NG coprime: each once */
    coord_pvals_free(pv);
    fx_check_close(&f);
}

static void resumed_keeps(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f);
    for (uint32_t g = 0; g < NG; g += 2) /* the first coordinator's groups */
        write_group(NULL, &f, g);
    assert_int_equal(fdatasync(f.fd), 0);
    coord_pvals *pv = fx_writer(&f);
    for (uint32_t g = 1; g < NG; g += 2) /* the restarted one's */
        write_group(pv, &f, g);
    coord_pvals_free(pv);
    fx_check_close(&f);
}

static void cached_fallback(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f);
    for (uint32_t k = 0; k < NG; k++)
        write_group(NULL, &f, (k * 11 + 5) % NG);
    fx_check_close(&f);
}

#define NTHREADS 4u

typedef struct writer_arg {
    coord_pvals *pv;
    const fixture *f;
    uint32_t first; /* groups first, first + NTHREADS, ... */
} writer_arg;

static void *write_every_nth(void *arg)
{
    const writer_arg *w = arg;
    const layout *l = &w->f->l;
    for (uint32_t g = w->first; g < NG; g += NTHREADS)
        if (coord_pvals_write(w->pv, w->f->fd, l->want + group_off(l, g) / 4,
                              (size_t)sizes[g] * 4, group_off(l, g)) != 0)
            return (void *)1;
    return NULL;
}

static void threads_at_once(void **state)
{
    (void)state;
    fixture f;
    fx_open(&f);
    coord_pvals *pv = fx_writer(&f);
    pthread_t tid[NTHREADS];
    writer_arg args[NTHREADS];
    for (uint32_t t = 0; t < NTHREADS; t++) {
        args[t] = (writer_arg){.pv = pv, .f = &f, .first = t};
        assert_int_equal(pthread_create(&tid[t], NULL, write_every_nth, &args[t]), 0);
    }
    for (uint32_t t = 0; t < NTHREADS; t++) {
        void *failed = NULL;
        assert_int_equal(pthread_join(tid[t], &failed), 0);
        assert_null(failed);
    }
    coord_pvals_free(pv);
    fx_check_close(&f);
}

int main(void)
{
    const struct CMUnitTest all[] = {
        cmocka_unit_test(direct_order_any),
        cmocka_unit_test(resumed_keeps),
        cmocka_unit_test(cached_fallback),
        cmocka_unit_test(threads_at_once),
    };
    return cmocka_run_group_tests_name("coordinator_part_values", all, NULL, NULL);
}
