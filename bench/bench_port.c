/* bench_port.c - completion-port throughput: posts + completions per second
 * with empty work, 1 producer / 1 consumer and 2 / 2.
 *
 * usage: bench_port [packets] [capacity]    (defaults 2000000, 1024)
 * Each packet is one post and one completion (get) of an empty work item.
 * One line per configuration; "fd=1" runs with the readiness fd armed (as
 * when a zmq_poll loop watches the port), which adds eventfd writes/reads on
 * every empty <-> non-empty transition. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "ph_port.h"
#include "ph_time.h"

typedef struct bench_ctx {
    ph_port *port;
    unsigned long per_producer;
} bench_ctx;

static void *producer(void *arg)
{
    bench_ctx *c = arg;
    for (unsigned long i = 0; i < c->per_producer; i++) {
        ph_packet p = {.key = i};
        if (ph_port_post(c->port, &p, -1) != 0)
            break;
    }
    return NULL;
}

static void *consumer(void *arg)
{
    bench_ctx *c = arg;
    ph_packet p;
    unsigned long n = 0;
    while (ph_port_get(c->port, &p, -1) == 0)
        n++;
    return (void *)n;
}

static int run(unsigned producers, unsigned consumers, unsigned long packets, size_t cap,
               int arm_fd)
{
    bench_ctx c = {.per_producer = packets / producers};
    ph_err err = {0};
    if (ph_port_create(cap, &c.port, &err)) {
        fprintf(stderr, "bench_port: %s\n", err.msg);
        return 1;
    }
    if (arm_fd)
        (void)ph_port_fd(c.port);
    pthread_t pt[8], ct[8];
    uint64_t t0 = ph_time_ns();
    for (unsigned i = 0; i < consumers; i++)
        pthread_create(&ct[i], NULL, consumer, &c);
    for (unsigned i = 0; i < producers; i++)
        pthread_create(&pt[i], NULL, producer, &c);
    for (unsigned i = 0; i < producers; i++)
        pthread_join(pt[i], NULL);
    ph_port_close(c.port); /* consumers drain what is left, then stop */
    unsigned long got = 0;
    for (unsigned i = 0; i < consumers; i++) {
        void *n;
        pthread_join(ct[i], &n);
        got += (unsigned long)n;
    }
    double s = (double)(ph_time_ns() - t0) / 1e9;
    printf("bench_port backend=%s producers=%u consumers=%u capacity=%zu fd=%d packets=%lu "
           "seconds=%.3f packets_per_s=%.0f posts_plus_completions_per_s=%.0f\n",
           ph_port_backend_name(), producers, consumers, cap, arm_fd, got, s,
           (double)got / s, 2.0 * (double)got / s);
    ph_port_destroy(c.port);
    return got == c.per_producer * producers ? 0 : 1;
}

int main(int argc, char **argv)
{
    unsigned long packets = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000ul;
    size_t cap = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024;
    if (packets == 0 || cap == 0) {
        fprintf(stderr, "usage: bench_port [packets>0] [capacity>0]\n");
        return 2;
    }
    int rc = run(1, 1, packets, cap, 0);
    rc |= run(2, 2, packets, cap, 0);
    rc |= run(1, 1, packets, cap, 1);
    rc |= run(2, 2, packets, cap, 1);
    return rc;
}
