/* test_journal.c - the coordinator's append-only journal: round trip, torn
 * tails cut back, corruption stops the replay, errors name the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ph_crc.h"
#include "ph_journal.h"
#include "test_util.h"

typedef struct seen {
    int count;
    uint8_t types[64];
    uint32_t lens[64];
    char data[64][32];
} seen;

static int collect(void *ctx, uint8_t type, const void *data, uint32_t len)
{
    seen *s = ctx;
    if (s->count >= 64 || len >= 32)
        return -99;
    s->types[s->count] = type;
    s->lens[s->count] = len;
    memcpy(s->data[s->count], data, len);
    s->count++;
    return 0;
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void write_records(const char *path, int n)
{
    ph_journal *j;
    ph_err err;
    assert_int_equal(ph_journal_open(path, &j, &err), PH_OK);
    for (int i = 0; i < n; i++) {
        char buf[16];
        int len = snprintf(buf, sizeof buf, "rec-%d", i);
        assert_int_equal(ph_journal_append(j, (uint8_t)(i + 1), buf, (uint32_t)len, i == n - 1,
                                           &err), PH_OK);
    }
    ph_journal_close(j);
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *path = tu_at("rt");
    write_records(path, 10);
    write_records(path, 2); /* reopening appends */
    seen s = {0};
    uint64_t records = 0;
    ph_err err;
    assert_int_equal(ph_journal_replay(path, collect, &s, &records, &err), PH_OK);
    assert_int_equal(records, 12);
    assert_int_equal(s.count, 12);
    assert_int_equal(s.types[3], 4);
    assert_memory_equal(s.data[3], "rec-3", 5);
    assert_memory_equal(s.data[11], "rec-1", 5);
}

static void test_missing_is_empty(void **state)
{
    (void)state;
    const char *path = tu_at("missing");
    uint64_t records = 7;
    ph_err err;
    assert_int_equal(ph_journal_replay(path, collect, &(seen){0}, &records, &err), PH_OK);
    assert_int_equal(records, 0);
}

static void test_torn_tail_cut(void **state)
{
    (void)state;
    const char *path = tu_at("torn");
    write_records(path, 5);
    off_t whole = file_size(path);
    /* Tear the last record anywhere inside it: four good records survive. */
    for (off_t cut = whole - 1; cut > whole - 15; cut--) {
        write_records(path, 0);
        assert_int_equal(truncate(path, cut), 0);
        seen s = {0};
        ph_err err;
        assert_int_equal(ph_journal_replay(path, collect, &s, NULL, &err), PH_OK);
        assert_int_equal(s.count, 4);
        assert_true(file_size(path) < cut || cut == file_size(path));
        /* Appending after the cut yields whole records again. */
        write_records(path, 1);
        seen again = {0};
        assert_int_equal(ph_journal_replay(path, collect, &again, NULL, &err), PH_OK);
        assert_int_equal(again.count, 5);
        assert_memory_equal(again.data[4], "rec-0", 5);
        unlink(path);
        write_records(path, 5);
    }
}

static void test_corruption_stops(void **state)
{
    (void)state;
    const char *path = tu_at("corrupt");
    write_records(path, 6);
    /* Flip one data byte of the third record (each is 10 + 5 bytes). */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 2 * 15 + 12, SEEK_SET), 0);
    fputc('X', f);
    fclose(f);
    seen s = {0};
    ph_err err;
    assert_int_equal(ph_journal_replay(path, collect, &s, NULL, &err), PH_OK);
    assert_int_equal(s.count, 2);
    assert_int_equal(file_size(path), 30);
}

static void test_callback_error_returned(void **state)
{
    (void)state;
    const char *path = tu_at("cb");
    ph_journal *j;
    ph_err err;
    assert_int_equal(ph_journal_open(path, &j, &err), PH_OK);
    char big[40] = {0};
    assert_int_equal(ph_journal_append(j, 1, big, sizeof big, true, &err), PH_OK);
    ph_journal_close(j);
    assert_int_equal(ph_journal_replay(path, collect, &(seen){0}, NULL, &err), -99);
}

static void test_open_error_names_file(void **state)
{
    (void)state;
    ph_journal *j;
    ph_err err = {0};
    assert_int_equal(ph_journal_open("/nonexistent-dir/x/journal", &j, &err), PH_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x/journal"));
    assert_null(j);
}

/* A record cut short by a full disk (here: RLIMIT_FSIZE in a child) is
 * undone, so a later record still replays after it. */
static void test_failed_append_undone(void **state)
{
    (void)state;
    const char *path = tu_at("full");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {40, 40};
        ph_journal *j;
        ph_err err;
        if (setrlimit(RLIMIT_FSIZE, &rl) || ph_journal_open(path, &j, &err))
            _exit(10);
        char big[28] = {0};
        if (ph_journal_append(j, 1, "first", 5, true, &err))       /* 15 bytes */
            _exit(11);
        if (ph_journal_append(j, 2, big, sizeof big, true, &err) != PH_EIO) /* 38: cut */
            _exit(12);
        if (ph_journal_append(j, 3, "third", 5, true, &err))       /* fits again */
            _exit(13);
        ph_journal_close(j);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    seen s = {0};
    ph_err err;
    assert_int_equal(ph_journal_replay(path, collect, &s, NULL, &err), PH_OK);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.types[1], 3);
    assert_memory_equal(s.data[1], "third", 5);
}

static void test_crc32c_known_value(void **state)
{
    (void)state;
    /* The standard check value of CRC-32C. */
    assert_int_equal(ph_crc32c(0, "123456789", 9), 0xe3069283u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_missing_is_empty),
        cmocka_unit_test(test_torn_tail_cut),
        cmocka_unit_test(test_corruption_stops),
        cmocka_unit_test(test_callback_error_returned),
        cmocka_unit_test(test_open_error_names_file),
        cmocka_unit_test(test_failed_append_undone),
        cmocka_unit_test(test_crc32c_known_value),
    };
    return cmocka_run_group_tests(tests, tu_setup, tu_teardown);
}
