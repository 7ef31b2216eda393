/* A key-value server that speaks the Redis protocol (RESP2), so redis-cli
 * and redis-benchmark drive it: PING, ECHO, GET, SET (EX, PX), DEL, EXISTS,
 * INCR, DBSIZE, QUIT, and DEBUG HTSTATS 0 (the hash table's shape). One
 * task per connection, in a malloc'ed frame, serves every whole request a
 * read brought in (pipelining) and sends the replies in one write.
 * Keys sit in a hash table whose hash (SipHash-1-3) is keyed by a random
 * seed drawn at start, so clients cannot choose keys that collide; the
 * table doubles when it holds more keys than buckets, moving 16 buckets per
 * lookup meanwhile, so no command pays for the whole move. Keys with a time
 * to live sit in a heap ordered by deadline; one sweeper task sleeps until
 * the earliest and deletes what is due, 1000 keys per turn, letting the
 * clients in between; lookups treat an expired key as gone even before the
 * sweeper runs, and a SET that needs room deletes a few expired keys first.
 * As Redis does: integers (INCR's value, the numbers of EX and PX) are read
 * as its string2ll reads them: "0", or an optional '-' and digits with no
 * leading zero (no "-0", "007", "+1", spaces), from -2^63 to 2^63-1, else
 * "value is not an integer or out of range". A time to live must be
 * positive, and its deadline, in ms since the Unix epoch, must fit in 64
 * bits (now + ms <= 2^63-1; EX: seconds * 1000 too), else "invalid expire
 * time in 'set' command"; the deadline then runs on the monotonic clock.
 * SET reads its options first (a second EX, or PX, replaces the first; EX
 * with PX is a syntax error; a name ends at a NUL byte), then the time to
 * live.
 * Unlike Redis: the error for an unknown command names the command only
 * (at most 40 bytes, unprintable ones as '?'), not its arguments; inline
 * commands split at blanks only (no quoting); SET has no NX, XX, GET,
 * KEEPTTL, EXAT or PXAT; DEBUG has HTSTATS 0 only (and is always on).
 * Limits, all fixed: 65536 keys and 64 MiB of keys and values (SET beyond
 * them: -OOM), arguments of up to 8 KiB, a request of up to 16.25 KiB, up
 * to 64 arguments; a request beyond these is a protocol error that closes
 * the connection, as Redis does.
 * With --threads N (N > 1), as Redis 6's I/O threads: N I/O threads read
 * and parse requests and write replies, each with its own listening socket
 * on the port (SO_REUSEPORT: Linux spreads the connections among them) and
 * its own scheduler (the default one, which is per thread), while the
 * store (the table, the heap, the sweeper) stays on one thread, main's, the
 * store thread, that runs every command. A connection task parses what a
 * read brought in into a batch of requests in its frame, puts the frame's
 * address into the store's mt_chan and waits on a semaphore in the frame;
 * a store task runs the batch, writing the replies into the frame, and
 * puts the frame back into the reply channel of its I/O thread, whose
 * dispatcher task signals the semaphore. Why a channel and not a lock
 * around the store: a task that waited for a lock another thread holds
 * would block its whole scheduler, and so every client of its thread; the
 * channel keeps the store's data on one thread with no lock on any of it,
 * each command runs whole, batches one after another, so the answers are
 * exactly the single-threaded server's, and each put/get pair orders the
 * memory of the frame as it crosses (the consumer sees what the producer
 * wrote before the put). The store holds a frame until it answers: the
 * connection's wait for the answer is shielded from cancellation
 * (MT_SHIELD), so a client that leaves, or a shutdown, never frees a frame
 * the store thread is writing into. SIGINT and SIGTERM go to a thread of
 * their own (sigwait), which posts the store thread's stop signal; its
 * stopper posts each I/O thread's, serves until every I/O thread has ended
 * its connections and its loop, then ends the store's tasks; main joins
 * the threads and writes how many connections each served to stderr.
 * Usage: kvserver [--threads N] [PORT]   (port 0: any; prints the port;
 *        N from 1, the default: one thread, no channel, to 32)
 * Try:   redis-cli -p PORT set greeting hello EX 10 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* glibc: SO_REUSEPORT */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "multitask.h"

/* The I/O threads need the channel (MT_THREADS) and SO_REUSEPORT. */
#if MT_THREADS && defined(SO_REUSEPORT)
#define THREADS 1
#include <pthread.h>
#else
#define THREADS 0
#endif

#define MAX_ARGS 64
#define MAX_BULK 8192                     /* one argument */
#define IN_CAP (2 * MAX_BULK + 256)       /* one request: SET of a key and a value */
#define OUT_CAP 32768
#define REPLY_MAX (MAX_BULK + 64)         /* the longest reply to one command */
#define STORE_KEYS 65536
#define STORE_BYTES (64UL << 20)
#define TABLE_MIN 64                      /* buckets at first; a power of two */
#define TABLE_MAX STORE_KEYS              /* buckets at most */
#define REHASH_STEP 16                    /* buckets moved per lookup while growing */
#define SWEEP_BATCH 1000                  /* expired keys deleted per turn */
#define RECLAIM_MAX 64                    /* expired keys a SET may delete for room */
#define WRITE_MS 30000                    /* a client that reads nothing this long goes */
#define DRAIN_MS 1000                     /* closing: time to take what the client sends */
#define BATCH_ARGS 512                    /* arguments of the requests parsed at once */
#define MAX_THREADS 32                    /* I/O threads at most */
#define STORE_TURN 64                     /* batches the store runs before giving way */
#define ANSWER_MS 1000                    /* a connection re-arms its wait for the store */
/* Channel slots: a batch in flight per connection fits; a full channel
 * only slows the producers (they try again each tick). A ring holds at
 * most MT_RING_CAP_MAX (128 with 8-bit indices). */
#define CHAN_CAP (MT_RING_CAP_MAX < 1024 ? MT_RING_CAP_MAX : 1024)

/* ---- The store: a hash table, and a heap of the keys that expire ---- */

