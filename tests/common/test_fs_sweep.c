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
#include "test_util.h"

static void touch(const char *rel) { tu_write_text(tu_at(rel), ""); }

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
    ph_err err;
    assert_int_equal(ph_fs_mkdirs(tu_at("t1/deeper"), &err), PH_OK);
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
    assert_int_equal(ph_fs_sweep_stale_tmp(tu_dir(), 1, &removed, &err), PH_OK);
    assert_int_equal(removed, 2);
    snprintf(name, sizeof name, "results.csv.tmp.%ld.3", dead);
    assert_false(tu_exists(name));
    snprintf(name, sizeof name, "t1/t1.c.tmp.%ld.7", dead);
    assert_false(tu_exists(name));
    snprintf(name, sizeof name, "t1/deeper/x.c.tmp.%ld.7", dead);
    assert_true(tu_exists(name));
    snprintf(name, sizeof name, "t1/t1.h.tmp.%ld.8", (long)getpid());
    assert_true(tu_exists(name));
    assert_true(tu_exists("t1/t1.c"));
    assert_true(tu_exists("t1/notes.tmp.txt"));
    assert_true(tu_exists("t1/y.tmp.12x.1"));
    /* A missing dir is nothing to sweep. */
    assert_int_equal(ph_fs_sweep_stale_tmp("/nonexistent-ph-sweep", 1, NULL, &err), PH_OK);
}

/* Links in the swept tree: a link to a directory elsewhere (holding a stale
 * temporary of its own), a link named like a stale temporary pointing at a
 * file elsewhere, and the swept directory itself reached through a link.
 * Nothing outside is touched and no link is removed; the sweep through a
 * directory fd removes the real stale temporaries beside them. */
static void test_sweep_links(void **state)
{
    (void)state;
    ph_err err;
    assert_int_equal(ph_fs_mkdirs(tu_at("out/t1"), &err), PH_OK);
    assert_int_equal(ph_fs_mkdirs(tu_at("elsewhere"), &err), PH_OK);
    long dead = dead_pid();
    char name[128], victim[128], bait[128];
    snprintf(victim, sizeof victim, "elsewhere/v.c.tmp.%ld.1", dead);
    touch(victim);
    touch("elsewhere/precious");
    /* out/t2 -> ../elsewhere (a directory), out/t1/t1.h.tmp.DEAD.2 -> a file */
    assert_int_equal(symlink(tu_at("elsewhere"), tu_at("out/t2")), 0);
    snprintf(bait, sizeof bait, "out/t1/t1.h.tmp.%ld.2", dead);
    assert_int_equal(symlink(tu_at("elsewhere/precious"), tu_at(bait)), 0);
    /* the real stale ones */
    snprintf(name, sizeof name, "out/results.csv.tmp.%ld.3", dead);
    touch(name);
    char real[128];
    snprintf(real, sizeof real, "out/t1/t1.c.tmp.%ld.4", dead);
    touch(real);

    int fd = open(tu_at("out"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    unsigned long removed = 0;
    assert_int_equal(ph_fs_sweep_stale_tmp_at(fd, tu_at("out"), 2, &removed, &err), PH_OK);
    close(fd);
    assert_int_equal(removed, 2);
    assert_false(tu_exists(name));
    assert_false(tu_exists(real));
    assert_true(tu_exists(victim));            /* not reached through out/t2 */
    assert_true(tu_exists("elsewhere/precious"));
    struct stat st;
    assert_int_equal(lstat(tu_at(bait), &st), 0); /* the link itself is left */
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(tu_at("out/t2"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* The path form refuses a swept directory reached through a link. */
    assert_int_equal(symlink(tu_at("elsewhere"), tu_at("link-to-elsewhere")), 0);
    removed = 0;
    assert_int_equal(ph_fs_sweep_stale_tmp(tu_at("link-to-elsewhere"), 1, &removed, &err),
                     PH_EPERM);
    assert_non_null(strstr(err.msg, "is a symbolic link"));
    assert_int_equal(removed, 0);
    assert_true(tu_exists(victim));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sweep, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(test_sweep_links, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
