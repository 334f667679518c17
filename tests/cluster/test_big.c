/* test_big - one big table over the whole cluster (coordinator/coord_part.c):
 * real phcoord, phworker and phclient processes on loopback.
 *
 *   big_create_two_workers  2.5M keys through `create` with two workers: the
 *                           files equal those of `create --local`, every key
 *                           looks up to its position, status counts the
 *                           bucket groups
 *   big_small_frames        every process capped at 256 KiB frames
 *                           (PH_TEST_MAX_FRAME): the table is still built
 *                           (no frame outgrew the cap), while an unpartitioned
 *                           create of 100k keys is refused by that cap
 *   big_buckets_over_group_bytes  buckets bigger than --part-task-bytes go
 *                           one to a group and the table is built; a bucket
 *                           past the frame cap is refused naming the frame
 *   big_worker_killed       kill -9 a worker holding groups: they are
 *                           requeued, another worker finishes the table
 *   big_group_timeout       a group outliving --task-timeout-ms is taken
 *                           back; with --max-tries 1 the table fails naming
 *                           the buckets, nothing of it stays
 *   big_coord_restart       kill -9 phcoord mid-assembly (held after a few
 *                           groups by PH_TEST_PART_HOLD): the values file
 *                           and its progress record are there; restarted on
 *                           its --state-dir it sends only the other groups,
 *                           and the table equals create --local's byte for
 *                           byte
 *   big_coord_shutdown      the same after phcoord is shut down (SHUTDOWN)
 *                           instead of killed, with --emit c,bin (NAME.phc
 *                           too equals create --local's)
 *   big_values_restart      a big create with --values 4 --values-file through
 *                           a coordinator killed mid-assembly: after the
 *                           restart its files equal create --local's
 *   big_values_file_held    another assembly holds the fixed-name values
 *                           file (flock): a one-off temporary instead, the
 *                           table right, the held file untouched
 *   big_values_file_linked  the fixed-name values file is a hard link to
 *                           another file: that file is left as it was, the
 *                           table is assembled under a one-off temporary
 *   big_coord_restart_bad_record / _bad_values  the same with one byte of
 *                           the record / of a saved group's values flipped
 *                           before the restart: solved from the start, one
 *                           log line says why, the table is right (_bad_values
 *                           with --writers 0: no writer pool)
 *   big_restart_keys_gone / _not_keys  the keys file of a table held
 *                           mid-assembly is removed / replaced by 3 bytes
 *                           before the restart: the table fails, and its
 *                           saved values file and record are removed;
 *                           _other_record: a record whose token is not the
 *                           job's is left alone
 *   big_restart_cancelled   a job cancelled after a restart, before its
 *                           held table was opened again: the saved files go
 *   big_file_changed        the keys file shrinks mid-job: the table fails with
 *                           a one-line error naming the file, nothing of it
 *                           is written, the coordinator serves on
 *   big_duplicate_key       a duplicate key fails the table (its group fails on
 *                           the worker, naming both positions) while two
 *                           workers' other groups are in flight or being
 *                           checked: nothing of it stays, the cluster serves on
 *   big_key64_two_workers   2M 64-bit keys (pairs differing only in their high
 *                           half) through `create` with two workers: the files
 *                           equal those of `create --local --key-size 8`, every
 *                           key looks up to its position; then one bulk job of a
 *                           big 64-bit and a big 32-bit file, each partitioned
 *                           with its own key size
 *   big_key64_bad_length    a 64-bit keys file 4 bytes too long: one line naming
 *                           the file through create and bulk-create, nothing
 *                           written for it
 *   big_key64_bad_group     a scripted worker answers one group of a 64-bit
 *                           table rightly and the next with a value off: the
 *                           coordinator's 64-bit check names the key, the table
 *                           fails, nothing of it stays
 *   big_emit_bin            --emit bin (and --index-only): NAME.phc alone, the
 *                           bytes of create --local --emit bin; loaded with
 *                           phc_table_load, every key found, 1M non-members
 *                           rejected
 *   big_emit_c_bin64        --emit c,bin with 64-bit keys: every file, NAME.phc
 *                           included, equals create --local's
 * Each test checks the written table itself: bucket records and vertex
 * values read back and every key of the keys file looked up. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_worker.h"
#include "harness.h"
#include "ph_part.h"
#include "phcluster.h"

#define BIG_KEYS 2500000u

/* parts_done of the (only) job in status; 0 if absent. */
static uint64_t parts_done(void)
{
    char *st = hx_status_json();
    uint64_t v = st ? hx_field(st, "parts_done") : UINT64_MAX;
    free(st);
    return v == UINT64_MAX ? 0 : v;
}

static void wait_parts_done(uint64_t min)
{
    uint64_t end = hx_deadline(HX_HANG_MS), got = 0;
    while (hx_now_ms() < end && (got = parts_done()) < min)
        hx_sleep_ms(50);
    if (got < min)
        fail_msg("bucket groups done: %llu, waited for %llu", (unsigned long long)got,
                 (unsigned long long)min);
}

static void *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    void *p = malloc((size_t)n + 8);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    memset((char *)p + n, 0, 8);
    *len = (size_t)n;
    return p;
}

/* The table written for name under out: its results.csv row gives the
 * table seed and bucket count; every key of keys_path must look up to its
 * position through the written NAME.buckets and NAME.values. */
