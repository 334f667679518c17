/* test_fs_sweep.c - a restarted coordinator removes the temp files a killed
 * process left, and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ph_fs.h"

static char base[64];

static void touch(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
}

static int exists(const char *rel)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", base, rel);
    return stat(p, &st) == 0;
}

static long dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return (long)pid;
}

static void test_sweep(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "/tmp/ph-sweep-%d", (int)getpid());
    char p[256];
    ph_err err;
    snprintf(p, sizeof p, "%s/t1/deeper", base);
    assert_int_equal(ph_fs_mkdirs(p, &err), PH_OK);
    long dead = dead_pid();
    char name[128];
    snprintf(name, sizeof name, "results.csv.tmp.%ld.3", dead);
    touch(name);
    snprintf(name, sizeof name, "t1/t1.c.tmp.%ld.7", dead);
    touch(name);
    snprintf(name, sizeof name, "t1/deeper/x.c.tmp.%ld.7", dead); /* below depth */
    touch(name);
    snprintf(name, sizeof name, "t1/t1.h.tmp.%ld.8", (long)getpid()); /* alive: ours */
    touch(name);
    touch("t1/t1.c");
    touch("t1/notes.tmp.txt");
    touch("t1/y.tmp.12x.1");
    unsigned long removed = 0;
    assert_int_equal(ph_fs_sweep_stale_tmp(base, 1, &removed, &err), PH_OK);
    assert_int_equal(removed, 2);
    snprintf(name, sizeof name, "results.csv.tmp.%ld.3", dead);
    assert_false(exists(name));
    snprintf(name, sizeof name, "t1/t1.c.tmp.%ld.7", dead);
    assert_false(exists(name));
    snprintf(name, sizeof name, "t1/deeper/x.c.tmp.%ld.7", dead);
    assert_true(exists(name));
    snprintf(name, sizeof name, "t1/t1.h.tmp.%ld.8", (long)getpid());
    assert_true(exists(name));
    assert_true(exists("t1/t1.c"));
    assert_true(exists("t1/notes.tmp.txt"));
    assert_true(exists("t1/y.tmp.12x.1"));
    /* A missing dir is nothing to sweep. */
    assert_int_equal(ph_fs_sweep_stale_tmp("/nonexistent-ph-sweep", 1, NULL, &err), PH_OK);
    snprintf(p, sizeof p, "rm -rf '%s'", base);
    assert_int_equal(system(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sweep)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
