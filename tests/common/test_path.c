/* test_path.c - --allow-root confinement: what resolves inside a root is
 * accepted, every way out (.., symlinks, prefix look-alikes) is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ph_path.h"
#include "test_util.h"

/* The scratch directory holds root/in, root2 (a prefix look-alike of
 * root) and root/escape, a link to /etc. */
static int setup(void **state)
{
    if (tu_setup(state))
        return -1;
    tu_mkdir("root");
    tu_mkdir("root/in");
    tu_mkdir("root2");
    return symlink("/etc", tu_at("root/escape")) ? -1 : 0;
}

static int check(const char *rel, char *resolved, ph_err *err)
{
    const char *roots[] = {"/nonexistent-root-for-test", tu_at("root")};
    return ph_path_check_roots(tu_at(rel), roots, 2, resolved, PATH_MAX, err);
}

static void test_inside_accepted(void **state)
{
    (void)state;
    char res[PATH_MAX];
    ph_err err;
    assert_int_equal(check("root", res, &err), PH_OK);
    assert_int_equal(check("root/in", res, &err), PH_OK);
    assert_int_equal(check("root/./in/../in", res, &err), PH_OK);
    assert_string_equal(res, tu_at("root/in"));
}

static void test_missing_output_accepted(void **state)
{
    (void)state;
    char res[PATH_MAX];
    ph_err err;
    assert_int_equal(check("root/in/new/deeper", res, &err), PH_OK);
    assert_string_equal(res, tu_at("root/in/new/deeper"));
}

static void test_escapes_refused(void **state)
{
    (void)state;
    ph_err err = {0};
    assert_int_equal(check("root/../root2", NULL, &err), PH_EPERM);
    assert_non_null(strstr(err.msg, "root2"));
    assert_int_equal(check("root2", NULL, &err), PH_EPERM);     /* prefix look-alike */
    assert_int_equal(check("root/escape", NULL, &err), PH_EPERM); /* symlink out */
    assert_int_equal(check("root/escape/new", NULL, &err), PH_EPERM);
    assert_int_equal(check("root/in/new/../../..", NULL, &err), PH_EINVAL);
}

static void test_empty_path(void **state)
{
    (void)state;
    char out[PATH_MAX];
    ph_err err;
    assert_int_equal(ph_path_resolve("", out, sizeof out, &err), PH_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inside_accepted),
        cmocka_unit_test(test_missing_output_accepted),
        cmocka_unit_test(test_escapes_refused),
        cmocka_unit_test(test_empty_path),
    };
    return cmocka_run_group_tests(tests, setup, tu_teardown);
}
