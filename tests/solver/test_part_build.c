/* test_part_build.c - integration: a partitioned table of 2M keys written
 * by ph_part_create_file, built with its generated CMakeLists (the data
 * embedded with .incbin), and its generated test run over every key; then
 * the same test must fail on a keys file with two keys swapped.
 *
 *   test_part_build CMAKE CTEST SCRATCH_DIR */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gen_keys.h"
#include "ph_fs.h"
#include "ph_part_emit.h"

#define BUILD_KEYS 2000000u

static const char *g_cmake, *g_ctest, *g_tmp;

static int run(char *const argv[], const char *cwd, const char *log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 || (cwd && chdir(cwd)))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void show_log(const char *log)
{
    void *data = NULL;
    size_t len = 0;
    if (ph_fs_read_all(log, 1u << 24, &data, &len, NULL) == 0) {
        size_t from = len > 3000 ? len - 3000 : 0;
        print_error("---- %s ----\n%.*s\n", log, (int)(len - from), (char *)data + from);
    }
    free(data);
}

static void test_build_and_run(void **state)
{
    (void)state;
    char keys[512], out[512], src[600], build[512], log[512], exe[600];
    snprintf(keys, sizeof keys, "%s/big2m.keys", g_tmp);
    snprintf(out, sizeof out, "%s/out", g_tmp);
    snprintf(src, sizeof src, "%s/big2m", out);
    snprintf(build, sizeof build, "%s/build", g_tmp);
    snprintf(log, sizeof log, "%s/build.log", g_tmp);
    snprintf(exe, sizeof exe, "%s/big2m_test", build);
    uint32_t *v = gen_keys(GEN_SHUFFLED, BUILD_KEYS, 2024);
    assert_non_null(v);
    assert_int_equal(gen_keys_write(keys, v, BUILD_KEYS), 0);

    ph_part_opts o;
    ph_part_opts_init(&o);
    o.threads = 2;
    ph_result_row row;
    ph_err err = {0};
    if (ph_part_create_file(keys, out, &o, &row, &err))
        fail_msg("ph_part_create_file: %s", err.msg);
    assert_string_equal(row.status, "ok");
    assert_int_equal(row.keys, BUILD_KEYS);

    char *configure[] = {(char *)g_cmake, "-S", src, "-B", build, NULL};
    char *make[] = {(char *)g_cmake, "--build", build, "-j2", NULL};
    char *ctest[] = {(char *)g_ctest, "--output-on-failure", NULL};
    int rc = run(configure, NULL, log);
    if (!rc)
        rc = run(make, NULL, log);
    if (!rc)
        rc = run(ctest, build, log);
    if (rc)
        show_log(log);
    assert_int_equal(rc, 0);

    /* The generated test must catch a wrong index: swap two keys. */
    uint32_t t = v[10];
    v[10] = v[BUILD_KEYS - 10];
    v[BUILD_KEYS - 10] = t;
    assert_int_equal(gen_keys_write(keys, v, BUILD_KEYS), 0);
    char *test[] = {exe, keys, NULL};
    assert_int_equal(run(test, NULL, log), 1);
    free(v);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_part_build CMAKE CTEST SCRATCH_DIR\n");
        return 2;
    }
    g_cmake = argv[1];
    g_ctest = argv[2];
    g_tmp = argv[3];
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0 || ph_fs_mkdirs(g_tmp, NULL) != 0)
        return 2;
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_build_and_run)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
