/* test_lograte.c - the log budget of peer events: a few lines per (event,
 * peer) and window, one count of the rest, a table that more peers cannot
 * grow, and a log that stays bounded however many events come. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ph_lograte.h"

static FILE *capture; /* stderr goes here while a test runs */
static int saved_stderr = -1;

static int setup(void **state)
{
    (void)state;
    fflush(stderr);
    capture = tmpfile();
    if (!capture)
        return -1;
    saved_stderr = dup(2);
    if (saved_stderr < 0 || dup2(fileno(capture), 2) < 0)
        return -1;
    ph_log_set_level(PH_LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    fclose(capture);
    return 0;
}

/* Everything logged so far (malloc'd). */
static char *logged(void)
{
    fflush(stderr);
    long n = lseek(fileno(capture), 0, SEEK_END);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(pread(fileno(capture), s, (size_t)n, 0), n);
    return s;
}

static int count(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub))
        n++;
    return n;
}

static void test_burst_then_count(void **state)
{
    (void)state;
    ph_lograte *r;
    ph_err err = {0};
    assert_int_equal(ph_lograte_new("test", 5, 60000, &r, &err), 0);
    int allowed = 0;
    for (int i = 0; i < 100000; i++)
        allowed += ph_lograte_allow(r, "ready", "w1", 2, PH_LOG_INFO, 1000 + (uint64_t)i / 100);
    assert_int_equal(allowed, 5);
    /* Another peer and another event have budgets of their own. */
    assert_true(ph_lograte_allow(r, "ready", "w2", 2, PH_LOG_INFO, 1500));
    assert_true(ph_lograte_allow(r, "bad-frame", "w1", 2, PH_LOG_WARN, 1500));
    assert_int_equal(ph_lograte_suppressed(r), 100000 - 5);
    char *s = logged();
    assert_int_equal(count(s, "\n"), 1); /* the notice; the count comes at the end */
    assert_non_null(strstr(s, "peer=w1 event=ready burst=5"));
    free(s);
    ph_lograte_free(r);
    s = logged();
    assert_non_null(strstr(s, "level=info component=test peer=w1 event=ready "
                              "suppressed=99995 window_ms=60000"));
    assert_int_equal(count(s, "suppressed="), 1);
    free(s);
}

static void test_window_ends(void **state)
{
    (void)state;
    ph_lograte *r;
    ph_err err = {0};
    assert_int_equal(ph_lograte_new("test", 2, 1000, &r, &err), 0);
    for (int i = 0; i < 10; i++)
        ph_lograte_allow(r, "ready", "\x01\x02", 2, PH_LOG_WARN, 5000);
    ph_lograte_tick(r, 5500); /* window not over: nothing yet */
    char *s = logged();
    assert_int_equal(count(s, "suppressed="), 0);
    free(s);
    ph_lograte_tick(r, 7000);
    s = logged();
    /* Binary identities are named in hex. */
    assert_non_null(strstr(s, "level=warn component=test peer=0102 event=ready suppressed=8"));
    free(s);
    /* A new window: a fresh budget. */
    assert_true(ph_lograte_allow(r, "ready", "\x01\x02", 2, PH_LOG_WARN, 7001));
    assert_true(ph_lograte_allow(r, "ready", "\x01\x02", 2, PH_LOG_WARN, 7002));
    assert_false(ph_lograte_allow(r, "ready", "\x01\x02", 2, PH_LOG_WARN, 7003));
    /* Not ticked: the next event after the window gives the count. */
    assert_true(ph_lograte_allow(r, "ready", "\x01\x02", 2, PH_LOG_WARN, 9000));
    s = logged();
    assert_int_equal(count(s, "suppressed=1 "), 1);
    free(s);
    ph_lograte_free(r);
}

/* A peer with a new identity for every frame: the table does not grow
 * (fixed at creation) and the log stays bounded. */
static void test_many_identities(void **state)
{
    (void)state;
    ph_lograte *r;
    ph_err err = {0};
    assert_int_equal(ph_lograte_new("test", 5, 60000, &r, &err), 0);
    int allowed = 0;
    for (uint32_t i = 0; i < 500000; i++)
        allowed += ph_lograte_allow(r, "ready", &i, sizeof i, PH_LOG_INFO, 100);
    assert_true(allowed <= PH_LOGRATE_SLOTS + PH_LOGRATE_BURST);
    assert_true(allowed >= PH_LOGRATE_SLOTS / 2); /* the table is used */
    ph_lograte_free(r);
    char *s = logged();
    /* The untracked identities share one slot: one count for all. */
    assert_non_null(strstr(s, "peer=* event=ready suppressed="));
    assert_true(count(s, "\n") <= 2 * (PH_LOGRATE_SLOTS + PH_LOGRATE_SHARED));
    fprintf(stdout, "500000 identities: %d allowed, %ld bytes of log\n", allowed,
            (long)strlen(s));
    free(s);
}

static void test_level_off_not_counted(void **state)
{
    (void)state;
    ph_lograte *r;
    ph_err err = {0};
    assert_int_equal(ph_lograte_new("test", 1, 0, &r, &err), 0);
    ph_log_set_level(PH_LOG_WARN);
    for (int i = 0; i < 10; i++)
        assert_false(ph_lograte_allow(r, "ready", "w", 1, PH_LOG_INFO, 1));
    assert_int_equal(ph_lograte_suppressed(r), 0);
    ph_log_set_level(PH_LOG_INFO);
    assert_true(ph_lograte_allow(r, "ready", "w", 1, PH_LOG_INFO, 2));
    ph_lograte_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_then_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_identities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_level_off_not_counted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
