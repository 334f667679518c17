/* test_big_faults - big keys files that change under a job, sets too big for
 * memory and a full disk, with real phclient and phcoord processes.
 *
 *   local_keys_shrink     create --local: the keys file is truncated after
 *                         phclient sized it, before it read it (paused by
 *                         PH_TEST_KEYS_READ_PAUSE): one line naming the file
 *                         ("changed while being read"), no signal, OUT not
 *                         created
 *   local_keys_rewritten  the same with the file rewritten in place at its
 *                         size (new mtime): caught by the check after the read
 *   local_no_memory       under RLIMIT_AS: a 256 MiB keys file cannot be
 *                         copied, a 64 MiB one cannot be split: one line
 *                         naming the file and what was not allocated
 *   local_disk_full       under RLIMIT_FSIZE (SIGXFSZ ignored, so EFBIG):
 *                         writing the table fails, OUT is left as it was
 *                         (an OUT the run created is gone again)
 *   coord_keys_shrink     the coordinator's read of a big file paused, the
 *                         file truncated: that job fails naming the file,
 *                         the coordinator lives and serves the next job
 *   coord_disk_full       phcoord under RLIMIT_FSIZE: the big table fails
 *                         with one line, no OUT/big left, a small job after
 *                         it is written
 *   coord_disk_full_phc   the same with --emit c,bin and a limit that only
 *                         NAME.phc passes: the C and data files written
 *                         before it go again
 *   coord_disk_full_state the same as coord_disk_full with --state-dir: the
 *                         line names the fixed-name values file it could
 *                         not size, which is not left behind */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define BIG_KEYS 1200000u

/* Entries of dir, "." and ".." and `except` aside (-1 if it cannot be
 * opened); each is printed. */
static int dir_entries(const char *dir, const char *except)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            (except && !strcmp(e->d_name, except)))
            continue;
        fprintf(stderr, "%s: %s\n", dir, e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* stderr of a phclient run: exactly one line, containing want. */
static void one_line_with(const char *err_path, const char *want)
{
    char *e = hx_slurp(err_path);
    assert_non_null(e);
    fprintf(stderr, "phclient said: %s", e);
    assert_non_null(strstr(e, want));
    assert_int_equal(hx_count(e, "\n"), 1);
    free(e);
}

/* phclient create KEYS -o OUT --local with the given extra arguments;
 * its stderr to hx_path("local.err").  Started, not waited for. */
static pid_t local_create(const char *keys, const char *out, const char *more)
{
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, "create", keys, "-o", out, "--local", "--partition", "4096",
                "--threads", "1", NULL);
    if (more)
        hx_args_add(&a, more, NULL);
    unlink(hx_path("local.err")); /* appended to, else */
    return hx_spawn(&a, NULL, hx_path("local.out"), hx_path("local.err"));
}

/* Open the pause FIFO for writing once the paused process opened it for
 * reading (it has sized the file by then); -1 at the hang deadline. */
static int fifo_writer(const char *fifo)
{
    uint64_t end = hx_deadline(HX_HANG_MS);
    while (hx_now_ms() < end) {
        int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0)
            return fd;
        assert_int_equal(errno, ENXIO); /* no reader yet */
        hx_sleep_ms(20);
    }
    return -1;
}

