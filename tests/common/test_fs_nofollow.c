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

static char root[256];

static const char *at(const char *name)
{
    static char buf[4][512];
    static int i;
    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", root, name);
    return buf[i];
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/ph-nofollow-XXXXXX");
    assert_non_null(mkdtemp(root));
    assert_int_equal(mkdir(at("in"), 0755), 0);
    assert_int_equal(mkdir(at("away"), 0755), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static void open_dir_creates_and_refuses_links(void **state)
{
    (void)state;
    int fd;
    ph_err err = {0};
    assert_int_equal(ph_fs_open_dir(at("in/a/b/c"), 1, &fd, &err), 0);
    close(fd);
    assert_true(exists(at("in/a/b/c")));
    assert_int_equal(symlink(at("away"), at("in/a/link")), 0);
    assert_int_equal(ph_fs_open_dir(at("in/a/link/x"), 1, &fd, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "'link' is a symbolic link"));
    assert_false(exists(at("away/x")));
    /* Without create a missing component is an error, not a mkdir. */
    assert_int_not_equal(ph_fs_open_dir(at("in/none"), 0, &fd, &err), 0);
    assert_false(exists(at("in/none")));
    /* ".." is refused in the relative walk. */
    int base = open(at("in"), O_RDONLY | O_DIRECTORY);
    assert_true(base >= 0);
    assert_int_equal(ph_fs_open_dir_at(base, "a/../../away", 0, "x", &fd, &err), PH_EINVAL);
    close(base);
}

static void write_at_refuses_link_and_tmp_link(void **state)
{
    (void)state;
    ph_err err = {0};
    int dfd = open(at("in"), O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(ph_fs_write_atomic_at(dfd, "f", "in/f", "abc", 3, 0, &err), 0);
    assert_true(exists(at("in/f")));
    assert_int_equal(symlink(at("away/g"), at("in/g")), 0);
    assert_int_equal(ph_fs_write_atomic_at(dfd, "g", "in/g", "abc", 3, 0, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "in/g"));
    assert_false(exists(at("away/g")));
    /* The next temporary names are links: the write is refused. */
    char tmp[256], link[512];
    ph_err e2 = {0};
    assert_int_equal(ph_fs_tmp_name(tmp, sizeof tmp, "h", &e2), 0);
    long pid;
    unsigned n;
    assert_int_equal(sscanf(tmp, "h.tmp.%ld.%u", &pid, &n), 2);
    for (unsigned k = n + 1; k < n + 4; k++) {
        snprintf(link, sizeof link, "%s/h.tmp.%ld.%u", at("in"), pid, k);
        assert_int_equal(symlink(at("away/h"), link), 0);
    }
    assert_int_equal(ph_fs_write_atomic_at(dfd, "h", "in/h", "abc", 3, 0, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_false(exists(at("away/h")));
    assert_false(exists(at("in/h")));
    /* Names that are not plain are refused. */
    assert_int_equal(ph_fs_write_atomic_at(dfd, "../x", "x", "a", 1, 0, &err), PH_EINVAL);
    close(dfd);
    /* The path form refuses a link as its last component too. */
    assert_int_equal(ph_fs_write_atomic(at("in/g"), "abc", 3, 0, &err), PH_EPERM);
    assert_false(exists(at("away/g")));
}

static void journal_refuses_link(void **state)
{
    (void)state;
    ph_err err = {0};
    assert_int_equal(symlink(at("away/journal"), at("in/journal")), 0);
    ph_journal *j = NULL;
    assert_int_equal(ph_journal_open(at("in/journal"), &j, &err), PH_EPERM);
    assert_null(j);
    assert_non_null(strstr(err.msg, "symbolic link"));
    assert_int_equal(ph_journal_replay(at("in/journal"), NULL, NULL, NULL, &err), PH_EPERM);
    assert_false(exists(at("away/journal")));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_dir_creates_and_refuses_links, setup, teardown),
        cmocka_unit_test_setup_teardown(write_at_refuses_link_and_tmp_link, setup, teardown),
        cmocka_unit_test_setup_teardown(journal_refuses_link, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