static void verify_table(const char *out, const char *name, const char *keys_path)
{
    char path[1200], row_start[300];
    snprintf(path, sizeof path, "%s/results.csv", out);
    char *csv = hx_slurp(path);
    assert_non_null(csv);
    snprintf(row_start, sizeof row_start, "\n%s.keys,", name);
    const char *row = strstr(csv, row_start);
    assert_non_null(row);
    unsigned long long nkeys, s0, s1, nb;
    char hash[16];
    assert_int_equal(sscanf(row + strlen(row_start), "%llu,%15[^,],%llu,%llu,%llu", &nkeys, hash,
                            &s0, &s1, &nb), 5);
    assert_string_equal(hash, "part");
    assert_non_null(strstr(row, ",ok"));
    free(csv);
    size_t klen, blen, vlen;
    uint32_t *keys = read_all(keys_path, &klen);
    assert_int_equal(klen / 4, nkeys);
    snprintf(path, sizeof path, "%s/%s/%s.buckets", out, name, name);
    uint64_t *b = read_all(path, &blen);
    snprintf(path, sizeof path, "%s/%s/%s.values", out, name, name);
    uint32_t *v = read_all(path, &vlen); /* a zero beyond the end, as in memory */
    assert_int_equal(blen, (nb + 1) * sizeof *b);
    ph_part_table t = {.seed = s0 | s1 << 32, .nkeys = (uint32_t)nkeys,
                       .nbuckets = (uint32_t)nb, .buckets = b, .nverts = vlen / 4,
                       .assigned = v};
    assert_int_equal(t.seed, ph_part_table_seed(0));
    for (uint32_t i = 0; i < t.nbuckets; i++)
        assert_true(ph_part_base(&t, i) <= ph_part_base(&t, i + 1));
    assert_int_equal(ph_part_base(&t, t.nbuckets), t.nverts);
    ph_err err = {0};
    int rc = ph_part_verify(&t, keys, t.nkeys, 2, &err);
    if (rc)
        fail_msg("%s: %s", name, err.msg);
    fprintf(stderr, "%s: %llu keys, %llu buckets: every key at its position\n", name, nkeys,
            nb);
    free(keys);
    free(b);
    free(v);
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = read_all(a, &la), *y = read_all(b, &lb);
    bool same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* No temporary file (".tmp.") anywhere under dir. */
static int tmp_files(const char *dir)
{
    return hx_count_names(dir, ".tmp.");
}

static void wait_token_ok(const char *token)
{
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    char *j = hx_client_out();
    if (rc != 0) {
        fprintf(stderr, "phclient wait exited %d: %s\n", rc, j ? j : "");
        hx_dump("client stderr", hx_path("client.err"));
        hx_dump("coordinator log", hx_path("coord.log"));
    }
    assert_int_equal(rc, 0);
    assert_non_null(strstr(j, "\"state\":\"all_succeeded\""));
    free(j);
}

/* The cluster a test runs on: a coordinator (.small_groups: groups of 64
 * KiB of keys, --part-task-bytes 65536; .state: on a --state-dir; .hold:
 * PH_TEST_PART_HOLD for it alone; .writers: its --writers; .extra: more
 * of its options) and .workers workers taking .delay_ms (default 0) a
 * task, all registered. */
typedef struct big_cluster {
    bool small_groups, state;
    const char *hold, *writers, *delay_ms;
    int workers;
    const hx_args *extra; /* more phcoord options, or NULL */
} big_cluster;

/* Brings up bc; the first worker's pid (0 without workers). */
static pid_t cluster_up(const big_cluster *bc)
{
    hx_args extra = {0};
    if (bc->small_groups)
        hx_args_add(&extra, "--part-task-bytes", "65536", NULL);
    if (bc->writers)
        hx_args_add(&extra, "--writers", bc->writers, NULL);
    if (bc->extra)
        hx_args_cat(&extra, bc->extra);
    if (bc->hold)
        setenv("PH_TEST_PART_HOLD", bc->hold, 1);
    if (bc->state)
        hx_coord_up_state(&extra, "coord.log");
    else
        hx_coord_up(NULL, &extra, "coord.log");
    unsetenv("PH_TEST_PART_HOLD"); /* not for the workers, nor a restart */
    pid_t first = 0;
    for (int i = 1; i <= bc->workers; i++) {
        char log[32];
        snprintf(log, sizeof log, "w%d.log", i);
        pid_t w = hx_worker_slow(bc->delay_ms ? bc->delay_ms : "0", log);
        first = first ? first : w;
    }
    assert_true(hx_wait_workers(bc->workers, HX_HANG_MS));
    return first;
}

/* A coordinator and two workers (no delay), both registered. */
static void cluster_two_workers(void)
{
    cluster_up(&(big_cluster){.workers = 2});
}

/* A test's paths: in/ holding the keys file, out/ for the cluster's
 * tables and local/ for create --local's. */
typedef struct big_files {
    char in[1024], keys[1200], out[1024], local[1024];
} big_files;

/* f's paths, with the keys file in/name. */
static void files_at(big_files *f, const char *name)
{
    hx_path_buf(f->in, sizeof f->in, "in");
    snprintf(f->keys, sizeof f->keys, "%s/%s", f->in, name);
    hx_path_buf(f->out, sizeof f->out, "out");
    hx_path_buf(f->local, sizeof f->local, "local");
}

/* The same, and in/ made. */
static void files_in(big_files *f, const char *name)
{
    files_at(f, name);
    hx_mkdir(f->in);
}

/* IN/big.keys of n keys (salt and dup as hx_write_keys) submitted as a
 * bulk job into OUT; token its token. */
static void submit_big(big_files *f, uint32_t n, uint32_t salt, bool dup, char token[17])
{
    files_in(f, "big.keys");
    hx_write_keys(f->keys, n, salt, dup);
    assert_true(hx_submit_bulk(f->in, f->out, token));
}

/* A phclient run's exit code rc is 0, else its output, its stderr and the
 * coordinator's log are shown and the test fails. */
static void client_ok(int rc)
{
    if (rc != 0) {
        hx_dump("client stdout", hx_path("client.out"));
        hx_dump("client stderr", hx_path("client.err"));
        hx_dump("coordinator log", hx_path("coord.log"));
    }
    assert_int_equal(rc, 0);
}

/* Any exit code but 0, for client_refused. */
#define EXIT_FAILED (-1)

/* A phclient run (what) refused: its exit code rc is want (EXIT_FAILED:
 * any but 0) and text, its output or its stderr, holds needle ("": any
 * text; NULL: text may be missing).  Where needle stands in text. */
static const char *client_refused(const char *what, int rc, int want, const char *text,
                                  const char *needle)
{
    fprintf(stderr, "%s: exit %d: %s", what, rc, text ? text : "\n");
    if (want == EXIT_FAILED)
        assert_int_not_equal(rc, 0);
    else
        assert_int_equal(rc, want);
    if (!needle)
        return NULL;
    assert_non_null(text);
    const char *at = strstr(text, needle);
    if (!at)
        fail_msg("%s: no \"%s\"", what, needle);
    return at;
}

/* phclient wait of token exits want; its JSON output (the caller frees). */
static char *wait_token_exit(const char *token, int want)
{
    int rc = hx_client(HX_HANG_MS, "wait", token, "--json", NULL);
    char *j = hx_client_out();
    client_refused("wait", rc, want, j, "");
    return j;
}

/* The token of the job JSON text j names; what names the command. */
static void token_from(const char *j, char token[17], const char *what)
{
    const char *t = j ? strstr(j, "\"token\":\"") : NULL;
    if (!t || strlen(t) < 25)
        fail_msg("%s names no job: %s", what, j ? j : "");
    memcpy(token, t + 9, 16);
    token[16] = '\0';
}

/* The coordinator's log (coord.log) has a line holding what. */
static void coord_log_has(const char *what)
{
    char *log = hx_slurp(hx_path("coord.log"));
    assert_non_null(log);
    if (!strstr(log, what))
        fail_msg("coord.log: no \"%s\"", what);
    free(log);
}

/* Status counts the (only) job's groups, two at least, all done. */
static void status_all_groups_done(void)
{
    char *st = hx_status_json();
    assert_non_null(st);
    uint64_t total = hx_field(st, "parts_total");
    fprintf(stderr, "status: parts_total=%llu parts_done=%llu\n", (unsigned long long)total,
            (unsigned long long)hx_field(st, "parts_done"));
    assert_true(total >= 2 && total != UINT64_MAX);
    assert_int_equal(hx_field(st, "parts_done"), total);
    free(st);
}

/* OUT/NAME/NAME+file equals LOCAL/NAME/NAME+file for each of files (a
 * file starting with '/' names OUT/NAME+file, e.g. "/CMakeLists.txt"). */
static void same_files(const char *out, const char *local, const char *name,
                       const char *const *files, size_t nfiles)
{
    for (size_t i = 0; i < nfiles; i++) {
        const char *f = files[i];
        char a[1200], b[1200];
        if (f[0] == '/') {
            snprintf(a, sizeof a, "%s/%s%s", out, name, f);
            snprintf(b, sizeof b, "%s/%s%s", local, name, f);
        } else {
            snprintf(a, sizeof a, "%s/%s/%s%s", out, name, name, f);
            snprintf(b, sizeof b, "%s/%s/%s%s", local, name, name, f);
        }
        if (!same_file(a, b))
            fail_msg("%s%s differs from create --local's", name, f);
    }
}

#define NFILES(a) (sizeof(a) / sizeof(a)[0])

/* ---- the tests ------------------------------------------------------------- */

static void big_create_two_workers(void **state)
{
    (void)state;
    cluster_two_workers();
    big_files f;
    files_in(&f, "big.keys");
    hx_write_keys(f.keys, BIG_KEYS, 17, false);
    client_ok(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.out, NULL));
    verify_table(f.out, "big", f.keys);
    assert_int_equal(tmp_files(f.out), 0);
    status_all_groups_done(); /* both workers solved groups, status counted them all */
    coord_log_has("partitioned table opened");
    /* The same files as the in-process build of the same keys. */
    assert_int_equal(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.local, "--local",
                               "--threads", "2", NULL), 0);
    static const char *const files[] = {".values", ".buckets", ".c", ".h", "_data.S",
                                        "_test.c", "_bench.c"};
    same_files(f.out, f.local, "big", files, NFILES(files));
}

