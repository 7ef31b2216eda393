/* Soak test: an echo server on the backend under test (a forked child) and
 * a load of C concurrent connections (the parent), both built on the
 * library. Every echoed byte is checked against the generator that sent
 * it; the server cancels handlers at random (chaos) and times idle ones
 * out; clients go idle and close early at random. Both processes then check
 * that every frame was freed and every descriptor closed.
 * Usage: soak [--conns N] [--bytes B] [--seed S] [--cancel-rate R] ...
 * (soak --help lists them; sizes take K, M, G). Exit 0 only if all held. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "multitask.h"

#if MT_BACKEND == MT_BACKEND_POLL
#define BACKEND "poll"
#elif MT_BACKEND == MT_BACKEND_EPOLL
#define BACKEND "epoll"
#else
#define BACKEND "select"
#endif

#define CHUNK 16384       /* sends and receives are 1..CHUNK bytes */
#define CONNECT_MS 10000  /* a SYN dropped on a full backlog retries after 1 s */
#define STALL_MS 20000    /* no progress at all on a connection: a failure */
#define WRITE_MS 30000    /* the server's limit for one echo to go out */
#define DRAIN_MS 5000     /* handlers left this long after the load closed all */

static struct {
    long conns, ramp, idle_ms, watchdog;
    unsigned long long bytes, conn_bytes, inflight, seed;
    long cancel_rate, idle_pct, close_pct;
    int verbose;
} opt = {1000, 256, 0, 300, 64ULL << 20, 64ULL << 10, 64ULL << 10, 1, 10, 2, 3, 0};

/* splitmix64: the stream generator and every random choice. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
    return mix(*s += 0x9e3779b97f4a7c15ULL) % n;
}

/* Byte `pos` of a connection's stream depends only on (seed, pos), so the
 * sender regenerates what a partial send left over and the receiver checks
 * any prefix without either keeping a copy. */
