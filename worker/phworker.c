/* phworker - serve one NUMA node (or all, one process each) to a coordinator. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ph_local.h"
#include "ph_log.h"
#include "ph_proto.h"
#include "ph_version.h"
#include "ph_runtime.h"
#include "wrk.h"


static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: phworker [--coordinator EP] [--numa-node N | --all-nodes] [options]\n"
            "Build perfect-hash tables for a phcluster coordinator.  One process serves one\n"
            "NUMA node; --all-nodes starts one process per node and restarts crashed ones.\n"
            "\n"
            "  --coordinator EP    coordinator endpoint, e.g. tcp://HOST:7710 (default:\n"
            "                      env PHCLUSTER_COORDINATOR, else this user's local\n"
            "                      coordinator, ipc://$XDG_RUNTIME_DIR/phcluster/coord or\n"
            "                      ipc://${TMPDIR:-/tmp}/phcluster-UID/coord)\n"
            "  --numa-node N       serve NUMA node N (OS index; default: the first node)\n"
            "  --all-nodes         one process per NUMA node, supervised\n"
            "  --nodes LIST        like --all-nodes, for the listed nodes only (OS indices,\n"
            "                      e.g. 0,2-3)\n"
            "  --threads N         threads per node (default: its processing units)\n"
            "  --prefetch N        tasks held beyond the threads (default max(32, 4 x\n"
            "                      threads)); past the threads, the coordinator sends only\n"
            "                      while the keys held total under 1 MiB\n"
            "  --topology STR      hwloc synthetic description or XML file instead of this\n"
            "                      machine, e.g. \"pack:2 numa:1 core:1 pu:1\" (binding is off)\n"
            "  --fake-work         answer each task at once with an empty success (benchmarks)\n"
            "  --task-delay-ms N   sleep N ms before each task (tests: a slow worker whose\n"
            "                      tasks show progress all along)\n"
            "  --test-stall-after N\n"
            "                      test aid: run the first N tasks, then let every later\n"
            "                      task block without progress until the worker exits,\n"
            "                      while the worker keeps heartbeating (a stuck solver)\n"
            "  --test-stall-ms N   test aid: with --test-stall-after, a stalled task resumes\n"
            "                      after N ms (default 0: only when the worker exits)\n"
            "  --heartbeat-ms N    heartbeat interval (default %d)\n"
            "  --liveness-ms N     reconnect when the coordinator is silent this long (%d)\n"
            "  --curve-secret F    our CURVE secret key file (from `phclient keygen`)\n"
            "  --curve-server F    the coordinator's CURVE public key file; both are\n"
            "                      required for a coordinator that is not on loopback\n"
            "  --log-level L       error|warn|info|debug (default info; env PH_LOG_LEVEL)\n"
            "  --version, -h/--help\n",
            PH_PROTO_HEARTBEAT_MS, PH_PROTO_LIVENESS_MS);
}

static int parse_nodes(const char *list, uint64_t *mask)
{
    ph_err err = {0};
    if (ph_runtime_parse_nodes(list, mask, &err) == 0)
        return 0;
    fprintf(stderr, "phworker: --nodes: %s\n", err.msg);
    return -1;
}

static int parse_uint(const char *opt, const char *s, long max, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > max) {
        fprintf(stderr, "phworker: %s '%s': expected an integer in 0..%ld\n", opt, s, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_level(const char *s)
{
    int level = ph_log_parse_level(s);
    if (level < 0) {
        fprintf(stderr, "%s: --log-level '%s': expected error|warn|info|debug\n", "phworker", s);
        return -1;
    }
    ph_log_set_level((enum ph_log_level)level);
    return 0;
}

enum { O_COORD = 256, O_NODE, O_ALL, O_THREADS, O_PREFETCH, O_TOPO, O_FAKE, O_DELAY, O_HB, O_LIVE,
       O_LEVEL, O_VERSION, O_CSECRET, O_CSERVER, O_NODES, O_TSTALL, O_TSTALLMS };

static int parse(int argc, char **argv, wrk_opts *o, bool *all)
{
    static const struct option longopts[] = {
        {"coordinator", required_argument, 0, O_COORD}, {"numa-node", required_argument, 0, O_NODE},
        {"all-nodes", no_argument, 0, O_ALL},           {"threads", required_argument, 0, O_THREADS},
        {"nodes", required_argument, 0, O_NODES},
        {"prefetch", required_argument, 0, O_PREFETCH}, {"topology", required_argument, 0, O_TOPO},
        {"fake-work", no_argument, 0, O_FAKE},          {"task-delay-ms", required_argument, 0, O_DELAY},
        {"heartbeat-ms", required_argument, 0, O_HB},   {"liveness-ms", required_argument, 0, O_LIVE},
        {"test-stall-after", required_argument, 0, O_TSTALL},
        {"test-stall-ms", required_argument, 0, O_TSTALLMS},
        {"log-level", required_argument, 0, O_LEVEL},
        {"curve-secret", required_argument, 0, O_CSECRET},
        {"curve-server", required_argument, 0, O_CSERVER},
        {"version", no_argument, 0, O_VERSION},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    long v;
    bool have_node = false;
    opterr = 0;
    int li = -1;
    while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        int bad = 0;
        /* An empty path or endpoint would silently mean "here" or "none". */
        if (c != '?' && c != 'h' && li >= 0 && optarg && !optarg[0]) {
            fprintf(stderr, "phworker: --%s: empty value\n", longopts[li].name);
            return -1;
        }
        li = -1;
        switch (c) {
        case O_COORD: o->coordinator = optarg; break;
        case O_NODE: bad = parse_uint("--numa-node", optarg, 4095, &v); o->numa_node = (int)v;
                     have_node = true; break;
        case O_ALL: *all = true; break;
        case O_NODES: bad = parse_nodes(optarg, &o->node_mask); *all = true; break;
        case O_THREADS: bad = parse_uint("--threads", optarg, 1024, &v); o->threads = (unsigned)v; break;
        case O_PREFETCH: bad = parse_uint("--prefetch", optarg, 256, &v); o->prefetch = (unsigned)v; break;
        case O_TOPO: o->topology = optarg; break;
        case O_FAKE: o->fake_work = true; break;
        case O_DELAY: bad = parse_uint("--task-delay-ms", optarg, 600000, &v);
                      o->task_delay_ms = (unsigned)v; break;
        case O_TSTALL: bad = parse_uint("--test-stall-after", optarg, 1000000000, &v);
                       o->test_stall_after = v; break;
        case O_TSTALLMS: bad = parse_uint("--test-stall-ms", optarg, 3600000, &v);
                         o->test_stall_ms = (unsigned)v; break;
        case O_HB: bad = parse_uint("--heartbeat-ms", optarg, 3600000, &v); o->heartbeat_ms = (int)v; break;
        case O_LIVE: bad = parse_uint("--liveness-ms", optarg, 3600000, &v); o->liveness_ms = (int)v; break;
        case O_LEVEL: bad = parse_level(optarg); break;
        case O_CSECRET: o->curve_secret = optarg; break;
        case O_CSERVER: o->curve_server = optarg; break;
        case O_VERSION: printf("phworker %s (protocol %d)\n", PH_VERSION, PH_PROTO_VERSION); exit(0);
        case 'h': usage(stdout); exit(0);
        default:
            fprintf(stderr, "phworker: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
        if (bad)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "phworker: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (have_node && *all) {
        fprintf(stderr, "phworker: --numa-node and --all-nodes exclude each other\n");
        return -1;
    }
    if (!o->coordinator)
        o->coordinator = getenv("PHCLUSTER_COORDINATOR");
    ph_err err = {0};
    /* Default: this user's own coordinator on the local endpoint. */
    static char local_ep[PH_LOCAL_ENDPOINT_MAX];
    bool own = !o->coordinator || !o->coordinator[0];
    if (own && ph_local_default_endpoint(local_ep, sizeof local_ep, &err) != 0) {
        fprintf(stderr, "phworker: %s\n", err.msg);
        return -1;
    }
    if (own)
        o->coordinator = local_ep;
    if (ph_local_connect_check(o->coordinator, own, &err) != 0) {
        fprintf(stderr, "phworker: --coordinator %s: %s\n", o->coordinator, err.msg);
        return -1;
    }
    if (wrk_check_security(o, &err) != 0) {
        fprintf(stderr, "phworker: %s\n", err.msg);
        return -1;
    }
    if (o->heartbeat_ms > 0 && o->liveness_ms > 0 && o->liveness_ms < 2 * o->heartbeat_ms) {
        fprintf(stderr, "phworker: --liveness-ms must be at least twice --heartbeat-ms\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    ph_log_set_level(PH_LOG_INFO);
    ph_log_init(); /* env overrides the default; also PH_LOG_SYSLOG_PREFIX */
    wrk_opts o;
    wrk_opts_init(&o);
    bool all = false;
    if (parse(argc, argv, &o, &all) != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (all)
        return wrk_supervise(&o);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.stop = &stop_flag;
    ph_err err = {0};
    if (wrk_run(&o, NULL, &err) != 0) {
        fprintf(stderr, "phworker: %s\n", err.msg);
        return 1;
    }
    return 0;
}
