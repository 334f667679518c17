/* cl_cli.c - phclient's command line. */
#include "cl_int.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ph_curve.h"
#include "ph_local.h"
#include "ph_part.h"
#include "ph_solver.h"
#include "ph_version.h"


/* Which options each command accepts. */
enum {
    A_OUT = 1 << 0, A_SOLVE = 1 << 1, A_LOCAL = 1 << 2, A_NOWAIT = 1 << 3,
    A_JSON = 1 << 4, A_WATCH = 1 << 5, A_NOCOORD = 1 << 6,
};

typedef struct cl_cmd_desc {
    const char *name;
    cl_cmd cmd;
    int allowed;
    const char *arg;      /* positional argument name, NULL = none */
    const char *summary;
    const char *help;
} cl_cmd_desc;

static const cl_cmd_desc cmds[] = {
    {"create", CL_CREATE, A_OUT | A_SOLVE | A_LOCAL | A_JSON, "FILE",
     "build the table of one keys file",
     "usage: phclient create FILE -o DIR [--hash NAME] [--compact] [--threads N] [--seed S]\n"
     "                       [--index-only] [--key-size 4|8] [--emit c,bin] [--local]\n"
     "                       [--partition auto|off|N] [--values 4|8] [--values-file F]\n"
     "                       [--json] [--coordinator EP]\n"
     "Build an order-preserving minimal perfect hash table for FILE (raw little-endian\n"
     "uint32 keys, or uint64 with --key-size 8 or a name ending in a letter then\n"
     "64.keys, such as ids64.keys) and write DIR/NAME/{NAME.h,NAME.c,NAME_test.c,\n"
     "NAME_bench.c,CMakeLists.txt} and DIR/results.csv, NAME being FILE's name\n"
     "without .keys.\n"
     "The keys are read here and sent to the coordinator; DIR is on its host.\n"
     "With --local, a big FILE (from 2^20 keys with --partition auto, the default; up\n"
     "to 2^32 - 1 keys) is mapped and solved here as a partitioned table: buckets of\n"
     "about N keys (auto: 4096), solved on --threads (default: every CPU), its data\n"
     "written as binary files NAME.buckets and NAME.values that NAME_data.S embeds;\n"
     "the generated test and bench read FILE.  Without --local such a FILE is not\n"
     "sent: the coordinator reads it from the same path on its host (inside its\n"
     "--allow-root) and spreads its buckets over every worker.\n"},
    {"bulk-create", CL_BULK, A_OUT | A_SOLVE | A_LOCAL | A_NOWAIT | A_JSON, "DIR",
     "build a table for every *.keys file of a directory",
     "usage: phclient bulk-create DIR -o OUT [--hash NAME] [--compact] [--threads N]\n"
     "                            [--seed S] [--index-only] [--key-size 4|8] [--emit c,bin]\n"
     "                            [--local] [--partition auto|off|N] [--values 4|8]\n"
     "                            [--no-wait] [--json] [--coordinator EP]\n"
     "One table per regular *.keys file of DIR (a directory on the coordinator's host),\n"
     "written under OUT with OUT/results.csv (one row per file, sorted by name).\n"
     "A file of 2^20 keys or more (--partition auto) becomes a partitioned table\n"
     "whose groups of buckets are solved by all workers.\n"
     "Prints the job token, then waits with progress (files done/total, per-node counts,\n"
     "rate, ETA) unless --no-wait; `phclient wait TOKEN` waits later from any shell.\n"},
    {"wait", CL_WAIT, A_JSON, "TOKEN", "wait for a job and report its result",
     "usage: phclient wait TOKEN [--json] [--coordinator EP]\n"
     "Wait for the job TOKEN (from bulk-create) to finish, showing progress.\n"},
    {"cancel", CL_CANCEL, A_JSON, "TOKEN", "cancel a job",
     "usage: phclient cancel TOKEN [--json] [--coordinator EP]\n"
     "Cancel the job TOKEN: no more of its tables are started, queued ones are\n"
     "dropped and running ones are stopped on their workers.  Waits until they have\n"
     "stopped, then prints how many tables were written; OUT/results.csv lists\n"
     "exactly those.  The job then shows as `cancelled` (`wait` exits 5).  Cancelling\n"
     "a cancelled job says so and exits 0; an unknown or finished job is an error\n"
     "(exit 1).\n"},
    {"status", CL_STATUS, A_JSON | A_WATCH, NULL, "show workers and jobs",
     "usage: phclient status [--json | --metrics] [--watch] [--coordinator EP]\n"
     "Workers (host, node, threads, running, done, failed, last heartbeat) and jobs\n"
     "(token, progress, per-node counts).  --watch repeats every second.\n"
     "--json: one object (schema in docs/OPERATIONS.md); --metrics: Prometheus text\n"
     "exposition (phcluster_* gauges and counters) for a textfile or exec collector.\n"},
    {"shutdown", CL_SHUTDOWN, 0, NULL, "stop the coordinator",
     "usage: phclient shutdown [--coordinator EP]\n"
     "Ask the coordinator to stop.  Running jobs are abandoned.  Workers stay up and\n"
     "reconnect with backoff until a coordinator is back (stop them with SIGTERM).\n"},
    {"ping", CL_PING, 0, NULL, "check that the coordinator answers",
     "usage: phclient ping [--coordinator EP]\n"},
    {"keygen", CL_KEYGEN, A_NOCOORD, "PREFIX", "write a CURVE key pair PREFIX.key/PREFIX.pub",
     "usage: phclient keygen PREFIX\n"
     "Write a new CURVE key pair: PREFIX.key (secret, mode 0600) and PREFIX.pub\n"
     "(public: add it to the coordinator's --curve-allow list).  Never overwrites.\n"},
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static const char common_help[] =
    "\nOptions:\n"
    "  -o, --out DIR      output directory (absolute paths are sent to the coordinator)\n"
    "  --hash NAME        auto (default: escalates mulshift -> mulrot -> mix), mulshift,\n"
    "                     mulrot or mix\n"
    "  --compact          non-power-of-two vertex count: smaller tables\n"
    "  --threads N        solver threads per table (default: the worker decides)\n"
    "  --seed S           start seed; the same keys and seed give the same table\n"
    "  --index-only       leave the keys out of the table: NAME_index only, no\n"
    "                     NAME_find (membership); about half the size\n"
    "  --emit LIST        what is written per table: c (the C sources, default), bin\n"
    "                     (NAME/NAME.phc, the binary table file libphcluster loads),\n"
    "                     or c,bin\n"
    "  --values 4|8       one uint32 / uint64 value per key: NAME_lookup, NAME_insert,\n"
    "                     NAME_delete, NAME_increment (atomic); not with --index-only\n"
    "  --values-file F    (create) the starting values: one little-endian value per\n"
    "                     key, in key order, as many as there are keys (default: 0)\n"
    "  --key-size 4|8     bytes per key (little-endian uint32 or uint64); default: 8\n"
    "                     for a file whose name ends in a letter then 64.keys\n"
    "                     (ids64.keys; not NAME-1264.keys, whose digits are a key\n"
    "                     count), else 4.  Tables of 64-bit keys take uint64_t\n"
    "                     keys and always hash with mix\n"
    "  --partition P      auto (default: a partitioned table from 2^20 keys), off\n"
    "                     (always one graph) or N keys per bucket\n"
    "  --local            run an embedded coordinator and one worker per NUMA node in\n"
    "                     this process for the duration of the command (no setup)\n"
    "  --no-wait          print the job token and return at once\n"
    "  --json             machine-readable output on stdout\n"
    "  --watch            repeat every second (status)\n"
    "  --metrics          Prometheus text exposition instead of the table (status)\n"
    "  --coordinator EP   coordinator endpoint (env PHCLUSTER_COORDINATOR; default:\n"
    "                     this user's local coordinator, a Unix socket in a private\n"
    "                     directory: ipc://$XDG_RUNTIME_DIR/phcluster/coord, or\n"
    "                     ipc://${TMPDIR:-/tmp}/phcluster-UID/coord)\n"
    "  --curve-secret F   our CURVE secret key file (phclient keygen)\n"
    "  --curve-server F   the coordinator's CURVE public key file; both are required\n"
    "                     for a coordinator that is not on loopback\n"
    "\nExit codes: 0 all succeeded (cancel: the job is cancelled), 1 usage or other\n"
    "error, 2 some tables failed (the first failure is printed), 3 no keys files\n"
    "found, 4 cannot reach the coordinator (no answer to a PING within 2 s, or env\n"
    "PHCLUSTER_REACH_MS; while waiting, none for 30 s or PHCLUSTER_REACH_MS if\n"
    "longer), 5 the job was cancelled (wait, create, bulk-create).\n";

static void usage(FILE *f)
{
    fprintf(f, "usage: phclient [--coordinator EP] COMMAND [ARGS]\n"
               "Order-preserving minimal perfect hash tables, from one file to a cluster.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < NCMDS; i++)
        fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\n`phclient COMMAND --help` describes a command.  --version prints the version.\n"
               "Quick start: phclient bulk-create KEYS_DIR -o OUT --local\n%s", common_help);
}

static int bad(int *exit_code, const char *fmt, const char *a, const char *b)
{
    fputs("phclient: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputs(" (see --help)\n", stderr);
    *exit_code = CL_EXIT_OTHER;
    return -1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s[0] || s[0] == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || v > max)
        return -1;
    *out = v;
    return 0;
}

enum { O_HASH = 256, O_COMPACT, O_THREADS, O_SEED, O_LOCAL, O_NOWAIT, O_JSON, O_WATCH, O_COORD,
       O_VERSION, O_CSECRET, O_CSERVER, O_METRICS, O_PARTITION,
       O_INDEX_ONLY, O_EMIT, O_KEY_SIZE, O_VALUES, O_VALUES_FILE };

static const struct option longopts[] = {
    {"out", required_argument, 0, 'o'},      {"hash", required_argument, 0, O_HASH},
    {"compact", no_argument, 0, O_COMPACT},  {"threads", required_argument, 0, O_THREADS},
    {"seed", required_argument, 0, O_SEED},  {"local", no_argument, 0, O_LOCAL},
    {"no-wait", no_argument, 0, O_NOWAIT},   {"json", no_argument, 0, O_JSON},
    {"watch", no_argument, 0, O_WATCH},      {"coordinator", required_argument, 0, O_COORD},
    {"metrics", no_argument, 0, O_METRICS},  {"partition", required_argument, 0, O_PARTITION},
    {"index-only", no_argument, 0, O_INDEX_ONLY}, {"emit", required_argument, 0, O_EMIT},
    {"key-size", required_argument, 0, O_KEY_SIZE},
    {"values", required_argument, 0, O_VALUES},
    {"values-file", required_argument, 0, O_VALUES_FILE},
    {"version", no_argument, 0, O_VERSION},  {"help", no_argument, 0, 'h'},
    {"curve-secret", required_argument, 0, O_CSECRET},
    {"curve-server", required_argument, 0, O_CSERVER},
    {0, 0, 0, 0},
};

/* --emit LIST: comma-separated "c" and "bin", at least one. */
static int parse_emit(const char *s, cl_args *a)
{
    bool c = false, bin = false;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 1 && s[0] == 'c')
            c = true;
        else if (n == 3 && !strncmp(s, "bin", 3))
            bin = true;
        else
            return -1;
        s += n;
        if (*s == ',' && !*++s)
            return -1;
    }
    if (!c && !bin)
        return -1;
    a->emit_c = c;
    a->emit_bin = bin;
    return 0;
}

