/* test_access.c - who can reach a local coordinator (docs/SECURITY.md).
 *
 * Real processes; argv[1] names the one scenario to run.  Each scenario
 * points XDG_RUNTIME_DIR (or TMPDIR) into its own temp dir, so the default
 * endpoint ipc://$XDG_RUNTIME_DIR/phcluster/coord is private to the test.
 * The scenarios with another user need root (CI runs as root): a child
 * drops to nobody with setuid and must not reach the coordinator unless
 * phcoord --group lets its group in; they skip when not root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NOBODY 65534 /* nobody:nogroup on Debian */

static char run_dir[256];    /* XDG_RUNTIME_DIR of this test */
static char local_dir[300];  /* run_dir/phcluster */
static char sock_path[320];  /* local_dir/coord */

/* XDG_RUNTIME_DIR=<tmp>/run (mode 0755, as /run/user/UID's parent is). */
static void use_run_dir(void)
{
    hx_path_buf(run_dir, sizeof run_dir, "run");
    snprintf(local_dir, sizeof local_dir, "%s/phcluster", run_dir);
    snprintf(sock_path, sizeof sock_path, "%s/coord", local_dir);
    hx_mkdir(run_dir);
    assert_int_equal(chmod(run_dir, 0755), 0);
    setenv("XDG_RUNTIME_DIR", run_dir, 1);
    unsetenv("TMPDIR");
}

static mode_t mode_of(const char *path, uid_t *uid, gid_t *gid)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    if (uid)
        *uid = st.st_uid;
    if (gid)
        *gid = st.st_gid;
    return st.st_mode;
}

/* phclient ARGS... (no --coordinator: the default); exit code. */
static int client_default(const char *out_name, ...)
{
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, NULL);
    va_list ap;
    va_start(ap, out_name);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        hx_args_add(&a, s, NULL);
    va_end(ap);
    char out[1024], err[1024];
    hx_path_buf(out, sizeof out, "%s.out", out_name);
    hx_path_buf(err, sizeof err, "%s.err", out_name);
    unlink(err);
    return hx_run(&a, NULL, out, err, HX_HANG_MS);
}

/* phworker with no --coordinator. */
static pid_t worker_default(void)
{
    hx_args a = {0};
    hx_args_add(&a, hx_worker_bin, "--threads", "1", "--heartbeat-ms", HX_HEARTBEAT_MS,
                "--liveness-ms", HX_LIVENESS_MS, "--log-level", "info", NULL);
    return hx_spawn_kind(&a, NULL, NULL, hx_path("worker.log"), 'w');
}

/* The file holds exactly one line starting with `prefix`, and it names
 * `named` (and `also`, when given). */
static void one_error_line(const char *file, const char *prefix, const char *named,
                           const char *also)
{
    char *s = hx_slurp(file);
    assert_non_null(s);
    int lines = 0;
    const char *hit = NULL;
    for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, prefix, strlen(prefix))) {
            lines++;
            hit = p;
        }
    if (lines != 1)
        fail_msg("%s: expected one '%s' line, got %d:\n%s", file, prefix, lines, s);
    size_t len = strcspn(hit, "\n");
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)len, hit);
    fprintf(stderr, "refused: %s\n", line);
    if (!strstr(line, named) || (also && !strstr(line, also)))
        fail_msg("the line does not name '%s'%s%s: %s", named, also ? " and " : "",
                 also ? also : "", line);
    free(s);
}

/* phcoord (default endpoint) must refuse to start, naming local_dir. */
static void coord_refused(const char *why)
{
    static int n;
    char log[32];
    snprintf(log, sizeof log, "refused-%d.log", ++n);
    int rc = hx_coord_start_default(NULL, NULL, log);
    if (rc == 0)
        fail_msg("phcoord started on %s (%s)", local_dir, why);
    assert_true(rc > 0 && rc < 128);
    one_error_line(hx_path("%s", log), "phcoord: ", local_dir, why);
    assert_false(hx_exists(sock_path) && !S_ISLNK(mode_of(local_dir, NULL, NULL)));
}

