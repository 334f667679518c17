/* test_owned.c - a test that ends badly leaves no process behind.
 *
 * For each way a test can end (a failed assertion, abort(), exit() in the
 * middle, SIGKILL from outside such as ctest's timeout), a child runs a
 * cmocka test under the harness that starts phcoord and an --all-nodes
 * phworker on a synthetic 2-node topology (a supervisor and two node
 * processes), reports its run tag, and ends that way.  The parent then
 * looks through /proc for any process carrying that tag in its
 * environment, and fails if one is still there after the deadline.
 *
 * group_ended_with_leader: when a process the harness started has exited
 * and is waited for, what is left in its group is killed before it is
 * reaped, while the group's number is still its own; teardown then never
 * kills that number, which by then may be another process's group. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "test_util.h"

enum ending { END_FAIL, END_ABORT, END_EXIT, END_KILL };
static const char *const ending_name[] = {"failed assertion", "abort()", "exit(3)", "SIGKILL"};

static enum ending ending;
static int report_fd, go_fd;

/* Processes whose environment holds PH_HARNESS_RUN=tag. */
static int count_tagged(const char *tag)
{
    char want[600];
    int wlen = snprintf(want, sizeof want, "PH_HARNESS_RUN=%s", tag);
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p[300];
        snprintf(p, sizeof p, "/proc/%s/environ", e->d_name);
        FILE *f = fopen(p, "rb");
        if (!f)
            continue;
        static char env[1 << 16];
        size_t len = fread(env, 1, sizeof env - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
            env[len] = '\0';
            if (!strncmp(env + i, want, (size_t)wlen + 1)) {
                n++;
                break;
            }
        }
    }
    closedir(d);
    return n;
}

/* The child's test: a cluster, then the ending it was told. */
static void owned_cluster(void **state)
{
    (void)state;
    hx_args tmpdir = {0};
    hx_args_add(&tmpdir, "--allow-root", hx_root(), NULL);
    assert_int_equal(hx_coord_start(NULL, &tmpdir, NULL, "coord.log"), 0);
    hx_args w = {0};
    hx_args_add(&w, "--all-nodes", "--topology", "pack:2 numa:1 core:1 pu:1", NULL);
    hx_worker_start(&w, "worker.log");
    assert_true(hx_wait_workers(2, HX_HANG_MS));
    char tag[300];
    snprintf(tag, sizeof tag, "%s\n", hx_root());
    assert_true(write(report_fd, tag, strlen(tag)) == (ssize_t)strlen(tag));
    char go;
    assert_true(read(go_fd, &go, 1) == 1);
    switch (ending) {
    case END_FAIL: fail_msg("this test fails on purpose"); break;
    case END_ABORT: abort();
    case END_EXIT: exit(3);
    case END_KILL: pause(); break; /* the parent kills us */
    }
}

static int child(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(owned_cluster, hx_setup, hx_teardown)};
    signal(SIGPIPE, SIG_IGN);
    return _cmocka_run_group_tests("owned", t, 1, NULL, NULL);
}

static void one_ending(enum ending how)
{
    int rep[2], go[2];
    assert_int_equal(pipe(rep), 0);
    assert_int_equal(pipe(go), 0);
    ending = how;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(rep[0]);
        close(go[1]);
        report_fd = rep[1];
        go_fd = go[0];
        /* The child's directory goes inside this test's, which teardown
         * removes whatever the child left. */
        setenv("TMPDIR", tu_dir(), 1);
        _exit(child());
    }
    close(rep[1]);
    close(go[0]);
    char tag[300] = "";
    FILE *r = fdopen(rep[0], "r");
    assert_non_null(r);
    bool started = fgets(tag, sizeof tag, r) != NULL;
    fclose(r);
    if (!started) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("%s: the child's cluster did not start", ending_name[how]);
    }
    tag[strcspn(tag, "\n")] = '\0';
    /* Coordinator, supervisor and its two node processes: the tag is seen. */
    int before = count_tagged(tag);
    if (before < 4)
        fail_msg("%s: %d tagged processes before the end, want 4", ending_name[how], before);
    if (how == END_KILL)
        kill(pid, SIGKILL);
    else
        assert_int_equal(write(go[1], "g", 1), 1);
    close(go[1]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(!(WIFEXITED(st) && WEXITSTATUS(st) == 0)); /* it did end badly */
    int left = 0;
    for (uint64_t end = hx_now_ms() + 60000; hx_now_ms() < end;) {
        if ((left = count_tagged(tag)) == 0)
            break;
        hx_sleep_ms(50);
    }
    if (left)
        fail_msg("%s: %d processes of the test still running (PH_HARNESS_RUN=%s)",
                 ending_name[how], left, tag);
}

static void failed_assertion(void **state) { (void)state, one_ending(END_FAIL); }
static void aborted(void **state) { (void)state, one_ending(END_ABORT); }
static void exited(void **state) { (void)state, one_ending(END_EXIT); }
static void killed(void **state) { (void)state, one_ending(END_KILL); }

/* Exited (a zombie, or gone once its parent reaped it). */
static bool proc_gone(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(p, "r");
    if (!f)
        return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close_paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
    return close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
}

static void group_ended_with_leader(void **state)
{
    (void)state;
    hx_proc_begin(NULL);
    char pidfile[4200], script[4400];
    tu_path(pidfile, sizeof pidfile, "member.pid");
    /* The leader leaves a member behind in its group and exits. */
    snprintf(script, sizeof script, "sleep 300 & echo $! > %s; exit 7", pidfile);
    hx_args a = {0};
    hx_args_add(&a, "/bin/sh", "-c", script, NULL);
    pid_t pid = hx_spawn(&a, NULL, NULL, NULL);
    assert_int_equal(hx_wait(pid, HX_HANG_MS), 7);
    /* Reaped: no longer our child. */
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
    char *text = hx_slurp(pidfile);
    assert_non_null(text);
    pid_t member = (pid_t)atol(text);
    free(text);
    unlink(pidfile);
    assert_true(member > 0);
    bool gone = false;
    for (uint64_t end = hx_now_ms() + 20000; !gone && hx_now_ms() < end; hx_sleep_ms(20))
        gone = proc_gone(member);
    if (!gone)
        fail_msg("the group's member %ld outlived its waited-for leader", (long)member);
    hx_proc_release();
}

int main(void)
{
    unsetenv("PHCLUSTER_COORDINATOR");
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(failed_assertion, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(aborted, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(exited, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(killed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(group_ended_with_leader, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests_name("harness_owned", t, NULL, NULL);
}
