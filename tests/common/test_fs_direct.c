/* test_fs_direct.c - big files written atomically from memory go out with
 * direct I/O where the file system has it: byte for byte what was given,
 * for sizes around the bounce buffer and the page (the unaligned tail goes
 * through the page cache), with no temporary left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_fs.h"
#include "test_util.h"

/* len bytes that differ from page to page and from size to size, so a
 * page written at the wrong offset or twice shows. */
static unsigned char *pattern(size_t len)
{
    unsigned char *p = malloc(len ? len : 1);
    assert_non_null(p);
    uint64_t x = 0x9e3779b97f4a7c15ull ^ len;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (unsigned char)x;
    }
    return p;
}

/* Entries in the scratch directory other than . and .. */
static int entries(void)
{
    DIR *d = opendir(tu_dir());
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void write_and_check(int dfd, size_t len)
{
    unsigned char *want = pattern(len);
    ph_err err = {0};
    assert_int_equal(ph_fs_write_atomic_at(dfd, "big", tu_at("big"), want, len, 0, &err), PH_OK);
    size_t got_len = 0;
    char *got = tu_slurp(tu_at("big"), &got_len);
    assert_non_null(got);
    assert_int_equal(got_len, len);
    if (len)
        assert_memory_equal(got, want, len);
    assert_int_equal(entries(), 1); /* no temporary left */
    free(got);
    free(want);
}

static void test_sizes(void **state)
{
    (void)state;
    int dfd = open(tu_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    const size_t chunk = PH_FS_DIRECT_CHUNK;
    const size_t sizes[] = {0, 1, 4095, 4096, chunk - 1, chunk, chunk + 1, chunk + 4096,
                            3 * chunk + 4096 + 123, 5 * chunk - 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        write_and_check(dfd, sizes[i]); /* each replaces the one before */
    close(dfd);
}

/* Where the file system takes direct I/O, the whole pages of a big file
 * never enter the page cache: the point of writing them that way. */
static void test_pages_bypass_cache(void **state)
{
    (void)state;
    size_t len = 2 * PH_FS_DIRECT_CHUNK + 100;
    int dfd = open(tu_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dfd >= 0);
    unsigned char *data = pattern(len);
    ph_err err = {0};
    assert_int_equal(ph_fs_write_atomic_at(dfd, "big", tu_at("big"), data, len, 0, &err), PH_OK);
    free(data);
    int fd = openat(dfd, "big", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    if (ph_fs_direct_align(fd) == 0) { /* tmpfs: all through the page cache */
        close(fd);
        close(dfd);
        skip();
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *resident = calloc((len + page - 1) / page, 1);
    assert_non_null(resident);
    assert_int_equal(mincore(map, len, resident), 0);
    for (size_t i = 0; i < 2 * PH_FS_DIRECT_CHUNK / page; i++) /* all but the tail */
        assert_int_equal(resident[i] & 1, 0);
    free(resident);
    munmap(map, len);
    close(fd);
    close(dfd);
}

/* A descriptor that cannot be written is an error, not a short file. */
static void test_write_error(void **state)
{
    (void)state;
    size_t len = PH_FS_DIRECT_CHUNK + 10;
    unsigned char *data = pattern(len);
    tu_write(tu_at("ro"), "", 0, 0644);
    int fd = open(tu_at("ro"), O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    errno = 0;
    assert_int_equal(ph_fs_write_fresh(fd, data, len), -1);
    assert_int_equal(errno, EBADF);
    close(fd);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sizes, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_pages_bypass_cache, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_write_error, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