static void fill(uint64_t seed, uint64_t pos, unsigned char *p, size_t len)
{
    while (len) {
        uint64_t v = mix(seed + (pos >> 3) * 0x9e3779b97f4a7c15ULL);
        size_t off = (size_t)(pos & 7), k = 8 - off < len ? 8 - off : len;
        memcpy(p, (unsigned char *)&v + off, k);
        p += k, pos += k, len -= k;
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open descriptors of this process (the directory's own one included, the
 * same each time). */
static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0, fd;
    if (!d) { /* no /proc: probe every number below the limit */
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        for (fd = 0; fd < (long)rl.rlim_cur; fd++)
            n += fcntl((int)fd, F_GETFD) != -1;
        return n;
    }
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int wouldblock(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

/* How late a sleep of `ms` begun at `since` woke: the longest cycle, about.
 * The load's must stay well below the idle timeout, or active connections
 * look idle to the server. */
static void note_lag(unsigned long long *max, double since, long ms)
{
    double late = (now_s() - since) * 1000 - (double)ms;
    if (late > (double)*max)
        *max = (unsigned long long)late;
}

/* ---- The server (child process) ------------------------------------------ */

struct handler {
    mt_task task;
    int fd, doomed, err;
    size_t idx; /* in live[], for the chaos task's pick and O(1) removal */
    ssize_t n;
    size_t done;
    unsigned char buf[CHUNK];
};

/* Handed to the parent at the end, so it can cross-check the two sides. */
struct server_stats {
    unsigned long long accepted, chaos, timedout, eof, reset, shut, unexpected, echoed,
        emfile, peak, leftover, lag_ms, ok;
};

static struct server_stats ss;
static struct handler **live;
static size_t nlive, live_cap;
static unsigned long frames; /* handler frames allocated and not yet freed */
static int stopping;
static mt_event drained;
static mt_signal stop_signal;

#define E_WSTALL (MT_EUSER - 1)

static void handler_end(struct handler *f, int e)
{
    if (e == 0)
        ss.eof++;
    else if (e == MT_ETIMEDOUT)
        ss.timedout++;
    else if (e == MT_ECANCELED && f->doomed)
        ss.chaos++;
    else if (e == MT_ECANCELED)
        ss.shut++;
    else if (e == MT_ESYS(ECONNRESET) || e == MT_ESYS(EPIPE))
        ss.reset++; /* the client closed early with data unread */
    else {
        ss.unexpected++;
        fprintf(stderr, "soak server: handler on fd %d ended with %s (%s)\n", f->fd,
                mt_errname(e), e == E_WSTALL ? "an echo stalled" : mt_strerror(e));
    }
    if (e == MT_ECANCELED) { /* a reset, never an end of file: the load tells them apart */
        struct linger lg = {1, 0};
        setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    live[f->idx] = live[--nlive];
    live[f->idx]->idx = f->idx;
    close(f->fd);
    free(f);
    frames--;
    if (stopping && nlive == 0)
        mt_event_set(&drained);
}

static int handler(mt_task *t)
{
    struct handler *f = (struct handler *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, opt.idle_ms));
        if ((f->err = mt_err(t)) != 0 || f->n == 0)
            break; /* idle too long, cancelled, reset, or the client's end */
        MT_CATCH(t, MT_WRITE_ALL(t, f->fd, f->buf, (size_t)f->n, &f->done, WRITE_MS));
        ss.echoed += f->done;
        if ((f->err = mt_err(t)) != 0) {
            if (f->err == MT_ETIMEDOUT)
                f->err = E_WSTALL; /* not the idle timeout: the client stopped reading */
            break;
        }
    }
    MT_FINALLY(t);
    /* Ended at a wait after a caught cancel: CANCELLED, and err says so. */
    handler_end(f, mt_state(t) == MT_DONE ? f->err : mt_err(t));
    MT_END(t);
}

struct listener {
    mt_task task;
    int fd, conn;
};

static struct listener lst;

static int listener(mt_task *t)
{
    struct listener *f = (struct listener *)t;
    struct handler *h;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_ACCEPT(t, f->fd, &f->conn, NULL, NULL, MT_FOREVER));
        if (mt_err(t) == MT_ECANCELED)
            break;
        if (mt_err(t) == MT_ESYS(EMFILE) || mt_err(t) == MT_ESYS(ENFILE) ||
            mt_err(t) == MT_ESYS(ENOBUFS) || mt_err(t) == MT_ESYS(ENOMEM)) {
            ss.emfile++; /* out of descriptors for a moment: what a server does */
            MT_SLEEP(t, 10);
            continue;
        }
        if (mt_err(t)) {
            fprintf(stderr, "soak server: accept: %s\n", mt_errmsg(t));
            ss.unexpected++;
            break;
        }
        if (nlive == live_cap) {
            size_t cap = live_cap ? live_cap * 2 : 1024;
            struct handler **p = (struct handler **)realloc(live, cap * sizeof *p);
            if (!p) {
                close(f->conn);
                ss.unexpected++;
                continue;
            }
            live = p;
            live_cap = cap;
        }
        h = (struct handler *)calloc(1, sizeof *h);
        if (!h) {
            close(f->conn);
            ss.unexpected++;
            continue;
        }
        frames++;
        h->fd = f->conn;
        h->idx = nlive;
        live[nlive++] = h;
        if (nlive > ss.peak)
            ss.peak = nlive;
        ss.accepted++;
        mt_add(&h->task, handler);
    }
    MT_FINALLY(t);
    close(f->fd);
    MT_END(t);
}

/* Cancels random live handlers, each at opt.cancel_rate per mille per
 * second (so the few left idle at the end are not all hit), once the
 * whole first generation is accepted: cancelling during the ramp would let
 * the load never hold all C connections at once. */
struct chaos {
    mt_task task;
    double slept;
    mt_time last;
    long long owed; /* cancellations due, in millionths */
    uint64_t rng;
};

static struct chaos chs;

static int chaos(mt_task *t)
{
    struct chaos *f = (struct chaos *)t;
    int i;
    MT_BEGIN(t);
    while (ss.accepted < (unsigned long long)opt.conns) {
        f->slept = now_s();
        MT_SLEEP(t, 10);
        note_lag(&ss.lag_ms, f->slept, 10);
    }
    f->last = mt_deadline(t, 0);
    for (;;) {
        f->slept = now_s();
        MT_SLEEP(t, 10);
        note_lag(&ss.lag_ms, f->slept, 10);
        f->owed += (long long)nlive * opt.cancel_rate * (mt_time)(mt_deadline(t, 0) - f->last);
        f->last = mt_deadline(t, 0);
        for (; f->owed >= 1000000 && nlive; f->owed -= 1000000)
            for (i = 0; i < 8; i++) { /* skip those already cancelled */
                struct handler *h = live[below(&f->rng, nlive)];
                if (!h->doomed) {
                    h->doomed = 1;
                    mt_cancel(&h->task);
                    break;
                }
            }
    }
    MT_END(t);
}