static int need(const cl_cmd_desc *d, int flag, const char *opt, int *exit_code)
{
    if (d->allowed & flag)
        return 0;
    return bad(exit_code, "%s does not take %s", d->name, opt);
}

static int apply(const cl_cmd_desc *d, int c, cl_args *a, int *exit_code)
{
    uint64_t v;
    switch (c) {
    case 'o': a->out_dir = optarg; return need(d, A_OUT, "-o", exit_code);
    case O_HASH:
        if (ph_hash_parse(optarg) < 0)
            return bad(exit_code, "--hash '%s': expected auto, mulshift, mulrot or mix%s",
                       optarg, "");
        a->hash = optarg;
        return need(d, A_SOLVE, "--hash", exit_code);
    case O_COMPACT: a->compact = true; return need(d, A_SOLVE, "--compact", exit_code);
    case O_INDEX_ONLY:
        a->index_only = true;
        return need(d, A_SOLVE, "--index-only", exit_code);
    case O_EMIT:
        if (parse_emit(optarg, a))
            return bad(exit_code, "--emit '%s': expected c, bin or c,bin%s", optarg, "");
        return need(d, A_SOLVE, "--emit", exit_code);
    case O_VALUES:
        if (strcmp(optarg, "4") && strcmp(optarg, "8"))
            return bad(exit_code, "--values '%s': expected 4 or 8 (bytes per value)%s", optarg,
                       "");
        a->values = (unsigned)(optarg[0] - '0');
        return need(d, A_SOLVE, "--values", exit_code);
    case O_VALUES_FILE:
        a->values_file = optarg;
        return need(d, A_SOLVE, "--values-file", exit_code);
    case O_KEY_SIZE:
        if (strcmp(optarg, "4") && strcmp(optarg, "8"))
            return bad(exit_code, "--key-size '%s': expected 4 or 8%s", optarg, "");
        a->key_size = (unsigned)(optarg[0] - '0');
        return need(d, A_SOLVE, "--key-size", exit_code);
    case O_THREADS:
        if (parse_u64(optarg, 1024, &v))
            return bad(exit_code, "--threads '%s': expected 0..1024%s", optarg, "");
        a->threads = (unsigned)v;
        return need(d, A_SOLVE, "--threads", exit_code);
    case O_SEED:
        if (parse_u64(optarg, UINT64_MAX, &v))
            return bad(exit_code, "--seed '%s': expected an unsigned integer%s", optarg, "");
        a->seed = v;
        return need(d, A_SOLVE, "--seed", exit_code);
    case O_LOCAL: a->local = true; return need(d, A_LOCAL, "--local", exit_code);
    case O_PARTITION:
        if (ph_part_parse(optarg, &a->partition))
            return bad(exit_code, "--partition '%s': expected auto, off or keys per bucket "
                       "(1..4294967294)%s", optarg, "");
        a->partition_set = true;
        return need(d, A_SOLVE, "--partition", exit_code);
    case O_NOWAIT: a->no_wait = true; return need(d, A_NOWAIT, "--no-wait", exit_code);
    case O_JSON: a->json = true; return need(d, A_JSON, "--json", exit_code);
    case O_WATCH: a->watch = true; return need(d, A_WATCH, "--watch", exit_code);
    case O_METRICS: a->metrics = true; return need(d, A_WATCH, "--metrics", exit_code);
    case O_COORD: a->coordinator = optarg; return 0;
    case O_CSECRET: a->curve_secret = optarg; return 0;
    case O_CSERVER: a->curve_server = optarg; return 0;
    case O_VERSION: printf("phclient %s (protocol %d)\n", PH_VERSION, PH_PROTO_VERSION);
        *exit_code = 0; return -1;
    case 'h': fputs(d->help, stdout); fputs(common_help, stdout); *exit_code = 0; return -1;
    default:
        return bad(exit_code, "%s: unsupported option%s", d->name, "");
    }
}