static void big_small_frames(void **state)
{
    (void)state;
    setenv("PH_TEST_MAX_FRAME", "262144", 1); /* every process started below */
    cluster_two_workers();
    big_files f;
    files_in(&f, "big.keys");
    char small[1024];
    hx_path_buf(small, sizeof small, "unpart.keys");
    hx_write_keys(f.keys, 1500000, 23, false);
    client_ok(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.out, NULL));
    verify_table(f.out, "big", f.keys);
    char *st = hx_status_json();
    uint64_t groups = st ? hx_field(st, "parts_total") : 0;
    free(st);
    fprintf(stderr, "1.5M keys in %llu groups under a 256 KiB frame cap\n",
            (unsigned long long)groups);
    assert_true(groups >= 1500000 / ((262144 - 4096) / 12)); /* the cap sized them */
    /* The cap is real: 400 KB of keys in one SUBMIT_CREATE do not go. */
    hx_write_keys(small, 100000, 5, false);
    int rc = hx_client(HX_HANG_MS, "create", small, "-o", f.out, "--partition", "off", NULL);
    char *err = hx_client_err();
    client_refused("unpartitioned create under the cap", rc, EXIT_FAILED, err,
                   "frame limit of 262144");
    free(err);
    unsetenv("PH_TEST_MAX_FRAME");
}

/* Buckets bigger than --part-task-bytes (64 KiB: 16384 keys a group) but
 * well inside a frame each go as a group of their own, and the table is
 * built; only a bucket past what a frame carries is refused, naming the
 * frame (here under a 256 KiB cap: 20672 keys). */
static void big_buckets_over_group_bytes(void **state)
{
    (void)state;
    setenv("PH_TEST_MAX_FRAME", "262144", 1); /* every process started below */
    cluster_up(&(big_cluster){.small_groups = true, .workers = 1});
    big_files f;
    files_in(&f, "big.keys");
    hx_write_keys(f.keys, 120000, 83, false);
    client_ok(hx_client(HX_HANG_MS, "bulk-create", f.in, "-o", f.out, "--partition", "18000",
                        NULL));
    verify_table(f.out, "big", f.keys);
    int rc = hx_client(HX_HANG_MS, "bulk-create", f.in, "-o", hx_path("out2"), "--partition",
                       "60000", "--json", NULL);
    char *j = hx_client_out();
    client_refused("buckets of 60000 keys under a 256 KiB cap", rc, 2, j,
                   "does not fit one 262144-byte frame");
    free(j);
    unsetenv("PH_TEST_MAX_FRAME");
}

static void big_worker_killed(void **state)
{
    (void)state;
    pid_t victim = cluster_up(&(big_cluster){.small_groups = true, .workers = 1,
                                             .delay_ms = "400"});
    big_files f;
    char token[17];
    submit_big(&f, 2000000, 29, false, token);
    wait_parts_done(2); /* the victim is working: it holds its next groups */
    kill(victim, SIGKILL);
    assert_int_equal(hx_wait(victim, HX_HANG_MS), 128 + SIGKILL);
    hx_worker_slow("0", "healthy.log");
    wait_token_ok(token);
    verify_table(f.out, "big", f.keys);
    char *log = hx_slurp(hx_path("coord.log"));
    assert_non_null(log);
    assert_non_null(strstr(log, "worker dropped"));
    /* Some drop took groups back (a busy machine can add drops of its own,
     * e.g. of an earlier connection that held nothing). */
    int most = 0;
    for (const char *rq = strstr(log, "requeued="); rq; rq = strstr(rq + 9, "requeued=")) {
        fprintf(stderr, "coordinator: %.60s\n", rq);
        most = atoi(rq + 9) > most ? atoi(rq + 9) : most;
    }
    assert_true(most >= 1);
    free(log);
    assert_int_equal(tmp_files(f.out), 0);
}

/* A group that outlives --task-timeout-ms (the worker sleeps 100 s on
 * each) is taken back; with --max-tries 1 that fails the table with one
 * error naming the buckets and the timeout, nothing of it stays, and the
 * coordinator serves on.  (A second try would wait for a free thread: the
 * worker's one thread still holds the group taken back.) */