static void cancel_all(void)
{
    size_t i;
    for (i = 0; i < nlive; i++) /* removal happens later, in their finally */
        mt_cancel(&live[i]->task);
}

/* Shutdown: a byte (or end of file) from the parent on the control pipe,
 * or SIGTERM through an mt_signal. From the parent it means every client
 * connection is closed, so every handler must end by itself, promptly. */
struct controller {
    mt_task task;
    int fd;
    char byte;
    ssize_t n;
};

static struct controller ctl;
static mt_task sigtask;

static void begin_stop(void)
{
    stopping = 1;
    mt_cancel(&lst.task);
    mt_cancel(&chs.task);
    mt_event_init(&drained);
}

static int controller(mt_task *t)
{
    struct controller *f = (struct controller *)t;
    MT_BEGIN(t);
    MT_READ(t, f->fd, &f->byte, 1, &f->n, MT_FOREVER);
    mt_cancel(&sigtask);
    begin_stop();
    if (nlive)
        MT_CATCH(t, MT_EVENT_WAIT(t, &drained, DRAIN_MS));
    if (nlive) {
        ss.leftover = nlive;
        fprintf(stderr, "soak server: %lu handlers still live %d ms after the load "
                "closed every connection\n", (unsigned long)nlive, DRAIN_MS);
        if (nlive <= 20)
            mt_sched_dump(mt_default(), mt_out_stdio, stderr);
        cancel_all();
    }
    MT_END(t);
}

static int stopper(mt_task *t)
{
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &stop_signal, MT_FOREVER);
    mt_cancel(&ctl.task);
    begin_stop();
    cancel_all(); /* clients may still be connected: not a failure */
    MT_END(t);
}

static void on_term(int signo)
{
    (void)signo;
    mt_signal_post(&stop_signal);
}

static int server(int port_fd, int ctl_fd)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    struct sigaction sa;
    long base = count_fds(), fds;
    unsigned long tasks;
    int one = 1, r, d, port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lst.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lst.fd < 0 || setsockopt(lst.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lst.fd, (struct sockaddr *)&a, sizeof a) || listen(lst.fd, SOMAXCONN) ||
        mt_fd_nonblock(lst.fd) || getsockname(lst.fd, (struct sockaddr *)&a, &alen) ||
        mt_fd_nonblock(ctl_fd)) {
        perror("soak server");
        return 1;
    }
    port = ntohs(a.sin_port);
    if (write(port_fd, &port, sizeof port) != (ssize_t)sizeof port)
        return 1;

    mt_signal_init(mt_default(), &stop_signal);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    chs.rng = opt.seed ^ 0xc4a05ULL;
    ctl.fd = ctl_fd;
    mt_add(&lst.task, listener);
    mt_add(&chs.task, chaos);
    mt_add(&ctl.task, controller);
    mt_add(&sigtask, stopper);
    r = mt_run();
    tasks = mt_sched_live(mt_default());
    d = mt_sched_destroy(mt_default()); /* closes the self-pipe and epoll fd */
    free(live);
    fds = count_fds();
    ss.ok = r == 0 && tasks == 0 && d == 0 && frames == 0 && fds == base &&
            !ss.unexpected && !ss.leftover;
    printf("soak server (%s): accepted %llu, cancelled by chaos %llu, timed out %llu, "
           "ended by the client %llu (reset %llu), cancelled at shutdown %llu, "
           "%llu bytes echoed, peak %llu live, accept out of fds %llu, timers late <= %llu ms; "
           "mt_run %s, tasks %lu, destroy %s, frames %lu, fds %ld (baseline %ld): %s\n",
           BACKEND, ss.accepted, ss.chaos, ss.timedout, ss.eof + ss.reset, ss.reset,
           ss.shut, ss.echoed, ss.peak, ss.emfile, ss.lag_ms, mt_errname(r), tasks, mt_errname(d),
           frames, fds, base, ss.ok ? "ok" : "FAILED");
    fflush(stdout);
    if (write(port_fd, &ss, sizeof ss) != (ssize_t)sizeof ss)
        return 1;
    return ss.ok ? 0 : 1;
}

