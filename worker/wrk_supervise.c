/* wrk_supervise.c - phworker --all-nodes: one process per NUMA node.
 *
 * Processes rather than threads so a crash on one node (a bad table, an
 * OOM kill) costs only that node, and the supervisor restarts it.  The
 * supervisor itself never creates a zmq context or a thread: fork() stays
 * safe.  It sits above wrk.c (each child runs wrk_run) and wrk.c never
 * calls back into it. */
#include "wrk.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ph_log.h"
#include "ph_topology.h"

#define WRK_MAX_NODES 256
#define WRK_RESTART_DELAY_MS 1000

static volatile sig_atomic_t sup_signal;
static atomic_int child_stop;

static void on_signal(int sig) { sup_signal = sig; }

/* In a node process: leave the loop cleanly (tasks cancelled, socket closed). */
static void on_child_signal(int sig)
{
    (void)sig;
    atomic_store(&child_stop, 1);
}

static pid_t spawn_node(const wrk_opts *o, unsigned os_index)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid; /* parent (or -1) */
    /* Child: it ends with the supervisor (SIGTERM: a clean stop), even
     * when the supervisor is killed outright; then its own stop flag,
     * serve the node, exit with its status. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_child_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(1); /* the supervisor is already gone */
    wrk_opts c = *o;
    c.numa_node = (int)os_index;
    c.stop = &child_stop;
    ph_err err = {0};
    int rc = wrk_run(&c, NULL, &err);
    if (rc)
        fprintf(stderr, "phworker: node %u: %s\n", os_index, err.msg);
    _exit(rc ? 1 : 0);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Keep the nodes whose OS index is in mask (0 = keep all); returns the count. */
static unsigned select_nodes(unsigned *nodes, unsigned n, uint64_t mask)
{
    if (!mask)
        return n;
    unsigned kept = 0;
    for (unsigned i = 0; i < n; i++)
        if (nodes[i] < 64 && (mask >> nodes[i] & 1))
            nodes[kept++] = nodes[i];
    return kept;
}

int wrk_supervise(const wrk_opts *o)
{
    unsigned nodes[WRK_MAX_NODES], n = 0;
    ph_err err = {0};
    if (ph_topology_nodes(o->topology, nodes, WRK_MAX_NODES, &n, &err) != 0) {
        fprintf(stderr, "phworker: %s\n", err.msg);
        return 1;
    }
    n = select_nodes(nodes, n, o->node_mask);
    if (n == 0) {
        fprintf(stderr, "phworker: --nodes: none of the listed NUMA nodes exists here\n");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: waitpid returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pid_t pids[WRK_MAX_NODES];
    unsigned alive = 0;
    for (unsigned i = 0; i < n; i++) {
        pids[i] = spawn_node(o, nodes[i]);
        if (pids[i] > 0)
            alive++;
        ph_log_info("worker", "node=%u pid=%ld msg=\"node process started\"", nodes[i],
                    (long)pids[i]);
    }
    bool stopping = false;
    int result = 0;
    while (alive > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno != EINTR)
                break;
            if (sup_signal && !stopping) {
                stopping = true;
                for (unsigned i = 0; i < n; i++)
                    if (pids[i] > 0)
                        kill(pids[i], SIGTERM);
            }
            continue;
        }
        unsigned i = 0;
        while (i < n && pids[i] != pid)
            i++;
        if (i == n)
            continue;
        pids[i] = 0;
        alive--;
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (clean || stopping || sup_signal) {
            /* Finished on STOP (or we are stopping): not a crash. */
            if (!clean && !WIFSIGNALED(status))
                result = 1;
            continue;
        }
        ph_log_warn("worker", "node=%u pid=%ld status=%d msg=\"node process died; restarting\"",
                    nodes[i], (long)pid, status);
        sleep_ms(WRK_RESTART_DELAY_MS);
        if (sup_signal)
            continue;
        pids[i] = spawn_node(o, nodes[i]);
        if (pids[i] > 0)
            alive++;
    }
    return result;
}
