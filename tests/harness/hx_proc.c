/* hx_proc.c - see hx_proc.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hx_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define HX_MAX_PIDS 64
#define HX_MAX_GROUPS 512

/* Spawned and not yet waited for. */
static struct {
    pid_t pid;
    char kind;
} procs[HX_MAX_PIDS];
/* Process groups started since hx_proc_begin whose leader is not reaped:
 * a daemon's children may outlive it in its group.  The leader is held
 * unreaped (a zombie once it exits) until its group is killed: while it
 * is, no new process can get its pid, so the group's number cannot pass to
 * another process group (pids wrap within minutes on a busy machine,
 * pid_max 32768) and the kill never hits a stranger: another test's
 * daemon, or a shell's job.  Once reaped, a group is never signalled. */
static volatile pid_t groups[HX_MAX_GROUPS];
static volatile sig_atomic_t ngroups;
static uint64_t budget_end;
static char run_tag[512];
static void (*pump_fn)(void);
static bool pumping;

/* ---- time ------------------------------------------------------------------ */

void hx_proc_set_pump(void (*pump)(void)) { pump_fn = pump; }

void hx_pump(void)
{
    if (pump_fn && !pumping) { /* the pump itself may wait */
        pumping = true;
        pump_fn();
        pumping = false;
    }
}

void hx_reach_ms(unsigned ms)
{
    char v[16];
    snprintf(v, sizeof v, "%u", ms);
    if (ms)
        setenv("PHCLUSTER_REACH_MS", v, 1);
    else
        unsetenv("PHCLUSTER_REACH_MS");
}

void hx_sleep_ms(unsigned ms)
{
    hx_pump();
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

uint64_t hx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t hx_deadline(int ms)
{
    uint64_t end = hx_now_ms() + (uint64_t)ms;
    return budget_end && end > budget_end ? budget_end : end;
}

/* ---- argv ------------------------------------------------------------------ */

void hx_args_add(hx_args *a, ...)
{
    va_list ap;
    va_start(ap, a);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        assert_true(a->n < HX_MAX_ARGS);
        a->v[a->n++] = s;
    }
    a->v[a->n] = NULL;
    va_end(ap);
}

void hx_args_cat(hx_args *a, const hx_args *b)
{
    for (int i = 0; b && i < b->n; i++) {
        assert_true(a->n < HX_MAX_ARGS);
        a->v[a->n++] = b->v[i];
    }
    a->v[a->n] = NULL;
}

/* ---- ownership ------------------------------------------------------------- */

void hx_proc_kill_all(void)
{
    for (sig_atomic_t i = 0; i < ngroups; i++)
        if (groups[i] > 0)
            kill(-groups[i], SIGKILL);
}

static bool held(pid_t pid)
{
    for (sig_atomic_t i = 0; i < ngroups; i++)
        if (groups[i] == pid)
            return true;
    return false;
}

/* The leader has exited: whatever is left of its group goes (its number is
 * still ours), then the leader is reaped and the group forgotten. */