struct entry {
    struct entry *next; /* in its bucket */
    char *val;
    size_t vlen, klen;
    size_t hpos;        /* 1-based place in the heap; 0: no time to live */
    long long expire;   /* ms of the monotonic clock, if hpos */
    uint64_t hash;      /* of the key, kept for moving it to a bigger table */
    char key[];
};

/* The table grows (doubles) when it holds more keys than buckets. It moves
 * incrementally: while tab[1] is the bigger table, each lookup or insertion
 * first moves a few of tab[0]'s buckets (those below `moved` are done), so
 * no command pays for the whole move. New keys go to tab[1] meanwhile. */
struct table {
    struct entry **b;
    size_t size; /* a power of two; 0: none */
};

static struct table tab[2];
static size_t moved;
static uint64_t seed[2]; /* the hash's key: random, drawn at start */
static struct entry *heap[STORE_KEYS + 1];
static size_t nkeys, nheap, bytes;
static mt_event rearm; /* set when a key gets the earliest deadline */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The hash: SipHash-1-3 (Aumasson and Bernstein's keyed function, one
 * compression round, three finalization rounds), keyed by `seed`. A client
 * that does not know the key cannot choose keys that share a bucket. */
#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t *v)
{
    v[0] += v[1], v[1] = ROTL(v[1], 13), v[1] ^= v[0], v[0] = ROTL(v[0], 32);
    v[2] += v[3], v[3] = ROTL(v[3], 16), v[3] ^= v[2];
    v[0] += v[3], v[3] = ROTL(v[3], 21), v[3] ^= v[0];
    v[2] += v[1], v[1] = ROTL(v[1], 17), v[1] ^= v[2], v[2] = ROTL(v[2], 32);
}

