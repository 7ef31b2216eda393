/* The seed's echo server: a listener task accepts connections and adds one
 * handler task per connection, in a malloc'ed frame that the handler's
 * finally section frees. Idle connections time out; SIGINT or SIGTERM
 * cancels the listener and lets the handlers finish. SIGUSR1 writes a task
 * dump to stderr: what every task waits on. Out of descriptors (EMFILE),
 * the listener pauses and tries again (10 ms, doubling up to 1 s) while
 * the connections it has go on and end, so it rides out the exhaustion.
 * Usage: echo_server [--threads N] [PORT] [IDLE_MS]  (port 0: any; prints the port)
 *        echo_server [--threads N] --demo            (also runs three clients in-process)
 * --threads N (default 1): N threads (the main one and N - 1 more), each
 * with a scheduler of its own (the default scheduler is per thread) and a
 * listening socket of its own, all bound to one port with SO_REUSEPORT:
 * the kernel (Linux) spreads the connections over them, and a connection
 * stays with the thread that accepted it, so the threads share nothing but
 * the signals. Port 0: the first socket gets a free port, the others bind
 * that one. A signal reaches every thread: one more thread takes it
 * (sigwait) and posts each thread's mt_signal, the one cross-thread call
 * this needs. SIGTERM stops them all; each ends once its connections
 * have, destroys its scheduler and is joined. Then each thread's count
 * of accepted connections goes to stderr ("echo_server: thread I: C
 * connections"). Each thread's dump (SIGUSR1) opens with "thread I:". */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* glibc: SO_REUSEPORT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "multitask.h"

/* Threads need the per-thread default scheduler and a port to share. */
#if MT_THREADS && defined(SO_REUSEPORT)
#define THREADS 1
#include <pthread.h>
#else
#define THREADS 0
#endif
#define MAX_THREADS 1024

static long idle_ms = 10000;

struct handler {
    mt_task task;
    int fd;
    char buf[4096];
    ssize_t n;
    size_t done;
};

static int handler(mt_task *t)
{
    struct handler *f = (struct handler *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, idle_ms));
        if (mt_err(t) == MT_ETIMEDOUT)
            break; /* idle: hang up */
        if (mt_err(t) || f->n == 0)
            break; /* reset, or the client closed */
        MT_WRITE_ALL(t, f->fd, f->buf, (size_t)f->n, &f->done, idle_ms);
    }
    MT_FINALLY(t);
    mt_close(f->fd);
    free(f); /* the scheduler never touches the frame after this */
    MT_END(t);
}

struct listener {
    mt_task task;
    int fd, conn;
    long pause; /* ms before the next try after a failed accept; 0: none failed */
    unsigned long accepted;
};

/* Whether an accept error says the listening socket itself is unusable.
 * Every other one passes: running out of descriptors (EMFILE, ENFILE) or
 * of memory (ENOBUFS, ENOMEM), and the errors of a connection that failed
 * before it was taken (EPROTO, EPERM, ENETDOWN, ...); the library already
 * retries ECONNABORTED and EINTR. */
static int accept_fatal(int err)
{
    return err == MT_EBADF || err == MT_EINVAL || err == MT_ERANGE || err == MT_ESYS(EBADF) ||
           err == MT_ESYS(ENOTSOCK) || err == MT_ESYS(EINVAL) || err == MT_ESYS(EFAULT);
}

static int listener(mt_task *t)
{
    struct listener *f = (struct listener *)t;
    struct handler *h;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_ACCEPT(t, f->fd, &f->conn, NULL, NULL, MT_FOREVER));
        if (mt_err(t) == MT_ECANCELED)
            break; /* shutting down */
        if (mt_err(t)) {
            if (accept_fatal(mt_err(t)))
                MT_RAISE(t, mt_err(t), NULL);
            if (!f->pause)
                fprintf(stderr, "echo_server: accept: %s; pausing\n", mt_errmsg(t));
            /* The pending connection stays in the backlog, and the socket
             * readable: try again once some of ours may have closed. */
            f->pause = !f->pause ? 10 : f->pause < 500 ? f->pause * 2 : 1000;
            MT_SLEEP(t, f->pause);
            continue;
        }
        f->pause = 0;
        f->accepted++;
        h = (struct handler *)calloc(1, sizeof *h);
        if (!h) {
            close(f->conn); /* out of memory: refuse this one */
            continue;
        }
        h->fd = f->conn;
        mt_add(&h->task, handler); /* to this thread's scheduler */
    }
    MT_FINALLY(t); /* cancelled: stop listening */
    mt_close(f->fd);
    MT_END(t);
}