static void big_group_timeout(void **state)
{
    (void)state;
    hx_args extra = {0};
    hx_args_add(&extra, "--task-timeout-ms", "500", "--max-tries", "1", NULL);
    cluster_up(&(big_cluster){.small_groups = true, .workers = 1, .delay_ms = "100000",
                              .extra = &extra});
    big_files f;
    char token[17];
    submit_big(&f, 1100000, 89, false, token);
    char *j = wait_token_exit(token, 2);
    assert_non_null(strstr(j, "big.keys: buckets "));
    assert_non_null(strstr(j, "timed out after 500 ms 1 times; given up"));
    free(j);
    coord_log_has("group timed out");
    assert_false(hx_exists(hx_path("out/big")));
    assert_int_equal(tmp_files(f.out), 0);
    assert_int_equal(hx_client(HX_HANG_MS, "ping", NULL), 0);
}

/* The value of key= on the last line of log holding msg; UINT64_MAX if none. */
static uint64_t log_value(const char *log, const char *msg, const char *key)
{
    uint64_t v = UINT64_MAX;
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", key);
    for (const char *m = strstr(log, msg); m; m = strstr(m + 1, msg)) {
        const char *bol = m;
        while (bol > log && bol[-1] != '\n')
            bol--;
        const char *k = strstr(bol, pat);
        if (k && k < m)
            v = strtoull(k + strlen(pat), NULL, 10);
    }
    return v;
}

/* Wait until the log at path has a line holding msg; its key= value. */
static uint64_t wait_log_value(const char *path, const char *msg, const char *key)
{
    uint64_t end = hx_deadline(HX_HANG_MS), v = UINT64_MAX;
    while (v == UINT64_MAX && hx_now_ms() < end) {
        char *log = hx_slurp(path);
        v = log ? log_value(log, msg, key) : UINT64_MAX;
        free(log);
        if (v == UINT64_MAX)
            hx_sleep_ms(50);
    }
    if (v == UINT64_MAX) {
        hx_dump("coordinator log", path);
        fail_msg("no \"%s\" with %s= in %s", msg, key, path);
    }
    return v;
}

/* --emit of the restart tests' job and of the create --local they are
 * compared with (NULL: the default, C files). */
static const char *resume_emit;
/* phcoord --writers of the restart tests (NULL: its default). */
static const char *resume_writers;

/* bulk-create --no-wait of in/ into out/ with --emit resume_emit. */
static void submit_resume_job(char token[17])
{
    if (!resume_emit) {
        assert_true(hx_submit_bulk(hx_path("in"), hx_path("out"), token));
        return;
    }
    int rc = hx_client(HX_HANG_MS, "bulk-create", hx_path("in"), "-o", hx_path("out"),
                       "--no-wait", "--json", "--emit", resume_emit, NULL);
    char *j = hx_client_out();
    if (rc != 0)
        fail_msg("bulk-create --emit %s exited %d: %s", resume_emit, rc, j ? j : "");
    token_from(j, token, "bulk-create --emit");
    free(j);
}

/* A coordinator on a --state-dir assembles n keys of in/big.keys; it sends
 * no more than `hold` groups (PH_TEST_PART_HOLD), writes their progress
 * record and is killed (-9) there, or shut down: mid-assembly, with a
 * fixed-name values file and its record beside it.  Returns the groups the
 * record names. */
static uint64_t held_then_stopped(uint32_t n, uint32_t salt, const char *hold, char token[17],
                                  bool kill9)
{
    cluster_up(&(big_cluster){.small_groups = true, .state = true, .hold = hold,
                              .writers = resume_writers, .workers = 1});
    big_files f;
    files_in(&f, "big.keys");
    hx_write_keys(f.keys, n, salt, false);
    submit_resume_job(token);
    uint64_t saved = wait_log_value(hx_path("coord.log"), "test hold reached", "saved");
    if (kill9)
        hx_coord_kill9();
    else
        assert_int_equal(hx_coord_stop(), 0);
    assert_true(hx_exists(hx_path("out/big/big.values.partial")));
    assert_true(hx_exists(hx_path("out/big/big.values.resume")));
    assert_false(hx_exists(hx_path("out/big/big.values")));
    return saved;
}

/* After the restart: the job completes, its table is the one create
 * --local writes for the same keys, nothing temporary is left; returns the
 * restarted coordinator's log. */
static char *restarted_to_the_end(const char *token)
{
    hx_coord_restart("coord2.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS)); /* the worker reconnects by itself */
    wait_token_ok(token);
    big_files f;
    files_at(&f, "big.keys"); /* held_then_stopped's */
    verify_table(f.out, "big", f.keys);
    assert_int_equal(tmp_files(f.out), 0);
    assert_false(hx_exists(hx_path("out/big/big.values.partial")));
    assert_false(hx_exists(hx_path("out/big/big.values.resume")));
    int rc = resume_emit ? hx_client(HX_HANG_MS, "create", f.keys, "-o", f.local, "--local",
                                     "--emit", resume_emit, NULL)
                         : hx_client(HX_HANG_MS, "create", f.keys, "-o", f.local, "--local",
                                     NULL);
    assert_int_equal(rc, 0);
    static const char *const files[] = {".values", ".buckets", ".c", ".h", "_data.S", ".phc"};
    same_files(f.out, f.local, "big", files, NFILES(files) - (resume_emit ? 0 : 1));
    char *log = hx_slurp(hx_path("coord2.log"));
    assert_non_null(log);
    return log;
}

/* Flip one byte of path at off. */
static void flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fputc(c ^ 0x5a, f), c ^ 0x5a);
    assert_int_equal(fclose(f), 0);
}

static void big_coord_restart(void **state)
{
    (void)state;
    char token[17];
    uint64_t saved = held_then_stopped(1500000, 31, "6", token, true);
    assert_true(saved >= 6);
    char *log = restarted_to_the_end(token);
    uint64_t groups = log_value(log, "partitioned table opened", "groups");
    uint64_t resumed = log_value(log, "partitioned table opened", "resumed");
    uint64_t solved = log_value(log, "partitioned table closed", "solved");
    fprintf(stderr, "restart: %llu groups, %llu saved before it, %llu taken up, %llu solved "
            "after it\n", (unsigned long long)groups, (unsigned long long)saved,
            (unsigned long long)resumed, (unsigned long long)solved);
    assert_int_equal(resumed, saved);
    assert_int_equal(solved, groups - saved);
    assert_true(solved < groups);
    assert_null(strstr(log, "saved assembly not used"));
    free(log);
}

/* phcoord shut down mid-assembly keeps the values and the record: the
 * restart takes them up too; with --emit c,bin, NAME.phc is streamed from
 * the resumed values and equals create --local's. */
