/* harness.c - see harness.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

const char *const hx_coord_bin = PHCOORD_BIN;
const char *const hx_worker_bin = PHWORKER_BIN;
const char *const hx_client_bin = PHCLIENT_BIN;

#define HX_MAX_PIDS 64

/* Every wait of a test ends by this time, so a hang fails the test itself
 * (with its teardown) well before ctest's 60 s timeout; 0 = no budget. */
static uint64_t budget_end;
static char root[256];
static char endpoint[256];
static hx_args client_pre;
/* Every wait of a test ends by this time, so a hang fails the test itself
 * (with its teardown) well before ctest's 60 s timeout; 0 = no budget. */
static uint64_t budget_end; /* e.g. CURVE options for every phclient */
static pid_t coord;
/* Spawned and not yet reaped; kind 'c' coordinator, 'w' worker, 'o' other. */
static struct {
    pid_t pid;
    char kind;
} procs[HX_MAX_PIDS];

/* ---- small utilities ----------------------------------------------------- */

void hx_sleep_ms(unsigned ms)
{
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

static void args_cat(hx_args *a, const hx_args *b)
{
    for (int i = 0; b && i < b->n; i++) {
        assert_true(a->n < HX_MAX_ARGS);
        a->v[a->n++] = b->v[i];
    }
    a->v[a->n] = NULL;
}

const char *hx_path(const char *fmt, ...)
{
    static char ring[32][1024];
    static int next;
    char *out = ring[next++ % 32];
    int n = snprintf(out, sizeof ring[0], "%s/", root);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + n, sizeof ring[0] - (size_t)n, fmt, ap);
    va_end(ap);
    return out;
}

const char *hx_root(void) { return root; }
const char *hx_endpoint(void) { return endpoint; }
pid_t hx_coord_pid(void) { return coord; }

char *hx_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

bool hx_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

void hx_mkdir(const char *path) { assert_int_equal(mkdir(path, 0755), 0); }

void hx_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void hx_write_keys(const char *path, uint32_t n, uint32_t salt, bool dup)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = ((i + salt * 7919u) * 2654435761u) ^ salt;
        if (dup && i == n - 1)
            k = ((0 + salt * 7919u) * 2654435761u) ^ salt;
        assert_int_equal(fwrite(&k, 4, 1, f), 1);
    }
    assert_int_equal(fclose(f), 0);
}

int hx_count(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = s; p && (p = strstr(p, sub)) != NULL; p += strlen(sub))
        n++;
    return n;
}

uint64_t hx_field(const char *json, const char *key)
{
    char pat[96];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

static const char *names_sub;
static int names_hits;

static int names_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag;
    if (strstr(p + ftw->base, names_sub))
        names_hits++;
    return 0;
}

int hx_count_names(const char *dir, const char *sub)
{
    names_sub = sub;
    names_hits = 0;
    if (nftw(dir, names_one, 16, FTW_PHYS) != 0)
        return -1;
    return names_hits;
}

int hx_csv_rows_for(const char *csv, const char *name)
{
    if (!csv)
        return -1;
    int n = 0;
    size_t len = strlen(name);
    for (const char *l = csv; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (!strncmp(l, name, len) && l[len] == ',')
            n++;
    return n;
}

void hx_dump(const char *label, const char *path)
{
    char *s = hx_slurp(path);
    size_t len = s ? strlen(s) : 0;
    /* The tail is what explains a failure; keep the output bounded. */
    const char *from = len > 3000 ? s + len - 3000 : s;
    fprintf(stderr, "---- %s (%s)%s\n%s\n---- end %s\n", label, path,
            len > 3000 ? " [tail]" : "", s ? from : "(missing)", label);
    free(s);
}

long hx_hwm_kb(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/status", (long)pid);
    char *s = hx_slurp(p);
    const char *h = s ? strstr(s, "VmHWM:") : NULL;
    long kb = h ? strtol(h + 6, NULL, 10) : 0;
    free(s);
    return kb;
}

int hx_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- processes ----------------------------------------------------------- */

static void track(pid_t pid, char kind)
{
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
    if (pid == coord)
        coord = 0;
}

/* In the child: stdio, cwd, and death with the test process, so a test
 * killed by ctest's timeout leaves no cluster behind. */
static void child_exec(const hx_args *a, const char *cwd, const char *out, const char *err,
                       pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int in = open("/dev/null", O_RDONLY);
    int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
        _exit(127);
    if (cwd && chdir(cwd) != 0)
        _exit(127);
    execv(a->v[0], (char *const *)a->v);
    _exit(127);
}

pid_t hx_spawn(const hx_args *a, const char *cwd, const char *out, const char *err)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(a, cwd, out, err, parent);
    assert_true(pid > 0);
    track(pid, 'o');
    return pid;
}