static void end_group(pid_t pid)
{
    kill(-pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    for (sig_atomic_t i = 0; i < ngroups; i++)
        if (groups[i] == pid)
            groups[i] = 0;
}

void hx_proc_release(void)
{
    hx_proc_kill_all();
    for (sig_atomic_t i = 0; i < ngroups; i++) {
        pid_t g = groups[i];
        groups[i] = 0; /* not signalled again once reaped */
        while (g > 0 && waitpid(g, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    ngroups = 0;
}

static void on_fatal(int sig)
{
    hx_proc_kill_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Once per process: whatever ends the test (return, exit, abort, a signal
 * ctest or a user sends) also ends what it started.  SIGKILL of the test
 * itself is covered by PR_SET_PDEATHSIG in the children. */
static void install_owner(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    atexit(hx_proc_kill_all);
    /* Not SIGSEGV and its kin: cmocka turns those into a failed test, and
     * the teardown that follows stops the processes. */
    const int sigs[] = {SIGABRT, SIGTERM, SIGINT, SIGHUP, SIGQUIT};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

void hx_proc_begin(const char *tag)
{
    install_owner();
    hx_proc_release(); /* a previous test's leftovers, if any */
    memset(procs, 0, sizeof procs);
    snprintf(run_tag, sizeof run_tag, "%s", tag ? tag : "");
    const char *b = getenv("HX_BUDGET_MS");
    budget_end = hx_now_ms() + (b ? strtoull(b, NULL, 10) : 540000u);
}

static void track(pid_t pid, char kind)
{
    bool grouped = false;
    for (sig_atomic_t i = 0; i < ngroups && !grouped; i++)
        if (groups[i] <= 0) { /* a reaped group's slot */
            groups[i] = pid;
            grouped = true;
        }
    if (!grouped && ngroups < HX_MAX_GROUPS) {
        groups[ngroups] = pid;
        ngroups = ngroups + 1;
    }
    for (int i = 0; i < HX_MAX_PIDS; i++)
        if (procs[i].pid <= 0) {
            procs[i].pid = pid;
            procs[i].kind = kind;
            return;
        }
    fail_msg("harness: too many processes");
}

static void untrack(pid_t pid)
{
    for (int i = 0; i < HX_MAX_PIDS; i++)
        if (procs[i].pid == pid)
            procs[i].pid = 0;
}

void hx_set_kind(pid_t pid, char kind)
{
    for (int i = 0; i < HX_MAX_PIDS; i++)
        if (procs[i].pid == pid)
            procs[i].kind = kind;
}

/* In the child: its own group, death with the test process, the run tag,
 * stdio and cwd. */
static void child_exec(char *const argv[], const char *cwd, const char *out, const char *err,
                       pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    if (run_tag[0])
        setenv("PH_HARNESS_RUN", run_tag, 1);
    /* phclient: a coordinator slowed by load is not "unreachable"; a test
     * of unreachability sets a short value itself (hx_reach_ms). */
    setenv("PHCLUSTER_REACH_MS", "120000", 0);
    int in = open("/dev/null", O_RDONLY);
    int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
        _exit(127);
    if (cwd && chdir(cwd) != 0)
        _exit(127);
    execv(argv[0], argv);
    _exit(127);
}

static pid_t spawn(char *const argv[], const char *cwd, const char *out, const char *err,
                   char kind)
{
    install_owner();
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(argv, cwd, out, err, parent);
    assert_true(pid > 0);
    setpgid(pid, pid); /* also here: no window where a kill of the group misses it */
    track(pid, kind);
    return pid;
}

pid_t hx_spawn_kind(const hx_args *a, const char *cwd, const char *out, const char *err,
                    char kind)
{
    return spawn((char *const *)a->v, cwd, out, err, kind);
}

pid_t hx_spawn(const hx_args *a, const char *cwd, const char *out, const char *err)
{
    return hx_spawn_kind(a, cwd, out, err, 'o');
}

pid_t hx_spawn_argv(char *const argv[], const char *out, const char *err)
{
    return spawn(argv, NULL, out, err, 'o');
}

static int decode_info(const siginfo_t *si)
{
    return si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
}

/* Wait for pid to exit until end (0: no deadline); its status, HX_TIMEOUT
 * at the deadline, -1 if it is not our child.  A held group leader is left
 * unreaped (end_group reaps it); any other child is reaped. */
static int wait_exit(pid_t pid, uint64_t end)
{
    bool hold = held(pid);
    int opts = WEXITED | (hold ? WNOWAIT : 0);
    for (unsigned nap = 1;; nap = nap < 20 ? nap * 2 : 20) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int r = waitid(P_PID, (id_t)pid, &si, opts | (end ? WNOHANG : 0));
        if (r == 0 && si.si_pid == pid)
            return decode_info(&si);
        if (r < 0 && errno != EINTR)
            return -1;
        if (end && hx_now_ms() >= end)
            return HX_TIMEOUT;
        if (end)
            hx_sleep_ms(nap);
    }
}

int hx_wait(pid_t pid, int deadline_ms)
{
    int rc = wait_exit(pid, hx_deadline(deadline_ms));
    if (rc == HX_TIMEOUT) {
        fprintf(stderr, "harness: pid %ld still running at its deadline; killed\n", (long)pid);
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        wait_exit(pid, 0);
    }
    if (rc != -1 && held(pid))
        end_group(pid);
    untrack(pid);
    return rc;
}

bool hx_alive(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* WNOWAIT: look without reaping, so hx_wait still gets the status. */
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return false;
    return si.si_pid == 0;
}

int hx_run(const hx_args *a, const char *cwd, const char *out, const char *err,
           int deadline_ms)
{
    return hx_wait(hx_spawn(a, cwd, out, err), deadline_ms);
}

int hx_stop_kind(char kind, int deadline_ms)
{
    int bad = 0;
    for (int i = 0; i < HX_MAX_PIDS; i++) {
        pid_t p = procs[i].pid;
        if (p <= 0 || procs[i].kind != kind)
            continue;
        kill(p, SIGCONT); /* a SIGSTOPped process must see the TERM */
        kill(p, SIGTERM);
        int rc = hx_wait(p, deadline_ms);
        if (rc != 0) {
            fprintf(stderr, "harness: pid %ld (%c) exited with %d after SIGTERM\n", (long)p,
                    kind, rc);
            bad++;
        }
    }
    return bad;
}