static void big_coord_shutdown(void **state)
{
    (void)state;
    char token[17];
    resume_emit = "c,bin";
    uint64_t saved = held_then_stopped(1100000, 53, "3", token, false);
    char *log = restarted_to_the_end(token);
    uint64_t groups = log_value(log, "partitioned table opened", "groups");
    assert_int_equal(log_value(log, "partitioned table opened", "resumed"), saved);
    assert_int_equal(log_value(log, "partitioned table closed", "solved"), groups - saved);
    free(log);
}

/* A big create with values from a values file (the coordinator reads it
 * from its path, which travels in the job's journal record), the
 * coordinator killed (-9) mid-assembly and restarted: the table's files,
 * NAME.keys and NAME.start (the values) among them, equal create
 * --local's. */
static void big_values_restart(void **state)
{
    (void)state;
    const uint32_t n = 1100000;
    cluster_up(&(big_cluster){.small_groups = true, .state = true, .hold = "3", .workers = 1});
    big_files f;
    files_in(&f, "big.keys");
    hx_write_keys(f.keys, n, 71, false);
    uint32_t *v = malloc((size_t)n * 4);
    assert_non_null(v);
    for (uint32_t i = 0; i < n; i++)
        v[i] = i * 5u + 3u;
    char vals[1024], token[17];
    hx_path_buf(vals, sizeof vals, "in/big.vals");
    hx_write_bytes(vals, v, (size_t)n * 4);
    free(v);
    /* create waits for its job: it runs beside the test and waits through
     * the restart; the job's token comes from status. */
    hx_args ca = {0};
    hx_args_add(&ca, hx_client_bin, "create", f.keys, "-o", f.out, "--values", "4",
                "--values-file", vals, "--emit", "c,bin", "--coordinator", hx_endpoint(), NULL);
    char cout[1024], cerr[1024];
    hx_path_buf(cout, sizeof cout, "create.out");
    hx_path_buf(cerr, sizeof cerr, "create.err");
    pid_t client = hx_spawn(&ca, NULL, cout, cerr);
    (void)wait_log_value(hx_path("coord.log"), "test hold reached", "saved");
    hx_coord_kill9();
    hx_coord_restart("coord2.log");
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    assert_int_equal(hx_client(HX_HANG_MS, "status", "--json", NULL), 0);
    char *j = hx_client_out();
    token_from(j, token, "status after the restart");
    free(j);
    wait_token_ok(token);
    (void)hx_wait(client, HX_HANG_MS); /* its exit depends on when it lost the coordinator */
    assert_int_equal(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.local, "--local",
                               "--values", "4", "--values-file", vals, "--emit", "c,bin", NULL),
                     0);
    static const char *const files[] = {".values", ".buckets", ".c", ".h", "_data.S", ".phc",
                                        ".keys", ".start", "_test.c"};
    same_files(f.out, f.local, "big", files, NFILES(files));
    assert_int_equal(tmp_files(f.out), 0);
}

/* A cluster on a --state-dir, in/big.keys of 1.1M keys (salt) and
 * OUT/big made: the test then plants something at the values file's fixed
 * name, OUT/big/big.values.partial. */
static void values_name_taken_setup(big_files *f, uint32_t salt)
{
    cluster_up(&(big_cluster){.state = true, .workers = 1});
    files_in(f, "big.keys");
    hx_mkdir(f->out);
    hx_mkdir(hx_path("out/big"));
    hx_write_keys(f->keys, 1100000, salt, false);
}

/* The job of in/ succeeds with its table right, assembled under a
 * one-off temporary: nothing temporary left, no progress record (the
 * planted file is the test's to check). */
static void values_name_taken_job(const big_files *f)
{
    char token[17];
    assert_true(hx_submit_bulk(f->in, f->out, token));
    wait_token_ok(token);
    verify_table(f->out, "big", f->keys);
    assert_int_equal(tmp_files(f->out), 0);
    assert_false(hx_exists(hx_path("out/big/big.values.resume")));
}

/* path holds text and nothing else. */
static void file_is(const char *path, const char *text)
{
    char *s = hx_slurp(path);
    assert_non_null(s);
    assert_string_equal(s, text);
    free(s);
}

/* Another assembly (here the test, as another coordinator on the same
 * output directory would) holds OUT/big/big.values.partial: the table is
 * assembled under a one-off temporary instead, right, and the held file
 * is left as it was. */