static int decode_status(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int hx_wait(pid_t pid, int deadline_ms)
{
    uint64_t end = hx_deadline(deadline_ms);
    int st;
    for (unsigned nap = 1;; nap = nap < 20 ? nap * 2 : 20) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            untrack(pid);
            return decode_status(st);
        }
        if (r < 0 && errno != EINTR) {
            untrack(pid);
            return -1;
        }
        if (hx_now_ms() >= end)
            break;
        hx_sleep_ms(nap);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    untrack(pid);
    return HX_TIMEOUT;
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

int hx_coord_start(const char *bind, const hx_args *extra, const char *cwd, const char *log)
{
    const char *epf = hx_path("endpoint");
    char epf_copy[1024], logp[1024];
    snprintf(epf_copy, sizeof epf_copy, "%s", epf);
    snprintf(logp, sizeof logp, "%s", hx_path("%s", log));
    unlink(epf_copy);
    hx_args a = {0};
    hx_args_add(&a, hx_coord_bin, "--bind", bind ? bind : "tcp://127.0.0.1:*", "--endpoint-file",
                epf_copy, "--heartbeat-ms", "100", "--liveness-ms", "1000", "--log-level", "info",
                NULL);
    args_cat(&a, extra);
    pid_t pid = hx_spawn(&a, cwd, NULL, logp);
    for (int i = 0; i < 600; i++) {
        char *ep = hx_slurp(epf_copy);
        if (ep && strchr(ep, '\n')) {
            ep[strcspn(ep, "\n")] = '\0';
            snprintf(endpoint, sizeof endpoint, "%s", ep);
            free(ep);
            for (int j = 0; j < HX_MAX_PIDS; j++)
                if (procs[j].pid == pid)
                    procs[j].kind = 'c';
            coord = pid;
            return 0;
        }
        free(ep);
        if (!hx_alive(pid)) {
            int rc = hx_wait(pid, 1000);
            fprintf(stderr, "phcoord exited with %d before listening\n", rc);
            hx_dump("phcoord log", logp);
            return rc > 0 ? rc : 1;
        }
        hx_sleep_ms(10);
    }
    hx_dump("phcoord log", logp);
    return -1;
}

void hx_coord_kill9(void)
{
    if (coord > 0) {
        kill(coord, SIGKILL);
        hx_wait(coord, 5000);
    }
    coord = 0;
}

pid_t hx_worker_start(const hx_args *extra, const char *log)
{
    hx_args a = {0};
    hx_args_add(&a, hx_worker_bin, "--coordinator", endpoint, "--heartbeat-ms", "100",
                "--liveness-ms", "1000", "--log-level", "info", NULL);
    args_cat(&a, extra);
    pid_t pid = hx_spawn(&a, NULL, NULL, hx_path("%s", log));
    for (int j = 0; j < HX_MAX_PIDS; j++)
        if (procs[j].pid == pid)
            procs[j].kind = 'w';
    return pid;
}

static int client_va(const hx_args *pre, int deadline_ms, va_list ap)
{
    hx_args a = {0};
    hx_args_add(&a, hx_client_bin, NULL);
    args_cat(&a, pre ? pre : &client_pre);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        hx_args_add(&a, s, NULL);
    hx_args_add(&a, "--coordinator", endpoint, NULL);
    char out[1024], err[1024];
    snprintf(out, sizeof out, "%s", hx_path("client.out"));
    snprintf(err, sizeof err, "%s", hx_path("client.err"));
    unlink(err);
    return hx_run(&a, NULL, out, err, deadline_ms);
}

int hx_client(int deadline_ms, ...)
{
    va_list ap;
    va_start(ap, deadline_ms);
    int rc = client_va(NULL, deadline_ms, ap);
    va_end(ap);
    return rc;
}

int hx_client_pre(const hx_args *pre, int deadline_ms, ...)
{
    va_list ap;
    va_start(ap, deadline_ms);
    int rc = client_va(pre, deadline_ms, ap);
    va_end(ap);
    return rc;
}

void hx_client_defaults(const hx_args *pre)
{
    memset(&client_pre, 0, sizeof client_pre);
    args_cat(&client_pre, pre);
}

char *hx_client_out(void) { return hx_slurp(hx_path("client.out")); }
char *hx_client_err(void) { return hx_slurp(hx_path("client.err")); }

int hx_workers_registered(void)
{
    if (hx_client(10000, "status", "--json", NULL) != 0)
        return -1;
    char *s = hx_client_out();
    int n = s ? hx_count(s, "\"pid\":") : -1;
    free(s);
    return n;
}

bool hx_wait_workers(int n, int deadline_ms)
{
    uint64_t end = hx_deadline(deadline_ms);
    while (hx_now_ms() < end) {
        if (hx_workers_registered() >= n)
            return true;
        hx_sleep_ms(20);
    }
    return false;
}

bool hx_submit_bulk(const char *dir, const char *out, char token[17])
{
    int rc = hx_client(20000, "bulk-create", dir, "-o", out, "--no-wait", "--json", NULL);
    char *j = hx_client_out();
    const char *t = j ? strstr(j, "\"token\":\"") : NULL;
    bool ok = rc == 0 && t && strlen(t) >= 25;
    if (ok) {
        memcpy(token, t + 9, 16);
        token[16] = '\0';
    } else {
        fprintf(stderr, "bulk-create --no-wait exited %d: %s\n", rc, j ? j : "(no output)");
        hx_dump("client stderr", hx_path("client.err"));
    }
    free(j);
    return ok;
}

/* ---- fixture ------------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    /* Best effort: a leftover entry must not fail the test. */
    remove(p);
    return 0;
}

