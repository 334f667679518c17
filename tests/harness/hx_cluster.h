/* hx_cluster.h - a cluster of real phcoord/phworker/phclient processes.
 *
 * Each test gets its own temporary directory (hx_root: the scratch
 * directory of tests/util, $TMPDIR/PROGRAM.XXXXXX), a coordinator on a
 * loopback port (or, hx_coord_start_default, the local ipc endpoint) it
 * discovers through --endpoint-file, and workers, all
 * owned by the test (hx_proc.h): hx_teardown stops them, and nothing
 * outlives the test however it ends.
 *
 * Binaries come from PHCOORD_BIN / PHWORKER_BIN / PHCLIENT_BIN, set by CMake
 * with $<TARGET_FILE:...>. */
#ifndef HX_CLUSTER_H
#define HX_CLUSTER_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "hx_proc.h"

/* Heartbeat and liveness of the daemons started here.  The liveness is
 * long enough that a starved but live process is never dropped: a TSan
 * build beside two busy loops on two cores already loaded many times over
 * saw live peers silent for more than 3 s.  Tests that need a drop wait for
 * it by polling, so a longer liveness only makes them slower.  The
 * heartbeat is ten to a liveness, not more: at 100 ms, four TSan workers'
 * beats alone (40 messages a second each way) outran a TSan coordinator
 * starved at load average 25; it fell more than the liveness behind its
 * socket, dropped every worker, and their reconnections never caught up. */
#define HX_HEARTBEAT_MS "1000"
#define HX_LIVENESS_MS "10000"

extern const char *const hx_coord_bin;
extern const char *const hx_worker_bin;
extern const char *const hx_client_bin;

/* cmocka setup/teardown: a fresh temp dir (tu_setup, under the TMPDIR the
 * program started with, whatever a test set it to since); teardown stops
 * the cluster (SHUTDOWN to a live coordinator, SIGTERM to workers and
 * swapped-out coordinators, then SIGKILL to every process group started)
 * and removes the dir (tu_teardown) unless HX_KEEP is set to a non-empty
 * value in the environment (HX_KEEP= counts as unset) or teardown fails:
 * it fails when the coordinator died during the test or a daemon does not
 * exit 0. */
int hx_setup(void **state);
int hx_teardown(void **state);

/* Absolute path under this test's temp dir; returns a static buffer from a
 * ring of 32 (safe for a few simultaneous uses, copy if kept).  A path that
 * does not fit fails the test. */
const char *hx_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same into the caller's buffer. */
void hx_path_buf(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *hx_root(void);
const char *hx_endpoint(void);
pid_t hx_coord_pid(void);
/* Make pid / ep the current coordinator (after a test ran one of its own). */
void hx_coord_set(pid_t pid, const char *ep);

/* Start phcoord with --bind bind (NULL = tcp://127.0.0.1:*) plus extra args,
 * in cwd, logging to hx_path(log).  Polls for the endpoint file; returns 0,
 * or the exit code (>0) if phcoord exited first (its log is printed), or -1
 * on timeout. */
int hx_coord_start(const char *bind, const hx_args *extra, const char *cwd, const char *log);
/* The same without --bind: phcoord's default, the local endpoint
 * (ipc://$XDG_RUNTIME_DIR/phcluster/coord; the test sets the environment). */
int hx_coord_start_default(const hx_args *extra, const char *cwd, const char *log);
/* hx_coord_start in hx_root() that fails the test, naming phcoord's exit
 * code (its log was printed), unless the coordinator came up. */
void hx_coord_up(const char *bind, const hx_args *extra, const char *log);
/* hx_coord_start on a loopback port of its own (hx_free_port), written to
 * bind (tcp://127.0.0.1:PORT) for a later restart there: unlike a port the
 * kernel picks (tcp://127.0.0.1:*), no connection is given it while the
 * coordinator is down.  If phcoord finds the port taken after all (its
 * bind error for that port, nothing else), it is started again on another
 * one, up to five times. */
int hx_coord_start_port(char *bind, size_t len, const hx_args *extra, const char *cwd,
                        const char *log);
/* The same in hx_root(), failing the test unless the coordinator came up. */
void hx_coord_up_port(char *bind, size_t len, const hx_args *extra, const char *log);
/* hx_coord_up on bind when it is set (a restart where the coordinator was),
 * else hx_coord_up_port, which writes the port it took to bind (len bytes)
 * for the next start. */
void hx_coord_up_at(char *bind, size_t len, const hx_args *extra, const char *log);
/* A coordinator that can be killed and started again where it was: on a
 * fixed loopback port (hx_coord_up_port), with --state-dir hx_path("state") (made here) and
 * extra (NULL for none; its strings must outlive the restart), started as
 * hx_coord_up.  hx_coord_restart, after hx_coord_kill9, starts it again on
 * the same port, state directory and arguments, logging to log. */
void hx_coord_up_state(const hx_args *extra, const char *log);
void hx_coord_restart(const char *log);
/* SHUTDOWN the current coordinator; its exit code. */
int hx_coord_stop(void);
/* SIGKILL the coordinator and reap it (no clean shutdown expected). */
void hx_coord_kill9(void);
/* Start phworker against hx_endpoint() with extra args. */
pid_t hx_worker_start(const hx_args *extra, const char *log);
/* A worker of one thread whose every task takes at least delay_ms
 * (--threads 1 --task-delay-ms delay_ms): slow enough to be caught busy. */
pid_t hx_worker_slow(const char *delay_ms, const char *log);
/* The one worker most tests run: one thread (--threads 1), logging to log;
 * the test fails unless a worker is registered within HX_HANG_MS. */
pid_t hx_worker_up(const char *log);

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

struct CMUnitTest;
/* The main() of a process test: runs all[0..n), or with an argument only
 * the test of that name (prog names itself in the one-line error, and 1 is
 * returned, when none has it); group names the run.  SIGPIPE is ignored
 * and PHCLUSTER_COORDINATOR unset: tests name their endpoint. */
int hx_run_tests(const char *prog, const char *group, const struct CMUnitTest *all, size_t n,
                 int argc, char **argv);

/* Text of `phclient status --json` (malloc'd, caller frees); NULL if it
 * fails. */
char *hx_status_json(void);
/* Number of workers in `phclient status --json` (-1 if it fails). */
int hx_workers_registered(void);
bool hx_wait_workers(int n, int deadline_ms);
/* The token printed by `bulk-create --no-wait --json` (16 hex). */
bool hx_submit_bulk(const char *dir, const char *out, char token[17]);

#endif
