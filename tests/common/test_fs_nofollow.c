/* test_fs_nofollow.c - writes below a directory never follow a link:
 * ph_fs_open_dir, ph_fs_write_atomic_at, ph_fs_write_atomic, journal. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ph_fs.h"
#include "ph_journal.h"
#include "test_util.h"

static int setup(void **state)
{
    if (tu_setup(state))
        return -1;
    tu_mkdir("in");
    tu_mkdir("away");
    return 0;
}

static void open_dir_creates_and_refuses_links(void **state)
{
    (void)state;
    int fd;
    ph_err err = {0};
    assert_int_equal(ph_fs_open_dir(tu_at("in/a/b/c"), 1, &fd, &err), 0);
    close(fd);
    assert_true(tu_exists("in/a/b/c"));
    assert_int_equal(symlink(tu_at("away"), tu_at("in/a/link")), 0);
    assert_int_equal(ph_fs_open_dir(tu_at("in/a/link/x"), 1, &fd, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "'link' is a symbolic link"));
    assert_false(tu_exists("away/x"));
    /* Without create a missing component is an error, not a mkdir. */
    assert_int_not_equal(ph_fs_open_dir(tu_at("in/none"), 0, &fd, &err), 0);
    assert_false(tu_exists("in/none"));
    /* ".." is refused in the relative walk. */
    int base = open(tu_at("in"), O_RDONLY | O_DIRECTORY);
    assert_true(base >= 0);
    assert_int_equal(ph_fs_open_dir_at(base, "a/../../away", 0, "x", &fd, &err), PH_EINVAL);
    close(base);
}

static void write_at_refuses_link_and_tmp_link(void **state)
{
    (void)state;
    ph_err err = {0};
    int dfd = open(tu_at("in"), O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(ph_fs_write_atomic_at(dfd, "f", "in/f", "abc", 3, 0, &err), 0);
    assert_true(tu_exists("in/f"));
    assert_int_equal(symlink(tu_at("away/g"), tu_at("in/g")), 0);
    assert_int_equal(ph_fs_write_atomic_at(dfd, "g", "in/g", "abc", 3, 0, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "in/g"));
    assert_false(tu_exists("away/g"));
    /* The next temporary names are links: the write is refused. */
    char tmp[256];
    ph_err e2 = {0};
    assert_int_equal(ph_fs_tmp_name(tmp, sizeof tmp, "h", &e2), 0);
    long pid;
    unsigned n;
    assert_int_equal(sscanf(tmp, "h.tmp.%ld.%u", &pid, &n), 2);
    for (unsigned k = n + 1; k < n + 4; k++)
        assert_int_equal(symlink(tu_at("away/h"), tu_atf("in/h.tmp.%ld.%u", pid, k)), 0);
    assert_int_equal(ph_fs_write_atomic_at(dfd, "h", "in/h", "abc", 3, 0, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_false(tu_exists("away/h"));
    assert_false(tu_exists("in/h"));
    /* Names that are not plain are refused. */
    assert_int_equal(ph_fs_write_atomic_at(dfd, "../x", "x", "a", 1, 0, &err), PH_EINVAL);
    close(dfd);
    /* The path form refuses a link as its last component too. */
    assert_int_equal(ph_fs_write_atomic(tu_at("in/g"), "abc", 3, 0, &err), PH_EPERM);
    assert_false(tu_exists("away/g"));
}

static void journal_refuses_link(void **state)
{
    (void)state;
    ph_err err = {0};
    assert_int_equal(symlink(tu_at("away/journal"), tu_at("in/journal")), 0);
    ph_journal *j = NULL;
    assert_int_equal(ph_journal_open(tu_at("in/journal"), &j, &err), PH_EPERM);
    assert_null(j);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(ph_journal_replay(tu_at("in/journal"), NULL, NULL, NULL, &err), PH_EPERM);
    assert_false(tu_exists("away/journal"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_dir_creates_and_refuses_links, setup, tu_teardown),
        cmocka_unit_test_setup_teardown(write_at_refuses_link_and_tmp_link, setup, tu_teardown),
        cmocka_unit_test_setup_teardown(journal_refuses_link, setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
