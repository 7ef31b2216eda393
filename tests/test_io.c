#define _POSIX_C_SOURCE 200809L
/* I/O: waits on descriptors, reads and writes, sockets (Unix pairs, loopback
 * TCP and UDP), whole-buffer transfers, lines, timeouts in virtual time,
 * errors (EOF, reset, refused, closed under a waiter, out of range, broken
 * pipe), cancellation and fairness. Tests with the fake clock never block:
 * the scheduler polls descriptors with a zero timeout and the clock's idle
 * hook stands for the blocking part. Tests on TCP/UDP use the real clock, so
 * that the backend (select, poll or epoll) blocks until the kernel has
 * delivered what we wait for (no race with the network stack); every such
 * wait is for an event already on its way. Every test ends with its
 * scheduler empty and destroyed (mt_sched_destroy: poll array, epoll fd). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "util.h"

/* ---- Helpers ------------------------------------------------------------ */

static struct reports rep;

/* A fresh scheduler whose unhandled errors are recorded in `rep`; with a
 * fake clock starting at 1000 when `c` is given. */
static void start(mt_sched *s, struct fake_clock *c)
{
    start_sched(s, c, 1000, &rep);
}

/* Run cycles until nothing is runnable, timed or waiting on a descriptor;
 * fail (instead of hanging) after `max` cycles. Returns the cycles run. */
static long drive(mt_sched *s, long max)
{
    long cycles = 0;
    while (mt_sched_has_runnable(s) || mt_sched_has_timeouts(s) ||
           mt_sched_has_io_waits(s)) {
        assert_true(cycles < max);
        assert_true(mt_sched_run_once(s, MT_FOREVER) >= 0);
        cycles++;
    }
    return cycles;
}

static void nonblock(int fd) { assert_int_equal(mt_fd_nonblock(fd), 0); }

static void test_fd_helpers_bad_input(void **state);
static void test_two_waiters_per_fd_near_the_limit(void **state);
static void test_merge_io_waiters(void **state);

static void xclose(int fd) { assert_int_equal(close(fd), 0); }

static void xwrite(int fd, const char *s)
{
    size_t len = strlen(s);
    assert_int_equal(write(fd, s, len), (ssize_t)len);
}

/* Read everything queued on a non-blocking fd; returns the byte count. */
static size_t drain(int fd)
{
    char buf[4096];
    size_t total = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)r;
    assert_int_equal(r, -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    return total;
}

/* Write until the socket's buffers are full (non-blocking fd). */
static size_t fill(int fd)
{
    static char buf[4096];
    size_t total = 0;
    ssize_t r;
    memset(buf, 'f', sizeof buf);
    while ((r = write(fd, buf, sizeof buf)) > 0)
        total += (size_t)r;
    assert_int_equal(r, -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    return total;
}

static struct sockaddr_in loopback(void)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    return a;
}

/* A socket of `type` bound to 127.0.0.1 on a free port; *addr gets it. */
static int bound_socket(int type, struct sockaddr_in *addr)
{
    socklen_t len = sizeof *addr;
    int fd = socket(AF_INET, type, 0);
    assert_true(fd >= 0);
    *addr = loopback();
    assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    assert_int_equal(len, sizeof *addr);
    assert_true(addr->sin_port != 0);
    return fd;
}

/* A connected loopback TCP pair, made with blocking calls, then both ends
 * made non-blocking. */
static void tcp_pair(int *a, int *b)
{
    struct sockaddr_in addr;
    int l = bound_socket(SOCK_STREAM, &addr);
    assert_int_equal(listen(l, 1), 0);
    *a = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*a >= 0);
    assert_int_equal(connect(*a, (struct sockaddr *)&addr, sizeof addr), 0);
    *b = accept(l, NULL, NULL);
    assert_true(*b >= 0);
    xclose(l);
    nonblock(*a);
    nonblock(*b);
}

/* ---- Task frames used by several tests ---------------------------------- */

/* One MT_WAIT_FD. */
struct fdwait {
    mt_task task;
    int fd, events;
    long timeout;
    int ready, err, resumes;
};

static int fd_waiter(mt_task *t)
{
    struct fdwait *f = (struct fdwait *)t;
    f->resumes++;
    MT_BEGIN(t);
    MT_CATCH(t, MT_WAIT_FD(t, f->fd, f->events, f->timeout));
    f->err = mt_err(t);
    f->ready = f->err ? -1 : mt_fd_ready(t);
    MT_END(t);
}

static void add_fdwait(mt_sched *s, struct fdwait *f, int fd, int events,
                       long timeout)
{
    memset(f, 0, sizeof *f);
    f->fd = fd;
    f->events = events;
    f->timeout = timeout;
    f->ready = -2;
    assert_int_equal(mt_sched_add(s, &f->task, fd_waiter), 0);
}

/* One MT_READ (or MT_RECV), caught; what the scheduler holds afterwards. */
struct reader {
    mt_task task;
    mt_sched *s;
    int fd, use_recv;
    long timeout;
    char buf[64];
    ssize_t n;
    int err, resumes, has_io, has_timer;
    mt_time at;
};

static int reader(mt_task *t)
{
    struct reader *f = (struct reader *)t;
    f->resumes++;
    MT_BEGIN(t);
    f->n = -2;
    if (f->use_recv) {
        MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, f->timeout));
    } else {
        MT_CATCH(t, MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, f->timeout));
    }
    f->err = mt_err(t);
    f->at = mt_sched_now(f->s);
    f->has_io = mt_sched_has_io_waits(f->s);
    f->has_timer = mt_sched_has_timeouts(f->s);
    MT_END(t);
}

static void add_reader(mt_sched *s, struct reader *f, int fd, long timeout)
{
    memset(f, 0, sizeof *f);
    f->s = s;
    f->fd = fd;
    f->timeout = timeout;
    f->err = 1;
    assert_int_equal(mt_sched_add(s, &f->task, reader), 0);
}

/* Writes chunks, sleeping delays[i] ticks before chunk i (0: a yield);
 * then closes its descriptor if asked. */
struct feeder {
    mt_task task;
    int fd, i, close_after;
    long delays[4];
    const char *chunks[4]; /* up to a NULL */
    ssize_t wrote[4];
};

static int feeder(mt_task *t)
{
    struct feeder *f = (struct feeder *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 4 && f->chunks[f->i]; f->i++) {
        MT_SLEEP(t, f->delays[f->i]);
        f->wrote[f->i] = write(f->fd, f->chunks[f->i], strlen(f->chunks[f->i]));
    }
    if (f->close_after) {
        close(f->fd);
        f->fd = -1;
    }
    MT_END(t);
}

/* ---- MT_WAIT_FD wakes a task when its descriptor is ready --------------- */

/* A reader parks; the writer writes after a yield; the reader wakes
 * readable, in the cycle after the write. */
static void test_wait_fd_wakes_when_written(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct fdwait w;
    struct feeder wr = {0};
    char ch;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    add_fdwait(&s, &w, sv[0], MT_READABLE, MT_FOREVER);
    wr.fd = sv[1];
    wr.chunks[0] = "x"; /* delay 0: a yield first */
    assert_int_equal(mt_sched_add(&s, &wr.task, feeder), 0);

    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 2);
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    assert_int_equal(mt_sched_has_timeouts(&s), 0);
    /* The writer writes; the reader was polled before, still parked. */
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(wr.wrote[0], 1);
    assert_int_equal(mt_state(&wr.task), MT_DONE);
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    /* Now it is woken and runs in the same cycle. */
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(mt_state(&w.task), MT_DONE);
    assert_int_equal(w.err, 0);
    assert_true(w.ready & MT_READABLE);
    assert_int_equal(w.ready, MT_READABLE); /* only what was asked */
    assert_int_equal(w.resumes, 2);
    assert_int_equal(c.idles, 0);
    assert_int_equal(read(sv[0], &ch, 1), 1); /* the wait consumed nothing */
    assert_int_equal(ch, 'x');
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* Ready descriptors: the wait completes at once, the task never parks, all
 * in one cycle, with the real clock (nothing would block anyway). */
static void test_wait_fd_ready_at_once(void **state)
{
    mt_sched s;
    struct fdwait r, w, rw, quiet;
    int sv[2];
    (void)state;

    start(&s, NULL);
    unix_pair(sv);
    xwrite(sv[1], "x");
    add_fdwait(&s, &r, sv[0], MT_READABLE, MT_FOREVER);
    add_fdwait(&s, &w, sv[0], MT_WRITABLE, 0); /* 0: no wait allowed */
    add_fdwait(&s, &rw, sv[0], MT_READABLE | MT_WRITABLE, MT_FOREVER);
    add_fdwait(&s, &quiet, sv[1], MT_READABLE | MT_WRITABLE, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 4);
    assert_int_equal(mt_sched_has_io_waits(&s), 0);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(r.resumes, 1);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.ready, MT_READABLE);
    assert_int_equal(w.resumes, 1);
    assert_int_equal(w.err, 0);
    assert_int_equal(w.ready, MT_WRITABLE);
    assert_int_equal(rw.resumes, 1);
    assert_int_equal(rw.ready, MT_READABLE | MT_WRITABLE);
    /* Nothing to read on sv[1]: only writable is reported. */
    assert_int_equal(quiet.resumes, 1);
    assert_int_equal(quiet.ready, MT_WRITABLE);
    assert_int_equal(drain(sv[0]), 1);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* Two tasks on the same descriptor, one for reading, one for writing (its
 * buffers full): both are served when both events come. */
