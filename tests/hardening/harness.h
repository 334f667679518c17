/* harness.h - real phcoord/phworker/phclient processes for hardening tests.
 *
 * Each test gets its own temporary directory (hx_root), a coordinator on a
 * loopback port it discovers through --endpoint-file, and workers.  Every
 * process started here is remembered and cleaned up by hx_teardown, so a
 * failed assertion never leaves a cluster behind.  All waiting is polling
 * with a deadline; nothing synchronizes by sleeping a fixed time.
 *
 * Binaries come from PHCOORD_BIN / PHWORKER_BIN / PHCLIENT_BIN, set by CMake
 * with $<TARGET_FILE:...>. */
#ifndef HX_HARNESS_H
#define HX_HARNESS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HX_MAX_ARGS 64
/* hx_run's return value when the deadline passed (the process was killed). */
#define HX_TIMEOUT 999

extern const char *const hx_coord_bin;
extern const char *const hx_worker_bin;
extern const char *const hx_client_bin;

/* An argv under construction; strings are borrowed, not copied. */
typedef struct hx_args {
    const char *v[HX_MAX_ARGS + 1];
    int n;
} hx_args;

/* Append strings up to a NULL. */
void hx_args_add(hx_args *a, ...);

/* cmocka setup/teardown: a fresh temp dir; teardown stops the cluster
 * (SHUTDOWN to a live coordinator, SIGTERM to workers, SIGKILL past a
 * deadline) and removes the dir unless HX_KEEP is set in the environment.
 * Teardown fails when the coordinator died during the test or does not
 * exit 0 after SHUTDOWN (under ASan: leaks and errors show up there). */
int hx_setup(void **state);
int hx_teardown(void **state);

/* Absolute path under this test's temp dir; returns a static buffer from a
 * ring of 32 (safe for a few simultaneous uses, copy if kept). */
const char *hx_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *hx_root(void);
const char *hx_endpoint(void);
pid_t hx_coord_pid(void);

/* Waits (hx_wait and everything built on it) end at the latest 50 s
 * (env HX_BUDGET_MS) after hx_setup, before ctest's timeout would kill the
 * test without its teardown.  Started processes get SIGKILL if the test
 * process dies (PR_SET_PDEATHSIG). */

/* Spawn argv (stdout to out, stderr appended to err; NULL = /dev/null) in
 * directory cwd (NULL = ours).  The pid is tracked for teardown. */
pid_t hx_spawn(const hx_args *a, const char *cwd, const char *out, const char *err);
/* Wait up to deadline_ms; returns the exit code, 128+signal, or HX_TIMEOUT
 * after SIGKILLing it.  Untracks the pid. */
int hx_wait(pid_t pid, int deadline_ms);
/* True while pid has not exited (it is not reaped). */
bool hx_alive(pid_t pid);
/* Run to completion with a deadline. */
int hx_run(const hx_args *a, const char *cwd, const char *out, const char *err,
           int deadline_ms);

/* Start phcoord with --bind bind (NULL = tcp://127.0.0.1:*) plus extra args,
 * in cwd, logging to hx_path(log).  Polls for the endpoint file; returns 0,
 * or the exit code (>0) if phcoord exited first (its log is printed), or -1
 * on timeout.  Fails fast when phcoord refuses an option. */
int hx_coord_start(const char *bind, const hx_args *extra, const char *cwd, const char *log);
/* SIGKILL the coordinator and reap it (no clean shutdown expected). */
void hx_coord_kill9(void);
/* Start phworker against hx_endpoint() with extra args. */
pid_t hx_worker_start(const hx_args *extra, const char *log);

/* phclient ARGS... --coordinator EP with a deadline; stdout goes to
 * hx_path("client.out"), stderr to hx_path("client.err") (both replaced).
 * Returns the exit code (HX_TIMEOUT past the deadline). */
int hx_client(int deadline_ms, ...);
/* Same with extra args placed before the command (e.g. CURVE options). */
int hx_client_pre(const hx_args *pre, int deadline_ms, ...);
/* Arguments every later hx_client (and teardown's SHUTDOWN) puts before
 * the command, e.g. CURVE key options; copied. */
void hx_client_defaults(const hx_args *pre);
/* Text of the last hx_client stdout / stderr (malloc'd, caller frees). */
char *hx_client_out(void);
char *hx_client_err(void);

/* Number of workers in `phclient status --json` (-1 if it fails). */
int hx_workers_registered(void);
bool hx_wait_workers(int n, int deadline_ms);
/* The token printed by `bulk-create --no-wait --json` (16 hex). */
bool hx_submit_bulk(const char *dir, const char *out, char token[17]);

/* Files, text. */
char *hx_slurp(const char *path);
bool hx_exists(const char *path);
void hx_mkdir(const char *path);
/* n unique keys (a bijection of i), the last repeating the first if dup. */
void hx_write_keys(const char *path, uint32_t n, uint32_t salt, bool dup);
void hx_write_bytes(const char *path, const void *data, size_t len);
int hx_count(const char *s, const char *sub);
/* Unsigned value of "key":N in a JSON text (UINT64_MAX if absent). */
uint64_t hx_field(const char *json, const char *key);
/* Files under dir (recursively) whose name contains sub. */
int hx_count_names(const char *dir, const char *sub);
/* Lines of a results.csv that start with "name,"; -1 if no such file. */
int hx_csv_rows_for(const char *csv_text, const char *name);
/* Print the file to stderr (diagnostics for a failing test). */
void hx_dump(const char *label, const char *path);
/* Peak RSS (VmHWM) of a live process in KiB, 0 if unknown. */
long hx_hwm_kb(pid_t pid);
/* A loopback TCP port that was free a moment ago. */
int hx_free_port(void);
void hx_sleep_ms(unsigned ms);
uint64_t hx_now_ms(void);
/* now + ms, but not past this test's budget (see above). */
uint64_t hx_deadline(int ms);

#endif