/* ---- the default ------------------------------------------------------------- */

/* No --bind, no --coordinator: coordinator, worker and client meet on
 * ipc://$XDG_RUNTIME_DIR/phcluster/coord, a 0700 directory of this user
 * with a 0600 socket, and build a table. */
static void access_default_private(void **state)
{
    (void)state;
    use_run_dir();
    assert_int_equal(hx_coord_start_default(NULL, hx_root(), "coord.log"), 0);
    char want[1100];
    snprintf(want, sizeof want, "ipc://%s", sock_path);
    assert_string_equal(hx_endpoint(), want);
    uid_t uid;
    mode_t m = mode_of(local_dir, &uid, NULL);
    assert_true(S_ISDIR(m));
    assert_int_equal(m & 07777, 0700);
    assert_int_equal(uid, geteuid());
    m = mode_of(sock_path, &uid, NULL);
    assert_true(S_ISSOCK(m));
    assert_int_equal(m & 07777, 0600);
    worker_default();
    assert_true(hx_wait_workers(1, HX_HANG_MS));
    hx_write_keys(hx_path("ten.keys"), 10, 1, false);
    int rc = client_default("create", "create", hx_path("ten.keys"), "-o", hx_path("out"), NULL);
    if (rc != 0)
        hx_dump("phclient", hx_path("create.err"));
    assert_int_equal(rc, 0);
    assert_true(hx_exists(hx_path("out/ten/ten.c")));
    /* A second coordinator must not take the socket over. */
    hx_args a = {0};
    hx_args_add(&a, hx_coord_bin, NULL);
    rc = hx_run(&a, NULL, NULL, hx_path("second.log"), HX_HANG_MS);
    assert_true(rc > 0 && rc < 128);
    one_error_line(hx_path("second.log"), "phcoord: ", sock_path, "already listens");
    assert_int_equal(client_default("ping", "ping", NULL), 0);
}

/* Without XDG_RUNTIME_DIR: ${TMPDIR:-/tmp}/phcluster-UID, same rules. */
static void access_default_tmpdir(void **state)
{
    (void)state;
    unsetenv("XDG_RUNTIME_DIR");
    setenv("TMPDIR", hx_root(), 1);
    assert_int_equal(hx_coord_start_default(NULL, NULL, "coord.log"), 0);
    char dir[1024], want[1100];
    snprintf(dir, sizeof dir, "%s/phcluster-%lu", hx_root(), (unsigned long)geteuid());
    snprintf(want, sizeof want, "ipc://%s/coord", dir);
    assert_string_equal(hx_endpoint(), want);
    assert_int_equal(mode_of(dir, NULL, NULL) & 07777, 0700);
    assert_int_equal(client_default("ping", "ping", NULL), 0);
}

/* Explicit TCP still works, with a warning in the log. */
static void access_tcp_explicit(void **state)
{
    (void)state;
    use_run_dir();
    assert_int_equal(hx_coord_start("tcp://127.0.0.1:*", NULL, NULL, "coord.log"), 0);
    assert_int_equal(hx_client(HX_HANG_MS, "ping", NULL), 0);
    char *log = hx_slurp(hx_path("coord.log"));
    assert_non_null(log);
    assert_non_null(strstr(log, "TCP on loopback without CURVE"));
    free(log);
    assert_false(hx_exists(local_dir)); /* no local endpoint made */
    /* --group is for ipc:// endpoints only. */
    hx_args g = {0};
    hx_args_add(&g, hx_coord_bin, "--bind", "tcp://127.0.0.1:*", "--group", "0", NULL);
    int rc = hx_run(&g, NULL, NULL, hx_path("group.log"), HX_HANG_MS);
    assert_true(rc > 0 && rc < 128);
    one_error_line(hx_path("group.log"), "phcoord: ", "--group", "ipc://");
}

/* ---- refused directories ----------------------------------------------------- */

/* A link planted at the directory: phcoord, phworker and phclient refuse
 * it, and nothing is created at its target. */