static uint64_t le64(const unsigned char *p) /* 8 bytes, little-endian */
{
    uint64_t x = 0;
    int i;
    for (i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static uint64_t hash(const char *k, size_t n)
{
    const unsigned char *p = (const unsigned char *)k;
    uint64_t v[4], m;
    size_t i, j;

    v[0] = seed[0] ^ 0x736f6d6570736575ULL;
    v[1] = seed[1] ^ 0x646f72616e646f6dULL;
    v[2] = seed[0] ^ 0x6c7967656e657261ULL;
    v[3] = seed[1] ^ 0x7465646279746573ULL;
    for (i = 0; i + 8 <= n; i += 8) {
        m = le64(p + i);
        v[3] ^= m;
        sip_round(v);
        v[0] ^= m;
    }
    m = (uint64_t)n << 56; /* the last 0-7 bytes and the length */
    for (j = 0; i + j < n; j++)
        m |= (uint64_t)p[i + j] << (8 * j);
    v[3] ^= m;
    sip_round(v);
    v[0] ^= m;
    v[2] ^= 0xff;
    sip_round(v);
    sip_round(v);
    sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* The key: 16 bytes of /dev/urandom, mixed with the time and the pid (all
 * that is left if there is no /dev/urandom). */
static void seed_hash(void)
{
    unsigned char b[16] = {0};
    struct timespec ts;
    FILE *f = fopen("/dev/urandom", "rb");

    if (f) {
        if (fread(b, 1, sizeof b, f) != sizeof b)
            memset(b, 0, sizeof b);
        fclose(f);
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    seed[0] = le64(b) ^ (uint64_t)ts.tv_sec * 0x9e3779b97f4a7c15ULL;
    seed[1] = le64(b + 8) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
}

static void heap_swap(size_t i, size_t j)
{
    struct entry *e = heap[i];
    heap[i] = heap[j];
    heap[j] = e;
    heap[i]->hpos = i;
    heap[j]->hpos = j;
}

/* Move the entry at i to its place after its deadline changed. */
static void heap_fix(size_t i)
{
    while (i > 1 && heap[i]->expire < heap[i / 2]->expire) {
        heap_swap(i, i / 2);
        i /= 2;
    }
    for (;;) {
        size_t m = i, l = 2 * i, r = l + 1;
        if (l <= nheap && heap[l]->expire < heap[m]->expire)
            m = l;
        if (r <= nheap && heap[r]->expire < heap[m]->expire)
            m = r;
        if (m == i)
            return;
        heap_swap(i, m);
        i = m;
    }
}

static void set_expire(struct entry *e, long long expire)
{
    if (!expire) {
        if (e->hpos) { /* the last one takes its place */
            size_t i = e->hpos;
            heap_swap(i, nheap--);
            e->hpos = 0;
            if (i <= nheap)
                heap_fix(i);
        }
        return;
    }
    if (!e->hpos) {
        heap[++nheap] = e;
        e->hpos = nheap;
    }
    e->expire = expire;
    heap_fix(e->hpos);
    if (heap[1] == e)
        mt_event_set(&rearm); /* the sweeper sleeps too long now */
}

static void del(struct entry **link)
{
    struct entry *e = *link;
    *link = e->next;
    set_expire(e, 0);
    nkeys--;
    bytes -= e->klen + e->vlen;
    free(e->val);
    free(e);
}

/* While the table grows: move up to REHASH_STEP buckets of tab[0] (passing
 * at most 10 times as many empty ones), and end the move after the last. */
static void rehash_step(void)
{
    size_t full = REHASH_STEP, empty = 10 * REHASH_STEP;

    while (tab[1].size && full && empty && moved < tab[0].size) {
        struct entry *e = tab[0].b[moved], *next;
        if (!e) {
            moved++, empty--;
            continue;
        }
        for (; e; e = next) {
            struct entry **b = &tab[1].b[e->hash & (tab[1].size - 1)];
            next = e->next;
            e->next = *b;
            *b = e;
        }
        tab[0].b[moved++] = NULL;
        full--;
    }
    if (tab[1].size && moved == tab[0].size) {
        free(tab[0].b);
        tab[0] = tab[1];
        tab[1].b = NULL;
        tab[1].size = 0;
        moved = 0;
    }
}

/* After an insertion: start moving to a table twice the size when there are
 * more keys than buckets (no room for it: go on with this one). */
static void maybe_grow(void)
{
    if (tab[1].size || nkeys <= tab[0].size || tab[0].size >= TABLE_MAX)
        return;
    tab[1].b = (struct entry **)calloc(2 * tab[0].size, sizeof *tab[1].b);
    if (tab[1].b)
        tab[1].size = 2 * tab[0].size;
}

/* The bucket a new key of hash h goes to. */
static struct entry **bucket(uint64_t h)
{
    struct table *t = &tab[tab[1].size ? 1 : 0];
    return &t->b[h & (t->size - 1)];
}

/* The link that points to key k's entry (hash h), or NULL. */
static struct entry **link_of(const char *k, size_t klen, uint64_t h)
{
    struct entry **link;
    int i;

    rehash_step();
    for (i = 0; i < 2 && tab[i].size; i++)
        for (link = &tab[i].b[h & (tab[i].size - 1)]; *link; link = &(*link)->next)
            if ((*link)->hash == h && (*link)->klen == klen &&
                memcmp((*link)->key, k, klen) == 0)
                return link;
    return NULL;
}

/* The same for a key that has not expired. A key past its deadline is
 * deleted here, so no command sees it, whenever the sweeper comes. */
static struct entry **find_h(const char *k, size_t klen, uint64_t h)
{
    struct entry **link = link_of(k, klen, h);
    if (link && (*link)->hpos && (*link)->expire <= now_ms()) {
        del(link);
        return NULL;
    }
    return link;
}

static struct entry **find(const char *k, size_t klen)
{
    return find_h(k, klen, hash(k, klen));
}

static struct entry *lookup(const char *k, size_t klen)
{
    struct entry **link = find(k, klen);
    return link ? *link : NULL;
}

/* Delete the key with the earliest deadline if it is due (and is not
 * `keep`): 1 if it did. */
static int del_due(const struct entry *keep)
{
    struct entry *e = nheap ? heap[1] : NULL;
    if (!e || e == keep || e->expire > now_ms())
        return 0;
    del(link_of(e->key, e->klen, e->hash));
    return 1;
}

/* Whether setting key k (entry e, if it has one) to a value of vlen bytes
 * would go beyond the limits. */
static int too_big(const struct entry *e, size_t klen, size_t vlen)
{
    return (e ? bytes - e->vlen : bytes + klen) + vlen > STORE_BYTES ||
           (!e && nkeys == STORE_KEYS);
}

/* Give key k the value v, keeping its time to live. NULL: out of room.
 * Keys past their deadline that the sweeper has not reached yet make room
 * first (a few; the sweeper deletes the rest soon). */
static struct entry *put(const char *k, size_t klen, const char *v, size_t vlen)
{
    uint64_t h = hash(k, klen);
    struct entry **link = find_h(k, klen, h), *e = link ? *link : NULL;
    int reclaim = RECLAIM_MAX;
    char *val;

    while (too_big(e, klen, vlen) && reclaim-- > 0 && del_due(e))
        ;
    if (too_big(e, klen, vlen))
        return NULL;
    if ((val = (char *)malloc(vlen ? vlen : 1)) == NULL)
        return NULL;
    if (!e) {
        if ((e = (struct entry *)calloc(1, sizeof *e + klen)) == NULL) {
            free(val);
            return NULL;
        }
        memcpy(e->key, k, klen);
        e->klen = klen;
        e->hash = h;
        link = bucket(h);
        e->next = *link;
        *link = e;
        nkeys++;
        bytes += klen;
        maybe_grow();
    }
    memcpy(val, v, vlen);
    free(e->val);
    bytes = bytes - e->vlen + vlen;
    e->val = val;
    e->vlen = vlen;
    return e;
}

/* Delete up to SWEEP_BATCH keys that are due: 1 if more are due. */
static int expire_due(void)
{
    int n;
    for (n = 0; n < SWEEP_BATCH; n++)
        if (!del_due(NULL))
            return 0;
    return 1;
}

/* Deletes the keys that are due, SWEEP_BATCH at a time with a turn for the
 * others between batches, then sleeps until the next deadline, or, with no
 * key left to expire, until a SET gives one the earliest deadline. */
static int sweeper(mt_task *t)
{
    long long left;
    long wait;
    MT_BEGIN(t);
    for (;;) {
        if (expire_due()) {
            MT_YIELD(t);
            continue;
        }
        mt_event_clear(&rearm);
        left = nheap ? heap[1]->expire - now_ms() : 0;
        /* Long waits in steps the clock can time (16-bit ticks: 32 s). A
         * deadline passed meanwhile (left <= 0): at once. */
        wait = !nheap ? MT_FOREVER : left <= 0 ? 0 : left < MT_TIMEOUT_MAX ? (long)left : MT_TIMEOUT_MAX;
        MT_CATCH(t, MT_EVENT_WAIT(t, &rearm, wait));
        if (mt_err(t) == MT_ECANCELED)
            break;
    }
    MT_END(t);
}

/* ---- A connection: requests in, replies out ---- */

struct io;

/* A connection's frame. What a read brought in is parsed into a batch of
 * requests: their arguments in args/lens (pointers into `in`), nargv[i]
 * arguments for request i. The batch runs from request `req` (its first
 * argument at `arg`); argc/argv/alen are the request running now. With
 * I/O threads the store thread runs the batch: between the put into its
 * channel and `answered`, the fields of the batch and `out`, `olen` and
 * `closing` are the store's. */
struct conn {
    mt_task task;
    struct conn *prev, *next; /* its I/O thread's live ones, for shutdown */
    struct io *io;
    int fd, closing, argc;       /* closing: after QUIT or a protocol error */
    int nargs, nreqs, req, arg, parsed; /* parsed: parse_batch's result */
    const char *bad;             /* the protocol error after the batch */
    mt_time deadline;
    size_t len, pos, olen, done; /* in[0, len) read; [0, pos) parsed */
    ssize_t n;
    mt_sem answered;             /* the store thread is done with the batch */
    const char **argv;
    const size_t *alen;
    const char *args[BATCH_ARGS];
    size_t lens[BATCH_ARGS];
    unsigned char nargv[BATCH_ARGS];
    char in[IN_CAP];
    char out[OUT_CAP];
};

/* Replies: the caller has made room for REPLY_MAX bytes. */
static void reply(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    c->olen += (size_t)vsnprintf(c->out + c->olen, OUT_CAP - c->olen, fmt, ap);
    va_end(ap);
}

static void reply_bulk(struct conn *c, const char *p, size_t n)
{
    reply(c, "$%lu\r\n", (unsigned long)n);
    memcpy(c->out + c->olen, p, n);
    memcpy(c->out + c->olen + n, "\r\n", 2);
    c->olen += n + 2;
}

/* A decimal integer as Redis reads one (its string2ll): "0", or an
 * optional '-' and digits without a leading zero (no "-0", "007", "+1" or
 * spaces), from -2^63 to 2^63-1. */
static int parse_ll(const char *p, size_t n, long long *v)
{
    unsigned long long x = 0, max = LLONG_MAX;
    int neg = n > 1 && *p == '-';
    size_t i = (size_t)neg;

    if (n == 1 && *p == '0') {
        *v = 0;
        return 1;
    }
    if (i == n || p[i] < '1' || p[i] > '9')
        return 0;
    if (neg)
        max++; /* 2^63 */
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)p[i] - '0';
        if (d > 9 || x > (max - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = neg ? -(long long)(x - 1) - 1 : (long long)x;
    return 1;
}

static int arg_is(struct conn *c, int i, const char *word)
{
    return c->alen[i] == strlen(word) && strncasecmp(c->argv[i], word, c->alen[i]) == 0;
}

/* SET's option names, as Redis compares them: up to a NUL byte ("EX\0x"
 * is EX). */
static int opt_is(struct conn *c, int i, const char *word)
{
    const char *nul = (const char *)memchr(c->argv[i], '\0', c->alen[i]);
    size_t n = nul ? (size_t)(nul - c->argv[i]) : c->alen[i];
    return n == strlen(word) && strncasecmp(c->argv[i], word, n) == 0;
}

static void cmd_ping(struct conn *c)
{
    if (c->argc == 2)
        reply_bulk(c, c->argv[1], c->alen[1]);
    else
        reply(c, "+PONG\r\n");
}

static void cmd_echo(struct conn *c) { reply_bulk(c, c->argv[1], c->alen[1]); }

static void cmd_get(struct conn *c)
{
    struct entry *e = lookup(c->argv[1], c->alen[1]);
    if (e)
        reply_bulk(c, e->val, e->vlen);
    else
        reply(c, "$-1\r\n");
}

/* The time to live, in ms, that SET's argument i gives with EX (ex) or PX,
 * as Redis takes it: an integer (else "not an integer"), positive, and
 * with a deadline that 64 bits hold: unix_ms() + ms <= 2^63-1 (else
 * "invalid expire time"). 0 after an error reply. */
static long long ttl_arg(struct conn *c, int i, int ex)
{
    long long v;
    if (!parse_ll(c->argv[i], c->alen[i], &v)) {
        reply(c, "-ERR value is not an integer or out of range\r\n");
        return 0;
    }
    if (v <= 0 || (ex && v > LLONG_MAX / 1000) || (ex ? v * 1000 : v) > LLONG_MAX - unix_ms()) {
        reply(c, "-ERR invalid expire time in 'set' command\r\n");
        return 0;
    }
    return ex ? v * 1000 : v;
}

/* SET key value [EX s | PX ms]: the options are read first (an EX or PX
 * again replaces the earlier one, as in Redis; EX and PX together are a
 * syntax error), then the time to live. */
static void cmd_set(struct conn *c)
{
    long long ttl = 0, now;
    struct entry *e;
    int i, arg = 0, ex = 0;

    for (i = 3; i < c->argc; i += 2) {
        int is_ex = opt_is(c, i, "EX");
        if ((!is_ex && !opt_is(c, i, "PX")) || (arg && is_ex != ex) || i + 1 == c->argc) {
            reply(c, "-ERR syntax error\r\n");
            return;
        }
        ex = is_ex;
        arg = i + 1;
    }
    if (arg && (ttl = ttl_arg(c, arg, ex)) == 0)
        return;
    if ((e = put(c->argv[1], c->alen[1], c->argv[2], c->alen[2])) == NULL) {
        reply(c, "-OOM command not allowed: the store is full\r\n");
        return;
    }
    now = now_ms(); /* SET forgets an old TTL */
    set_expire(e, !ttl ? 0 : ttl > LLONG_MAX - now ? LLONG_MAX : now + ttl);
    reply(c, "+OK\r\n");
}

/* DEL and EXISTS: how many of the keys there are (DEL deletes them). */
static void count_keys(struct conn *c, int delete)
{
    long n = 0;
    int i;
    for (i = 1; i < c->argc; i++) {
        struct entry **link = find(c->argv[i], c->alen[i]);
        if (link) {
            n++;
            if (delete)
                del(link);
        }
    }
    reply(c, ":%ld\r\n", n);
}

static void cmd_del(struct conn *c) { count_keys(c, 1); }
static void cmd_exists(struct conn *c) { count_keys(c, 0); }

static void cmd_incr(struct conn *c)
{
    struct entry *e = lookup(c->argv[1], c->alen[1]);
    long long v = 0;
    char num[24];
    int n;

    if (e && !parse_ll(e->val, e->vlen, &v)) {
        reply(c, "-ERR value is not an integer or out of range\r\n");
        return;
    }
    if (v == LLONG_MAX) {
        reply(c, "-ERR increment or decrement would overflow\r\n");
        return;
    }
    n = snprintf(num, sizeof num, "%lld", v + 1);
    if (!put(c->argv[1], c->alen[1], num, (size_t)n)) { /* keeps the TTL */
        reply(c, "-OOM command not allowed: the store is full\r\n");
        return;
    }
    reply(c, ":%lld\r\n", v + 1);
}

static void cmd_dbsize(struct conn *c) { reply(c, ":%lu\r\n", (unsigned long)nkeys); }

/* Lines on the shape of table i, as Redis's DEBUG HTSTATS writes them. */
static int table_stats(char *buf, size_t cap, int i)
{
    size_t b, n = 0, used = 0, longest = 0;
    for (b = 0; b < tab[i].size; b++) {
        size_t len = 0;
        const struct entry *e;
        for (e = tab[i].b[b]; e; e = e->next)
            len++;
        n += len;
        used += len > 0;
        longest = len > longest ? len : longest;
    }
    return snprintf(buf, cap,
                    "Hash table %d stats (%s):\n table size: %lu\n number of elements: %lu\n"
                    " different slots: %lu\n max chain length: %lu\n",
                    i, i ? "rehashing target" : "main hash table", (unsigned long)tab[i].size,
                    (unsigned long)n, (unsigned long)used, (unsigned long)longest);
}

/* DEBUG HTSTATS 0: the hash table's size, keys, and longest chain. */
static void cmd_debug(struct conn *c)
{
    char buf[512];
    int n;

    if (!arg_is(c, 1, "HTSTATS") || c->argc != 3) {
        reply(c, "-ERR kvserver's DEBUG has only HTSTATS 0\r\n");
        return;
    }
    if (c->alen[2] != 1 || c->argv[2][0] != '0') {
        reply(c, "-ERR Out of range database\r\n");
        return;
    }
    n = table_stats(buf, sizeof buf, 0);
    if (tab[1].size)
        n += table_stats(buf + n, sizeof buf - (size_t)n, 1);
    reply_bulk(c, buf, (size_t)n);
}

static void cmd_quit(struct conn *c)
{
    reply(c, "+OK\r\n");
    c->closing = 1;
}

static const struct command {
    const char *name;
    int min, max; /* arguments, the name included; -1: any number */
    void (*run)(struct conn *c);
} commands[] = {
    {"get", 2, 2, cmd_get},       {"set", 3, -1, cmd_set},       {"ping", 1, 2, cmd_ping},
    {"echo", 2, 2, cmd_echo},     {"del", 2, -1, cmd_del},       {"exists", 2, -1, cmd_exists},
    {"incr", 2, 2, cmd_incr},     {"dbsize", 1, 1, cmd_dbsize},  {"quit", 1, -1, cmd_quit},
    {"debug", 2, -1, cmd_debug},
};

/* Up to 40 bytes of what the client sent, printable, for an error line. */
static const char *quote(const char *p, size_t n, char *buf)
{
    size_t i;
    for (i = 0; i < n && i < 40; i++)
        buf[i] = p[i] >= ' ' && p[i] <= '~' && p[i] != '\'' ? p[i] : '?';
    buf[i] = '\0';
    return buf;
}

static void execute(struct conn *c)
{
    char name[41];
    size_t i;
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const struct command *k = &commands[i];
        if (!arg_is(c, 0, k->name))
            continue;
        if (c->argc < k->min || (k->max >= 0 && c->argc > k->max)) {
            reply(c, "-ERR wrong number of arguments for '%s' command\r\n", k->name);
            return;
        }
        k->run(c);
        return;
    }
    reply(c, "-ERR unknown command '%s'\r\n", quote(c->argv[0], c->alen[0], name));
}

/* ---- Parsing: whole requests only; a partial one waits for more ---- */

enum { NEED_MORE, GOT_REQUEST, BAD_REQUEST };

/* A protocol error, answered after the requests before it have run. */
static int bad(struct conn *c, const char *why)
{
    c->bad = why;
    return BAD_REQUEST;
}

static void protocol_error(struct conn *c, const char *why)
{
    reply(c, "-ERR Protocol error: %s\r\n", why);
    c->closing = 1;
}

/* The number of a "*N\r\n" or "$N\r\n" line at p: 1 (*v, and *next after
 * the line), 0 if the line is not all here yet, -1 if it is no number. */
static int header(const char *p, const char *end, long long *v, const char **next)
{
    const char *cr = (const char *)memchr(p, '\r', (size_t)(end - p));
    if (!cr || cr + 1 == end)
        return end - p > 24 ? -1 : 0;
    if (cr[1] != '\n' || !parse_ll(p + 1, (size_t)(cr - p - 1), v))
        return -1;
    *next = cr + 2;
    return 1;
}

/* "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n": what redis-cli and redis-benchmark
 * send. The arguments go after the batch's (parse_batch leaves room). */
static int parse_multibulk(struct conn *c)
{
    const char *p = c->in + c->pos, *end = c->in + c->len;
    long long n, len;
    int i, r;

    if ((r = header(p, end, &n, &p)) <= 0)
        return r ? bad(c, "invalid multibulk length") : NEED_MORE;
    if (n > MAX_ARGS)
        return bad(c, "invalid multibulk length");
    for (i = 0; i < n; i++) {
        if (p == end)
            return NEED_MORE;
        if (*p != '$')
            return bad(c, "expected '$'");
        if ((r = header(p, end, &len, &p)) <= 0)
            return r ? bad(c, "invalid bulk length") : NEED_MORE;
        if (len < 0 || len > MAX_BULK)
            return bad(c, "invalid bulk length");
        if (end - p < len + 2)
            return NEED_MORE;
        if (p[len] != '\r' || p[len + 1] != '\n')
            return bad(c, "expected CRLF after the bulk string");
        c->args[c->nargs + i] = p;
        c->lens[c->nargs + i] = (size_t)len;
        p += len + 2;
    }
    c->argc = n > 0 ? (int)n : 0; /* "*0" and "*-1" ask nothing */
    c->pos = (size_t)(p - c->in);
    return GOT_REQUEST;
}

/* "PING\r\n": words on a line, for people typing at nc or telnet. */
static int parse_inline(struct conn *c)
{
    const char *p = c->in + c->pos, *end = c->in + c->len, *nl, *w;

    if ((nl = (const char *)memchr(p, '\n', (size_t)(end - p))) == NULL)
        return NEED_MORE;
    c->pos = (size_t)(nl + 1 - c->in);
    if (nl > p && nl[-1] == '\r')
        nl--;
    for (c->argc = 0; p < nl;) {
        if (*p == ' ' || *p == '\t') {
            p++;
            continue;
        }
        for (w = p; p < nl && *p != ' ' && *p != '\t'; p++)
            ;
        if (c->argc == MAX_ARGS || p - w > MAX_BULK)
            return bad(c, "too big inline request");
        c->args[c->nargs + c->argc] = w;
        c->lens[c->nargs + c->argc++] = (size_t)(p - w);
    }
    return GOT_REQUEST;
}

static int parse(struct conn *c)
{
    if (c->pos == c->len)
        return NEED_MORE;
    return c->in[c->pos] == '*' ? parse_multibulk(c) : parse_inline(c);
}

/* Parse the whole requests from c->pos on into a new batch, until a
 * partial one (NEED_MORE), a protocol error (BAD_REQUEST, after the
 * requests before it) or a full batch (GOT_REQUEST: parse again once it
 * has run). A request of no arguments asks nothing: it is dropped. */
static int parse_batch(struct conn *c)
{
    int r = GOT_REQUEST;

    c->nargs = c->nreqs = c->req = c->arg = 0;
    while (BATCH_ARGS - c->nargs >= MAX_ARGS && (r = parse(c)) == GOT_REQUEST)
        if (c->argc > 0) {
            c->nargv[c->nreqs++] = (unsigned char)c->argc;
            c->nargs += c->argc;
        }
    return r;
}

/* Run the batch's requests from c->req on while a reply surely fits in
 * `out`, until QUIT or the end; on the store thread, with I/O threads. */
static void run_batch(struct conn *c)
{
    while (c->req < c->nreqs && !c->closing && OUT_CAP - c->olen >= REPLY_MAX) {
        c->argc = c->nargv[c->req++];
        c->argv = c->args + c->arg;
        c->alen = c->lens + c->arg;
        c->arg += c->argc;
        execute(c); /* QUIT sets closing */
    }
}

/* ---- Connections, and the threads that serve them ---- */

struct listener {
    mt_task task;
    struct io *io;
    int fd, conn;
};

/* The frame of a task that serves an I/O thread: its dispatcher, its
 * stopper. */
struct io_task {
    mt_task task;
    struct io *io;
    struct conn *c;
};

/* An I/O thread (or main, with one thread): its listening socket's task
 * and its connections. */
struct io {
    struct listener lst;
    struct conn *conns;   /* the live ones, for shutdown */
    unsigned long served; /* connections accepted */
    int stopping;         /* no more connections */
    mt_event drained;     /* set when stopping and the last one has ended */
#if THREADS
    pthread_t thread;
    int started, failed, status; /* status: its mt_run's */
    mt_signal stop;              /* the store thread's stopper posts it */
    mt_chan replies;             /* frames the store thread hands back */
    struct conn *reply_buf[CHAN_CAP];
    struct io_task disp, stopper;
#endif
};

static struct io ios[MAX_THREADS];
static int nthreads = 1;

#if THREADS
static mt_chan store_chan; /* batches to run, from every I/O thread */
static struct conn *store_buf[CHAN_CAP];
#endif

/* After the whole requests: keep the partial one at the start of `in`,
 * with room after it; a buffer full of one request is a protocol error. */
static void keep_partial(struct conn *c)
{
    memmove(c->in, c->in + c->pos, c->len - c->pos);
    c->len -= c->pos;
    c->pos = 0;
    if (c->len == IN_CAP)
        protocol_error(c, c->in[0] == '*' ? "too big request" : "too big inline request");
}

/* Serves every whole request a read brought in, a batch at a time (run
 * here, or with I/O threads by the store thread), writing the replies when
 * `out` is full and after the last. */
static int conn(mt_task *t)
{
    struct conn *c = (struct conn *)t;
    MT_BEGIN(t);
    for (;;) {
        for (c->parsed = GOT_REQUEST;;) {
            if (OUT_CAP - c->olen < REPLY_MAX) {
                MT_CATCH(t, MT_WRITE_ALL(t, c->fd, c->out, c->olen, &c->done, WRITE_MS));
                if (mt_err(t))
                    MT_EXIT(t);
                c->olen = 0;
            }
            if (c->closing || (c->req == c->nreqs && c->parsed == NEED_MORE))
                break;
            if (c->req == c->nreqs) {
                if (c->parsed == BAD_REQUEST)
                    protocol_error(c, c->bad);
                else
                    c->parsed = parse_batch(c);
            } else if (nthreads == 1) {
                run_batch(c);
            } else {
#if THREADS
                /* The item is the pointer c (copied at each try). */
                MT_CHAN_PUT(t, &store_chan, &c, MT_FOREVER);
                do /* cancelled or not: the store holds c until it answers */
                    MT_SHIELD(t, MT_SEM_WAIT(t, &c->answered, ANSWER_MS));
                while (mt_err(t) == MT_ETIMEDOUT);
#endif
            }
        }
        if (!c->closing)
            keep_partial(c);
        if (c->olen) {
            MT_CATCH(t, MT_WRITE_ALL(t, c->fd, c->out, c->olen, &c->done, WRITE_MS));
            if (mt_err(t))
                break;
            c->olen = 0;
        }
        if (c->closing)
            break;
        MT_CATCH(t, MT_RECV(t, c->fd, c->in + c->len, IN_CAP - c->len, 0, &c->n, MT_FOREVER));
        if (mt_err(t) || c->n == 0)
            break; /* reset, closed, or cancelled */
        c->len += (size_t)c->n;
    }
    if (c->closing) {
        /* Closing with input unread would reset the connection, and the
         * client could lose our last reply: stop sending, take the rest. */
        shutdown(c->fd, SHUT_WR);
        c->deadline = mt_deadline(t, DRAIN_MS);
        do
            MT_CATCH(t, MT_RECV(t, c->fd, c->in, IN_CAP, 0, &c->n, mt_until(t, c->deadline)));
        while (!mt_err(t) && c->n > 0);
    }
    MT_FINALLY(t);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->io->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->io->stopping && !c->io->conns)
        mt_event_set(&c->io->drained);
    mt_close(c->fd);
    free(c);
    MT_END(t);
}

/* Accepts connections on its thread's socket, a task each, on its
 * thread's scheduler (mt_add: the default one is per thread). */
static int listener(mt_task *t)
{
    struct listener *f = (struct listener *)t;
    struct conn *c;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_ACCEPT(t, f->fd, &f->conn, NULL, NULL, MT_FOREVER));
        if (mt_err(t) == MT_ECANCELED)
            break;
        if (mt_err(t)) {
            MT_SLEEP(t, 100); /* out of descriptors, say: let some close */
            continue;
        }
        /* Accepted after the stop (its wait had completed): not served. */
        if (f->io->stopping || (c = (struct conn *)calloc(1, sizeof *c)) == NULL) {
            close(f->conn);
            continue;
        }
        c->fd = f->conn;
        c->io = f->io;
        mt_sem_init(&c->answered, 0);
        c->next = f->io->conns;
        if (c->next)
            c->next->prev = c;
        f->io->conns = c;
        f->io->served++;
        mt_add(&c->task, conn);
    }
    MT_FINALLY(t);
    mt_close(f->fd);
    MT_END(t);
}

/* SIGINT/SIGTERM post a signal; a stopper task turns it into cancellations. */
static mt_signal stop_signal;
static mt_task sweep_task;

static void on_stop(int signo)
{
    (void)signo;
    mt_signal_post(&stop_signal);
}

/* No more connections on io's thread, and an end to those it has. */
static void io_stop(struct io *io)
{
    struct conn *c;
    io->stopping = 1;
    mt_cancel(&io->lst.task);
    for (c = io->conns; c; c = c->next)
        mt_cancel(&c->task);
}

/* One thread: the stopper cancels everything at once. */
static int stopper(mt_task *t)
{
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &stop_signal, MT_FOREVER);
    fprintf(stderr, "kvserver: shutting down\n");
    io_stop(&ios[0]);
    mt_cancel(&sweep_task);
    MT_END(t);
}