static void big_values_file_held(void **state)
{
    (void)state;
    big_files f;
    values_name_taken_setup(&f, 61);
    hx_write_bytes(hx_path("out/big/big.values.partial"), "theirs", 6);
    int fd = open(hx_path("out/big/big.values.partial"), O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    values_name_taken_job(&f);
    close(fd);
    file_is(hx_path("out/big/big.values.partial"), "theirs");
    coord_log_has("values file held by another assembly");
}

/* OUT/big/big.values.partial is a second name of another file (a hard
 * link planted in the output directory): that file is neither truncated
 * nor written; the table is assembled under a one-off temporary, right. */
static void big_values_file_linked(void **state)
{
    (void)state;
    big_files f;
    values_name_taken_setup(&f, 67);
    char victim[1024];
    hx_path_buf(victim, sizeof victim, "victim");
    hx_write_bytes(victim, "victim", 6);
    assert_int_equal(link(victim, hx_path("out/big/big.values.partial")), 0);
    values_name_taken_job(&f);
    file_is(victim, "victim");
    coord_log_has("2 links");
}

/* A damaged record or values file between the kill and the restart: the
 * table is solved from the start, one line says why, the table is right. */
static void restart_damaged(const char *file, long off, const char *why)
{
    char token[17];
    held_then_stopped(1100000, 43, "4", token, true);
    flip_byte(hx_path("out/big/%s", file), off);
    char *log = restarted_to_the_end(token);
    const char *line = strstr(log, "saved assembly not used");
    if (!line)
        hx_dump("coordinator log", hx_path("coord2.log"));
    assert_non_null(line);
    fprintf(stderr, "%.*s\n", (int)strcspn(line, "\n"), line);
    assert_non_null(strstr(line, why));
    uint64_t groups = log_value(log, "partitioned table opened", "groups");
    assert_int_equal(log_value(log, "partitioned table opened", "resumed"), 0);
    assert_int_equal(log_value(log, "partitioned table closed", "solved"), groups);
    free(log);
}

static void big_coord_restart_bad_record(void **state)
{
    (void)state;
    restart_damaged("big.values.resume", 300, "progress record damaged");
}

static void big_coord_restart_bad_values(void **state)
{
    (void)state;
    resume_writers = "0"; /* the loop writes the records and checks the values */
    restart_damaged("big.values.partial", 100, "values of group 0 damaged");
}

/* The keys file of a table held mid-assembly is gone (or no longer a
 * keys file) when the restarted coordinator comes to it: the table fails
 * before it is opened, and its saved values file and record go with it,
 * and OUT/big, left empty.  own: the record is the job's; else its token
 * is changed before the restart and both files stay. */
static void restart_keys_broken(bool gone, bool own)
{
    char token[17];
    held_then_stopped(1100000, gone ? 71 : 73, "3", token, true);
    if (gone)
        assert_int_equal(unlink(hx_path("in/big.keys")), 0);
    else
        hx_write_bytes(hx_path("in/big.keys"), "abc", 3);
    if (!own)
        flip_byte(hx_path("out/big/big.values.resume"), 16); /* a byte of the token */
    hx_coord_restart("coord2.log");
    char *j = wait_token_exit(token, 2);
    assert_non_null(strstr(j, "big.keys"));
    free(j);
    assert_int_equal(hx_exists(hx_path("out/big/big.values.partial")), !own);
    assert_int_equal(hx_exists(hx_path("out/big/big.values.resume")), !own);
    assert_int_equal(hx_exists(hx_path("out/big")), !own);
    assert_int_equal(tmp_files(hx_path("out")), 0);
    assert_int_equal(hx_client(HX_HANG_MS, "ping", NULL), 0);
}

static void big_restart_keys_gone(void **state)
{
    (void)state;
    restart_keys_broken(true, true);
}

static void big_restart_keys_not_keys(void **state)
{
    (void)state;
    restart_keys_broken(false, true);
}

static void big_restart_keys_gone_other_record(void **state)
{
    (void)state;
    restart_keys_broken(true, false);
}

/* A table held mid-assembly, the coordinator killed and restarted
 * without workers (so the table is not opened again), the job cancelled:
 * the saved values file and record go, and OUT/big, left empty. */
static void big_restart_cancelled(void **state)
{
    (void)state;
    char token[17];
    held_then_stopped(1100000, 79, "3", token, true);
    assert_int_equal(hx_stop_kind('w', HX_HANG_MS), 0);
    hx_coord_restart("coord2.log");
    assert_int_equal(hx_client(HX_HANG_MS, "cancel", token, NULL), 0);
    char *j = wait_token_exit(token, 5);
    assert_non_null(strstr(j, "\"state\":\"cancelled\""));
    free(j);
    assert_false(hx_exists(hx_path("out/big/big.values.partial")));
    assert_false(hx_exists(hx_path("out/big/big.values.resume")));
    assert_false(hx_exists(hx_path("out/big")));
}

static void big_file_changed(void **state)
{
    (void)state;
    cluster_up(&(big_cluster){.small_groups = true, .workers = 1, .delay_ms = "100"});
    big_files f;
    char token[17];
    submit_big(&f, 1200000, 37, false, token);
    wait_parts_done(1);
    assert_int_equal(truncate(f.keys, 4 * 1000000), 0);
    char *j = wait_token_exit(token, 2);
    assert_non_null(strstr(j, "big.keys: changed while the table was built"));
    free(j);
    assert_false(hx_exists(hx_path("out/big"))); /* not even an empty OUT/big */
    assert_true(hx_alive(hx_coord_pid()));
    assert_int_equal(hx_client(HX_HANG_MS, "ping", NULL), 0);
}

static void big_duplicate_key(void **state)
{
    (void)state;
    cluster_up(&(big_cluster){.small_groups = true, .workers = 2});
    big_files f;
    char token[17];
    submit_big(&f, 1500000, 41, true, token); /* the last key repeats the first */
    char *j = wait_token_exit(token, 2);
    assert_non_null(strstr(j, "duplicate key"));
    assert_non_null(strstr(j, "big.keys"));
    free(j);
    /* The values file goes once the checks still on writer threads are in. */
    char bdir[1200];
    hx_path_buf(bdir, sizeof bdir, "out/big");
    uint64_t end = hx_deadline(HX_HANG_MS);
    while (hx_exists(bdir) && hx_now_ms() < end)
        hx_sleep_ms(50);
    assert_false(hx_exists(bdir));
    assert_int_equal(hx_client(HX_HANG_MS, "ping", NULL), 0);
}


/* ---- 64-bit keys ------------------------------------------------------------ */

#define BIG64_KEYS 2000000u

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* n distinct 64-bit keys; pairs of them differ only in their high half, so
 * a path that dropped those bits would find duplicates. */
static void write_keys64(const char *path, uint32_t n, uint64_t salt)
{
    uint64_t *k = malloc((size_t)n * 8);
    assert_non_null(k);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t m = mix64(salt + i / 2); /* a bijection: distinct per pair */
        k[i] = (i & 1) ? (m & 0xffffffffull) | (~m & 0xffffffff00000000ull) : m;
    }
    hx_write_bytes(path, k, (size_t)n * 8);
    free(k);
}

/* The 64-bit table of name under out: every key of keys_path looks up to
 * its position through the written NAME.buckets and NAME.values, and the
 * header declares a uint64_t Index. */
static void verify_table64(const char *out, const char *name, const char *keys_path)
{
    char path[1200];
    size_t klen, blen, vlen;
    uint64_t *keys = read_all(keys_path, &klen);
    snprintf(path, sizeof path, "%s/%s/%s.buckets", out, name, name);
    uint64_t *b = read_all(path, &blen);
    snprintf(path, sizeof path, "%s/%s/%s.values", out, name, name);
    uint32_t *v = read_all(path, &vlen);
    uint32_t nb = (uint32_t)(blen / 8 - 1);
    ph_part_table t = {.seed = ph_part_table_seed(0), .nkeys = (uint32_t)(klen / 8),
                       .nbuckets = nb, .buckets = b, .nverts = vlen / 4, .assigned = v,
                       .key_size = 8};
    assert_int_equal(ph_part_base(&t, nb), t.nverts);
    ph_err err = {0};
    if (ph_part_verify64(&t, keys, t.nkeys, 2, &err))
        fail_msg("%s: %s", name, err.msg);
    fprintf(stderr, "%s: %u 64-bit keys, %u buckets: every key at its position\n", name,
            t.nkeys, nb);
    snprintf(path, sizeof path, "%s/%s/%s.h", out, name, name);
    char *h = hx_slurp(path);
    assert_non_null(h);
    assert_non_null(strstr(h, "uint64_t key"));
    free(h);
    free(keys);
    free(b);
    free(v);
}

