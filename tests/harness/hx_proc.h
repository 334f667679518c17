/* hx_proc.h - processes a test starts, owned by the test.
 *
 * Every process spawned here runs in its own process group, gets SIGKILL
 * when the test process dies (PR_SET_PDEATHSIG), and carries PH_HARNESS_RUN
 * in its environment.  The groups are killed by hx_proc_kill_all: at
 * teardown, at exit (atexit) and on a fatal signal, so whatever way a test
 * ends, no daemon (nor a daemon's children) outlives it.
 *
 * Waiting is polling with a deadline; every poll calls the heartbeat pump
 * (hx_proc_set_pump), so scripted peers stay alive while the test waits. */
#ifndef HX_PROC_H
#define HX_PROC_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define HX_MAX_ARGS 64
/* hx_wait's return value when the deadline passed (the process was killed). */
#define HX_TIMEOUT 999
/* The deadline of a step that should take seconds: it only catches hangs,
 * so a busy machine (sanitizers, other builds) never trips it. */
#define HX_HANG_MS 120000

/* An argv under construction; strings are borrowed, not copied. */
typedef struct hx_args {
    const char *v[HX_MAX_ARGS + 1];
    int n;
} hx_args;

/* Append strings up to a NULL. */
void hx_args_add(hx_args *a, ...);
void hx_args_cat(hx_args *a, const hx_args *b);

/* Start owning processes for one test: forget earlier ones, set the budget
 * (every deadline ends by then; env HX_BUDGET_MS, default 540 s, inside
 * the ctest timeout of 600 s) and the value of PH_HARNESS_RUN given to
 * children (NULL: none). */
void hx_proc_begin(const char *run_tag);
/* SIGKILL every process group started since hx_proc_begin and not yet
 * ended by hx_wait.  Async-signal safe (it runs from the fatal-signal
 * handlers).  Safe at any time: a group's leader is held unreaped until its
 * group is killed, so no number killed here can have passed to another
 * process group (pids are reused within minutes on a busy machine). */
void hx_proc_kill_all(void);
/* hx_proc_kill_all, then reap the group leaders and forget the groups
 * (hx_teardown; hx_proc_begin does it for a previous test). */
void hx_proc_release(void);
/* Called by every wait and poll (at most once per call); NULL = none. */
void hx_proc_set_pump(void (*pump)(void));
void hx_pump(void);

/* Spawn argv (stdout to out, stderr appended to err; NULL = /dev/null) in
 * directory cwd (NULL = ours).  kind: 'c' coordinator, 'w' worker, 'o'
 * anything else (teardown stops them differently). */
pid_t hx_spawn_kind(const hx_args *a, const char *cwd, const char *out, const char *err,
                    char kind);
pid_t hx_spawn(const hx_args *a, const char *cwd, const char *out, const char *err);
/* The same from a NULL-terminated argv. */
pid_t hx_spawn_argv(char *const argv[], const char *out, const char *err);
/* Wait up to deadline_ms; returns the exit code, 128+signal, or HX_TIMEOUT
 * after SIGKILLing it.  What is left of its process group is killed before
 * it is reaped (its children, e.g. node processes); untracks the pid. */
int hx_wait(pid_t pid, int deadline_ms);
/* True while pid has not exited (it is not reaped). */
bool hx_alive(pid_t pid);
int hx_run(const hx_args *a, const char *cwd, const char *out, const char *err,
           int deadline_ms);
/* Ask every tracked process of `kind` to stop (SIGCONT, SIGTERM), wait up
 * to deadline_ms each; returns how many did not exit 0. */
int hx_stop_kind(char kind, int deadline_ms);
void hx_set_kind(pid_t pid, char kind);

/* PHCLUSTER_REACH_MS for the phclient runs that follow (0: back to the
 * harness's 120 s), for tests that expect "cannot reach" (exit 4). */
void hx_reach_ms(unsigned ms);

void hx_sleep_ms(unsigned ms);
uint64_t hx_now_ms(void);
/* now + ms, but not past this test's budget. */
uint64_t hx_deadline(int ms);

#endif