#if THREADS
/* ---- I/O threads around the store thread ---- */

/* Each I/O thread puts itself here twice: set up (or failed), and ended. */
static mt_chan ctl;
static struct io *ctl_buf[CHAN_CAP];

struct store_task {
    mt_task task;
    struct conn *c;
    unsigned long batches;
};

static struct store_task store_frame;

/* The store thread's task: runs each batch as it comes, whole (every
 * command atomic), and hands the frame back to its I/O thread. */
static int store(mt_task *t)
{
    struct store_task *f = (struct store_task *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_CHAN_GET(t, &store_chan, &f->c, MT_FOREVER);
        run_batch(f->c);
        /* A full reply channel: this waits, trying again each tick. */
        MT_CHAN_PUT(t, &f->c->io->replies, &f->c, MT_FOREVER);
        if (++f->batches % STORE_TURN == 0)
            MT_YIELD(t); /* a stream of batches: the sweeper's turn */
    }
    MT_END(t);
}

/* An I/O thread's task: wakes each connection the store has answered. */
static int dispatcher(mt_task *t)
{
    struct io_task *f = (struct io_task *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_CHAN_GET(t, &f->io->replies, &f->c, MT_FOREVER);
        mt_sem_signal(&f->c->answered);
    }
    MT_END(t);
}