static void access_refuse_symlink(void **state)
{
    (void)state;
    use_run_dir();
    hx_mkdir(hx_path("elsewhere"));
    assert_int_equal(chmod(hx_path("elsewhere"), 0700), 0);
    assert_int_equal(symlink(hx_path("elsewhere"), local_dir), 0);
    coord_refused("symbolic link");
    assert_false(hx_exists(hx_path("elsewhere/coord")));
    assert_int_equal(client_default("ping", "ping", NULL), 1);
    one_error_line(hx_path("ping.err"), "phclient: ", local_dir, "symbolic link");
    hx_args a = {0};
    hx_args_add(&a, hx_worker_bin, NULL);
    int rc = hx_run(&a, NULL, NULL, hx_path("worker.log"), HX_HANG_MS);
    assert_int_equal(rc, 1);
    one_error_line(hx_path("worker.log"), "phworker: ", local_dir, "symbolic link");
}

/* Wider than 0700 (group or other may enter): refused, left as it is. */
static void access_refuse_wide(void **state)
{
    (void)state;
    use_run_dir();
    hx_mkdir(local_dir);
    assert_int_equal(chmod(local_dir, 0755), 0);
    coord_refused("wider than 0700");
    assert_int_equal(mode_of(local_dir, NULL, NULL) & 07777, 0755);
    assert_int_equal(chmod(local_dir, 0770), 0);
    coord_refused("wider than 0700");
    /* Narrowed by its owner: accepted. */
    assert_int_equal(chmod(local_dir, 0700), 0);
    assert_int_equal(hx_coord_start_default(NULL, NULL, "coord.log"), 0);
}

/* A directory of another user (root only: it takes chown). */
static void access_refuse_foreign(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    use_run_dir();
    hx_mkdir(local_dir);
    assert_int_equal(chmod(local_dir, 0700), 0);
    assert_int_equal(chown(local_dir, NOBODY, NOBODY), 0);
    coord_refused("owned by uid 65534");
    assert_int_equal(client_default("ping", "ping", NULL), 1);
    one_error_line(hx_path("ping.err"), "phclient: ", local_dir, "owned by uid 65534");
}

/* ---- another user --------------------------------------------------------------- */

/* Run argv (NULL: a plain connect to the socket) in a child that has
 * become nobody (groups: `group`, or none), its stderr in <tmp>/name.err
 * (opened before the switch); exit code.  A phclient expected to fail gets
 * 1.5 s to reach the coordinator (it never can), one expected to succeed
 * the harness's hang deadline. */
static int as_nobody(const char *name, gid_t group, bool with_group, char *const argv[],
                     bool expect_reach)
{
    char err[1024];
    hx_path_buf(err, sizeof err, "%s.err", name);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, 2) < 0)
            _exit(90);
        if (setgroups(with_group ? 1 : 0, &group) != 0 || setgid(NOBODY) != 0 ||
            setuid(NOBODY) != 0 || setuid(0) == 0)
            _exit(91);
        if (!argv) { /* a plain connect to the socket */
            struct sockaddr_un sa = {.sun_family = AF_UNIX};
            if (strlen(sock_path) >= sizeof sa.sun_path)
                _exit(94);
            memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
            int s = socket(AF_UNIX, SOCK_STREAM, 0);
            if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
                _exit(0);
            dprintf(2, "connect %s: %s\n", sock_path, strerror(errno));
            _exit(errno == EACCES ? 13 : 92);
        }
        char reach[16];
        snprintf(reach, sizeof reach, "%d", expect_reach ? HX_HANG_MS : 1500);
        setenv("PHCLUSTER_REACH_MS", reach, 1);
        execv(argv[0], argv);
        _exit(93);
    }
    int st = 0;
    uint64_t end = hx_deadline(HX_HANG_MS);
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (hx_now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return HX_TIMEOUT;
        }
        hx_sleep_ms(20);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The test's files nobody must read (a keys file), on a path it can walk. */
static void open_paths_for_nobody(void)
{
    assert_int_equal(chmod(hx_root(), 0711), 0);
    hx_mkdir(hx_path("pub"));
    assert_int_equal(chmod(hx_path("pub"), 0755), 0);
    hx_write_keys(hx_path("pub/ten.keys"), 10, 1, false);
    assert_int_equal(chmod(hx_path("pub/ten.keys"), 0644), 0);
}