static void big_key64_two_workers(void **state)
{
    (void)state;
    cluster_two_workers();
    big_files f;
    files_in(&f, "ids64.keys");
    write_keys64(f.keys, BIG64_KEYS, 7);
    client_ok(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.out, NULL));
    verify_table64(f.out, "ids64", f.keys);
    assert_int_equal(tmp_files(f.out), 0);
    status_all_groups_done();
    coord_log_has("partitioned table opened");
    assert_int_equal(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.local, "--local",
                               "--key-size", "8", "--threads", "2", NULL), 0);
    static const char *const files[] = {".values", ".buckets", ".c", ".h", "_data.S",
                                        "_test.c", "_bench.c", "/CMakeLists.txt"};
    same_files(f.out, f.local, "ids64", files, NFILES(files));
    /* One bulk job of a big 64-bit file and a big 32-bit file: each file
     * is partitioned with its own key size (from its name). */
    char dir[1024], bout[1024], k32[1100], k64[1100];
    hx_path_buf(dir, sizeof dir, "mixed");
    hx_path_buf(bout, sizeof bout, "bout");
    hx_mkdir(dir);
    snprintf(k32, sizeof k32, "%s/narrow.keys", dir);
    snprintf(k64, sizeof k64, "%s/wide64.keys", dir);
    hx_write_keys(k32, 1100000, 41, false);
    write_keys64(k64, 1100000, 43);
    client_ok(hx_client(HX_HANG_MS, "bulk-create", dir, "-o", bout, NULL));
    verify_table(bout, "narrow", k32);
    verify_table64(bout, "wide64", k64);
    char *log = hx_slurp(hx_path("coord.log"));
    assert_true(hx_count(log, "partitioned table opened") >= 3);
    free(log);
}

/* A 64-bit keys file whose length is not a multiple of 8: one line naming
 * the file, through create and through bulk-create; nothing written for it,
 * and the coordinator serves on. */
static void big_key64_bad_length(void **state)
{
    (void)state;
    cluster_up(&(big_cluster){.workers = 1});
    big_files f;
    files_in(&f, "odd64.keys");
    write_keys64(f.keys, (1u << 20) + 5, 3);
    FILE *kf = fopen(f.keys, "ab");
    assert_non_null(kf);
    assert_int_equal(fwrite("\1\2\3\4", 1, 4, kf), 4); /* 4 bytes too many */
    fclose(kf);
    int rc = hx_client(HX_HANG_MS, "create", f.keys, "-o", f.out, NULL);
    char *err = hx_client_err();
    client_refused("create", rc, EXIT_FAILED, err, "odd64.keys");
    assert_int_equal(hx_count(err, "\n"), 1);
    assert_non_null(strstr(err, "multiple of 8"));
    free(err);
    rc = hx_client(HX_HANG_MS, "bulk-create", f.in, "-o", f.out, NULL);
    err = hx_client_err();
    client_refused("bulk-create", rc, EXIT_FAILED, err, NULL);
    free(err);
    char *csv = hx_slurp(hx_path("out/results.csv"));
    assert_non_null(csv);
    fprintf(stderr, "results.csv:\n%s", csv);
    assert_non_null(strstr(csv, "odd64.keys"));
    assert_null(strstr(csv, ",ok"));
    free(csv);
    assert_false(hx_exists(hx_path("out/odd64")));
    /* The coordinator still serves. */
    assert_int_equal(hx_client(HX_HANG_MS, "status", NULL), 0);
}

/* A scripted worker answers the groups of a 64-bit table: the first
 * rightly (solved with the 64-bit bucket solver: the coordinator's 64-bit
 * check takes it), the second with one vertex value off.  The coordinator
 * finds the key whose index moved (named with all 16 hex digits), fails
 * the table, and leaves nothing of it. */
static void answer_group(fake_worker *f, bool lie)
{
    ph_msg m;
    zmq_msg_t fr;
    fake_recv(f, PH_MSG_PART_TASK, &m, &fr);
    const ph_msg_part_task *t = &m.u.part_task;
    assert_int_equal(t->key_size, 8);
    uint32_t ngroup = t->counts.n / 4, nk = t->positions.n / 4;
    assert_int_equal(t->keys.n, (size_t)nk * 8);
    uint32_t *counts = malloc((size_t)ngroup * 4), *pos = malloc((size_t)nk * 4 + 4);
    uint64_t *keys = malloc((size_t)nk * 8 + 8);
    assert_true(counts && pos && keys);
    memcpy(counts, t->counts.p, (size_t)ngroup * 4); /* little-endian host */
    memcpy(pos, t->positions.p, (size_t)nk * 4);
    memcpy(keys, t->keys.p, (size_t)nk * 8);
    ph_part_group g = {.table_seed = t->table_seed, .nkeys = t->nkeys, .nbuckets = t->nbuckets,
                       .bucket_lo = t->bucket_lo, .ngroup = ngroup, .counts = counts,
                       .keys = keys, .key_size = 8, .pos = pos};
    uint64_t nv = ph_part_group_nverts(&g), attempts;
    uint32_t *seeds = malloc((size_t)ngroup * 4), *vals = malloc((size_t)nv * 4 + 4), maxa;
    ph_err err = {0};
    assert_int_equal(ph_part_solve_group(&g, seeds, vals, &attempts, &maxa, &err), 0);
    if (lie) { /* the first key's first vertex value, one off */
        assert_true(counts[0] > 0);
        uint32_t u, v;
        ph_part_vertices(ph_part_mix(keys[0] ^ t->table_seed), seeds[0],
                         ph_part_bucket_nverts(counts[0]), &u, &v);
        vals[u] += 1;
    }
    ph_msg r = {.type = PH_MSG_PART_RESULT};
    r.u.part_result = (ph_msg_part_result){.job_id = t->job_id, .task_id = t->task_id,
                                           .group = t->group, .status = PH_OK,
                                           .error = ph_bytes_str(""), .numa_node = 7,
                                           .bucket_lo = t->bucket_lo,
                                           .seeds = {(const char *)seeds, ngroup * 4},
                                           .values = {(const char *)vals, (uint32_t)nv * 4},
                                           .attempts = attempts, .max_bucket_attempts = maxa};
    fake_send(f, &r);
    free(counts);
    free(pos);
    free(keys);
    free(seeds);
    free(vals);
    ph_msg_free(&m);
    zmq_msg_close(&fr);
}