/* An I/O thread's stopper, on the store thread's post: no more
 * connections; once the last has ended (each first waits for the store's
 * answer, if the store holds it), the dispatcher goes, and with it the
 * thread's loop. */
static int io_stopper(mt_task *t)
{
    struct io_task *f = (struct io_task *)t;
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &f->io->stop, MT_FOREVER);
    io_stop(f->io);
    if (f->io->conns)
        MT_EVENT_WAIT(t, &f->io->drained, MT_FOREVER);
    mt_cancel(&f->io->disp.task);
    MT_END(t);
}

struct store_stopper {
    mt_task task;
    struct io *io;
    int i, failed;
};

/* The store thread's stopper: once every I/O thread is set up (its stop
 * signal registered), waits for SIGINT/SIGTERM (or a thread that failed),
 * stops the I/O threads, serves them until each has ended, then ends the
 * store's tasks. */
static int store_stopper(mt_task *t)
{
    struct store_stopper *f = (struct store_stopper *)t;
    int i;
    MT_BEGIN(t);
    for (f->i = 0; f->i < nthreads; f->i++) {
        MT_CHAN_GET(t, &ctl, &f->io, MT_FOREVER);
        f->failed += f->io->failed;
    }
    if (!f->failed)
        MT_SIGNAL_WAIT(t, &stop_signal, MT_FOREVER);
    fprintf(stderr, "kvserver: shutting down\n");
    for (i = 0; i < nthreads; i++)
        if (!ios[i].failed)
            mt_signal_post(&ios[i].stop);
    for (f->i = f->failed; f->i < nthreads; f->i++)
        MT_CHAN_GET(t, &ctl, &f->io, MT_FOREVER);
    mt_cancel(&store_frame.task);
    mt_cancel(&sweep_task);
    MT_END(t);
}