/* ---- The load (parent process) ------------------------------------------- */

enum { O_NONE, O_DONE, O_TIMEDOUT, O_CANCELLED, O_CLOSED };

struct conn {
    mt_task task;
    unsigned long id;
    int fd, token, counted, outcome, progress, can_send, retries;
    uint64_t seed, rng, budget, idle_at, close_at, sent, recvd, chunk_end;
    double sent_at; /* when the last send began */
};

struct slot {
    mt_task task;
    struct conn c;
};

static struct {
    unsigned long started, connected, open, peak, done, timedout, cancelled, closed,
        retries, failed, samples;
    unsigned long long verified, sent, open_sum, lag_ms;
    double peak_s, target_s; /* when all C were open; when the bytes were verified */
} cs;

static int peak_reached; /* all C open at once: deliberate ends may begin */
static double t0;
static struct sockaddr_in srv;
static mt_sem ramp;      /* connects not yet answered by an echo: bounds the backlog */
static unsigned char sbuf[CHUNK], rbuf[CHUNK], ebuf[CHUNK];
static long slots_left;

#define CONN_FAIL(t, f, ...)                                                 \
    do {                                                                     \
        fprintf(stderr, "soak: connection %lu: ", (f)->id);                  \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
        MT_RAISE(t, MT_EUSER, "connection failed");                          \
    } while (0)

static int retryable(int e)
{
    return e == MT_ETIMEDOUT || e == MT_ESYS(ECONNREFUSED) || e == MT_ESYS(EAGAIN) ||
           e == MT_ESYS(EADDRNOTAVAIL) || e == MT_ESYS(ECONNRESET);
}

/* Compares echoed bytes with the stream: 0, or the first bad offset + 1. */
static size_t verify(const struct conn *f, const unsigned char *p, size_t n)
{
    size_t i;
    fill(f->seed, f->recvd, ebuf, n);
    if (memcmp(p, ebuf, n) == 0)
        return 0;
    for (i = 0; p[i] == ebuf[i]; i++) {
    }
    return i + 1;
}