/* nobody can neither connect to the default endpoint nor submit through
 * it; the coordinator's user can. */
static void access_other_user_refused(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    use_run_dir();
    open_paths_for_nobody();
    assert_int_equal(hx_coord_start_default(NULL, NULL, "coord.log"), 0);
    int rc = as_nobody("connect", 0, false, NULL, false);
    if (rc != 13)
        hx_dump("child", hx_path("connect.err"));
    assert_int_equal(rc, 13); /* EACCES from the kernel */
    char ep[1100], out[1024];
    snprintf(ep, sizeof ep, "ipc://%s", sock_path);
    hx_path_buf(out, sizeof out, "pub/out");
    char *submit[] = {(char *)hx_client_bin, "create", (char *)hx_path("pub/ten.keys"), "-o", out,
                      "--coordinator", ep, NULL};
    rc = as_nobody("submit", 0, false, submit, false);
    if (rc != 4)
        hx_dump("phclient as nobody", hx_path("submit.err"));
    assert_int_equal(rc, 4); /* cannot reach */
    char *shutdown[] = {(char *)hx_client_bin, "shutdown", "--coordinator", ep, NULL};
    assert_int_equal(as_nobody("shutdown", 0, false, shutdown, false), 4);
    assert_false(hx_exists(out));
    assert_true(hx_alive(hx_coord_pid()));
    assert_int_equal(client_default("ping", "ping", NULL), 0);
}

/* phcoord --group G: members of G can connect and submit, the directory
 * is 0750 and the socket 0660, both of group G. */
static void access_group_allowed(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip();
    use_run_dir();
    open_paths_for_nobody();
    hx_args g = {0};
    hx_args_add(&g, "--group", "nogroup", NULL);
    assert_int_equal(hx_coord_start_default(&g, NULL, "coord.log"), 0);
    gid_t gid;
    assert_int_equal(mode_of(local_dir, NULL, &gid) & 07777, 0750);
    assert_int_equal(gid, NOBODY);
    assert_int_equal(mode_of(sock_path, NULL, &gid) & 07777, 0660);
    assert_int_equal(gid, NOBODY);
    assert_int_equal(as_nobody("connect", NOBODY, true, NULL, true), 0);
    char ep[1100];
    snprintf(ep, sizeof ep, "ipc://%s", sock_path);
    char *ping[] = {(char *)hx_client_bin, "ping", "--coordinator", ep, NULL};
    int rc = as_nobody("ping", NOBODY, true, ping, true);
    if (rc != 0)
        hx_dump("phclient as nobody", hx_path("ping.err"));
    assert_int_equal(rc, 0);
    /* A private directory left by an earlier run is opened to the group;
     * a directory open to another group is refused. */
    assert_int_equal(hx_coord_stop(), 0);
    assert_int_equal(chmod(local_dir, 0700), 0);
    assert_int_equal(hx_coord_start_default(&g, NULL, "coord2.log"), 0);
    assert_int_equal(mode_of(local_dir, NULL, NULL) & 07777, 0750);
    assert_int_equal(hx_coord_stop(), 0);
    assert_int_equal(chown(local_dir, 0, 0), 0);
    int rc2 = hx_coord_start_default(&g, NULL, "coord3.log");
    assert_true(rc2 > 0 && rc2 < 128);
    one_error_line(hx_path("coord3.log"), "phcoord: ", local_dir, "another group");
}

#define T(f) cmocka_unit_test_setup_teardown(f, hx_setup, hx_teardown)

int main(int argc, char **argv)
{
    const struct CMUnitTest all[] = {
        T(access_default_private), T(access_default_tmpdir), T(access_tcp_explicit),
        T(access_refuse_symlink),  T(access_refuse_wide),    T(access_refuse_foreign),
        T(access_other_user_refused), T(access_group_allowed),
    };
    return hx_run_tests("test_access", "access", all, sizeof all / sizeof all[0], argc, argv);
}