/* An I/O thread: its own (default) scheduler runs its listener, its
 * connections, its dispatcher and its stopper. */
static void *io_thread(void *arg)
{
    struct io *io = (struct io *)arg;
    int e = mt_signal_init(mt_default(), &io->stop);

    if (!e)
        e = mt_chan_init(mt_default(), &io->replies, io->reply_buf, sizeof io->reply_buf[0],
                         CHAN_CAP);
    if (e) {
        fprintf(stderr, "kvserver: thread %d: %s\n", (int)(io - ios) + 1, mt_strerror(e));
        io->failed = 1;
    } else {
        io->disp.io = io->stopper.io = io;
        mt_add(&io->lst.task, listener);
        mt_add(&io->disp.task, dispatcher);
        mt_add(&io->stopper.task, io_stopper);
    }
    (void)mt_chan_put(&ctl, &io); /* set up, or failed: never full */
    if (!e) {
        io->status = mt_run();
        (void)mt_chan_put(&ctl, &io); /* ended */
    }
    mt_sched_destroy(mt_default());
    return NULL;
}

/* With threads, SIGINT and SIGTERM are blocked in every thread and taken
 * by this one with sigwait, then posted as the handler posts them: no
 * handler interrupts a thread. (Under qemu-i386, which runs make m32 where
 * the kernel runs no 32-bit programs, a handler run in a threaded process
 * left main's thread-local storage pointing at another thread's: main then
 * ran that thread's default scheduler.) */
