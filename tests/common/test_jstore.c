/* test_jstore.c - snapshot plus log: compaction keeps exactly the live
 * state, a compaction stopped after any of its steps (as a crash would stop
 * it) loses nothing and applies nothing twice, and a damaged snapshot is
 * refused with an error naming it while every file stays in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_jstore_int.h"
#include "test_util.h"

typedef struct seen {
    int count;
    char recs[32][16]; /* "T:data" */
} seen;

static int collect(void *ctx, uint8_t type, const void *data, uint32_t len)
{
    seen *s = ctx;
    if (s->count >= 32 || len > 12)
        return -99;
    snprintf(s->recs[s->count++], 16, "%u:%.*s", type, (int)len, (const char *)data);
    return 0;
}

static ph_jstore *open_store(seen *s, ph_jstore_info *info)
{
    ph_jstore *st = NULL;
    ph_err err = {0};
    memset(s, 0, sizeof *s);
    int rc = ph_jstore_open(tu_dir(), collect, s, &st, info, &err);
    if (rc)
        fail_msg("open: %s", err.msg);
    return st;
}

static void append(ph_jstore *st, uint8_t type, const char *text)
{
    ph_err err;
    assert_int_equal(ph_jstore_append(st, type, text, (uint32_t)strlen(text), true, &err),
                     PH_OK);
}