/* Global options before the command: --coordinator, --help, --version. */
static int parse_global(int argc, char **argv, cl_args *a, int *i, int *exit_code)
{
    for (*i = 1; *i < argc && argv[*i][0] == '-'; (*i)++) {
        const char *s = argv[*i];
        if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            usage(stdout);
            *exit_code = 0;
            return -1;
        }
        if (!strcmp(s, "--version")) {
            printf("phclient %s (protocol %d)\n", PH_VERSION, PH_PROTO_VERSION);
            *exit_code = 0;
            return -1;
        }
        if (!strcmp(s, "--coordinator") && *i + 1 < argc) {
            a->coordinator = argv[++*i];
            continue;
        }
        if (!strncmp(s, "--coordinator=", 14)) {
            a->coordinator = s + 14;
            continue;
        }
        if (!strcmp(s, "--curve-secret") && *i + 1 < argc) {
            a->curve_secret = argv[++*i];
            continue;
        }
        if (!strcmp(s, "--curve-server") && *i + 1 < argc) {
            a->curve_server = argv[++*i];
            continue;
        }
        return bad(exit_code, "unknown option '%s' before the command%s", s, "");
    }
    if (*i >= argc) {
        usage(stderr);
        *exit_code = CL_EXIT_OTHER;
        return -1;
    }
    return 0;
}