static const char *pause_fifo(void)
{
    const char *fifo = hx_path("pause.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    return fifo;
}

/* A run of `create --local` paused before its read, the file changed by
 * change(keys) meanwhile: fails with one line naming the file. */
static void local_changed(void (*change)(const char *keys), const char *want)
{
    char keys[1024], out[1024];
    hx_path_buf(keys, sizeof keys, "big.keys");
    hx_path_buf(out, sizeof out, "out");
    hx_write_keys(keys, BIG_KEYS, 41, false);
    const char *fifo = pause_fifo();
    setenv("PH_TEST_KEYS_READ_PAUSE", fifo, 1);
    pid_t pid = local_create(keys, out, NULL);
    unsetenv("PH_TEST_KEYS_READ_PAUSE");
    int fd = fifo_writer(fifo);
    assert_true(fd >= 0);
    change(keys);
    close(fd);
    int rc = hx_wait(pid, HX_HANG_MS);
    assert_int_equal(rc, 2); /* an error, not a signal (SIGBUS would be 135) */
    one_line_with(hx_path("local.err"), want);
    assert_false(hx_exists(out));
}

static void shrink(const char *keys) { assert_int_equal(truncate(keys, 4 * 1000000), 0); }

static void rewrite(const char *keys)
{
    int fd = open(keys, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    uint32_t k = 0xdeadbeefu;
    assert_int_equal(pwrite(fd, &k, sizeof k, 0), (ssize_t)sizeof k);
    /* An mtime surely different from the first one, whatever the clock's
     * granularity: one hour ahead. */
    struct timeval now;
    gettimeofday(&now, NULL);
    struct timespec ts[2] = {{now.tv_sec + 3600, 0}, {now.tv_sec + 3600, 0}};
    assert_int_equal(futimens(fd, ts), 0);
    close(fd);
}

static void local_keys_shrink(void **state)
{
    (void)state;
    local_changed(shrink, "big.keys: changed while being read (shrank to ");
}

static void local_keys_rewritten(void **state)
{
    (void)state;
    local_changed(rewrite, "big.keys: changed while being read (size 4800000 -> 4800000 bytes, "
                           "modified)");
}

/* The soft limit res lowered to cur, for the processes started until
 * limit_restore(res, was) puts *was back (right after the fork: only the
 * child runs under it). */
static void limit_lower(int res, rlim_t cur, struct rlimit *was)
{
    assert_int_equal(getrlimit(res, was), 0);
    struct rlimit lim = *was;
    lim.rlim_cur = cur;
    assert_int_equal(setrlimit(res, &lim), 0);
}

static void limit_restore(int res, const struct rlimit *was)
{
    assert_int_equal(setrlimit(res, was), 0);
}

/* `create --local` of a sparse file of n keys (zeros: never solved, the
 * allocation fails first) under an address-space limit of as_mb MiB. */
static void no_memory_run(uint64_t n, unsigned as_mb, const char *want)
{
    char keys[1024], out[1024];
    hx_path_buf(keys, sizeof keys, "huge.keys");
    hx_path_buf(out, sizeof out, "out");
    assert_int_equal(truncate(keys, 0) == 0 || errno == ENOENT, 1);
    int fd = open(keys, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(n * 4)), 0);
    close(fd);
    struct rlimit was;
    limit_lower(RLIMIT_AS, (rlim_t)as_mb << 20, &was);
    pid_t pid = local_create(keys, out, NULL);
    limit_restore(RLIMIT_AS, &was);
    int rc = hx_wait(pid, HX_HANG_MS);
    assert_int_equal(rc, 2);
    one_line_with(hx_path("local.err"), want);
    assert_false(hx_exists(out));
}

static void local_no_memory(void **state)
{
    (void)state;
    if (SANITIZED)
        skip(); /* a sanitizer's shadow memory does not fit an address-space limit */
    no_memory_run(64u << 20, 192, "huge.keys: out of memory for a copy of its 67108864 keys "
                                  "(268435456 bytes)");
    no_memory_run(16u << 20, 192, "huge.keys: out of memory splitting 16777216 keys into 4096 "
                                  "buckets");
}

/* create --local of keys to out under a 1 MiB file-size limit: fails. */
static void local_too_large(const char *keys, const char *out)
{
    signal(SIGXFSZ, SIG_IGN); /* inherited: a write past the limit is EFBIG */
    struct rlimit was;
    limit_lower(RLIMIT_FSIZE, 1u << 20, &was); /* the values file takes ~10 MB */
    pid_t pid = local_create(keys, out, NULL);
    limit_restore(RLIMIT_FSIZE, &was);
    int rc = hx_wait(pid, HX_HANG_MS);
    assert_int_equal(rc, 2);
    one_line_with(hx_path("local.err"), "File too large");
    one_line_with(hx_path("local.err"), out);
}

static void local_disk_full(void **state)
{
    (void)state;
    char keys[1024], out[1024], keep[1100], fresh[1024];
    hx_path_buf(keys, sizeof keys, "big.keys");
    hx_path_buf(out, sizeof out, "out");
    snprintf(keep, sizeof keep, "%s/keep.txt", out);
    hx_write_keys(keys, BIG_KEYS, 43, false);
    hx_mkdir(out);
    hx_write_bytes(keep, "kept\n", 5);
    /* An output directory that did not exist (two levels): not left behind. */
    hx_path_buf(fresh, sizeof fresh, "new/out");
    local_too_large(keys, fresh);
    assert_false(hx_exists(hx_path("new")));
    /* One that did: left as it was. */
    local_too_large(keys, out);
    assert_int_equal(dir_entries(out, "keep.txt"), 0); /* no big/, no temporary */
    char *k = hx_slurp(keep);
    assert_non_null(k);
    assert_string_equal(k, "kept\n");
    free(k);
    /* And without the limit the same run writes the table. */
    pid_t pid = local_create(keys, out, NULL);
    assert_int_equal(hx_wait(pid, HX_HANG_MS), 0);
    assert_true(hx_exists(hx_path("out/big/big.h")));
}

/* ---- through a coordinator ---------------------------------------------- */

/* phcoord's start returned rc (0: it is up); then one worker of one
 * thread, registered. */
static void coord_started_one_worker(int rc)
{
    if (rc != 0)
        fail_msg("phcoord did not start (exit/status %d)", rc);
    hx_worker_up("worker.log");
}

/* A small job after the failed one: the coordinator still writes tables. */
static void small_job_ok(void)
{
    char dir[1024], out[1024];
    hx_path_buf(dir, sizeof dir, "small");
    hx_path_buf(out, sizeof out, "small-out");
    hx_mkdir(dir);
    hx_write_keys(hx_path("small/s.keys"), 1000, 7, false);
    int rc = hx_client(HX_HANG_MS, "bulk-create", dir, "-o", out, NULL);
    assert_int_equal(rc, 0);
    assert_true(hx_exists(hx_path("small-out/s/s.h")));
    assert_true(hx_alive(hx_coord_pid()));
}

/* bulk-create of in/ (one big.keys of n keys) to out/ with --emit emit,
 * waited for, in the background; its stdout in hx_path("bulk.out"). */
static pid_t bulk_big_emit(uint32_t n, const char *emit)
{
    hx_mkdir(hx_path("in"));
    hx_mkdir(hx_path("out"));
    hx_write_keys(hx_path("in/big.keys"), n, 47, false);
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, "bulk-create", hx_path("in"), "-o", hx_path("out"), "--json",
                "--emit", emit, "--coordinator", hx_endpoint(), NULL);
    return hx_spawn(&a, NULL, hx_path("bulk.out"), hx_path("bulk.err"));
}