static int conn(mt_task *t)
{
    struct conn *f = (struct conn *)t;
    ssize_t n;
    size_t len, bad;
    uint64_t lim;
    double at;
    MT_BEGIN(t);
    for (;;) { /* connect, retrying what a loaded listener may answer */
        MT_SEM_WAIT(t, &ramp, MT_FOREVER);
        f->token = 1;
        f->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (f->fd < 0 || mt_fd_nonblock(f->fd))
            CONN_FAIL(t, f, "socket: %s", strerror(errno));
        MT_CATCH(t, MT_CONNECT(t, f->fd, (struct sockaddr *)&srv, sizeof srv, CONNECT_MS));
        if (!mt_err(t))
            break;
        if (!retryable(mt_err(t)) || ++f->retries > 20)
            CONN_FAIL(t, f, "connect: %s (after %d retries)", mt_errmsg(t),
                      f->retries);
        cs.retries++;
        if (opt.verbose)
            fprintf(stderr, "soak: connection %lu: connect: %s, retrying\n", f->id,
                    mt_errmsg(t));
        close(f->fd);
        f->fd = -1;
        f->token = 0;
        mt_sem_signal(&ramp);
        MT_SLEEP(t, 10 + (long)below(&f->rng, 40));
    }
    cs.connected++;
    f->counted = 1;
    if (++cs.open > cs.peak)
        cs.peak = cs.open;
    if (cs.open >= (unsigned long)opt.conns && !peak_reached) {
        peak_reached = 1;
        cs.peak_s = now_s() - t0;
    }

    for (;;) {
        /* Deliberate ends (idle, early close, end) wait for the peak. */
        lim = f->budget;
        if (!peak_reached && f->recvd == f->sent && f->sent >= f->budget) {
            /* Hold until the peak with a trickle: active for the server's
             * timeout, and no bulk traffic slowing the ramp. Then a budget
             * of its own, so that the held ones do not all end at once. */
            MT_SLEEP(t, opt.idle_ms / 4);
            f->budget = f->sent + 1 + below(&f->rng, peak_reached ? 2 * opt.conn_bytes : 64);
            continue;
        }
        if (peak_reached) {
            if (cs.verified >= opt.bytes && f->budget > f->sent)
                f->budget = f->sent; /* target reached: wind down */
            if (f->sent >= f->close_at) {
                f->outcome = O_CLOSED; /* abruptly, echoes in flight: a reset */
                MT_EXIT(t);
            }
            if (f->recvd == f->sent && (f->recvd >= f->idle_at || f->recvd >= f->budget))
                break;
            lim = f->budget < f->idle_at ? f->budget : f->idle_at;
        }
        f->progress = 0;
        f->can_send = f->sent < lim && f->sent - f->recvd < opt.inflight;
        if (f->can_send) {
            if (f->sent == f->chunk_end)
                f->chunk_end = f->sent + 1 + below(&f->rng, CHUNK);
            len = (size_t)((f->chunk_end < lim ? f->chunk_end : lim) - f->sent);
            fill(f->seed, f->sent, sbuf, len);
            at = now_s();
            n = send(f->fd, sbuf, len, MSG_NOSIGNAL);
            if (n > 0) {
                f->sent_at = at;
                f->sent += (uint64_t)n;
                cs.sent += (unsigned long long)n;
                f->progress = 1;
            } else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                f->outcome = O_CANCELLED;
                MT_EXIT(t);
            } else if (n < 0 && !wouldblock(errno))
                CONN_FAIL(t, f, "send: %s", strerror(errno));
        }
        n = recv(f->fd, rbuf, 1 + (size_t)below(&f->rng, CHUNK), 0);
        if (n > 0) {
            if (f->recvd + (uint64_t)n > f->sent)
                CONN_FAIL(t, f, "%ld bytes echoed, only %llu sent", (long)(f->recvd + n),
                          (unsigned long long)f->sent);
            if ((bad = verify(f, rbuf, (size_t)n)) != 0)
                CONN_FAIL(t, f, "byte %llu of the stream (seed %llx) came back as %u, not %u",
                          (unsigned long long)(f->recvd + bad - 1), (unsigned long long)f->seed,
                          rbuf[bad - 1], ebuf[bad - 1]);
            if (f->token) { /* the server accepted us: the next may connect */
                f->token = 0;
                mt_sem_signal(&ramp);
            }
            f->recvd += (uint64_t)n;
            cs.verified += (unsigned long long)n;
            if (cs.verified >= opt.bytes && !cs.target_s)
                cs.target_s = now_s() - t0;
            f->progress = 1;
        } else if (n == 0) {
            CONN_FAIL(t, f, "end of file mid-stream (sent %llu, verified %llu): the server "
                      "timed out or closed an active connection", (unsigned long long)f->sent,
                      (unsigned long long)f->recvd);
        } else if (errno == ECONNRESET) {
            f->outcome = O_CANCELLED; /* chaos closes with a reset */
            MT_EXIT(t);
        } else if (!wouldblock(errno))
            CONN_FAIL(t, f, "recv: %s", strerror(errno));
        if (f->progress)
            MT_YIELD(t);
        else {
            MT_CATCH(t, MT_WAIT_FD(t, f->fd, MT_READABLE | (f->can_send ? MT_WRITABLE : 0),
                                   STALL_MS));
            if (mt_err(t))
                CONN_FAIL(t, f, "no progress: %s (sent %llu, verified %llu)",
                          mt_errmsg(t), (unsigned long long)f->sent,
                          (unsigned long long)f->recvd);
        }
    }

    /* Everything echoed. An idle connection waits for the server's timeout
     * (an end of file; the server's clock starts after our last send, give
     * or take one of its cycles: we allow half the timeout); a finished one
     * sends its end of file and the server answers with its own. A reset is
     * chaos. */
    if (f->recvd >= f->idle_at)
        f->outcome = O_TIMEDOUT;
    else {
        f->outcome = O_DONE;
        shutdown(f->fd, SHUT_WR);
    }
    for (;;) {
        n = recv(f->fd, rbuf, sizeof rbuf, 0);
        if (n < 0 && errno == ECONNRESET) {
            f->outcome = O_CANCELLED;
            break;
        }
        if (n == 0 && f->outcome == O_TIMEDOUT &&
            (now_s() - f->sent_at) * 1000 < (double)opt.idle_ms / 2)
            CONN_FAIL(t, f, "an idle connection closed %.0f ms after its last send, the "
                      "timeout is %ld ms", (now_s() - f->sent_at) * 1000, opt.idle_ms);
        if (n == 0)
            break;
        if (n > 0)
            CONN_FAIL(t, f, "%ld bytes after the stream's end", (long)n);
        if (!wouldblock(errno))
            CONN_FAIL(t, f, "recv at the end: %s", strerror(errno));
        MT_CATCH(t, MT_WAIT_FD(t, f->fd, MT_READABLE, STALL_MS));
        if (mt_err(t))
            CONN_FAIL(t, f, "the server did not close the connection (%s): %s",
                      f->outcome == O_TIMEDOUT ? "idle" : "finished", mt_errmsg(t));
    }
    MT_FINALLY(t);
    if (f->token)
        mt_sem_signal(&ramp);
    if (f->fd >= 0)
        close(f->fd);
    if (f->counted)
        cs.open--;
    if (mt_state(t) == MT_DONE) {
        cs.done += f->outcome == O_DONE;
        cs.timedout += f->outcome == O_TIMEDOUT;
        cs.cancelled += f->outcome == O_CANCELLED;
        cs.closed += f->outcome == O_CLOSED;
    }
    MT_END(t);
}

