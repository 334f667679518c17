/* hx_file.c - see hx_file.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hx_file.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

/* Plain file reads and writes are tests/util's; these keep the harness's
 * spelling for the many process tests that use it. */
char *hx_slurp(const char *path) { return tu_slurp(path, NULL); }

bool hx_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

void hx_mkdir(const char *path) { assert_int_equal(mkdir(path, 0755), 0); }

void hx_write_bytes(const char *path, const void *data, size_t len)
{
    tu_write(path, data, len, 0644);
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

/* Ports a test binds by number come from below the kernel's ephemeral
 * range (ip_local_port_range): a port in that range goes to any outgoing
 * connection and any bind to port 0 on the machine (the clients and workers
 * of the tests beside this one under ctest -j), so one found free there can
 * be taken before phcoord binds it, or between a coordinator's kill and its
 * restart on the same port; a worker reconnecting to a stopped coordinator
 * can even be given that very port and connect to itself.  Below the range
 * only a process that names the number can take it, and the tests of this
 * suite agree among themselves through a reservation (port_reserve). */
#define HX_PORT_FLOOR 10000 /* clear of the usual services' ports */

static void port_range(int *lo, int *hi)
{
    int elo = 32768, ehi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &elo, &ehi) != 2)
            elo = 32768, ehi = 60999;
        fclose(f);
    }
    if (elo > HX_PORT_FLOOR + 1000) /* the usual case: [10000, elo) */
        *lo = HX_PORT_FLOOR, *hi = elo - 1;
    else /* an ephemeral range reaching low: above it */
        *lo = ehi + 1, *hi = 65535;
    assert_true(*lo <= *hi);
}

/* An abstract Unix socket named after the port, bound for the rest of this
 * process: another test process asking for the same number sees it taken.
 * No file is left behind, and the name goes when the process ends however
 * it ends. */
static bool port_reserve(int port)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "phcluster-test-port-%d", port);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    if (bind(fd, (struct sockaddr *)&a, len) == 0)
        return true; /* fd stays open: it is the reservation */
    close(fd);
    return false;
}

/* Nothing listens on the port (SO_REUSEADDR, as libzmq's listener sets:
 * connections of an earlier owner in TIME_WAIT do not stop a bind). */
static bool port_bindable(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int one = 1;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

int hx_free_port(void)
{
    static uint32_t rng;
    if (!rng) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng = ((uint32_t)getpid() * 2654435761u) ^ (uint32_t)ts.tv_nsec ^ 1u;
    }
    int lo, hi;
    port_range(&lo, &hi);
    for (int tries = 0; tries < 1000; tries++) {
        rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5; /* xorshift32 */
        int port = lo + (int)(rng % (uint32_t)(hi - lo + 1));
        if (port_bindable(port) && port_reserve(port))
            return port;
    }
    fail_msg("harness: no free loopback port in %d..%d after 1000 tries", lo, hi);
    return -1;
}
