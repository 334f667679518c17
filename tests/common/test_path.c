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

static char base[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/ph-path-XXXXXX";
    if (!mkdtemp(tmpl))
        return -1;
    if (!realpath(tmpl, base))
        return -1;
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/root", base);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/root/in", base);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/root2", base);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/root/escape", base);
    if (symlink("/etc", p))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

static int check(const char *rel, char *resolved, ph_err *err)
{
    char root[PATH_MAX + 8], path[PATH_MAX + 64];
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(path, sizeof path, "%s/%s", base, rel);
    const char *roots[] = {"/nonexistent-root-for-test", root};
    return ph_path_check_roots(path, roots, 2, resolved, PATH_MAX, err);
}

static void test_inside_accepted(void **state)
{
    (void)state;
    char res[PATH_MAX];
    ph_err err;
    assert_int_equal(check("root", res, &err), PH_OK);
    assert_int_equal(check("root/in", res, &err), PH_OK);
    assert_int_equal(check("root/./in/../in", res, &err), PH_OK);
    char want[PATH_MAX + 16];
    snprintf(want, sizeof want, "%s/root/in", base);
    assert_string_equal(res, want);
}

static void test_missing_output_accepted(void **state)
{
    (void)state;
    char res[PATH_MAX];
    ph_err err;
    assert_int_equal(check("root/in/new/deeper", res, &err), PH_OK);
    char want[PATH_MAX + 32];
    snprintf(want, sizeof want, "%s/root/in/new/deeper", base);
    assert_string_equal(res, want);
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
    return cmocka_run_group_tests(tests, setup, teardown);
}