/* One of C places, each holding one connection at a time and replacing it
 * when it ends, until the verified bytes reach the target. */
static int slot(mt_task *t)
{
    struct slot *f = (struct slot *)t;
    struct conn *c = &f->c;
    uint64_t r;
    MT_BEGIN(t);
    while (!cs.failed && !(peak_reached && cs.verified >= opt.bytes)) {
        memset(c, 0, sizeof *c); /* an ended task's frame may be reused */
        c->id = cs.started++;
        c->fd = -1;
        c->seed = mix(opt.seed * 0x100000001b3ULL + c->id);
        c->rng = mix(c->seed);
        c->budget = 1 + below(&c->rng, 2 * opt.conn_bytes);
        c->idle_at = c->close_at = UINT64_MAX;
        r = below(&c->rng, 100);
        if (r < (uint64_t)opt.idle_pct)
            c->idle_at = below(&c->rng, c->budget);
        else if (r < (uint64_t)(opt.idle_pct + opt.close_pct))
            c->close_at = below(&c->rng, c->budget);
        MT_CATCH(t, MT_AWAIT(t, &c->task, conn, MT_FOREVER));
        if (mt_err(t))
            cs.failed++;
    }
    MT_FINALLY(t);
    slots_left--;
    MT_END(t);
}

static void progress_line(const char *what)
{
    fprintf(stderr, "soak %s: %.1f s: open %lu, peak %lu, connections %lu, verified %.1f MiB\n",
            what, now_s() - t0, cs.open, cs.peak, cs.started, (double)cs.verified / 1048576.0);
}

static int progress(mt_task *t)
{
    static int ticks;
    static double slept;
    MT_BEGIN(t);
    while (slots_left) {
        slept = now_s();
        MT_SLEEP(t, 100);
        note_lag(&cs.lag_ms, slept, 100);
        if (peak_reached && cs.verified < opt.bytes) {
            cs.open_sum += cs.open; /* how close to C the load stays after the peak */
            cs.samples++;
        }
        if (++ticks % (opt.verbose ? 10 : 100) == 0)
            progress_line(BACKEND);
    }
    MT_END(t);
}

