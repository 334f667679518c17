/* test_fs_sweep.c - a restarted coordinator removes the temp files a killed
 * process left, and nothing else; links planted in the output lead the sweep
 * nowhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
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

/* Links in the swept tree: a link to a directory elsewhere (holding a stale
 * temporary of its own), a link named like a stale temporary pointing at a
 * file elsewhere, and the swept directory itself reached through a link.
 * Nothing outside is touched and no link is removed; the sweep through a
 * directory fd removes the real stale temporaries beside them. */
static void test_sweep_links(void **state)
{
    (void)state;
    snprintf(base, sizeof base, "/tmp/ph-sweepl-%d", (int)getpid());
    char p[256], q[256];
    ph_err err;
    snprintf(p, sizeof p, "%s/out/t1", base);
    assert_int_equal(ph_fs_mkdirs(p, &err), PH_OK);
    snprintf(p, sizeof p, "%s/elsewhere", base);
    assert_int_equal(ph_fs_mkdirs(p, &err), PH_OK);
    long dead = dead_pid();
    char name[128], victim[128], bait[128];
    snprintf(victim, sizeof victim, "elsewhere/v.c.tmp.%ld.1", dead);
    touch(victim);
    touch("elsewhere/precious");
    /* out/t2 -> ../elsewhere (a directory), out/t1/t1.h.tmp.DEAD.2 -> a file */
    snprintf(p, sizeof p, "%s/out/t2", base);
    snprintf(q, sizeof q, "%s/elsewhere", base);
    assert_int_equal(symlink(q, p), 0);
    snprintf(bait, sizeof bait, "out/t1/t1.h.tmp.%ld.2", dead);
    snprintf(p, sizeof p, "%s/%s", base, bait);
    snprintf(q, sizeof q, "%s/elsewhere/precious", base);
    assert_int_equal(symlink(q, p), 0);
    /* the real stale ones */
    snprintf(name, sizeof name, "out/results.csv.tmp.%ld.3", dead);
    touch(name);
    char real[128];
    snprintf(real, sizeof real, "out/t1/t1.c.tmp.%ld.4", dead);
    touch(real);

    snprintf(p, sizeof p, "%s/out", base);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    unsigned long removed = 0;
    assert_int_equal(ph_fs_sweep_stale_tmp_at(fd, p, 2, &removed, &err), PH_OK);
    close(fd);
    assert_int_equal(removed, 2);
    assert_false(exists(name));
    assert_false(exists(real));
    assert_true(exists(victim));            /* not reached through out/t2 */
    assert_true(exists("elsewhere/precious"));
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", base, bait);
    assert_int_equal(lstat(p, &st), 0);      /* the link itself is left */
    assert_true(S_ISLNK(st.st_mode));
    snprintf(p, sizeof p, "%s/out/t2", base);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* The path form refuses a swept directory reached through a link. */
    snprintf(p, sizeof p, "%s/link-to-elsewhere", base);
    snprintf(q, sizeof q, "%s/elsewhere", base);
    assert_int_equal(symlink(q, p), 0);
    removed = 0;
    assert_int_equal(ph_fs_sweep_stale_tmp(p, 1, &removed, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "is a symbolic link"));
    assert_int_equal(removed, 0);
    assert_true(exists(victim));
    snprintf(p, sizeof p, "rm -rf '%s'", base);
    assert_int_equal(system(p), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sweep),
                                       cmocka_unit_test(test_sweep_links)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