static void test_wait_fd_two_tasks_same_fd(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct fdwait r, w;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    assert_true(fill(sv[0]) > 0);
    add_fdwait(&s, &r, sv[0], MT_READABLE, MT_FOREVER);
    add_fdwait(&s, &w, sv[0], MT_WRITABLE, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 2);
    assert_int_equal(mt_state(&r.task), MT_WAITING);
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    /* Nothing happened: nobody wakes. */
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 0);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 0);
    assert_int_equal(mt_state(&r.task), MT_WAITING);
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    /* Room to write (the peer drained) and something to read. */
    assert_true(drain(sv[1]) > 0);
    xwrite(sv[1], "y");
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 2);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.ready, MT_READABLE);
    assert_int_equal(w.err, 0);
    assert_int_equal(w.ready, MT_WRITABLE);
    assert_int_equal(r.resumes, 2);
    assert_int_equal(w.resumes, 2);
    assert_int_equal(drain(sv[0]), 1);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* A closed descriptor or a bad argument fails at once. */
static void test_wait_fd_bad_arguments(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct fdwait neg, none, closed;
    struct reader rd;
    int sv[2], gone;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    gone = dup(sv[0]);
    assert_true(gone >= 0);
    xclose(gone); /* a descriptor number known to be free */
    add_fdwait(&s, &neg, -1, MT_READABLE, MT_FOREVER);
    add_fdwait(&s, &none, sv[0], 0, MT_FOREVER);
    add_fdwait(&s, &closed, gone, MT_READABLE, MT_FOREVER);
    add_reader(&s, &rd, gone, 100);
    assert_int_equal(mt_sched_run_once(&s, 0), 4);
    assert_int_equal(neg.err, MT_EINVAL);
    assert_int_equal(none.err, MT_EINVAL);
    assert_int_equal(closed.err, MT_EBADF);
    assert_int_equal(rd.err, MT_EBADF);
    assert_int_equal(rd.n, -1);
    assert_int_equal(rd.has_timer, 0);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- MT_READ/WRITE/RECV/SEND wait until ready; EOF reads 0 bytes -------- */

struct rw_reader {
    mt_task task;
    int fd, stage, resumes;
    char got[2][16];
    char tail[16];
    ssize_t n[3];
};

static int rw_reader(mt_task *t)
{
    struct rw_reader *f = (struct rw_reader *)t;
    f->resumes++;
    MT_BEGIN(t);
    MT_READ(t, f->fd, f->got[0], sizeof f->got[0], &f->n[0], MT_FOREVER);
    f->stage = 1;
    MT_RECV(t, f->fd, f->got[1], sizeof f->got[1], 0, &f->n[1], MT_FOREVER);
    f->stage = 2;
    MT_READ(t, f->fd, f->tail, sizeof f->tail, &f->n[2], MT_FOREVER);
    f->stage = 3;
    MT_END(t);
}

struct rw_writer {
    mt_task task;
    int fd;
    struct rw_reader *peer;
    char msg[2][8];
    ssize_t n[2];
};

static int rw_writer(mt_task *t)
{
    struct rw_writer *f = (struct rw_writer *)t;
    MT_BEGIN(t);
    MT_YIELD(t); /* the reader parks first */
    MT_WRITE(t, f->fd, f->msg[0], 5, &f->n[0], MT_FOREVER);
    MT_WAIT_UNTIL(t, f->peer->stage >= 1, MT_FOREVER);
    MT_SEND(t, f->fd, f->msg[1], 5, 0, &f->n[1], MT_FOREVER);
    MT_WAIT_UNTIL(t, f->peer->stage >= 2, MT_FOREVER);
    close(f->fd); /* the reader sees EOF */
    f->fd = -1;
    MT_END(t);
}

static void test_read_write_recv_send_eof(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct rw_reader r = {0};
    struct rw_writer w = {0};
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    r.fd = sv[0];
    r.n[0] = r.n[1] = r.n[2] = -2;
    w.fd = sv[1];
    w.peer = &r;
    memcpy(w.msg[0], "hello", 5);
    memcpy(w.msg[1], "world", 5);
    assert_int_equal(mt_sched_add(&s, &r.task, rw_reader), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, rw_writer), 0);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(w.n[0], 5);
    assert_int_equal(w.n[1], 5);
    assert_int_equal(w.fd, -1);
    assert_int_equal(r.stage, 3);
    assert_int_equal(r.n[0], 5);
    assert_memory_equal(r.got[0], "hello", 5);
    assert_int_equal(r.n[1], 5);
    assert_memory_equal(r.got[1], "world", 5);
    assert_int_equal(r.n[2], 0); /* EOF */
    /* Each of the three reads found nothing at first and waited once. */
    assert_int_equal(r.resumes, 4);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(mt_state(&w.task), MT_DONE);
    assert_int_equal(c.idles, 0);
    xclose(sv[0]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- MT_WRITE_ALL, MT_READ_ALL move 4 MB intact via small buffers ------- */

#define BIG ((size_t)4 << 20)

struct bulk {
    mt_task task;
    mt_sched *s;
    int fd, writing, nocatch, timed, err;
    long timeout; /* used if timed, else MT_FOREVER */
    unsigned char *buf;
    size_t len, done;
    long resumes;
    mt_time at;
};

static int bulk(mt_task *t)
{
    struct bulk *f = (struct bulk *)t;
    f->resumes++;
    MT_BEGIN(t);
    if (f->writing) {
        MT_CATCH(t, MT_WRITE_ALL(t, f->fd, f->buf, f->len, &f->done, MT_FOREVER));
    } else if (f->nocatch) {
        MT_READ_ALL(t, f->fd, f->buf, f->len, &f->done, MT_FOREVER);
    } else {
        MT_CATCH(t, MT_READ_ALL(t, f->fd, f->buf, f->len, &f->done, f->timed ? f->timeout : MT_FOREVER));
    }
    f->err = mt_err(t);
    if (f->s)
        f->at = mt_sched_now(f->s);
    MT_END(t);
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i ^ (i >> 8) ^ (i >> 16) ^ (i >> 24) ^ 0x5a);
}

static void small_buffers(int fd)
{
    int size = 4096;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size), 0);
}

