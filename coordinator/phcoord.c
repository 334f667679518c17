/* phcoord - the phcluster coordinator daemon. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coord.h"
#include "ph_log.h"
#include "ph_proto.h"
#include "ph_version.h"


#define PHCOORD_MAX_ROOTS 64

static atomic_int stop_flag;
static atomic_int reload_flag;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        atomic_store(&reload_flag, 1); /* the loop re-reads the allow-list */
    else
        atomic_store(&stop_flag, 1);
}

static void usage(FILE *f)
{
    fputs("usage: phcoord [options]\n"
          "Run the phcluster coordinator: accepts jobs from phclient, hands tasks to\n"
          "phworker processes, writes tables and results.csv into each job's output dir.\n"
          "\n", f);
    fprintf(f,
            "  --bind EP           endpoint to listen on.  Default: a Unix socket only this\n"
            "                      user can reach, ipc://$XDG_RUNTIME_DIR/phcluster/coord\n"
            "                      (without XDG_RUNTIME_DIR: ipc://${TMPDIR:-/tmp}/phcluster-UID/coord;\n"
            "                      its directory is made 0700, a link or a directory of\n"
            "                      another user or with wider permissions is refused).\n"
            "                      Also ipc://PATH (same checks on PATH's directory),\n"
            "                      tcp://HOST:PORT, tcp://HOST:* for any port: loopback TCP\n"
            "                      without CURVE lets every local user in; any other\n"
            "                      address requires CURVE (docs/SECURITY.md)\n"
            "  --group G           with an ipc:// endpoint: members of group G may connect\n"
            "                      too (directory 0750, socket 0660, both of group G)\n");
    fprintf(f,
            "  --heartbeat-ms N    heartbeat interval to workers (default %d)\n"
            "  --liveness-ms N     drop a worker silent this long and requeue its tasks\n"
            "                      (default %d; at least twice the heartbeat)\n"
            "  --endpoint-file F   write the bound endpoint to F (useful with port *)\n"
            "  --writers N         threads writing tables to disk (default %d; 0 = the\n"
            "                      event loop writes them itself)\n"
            "  --state-dir DIR     keep a journal of jobs and results in DIR: after a crash\n"
            "                      or restart, jobs resume (same tokens), finished tables\n"
            "                      are not redone\n"
            "  --keep-jobs N       finished jobs remembered for status/wait: the N most\n"
            "                      recent (default %d; 1..10000000); older ones are\n"
            "                      forgotten, their tokens then answer \"unknown or expired\"\n"
            "  --job-ttl SECONDS   also forget a finished job this long after it ended\n"
            "                      (default %u = 7 days; 0 = no age limit; at most 10 years)\n"
            "  --journal-compact-bytes N\n"
            "                      with --state-dir: compact the journal into a snapshot\n"
            "                      once its log passes N bytes and the last snapshot's size\n"
            "                      (default %u; 4096..1099511627776)\n"
            "  --task-timeout-ms N take a task back from a worker holding it this long\n"
            "                      (default 0: no limit; big tables can take a while)\n"
            "  --stall-ms N        take a task back when its worker's progress reports for\n"
            "                      it have not advanced for N ms (a stuck solver); default\n"
            "                      per task: %u ms, or %u us per key if longer; 0 = never\n"
            "                      (status still shows stalled tasks); else %u..3600000\n"
            "  --prefetch-ms N     send a worker tasks beyond its threads for about N ms\n"
            "                      of work at its measured pace, and only while they hold\n"
            "                      under 1 MiB of keys (default %d; 0 = never; raise it for\n"
            "                      round trips of more than a few ms)\n"
            "  --part-task-bytes N keys of a big file (a partitioned table) travel in\n"
            "                      groups of buckets of about N bytes of keys each\n"
            "                      (default %u; 4096..16777216; never more than a frame)\n"
            "  --max-tries N       a task taken back N times (timeout, worker lost) fails\n"
            "                      instead of being sent again (default %d)\n"
            "  --allow-root DIR    jobs may read keys and write tables only below DIR\n"
            "                      (repeatable; symlinks and .. resolved first; default:\n"
            "                      the directory phcoord starts in).  Keys files that are\n"
            "                      symlinks are refused in any case (bulk jobs read only\n"
            "                      regular files of their directory).\n"
            "  --curve-secret F    CURVE secret key file (mode 0600, from `phclient keygen`);\n"
            "                      required to bind anything but loopback\n"
            "  --curve-allow D|F   public keys that may connect: a directory of *.pub files\n"
            "                      or a file with one key per line (SIGHUP re-reads it)\n"
            "  --log-level L       error|warn|info|debug (default info; env PH_LOG_LEVEL)\n"
            "  --version           print the version\n"
            "  -h, --help          this help\n",
            PH_PROTO_HEARTBEAT_MS, PH_PROTO_LIVENESS_MS,
            COORD_DEFAULT_WRITERS, COORD_DEFAULT_KEEP_JOBS,
            COORD_DEFAULT_JOB_TTL_S, COORD_DEFAULT_COMPACT_BYTES, COORD_STALL_FLOOR_MS,
            COORD_STALL_US_PER_KEY, 2u * PH_PROTO_PROGRESS_MS, COORD_DEFAULT_PREFETCH_MS,
            COORD_DEFAULT_PART_TASK_BYTES, COORD_DEFAULT_MAX_TRIES);
}