/* One per thread: its listener, the tasks that stop it and dump its
 * scheduler, and the signals that wake them. The signals are registered
 * by the thread itself, with its own default scheduler. */
struct worker;
struct helper {
    mt_task task;
    struct worker *w;
};

struct worker {
    struct listener lst;
    struct helper stopper, dumper;
    mt_signal stop, dump;
    int id, ok, rc; /* ok: its signals are registered, posts may come */
#if THREADS
    pthread_t thread;
#endif
};

static struct worker *workers;
static int nworkers = 1;

/* With threads, posts take turns with a thread's end under this lock (a
 * post to a scheduler being destroyed could write to its closed pipe);
 * it also guards the count of threads ready. */
#if THREADS
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
#define LOCK() pthread_mutex_lock(&lock)
#define UNLOCK() pthread_mutex_unlock(&lock)
#else
#define LOCK() ((void)0)
#define UNLOCK() ((void)0)
#endif

/* SIGINT/SIGTERM and SIGUSR1 post every thread's signal; the tasks woken
 * do the work, since a signal handler or another thread may only post
 * (a scheduler's lists are its own thread's). One thread: a handler posts
 * (no lock: there is no other thread), installed once the signals are
 * registered. More: signal_loop posts, under the lock. */
static void post_all(int dump)
{
    int i;
    for (i = 0; i < nworkers; i++)
        if (workers[i].ok)
            mt_signal_post(dump ? &workers[i].dump : &workers[i].stop);
}

static void on_stop(int signo)
{
    (void)signo;
    post_all(0);
}

static void on_dump(int signo)
{
    (void)signo;
    post_all(1);
}

static void stop_all(void)
{
    LOCK();
    post_all(0);
    UNLOCK();
}

/* stderr's lock keeps a thread's dump in one piece. */
static int dumper(mt_task *t)
{
    struct helper *f = (struct helper *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_SIGNAL_WAIT(t, &f->w->dump, MT_FOREVER);
        flockfile(stderr);
        if (nworkers > 1)
            fprintf(stderr, "thread %d:\n", f->w->id);
        mt_sched_dump(mt_default(), mt_out_stdio, stderr);
        funlockfile(stderr);
    }
    MT_END(t);
}

static int stopper(mt_task *t)
{
    struct helper *f = (struct helper *)t;
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &f->w->stop, MT_FOREVER);
    if (f->w->id == 0)
        fprintf(stderr, "echo_server: shutting down\n");
    mt_cancel(&f->w->lst.task);
    mt_cancel(&f->w->dumper.task);
    MT_END(t);
}

/* On the worker's own thread: its signals and tasks, in that thread's
 * default scheduler. On failure nothing is left in it. */
static int worker_start(struct worker *w)
{
    w->stopper.w = w->dumper.w = w;
    if (mt_signal_init(mt_default(), &w->stop) || mt_signal_init(mt_default(), &w->dump)) {
        mt_sched_destroy(mt_default());
        return -1;
    }
    mt_add(&w->lst.task, listener);
    mt_add(&w->stopper.task, stopper);
    mt_add(&w->dumper.task, dumper);
    LOCK();
    w->ok = 1;
    UNLOCK();
    return 0;
}

/* Until the worker is stopped and its connections have ended; then, no
 * more posts to it, and the thread's scheduler is destroyed (it closes
 * its self-pipe and epoll). */
static int worker_run(struct worker *w)
{
    int r = mt_run();
    LOCK();
    w->ok = 0;
    UNLOCK();
    mt_sched_destroy(mt_default());
    return r;
}