static pid_t bulk_big(void)
{
    return bulk_big_emit(BIG_KEYS, "c");
}

static void bulk_failed_with(pid_t pid, const char *want)
{
    int rc = hx_wait(pid, HX_HANG_MS);
    char *j = hx_slurp(hx_path("bulk.out"));
    fprintf(stderr, "bulk-create: exit %d: %s", rc, j ? j : "\n");
    assert_int_equal(rc, 2);
    assert_non_null(j);
    assert_non_null(strstr(j, want));
    free(j);
    assert_false(hx_exists(hx_path("out/big"))); /* not even an empty OUT/big */
    /* The results row of the failure (results.csv and its lock) only. */
    assert_int_equal(hx_count_names(hx_path("out"), ".tmp."), 0);
    assert_int_equal(dir_entries(hx_path("out"), "results.csv") -
                     hx_count_names(hx_path("out"), ".results.csv.lock"), 0);
}

static void coord_keys_shrink(void **state)
{
    (void)state;
    const char *f = pause_fifo();
    char fifo[1024];
    snprintf(fifo, sizeof fifo, "%s", f);
    setenv("PH_TEST_KEYS_READ_PAUSE", fifo, 1);
    int rc = hx_coord_start(NULL, NULL, hx_root(), "coord.log");
    unsetenv("PH_TEST_KEYS_READ_PAUSE");
    coord_started_one_worker(rc);
    pid_t pid = bulk_big();
    int fd = fifo_writer(fifo);
    assert_true(fd >= 0);
    assert_int_equal(truncate(hx_path("in/big.keys"), 4 * 1000000), 0);
    close(fd);
    bulk_failed_with(pid, "big.keys: changed while being read (shrank to ");
    small_job_ok();
}

/* phcoord (extra: its other arguments, or NULL) under RLIMIT_FSIZE of mib
 * MiB (SIGXFSZ ignored, so EFBIG), with one worker. */
static void coord_under_fsize(const hx_args *extra, unsigned mib)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit was;
    limit_lower(RLIMIT_FSIZE, (rlim_t)mib << 20, &was);
    int rc = hx_coord_start(NULL, extra, hx_root(), "coord.log");
    limit_restore(RLIMIT_FSIZE, &was);
    coord_started_one_worker(rc);
}

static void coord_disk_full(void **state)
{
    (void)state;
    coord_under_fsize(NULL, 1);
    bulk_failed_with(bulk_big(), "File too large");
    small_job_ok();
}

/* The same with --state-dir: the fixed-name values file cannot be sized;
 * the line names it, and it is not left behind. */
static void coord_disk_full_state(void **state)
{
    (void)state;
    hx_mkdir(hx_path("state"));
    hx_args extra = {0};
    hx_args_add(&extra, "--state-dir", hx_path("state"), NULL);
    coord_under_fsize(&extra, 1);
    bulk_failed_with(bulk_big(), "/out/big/big.values.partial: cannot size to ");
    small_job_ok();
}

/* The limit lets the values file (8.4 bytes a key) through but not
 * NAME.phc (12.4 bytes a key), written after the C files: the table fails
 * naming the limit and every file it had written goes again. */
static void coord_disk_full_phc(void **state)
{
    (void)state;
    coord_under_fsize(NULL, 12);
    bulk_failed_with(bulk_big_emit(1200000, "c,bin"), "big.phc");
    char *j = hx_slurp(hx_path("bulk.out"));
    assert_non_null(strstr(j, "File too large"));
    free(j);
    small_job_ok();
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, hx_setup, hx_teardown)
    const struct CMUnitTest all[] = {
        T(local_keys_shrink), T(local_keys_rewritten), T(local_no_memory),
        T(local_disk_full),   T(coord_keys_shrink),    T(coord_disk_full),
        T(coord_disk_full_phc),
        T(coord_disk_full_state),
    };
    return hx_run_tests("test_big_faults", "big_faults", all, sizeof all / sizeof all[0], argc,
                        argv);
}