static int parse_ms_min(const char *opt, const char *s, long min, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min || v > 3600000) {
        fprintf(stderr, "phcoord: %s '%s': expected milliseconds in %ld..3600000\n", opt, s,
                min);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_ms(const char *opt, const char *s, int *out)
{
    return parse_ms_min(opt, s, 1, out);
}

/* --stall-ms: 0 (never take back), or at least two progress reports. */
static int parse_stall(const char *s, int *out)
{
    if (parse_ms_min("--stall-ms", s, 0, out) != 0)
        return -1;
    if (*out != 0 && *out < 2 * PH_PROTO_PROGRESS_MS) {
        fprintf(stderr, "phcoord: --stall-ms '%s': expected 0 or milliseconds in %d..3600000\n",
                s, 2 * PH_PROTO_PROGRESS_MS);
        return -1;
    }
    return 0;
}

static int parse_count(const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0 || v > 64) {
        fprintf(stderr, "phcoord: %s '%s': expected an integer in 0..64\n", opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* An integer option in min..max; one line naming the option otherwise. */
static int parse_range(const char *opt, const char *s, unsigned long long min,
                       unsigned long long max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        fprintf(stderr, "phcoord: %s '%s': expected an integer in %llu..%llu\n", opt, s, min,
                max);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_level(const char *s)
{
    int level = ph_log_parse_level(s);
    if (level < 0) {
        fprintf(stderr, "%s: --log-level '%s': expected error|warn|info|debug\n", "phcoord", s);
        return -1;
    }
    ph_log_set_level((enum ph_log_level)level);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"bind", required_argument, 0, 'b'},       {"heartbeat-ms", required_argument, 0, 'H'},
        {"group", required_argument, 0, 'g'},
        {"liveness-ms", required_argument, 0, 'L'}, {"endpoint-file", required_argument, 0, 'E'},
        {"log-level", required_argument, 0, 'l'},  {"version", no_argument, 0, 'V'},
        {"writers", required_argument, 0, 'W'},
        {"curve-secret", required_argument, 0, 'S'}, {"curve-allow", required_argument, 0, 'A'},
        {"allow-root", required_argument, 0, 'R'},
        {"task-timeout-ms", required_argument, 0, 'T'}, {"max-tries", required_argument, 0, 'M'},
        {"state-dir", required_argument, 0, 'D'},
        {"prefetch-ms", required_argument, 0, 'P'},
        {"keep-jobs", required_argument, 0, 'K'}, {"job-ttl", required_argument, 0, 'X'},
        {"journal-compact-bytes", required_argument, 0, 'C'},
        {"part-task-bytes", required_argument, 0, 'G'},
        {"stall-ms", required_argument, 0, 'Z'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0},
    };
    ph_log_set_level(PH_LOG_INFO);
    ph_log_init(); /* env overrides the default; also PH_LOG_SYSLOG_PREFIX */
    coord_opts o;
    coord_opts_init(&o);
    static const char *roots[PHCOORD_MAX_ROOTS];
    size_t nroots = 0;
    int c;
    opterr = 0;
    int li = -1;
    while ((c = getopt_long(argc, argv, "h", longopts, &li)) != -1) {
        int bad = 0;
        /* An empty path or endpoint would silently mean "here" or "none". */
        if (c != '?' && c != 'h' && li >= 0 && optarg && !optarg[0]) {
            fprintf(stderr, "phcoord: --%s: empty value\n", longopts[li].name);
            return 1;
        }
        li = -1;
        switch (c) {
        case 'b': o.bind = optarg; break;
        case 'g': o.group = optarg; break;
        case 'H': bad = parse_ms("--heartbeat-ms", optarg, &o.heartbeat_ms); break;
        case 'L': bad = parse_ms("--liveness-ms", optarg, &o.liveness_ms); break;
        case 'E': o.endpoint_file = optarg; break;
        case 'W': bad = parse_count("--writers", optarg, &o.writers); break;
        case 'S': o.curve_secret = optarg; break;
        case 'D': o.state_dir = optarg; break;
        case 'T': bad = parse_ms_min("--task-timeout-ms", optarg, 0, &o.task_timeout_ms); break;
        case 'P': bad = parse_ms_min("--prefetch-ms", optarg, 0, &o.prefetch_ms); break;
        case 'Z': bad = parse_stall(optarg, &o.stall_ms); break;
        case 'K': bad = parse_range("--keep-jobs", optarg, 1, 10000000, &o.keep_jobs); break;
        case 'X': bad = parse_range("--job-ttl", optarg, 0, 315360000, &o.job_ttl_s); break;
        case 'G': {
            uint64_t v = 0;
            bad = parse_range("--part-task-bytes", optarg, 4096, 16u << 20, &v);
            o.part_task_bytes = (uint32_t)v;
            break;
        }
        case 'C':
            bad = parse_range("--journal-compact-bytes", optarg, 4096, 1ull << 40,
                              &o.journal_compact_bytes);
            break;
        case 'M':
            bad = parse_count("--max-tries", optarg, &o.max_tries);
            if (!bad && o.max_tries == 0) {
                fprintf(stderr, "phcoord: --max-tries 0: expected at least 1\n");
                bad = 1;
            }
            break;
        case 'A': o.curve_allow = optarg; break;
        case 'R':
            if (nroots == PHCOORD_MAX_ROOTS) {
                fprintf(stderr, "phcoord: at most %d --allow-root\n", PHCOORD_MAX_ROOTS);
                return 1;
            }
            roots[nroots++] = optarg;
            break;
        case 'l': bad = parse_level(optarg); break;
        case 'V': printf("phcoord %s (protocol %d)\n", PH_VERSION, PH_PROTO_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "phcoord: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 1;
        }
        if (bad)
            return 1;
    }
    if (optind < argc) {
        fprintf(stderr, "phcoord: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    o.stop = &stop_flag;
    o.reload = &reload_flag;
    /* Secure by default: without --allow-root, jobs stay below the
     * directory phcoord was started in. */
    static char cwd[4096];
    if (nroots == 0) {
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "phcoord: cannot read the working directory for the default "
                            "--allow-root\n");
            return 1;
        }
        roots[nroots++] = cwd;
    }
    o.allow_roots = roots;
    o.nallow_roots = nroots;
    ph_err err = {0};
    if (coord_run(&o, NULL, &err) != 0) {
        fprintf(stderr, "phcoord: %s\n", err.msg);
        return 1;
    }
    return 0;
}