/* --demo: clients in the same process, over loopback. */
struct client {
    mt_task task;
    int id, fd, i;
    struct sockaddr_in addr;
    char out[64], in[64];
    size_t len, done;
};

static int client(mt_task *t)
{
    struct client *f = (struct client *)t;
    MT_BEGIN(t);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->fd < 0 || mt_fd_nonblock(f->fd))
        MT_RAISE(t, MT_EFAIL, "socket");
    MT_CONNECT(t, f->fd, (struct sockaddr *)&f->addr, sizeof f->addr, 1000);
    for (f->i = 1; f->i <= 2; f->i++) {
        f->len = (size_t)snprintf(f->out, sizeof f->out, "client %d, line %d\n", f->id, f->i);
        MT_WRITE_ALL(t, f->fd, f->out, f->len, &f->done, 1000);
        MT_READ_ALL(t, f->fd, f->in, f->len, &f->done, 1000);
        printf("client %d got back: %.*s", f->id, (int)f->len, f->in);
    }
    MT_FINALLY(t);
    if (f->fd >= 0)
        mt_close(f->fd);
    MT_END(t);
}

struct demo {
    mt_task task;
    struct client c[3];
    int i;
};

static int demo(mt_task *t)
{
    struct demo *f = (struct demo *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 3; f->i++) /* the three at once: add, not await */
        mt_add(&f->c[f->i].task, client);
    MT_WAIT_UNTIL(t, mt_state(&f->c[0].task) < MT_RUNNABLE &&
                     mt_state(&f->c[1].task) < MT_RUNNABLE &&
                     mt_state(&f->c[2].task) < MT_RUNNABLE, 5000);
    stop_all(); /* as if Ctrl-C */
    MT_END(t);
}

#if THREADS
/* Each thread says when it has registered its signals (or failed to):
 * a post before that would be lost. */
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static int nready, nstarted = 1;
static pthread_t signal_thread;
static sigset_t signals; /* SIGINT, SIGTERM, SIGUSR1 */

static void *worker_thread(void *arg)
{
    struct worker *w = (struct worker *)arg;
    int ok = worker_start(w) == 0;

    LOCK();
    nready++;
    pthread_cond_signal(&ready_cond);
    UNLOCK();
    if (ok) {
        w->rc = worker_run(w);
    } else {
        close(w->lst.fd);
        w->rc = 1;
    }
    return NULL;
}

/* With threads, no handler: the signals are blocked in every thread and
 * taken here by sigwait, so a post comes from a plain thread and no
 * scheduler's thread is interrupted. (A handler would only post, but
 * under qemu-user's i386 emulation a thread that ran one came back with
 * the last-started thread's thread-local storage: its default scheduler.)
 * It ends with the first stop. */
static void *signal_loop(void *arg)
{
    int sig = 0;

    (void)arg;
    while (sigwait(&signals, &sig) == 0 && sig == SIGUSR1) {
        LOCK();
        post_all(1);
        UNLOCK();
    }
    stop_all();
    return NULL;
}

/* Threads 1 to N - 1 (the main thread is worker 0), then the signal
 * thread once all are ready. Returns 0 once each is serving, -1 if one
 * could not start or set up (the others are then stopped). */
static int start_threads(void)
{
    int i, failed = 0;

    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, NULL); /* inherited by each thread */
    for (i = 1; i < nworkers && !failed; i++) {
        failed = pthread_create(&workers[i].thread, NULL, worker_thread, &workers[i]) != 0;
        nstarted += !failed;
    }
    LOCK();
    while (nready < nstarted - 1)
        pthread_cond_wait(&ready_cond, &lock);
    for (i = 0; i < nstarted; i++)
        failed |= !workers[i].ok;
    UNLOCK();
    if (!failed && pthread_create(&signal_thread, NULL, signal_loop, NULL) == 0)
        return 0;
    stop_all();
    return -1;
}