static sigset_t stop_set;
static pthread_t signal_thread;

static void *take_signals(void *arg)
{
    int signo;
    (void)arg;
    if (sigwait(&stop_set, &signo) == 0)
        mt_signal_post(&stop_signal);
    return NULL;
}

/* Start the signal thread (0, or pthread_create's error), then the I/O
 * threads; one that cannot start counts as failed. */
static int start_threads(void)
{
    int i, e;

    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL); /* for the threads to come too */
    if ((e = pthread_create(&signal_thread, NULL, take_signals, NULL)) != 0)
        return e;
    for (i = 0; i < nthreads; i++) {
        struct io *io = &ios[i];
        e = pthread_create(&io->thread, NULL, io_thread, io);
        io->started = e == 0;
        if (e) {
            fprintf(stderr, "kvserver: thread %d: %s\n", i + 1, strerror(e));
            io->failed = 1;
            (void)mt_chan_put(&ctl, &io);
        }
    }
    return 0;
}

/* The store thread's loop, then the I/O threads joined: 0, or 1 if
 * anything failed. Its tasks wait on channels and signals only, so mt_run
 * would find them stranded whenever no key expires: each cycle here
 * blocks until a post or a deadline instead. */
static int run_threads(void)
{
    static struct store_stopper stop_frame;
    int i, e, r = 0;

    if ((e = mt_chan_init(mt_default(), &store_chan, store_buf, sizeof store_buf[0], CHAN_CAP)) ||
        (e = mt_chan_init(mt_default(), &ctl, ctl_buf, sizeof ctl_buf[0], CHAN_CAP))) {
        fprintf(stderr, "kvserver: %s\n", mt_strerror(e));
        return 1;
    }
    if ((e = start_threads()) != 0) {
        fprintf(stderr, "kvserver: %s\n", strerror(e));
        return 1;
    }
    mt_add(&store_frame.task, store);
    mt_add(&sweep_task, sweeper);
    mt_add(&stop_frame.task, store_stopper);
    while (mt_sched_live(mt_default()) > 0)
        (void)mt_sched_run_once(mt_default(), MT_FOREVER);
    pthread_kill(signal_thread, SIGTERM); /* if it still waits */
    pthread_join(signal_thread, NULL);
    for (i = 0; i < nthreads; i++) {
        struct io *io = &ios[i];
        if (io->started)
            pthread_join(io->thread, NULL);
        if (io->failed)
            close(io->lst.fd); /* its listener never ran */
        else
            fprintf(stderr, "kvserver: thread %d served %lu connections\n", i + 1, io->served);
        r |= io->failed || io->status != 0;
    }
    r |= mt_state(&store_frame.task) == MT_FAILED || mt_state(&sweep_task) == MT_FAILED ||
         mt_state(&stop_frame.task) == MT_FAILED;
    return r;
}
#endif

