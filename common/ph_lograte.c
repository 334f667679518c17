/* ph_lograte.c - per (event, peer) log budgets in a fixed table. */
#include "ph_lograte.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define LR_PROBE 8             /* slots looked at for one pair */
#define LR_SWEEP_MS 1000       /* at most one sweep of the table per this */

typedef struct lr_slot {
    uint64_t hash;             /* of event name and peer bytes; 0 = free */
    const char *event;
    uint64_t start_ms;         /* window start */
    uint32_t count;            /* events this window */
    uint32_t suppressed;       /* of those, not logged */
    enum ph_log_level level;
    char peer[PH_LOGRATE_PEER_MAX + 1];
} lr_slot;

struct ph_lograte {
    const char *component;
    unsigned burst;
    uint64_t window_ms;
    uint64_t seed;
    uint64_t last_sweep_ms;
    uint64_t suppressed_total;
    lr_slot slots[PH_LOGRATE_SLOTS];
    lr_slot shared[PH_LOGRATE_SHARED];
};

static uint64_t lr_mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull; /* FNV-1a step */
    }
    return h;
}

static uint64_t lr_hash(const ph_lograte *r, const char *event, const void *peer, size_t n)
{
    uint64_t h = lr_mix(r->seed, event, strlen(event) + 1);
    h = lr_mix(h, peer, n);
    h ^= h >> 29;
    return h ? h : 1; /* 0 marks a free slot */
}

/* Printable peer: its bytes when they are all printable, else hex. */
static void lr_peer_text(const unsigned char *p, size_t n, char out[PH_LOGRATE_PEER_MAX + 1])
{
    static const char hex[] = "0123456789abcdef";
    bool printable = n > 0;
    for (size_t i = 0; i < n && printable; i++)
        printable = p[i] > 32 && p[i] < 127 && p[i] != '"';
    size_t o = 0;
    for (size_t i = 0; i < n && o + (printable ? 1 : 2) <= PH_LOGRATE_PEER_MAX; i++) {
        if (printable) {
            out[o++] = (char)p[i];
        } else {
            out[o++] = hex[p[i] >> 4];
            out[o++] = hex[p[i] & 15];
        }
    }
    out[o] = '\0';
}

int ph_lograte_new(const char *component, unsigned burst, uint64_t window_ms,
                   ph_lograte **out, ph_err *err)
{
    ph_lograte *r = calloc(1, sizeof *r);
    if (!r)
        return ph_err_set(err, PH_ENOMEM, "out of memory for the log rate limiter");
    r->component = component;
    r->burst = burst ? burst : PH_LOGRATE_BURST;
    r->window_ms = window_ms ? window_ms : PH_LOGRATE_WINDOW_MS;
    /* A seed a peer cannot guess: it cannot aim identities at one slot run
     * (and would only merge its own counts if it did). */
    if (getrandom(&r->seed, sizeof r->seed, GRND_NONBLOCK) != (ssize_t)sizeof r->seed)
        r->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)r;
    r->seed ^= 0xcbf29ce484222325ull;
    *out = r;
    return PH_OK;
}

static void lr_summary(ph_lograte *r, lr_slot *s)
{
    if (s->suppressed == 0)
        return;
    ph_log(s->level, r->component,
           "peer=%s event=%s suppressed=%u window_ms=%llu msg=\"repeated peer events "
           "suppressed\"",
           s->peer, s->event, s->suppressed, (unsigned long long)r->window_ms);
}

static bool lr_ended(const ph_lograte *r, const lr_slot *s, uint64_t now)
{
    return now - s->start_ms >= r->window_ms;
}

/* The slot of (hash, event): found, or a free or ended one taken over;
 * NULL when every probed slot holds another live pair. */
static lr_slot *lr_find(ph_lograte *r, lr_slot *tab, size_t cap, uint64_t h, const char *event,
                        uint64_t now)
{
    lr_slot *spare = NULL;
    for (size_t i = 0; i < LR_PROBE && i < cap; i++) {
        lr_slot *s = &tab[(h + i) & (cap - 1)];
        if (s->hash == h && (s->event == event || !strcmp(s->event, event)))
            return s;
        if (!spare && (s->hash == 0 || lr_ended(r, s, now)))
            spare = s;
    }
    if (spare) {
        lr_summary(r, spare);
        memset(spare, 0, sizeof *spare);
        spare->hash = h;
        spare->event = event;
        spare->start_ms = now;
    }
    return spare;
}

bool ph_lograte_allow(ph_lograte *r, const char *event, const void *peer, size_t peer_len,
                      enum ph_log_level level, uint64_t now_ms)
{
    if (!ph_log_enabled(level))
        return false;
    uint64_t h = lr_hash(r, event, peer, peer_len);
    lr_slot *s = lr_find(r, r->slots, PH_LOGRATE_SLOTS, h, event, now_ms);
    bool shared = !s;
    if (shared) {
        h = lr_hash(r, event, "", 0);
        s = lr_find(r, r->shared, PH_LOGRATE_SHARED, h, event, now_ms);
        if (!s) { /* more event names than shared slots: count only */
            r->suppressed_total++;
            return false;
        }
    }
    if (lr_ended(r, s, now_ms)) {
        lr_summary(r, s);
        s->start_ms = now_ms;
        s->count = s->suppressed = 0;
    }
    if (s->count == 0) {
        s->level = level;
        if (shared)
            snprintf(s->peer, sizeof s->peer, "*");
        else
            lr_peer_text(peer, peer_len, s->peer);
    }
    if (s->count < UINT32_MAX)
        s->count++;
    if (s->count <= r->burst)
        return true;
    if (s->suppressed < UINT32_MAX)
        s->suppressed++;
    r->suppressed_total++;
    if (s->count == r->burst + 1)
        ph_log(level, r->component,
               "peer=%s event=%s burst=%u window_ms=%llu msg=\"peer repeats this event; "
               "further ones are counted, not logged, until the window ends\"",
               s->peer, event, r->burst, (unsigned long long)r->window_ms);
    return false;
}

static void lr_sweep(ph_lograte *r, lr_slot *tab, size_t cap, uint64_t now, bool all)
{
    for (size_t i = 0; i < cap; i++) {
        lr_slot *s = &tab[i];
        if (s->hash == 0 || (!all && !lr_ended(r, s, now)))
            continue;
        lr_summary(r, s);
        memset(s, 0, sizeof *s);
    }
}

void ph_lograte_tick(ph_lograte *r, uint64_t now_ms)
{
    if (now_ms - r->last_sweep_ms < LR_SWEEP_MS)
        return;
    r->last_sweep_ms = now_ms;
    lr_sweep(r, r->slots, PH_LOGRATE_SLOTS, now_ms, false);
    lr_sweep(r, r->shared, PH_LOGRATE_SHARED, now_ms, false);
}

uint64_t ph_lograte_suppressed(const ph_lograte *r)
{
    return r->suppressed_total;
}

void ph_lograte_free(ph_lograte *r)
{
    if (!r)
        return;
    lr_sweep(r, r->slots, PH_LOGRATE_SLOTS, 0, true);
    lr_sweep(r, r->shared, PH_LOGRATE_SHARED, 0, true);
    free(r);
}