/* Each thread ends once stopped and its connections are over; then the
 * signal thread (if no signal stopped it: --demo) is sent one. Its post
 * then reaches no one: every worker has said it takes no more. */
static int join_threads(int signal_started)
{
    int i, failed = 0;

    for (i = 1; i < nstarted; i++) {
        pthread_join(workers[i].thread, NULL);
        failed |= workers[i].rc != 0;
    }
    if (signal_started) {
        pthread_kill(signal_thread, SIGTERM);
        pthread_join(signal_thread, NULL);
    }
    return failed;
}
#endif

/* With more than one thread, SO_REUSEPORT (set before bind) lets each
 * thread's socket bind the same port. */
static int share_port(int fd)
{
#if THREADS
    int one = 1;
    if (nworkers > 1)
        return setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#endif
    (void)fd;
    return 0;
}

/* One listening socket per thread. Asked for any port (0), the first
 * learns the one it got, and the others bind that. */
static int open_listeners(struct sockaddr_in *a)
{
    socklen_t alen = sizeof *a;
    int i, fd, one = 1;

    for (i = 0; i < nworkers; i++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
            share_port(fd) || bind(fd, (struct sockaddr *)a, sizeof *a) ||
            listen(fd, SOMAXCONN) || mt_fd_nonblock(fd) ||
            (i == 0 && getsockname(fd, (struct sockaddr *)a, &alen)))
            return -1;
        workers[i].lst.fd = fd;
        workers[i].id = i;
    }
    return 0;
}

static void handle_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_dump;
    sigaction(SIGUSR1, &sa, NULL);
}

/* --threads N may come anywhere; the other arguments keep their places:
 * [PORT] [IDLE_MS], or --demo [IDLE_MS]. */
static int parse_args(int argc, char **argv, int *is_demo, int *port)
{
    const char *pos[2] = { NULL, NULL };
    char *end = NULL;
    int i, n = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") != 0) {
            if (n < 2)
                pos[n++] = argv[i];
            continue;
        }
        nworkers = i + 1 < argc ? (int)strtol(argv[++i], &end, 10) : 0;
        if (!end || *end || nworkers < 1 || nworkers > MAX_THREADS || (!THREADS && nworkers > 1)) {
            fprintf(stderr, "usage: echo_server [--threads N] [PORT | --demo] [IDLE_MS]\n"
                            "  N from 1 to %d%s\n", MAX_THREADS,
                    THREADS ? "" : " (built without threads or SO_REUSEPORT: 1 only)");
            return -1;
        }
    }
    *is_demo = pos[0] && strcmp(pos[0], "--demo") == 0;
    *port = pos[0] && !*is_demo ? atoi(pos[0]) : 0;
    if (pos[1])
        idle_ms = atol(pos[1]);
    return 0;
}

int main(int argc, char **argv)
{
    static struct demo d;
    int is_demo, port, i, r, failed = 0;
    struct sockaddr_in a;

    if (parse_args(argc, argv, &is_demo, &port))
        return 2;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    workers = (struct worker *)calloc((size_t)nworkers, sizeof *workers);
    if (!workers || open_listeners(&a) || worker_start(&workers[0])) {
        perror("echo_server");
        return 1;
    }
#if THREADS
    if (nworkers > 1)
        failed = start_threads();
#endif
    if (failed) {
        fprintf(stderr, "echo_server: a thread did not start\n");
    } else {
        if (nworkers == 1)
            handle_signals();
        printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
        fflush(stdout);
    }
    if (is_demo && !failed) {
        for (i = 0; i < 3; i++) {
            d.c[i].id = i + 1;
            d.c[i].fd = -1;
            d.c[i].addr = a;
        }
        mt_add(&d.task, demo);
    }
    r = worker_run(&workers[0]);
#if THREADS
    if (nworkers > 1)
        failed |= join_threads(!failed);
#endif
    for (i = 0; i < nworkers && nworkers > 1; i++)
        fprintf(stderr, "echo_server: thread %d: %lu connections\n", i, workers[i].lst.accepted);
    free(workers);
    return r == 0 && !failed ? 0 : 1;
}