static void big_key64_bad_group(void **state)
{
    (void)state;
    cluster_up(&(big_cluster){.workers = 0});
    fake_worker fw;
    fake_join(&fw, "liar", 1, 4);
    big_files f;
    files_in(&f, "lie64.keys");
    write_keys64(f.keys, 1100000, 5);
    char token[17];
    assert_true(hx_submit_bulk(f.in, f.out, token));
    answer_group(&fw, false);
    wait_parts_done(1); /* the right group was checked and counted */
    answer_group(&fw, true);
    int rc = hx_client(HX_HANG_MS, "wait", token, NULL);
    char *err = hx_client_err();
    const char *k = client_refused("wait", rc, EXIT_FAILED, err, "fail verification: key 0x");
    k += strlen("fail verification: key 0x");
    assert_int_equal(strspn(k, "0123456789abcdef"), 16); /* a 64-bit key */
    free(err);
    assert_false(hx_exists(hx_path("out/lie64")));
    assert_int_equal(tmp_files(f.out), 0);
    fake_close(&fw);
}

/* ---- --emit bin ------------------------------------------------------------- */

static int cmp_u64v(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* OUT/NAME/NAME.phc loads (every key checked by the loader), finds every
 * key of keys_path (ks bytes each) at its position, and rejects 1M keys
 * that are not members. */
static void check_phc_file(const char *out, const char *name, const char *keys_path,
                           unsigned ks)
{
    char phc[1200];
    snprintf(phc, sizeof phc, "%s/%s/%s.phc", out, name, name);
    size_t len;
    void *raw = read_all(keys_path, &len);
    uint32_t n = (uint32_t)(len / ks);
    uint64_t *sorted = malloc((size_t)n * 8);
    assert_non_null(sorted);
    for (uint32_t i = 0; i < n; i++)
        sorted[i] = ks == 8 ? ((uint64_t *)raw)[i] : ((uint32_t *)raw)[i];
    phc_table *t;
    phc_error e;
    if (phc_table_load(phc, PHC_LOAD_VERIFY, &t, &e) != 0)
        fail_msg("%s", e.msg);
    assert_int_equal(phc_table_count(t), n);
    assert_true(phc_table_has_keys(t));
    for (uint32_t i = 0; i < n; i++)
        if (phc_table_find(t, sorted[i]) != i)
            fail_msg("%s: key %u not found at its position", phc, i);
    qsort(sorted, n, 8, cmp_u64v);
    uint32_t rejected = 0;
    for (uint64_t i = 0; rejected < 1000000; i++) {
        uint64_t k = mix64(i ^ 0x5eed);
        if (ks == 4)
            k &= 0xffffffffu;
        if (bsearch(&k, sorted, n, 8, cmp_u64v))
            continue;
        if (phc_table_find(t, k) != PHC_NOT_FOUND)
            fail_msg("%s: non-member 0x%llx found", phc, (unsigned long long)k);
        rejected++;
    }
    fprintf(stderr, "%s: %u keys found, %u non-members rejected\n", phc, n, rejected);
    phc_table_free(t);
    free(sorted);
    free(raw);
}

/* --emit bin: NAME.phc alone (no C files, no data files, no temporary),
 * the bytes create --local --emit bin writes; --index-only leaves the keys
 * out the same way. */
static void big_emit_bin(void **state)
{
    (void)state;
    cluster_two_workers();
    big_files f;
    files_in(&f, "bin.keys");
    char iout[1024], ilocal[1024];
    hx_path_buf(iout, sizeof iout, "iout");
    hx_path_buf(ilocal, sizeof ilocal, "ilocal");
    hx_write_keys(f.keys, 1500000, 29, false);
    client_ok(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.out, "--emit", "bin", NULL));
    coord_log_has("partitioned table opened");
    static const char *const c_files[] = {".c", ".h", ".values", ".buckets", "_data.S"};
    for (size_t i = 0; i < NFILES(c_files); i++)
        assert_false(hx_exists(hx_path("out/bin/bin%s", c_files[i])));
    assert_int_equal(tmp_files(f.out), 0);
    check_phc_file(f.out, "bin", f.keys, 4);
    assert_int_equal(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.local, "--local",
                               "--emit", "bin", "--threads", "2", NULL), 0);
    static const char *const phc[] = {".phc"};
    same_files(f.out, f.local, "bin", phc, 1);

    assert_int_equal(hx_client(HX_HANG_MS, "create", f.keys, "-o", iout, "--emit", "bin",
                               "--index-only", NULL), 0);
    assert_int_equal(hx_client(HX_HANG_MS, "create", f.keys, "-o", ilocal, "--local",
                               "--emit", "bin", "--index-only", "--threads", "2", NULL), 0);
    same_files(iout, ilocal, "bin", phc, 1);
    phc_table *t;
    phc_error e;
    if (phc_table_load(hx_path("iout/bin/bin.phc"), 0, &t, &e) != 0)
        fail_msg("%s", e.msg);
    assert_false(phc_table_has_keys(t));
    phc_table_free(t);
}

/* --emit c,bin with 64-bit keys: the C files, the data files and NAME.phc,
 * each the bytes create --local --key-size 8 --emit c,bin writes. */
static void big_emit_c_bin64(void **state)
{
    (void)state;
    cluster_two_workers();
    big_files f;
    files_in(&f, "cb64.keys");
    write_keys64(f.keys, 1200000, 11);
    client_ok(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.out, "--emit", "c,bin", NULL));
    assert_int_equal(tmp_files(f.out), 0);
    verify_table64(f.out, "cb64", f.keys);
    check_phc_file(f.out, "cb64", f.keys, 8);
    assert_int_equal(hx_client(HX_HANG_MS, "create", f.keys, "-o", f.local, "--local",
                               "--emit", "c,bin", "--key-size", "8", "--threads", "2", NULL),
                     0);
    static const char *const files[] = {".phc", ".values", ".buckets", ".c", ".h", "_data.S",
                                        "_test.c", "_bench.c"};
    same_files(f.out, f.local, "cb64", files, NFILES(files));
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, hx_setup, hx_teardown)
    const struct CMUnitTest all[] = {
        T(big_create_two_workers),
        T(big_small_frames),
        T(big_buckets_over_group_bytes),
        T(big_worker_killed),
        T(big_group_timeout),
        T(big_coord_restart),
        T(big_coord_shutdown),
        T(big_values_restart),
        T(big_values_file_held),
        T(big_values_file_linked),
        T(big_coord_restart_bad_record),
        T(big_coord_restart_bad_values),
        T(big_restart_keys_gone),
        T(big_restart_keys_not_keys),
        T(big_restart_keys_gone_other_record),
        T(big_restart_cancelled),
        T(big_file_changed),
        T(big_duplicate_key),
        T(big_key64_two_workers),
        T(big_key64_bad_length),
        T(big_key64_bad_group),
        T(big_emit_bin),
        T(big_emit_c_bin64),
    };
    return hx_run_tests("test_big", "big", all, sizeof all / sizeof all[0], argc, argv);
}