int hx_setup(void **state)
{
    (void)state;
    memset(procs, 0, sizeof procs);
    memset(&client_pre, 0, sizeof client_pre);
    coord = 0;
    endpoint[0] = '\0';
    const char *b = getenv("HX_BUDGET_MS");
    budget_end = hx_now_ms() + (b ? strtoull(b, NULL, 10) : 50000u);
    snprintf(root, sizeof root, "/tmp/ph-hard-XXXXXX");
    return mkdtemp(root) ? 0 : -1;
}

int hx_teardown(void **state)
{
    (void)state;
    int bad = 0;
    budget_end = 0;
    if (coord > 0 && hx_alive(coord)) {
        pid_t c = coord;
        hx_args a = {0};
        hx_args_add(&a, hx_client_bin, NULL);
        args_cat(&a, &client_pre);
        hx_args_add(&a, "shutdown", "--coordinator", endpoint, NULL);
        hx_run(&a, NULL, NULL, NULL, 5000);
        int rc = hx_wait(c, 10000);
        if (rc != 0) {
            fprintf(stderr, "phcoord exited with %d after SHUTDOWN\n", rc);
            hx_dump("phcoord log", hx_path("coord.log"));
            bad = 1;
        }
    } else if (coord > 0) {
        int rc = hx_wait(coord, 1000);
        fprintf(stderr, "phcoord died during the test (exit %d)\n", rc);
        hx_dump("phcoord log", hx_path("coord.log"));
        bad = 1;
    }
    for (int i = 0; i < HX_MAX_PIDS; i++) {
        pid_t p = procs[i].pid;
        if (p <= 0)
            continue;
        if (procs[i].kind == 'w' || procs[i].kind == 'c') {
            kill(p, SIGCONT); /* a SIGSTOPped worker must see the TERM */
            kill(p, SIGTERM);
            hx_wait(p, 5000);
        } else {
            kill(p, SIGKILL);
            hx_wait(p, 5000);
        }
    }
    if (!getenv("HX_KEEP") && !bad)
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "harness: kept %s\n", root);
    return bad ? -1 : 0;
}