int cl_parse(int argc, char **argv, cl_args *a, int *exit_code)
{
    memset(a, 0, sizeof *a);
    a->partition = PH_PART_AUTO;
    a->emit_c = true;
    ph_solve_opts so;
    ph_solve_opts_init(&so);
    a->seed = so.seed;
    int first;
    if (parse_global(argc, argv, a, &first, exit_code))
        return -1;
    const char *empty = a->coordinator && !a->coordinator[0]     ? "--coordinator"
                        : a->curve_secret && !a->curve_secret[0] ? "--curve-secret"
                        : a->curve_server && !a->curve_server[0] ? "--curve-server"
                                                                 : NULL;
    if (empty)
        return bad(exit_code, "%s: empty value%s", empty, "");
    const cl_cmd_desc *d = NULL;
    for (size_t k = 0; k < NCMDS && !d; k++)
        if (!strcmp(argv[first], cmds[k].name))
            d = &cmds[k];
    if (!d)
        return bad(exit_code, "unknown command '%s'%s", argv[first], "");
    a->cmd = d->cmd;
    int sub_argc = argc - first;
    char **sub_argv = argv + first;
    optind = 1;
    opterr = 0;
    int c;
    int li = -1;
    while ((c = getopt_long(sub_argc, sub_argv, "o:h", longopts, &li)) != -1) {
        if (c == '?' || c == ':')
            return bad(exit_code, "%s: unknown or incomplete option '%s'", d->name,
                       sub_argv[optind - 1]);
        /* An empty -o would silently mean the current directory, an empty
         * endpoint or key file the default: refuse them. */
        if (optarg && !optarg[0])
            return li < 0 ? bad(exit_code, "%s: -o: empty value%s", d->name, "")
                          : bad(exit_code, "%s: --%s: empty value", d->name, longopts[li].name);
        li = -1;
        if (apply(d, c, a, exit_code))
            return -1;
    }
    int npos = sub_argc - optind;
    if (d->arg && npos != 1)
        return bad(exit_code, "%s needs exactly one %s", d->name, d->arg);
    if (!d->arg && npos != 0)
        return bad(exit_code, "%s takes no argument, got '%s'", d->name, sub_argv[optind]);
    if (d->arg)
        a->arg = sub_argv[optind];
    if (d->arg && !a->arg[0])
        return bad(exit_code, "%s: %s is empty", d->name, d->arg);
    if ((d->allowed & A_OUT) && !a->out_dir)
        return bad(exit_code, "%s needs -o %s", d->name, d->cmd == CL_BULK ? "OUT" : "DIR");
    if (a->values_file && !a->values)
        return bad(exit_code, "--values-file needs --values 4|8 (the bytes of each value)%s%s",
                   "", "");
    if (a->values_file && d->cmd != CL_CREATE)
        return bad(exit_code, "--values-file goes with create (one keys file)%s%s", "", "");
    if (a->values && a->index_only)
        return bad(exit_code, "--values needs the key set: not with --index-only%s%s", "", "");
    if (a->partition_set && d->cmd != CL_CREATE && d->cmd != CL_BULK)
        return bad(exit_code, "--partition goes with create and bulk-create%s%s", "", "");
    if (!a->coordinator)
        a->coordinator = getenv("PHCLUSTER_COORDINATOR");
    bool own = !a->coordinator || !a->coordinator[0];
    if (own) {
        ph_err err = {0};
        if (!a->local && ph_local_default_endpoint(a->local_ep, sizeof a->local_ep, &err) != 0)
            return bad(exit_code, "%s%s", err.msg, "");
        a->coordinator = a->local_ep;
    }
    /* Tests on a busy machine give the coordinator longer to answer. */
    const char *reach = getenv("PHCLUSTER_REACH_MS");
    a->reach_ms = CL_REACH_MS;
    if (reach) {
        char *end;
        long v = strtol(reach, &end, 10);
        if (end == reach || *end || v < 1 || v > 3600000)
            return bad(exit_code, "PHCLUSTER_REACH_MS: '%s' is not a number of ms in "
                       "1..3600000%s", reach, "");
        a->reach_ms = (int)v;
    }
    if (d->allowed & A_NOCOORD)
        return 0;
    if (!a->curve_secret != !a->curve_server)
        return bad(exit_code, "--curve-secret and --curve-server go together%s%s", "", "");
    /* Refuse rather than hang on a handshake the coordinator will refuse. */
    if (!a->local && !a->curve_secret && !ph_endpoint_is_loopback(a->coordinator))
        return bad(exit_code, "coordinator %s is not loopback; it requires --curve-secret "
                   "and --curve-server%s", a->coordinator, "");
    ph_err err = {0};
    if (!a->local && ph_local_connect_check(a->coordinator, own, &err) != 0)
        return bad(exit_code, "--coordinator %s: %s", a->coordinator, err.msg);
    return 0;
}