/* Runs the load to its end; 1 if its own checks held. */
static int load(int port)
{
    static mt_task prog;
    struct slot *slots = (struct slot *)calloc((size_t)opt.conns, sizeof *slots);
    long base = count_fds(), fds, i;
    unsigned long tasks;
    int r, d, ok;
    double secs;

    if (!slots)
        return 0;
    memset(&srv, 0, sizeof srv);
    srv.sin_family = AF_INET;
    srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.sin_port = htons((unsigned short)port);
    mt_sem_init(&ramp, (unsigned long)opt.ramp);
    slots_left = opt.conns;
    for (i = 0; i < opt.conns; i++)
        mt_add(&slots[i].task, slot);
    mt_add(&prog, progress);
    t0 = now_s();
    r = mt_run();
    secs = now_s() - t0;
    tasks = mt_sched_live(mt_default());
    d = mt_sched_destroy(mt_default());
    free(slots);
    fds = count_fds();
    ok = r == 0 && !cs.failed && cs.peak >= (unsigned long)opt.conns &&
         cs.verified >= opt.bytes && cs.open == 0 && tasks == 0 && d == 0 && fds == base;
    printf("soak load (%s): peak %lu concurrent (of %ld) at %.1f s, %.0f on average after "
           "it; %lu connections (%lu connect retries); %.3f GiB verified (%.3f GiB sent), "
           "the target at %.1f s; timed out by the server %lu, cancelled by the server %lu, "
           "closed by the client %lu, finished %lu, failed %lu; %.1f s in all, timers late "
           "<= %llu ms; mt_run %s, tasks %lu, destroy %s, fds %ld (baseline %ld): %s\n",
           BACKEND, cs.peak, opt.conns, cs.peak_s,
           cs.samples ? (double)cs.open_sum / (double)cs.samples : 0.0, cs.started,
           cs.retries, (double)cs.verified / 1073741824.0, (double)cs.sent / 1073741824.0,
           cs.target_s, cs.timedout, cs.cancelled, cs.closed, cs.done, cs.failed, secs,
           cs.lag_ms, mt_errname(r), tasks, mt_errname(d), fds, base, ok ? "ok" : "FAILED");
    fflush(stdout);
    if (cs.peak < (unsigned long)opt.conns)
        fprintf(stderr, "soak: only %lu connections were open at once, not %ld\n", cs.peak,
                opt.conns);
    return ok;
}

/* The server's figures against the load's. Timeouts end in an end of file
 * and chaos in a reset, so each side counts both. */
static int agree(const struct server_stats *sv)
{
    if (sv->echoed >= cs.verified && sv->accepted <= cs.connected + cs.retries &&
        sv->timedout == cs.timedout && sv->chaos >= cs.cancelled)
        return 1;
    fprintf(stderr, "soak: the two sides disagree: bytes echoed %llu, verified %llu; "
            "accepted %llu, connected %lu; timed out %llu, %lu; cancelled %llu, reset %lu\n",
            sv->echoed, cs.verified, sv->accepted, cs.connected, sv->timedout, cs.timedout,
            sv->chaos, cs.cancelled);
    if (cs.lag_ms * 4 > (unsigned long long)opt.idle_ms)
        fprintf(stderr, "soak: the load's timers were late by %llu ms against an idle timeout "
                "of %ld ms: its cycles are long, active connections may look idle; raise "
                "--idle-ms\n", cs.lag_ms, opt.idle_ms);
    return 0;
}

/* ---- Set-up -------------------------------------------------------------- */

static pid_t child;

static void on_alarm(int signo)
{
    static const char m[] = "soak: watchdog: not finished in time, giving up\n";
    ssize_t r = write(2, m, sizeof m - 1);
    (void)r;
    (void)signo;
    if (child > 0)
        kill(child, SIGKILL);
    _exit(3);
}

static int size_arg(const char *s, unsigned long long *v)
{
    char *end;
    unsigned long long x = strtoull(s, &end, 0);
    int shift = 0;
    if (end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end)
        return -1;
    *v = x << shift;
    return 0;
}