static void test_write_all_read_all_4mb(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct bulk w = {0}, r = {0};
    size_t i, bad = 0;
    int sv[2], size = 0;
    socklen_t sl = sizeof size;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    small_buffers(sv[0]);
    small_buffers(sv[1]);
    assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, &sl), 0);
    assert_true(size < 65536); /* really small: BIG needs many rounds */
    w.buf = malloc(BIG);
    r.buf = malloc(BIG);
    assert_non_null(w.buf);
    assert_non_null(r.buf);
    for (i = 0; i < BIG; i++)
        w.buf[i] = pattern(i);
    memset(r.buf, 0, BIG);
    w.fd = sv[0];
    w.writing = 1;
    w.len = BIG;
    w.err = r.err = 1;
    r.fd = sv[1];
    r.len = BIG;
    assert_int_equal(mt_sched_add(&s, &w.task, bulk), 0);
    assert_int_equal(mt_sched_add(&s, &r.task, bulk), 0);
    assert_true(drive(&s, 10000000L) > 2);
    assert_int_equal(w.err, 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(w.done, BIG);
    assert_int_equal(r.done, BIG);
    for (i = 0; i < BIG; i++)
        bad += r.buf[i] != pattern(i);
    assert_int_equal(bad, 0);
    /* The writer could not write it all at once: it waited, many times. */
    assert_true(w.resumes > 1);
    assert_true(r.resumes > 1);
    assert_true((size_t)w.resumes > BIG / (1u << 20));
    free(w.buf);
    free(r.buf);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- MT_READ_ALL fails with MT_EEOF when the peer closes early ---------- */

struct early_closer {
    mt_task task;
    int fd;
    struct bulk *peer;
    char data[100];
    ssize_t n[2];
};

static int early_closer(mt_task *t)
{
    struct early_closer *f = (struct early_closer *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    MT_WRITE(t, f->fd, f->data, 60, &f->n[0], MT_FOREVER);
    MT_WAIT_UNTIL(t, f->peer->done >= 60, MT_FOREVER); /* the reader waits again */
    MT_WRITE(t, f->fd, f->data + 60, 40, &f->n[1], MT_FOREVER);
    close(f->fd);
    f->fd = -1;
    MT_END(t);
}

static void test_read_all_eof_early(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct bulk r = {0};
    struct early_closer w = {0};
    unsigned char got[1000];
    int sv[2], i;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    memset(got, 0xee, sizeof got);
    r.fd = sv[0];
    r.buf = got;
    r.len = sizeof got;
    r.err = 1;
    w.fd = sv[1];
    w.peer = &r;
    for (i = 0; i < 100; i++)
        w.data[i] = (char)('a' + i % 26);
    assert_int_equal(mt_sched_add(&s, &r.task, bulk), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, early_closer), 0);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(r.err, MT_EEOF);
    assert_int_equal(r.done, 100);
    assert_memory_equal(got, w.data, 100);
    assert_int_equal(got[100], 0xee); /* nothing written past it */
    assert_true(r.resumes >= 3); /* parked, got 60, parked, got 40 + EOF */
    assert_int_equal(w.n[0], 60);
    assert_int_equal(w.n[1], 40);
    assert_int_equal(w.fd, -1);
    xclose(sv[0]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* Uncaught, after a wake-up: the report and mt_errmsg give the code's text
 * (the wake-up's ready events share the message's storage). */
struct eof_reader { mt_task task; int fd; char buf[8]; size_t done; };

static int eof_reader(mt_task *t)
{
    struct eof_reader *f = (struct eof_reader *)t;
    MT_BEGIN(t);
    MT_READ_ALL(t, f->fd, f->buf, sizeof f->buf, &f->done, MT_FOREVER);
    MT_END(t);
}

static void test_read_all_eof_uncaught(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct eof_reader r = {0};
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    r.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &r.task, eof_reader), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&r.task), MT_WAITING);
    xwrite(sv[1], "ab");
    xclose(sv[1]);
    drive(&s, 10);
    assert_int_equal(rep.count, 1);
    assert_int_equal(rep.code, MT_EEOF);
    assert_string_equal(rep.msg, mt_strerror(MT_EEOF));
    assert_string_equal(mt_errmsg(&r.task), mt_strerror(MT_EEOF));
    assert_int_equal(r.done, 2);
    xclose(sv[0]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* ---- A deadline or cancel in the cycle it becomes ready wins ------------ */

/* Ready and due in the same cycle: the operation that completes by its
 * deadline reports its result (the data is taken, not left in the socket);
 * one that would wait again times out, and its message is the code's text
 * (not the ready events, which share its storage). */
struct timed_reader { mt_task task; int fd, err, all; char buf[8], emsg[64]; ssize_t n; size_t done; };

static int timed_reader(mt_task *t)
{
    struct timed_reader *f = (struct timed_reader *)t;
    MT_BEGIN(t);
    if (f->all)
        MT_CATCH(t, MT_READ_ALL(t, f->fd, f->buf, 4, &f->done, 10));
    else
        MT_CATCH(t, MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, 10));
    f->err = mt_err(t);
    strncpy(f->emsg, mt_errmsg(t), sizeof f->emsg - 1);
    MT_END(t);
}

static void test_ready_and_due_together(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct timed_reader r;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    memset(&r, 0, sizeof r);
    r.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &r.task, timed_reader), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    xwrite(sv[1], "x");
    c.now += 20;
    drive(&s, 10);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 1);
    assert_memory_equal(r.buf, "x", 1);

    memset(&r, 0, sizeof r); /* needs 4 bytes, 1 came in time */
    r.fd = sv[0];
    r.all = 1;
    assert_int_equal(mt_sched_add(&s, &r.task, timed_reader), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    xwrite(sv[1], "y");
    c.now += 20;
    drive(&s, 10);
    assert_int_equal(r.err, MT_ETIMEDOUT);
    assert_string_equal(r.emsg, mt_strerror(MT_ETIMEDOUT));
    assert_int_equal(r.done, 1);
    assert_memory_equal(r.buf, "y", 1);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Cancelled after its descriptor became ready, before it resumed. */
struct io_canceller { mt_task task; mt_task *victim; };

static int io_canceller(mt_task *t)
{
    struct io_canceller *f = (struct io_canceller *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    mt_cancel(f->victim);
    MT_END(t);
}

static void test_cancel_when_ready(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct timed_reader r;
    struct io_canceller k;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    memset(&r, 0, sizeof r);
    memset(&k, 0, sizeof k);
    r.fd = sv[0];
    k.victim = &r.task;
    assert_int_equal(mt_sched_add(&s, &r.task, timed_reader), 0);
    assert_int_equal(mt_sched_add(&s, &k.task, io_canceller), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2); /* r parks, k yields */
    xwrite(sv[1], "x");
    drive(&s, 10); /* r is ready, k runs first and cancels it */
    assert_int_equal(r.err, MT_ECANCELED);
    assert_string_equal(r.emsg, mt_strerror(MT_ECANCELED));
    xclose(sv[0]);
    xclose(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* ---- MT_READLINE joins split lines and refuses one too long ------------- */

struct liner {
    mt_task task;
    int fd, count, err, eof, resumes;
    int at_resume[64]; /* count when each resume began */
    char store[16];
    mt_line lb;
    char lines[6][17];
    size_t lens[6];
};

static int liner(mt_task *t)
{
    struct liner *f = (struct liner *)t;
    if (f->resumes < 64)
        f->at_resume[f->resumes] = f->count;
    f->resumes++;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_READLINE(t, f->fd, &f->lb, MT_FOREVER));
        f->err = mt_err(t);
        if (f->err || !f->lb.line)
            break;
        if (f->count < 6) {
            memcpy(f->lines[f->count], f->lb.buf, f->lb.line);
            f->lens[f->count] = f->lb.line;
        }
        f->count++;
    }
    f->eof = !f->err && f->lb.line == 0;
    MT_END(t);
}

struct line_writer {
    mt_task task;
    int fd;
    struct liner *peer;
    ssize_t n[2];
};

static int line_writer(mt_task *t)
{
    struct line_writer *f = (struct line_writer *)t;
    MT_BEGIN(t);
    f->n[0] = write(f->fd, "one\ntwo\nthr", 11); /* two lines and a part */
    MT_WAIT_UNTIL(t, f->peer->count >= 2, MT_FOREVER);
    f->n[1] = write(f->fd, "ee\nlast", 7); /* the rest, and no '\n' */
    MT_WAIT_UNTIL(t, f->peer->count >= 3, MT_FOREVER);
    close(f->fd);
    f->fd = -1;
    MT_END(t);
}

static void test_readline(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct liner r;
    struct line_writer w = {0};
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    memset(&r, 0, sizeof r);
    r.fd = sv[0];
    mt_line_init(&r.lb, r.store, sizeof r.store);
    w.fd = sv[1];
    w.peer = &r;
    assert_int_equal(mt_sched_add(&s, &r.task, liner), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, line_writer), 0);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(w.n[0], 11);
    assert_int_equal(w.n[1], 7);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.count, 4);
    assert_int_equal(r.lens[0], 4);
    assert_memory_equal(r.lines[0], "one\n", 4);
    assert_int_equal(r.lens[1], 4);
    assert_memory_equal(r.lines[1], "two\n", 4);
    assert_int_equal(r.lens[2], 6); /* split across two writes */
    assert_memory_equal(r.lines[2], "three\n", 6);
    assert_int_equal(r.lens[3], 4); /* unterminated, before EOF */
    assert_memory_equal(r.lines[3], "last", 4);
    assert_int_equal(r.eof, 1);
    assert_int_equal(r.lb.line, 0);
    xclose(sv[0]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* A line that fills the buffer exactly fits; a longer one is refused. */
static void test_readline_too_long(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct liner r;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    memset(&r, 0, sizeof r);
    r.fd = sv[0];
    mt_line_init(&r.lb, r.store, 8);
    xwrite(sv[1], "abcdefg\n0123456789\n");
    assert_int_equal(mt_sched_add(&s, &r.task, liner), 0);
    assert_true(drive(&s, 10) > 0);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(r.count, 1);
    assert_int_equal(r.lens[0], 8);
    assert_memory_equal(r.lines[0], "abcdefg\n", 8);
    assert_int_equal(r.err, MT_ETOOLONG);
    assert_int_equal(r.eof, 0);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- MT_ACCEPT and MT_CONNECT on loopback TCP; a refused connection ----- */

struct acceptor {
    mt_task task;
    int lfd, cfd;
    struct sockaddr_in peer;
    socklen_t peerlen;
    char buf[8], reply[8];
    size_t done[2];
};

static int acceptor(mt_task *t)
{
    struct acceptor *f = (struct acceptor *)t;
    MT_BEGIN(t);
    MT_ACCEPT(t, f->lfd, &f->cfd, (struct sockaddr *)&f->peer, &f->peerlen, MT_FOREVER);
    MT_READ_ALL(t, f->cfd, f->buf, 4, &f->done[0], MT_FOREVER);
    MT_WRITE_ALL(t, f->cfd, f->reply, 4, &f->done[1], MT_FOREVER);
    MT_END(t);
}

struct connector {
    mt_task task;
    int fd, err;
    struct sockaddr_in addr;
    char msg[8], buf[8], emsg[128];
    ssize_t n;
    size_t done;
};

static int connector(mt_task *t)
{
    struct connector *f = (struct connector *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_CONNECT(t, f->fd, (struct sockaddr *)&f->addr, sizeof f->addr, MT_FOREVER));
    f->err = mt_err(t);
    strncpy(f->emsg, mt_errmsg(t), sizeof f->emsg - 1);
    if (!f->err) {
        MT_SEND(t, f->fd, f->msg, 4, 0, &f->n, MT_FOREVER);
        MT_READ_ALL(t, f->fd, f->buf, 4, &f->done, MT_FOREVER);
    }
    MT_END(t);
}

static void test_tcp_accept_connect(void **state)
{
    mt_sched s;
    struct acceptor a;
    struct connector c;
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    int fl;
    (void)state;

    start(&s, NULL);
    memset(&a, 0, sizeof a);
    memset(&c, 0, sizeof c);
    a.lfd = bound_socket(SOCK_STREAM, &c.addr);
    assert_int_equal(listen(a.lfd, 4), 0);
    nonblock(a.lfd);
    a.cfd = -1;
    a.peerlen = sizeof a.peer;
    memcpy(a.reply, "pong", 4);
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c.fd >= 0);
    nonblock(c.fd);
    c.err = 1;
    memcpy(c.msg, "ping", 4);
    assert_int_equal(mt_sched_add(&s, &a.task, acceptor), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&a.task), MT_WAITING); /* no client yet */
    assert_int_equal(mt_sched_add(&s, &c.task, connector), 0);
    assert_true(drive(&s, 1000) > 0);
    assert_int_equal(c.err, 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.done, 4);
    assert_memory_equal(c.buf, "pong", 4);
    assert_int_equal(a.done[0], 4);
    assert_memory_equal(a.buf, "ping", 4);
    assert_int_equal(a.done[1], 4);
    /* The accepted connection: non-blocking, from the client's address. */
    assert_true(a.cfd >= 0);
    fl = fcntl(a.cfd, F_GETFL);
    assert_true(fl >= 0 && (fl & O_NONBLOCK));
    assert_int_equal(getsockname(c.fd, (struct sockaddr *)&local, &len), 0);
    assert_int_equal(a.peerlen, sizeof a.peer);
    assert_int_equal(a.peer.sin_family, AF_INET);
    assert_int_equal(a.peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(a.peer.sin_port, local.sin_port);
    xclose(a.cfd);
    xclose(a.lfd);
    xclose(c.fd);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* A port that is bound but not listening refuses connections. */
static void test_tcp_connect_refused(void **state)
{
    mt_sched s;
    struct connector c;
    int holder;
    (void)state;

    start(&s, NULL);
    memset(&c, 0, sizeof c);
    holder = bound_socket(SOCK_STREAM, &c.addr); /* keeps the port ours */
    c.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c.fd >= 0);
    nonblock(c.fd);
    c.err = 1;
    assert_int_equal(mt_sched_add(&s, &c.task, connector), 0);
    assert_true(drive(&s, 1000) > 0);
    assert_int_equal(c.err, MT_ESYS(ECONNREFUSED));
    assert_string_equal(mt_errname(c.err), "MT_ESYS(ECONNREFUSED)");
    assert_string_equal(mt_strerror(c.err), strerror(ECONNREFUSED));
    assert_string_equal(c.emsg, strerror(ECONNREFUSED)); /* not the ready bits */
    assert_int_equal(c.n, 0); /* nothing sent */
    assert_int_equal(mt_state(&c.task), MT_DONE);
    xclose(c.fd);
    xclose(holder);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- MT_SENDTO and MT_RECVFROM carry a UDP datagram and its sender ------ */

struct udp_rx {
    mt_task task;
    int fd, resumes;
    char buf[32];
    ssize_t n;
    struct sockaddr_in from;
    socklen_t fromlen;
};

static int udp_rx(mt_task *t)
{
    struct udp_rx *f = (struct udp_rx *)t;
    f->resumes++;
    MT_BEGIN(t);
    MT_RECVFROM(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, (struct sockaddr *)&f->from, &f->fromlen, MT_FOREVER);
    MT_END(t);
}

struct udp_tx {
    mt_task task;
    int fd;
    struct sockaddr_in to;
    char msg[8];
    ssize_t n;
};

static int udp_tx(mt_task *t)
{
    struct udp_tx *f = (struct udp_tx *)t;
    MT_BEGIN(t);
    MT_YIELD(t); /* the receiver waits first */
    MT_SENDTO(t, f->fd, f->msg, 5, 0, &f->n, (const struct sockaddr *)&f->to, sizeof f->to, MT_FOREVER);
    MT_END(t);
}

static void test_udp_sendto_recvfrom(void **state)
{
    mt_sched s;
    struct udp_rx rx;
    struct udp_tx tx;
    struct sockaddr_in txaddr;
    (void)state;

    start(&s, NULL);
    memset(&rx, 0, sizeof rx);
    memset(&tx, 0, sizeof tx);
    rx.fd = bound_socket(SOCK_DGRAM, &tx.to);
    tx.fd = bound_socket(SOCK_DGRAM, &txaddr);
    nonblock(rx.fd);
    nonblock(tx.fd);
    rx.fromlen = sizeof rx.from;
    rx.n = -2;
    memcpy(tx.msg, "hi-u!", 5);
    assert_int_equal(mt_sched_add(&s, &rx.task, udp_rx), 0);
    assert_int_equal(mt_sched_add(&s, &tx.task, udp_tx), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_state(&rx.task), MT_WAITING);
    assert_true(drive(&s, 1000) > 0);
    assert_int_equal(tx.n, 5);
    assert_int_equal(rx.n, 5);
    assert_memory_equal(rx.buf, "hi-u!", 5);
    assert_int_equal(rx.resumes, 2);
    assert_int_equal(rx.fromlen, sizeof rx.from);
    assert_int_equal(rx.from.sin_family, AF_INET);
    assert_int_equal(rx.from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    assert_int_equal(rx.from.sin_port, txaddr.sin_port);
    xclose(rx.fd);
    xclose(tx.fd);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- I/O timeouts count once per operation, across its retries ---------- */

static void test_read_timeout(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reader r;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    add_reader(&s, &r, sv[0], 50);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&r.task), MT_WAITING);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(r.err, MT_ETIMEDOUT);
    assert_int_equal(r.at, (mt_time)1050);
    assert_int_equal(r.has_io, 0);
    assert_int_equal(r.has_timer, 0);
    assert_int_equal(r.n, -1);
    assert_int_equal(r.resumes, 2);
    assert_int_equal(c.idles, 1); /* one idle wait, straight to the deadline */
    assert_int_equal(c.last_idle, 50);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* Timeout 0: fails at once when it would wait, succeeds when it need not. */
static void test_read_timeout_zero(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reader silent, ready;
    int sv[2], sv2[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    unix_pair(sv2);
    xwrite(sv2[1], "go");
    add_reader(&s, &silent, sv[0], 0);
    add_reader(&s, &ready, sv2[0], 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(silent.err, MT_ETIMEDOUT);
    assert_int_equal(silent.at, (mt_time)1000);
    assert_int_equal(silent.resumes, 1);
    assert_int_equal(silent.has_io, 0);
    assert_int_equal(silent.has_timer, 0);
    assert_int_equal(ready.err, 0);
    assert_int_equal(ready.n, 2);
    assert_memory_equal(ready.buf, "go", 2);
    assert_int_equal(c.idles, 0);
    assert_int_equal(mt_state(&silent.task), MT_DONE);
    xclose(sv[0]);
    xclose(sv[1]);
    xclose(sv2[0]);
    xclose(sv2[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* The timeout counts once, from the first wait: two readers woken by one
 * byte; the one that finds nothing left waits again, until the original
 * deadline, not a fresh one. Data before the deadline is a success. */
static void test_timeout_spans_retries(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reader a, b, *win, *lose;
    struct feeder w = {0};
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    add_reader(&s, &a, sv[0], 100);
    add_reader(&s, &b, sv[0], 100);
    w.fd = sv[1];
    w.delays[0] = 40;
    w.chunks[0] = "x";
    assert_int_equal(mt_sched_add(&s, &w.task, feeder), 0);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(w.wrote[0], 1);
    /* Which of the two takes the byte is the backend's business (select
     * and poll: first come; epoll: last); exactly one does. */
    win = a.err == 0 ? &a : &b;
    lose = win == &a ? &b : &a;
    assert_int_equal(win->err, 0);
    assert_int_equal(win->n, 1);
    assert_int_equal(win->buf[0], 'x');
    assert_int_equal(win->at, (mt_time)1040);
    assert_int_equal(win->resumes, 2);
    assert_int_equal(lose->err, MT_ETIMEDOUT);
    assert_int_equal(lose->at, (mt_time)1100); /* not 1040 + 100 */
    assert_int_equal(lose->resumes, 3); /* start, woken for nothing, timed out */
    assert_int_equal(lose->has_io, 0);
    assert_int_equal(lose->has_timer, 0);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* The timeout of MT_READ_ALL covers the whole transfer. */
static void test_read_all_timeout_covers_whole(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct bulk r = {0};
    struct feeder w = {0};
    unsigned char got[10];
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    r.fd = sv[0];
    r.buf = got;
    r.len = sizeof got;
    r.err = 1;
    r.s = &s;
    r.timed = 1;
    r.timeout = 100;
    w.fd = sv[1];
    w.delays[0] = 60;
    w.chunks[0] = "12345";
    w.delays[1] = 70; /* at 1130: too late */
    w.chunks[1] = "67890";
    assert_int_equal(mt_sched_add(&s, &r.task, bulk), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, feeder), 0);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(r.err, MT_ETIMEDOUT);
    assert_int_equal(r.done, 5);
    assert_memory_equal(got, "12345", 5);
    assert_int_equal(r.at, (mt_time)1100);
    assert_int_equal(w.wrote[0], 5);
    assert_int_equal(w.wrote[1], 5); /* written after the reader gave up */
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- A peer reset fails the next receive with ECONNRESET ---------------- */

struct reset_reader {
    mt_task task;
    int fd, err;
    char buf[16];
    ssize_t n[2];
};

static int reset_reader(mt_task *t)
{
    struct reset_reader *f = (struct reset_reader *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n[0], MT_FOREVER));
    f->err = mt_err(t);
    MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n[1], MT_FOREVER);
    MT_END(t);
}

struct resetter {
    mt_task task;
    int fd, rc;
};

static int resetter(mt_task *t)
{
    struct resetter *f = (struct resetter *)t;
    struct linger lg;
    MT_BEGIN(t);
    MT_YIELD(t); /* the reader waits first */
    lg.l_onoff = 1;
    lg.l_linger = 0;
    f->rc = setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(f->fd); /* sends RST */
    f->fd = -1;
    MT_END(t);
}

/* Linux: the first receive after an RST fails with ECONNRESET; the next
 * one reads EOF. */
static void test_peer_reset(void **state)
{
    mt_sched s;
    struct reset_reader r = {0};
    struct resetter x = {0};
    int a, b;
    (void)state;

    start(&s, NULL);
    tcp_pair(&a, &b);
    r.fd = a;
    r.err = 1;
    r.n[0] = r.n[1] = -2;
    x.fd = b;
    x.rc = 1;
    assert_int_equal(mt_sched_add(&s, &r.task, reset_reader), 0);
    assert_int_equal(mt_sched_add(&s, &x.task, resetter), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_state(&r.task), MT_WAITING);
    assert_true(drive(&s, 1000) > 0);
    assert_int_equal(x.rc, 0);
    assert_int_equal(r.err, MT_ESYS(ECONNRESET));
    assert_int_equal(r.n[0], -1);
    assert_int_equal(r.n[1], 0);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    xclose(a);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- A descriptor closed under a waiter fails it with MT_EBADF ---------- */

struct closer {
    mt_task task;
    int victim, other;
    ssize_t wrote;
};

static int closer(mt_task *t)
{
    struct closer *f = (struct closer *)t;
    MT_BEGIN(t);
    MT_YIELD(t); /* both readers wait first */
    close(f->victim);
    f->wrote = write(f->other, "z", 1);
    MT_END(t);
}

static void test_fd_closed_under_waiter(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reader victim, bystander;
    struct closer k = {0};
    int sv[2], p[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    unix_pair(p);
    add_reader(&s, &victim, sv[0], 1000); /* a timer, to be cleared too */
    add_reader(&s, &bystander, p[0], MT_FOREVER);
    k.victim = sv[0];
    k.other = p[1];
    assert_int_equal(mt_sched_add(&s, &k.task, closer), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(mt_state(&victim.task), MT_WAITING);
    assert_int_equal(mt_state(&bystander.task), MT_WAITING);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(k.wrote, 1);
    assert_int_equal(victim.err, MT_EBADF);
#if MT_BACKEND == MT_BACKEND_EPOLL
    /* README: epoll notices "when the loop is next idle": before the
     * deadline, or at the latest in the cycle the deadline comes. */
    assert_false(mt_time_before((mt_time)2000, victim.at));
#else
    assert_int_equal(victim.at, (mt_time)1000); /* at once, not at timeout */
#endif
    assert_int_equal(victim.has_timer, 0);
    assert_int_equal(bystander.err, 0);
    assert_int_equal(bystander.n, 1);
    assert_int_equal(bystander.buf[0], 'z');
    assert_int_equal(c.idles, 0);
    xclose(sv[1]); /* sv[0] is closed by the task */
    xclose(p[0]);
    xclose(p[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- Descriptors >= FD_SETSIZE: MT_ERANGE under select only ------------- */

static void test_fd_above_fd_setsize(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct rlimit old, rl;
    int sv[2], high = FD_SETSIZE + 5, raised = 0;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    rl = old;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= (rlim_t)high) {
        rl.rlim_cur = (rlim_t)high + 16;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
            rl.rlim_cur = rl.rlim_max;
        raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
    }
    if (dup2(sv[0], high) != high) {
        /* Cannot have such a descriptor here: the kernel says why, and the
         * library refuses the bad number it cannot wait on either. */
        struct fdwait w;
        assert_int_equal(errno, EBADF);
        add_fdwait(&s, &w, -1, MT_READABLE, MT_FOREVER);
        assert_int_equal(mt_sched_run_once(&s, 0), 1);
        assert_int_equal(w.err, MT_EINVAL);
        if (raised)
            assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        xclose(sv[0]);
        xclose(sv[1]);
        assert_sched_empty(&s);
        assert_int_equal(mt_sched_destroy(&s), 0);
        skip();
        return;
    }
#if MT_BACKEND == MT_BACKEND_SELECT
    {
        struct fdwait w, wr;
        struct reader r, r0, ready;
        /* Waiting on it is impossible with select: MT_ERANGE, nothing left
         * behind, even with a timeout, and before a timeout of 0 expires. */
        add_fdwait(&s, &w, high, MT_READABLE, MT_FOREVER);
        add_fdwait(&s, &wr, high, MT_WRITABLE, 100);
        add_reader(&s, &r, high, 100);
        add_reader(&s, &r0, high, 0);
        assert_int_equal(mt_sched_run_once(&s, 0), 4);
        assert_int_equal(w.err, MT_ERANGE);
        assert_int_equal(wr.err, MT_ERANGE);
        assert_int_equal(r.err, MT_ERANGE);
        assert_int_equal(r0.err, MT_ERANGE);
        assert_int_equal(r.has_io, 0);
        assert_int_equal(r.has_timer, 0);
        assert_int_equal(mt_sched_has_io_waits(&s), 0);
        assert_int_equal(mt_sched_has_timeouts(&s), 0);
        /* An operation that need not wait still works on it. */
        xwrite(sv[1], "hi");
        add_reader(&s, &ready, high, 100);
        assert_int_equal(mt_sched_run_once(&s, 0), 1);
        assert_int_equal(ready.err, 0);
        assert_int_equal(ready.n, 2);
        assert_memory_equal(ready.buf, "hi", 2);
    }
#else
    {
        struct fdwait w;
        struct reader r;
        struct feeder f1 = {0}, f2 = {0};
        /* poll and epoll have no such limit: an operation waits on it. */
        add_reader(&s, &r, high, 100);
        f2.fd = sv[1];
        f2.delays[0] = 30;
        f2.chunks[0] = "hi";
        assert_int_equal(mt_sched_add(&s, &f2.task, feeder), 0);
        assert_true(drive(&s, 100) > 0);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.n, 2);
        assert_memory_equal(r.buf, "hi", 2);
        assert_int_equal(r.at, (mt_time)1030);
        assert_int_equal(r.resumes, 2);
        /* ... and so does MT_WAIT_FD on it. */
        add_fdwait(&s, &w, high, MT_READABLE, MT_FOREVER);
        f1.fd = sv[1];
        f1.chunks[0] = "a";
        assert_int_equal(mt_sched_add(&s, &f1.task, feeder), 0);
        assert_true(drive(&s, 100) > 0);
        assert_int_equal(w.err, 0);
        assert_int_equal(w.ready, MT_READABLE);
        assert_int_equal(w.resumes, 2);
        assert_int_equal(drain(high), 1);
    }
#endif
    xclose(high);
    if (raised)
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- Cancelled in MT_READ: off its descriptor and timer at once --------- */

static void test_cancel_parked_read(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reader caught;
    struct bulk uncaught = {0};
    unsigned char buf[4];
    char ch;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    add_reader(&s, &caught, sv[0], 500);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&caught.task), MT_WAITING);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 0); /* polled: nothing yet */
    assert_int_equal(mt_state(&caught.task), MT_WAITING);
    assert_int_equal(mt_cancel(&caught.task), 0);
    /* Off the descriptor and the timer at once. */
    assert_int_equal(mt_sched_has_io_waits(&s), 0);
    assert_int_equal(mt_sched_has_timeouts(&s), 0);
    assert_int_equal(mt_state(&caught.task), MT_RUNNABLE);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(caught.err, MT_ECANCELED);
    assert_int_equal(caught.at, (mt_time)1000);
    assert_int_equal(caught.has_io, 0);
    assert_int_equal(caught.has_timer, 0);
    assert_int_equal(mt_state(&caught.task), MT_CANCELLED); /* caught: still cancelled */

    /* Uncaught: the task ends cancelled, unreported. */
    uncaught.fd = sv[0];
    uncaught.buf = buf;
    uncaught.len = sizeof buf;
    uncaught.nocatch = 1;
    assert_int_equal(mt_sched_add(&s, &uncaught.task, bulk), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&uncaught.task), MT_WAITING);
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(mt_cancel(&uncaught.task), 0);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(mt_state(&uncaught.task), MT_CANCELLED);
    assert_int_equal(mt_err(&uncaught.task), MT_ECANCELED);
    assert_int_equal(uncaught.done, 0);
    /* Nothing was consumed on their behalf. */
    xwrite(sv[1], "q");
    assert_int_equal(read(sv[0], &ch, 1), 1);
    assert_int_equal(ch, 'q');
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- A yielding task does not starve readers ---------------------------- */

struct spinner {
    mt_task task;
    long spins;
    const struct reader *until;
};

static int spinner(mt_task *t)
{
    struct spinner *f = (struct spinner *)t;
    MT_BEGIN(t);
    while (mt_state(&f->until->task) != MT_DONE && f->spins < 10000) {
        f->spins++;
        MT_YIELD(t);
    }
    MT_END(t);
}

static void test_yielder_does_not_starve_io(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reader r;
    struct spinner sp = {0};
    long cycles = 0;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    add_reader(&s, &r, sv[0], MT_FOREVER);
    sp.until = &r;
    assert_int_equal(mt_sched_add(&s, &sp.task, spinner), 0);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 2);
    assert_int_equal(mt_state(&r.task), MT_WAITING);
    xwrite(sv[1], "data");
    while (mt_state(&r.task) != MT_DONE && cycles < 100) {
        assert_true(mt_sched_run_once(&s, MT_FOREVER) >= 1);
        cycles++;
    }
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_true(cycles <= 2);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.n, 4);
    assert_memory_equal(r.buf, "data", 4);
    assert_true(drive(&s, 10) > 0);
    assert_true(sp.spins <= 3);
    assert_int_equal(mt_state(&sp.task), MT_DONE);
    assert_int_equal(c.idles, 0);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- Names and texts of errors: MT_ESYS codes use strerror's text ------- */

static void test_system_error_names(void **state)
{
    mt_sched s;
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(MT_ESYS(ECONNRESET), MT_ESYS_BASE - ECONNRESET);
    assert_true(MT_ESYS(ECONNRESET) < MT_EUSER);
    assert_string_equal(mt_errname(MT_ESYS(ECONNRESET)), "MT_ESYS(ECONNRESET)");
    assert_string_equal(mt_errname(MT_ESYS(EMFILE)), "MT_ESYS(EMFILE)");
    assert_string_equal(mt_errname(MT_ESYS(4000)), "MT_ESYS"); /* no name of ours */
    {
        /* Every system error the library names, by its own name. */
        static const struct { int e; const char *name; } named[] = {
#define NAMED(e) {e, "MT_ESYS(" #e ")"},
            NAMED(EPERM) NAMED(ENOENT) NAMED(EINTR) NAMED(EIO) NAMED(EBADF) NAMED(EAGAIN)
            NAMED(ENOMEM) NAMED(EACCES) NAMED(EFAULT) NAMED(EBUSY) NAMED(EEXIST)
            NAMED(EINVAL) NAMED(ENFILE) NAMED(EMFILE) NAMED(ENOSPC) NAMED(EPIPE)
            NAMED(ERANGE) NAMED(ENOTSOCK) NAMED(EMSGSIZE) NAMED(EOPNOTSUPP)
            NAMED(EADDRINUSE) NAMED(EADDRNOTAVAIL) NAMED(ENETDOWN) NAMED(ENETUNREACH)
            NAMED(ECONNABORTED) NAMED(ECONNRESET) NAMED(ENOBUFS) NAMED(EISCONN)
            NAMED(ENOTCONN) NAMED(ETIMEDOUT) NAMED(ECONNREFUSED) NAMED(EHOSTUNREACH)
            NAMED(EALREADY) NAMED(EINPROGRESS)
#undef NAMED
        };
        size_t i;
        for (i = 0; i < sizeof named / sizeof named[0]; i++)
            assert_string_equal(mt_errname(MT_ESYS(named[i].e)), named[i].name);
    }
    /* Codes below the system range are user codes, named and told alike. */
    assert_string_equal(mt_errname(-32768), "MT_EUSER");
    assert_string_equal(mt_strerror(-32768), "user-defined error");
    assert_string_equal(mt_strerror(MT_ESYS(ECONNRESET)), strerror(ECONNRESET));
    assert_string_equal(mt_strerror(MT_ESYS(EPIPE)), strerror(EPIPE));
    assert_string_equal(mt_errname(MT_EBADF), "MT_EBADF");
    assert_string_equal(mt_errname(MT_ERANGE), "MT_ERANGE");
    assert_string_equal(mt_errname(MT_EEOF), "MT_EEOF");
    assert_string_equal(mt_errname(MT_ETOOLONG), "MT_ETOOLONG");
    assert_string_not_equal(mt_strerror(MT_EEOF), "unknown error");
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- Writing to a closed peer fails with EPIPE and raises no SIGPIPE ---- */

struct piper {
    mt_task task;
    int fd, err[2];
    char msg[8];
    ssize_t n;
    size_t done;
};

static int piper(mt_task *t)
{
    struct piper *f = (struct piper *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SEND(t, f->fd, f->msg, 4, 0, &f->n, MT_FOREVER));
    f->err[0] = mt_err(t);
    MT_CATCH(t, MT_WRITE_ALL(t, f->fd, f->msg, 4, &f->done, MT_FOREVER));
    f->err[1] = mt_err(t);
    MT_END(t);
}

static void test_no_sigpipe(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct piper p;
    struct sigaction dfl, ign, old;
    sigset_t block, oldmask, pending;
    int sv[2], got_sigpipe;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    xclose(sv[1]);
    memset(&p, 0, sizeof p);
    p.fd = sv[0];
    p.done = 99;
    memcpy(p.msg, "lost", 4);
    /* SIGPIPE at its default (fatal) action, but held: if the library let
     * one through, it would be pending here rather than kill the runner. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    assert_int_equal(sigaction(SIGPIPE, &dfl, &old), 0);
    sigemptyset(&block);
    sigaddset(&block, SIGPIPE);
    assert_int_equal(sigprocmask(SIG_BLOCK, &block, &oldmask), 0);
    assert_int_equal(mt_sched_add(&s, &p.task, piper), 0);
    assert_true(drive(&s, 10) > 0);
    sigemptyset(&pending);
    assert_int_equal(sigpending(&pending), 0);
    got_sigpipe = sigismember(&pending, SIGPIPE);
    /* Discard a pending SIGPIPE (ignore it) before unblocking. */
    ign = dfl;
    ign.sa_handler = SIG_IGN;
    assert_int_equal(sigaction(SIGPIPE, &ign, NULL), 0);
    assert_int_equal(sigprocmask(SIG_SETMASK, &oldmask, NULL), 0);
    assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
    assert_int_equal(got_sigpipe, 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(p.err[0], MT_ESYS(EPIPE));
    assert_int_equal(p.n, -1);
    assert_int_equal(p.err[1], MT_ESYS(EPIPE));
    assert_int_equal(p.done, 0);
    xclose(sv[0]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- MT_EXCEPT wakes a task on TCP urgent data -------------------------- */

static void test_wait_fd_except_oob(void **state)
{
    mt_sched s;
    struct fdwait w;
    char ch;
    int a, b;
    (void)state;

    start(&s, NULL);
    tcp_pair(&a, &b);
    add_fdwait(&s, &w, b, MT_EXCEPT, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    assert_int_equal(send(a, "!", 1, MSG_OOB), 1);
    assert_true(drive(&s, 1000) > 0);
    assert_int_equal(w.err, 0);
    assert_int_equal(w.ready, MT_EXCEPT);
    assert_int_equal(w.resumes, 2);
    assert_int_equal(recv(b, &ch, 1, MSG_OOB), 1);
    assert_int_equal(ch, '!');
    xclose(a);
    xclose(b);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- A flood of ready data does not monopolise the scheduler ------------ */

struct watcher {
    mt_task task;
    const struct liner *l;
    long runs, midway;
};

static int watcher(mt_task *t)
{
    struct watcher *f = (struct watcher *)t;
    MT_BEGIN(t);
    while (mt_state(&f->l->task) != MT_DONE && f->runs < 1000) {
        f->runs++;
        if (f->l->count > 0)
            f->midway++; /* ran while the reader was part way through */
        MT_YIELD(t);
    }
    MT_END(t);
}

static void test_io_burst_gives_way(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct liner r;
    struct watcher w = {0};
    char line[8];
    int sv[2], i;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    for (i = 0; i < 40; i++) {
        line[0] = 'l';
        line[1] = (char)('0' + i / 10);
        line[2] = (char)('0' + i % 10);
        line[3] = '\n';
        line[4] = '\0';
        xwrite(sv[1], line);
    }
    xclose(sv[1]); /* 40 lines, then EOF: 41 reads that never wait */
    memset(&r, 0, sizeof r);
    r.fd = sv[0];
    mt_line_init(&r.lb, r.store, sizeof r.store);
    w.l = &r;
    assert_int_equal(mt_sched_add(&s, &r.task, liner), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, watcher), 0);
    assert_true(drive(&s, 100) > 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(r.count, 40);
    assert_int_equal(r.eof, 1);
    assert_memory_equal(r.lines[5], "l05\n", 4);
    /* At most MT_IO_BURST operations without waiting per resume (each
     * line read is one): it gave way, and the others ran meanwhile. */
    for (i = 0; i < r.resumes && i < 64; i++) {
        int upto = i + 1 < r.resumes && i + 1 < 64 ? r.at_resume[i + 1] : r.count;
        if (upto - r.at_resume[i] > MT_IO_BURST)
            print_error("resume %d of %d completed %d reads (MT_IO_BURST %d)\n",
                        i + 1, r.resumes, upto - r.at_resume[i], MT_IO_BURST);
        assert_true(upto - r.at_resume[i] <= MT_IO_BURST);
    }
    if (41 > MT_IO_BURST) { /* the default, 16 */
        assert_true(r.resumes > 1);
        assert_true(w.midway >= 1);
    }
    assert_int_equal(c.idles, 0);
    xclose(sv[0]);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0); /* closes/frees backend state */
}

/* ---- Bad descriptors, waiters near the fd limit, merged I/O waits ------- */

/* The descriptor helpers on bad input: no task, a closed descriptor. */
static void test_fd_helpers_bad_input(void **state)
{
    int sv[2];
    (void)state;

    unix_pair(sv);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_int_equal(mt_fd_nonblock(sv[0]), MT_ESYS(EBADF));
    assert_int_equal(mt_fd_nonblock(-1), MT_ESYS(EBADF));
    assert_int_equal(mt_fd_ready(NULL), 0);
}

/* Two tasks waiting on each of more descriptors than half the descriptor
 * limit (a reader and a watcher of urgent data per connection): every
 * backend keeps within what the kernel takes (poll() refuses more entries
 * than the limit), and each reader gets its data. */
static void test_two_waiters_per_fd_near_the_limit(void **state)
{
    enum { N = 30 };
    mt_sched s;
    struct fake_clock c;
    static struct reader rd[2 * N];
    static struct fdwait ex[2 * N];
    int sv[N][2], i;
    struct rlimit was, low;
    (void)state;

    start(&s, &c);
    for (i = 0; i < N; i++)
        unix_pair(sv[i]);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    low = was;
    low.rlim_cur = (rlim_t)sv[N - 1][1] + 8; /* above every open descriptor */
    assert_true(low.rlim_cur < 4 * N);       /* below the waiters' count */
    for (i = 0; i < 2 * N; i++) {
        add_reader(&s, &rd[i], sv[i / 2][i % 2], MT_FOREVER);
        add_fdwait(&s, &ex[i], sv[i / 2][i % 2], MT_EXCEPT, MT_FOREVER);
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 4 * N); /* all wait */
    for (i = 0; i < N; i++) {
        xwrite(sv[i][1], "ping");
        xwrite(sv[i][0], "pong!");
    }
    assert_int_equal(mt_sched_run_once(&s, 0), 2 * N); /* the readers */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    for (i = 0; i < 2 * N; i++) {
        assert_int_equal(rd[i].err, 0);
        assert_int_equal(rd[i].n, i % 2 ? 5 : 4);
        assert_int_equal(mt_state(&ex[i].task), MT_WAITING);
        mt_cancel(&ex[i].task);
    }
    drive(&s, 10);
    for (i = 0; i < N; i++) {
        assert_int_equal(ex[2 * i].err, MT_ECANCELED);
        xclose(sv[i][0]);
        xclose(sv[i][1]);
    }
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Merging a scheduler whose tasks wait on descriptors (with and without a
 * timeout) into one that has its own: the waits carry over, the target
 * polls them, and each wakes with its data. */
static void test_merge_io_waiters(void **state)
{
    mt_sched a, b;
    struct fake_clock c, cb;
    struct reader ra, rb1, rb2;
    int p[2], q[2], r[2], round;
    (void)state;

    for (round = 0; round < 2; round++) { /* the target has waiters, or none */
        start(&a, &c);
        mt_sched_init(&b);
        use_fake_clock(&b, &cb, 1000); /* deadlines carry over as ticks */
        unix_pair(p);
        unix_pair(q);
        unix_pair(r);
        if (round == 0) {
            add_reader(&a, &ra, p[0], MT_FOREVER);
            assert_int_equal(mt_sched_run_once(&a, 0), 1);
        }
        add_reader(&b, &rb1, q[0], 500);
        add_reader(&b, &rb2, r[0], MT_FOREVER);
        rb1.s = rb2.s = &a; /* where they will run */
        assert_int_equal(mt_sched_run_once(&b, 0), 2);
        assert_int_equal(mt_sched_has_io_waits(&b), 1);
        assert_int_equal(mt_sched_merge(&a, &b), 0);
        assert_int_equal(mt_sched_has_io_waits(&b), 0);
        assert_int_equal(mt_sched_live(&b), 0);
        assert_int_equal(mt_sched_has_io_waits(&a), 1);
        assert_int_equal(mt_sched_live(&a), round == 0 ? 3u : 2u);
        xwrite(q[1], "one");
        xwrite(r[1], "two");
        if (round == 0)
            xwrite(p[1], "zero");
        { /* b keeps no registration of them: nothing to watch there */
            struct pollfd pf[4];
            int k = mt_sched_pollfds(&b, pf, 4);
            assert_true(k >= 0 && k <= 4);
            assert_int_equal(poll(pf, (nfds_t)k, 0), 0);
        }
        drive(&a, 10);
        assert_int_equal(rb1.err, 0);
        assert_int_equal(rb1.n, 3);
        assert_memory_equal(rb1.buf, "one", 3);
        assert_int_equal(rb2.err, 0);
        assert_memory_equal(rb2.buf, "two", 3);
        if (round == 0) {
            assert_int_equal(ra.err, 0);
            assert_memory_equal(ra.buf, "zero", 4);
        }
        assert_sched_empty(&a);
        assert_int_equal(mt_sched_destroy(&a), 0);
        assert_int_equal(mt_sched_destroy(&b), 0);
        xclose(p[0]), xclose(p[1]), xclose(q[0]), xclose(q[1]), xclose(r[0]), xclose(r[1]);
    }
}

/* mt_fd_ready tells the last descriptor wait's events until the next wait:
 * a yield, or a condition that holds at once, does not wait and keeps it. */
struct ready_keeper { mt_task task; int fd, after_wait, after_cond, after_yield; };

static int ready_keeper(mt_task *t)
{
    struct ready_keeper *f = (struct ready_keeper *)t;
    MT_BEGIN(t);
    MT_WAIT_FD(t, f->fd, MT_WRITABLE, 100);
    f->after_wait = mt_fd_ready(t);
    MT_WAIT_UNTIL(t, 1, 100);
    f->after_cond = mt_fd_ready(t);
    MT_YIELD(t);
    f->after_yield = mt_fd_ready(t);
    MT_END(t);
}

static void test_fd_ready_kept_until_next_wait(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct ready_keeper k;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    memset(&k, 0, sizeof k);
    k.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &k.task, ready_keeper), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(k.after_wait, MT_WRITABLE);
    assert_int_equal(k.after_cond, MT_WRITABLE);
    assert_int_equal(k.after_yield, MT_WRITABLE);
    xclose(sv[0]);
    xclose(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A hang-up ends a wait for exceptional conditions alone on poll and
 * epoll, which report it always (else the loop woke at once, round after
 * round, for the whole timeout); select reports no exceptional condition
 * for it, and the wait times out. */
static void test_hangup_ends_except_wait(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct fdwait w;
    int sv[2];
    long cycles;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    xclose(sv[1]);
    add_fdwait(&s, &w, sv[0], MT_EXCEPT, 1000);
    cycles = drive(&s, 10);
    if (MT_BACKEND == MT_BACKEND_SELECT) {
        assert_int_equal(w.err, MT_ETIMEDOUT);
    } else {
        assert_int_equal(w.err, 0);
        assert_int_equal(w.ready, MT_EXCEPT);
        assert_int_equal(cycles, 1);
    }
    xclose(sv[0]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A descriptor closed under its waiter is found within 1000 ticks even
 * while another task keeps the loop busy (epoll looked only when idle). */
struct busy_clock { mt_task task; struct fake_clock *c; int n; };

static int busy_clock(mt_task *t)
{
    struct busy_clock *f = (struct busy_clock *)t;
    MT_BEGIN(t);
    for (f->n = 0; f->n < 50; f->n++) {
        f->c->now = (mt_time)(f->c->now + 100); /* busy: 100 ticks a turn */
        MT_YIELD(t);
    }
    MT_END(t);
}

/* A waiter's descriptor closed while the loop is busy; the clock starts
 * at `at`. */
static void closed_fd_found_while_busy(mt_time at)
{
    mt_sched s;
    struct fake_clock c;
    struct fdwait w;
    struct busy_clock sp;
    int sv[2];

    start(&s, &c);
    c.now = at;
    unix_pair(sv);
    add_fdwait(&s, &w, sv[0], MT_READABLE, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    memset(&sp, 0, sizeof sp);
    sp.c = &c;
    assert_int_equal(mt_sched_add(&s, &sp.task, busy_clock), 0);
    xclose(sv[0]); /* under the waiter */
    while (mt_state(&w.task) != MT_DONE && mt_state(&sp.task) != MT_DONE)
        assert_true(mt_sched_run_once(&s, 0) >= 0);
    assert_int_equal(mt_state(&w.task), MT_DONE);
    assert_int_equal(w.err, MT_EBADF);
    assert_true(sp.n <= 12); /* within 1000 ticks and a turn or two */
    assert_int_equal(mt_cancel(&sp.task), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    xclose(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

static void test_closed_fd_found_while_busy(void **state)
{
    (void)state;
    closed_fd_found_while_busy(1000);
}

/* The same with the clock 1500 ticks before it wraps: epoll's 1000 ticks
 * count from the first waiter, not from tick 0 (which lay 1500 ticks
 * "ahead"). Found by the fuzzer (tests/fuzz, seed io_closed_busy). */
static void test_closed_fd_found_while_busy_near_wrap(void **state)
{
    (void)state;
    closed_fd_found_while_busy((mt_time)0 - 1500);
}

/* A wait failed by its descriptor's closing keeps MT_EBADF when its
 * deadline comes in the same cycle: a timer firing on a woken wait lets a
 * ready one try first and leaves an error as it is (the first verdict
 * stands). */
static void test_closed_fd_error_stands_at_deadline(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reader r;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    add_reader(&s, &r, sv[0], 100);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    xclose(sv[0]);
    c.now = (mt_time)(c.now + 100); /* the poll finds it closed, then the deadline */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(r.err, MT_EBADF);
    assert_int_equal(r.has_timer, 0);
    xclose(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Bad arguments to an operation: MT_EINVAL before any system call (a
 * negative descriptor, a NULL where the result goes), never a crash. */
struct bad_args { mt_task task; int fd, which, err; };

static int bad_args(mt_task *t)
{
    struct bad_args *f = (struct bad_args *)t;
    char b[4];
    MT_BEGIN(t);
    if (f->which == 0)
        MT_CATCH(t, MT_READ(t, f->fd, b, sizeof b, NULL, 100));
    else if (f->which == 1)
        MT_CATCH(t, MT_WRITE(t, f->fd, "x", 1, NULL, 100));
    else if (f->which == 2)
        MT_CATCH(t, MT_ACCEPT(t, f->fd, NULL, NULL, NULL, 100));
    else if (f->which == 3)
        MT_CATCH(t, MT_READ_ALL(t, f->fd, b, sizeof b, NULL, 100));
    else
        MT_CATCH(t, MT_READLINE(t, f->fd, NULL, 100));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_operation_bad_arguments(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct bad_args a;
    int sv[2], which, fd;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    for (fd = -1; fd <= 0; fd++) {
        for (which = 0; which < 5; which++) {
            memset(&a, 0, sizeof a);
            a.fd = fd < 0 ? -1 : sv[0];
            a.which = which;
            assert_int_equal(mt_sched_add(&s, &a.task, bad_args), 0);
            assert_int_equal(mt_sched_run(&s), 0);
            assert_int_equal(a.err, MT_EINVAL);
        }
    }
    xclose(sv[0]);
    xclose(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* mt_close: the tasks waiting on the descriptor end with MT_EBADF (a
 * reader and a writer on one number, and a bystander on another goes on);
 * closing again, a negative descriptor and no scheduler are refused. */
static void test_close_ends_waiters(void **state)
{
    mt_sched s;
    struct fake_clock c;
    static struct reader r, other;
    static struct fdwait w;
    int sv[2], sv2[2], reuse[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    unix_pair(sv2);
    add_reader(&s, &r, sv[0], 5000);
    add_fdwait(&s, &w, sv[0], MT_EXCEPT, MT_FOREVER);
    add_reader(&s, &other, sv2[0], 5000);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    assert_int_equal(mt_sched_close(&s, sv[0]), 0);
    /* The number is taken again at once, and has data: the waiters of
     * the closed one must not read it. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, reuse), 0);
    assert_int_equal(reuse[0], sv[0]);
    nonblock(reuse[0]);
    xwrite(reuse[1], "not yours");
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(r.err, MT_EBADF);
    assert_int_equal(r.n, -1); /* its first try's EAGAIN: nothing read since */
    assert_int_equal(w.err, MT_EBADF);
    assert_int_equal(mt_state(&other.task), MT_WAITING);
    xclose(reuse[0]);
    xclose(reuse[1]);
    assert_int_equal(mt_sched_close(&s, sv[0]), MT_EBADF); /* closed already */
    assert_int_equal(mt_sched_close(&s, -1), MT_EINVAL);
    assert_int_equal(mt_sched_close(NULL, sv[1]), MT_EINVAL);
    xwrite(sv2[1], "hi");
    drive(&s, 10);
    assert_int_equal(other.err, 0);
    assert_int_equal(other.n, 2);
    assert_int_equal(mt_close(sv[1]), 0); /* the default scheduler's form */
    assert_int_equal(mt_sched_close(&s, sv2[0]), 0);
    xclose(sv2[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A descriptor closed behind the scheduler's back (close(2), not mt_close)
 * and its number taken by a new socket: a wait on the new one is not lost.
 * epoll still held the old registration and knew the old one drained: the
 * wait is found by the check of the registrations, within 1000 ticks. */
static void test_reused_number_found(void **state)
{
    mt_sched s;
    struct fake_clock c;
    static struct reader r;
    int sv[2], sv2[2], round;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    for (round = 0; round < 3; round++) {
        add_reader(&s, &r, sv[0], 5000);
        r.use_recv = round & 1;
        assert_int_equal(mt_sched_run_once(&s, 0), 1); /* waits */
        xwrite(sv[1], "abc");
        c.now += 1000; /* from round 1: a reused number the last reader read at once */
        drive(&s, 10);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.n, 3);
        xclose(sv[0]);
        xclose(sv[1]);
        unix_pair(sv2); /* the lowest numbers: the same ones */
        assert_int_equal(sv2[0], sv[0]);
        sv[0] = sv2[0], sv[1] = sv2[1];
        add_reader(&s, &r, sv[0], 5000);
        xwrite(sv[1], "defg");
        assert_int_equal(mt_sched_run_once(&s, 0), 1); /* waits, or reads */
        c.now += 1000;
        drive(&s, 10);
        assert_int_equal(r.err, 0);
        assert_int_equal(r.n, 4);
        assert_memory_equal(r.buf, "defg", 4);
    }
    xclose(sv[0]);
    xclose(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_fd_wakes_when_written),
        cmocka_unit_test(test_wait_fd_ready_at_once),
        cmocka_unit_test(test_wait_fd_two_tasks_same_fd),
        cmocka_unit_test(test_wait_fd_bad_arguments),
        cmocka_unit_test(test_read_write_recv_send_eof),
        cmocka_unit_test(test_write_all_read_all_4mb),
        cmocka_unit_test(test_read_all_eof_early),
        cmocka_unit_test(test_read_all_eof_uncaught),
        cmocka_unit_test(test_ready_and_due_together),
        cmocka_unit_test(test_cancel_when_ready),
        cmocka_unit_test(test_readline),
        cmocka_unit_test(test_readline_too_long),
        cmocka_unit_test(test_tcp_accept_connect),
        cmocka_unit_test(test_tcp_connect_refused),
        cmocka_unit_test(test_udp_sendto_recvfrom),
        cmocka_unit_test(test_read_timeout),
        cmocka_unit_test(test_read_timeout_zero),
        cmocka_unit_test(test_timeout_spans_retries),
        cmocka_unit_test(test_read_all_timeout_covers_whole),
        cmocka_unit_test(test_peer_reset),
        cmocka_unit_test(test_fd_closed_under_waiter),
        cmocka_unit_test(test_fd_above_fd_setsize),
        cmocka_unit_test(test_cancel_parked_read),
        cmocka_unit_test(test_yielder_does_not_starve_io),
        cmocka_unit_test(test_system_error_names),
        cmocka_unit_test(test_no_sigpipe),
        cmocka_unit_test(test_wait_fd_except_oob),
        cmocka_unit_test(test_io_burst_gives_way),
        cmocka_unit_test(test_fd_helpers_bad_input),
        cmocka_unit_test(test_two_waiters_per_fd_near_the_limit),
        cmocka_unit_test(test_merge_io_waiters),
        cmocka_unit_test(test_fd_ready_kept_until_next_wait),
        cmocka_unit_test(test_hangup_ends_except_wait),
        cmocka_unit_test(test_closed_fd_found_while_busy),
        cmocka_unit_test(test_closed_fd_found_while_busy_near_wrap),
        cmocka_unit_test(test_closed_fd_error_stands_at_deadline),
        cmocka_unit_test(test_operation_bad_arguments),
        cmocka_unit_test(test_close_ends_waiters),
        cmocka_unit_test(test_reused_number_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