/* Let other sockets bind fd's port, with the kernel spreading the
 * connections among them. */
static int share_port(int fd)
{
#if THREADS
    int one = 1;
    return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#else
    (void)fd;
    return -1;
#endif
}

/* Listen on loopback port `port` (0: any): a socket per I/O thread, all
 * on the port the first one got (SO_REUSEPORT); print the port. 0, or -1. */
static int listen_all(int port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int i, one = 1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    for (i = 0; i < nthreads; i++) {
        int fd = ios[i].lst.fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
            (nthreads > 1 && share_port(fd)) ||
            bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 511) ||
            mt_fd_nonblock(fd) || getsockname(fd, (struct sockaddr *)&a, &alen)) {
            perror("kvserver");
            return -1;
        }
        ios[i].lst.io = &ios[i];
        mt_event_init(&ios[i].drained);
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    return 0;
}

/* [--threads N] [PORT]: 1 if they make sense. */
static int parse_args(int argc, char **argv, int *port)
{
    int i, ports = 0;

    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--threads") != 0)
            *port = atoi(argv[i]), ports++;
        else if (++i < argc)
            nthreads = atoi(argv[i]);
        else
            return 0;
    if (nthreads > 1 && !THREADS)
        fprintf(stderr, "kvserver: built without threads (MT_THREADS or SO_REUSEPORT)\n");
    return ports <= 1 && nthreads >= 1 && nthreads <= (THREADS ? MAX_THREADS : 1);
}

static int store_init(void)
{
    seed_hash();
    tab[0].size = TABLE_MIN;
    tab[0].b = (struct entry **)calloc(TABLE_MIN, sizeof *tab[0].b);
    mt_event_init(&rearm);
    return tab[0].b != NULL;
}

static void store_free(void) /* leave nothing for leak checkers */
{
    size_t i;
    int t;
    for (t = 0; t < 2; t++) {
        for (i = 0; i < tab[t].size; i++)
            while (tab[t].b[i])
                del(&tab[t].b[i]);
        free(tab[t].b);
    }
}

/* One thread: the listener, the connections and the store on main's
 * scheduler. 0, or 1 if a task failed. */
static int run_one(void)
{
    static mt_task stop_task;
    mt_add(&ios[0].lst.task, listener);
    mt_add(&sweep_task, sweeper);
    mt_add(&stop_task, stopper);
    return mt_run() != 0;
}

int main(int argc, char **argv)
{
    int port = 0, r;
    struct sigaction sa;

    if (!parse_args(argc, argv, &port)) {
        fprintf(stderr, "usage: kvserver [--threads N] [PORT]   (N: 1 to %d)\n", MAX_THREADS);
        return 2;
    }
    if (listen_all(port))
        return 1;
    mt_signal_init(mt_default(), &stop_signal);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!store_init()) {
        perror("kvserver");
        return 1;
    }
#if THREADS
    r = nthreads > 1 ? run_threads() : run_one();
#else
    r = run_one();
#endif
    mt_sched_destroy(mt_default());
    store_free();
    return r;
}