static int parse(int argc, char **argv)
{
    static const struct {
        const char *name, *help;
        int size; /* else a long */
        void *p;
    } o[] = {
        {"--conns", "concurrent connections (C)", 0, &opt.conns},
        {"--bytes", "bytes to verify in total", 1, &opt.bytes},
        {"--conn-bytes", "mean bytes per connection", 1, &opt.conn_bytes},
        {"--inflight", "bytes a connection sends ahead of its echoes", 1, &opt.inflight},
        {"--seed", "seed of every stream and choice", 1, &opt.seed},
        {"--cancel-rate", "per mille of live handlers the server cancels per second", 0,
         &opt.cancel_rate},
        {"--idle-pct", "% of connections that go idle past the timeout", 0, &opt.idle_pct},
        {"--close-pct", "% of connections the client closes early", 0, &opt.close_pct},
        {"--idle-ms", "the server's idle timeout (default 1000 + conns / 4)", 0, &opt.idle_ms},
        {"--ramp", "connects awaiting their first echo at once", 0, &opt.ramp},
        {"--watchdog", "seconds before the test fails as hung", 0, &opt.watchdog},
    };
    int i, k, n = (int)(sizeof o / sizeof o[0]);
    unsigned long long v;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            opt.verbose = 1;
            continue;
        }
        for (k = 0; k < n && strcmp(argv[i], o[k].name) != 0; k++) {
        }
        if (k == n || i + 1 == argc || size_arg(argv[i + 1], &v)) {
            fprintf(stderr, "usage: soak [-v] [OPTION VALUE]... (sizes take K, M, G)\n");
            for (k = 0; k < n; k++)
                fprintf(stderr, "  %-13s %s\n", o[k].name, o[k].help);
            return -1;
        }
        if (o[k].size)
            *(unsigned long long *)o[k].p = v;
        else
            *(long *)o[k].p = (long)v;
        i++;
    }
    if (!opt.idle_ms) /* the load's cycles grow with C: keep well above them */
        opt.idle_ms = 1000 + opt.conns / 4;
    if (opt.conns < 1 || opt.ramp < 1 || opt.idle_ms < 4 || opt.conn_bytes < 1 ||
        opt.idle_pct + opt.close_pct > 100 || opt.idle_ms > 100000) {
        fprintf(stderr, "soak: an option is out of range\n");
        return -1;
    }
    return 0;
}

/* Each process holds up to C connections plus a few of its own. */
static int raise_nofile(void)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)opt.conns + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            fprintf(stderr, "soak: %ld connections need %lu descriptors per process, but "
                    "the hard limit (RLIMIT_NOFILE, ulimit -Hn) is %lu: raise it, or use "
                    "--conns %lu\n", opt.conns, (unsigned long)need,
                    (unsigned long)rl.rlim_max, (unsigned long)rl.rlim_max - 64);
            return -1;
        }
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl)) {
            perror("soak: setrlimit RLIMIT_NOFILE");
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct server_stats sv;
    int port_pipe[2], ctl_pipe[2], port = 0, ok, st;

    if (parse(argc, argv) || raise_nofile())
        return 2;
    signal(SIGPIPE, SIG_IGN); /* a dead peer on a pipe is an error, not a kill */
    if (pipe(port_pipe) || pipe(ctl_pipe)) {
        perror("soak: pipe");
        return 1;
    }
    fflush(stdout);
    fflush(stderr);
    child = fork();
    if (child < 0) {
        perror("soak: fork");
        return 1;
    }
    if (child == 0) { /* its own watchdog: a lost parent also closes ctl_pipe */
        close(port_pipe[0]);
        close(ctl_pipe[1]);
        alarm((unsigned)opt.watchdog + 10);
        exit(server(port_pipe[1], ctl_pipe[0]));
    }
    close(port_pipe[1]);
    close(ctl_pipe[0]);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)opt.watchdog);
    if (read(port_pipe[0], &port, sizeof port) != (ssize_t)sizeof port) {
        fprintf(stderr, "soak: the server did not start\n");
        waitpid(child, NULL, 0);
        return 1;
    }
    ok = load(port);
    /* Every connection is closed: tell the server (unless it stopped on its
     * own, on SIGTERM), take its figures. */
    if (write(ctl_pipe[1], "x", 1) != 1 && errno != EPIPE)
        perror("soak: control pipe");
    if (read(port_pipe[0], &sv, sizeof sv) != (ssize_t)sizeof sv)
        memset(&sv, 0, sizeof sv);
    if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !sv.ok) {
        fprintf(stderr, "soak: the server failed\n");
        return 1;
    }
    return ok && agree(&sv) ? 0 : 1;
}