static ph_jsnap *snapshot_of(ph_jstore *st, const char *const *recs, int n)
{
    ph_jsnap *snap;
    ph_err err;
    assert_int_equal(ph_jstore_snapshot_begin(st, &snap, &err), PH_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(ph_jsnap_put(snap, 7, recs[i], (uint32_t)strlen(recs[i]), &err),
                         PH_OK);
    return snap;
}

/* Log A B C; a snapshot S1 S2 standing for them. */
static ph_jstore *three_records(void)
{
    seen s;
    ph_jstore *st = open_store(&s, NULL);
    assert_int_equal(s.count, 0);
    append(st, 1, "A");
    append(st, 1, "B");
    append(st, 2, "C");
    return st;
}

static const char *const snap_recs[] = {"S1", "S2"};

static void test_round_trip_and_compact(void **state)
{
    (void)state;
    ph_jstore *st = three_records();
    ph_err err;
    ph_jsnap *snap = snapshot_of(st, snap_recs, 2);
    assert_int_equal(ph_jstore_snapshot_commit(st, snap, &err), PH_OK);
    assert_int_equal(ph_jstore_generation(st), 1);
    assert_int_equal(ph_jstore_log_bytes(st), 0);
    assert_true(ph_jstore_snapshot_bytes(st) > 0);
    append(st, 3, "D");
    ph_jstore_close(st);
    assert_false(tu_exists("journal"));
    assert_true(tu_exists("journal.1"));

    seen s;
    ph_jstore_info info;
    st = open_store(&s, &info);
    assert_int_equal(s.count, 3);
    assert_string_equal(s.recs[0], "7:S1");
    assert_string_equal(s.recs[1], "7:S2");
    assert_string_equal(s.recs[2], "3:D");
    assert_int_equal(info.generation, 1);
    assert_int_equal(info.snapshot_records, 2);
    assert_int_equal(info.log_records, 1);

    /* A second compaction: generation 2, journal.1 gone. */
    const char *const two[] = {"S3"};
    snap = snapshot_of(st, two, 1);
    assert_int_equal(ph_jstore_snapshot_commit(st, snap, &err), PH_OK);
    ph_jstore_close(st);
    assert_false(tu_exists("journal.1"));
    st = open_store(&s, &info);
    assert_int_equal(info.generation, 2);
    assert_int_equal(s.count, 1);
    assert_string_equal(s.recs[0], "7:S3");
    ph_jstore_close(st);
}

/* Stop after step, drop the store as a crash would, reopen: the state is
 * the old log (before the rename) or the snapshot (after), never both. */
static void crash_after(int step)
{
    ph_jstore *st = three_records();
    ph_err err;
    ph_jsnap *snap = snapshot_of(st, snap_recs, 2);
    assert_int_equal(ph_jstore_commit_until(st, snap, step, &err), PH_OK);
    ph_jstore_crash(st);

    seen s;
    ph_jstore_info info;
    st = open_store(&s, &info);
    if (step < PH_JSTORE_STEP_RENAME) {
        assert_int_equal(info.generation, 0);
        assert_int_equal(s.count, 3);
        assert_string_equal(s.recs[0], "1:A");
        assert_string_equal(s.recs[2], "2:C");
        assert_false(tu_exists("snapshot"));
        assert_false(tu_exists("journal.1"));
    } else {
        assert_int_equal(info.generation, 1);
        assert_int_equal(s.count, 2);
        assert_string_equal(s.recs[0], "7:S1");
        assert_string_equal(s.recs[1], "7:S2");
        assert_false(tu_exists("journal"));
    }
    assert_false(tu_exists("snapshot.tmp"));
    static const unsigned long stale[] = {0, 1, 2, 1, 0}; /* tmp; tmp + new log; old log */
    assert_int_equal(info.stale_removed, stale[step]);

    /* The reopened store appends where its next open reads. */
    append(st, 4, "E");
    ph_jstore_close(st);
    st = open_store(&s, &info);
    assert_int_equal(s.count, step < PH_JSTORE_STEP_RENAME ? 4 : 3);
    assert_string_equal(s.recs[s.count - 1], "4:E");
    ph_jstore_close(st);
}

static void test_crash_after_snapshot(void **state) { (void)state; crash_after(1); }
static void test_crash_after_newlog(void **state) { (void)state; crash_after(2); }
static void test_crash_after_rename(void **state) { (void)state; crash_after(3); }
static void test_crash_after_all(void **state) { (void)state; crash_after(4); }

/* A compaction given up before commit leaves the old state in use. */
static void test_abort(void **state)
{
    (void)state;
    ph_jstore *st = three_records();
    ph_jsnap *snap = snapshot_of(st, snap_recs, 2);
    ph_jstore_snapshot_abort(st, snap);
    assert_false(tu_exists("snapshot.tmp"));
    append(st, 5, "F");
    ph_jstore_close(st);
    seen s;
    st = open_store(&s, NULL);
    assert_int_equal(s.count, 4);
    assert_string_equal(s.recs[3], "5:F");
    ph_jstore_close(st);
}

static void compacted_store(void)
{
    ph_jstore *st = three_records();
    ph_err err;
    ph_jsnap *snap = snapshot_of(st, snap_recs, 2);
    assert_int_equal(ph_jstore_snapshot_commit(st, snap, &err), PH_OK);
    append(st, 3, "D");
    ph_jstore_close(st);
}

static void expect_refused(void)
{
    ph_jstore *st = NULL;
    ph_err err = {0};
    seen s = {0};
    assert_int_not_equal(ph_jstore_open(tu_dir(), collect, &s, &st, NULL, &err), PH_OK);
    assert_null(st);
    assert_non_null(strstr(err.msg, "/snapshot"));
    assert_null(strchr(err.msg, '\n'));
    /* Nothing removed: the operator can still inspect or restore. */
    assert_true(tu_exists("snapshot"));
    assert_true(tu_exists("journal.1"));
}

static void test_corrupt_byte(void **state)
{
    (void)state;
    compacted_store();
    const char *p = tu_at("snapshot");
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, 30), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, 30), 1);
    close(fd);
    expect_refused();
}

static void test_truncated(void **state)
{
    (void)state;
    compacted_store();
    const char *p = tu_at("snapshot");
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    /* Cut exactly the end record (10-byte frame + 8 bytes): every record
     * left is whole, only the end marker tells the file is short. */
    assert_int_equal(truncate(p, st.st_size - 18), 0);
    expect_refused();
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    compacted_store();
    const char *p = tu_at("snapshot");
    FILE *f = fopen(p, "ab");
    assert_non_null(f);
    fputs("junk", f);
    fclose(f);
    expect_refused();
}

static void test_reserved_types(void **state)
{
    (void)state;
    seen s;
    ph_jstore *st = open_store(&s, NULL);
    ph_err err;
    assert_int_equal(ph_jstore_append(st, 0, "x", 1, false, &err), PH_EINVAL);
    assert_int_equal(ph_jstore_append(st, 255, "x", 1, false, &err), PH_EINVAL);
    ph_jstore_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_compact, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_snapshot, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_newlog, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_rename, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_crash_after_all, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_abort, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_byte, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_truncated, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_trailing_garbage, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_reserved_types, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
