/* fuzz_sched.c - a libFuzzer harness for the scheduler, checked against a
 * model of what README.md promises.
 *
 * An input is a header and a list of operations. Plain-code operations add
 * tasks, cancel them, put to and get from queues, set events, signal
 * semaphores, set condition flags, move the virtual clock and run cycles;
 * register signals (mt_signal_init, twice, with NULL), post them (to NULL,
 * to a zeroed or forgotten signal too; from plain code, or from the idle
 * hook as an interrupt that ends the idle wait), destroy a scheduler (with
 * tasks live: MT_EBUSY), and run a second scheduler, with tasks and signals
 * of its own, merged into the main one or the main one into it; register
 * two rings (mt_ring_init: capacities 1-4, items of 1-2 bytes; again; bad
 * arguments; with the other scheduler), put to them (from plain code, or
 * from the idle hook as an interrupt), get from them and count; the same
 * with two channels (mt_chan_*: the idle hook stands for another thread,
 * which may also get, making room); dump a scheduler, run it as
 * mt_sched_run does; play the peers of two socket pairs (write, shut
 * down, close, fill A's buffer and drain it, close A under its waiters
 * with close(2) or mt_sched_close from either scheduler, make the pair
 * afresh).
 * Every task runs one interpreter (prog_task) over a small program decoded
 * from the input: waits of every kind (yield, sleep, sleep-until, queue
 * get/put, event, semaphore, condition, signal, MT_RING_GET, MT_CHAN_GET,
 * MT_CHAN_PUT (a task of either scheduler: another thread's), await of a
 * child running
 * its own program, up to three deep; MT_WAIT_FD, MT_READ and MT_SEND on a
 * pair's A; MT_CHOOSE over queues, events, semaphores and the pairs'
 * descriptors; MT_JOIN and MT_JOIN_FIRST of the task's group; MT_SHIELD
 * around a sleep, an event wait, an await or a join), each with or without
 * MT_CATCH, and steps that do not wait (raise, exit, signal a semaphore,
 * set, flag, try_put/try_get, post a signal, cancel any task or add another
 * top-level task, loop; mt_group_init of the task's group, MT_SPAWN of a
 * child running its own program into it or into the group the task runs
 * in, in frames of their own: groups nest, each frame's group outliving
 * its task).
 *
 * The model is a second, simple account of the same events. It predicts
 * which wait completes at once and with what; which waiter a put, get,
 * signal or set hands its share to (first come, first served; a put to a
 * waiting getter promises it the item, README "Guarantees"); when timers
 * fire (deadline order, ties in arming order) and how long the idle hook
 * must wait; what a cancellation does (README "Cancellation"); how each task
 * ends; and the run queue itself. Task functions report every call, wait
 * start, wait completion and finally pass; plain code compares the whole
 * scheduler after every operation. Checked, aborting with a message:
 * - every call is the model's: the run queue's head, runnable when the cycle
 *   began (FIFO; nothing made runnable in a cycle runs in it), or a child
 *   started inside MT_AWAIT, or a parent resumed as its child ends; a cycle
 *   runs all it should and returns their number;
 * - each wait completes once (a per-wait sequence number and resume count),
 *   at once or after parking as predicted, with the predicted result and
 *   message; nothing wakes a task but a hand-off, its timer or a cancel;
 * - timers: no timeout or sleep ends before its deadline; once a cycle runs
 *   past a deadline the wait has ended; has_timeouts and the timer count
 *   agree; the idle hook waits exactly up to the earliest deadline;
 * - endings: state and error (a child's error reaches its parent, caught or
 *   not; a cancelled task ends at its next wait; sticky: one that saw its
 *   own cancellation ends cancelled however it ended), reports of failed
 *   top-level tasks, mt_sched_live, every task's mt_state;
 * - task groups (README "Task groups"): mt_group_init's and each spawn's
 *   result (MT_EINVAL, MT_EBUSY, MT_ECANCELED, MT_ENOMEM); children run
 *   from the next cycle; the first failure (not MT_ECANCELED) cancels the
 *   siblings at once (in the order they started, each one's own children
 *   first), later ones are reported and counted; a join returns at once on
 *   a group closed or without children, else as the last child ends, the
 *   owner resuming in that cycle, with its cancel, the group's error and
 *   message, its timeout (unless the children's outcome stands, see
 *   join_verdict) or success; MT_JOIN_FIRST's n cancel the rest; a cancel
 *   reaches an owner's children first; an owner that ends with children
 *   live cancels them and waits (MT_WAITING, live) before it finishes,
 *   taking an error no join raised or counting it lost; mt_group_first,
 *   _failed, _lost, _live, the owner and cancelling after every step;
 * - MT_SHIELD: the wait runs though the task was cancelled, a cancel
 *   meanwhile only flags it (its child and group go on), MT_FOREVER is
 *   refused; the task ends at its next wait after;
 * - queues: every item is a unique id; each get returns the model's next id
 *   (promised items first to woken getters); len, empty, full, the promised
 *   counts; put = got + left, and at the end the queues drain to exactly the
 *   model's contents; semaphores: signals + initial = waits + try_waits +
 *   count + units handed to waiters not yet resumed; events: set and waking;
 * - signals (README "Wake-ups"): a post reaches nothing at once; the next
 *   cycle of its scheduler (before its idle wait, and after it for an
 *   interrupt's) turns it into a wake-up of the first parked waiter, else
 *   a kept post, one at most (posts merge), which the next wait takes at
 *   once; a timed-out or cancelled waiter leaves nothing behind; a post to
 *   NULL, to a zeroed signal or to one whose scheduler was destroyed does
 *   nothing; each scheduler's signal list is the model's, in order, walked
 *   with a bound (a loop is reported, not followed); each signal's
 *   scheduler, pending flag and kept post; posts made into units = waits +
 *   kept + handed to waiters not yet resumed + kept posts a new init
 *   dropped; mt_sched_signalled and mt_sched_timeout; MT_FOREVER idles
 *   (idle hook told MT_FOREVER) only with a signal registered;
 * - rings (multitask.h "The ring"), signals of the same lists: a put
 *   stores (0) or, full, does not (MT_EAGAIN); a get, or MT_RING_GET at
 *   once, takes the oldest item; mt_ring_count; NULL or never initialised:
 *   MT_EINVAL; mt_ring_init's bad arguments MT_EINVAL, the other
 *   scheduler's ring MT_EBUSY, again: emptied (its post and unit stay);
 *   every take of the ring's scheduler wakes its parked consumer only if
 *   the ring holds an item then (a put whose item plain code took before
 *   the cycle wakes no one), and the woken consumer gets the oldest item;
 *   items (sequence numbers) in order, none lost or twice, nothing written
 *   past an item's size: put = taken + held + emptied by an init;
 *   timeouts and cancels leave the ring intact; the harness keeps one
 *   consumer task per ring at a time (a second MT_RING_GET is a yield);
 *   merge moves a ring, destroy forgets it (its puts store, wake no one);
 * - channels (multitask.h "Threads: the channel"): rings of the same
 *   model, through mt_chan_* (mt_chan_count too), MT_CHAN_GET as
 *   MT_RING_GET; MT_CHAN_PUT stores at once (in order with every other
 *   producer's items) or, full, parks on its scheduler's list of
 *   producers waiting for room (timeout 0: MT_ETIMEDOUT; NULL channel or
 *   item, never initialised, bad timeout: MT_EINVAL); each cycle whose
 *   clock reading differs from the last such wake-up's wakes them all, in
 *   list order, after its timers, and each stores or parks again at the
 *   end of the list with its first deadline (MT_ETIMEDOUT exactly then:
 *   not stored); a cancel while parked ends the wait MT_ECANCELED
 *   (caught: not stored), and so does one while it is woken to try again; while
 *   one waits the cycle blocks a tick at most (the idle hook's wait,
 *   mt_sched_timeout); the list, xwaits, room_tick and mt__has_waits
 *   (mt_sched_run goes on, not stranded) against the model's; merge moves
 *   them after the destination's own; destroy refuses while they live;
 *   mt_sched_dump lists each one as "room in a channel" with the ticks
 *   left to its first deadline, or no timeout; mt_sched_run, called once
 *   nothing can end a wait, returns at once (MT_ESTRANDED, reported, with
 *   tasks live);
 * - MT_CHOOSE: the first ready clause from the one after `which`, else a
 *   wait served among each object's waiters in arrival order; exactly the
 *   fired clause completes; `which`;
 * - descriptors (README "I/O", on the backend it is built with): an
 *   operation completes at once when it can (the bytes B wrote, in order,
 *   none lost or twice; a send reaches B whole; end of file; MT_EPIPE as
 *   MT_ESYS(EPIPE); MT_EBADF on a closed A; MT_EINVAL), else waits; the
 *   poll wakes exactly the waiters whose events are ready (a hang-up ends
 *   every wait on poll and epoll, not MT_EXCEPT alone on select), first
 *   come first served per descriptor, and those on a closed A with
 *   MT_EBADF (select: alone, poll: with the others, epoll: when its first
 *   epoll_wait of the cycle returned no event and nothing is runnable, or
 *   1000 ticks after the last look); epoll's registrations (README "epoll
 *   in detail"): a descriptor stays in the table from its first wait until
 *   mt_sched_close, a failed check, a merge away or the destroy (checked
 *   against the table), a first try whose events the table knows not
 *   ready waits without the system call (then the next poll owes it its
 *   wake-up), a plain close or a number reused behind the scheduler's back
 *   is seen only by the check (closed ones when the loop is idle, and
 *   every 1000 ticks the full check, which also registers a reused number
 *   again: its ready waiters wake in that cycle); mt_sched_close: the scheduler's
 *   waiters on A, MT_CHOOSE clauses too, are runnable at once with
 *   MT_EBADF on every backend (its return: 0, MT_EBADF if closed,
 *   MT_EINVAL); a wake-up that finds nothing
 *   waits again in the same timeout; ready by the deadline tries first;
 *   MT_IO_BURST operations in one resume, then it gives way; mt_fd_ready;
 *   has_io_waits; epoll's mt_sched_timeout capped at 1000; a wait on a
 *   closed A pending 1000 ticks after the close or its wait began,
 *   whichever is later (select, poll: after one poll) is reported;
 * - two schedulers: each one's counts, run queue and timers; a merge
 *   appends the run queue, re-arms the timers in firing order, moves the
 *   signals and an untaken post; a destroy refuses while a task is live,
 *   else forgets its signals and closes its self-pipe (MT_IO).
 * Each input gets fresh schedulers and zeroed signals, rings and channels
 * and ends by cancelling everything, running until nothing is live,
 * draining the rings and channels, checking the schedulers are empty and
 * mt_sched_destroy returns 0, then posting to every signal (nothing) and
 * putting to every ring and channel (stored, no wake-up). The harness
 * allocates nothing (the library's unbounded queue does); descriptors: a
 * self-pipe per scheduler, an epoll instance, and the two pairs at fixed
 * numbers (900-903); work is bounded (MAXOPS operations, MAXCYC cycles, programs of PLEN
 * steps that loop at most 4 times; teardown moves the clock on while a
 * shielded wait, which no cancel ends, is pending).
 *
 * FUZZ_TRACE=1 in the environment traces the model's events. */
#define _POSIX_C_SOURCE 200809L
#define MT_STATIC 1
#include "../../multitask.h"

/* The system calls go through pass-through shims (MT_SYS_SHIM): epoll's
 * tells the model how many events the cycle's first epoll_wait returned
 * (edges of descriptors nobody waits on count: the check for closed and
 * reused descriptors runs when it returned none). */
#if MT_IO
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>
#if MT_BACKEND == MT_BACKEND_EPOLL
#include <sys/epoll.h>
#endif
#define MT_SYS_SHIM 1
#if defined(__GNUC__)
#define SHIM static __attribute__((__unused__))
#else
#define SHIM static
#endif
SHIM ssize_t mt_shim_read(int fd, void *b, size_t n) { return read(fd, b, n); }
SHIM ssize_t mt_shim_write(int fd, const void *b, size_t n) { return write(fd, b, n); }
SHIM ssize_t mt_shim_recv(int fd, void *b, size_t n, int fl) { return recv(fd, b, n, fl); }
SHIM ssize_t mt_shim_recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a,
                              socklen_t *l)
{
    return recvfrom(fd, b, n, fl, a, l);
}
SHIM ssize_t mt_shim_send(int fd, const void *b, size_t n, int fl) { return send(fd, b, n, fl); }
SHIM ssize_t mt_shim_sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a,
                            socklen_t l)
{
    return sendto(fd, b, n, fl, a, l);
}
SHIM int mt_shim_accept(int fd, struct sockaddr *a, socklen_t *l) { return accept(fd, a, l); }
SHIM int mt_shim_connect(int fd, const struct sockaddr *a, socklen_t l)
{
    return connect(fd, a, l);
}
SHIM int mt_shim_getsockopt(int fd, int lv, int nm, void *v, socklen_t *l)
{
    return getsockopt(fd, lv, nm, v, l);
}
SHIM int mt_shim_poll(struct pollfd *p, nfds_t n, int ms) { return poll(p, n, ms); }
SHIM int mt_shim_select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
    return select(n, r, w, x, tv);
}
#if MT_BACKEND == MT_BACKEND_EPOLL
static void ep_waited(int ep, int n); /* the model's side, below */
SHIM int mt_shim_epoll_wait(int ep, struct epoll_event *e, int n, int ms)
{
    int r = epoll_wait(ep, e, n, ms);
    ep_waited(ep, r);
    return r;
}
SHIM int mt_shim_epoll_ctl(int ep, int op, int fd, struct epoll_event *e)
{
    return epoll_ctl(ep, op, fd, e);
}
#endif
#endif
#include "../../multitask.c"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if MT_IO
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

/* 1 (the default): steer around the open library bugs of README.md (each
 * a reproducer in regress/ that fails with 0), so that fuzzing finds new
 * ones. */
#ifndef FUZZ_KNOWN_BUGS
#define FUZZ_KNOWN_BUGS 1
#endif

/* Channels (mt_chan) need MT_THREADS; without it their operations are the
 * rings'. */
#define FUZZ_CHAN MT_THREADS

/* The virtual clock runs far past old deadlines between cycles: the wrap
 * rule needs 31 bits of ticks. */
typedef char fuzz_needs_32bit_ticks[sizeof(mt_time) >= 4 ? 1 : -1];

enum {
    NSLOT = 32, DEPTH = 4, NQ = 4, NE = 2, NS = 2, NFLAG = 4,
    NSCH = 2, NSG = 3, /* schedulers (the main one and a second), signals */
    /* rings (their signals follow the plain ones: g = NSG + r; g == NG is
     * NULL): NRG0 plain rings, then NCH channels' rings (r = NRG0 + c); a
     * ring's largest capacity and item */
    NRG0 = 2, NCH = FUZZ_CHAN ? 2 : 0, NRG = NRG0 + NCH, NG = NSG + NRG, RCAP = 4, RSIZE = 2,
    MAXOPS = 4096, MAXCYC = 4096, MAXPROG = 1024, PLEN = 8,
    /* group children: rows of frames after the top-level slots' (each a
     * child at depth 0 and its awaited chain); a group's slots */
    NGROW = 8, NROW = NSLOT + NGROW, GCAP = 4,
    MAXIDS = 4096, RQN = 256, NFRAMES = NROW * DEPTH,
    NP = 2, FD0 = 900, INQ_MAX = 64 /* descriptor pairs, at FD0 + 2p (A) and + 1 (B) */
};

/* Descriptor waits need the I/O layer; without it they are yields. */
#define FUZZ_IO MT_IO
#if MT_IO
#define BK_SELECT (MT_BACKEND == MT_BACKEND_SELECT)
#define BK_EPOLL (MT_BACKEND == MT_BACKEND_EPOLL)
#endif

/* Program steps. The first NWAIT are waits, and so are the last three
 * (MT_JOIN, MT_JOIN_FIRST, and MT_SHIELD around a sleep, an event wait, an
 * await or a join). K_GINIT and K_GSPAWN (mt_group_init, MT_SPAWN) do not
 * wait. NK divides 150, the seeds' "caught" offset (make_corpus.py). */
enum {
    K_YIELD, K_SLEEP, K_QGET, K_QPUT, K_EVWAIT, K_SEMWAIT, K_COND, K_AWAIT,
    K_SIGWAIT, K_FDWAIT, K_READ, K_SEND, K_CHOOSE, NWAIT,
    K_RAISE = NWAIT, K_EXIT, K_SEMSIG, K_EVSET, K_EVCLR, K_FLAG, K_TRYPUT,
    K_TRYGET, K_LOOP, K_CANCEL, K_SPAWN, K_SIGPOST,
    K_GINIT, K_GSPAWN, K_JOIN, K_JOINF, K_SHIELD, NK,
    /* the model's own kinds (not in the input's): MT_CHAN_PUT, a K_QPUT
     * step with a&8 */
    K_CHPUT = NK + 1
};

#define IO_KIND(k) ((k) == K_FDWAIT || (k) == K_READ || (k) == K_SEND)
#define IS_WAIT(k) ((k) < NWAIT || (k) >= K_JOIN)

struct step {
    uint8_t kind, catch_it, a;
    uint16_t sub; /* AWAIT, SPAWN: the program to run; CHOOSE: the clauses */
};

/* MT_CHOOSE clauses (4 bits each in step.sub): kind, then the object.
 * With a&4 (and the I/O layer) the event clauses are descriptor clauses. */
enum { CK_GET, CK_PUT, CK_EV, CK_SEM, CK_FD };

struct prog {
    uint8_t n;
    struct step op[PLEN];
};

/* Timeouts straddle the wheel's reach (1024 ticks: the rest go to the
 * heap) and include an invalid one (-2). make_corpus.py mirrors these. */
static const long tmo_tab[16] = {MT_FOREVER, 0, 1, 2, 3, 5, 8, 30, 100, 1023,
                                 1024, 1025, 1300, 2500, 4000, -2};
static const long sleep_tab[8] = {0, 1, 3, 40, 1024, 1100, 3000, -1};
static const long run_tab[8] = {0, MT_FOREVER, 1, 7, 100, 1024, 3000, 0};
/* 0 and 7 are not valid codes: MT_RAISE turns them into MT_EINVAL. */
static const int raise_tab[8] = {MT_EFAIL, MT_EUSER - 1, MT_EUSER - 77, MT_ECANCELED,
                                 MT_ETIMEDOUT, 0, 7, MT_EUSER - 899};
static const char *const msg_tab[4] = {NULL, "boom", "bang", NULL};
static const mt_time base_tab[4] = {0, 1000, (mt_time)0 - 1500, 0x7fffff00u};
/* mt_group_init's cap (0 and 65536: MT_EINVAL); MT_JOIN_FIRST's n (-1:
 * MT_EINVAL); the waits MT_SHIELD runs */
static const int cap_tab[8] = {1, 2, 3, GCAP, 0, 65536, 2, 1};
static const int jf_tab[4] = {1, 2, 3, -1};
static const int shield_tab[4] = {K_SLEEP, K_EVWAIT, K_AWAIT, K_JOIN};

/* A message the model does not predict (library texts such as "timeout
 * out of range"). */
static const char msg_any[] = "?";

/* A task group as the model sees it (README "Task groups"): its slots
 * (cap, 0 before a valid mt_group_init), open, its owner (the task that
 * opened it: the frame's own, or the task awaiting it or awaited by it)
 * and when (the latest opened is the innermost), cancelling; the live
 * children in the order they started (the order a cancel reaches them);
 * completed, wanted (MT_JOIN_FIRST's n), later errors not raised; the
 * first error and its child, the first child to complete; whether a child
 * saw its cancellation. */
struct gmod {
    int cap, open, cancelling, nk, done, want, lost, err;
    int saw; /* a child that ended had seen its cancellation */
    const char *msg;
    struct tf *kids[GCAP], *first, *failed, *owner;
    unsigned long seq;
};

/* The frame every task runs in: its group (which outlives the task: a
 * new task in the frame finds it as the last left it), the interpreter's
 * state, then the model's view of the task and of its current wait. */
struct tf {
    mt_task task;
    mt_group grp;
    mt_task *gslots[GCAP];
    struct gmod gm;
    /* from here on, reset when a task starts in the frame */
    struct tf *parent, *child;
    struct tf *gown; /* a group child: the frame whose group it runs in */
    int slot, depth, prog, pc, loops;
    int sch; /* a top-level task: the scheduler it is in (sch_of) */
    unsigned char qitem[8];
    mt_time deadline;
    /* the task */
    int started, ended, fresh, incall, cancel, doomed, inrq;
    int closing;     /* ended with children live: waits for them (CLOSING) */
    int raising;     /* its step raises (MT_RAISE, an uncaught MT_SPAWN) */
    /* MT_SPAWN: the group, the child, what it returns, caught, made */
    mt_group *sp_g;
    struct tf *sp_c;
    int sp_err, sp_catch, sp_call;
    const char *sp_msg;
    int end_set, end_err; /* how it must end, once its body said */
    const char *end_msg;
    int raise_code;
    const char *raise_msg;
    int fin_state;        /* once ended */
    unsigned long calls, fin_runs;
    /* its current wait */
    int w_ring; /* K_SIGWAIT: MT_RING_GET (w_obj NSG + the ring, or NG: NULL) */
    /* MT_CHAN_GET (a K_SIGWAIT with w_ring), MT_CHAN_PUT (K_CHPUT: w_obj
     * the ring, NRG0.., or NRG: NULL; a NULL item; the item's number; its
     * place among its scheduler's producers waiting for room, and the
     * timeout left when woken to try again) */
    int w_chan, w_noitem;
    uint32_t w_rid, w_room;
    long w_rleft;
    int w_kind, w_obj, w_catch, w_ylike, w_until, w_pending, w_parked, w_imm;
    int w_shield, w_nf; /* inside MT_SHIELD; MT_JOIN_FIRST's n (0: MT_JOIN) */
    int w_armed, w_has_v, w_v, w_imm_v;
    int saw; /* it saw its own cancellation: MT_ECANCELED (a wait's, raised,
              * a refused spawn's) while cancelled, or a shielded wait then */
    const char *w_msg, *w_imm_msg;
    long w_tmo;
    uint64_t w_start, w_deadline;
    uint32_t w_stamp, w_arm, w_id;
    unsigned long w_call, w_cycle;
    unsigned w_seq, w_resumes;
    /* a descriptor wait: its pair (-1: descriptor -1), events (MT_WAIT_FD),
     * length (MT_READ, MT_SEND); the events and count the model predicts;
     * woken by the poll and not yet resumed (w_woke), giving way past the
     * burst to start afresh (w_redo), expected to wait again after a
     * wake-up found nothing (w_repark); its place among its descriptor's
     * waiters (w_io), and a timer kept through one expiry (w_keep) */
    int w_p, w_ev, w_len, w_got, w_woke, w_redo, w_repark, w_keep;
    long w_n;
    uint32_t w_io;
    uint64_t w_regat; /* when it (last) joined its descriptor's waiters */
    unsigned char iobuf[8];
    ssize_t n;
    /* MT_CHOOSE: its clauses (the library's, and as the model sees them:
     * kind, object, the id a put clause puts, where a get clause's item
     * lands), the frame field `which` the library writes, the clause that
     * fired or completed (w_fired) and what `which` must then say; the
     * clause a hand-off found first (w_match) */
    mt_clause cl[3];
    int which, ch_n, ch_kind[3], ch_obj[3], ch_ev[3], w_fired, w_which, w_match;
    uint32_t ch_id[3];
    unsigned char chbuf[3][8], chput[3][8];
};

/* A pair of connected stream sockets: tasks wait on and use A, plain code
 * plays the peer B (writes, shuts down, closes, drains) and fills A's send
 * buffer. wr and rd count the bytes written into B and read from A. */
struct mio {
    int a_closed, b_shut, b_closed, full;
    uint32_t wr, rd;
    uint64_t closed_at;
};

/* A queue as the model sees it: the ids stored, oldest first (the first
 * `held` promised to woken getters), and the free slots promised to woken
 * putters. */
struct mq {
    size_t size, cap;
    uint32_t ids[MAXIDS];
    unsigned head, n, held, freed;
    unsigned long puts, gets;
};

static struct {
    mt_sched sc[NSCH]; /* the main scheduler and a second, merged into either */
    int cur;           /* the one whose cycle runs */
    mt_time base;
    uint64_t vnow;
    unsigned long idles, idles0;
    long idle_arg, pred_idle;
    int in_cycle, cycle_begun, tearing;
    unsigned long cycles, cid, ops, pops; /* cid: cycles ever, the budget aside */

    struct tf fr[NROW][DEPTH];
    long live[NSCH];
    struct tf *rq[NSCH][RQN];
    unsigned long rqh[NSCH], rqt[NSCH], rq_end; /* the run queues; rq_end: this cycle's */
    struct tf *expect_inline, *expect_final;
    uint32_t stamp, arms, next_id;
    unsigned long gseq; /* groups opened */
    unsigned long narmed[NSCH], reports, exp_reports;

    struct prog progs[MAXPROG];
    int nprog;

    mt_queue q[NQ];
    struct mq mq[NQ];
    mt_event ev[NE];
    int ev_set[NE];
    mt_sem sem[NS];
    unsigned long sem_count[NS], sem_init[NS], sem_sig[NS], sem_waits[NS], sem_try[NS];
    int flag[NFLAG];

    /* Signals: the scheduler each is registered with (-1: none, zeroed or
     * forgotten by mt_sched_destroy), each scheduler's list in its order
     * (the latest registered first), the pending flags, the post kept (a
     * unit of the signal's semaphore, at most one), and the accounts:
     * units made from posts = waits + kept + handed to waiters not yet
     * resumed + kept units a new registration dropped. irq: a post the idle
     * hook makes (an interrupt during the idle wait), after irq_ticks. */
    mt_signal sig[NSG];
    int sg_reg[NG], sg_pend[NG], sg_kept[NG];
    int sg_list[NSCH][NG], sg_n[NSCH], signalled[NSCH];
    unsigned long sg_units[NG], sg_waits[NG], sg_dropped[NG];
    int irq, irq_put; /* irq_put: the interrupt puts to ring irq - NSG (2:
                       * another thread gets from channel irq - NSG) */
    long irq_ticks;
    /* Rings (multitask.h "The ring"): signals NSG.. of the lists above
     * (their kept post is the semaphore's unit, which a ring wait never
     * takes), and the items held, oldest first, as sequence numbers (an
     * item's bytes: its number's, RSIZE at most); capacity and size (0:
     * never initialised); stored, taken and emptied by a new init. */
    mt_ring ring[NRG0];
#if FUZZ_CHAN
    /* Channels (multitask.h "Threads: the channel"): rings NRG0.. above;
     * per scheduler, the clock reading of its last wake-up of the
     * producers waiting for room (the library's room_tick), and the order
     * they parked in (w_room). */
    mt_chan chan[NCH];
#endif
    mt_time room_tick[NSCH];
    uint32_t room_stamp; /* 0: no producer has waited for room (a shortcut) */
    unsigned char rbuf[NRG][RCAP * RSIZE];
    uint32_t rg_ids[NRG][RCAP], rg_seq[NRG];
    unsigned rg_head[NRG], rg_n[NRG], rg_cap[NRG], rg_size[NRG];
    unsigned long rg_puts[NRG], rg_gets[NRG], rg_dropped[NRG];

    /* Descriptors: the pairs; per scheduler whether it has its wake pipe,
     * a byte in it, the I/O operations of the task being resumed (the
     * burst), and when epoll looks next for closed descriptors (README:
     * when idle, and within 1000 ticks); the poll of the cycle about to
     * run: the waiters it must wake, with what (err, events), in no
     * promised order but first come, first served per descriptor. */
    struct mio io[NP];
    int haspipe[NSCH], pipe_byte[NSCH];
    unsigned burst[NSCH];
    uint64_t chk_at[NSCH];
    uint32_t io_stamp;
    /* epoll's registrations (README "epoll in detail"): per scheduler and
     * pair, whether its table holds A (reg: from a first wait until
     * mt_sched_close, a failed check, a merge away or the destroy) and
     * whether its instance holds the A open now (kreg: a plain close drops
     * it, and the pair made afresh is a new file under the old number,
     * which only the check registers again); a poll planned whose first
     * epoll_wait decides the check (ep_pending), whether nothing was
     * runnable before it (ep_rqe). */
    int reg[NSCH][NP], kreg[NSCH][NP], ep_pending, ep_rqe;
    struct tf *plan[NFRAMES];
    int plan_err[NFRAMES], plan_got[NFRAMES], plan_cl[NFRAMES], nplan;
    struct tf *calling; /* the task the cycle called first */

    const uint8_t *in;
    size_t len, pos;
} M;

static unsigned char qstore0[1 * 4], qstore1[2 * 8], qstore2[3 * 5];
#if MT_NO_HEAP /* no unbounded queues: queue 3 gets storage */
static unsigned char qstore3[4 * 4];
#define QSTORE3 qstore3
#define QCAP3 4
#else
#define QSTORE3 NULL
#define QCAP3 0
#endif

/* ---- Failing loudly ------------------------------------------------------ */

static void fail(struct tf *f, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_sched: VIOLATION: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  at op %lu, cycle %lu, vnow %llu", M.ops, M.cycles,
            (unsigned long long)M.vnow);
    if (f)
        fprintf(stderr, "; task slot %d depth %d pc %d (wait kind %d obj %d tmo %ld "
                "catch %d pending %d parked %d verdict %d/%d, cancel %d, state %d err %d)",
                f->slot, f->depth, f->pc, f->w_kind, f->w_obj, f->w_tmo, f->w_catch,
                f->w_pending, f->w_parked, f->w_has_v, f->w_v, f->cancel,
                mt_state(&f->task), mt_err(&f->task));
    fprintf(stderr, "\n");
    abort();
}

/* FUZZ_TRACE=1 in the environment: a line per model event (debugging). */
static int tracing = -1;

static void trace(const struct tf *f, const char *fmt, ...)
{
    va_list ap;
    if (tracing < 0)
        tracing = getenv("FUZZ_TRACE") != NULL;
    if (!tracing)
        return;
    fprintf(stderr, "[op %lu cyc %lu t %llu] ", M.ops, M.cid, (unsigned long long)M.vnow);
    if (f)
        fprintf(stderr, "s%d.%d pc %d: ", f->slot, f->depth, f->pc);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define CHECK(f, cond, ...)                                                  \
    do {                                                                     \
        if (!(cond))                                                         \
            fail((f), __VA_ARGS__);                                          \
    } while (0)

/* ---- Input ---------------------------------------------------------------- */

static unsigned byte(void) { return M.pos < M.len ? M.in[M.pos++] : 0; }

static int prog_parse(int depth)
{
    int p, i, n;
    if (M.nprog >= MAXPROG)
        return 0; /* program 0: a single yield */
    p = M.nprog++;
    n = (int)(byte() % PLEN) + 1;
    M.progs[p].n = (uint8_t)n;
    for (i = 0; i < n; i++) {
        struct step *o = &M.progs[p].op[i];
        unsigned b = byte();
        o->kind = (uint8_t)(b % NK);
        o->catch_it = (uint8_t)(b >> 7);
        o->a = (uint8_t)byte();
        o->sub = 0;
        if (o->kind == K_SHIELD && (o->a & 3) == 2 && depth >= DEPTH - 1)
            o->a &= (uint8_t)~3u; /* a shielded await too deep: a shielded sleep */
        if (o->kind == K_AWAIT || o->kind == K_SPAWN || o->kind == K_GSPAWN ||
            (o->kind == K_SHIELD && (o->a & 3) == 2)) {
            if (depth < DEPTH - 1)
                o->sub = (uint16_t)prog_parse(depth + 1);
            else
                o->kind = K_YIELD;
        } else if (o->kind == K_CHOOSE) {
            o->sub = (uint16_t)byte();
            o->sub = (uint16_t)(o->sub | byte() << 8);
        }
    }
    return p;
}

/* ---- The model's clock, run queue and timers ------------------------------ */

static mt_time vclock(void) { return (mt_time)(M.base + (mt_time)M.vnow); }

static mt_sched *S(int k) { return &M.sc[k]; }

/* The scheduler of a task: its top-level task's (children run in their
 * parent's). */
static int sch_of(const struct tf *f) { return M.fr[f->slot][0].sch; }

static void do_post(struct tf *f, int g);
static void do_rput(int r);
static void do_rget(int r);

static mt_time fake_now(void *arg)
{
    (void)arg;
    return vclock();
}

/* The idle wait: the time passes, all of it, or up to an interrupt that
 * posts a signal (then the cycle takes that post before its timers). */
static void fake_idle(void *arg, long ms)
{
    (void)arg;
    CHECK(NULL, M.in_cycle && !M.cycle_begun, "idle hook called outside a cycle's wait");
    CHECK(NULL, ms != 0 && ms >= MT_FOREVER, "idle hook told to wait %ld", ms);
    M.idles++;
    M.idle_arg = ms;
    if (M.irq >= 0) {
        int g = M.irq;
        M.irq = -1;
        if (ms < 0 || M.irq_ticks < ms)
            ms = M.irq_ticks;
        M.vnow += (uint64_t)ms;
        trace(NULL, "interrupt after %ld ticks: %s %d", ms,
              M.irq_put == 2 ? "get" : M.irq_put ? "put" : "post", g);
        if (M.irq_put == 2)
            do_rget(g - NSG);
        else if (M.irq_put)
            do_rput(g - NSG);
        else
            do_post(NULL, g);
        return;
    }
    if (ms > 0)
        M.vnow += (uint64_t)ms;
}

/* A top-level task: neither awaited nor in a group. */
static int top(const struct tf *f) { return !f->parent && !f->gown; }

/* Reported: a failed top-level task, or a group child whose error came
 * after its group's first (the counts are compared after each step). */
static void on_report(mt_task *t, const char *name, void *arg)
{
    struct tf *f = (struct tf *)t;
    (void)name;
    (void)arg;
    CHECK(f, (top(f) || f->gown) && mt_state(t) == MT_FAILED && mt_err(t) != MT_ECANCELED,
          "reported a task that is not a failed top-level task nor a failed group child");
    M.reports++;
}

/* Runnable: to the end of its scheduler's run queue. */
static void rq_push(struct tf *f)
{
    int k = sch_of(f);
    trace(f, "push (scheduler %d)", k);
    CHECK(f, !f->inrq, "model: pushed twice");
    CHECK(f, M.rqt[k] - M.rqh[k] < RQN, "model: run queue overflow");
    f->inrq = 1;
    M.rq[k][M.rqt[k]++ % RQN] = f;
}

static int rq_empty(int k) { return M.rqt[k] == M.rqh[k]; }

/* The scheduler took f from its run queue: it must be the model's head,
 * and runnable when this cycle began. */
static void rq_pop(struct tf *f)
{
    int k = M.cur;
    CHECK(f, M.in_cycle, "a task ran outside mt_sched_run_once");
    CHECK(f, sch_of(f) == k, "a task of scheduler %d ran in scheduler %d's cycle", sch_of(f), k);
    CHECK(f, M.rqh[k] < M.rq_end,
          "a task ran in the cycle it became runnable (or was never runnable)");
    CHECK(f, M.rq[k][M.rqh[k] % RQN] == f, "run order: expected slot %d depth %d first",
          M.rq[k][M.rqh[k] % RQN]->slot, M.rq[k][M.rqh[k] % RQN]->depth);
    M.rqh[k]++;
    trace(f, "pop");
    f->inrq = 0;
    M.pops++;
}

static void arm(struct tf *f, long tmo)
{
    f->w_armed = 1;
    f->w_deadline = M.vnow + (uint64_t)tmo;
    trace(f, "arm %ld -> %llu", tmo, (unsigned long long)f->w_deadline);
    f->w_arm = ++M.arms;
    M.narmed[sch_of(f)]++;
}

static void disarm(struct tf *f)
{
    if (f->w_armed) {
        f->w_armed = 0;
        M.narmed[sch_of(f)]--;
    }
}

static struct tf *frame_at(int i) { return &M.fr[i / DEPTH][i % DEPTH]; }

/* Scheduler k's armed timer that fires first: deadline, then arming
 * order. */
static struct tf *first_timer(int k)
{
    struct tf *best = NULL;
    int i;
    for (i = 0; i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        if (f->w_armed && !f->w_keep && sch_of(f) == k &&
            (!best || f->w_deadline < best->w_deadline ||
             (f->w_deadline == best->w_deadline && f->w_arm < best->w_arm)))
            best = f;
    }
    return best;
}

static int live(const struct tf *f) { return f->started && !f->ended; }

static void verdict(struct tf *f, int v, const char *msg)
{
    trace(f, "verdict %d", v);
    f->w_has_v = 1;
    f->w_v = v;
    f->w_msg = msg;
}

static void io_withdrawn(struct tf *f);
static void model_cancel(struct tf *f);

/* The frames whose groups f owns, innermost (the latest opened) first: a
 * task opens its own frame's, its awaited child's or its awaiting
 * parent's (the group it runs in is open while it lives). Returns how
 * many. */
static int owned(struct tf *f, struct tf *out[3])
{
    struct tf *c[3];
    int i, j, n = 0;
    c[0] = f;
    c[1] = f->child;
    c[2] = f->parent;
    for (i = 0; i < 3; i++) {
        if (!c[i] || !c[i]->gm.open || c[i]->gm.owner != f)
            continue;
        for (j = n++; j > 0 && out[j - 1]->gm.seq < c[i]->gm.seq; j--)
            out[j] = out[j - 1];
        out[j] = c[i];
    }
    return n;
}

/* A group cancels its children (README "Task groups": after a failure, a
 * winner, a timeout, its owner's cancellation or end), in the order they
 * started, and refuses new ones until it closes. */
static void model_gcancel(struct tf *o)
{
    struct gmod *g = &o->gm; /* o: the frame the group is in */
    int i;
    trace(o, "its group cancels %d children", g->nk);
    g->cancelling = 1;
    for (i = 0; i < g->nk; i++)
        model_cancel(g->kids[i]);
}

/* mt_cancel, as README "Cancellation" tells it: children first (deepest
 * first: those of its group, then the one it awaits), then the task wakes
 * at its current wait with MT_ECANCELED; a task whose wait already
 * completed keeps its result; every task is ended at its next wait. In
 * MT_SHIELD's wait ("Cleanup that can wait") it is only flagged. */
static void model_cancel(struct tf *f)
{
    struct tf *gs[3];
    int i, n;
    if (!live(f))
        return;
    trace(f, "cancel");
    f->cancel = 1;
    if (f->w_pending && f->w_shield) {
        f->saw = 1; /* it ends cancelled, at its next wait or its end */
        return;
    }
    for (i = 0, n = owned(f, gs); i < n; i++)
        model_gcancel(gs[i]);
    if (f->incall || f->fresh || f->closing)
        return; /* running: ends at its next wait; fresh: never runs its body */
    CHECK(f, f->w_pending, "model: a live task neither running, fresh nor waiting");
    switch (f->w_kind) {
    case K_YIELD:
        verdict(f, MT_ECANCELED, NULL);
        return;
    case K_COND: /* polling, in the run queue */
        disarm(f);
        if (!f->w_has_v) /* a poll that timed out keeps MT_ETIMEDOUT */
            verdict(f, MT_ECANCELED, NULL);
        return;
    case K_AWAIT:
        if (!f->w_has_v)
            verdict(f, MT_ECANCELED, NULL);
        model_cancel(f->child);
        return;
    case K_JOIN: /* resumes once its (cancelled) children ended */
        if (!f->w_has_v)
            verdict(f, MT_ECANCELED, NULL);
        return;
    default:
        if (f->w_ylike) {
            verdict(f, MT_ECANCELED, NULL);
            return;
        }
        if (f->w_kind == K_CHPUT && f->w_woke)
            return; /* woken to try for room: it resumes cancelled (caught) */
        if (f->w_woke) { /* woken by the poll: ready is not done, an error stands */
            disarm(f);
            if (!f->w_v) {
                f->w_woke = 0;
                verdict(f, MT_ECANCELED, NULL);
            }
            return;
        }
        if (f->w_has_v)
            return; /* woken: keeps what it was handed */
        disarm(f);
        verdict(f, MT_ECANCELED, NULL);
        io_withdrawn(f);
        rq_push(f);
        return;
    }
}

/* The start of a cycle: fire every timer due, in order (a fired await
 * cancels its child, which may take other timers with it). */
static void model_expire(int k)
{
    struct tf *f, *kept[NFRAMES];
    int nkept = 0;
    while ((f = first_timer(k)) != NULL && f->w_deadline <= M.vnow) {
        trace(f, "fire");
        disarm(f);
        if (f->w_woke) { /* ready by its deadline: the operation tries first */
            if (!f->w_v) {
                f->w_armed = f->w_keep = 1; /* the same timer, still due */
                M.narmed[k]++;
                kept[nkept++] = f;
            }
            continue; /* failed by the poll: that error stands */
        }
        switch (f->w_kind) {
        case K_COND: /* already in the run queue */
            verdict(f, MT_ETIMEDOUT, NULL);
            break;
        case K_AWAIT:
            if (!f->w_has_v)
                verdict(f, MT_ETIMEDOUT, NULL);
            model_cancel(f->child);
            break;
        case K_JOIN: /* won (MT_JOIN_FIRST): the deadline is void */
            if (f->gm.want && f->gm.done >= f->gm.want)
                break;
            f->gm.saw = 0; /* only the cancellation it brings counts */
            if (!f->w_has_v)
                verdict(f, MT_ETIMEDOUT, NULL);
            model_gcancel(f);
            break;
        case K_SLEEP:
            verdict(f, 0, "");
            rq_push(f);
            break;
        default:
            verdict(f, MT_ETIMEDOUT, NULL);
            io_withdrawn(f);
            rq_push(f);
            break;
        }
    }
    while (nkept > 0)
        kept[--nkept]->w_keep = 0;
}

/* MT_CHAN_PUT (multitask.h "Threads: the channel"): a producer that finds
 * its channel full parks on its scheduler's list of producers waiting for
 * room (after those there: w_room), with a timer for its first deadline.
 * A cycle of the scheduler, after its timers, wakes every one of them to
 * try again when its clock reading differs from the last such wake-up's
 * (once a tick); a woken producer resumes in that cycle, stores its item
 * if there is room, else parks again, at the end of the list, with what
 * is left of its first timeout (or fails MT_ETIMEDOUT once none is). While
 * a producer waits there the scheduler blocks a tick at most, and a run
 * goes on (the library's xwaits counts them from park to resume). */

/* f waits for room now (parked, not woken, timed out nor cancelled). */
static int room_parked_f(const struct tf *f)
{
    return live(f) && f->w_pending && f->w_kind == K_CHPUT && f->w_parked && !f->w_has_v;
}

/* Scheduler k's producers waiting for room (roomq), and those parked and
 * not yet resumed (xwaits). */
static unsigned room_parked(int k)
{
    unsigned n = 0;
    int i;
    for (i = 0; M.room_stamp && i < NFRAMES; i++)
        n += room_parked_f(frame_at(i)) && sch_of(frame_at(i)) == k;
    return n;
}

/* Scheduler k's waits that other threads end (xwaits): producers waiting
 * for room and consumers waiting on a channel, from park to resume. */
static unsigned long room_live(int k)
{
    unsigned long n = 0;
    int i;
    for (i = 0; i < NFRAMES; i++) {
        const struct tf *f = frame_at(i);
        n += live(f) && sch_of(f) == k && f->w_pending && f->w_parked &&
             ((f->w_kind == K_CHPUT && M.room_stamp) || (f->w_kind == K_SIGWAIT && f->w_chan));
    }
    return n;
}

/* The first of scheduler k's producers waiting for room. */
static struct tf *first_room(int k)
{
    struct tf *best = NULL;
    int i;
    for (i = 0; M.room_stamp && i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        if (room_parked_f(f) && sch_of(f) == k && (!best || f->w_room < best->w_room))
            best = f;
    }
    return best;
}

/* The cycle's wake-up of the producers waiting for room, after its
 * timers: once a tick. */
static void model_room(int k)
{
    struct tf *f;
    if (!room_parked(k) || vclock() == M.room_tick[k])
        return;
    M.room_tick[k] = vclock();
    while ((f = first_room(k)) != NULL) {
        trace(f, "woken to try for room again");
        disarm(f);
        verdict(f, 0, "");
        f->w_woke = 1;
        rq_push(f);
    }
}

/* The longest scheduler k's cycle may block (wait: what timeouts and
 * deadlines allow; 0: not at all): a tick while producers wait for room. */
static long room_cap(int k, long wait)
{
    if (wait != 0 && (wait < 0 || wait > 1) && room_parked(k))
        return 1;
    return wait;
}

static void model_take(int k);
#if FUZZ_IO
static void io_observe(int k);
static void io_observed(void);
#endif

/* Called at every observation inside a cycle: the first one sees the
 * cycle's idle wait done, the posts made meanwhile taken and its timers
 * fired. */
static void cyc(void)
{
    if (!M.in_cycle || M.cycle_begun)
        return;
    CHECK(NULL, M.idles == M.idles0 + (M.pred_idle != 0),
          "idle hook called %lu times, expected %d", M.idles - M.idles0, M.pred_idle != 0);
    CHECK(NULL, !M.pred_idle || M.idle_arg == M.pred_idle,
          "idle waited %ld ticks, expected %ld (earliest deadline, or MT_FOREVER with "
          "signals registered)", M.idle_arg, M.pred_idle);
    M.cycle_begun = 1;
#if FUZZ_IO
    io_observe(M.cur);
#endif
    model_take(M.cur);
    model_expire(M.cur);
#if FUZZ_IO
    io_observed();
#endif
    model_room(M.cur);
    M.rq_end = M.rqt[M.cur];
}

/* ---- Queues, events, semaphores: the model's side ------------------------- */

/* A chooser's first clause that waits as kind k on obj (its nodes are
 * armed in clause order), or -1. */
static int ch_match(const struct tf *f, int k, int obj)
{
    static const int as[5] = {K_QGET, K_QPUT, K_EVWAIT, K_SEMWAIT, -1};
    int i;
    for (i = 0; i < f->ch_n; i++)
        if (as[f->ch_kind[i]] == k && f->ch_obj[i] == obj)
            return i;
    return -1;
}

/* The parked waiter of kind k on object obj that came first (a chooser
 * with a clause on it among them). */
static struct tf *first_parked(int k, int obj)
{
    struct tf *best = NULL;
    int i;
    for (i = 0; i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        if (live(f) && f->w_pending && f->w_parked && !f->w_has_v &&
            ((f->w_kind == k && f->w_obj == obj) ||
             (f->w_kind == K_CHOOSE && ch_match(f, k, obj) >= 0)) &&
            !f->w_ylike && (!best || f->w_stamp < best->w_stamp))
            best = f;
    }
    if (best && best->w_kind == K_CHOOSE)
        best->w_match = ch_match(best, k, obj);
    return best;
}

/* A hand-off: to a chooser, it fires the clause that matched. */
static void hand(struct tf *w)
{
    if (w->w_kind == K_CHOOSE)
        w->w_fired = w->w_which = w->w_match;
    disarm(w);
    verdict(w, 0, "");
    rq_push(w);
}

static int mq_room(int qi)
{
    const struct mq *m = &M.mq[qi];
    return !m->cap || m->cap - m->n > m->freed;
}

static void mk_item(unsigned char *b, size_t size, uint32_t id)
{
    size_t j;
    memcpy(b, &id, 4);
    for (j = 4; j < size; j++)
        b[j] = (unsigned char)(id * 31u + j);
}

static uint32_t item_id(struct tf *f, const unsigned char *b, size_t size)
{
    uint32_t id;
    size_t j;
    memcpy(&id, b, 4);
    for (j = 4; j < size; j++)
        CHECK(f, b[j] == (unsigned char)(id * 31u + j), "item %u corrupted at byte %u",
              (unsigned)id, (unsigned)j);
    return id;
}

/* An item was stored: a parked getter is promised it. */
static void mq_store(int qi, uint32_t id)
{
    struct mq *m = &M.mq[qi];
    struct tf *g;
    CHECK(NULL, m->head + m->n < MAXIDS, "model: queue ids overflow");
    m->ids[m->head + m->n++] = id;
    m->puts++;
    if ((g = first_parked(K_QGET, qi)) != NULL) {
        m->held++;
        hand(g);
    }
}

/* An item was taken, by a woken getter (the oldest, promised) or not (the
 * oldest not promised): a parked putter is promised the free slot. */
static void mq_take(struct tf *f, int qi, int promised, uint32_t got)
{
    struct mq *m = &M.mq[qi];
    unsigned k, i;
    struct tf *p;
    CHECK(f, m->n > (promised ? 0 : m->held), "model: take from an empty queue");
    k = promised ? 0 : m->held;
    CHECK(f, got == m->ids[m->head + k], "queue %d: got id %u, the model's next is %u "
          "(%s get, %u held of %u)", qi, (unsigned)got, (unsigned)m->ids[m->head + k],
          promised ? "woken" : "immediate", m->held, m->n);
    for (i = k; i > 0; i--)
        m->ids[m->head + i] = m->ids[m->head + i - 1];
    m->head++;
    m->n--;
    m->gets++;
    if (promised)
        m->held--;
    if (m->cap && (p = first_parked(K_QPUT, qi)) != NULL) {
        m->freed++;
        hand(p);
    }
}

static void do_tryput(struct tf *f, int qi)
{
    unsigned char b[8];
    int room = mq_room(qi), r;
    uint32_t id;
    if (M.next_id >= MAXIDS)
        return;
    id = M.next_id++;
    mk_item(b, M.mq[qi].size, id);
    r = mt_queue_try_put(&M.q[qi], b);
    CHECK(f, r == (room ? 0 : MT_EAGAIN), "try_put on queue %d returned %d, room %d", qi, r, room);
    if (!r)
        mq_store(qi, id);
}

static void do_tryget(struct tf *f, int qi)
{
    unsigned char b[8];
    const struct mq *m = &M.mq[qi];
    int has = m->n > m->held, r;
    memset(b, 0xEE, sizeof b);
    r = mt_queue_try_get(&M.q[qi], b);
    CHECK(f, r == (has ? 0 : MT_EAGAIN), "try_get on queue %d returned %d, items %d", qi, r, has);
    if (!r)
        mq_take(f, qi, 0, item_id(f, b, m->size));
    else
        CHECK(f, b[0] == 0xEE, "a failed try_get wrote the item");
}

static void do_sem_signal(struct tf *f, int si)
{
    struct tf *w = first_parked(K_SEMWAIT, si);
    int r = mt_sem_signal(&M.sem[si]);
    CHECK(f, r == 0, "mt_sem_signal returned %d", r);
    M.sem_sig[si]++;
    if (w)
        hand(w);
    else
        M.sem_count[si]++;
}

static void do_sem_try(struct tf *f, int si)
{
    int has = M.sem_count[si] > 0, r = mt_sem_try_wait(&M.sem[si]);
    CHECK(f, r == (has ? 0 : MT_EAGAIN), "mt_sem_try_wait returned %d, count %lu", r,
          M.sem_count[si]);
    if (!r) {
        M.sem_count[si]--;
        M.sem_try[si]++;
    }
}

static void do_ev_set(int ei)
{
    struct tf *w;
    mt_event_set(&M.ev[ei]);
    M.ev_set[ei] = 1;
    while ((w = first_parked(K_EVWAIT, ei)) != NULL)
        hand(w); /* every waiter, in the order they came */
}

static void do_ev_clear(int ei)
{
    mt_event_clear(&M.ev[ei]);
    M.ev_set[ei] = 0;
}

/* ---- Signals: the model's side ---------------------------------------------
 * README "Wake-ups": a post to a registered signal raises its flag and its
 * scheduler's; a post to NULL or to a signal registered nowhere does
 * nothing. A cycle takes its scheduler's posts (before it works out its
 * idle wait, and again after it, before its timers), walking the signals
 * in list order: a post becomes a hand-off to the signal's first parked
 * waiter, else the kept post (at most one: posts merge). A ring's signal
 * (g >= NSG) is decided by the ring's count, not by its flag: every take
 * looks at every ring of the list, and one that holds an item wakes its
 * parked consumer, else keeps a unit; its flag is cleared either way. */

/* Ring r: a plain ring (r < NRG0) or a channel's; NULL past them. */
static mt_ring *RG(int r)
{
#if FUZZ_CHAN
    if (r >= NRG0 && r < NRG)
        return &M.chan[r - NRG0].ring;
#endif
    return r >= 0 && r < NRG0 ? &M.ring[r] : NULL;
}

#if FUZZ_CHAN
static int is_chan(int r) { return r >= NRG0 && r < NRG; }
static mt_chan *CH(int r) { return is_chan(r) ? &M.chan[r - NRG0] : NULL; }
#else
static int is_chan(int r) { (void)r; return 0; }
#endif

static mt_signal *SG(int g)
{
    return g < NSG ? &M.sig[g] : g < NG ? &RG(g - NSG)->sig : NULL;
}

/* A signal argument a&3 of the input: 0-2, or NULL (3). */
static int sg_arg(unsigned a) { return (a & 3) < NSG ? (int)(a & 3) : NG; }

static void model_post(int g)
{
    int k = g < NG ? M.sg_reg[g] : -1;
    trace(NULL, "post %d (%s)", g, k < 0 ? "nothing" : k ? "scheduler 1" : "scheduler 0");
    if (k < 0)
        return;
    M.sg_pend[g] = 1;
    M.signalled[k] = 1;
    M.pipe_byte[k] |= M.haspipe[k]; /* and a byte in its wake pipe */
}

static void model_take(int k)
{
    int i;
    if (!M.signalled[k])
        return;
    M.signalled[k] = 0;
    M.pipe_byte[k] = 0; /* the pipe is drained with the flags */
    for (i = 0; i < M.sg_n[k]; i++) {
        int g = M.sg_list[k][i];
        struct tf *w;
        if (!M.sg_pend[g] && g < NSG)
            continue;
        M.sg_pend[g] = 0;
        if (g >= NSG && !M.rg_n[g - NSG])
            continue; /* a ring whose items were taken: nothing to wake for */
        if ((w = first_parked(K_SIGWAIT, g)) != NULL) {
            trace(w, "signal %d wakes", g);
            M.sg_units[g]++;
            hand(w);
        } else if (!M.sg_kept[g]) {
            trace(NULL, "signal %d kept", g);
            M.sg_units[g]++;
            M.sg_kept[g] = 1;
        }
    }
}

/* A post: g < NSG a signal, g == NG (or more) NULL. */
static void do_post(struct tf *f, int g)
{
    (void)f;
    model_post(g);
    mt_signal_post(SG(g));
}

/* g, registered nowhere, afresh with k: first in k's list, its kept post
 * (a unit its last registration left) dropped. */
static void sg_register(int k, int g)
{
    int i;
    M.sg_dropped[g] += (unsigned long)M.sg_kept[g];
    M.sg_kept[g] = M.sg_pend[g] = 0;
    M.sg_reg[g] = k;
    M.haspipe[k] = FUZZ_IO; /* the first init opens it */
    for (i = M.sg_n[k]; i > 0; i--)
        M.sg_list[k][i] = M.sg_list[k][i - 1];
    M.sg_list[k][0] = g;
    M.sg_n[k]++;
}

/* mt_signal_init(k, g): a signal registered nowhere (zeroed, or forgotten
 * by a destroy) starts afresh, first in k's list; registered with k
 * already, nothing changes (no second link, its post and waiters stay).
 * One registered with the other scheduler is left alone: a signal belongs
 * to one scheduler, and the library does not refuse the move (it unlinks
 * the signal's successors from the first one's list). */
static void do_init(int k, int g)
{
    int r;
    if (g >= NSG) { /* NULL scheduler or signal */
        r = mt_signal_init(S(k), NULL);
        CHECK(NULL, r == MT_EINVAL, "mt_signal_init(s, NULL) returned %d", r);
        r = mt_signal_init(NULL, &M.sig[(k + g) % NSG]);
        CHECK(NULL, r == MT_EINVAL, "mt_signal_init(NULL, sig) returned %d", r);
        return;
    }
    if (M.sg_reg[g] >= 0 && M.sg_reg[g] != k)
        return;
    r = mt_signal_init(S(k), &M.sig[g]);
    CHECK(NULL, r == 0, "mt_signal_init returned %d", r);
    trace(NULL, "init %d with scheduler %d%s", g, k, M.sg_reg[g] == k ? " (again)" : "");
    if (M.sg_reg[g] == k)
        return;
    sg_register(k, g);
}

/* ---- Rings: the model's side ----------------------------------------------
 * multitask.h "The ring": one producer (plain code, or the idle hook as an
 * interrupt), one consumer (plain code between cycles, or one task at a
 * time: the harness makes a second MT_RING_GET on a ring a yield while a
 * task waits on it or is woken for it). A put stores the item (MT_EAGAIN
 * when full: not stored) and posts the ring's signal; a get takes the
 * oldest (MT_EAGAIN when empty); mt_ring_init registers the ring as
 * mt_signal_init does (MT_EBUSY if the other scheduler's) and empties it
 * (the harness does not init again while a consumer waits). Items are
 * sequence numbers: each get or wake-up must find the model's oldest. */

static void rg_item(unsigned char *b, unsigned size, uint32_t id)
{
    b[0] = (unsigned char)id;
    if (size > 1)
        b[1] = (unsigned char)((id >> 8) ^ 0x5a);
}

/* The consumer took *b from ring r: the model's oldest item, and nothing
 * written past the item's size. */
static void rg_take(struct tf *f, int r, const unsigned char *b)
{
    unsigned char want[8];
    uint32_t id;
    unsigned j;
    CHECK(f, M.rg_n[r] > 0, "ring %d: an item taken, the model holds none", r);
    id = M.rg_ids[r][M.rg_head[r]];
    memset(want, 0xEE, sizeof want);
    rg_item(want, M.rg_size[r], id);
    for (j = 0; j < sizeof want; j++)
        CHECK(f, b[j] == want[j], "ring %d: got byte %u = %#x, expected item %u (%#x)", r, j,
              b[j], (unsigned)id, want[j]);
    trace(f, "ring %d: took item %u", r, (unsigned)id);
    M.rg_head[r] = (M.rg_head[r] + 1) % RCAP;
    M.rg_n[r]--;
    M.rg_gets[r]++;
}

/* Item id stored in ring r (a put from plain code, the idle hook or a
 * task's MT_CHAN_PUT), which posts the ring's signal. */
static void rg_store(int r, uint32_t id)
{
    CHECK(NULL, M.rg_n[r] < M.rg_cap[r], "model: ring %d stored into full", r);
    M.rg_ids[r][(M.rg_head[r] + M.rg_n[r]) % RCAP] = id;
    M.rg_n[r]++;
    M.rg_puts[r]++;
    model_post(NSG + r);
}

/* mt_ring_put (mt_chan_put on a channel) from plain code or the idle hook
 * (r >= NRG: NULL arguments; with chan, a channel's). */
static void do_rput_(int r, int chan)
{
    unsigned char b[RSIZE] = {0};
    int rc, want;
    uint32_t id;
    if (r >= NRG) {
#if FUZZ_CHAN
        if (chan) {
            rc = mt_chan_put(NULL, b);
            CHECK(NULL, rc == MT_EINVAL, "mt_chan_put(NULL) returned %d", rc);
            rc = mt_chan_put(&M.chan[0], NULL);
            CHECK(NULL, rc == MT_EINVAL, "mt_chan_put(c, NULL) returned %d", rc);
            return;
        }
#endif
        (void)chan;
        rc = mt_ring_put(NULL, b);
        CHECK(NULL, rc == MT_EINVAL, "mt_ring_put(NULL) returned %d", rc);
        rc = mt_ring_put(&M.ring[0], NULL);
        CHECK(NULL, rc == MT_EINVAL, "mt_ring_put(r, NULL) returned %d", rc);
        return;
    }
    id = M.rg_seq[r];
    rg_item(b, M.rg_size[r] ? M.rg_size[r] : 1, id);
    want = !M.rg_cap[r] ? MT_EINVAL : M.rg_n[r] == M.rg_cap[r] ? MT_EAGAIN : 0;
#if FUZZ_CHAN
    if (is_chan(r))
        rc = mt_chan_put(CH(r), b);
    else
#endif
        rc = mt_ring_put(RG(r), b);
    trace(NULL, "ring %d: put item %u: %d", r, (unsigned)id, rc);
    CHECK(NULL, rc == want, "mt_%s_put on ring %d returned %d, model %d (%u of %u held)",
          is_chan(r) ? "chan" : "ring", r, rc, want, M.rg_n[r], M.rg_cap[r]);
    if (rc)
        return;
    M.rg_seq[r]++;
    rg_store(r, id);
}

static void do_rput(int r) { do_rput_(r, is_chan(r)); }

/* mt_ring_get (mt_chan_get on a channel) from plain code (r >= NRG: NULL
 * arguments; with chan, a channel's). */
static void do_rget_(int r, int chan)
{
    unsigned char b[8];
    int rc, want;
    if (r >= NRG) {
#if FUZZ_CHAN
        if (chan) {
            rc = mt_chan_get(NULL, b);
            CHECK(NULL, rc == MT_EINVAL, "mt_chan_get(NULL) returned %d", rc);
            rc = mt_chan_get(&M.chan[0], NULL);
            CHECK(NULL, rc == MT_EINVAL, "mt_chan_get(c, NULL) returned %d", rc);
            CHECK(NULL, mt_chan_count(NULL) == 0, "mt_chan_count(NULL) is not 0");
            return;
        }
#endif
        (void)chan;
        rc = mt_ring_get(NULL, b);
        CHECK(NULL, rc == MT_EINVAL, "mt_ring_get(NULL) returned %d", rc);
        rc = mt_ring_get(&M.ring[0], NULL);
        CHECK(NULL, rc == MT_EINVAL, "mt_ring_get(r, NULL) returned %d", rc);
        CHECK(NULL, mt_ring_count(NULL) == 0, "mt_ring_count(NULL) is not 0");
        return;
    }
    memset(b, 0xEE, sizeof b);
    want = !M.rg_cap[r] ? MT_EINVAL : !M.rg_n[r] ? MT_EAGAIN : 0;
#if FUZZ_CHAN
    if (is_chan(r))
        rc = mt_chan_get(CH(r), b);
    else
#endif
        rc = mt_ring_get(RG(r), b);
    CHECK(NULL, rc == want, "mt_%s_get on ring %d returned %d, model %d",
          is_chan(r) ? "chan" : "ring", r, rc, want);
    if (!rc)
        rg_take(NULL, r, b);
    else
        CHECK(NULL, b[0] == 0xEE, "mt_ring_get failed and wrote the item");
}

static void do_rget(int r) { do_rget_(r, is_chan(r)); }

/* A task waits on g (in MT_RING_GET), or is woken for it and not yet
 * resumed (other than f). */
static struct tf *rg_consumer(const struct tf *f, int g)
{
    int i;
    for (i = 0; i < NFRAMES; i++) {
        struct tf *w = frame_at(i);
        if (w != f && live(w) && w->w_pending && w->w_kind == K_SIGWAIT && w->w_obj == g)
            return w;
    }
    return NULL;
}

/* mt_ring_init, or mt_chan_init for a channel's ring (nul: the ring or
 * channel argument NULL). */
static int rinit_call(int r, mt_sched *s, int nul, void *buf, size_t size, size_t cap)
{
#if FUZZ_CHAN
    if (is_chan(r))
        return mt_chan_init(s, nul ? NULL : CH(r), buf, size, cap);
#endif
    return mt_ring_init(s, nul ? NULL : RG(r), buf, size, cap);
}

/* mt_ring_init(k, r) (mt_chan_init for a channel's) with capacity cap and
 * items of size bytes; bad: 0, or which argument is wrong (1: NULL
 * scheduler, 2: NULL ring or channel, or buffer, 3: a size of 0, 4: a
 * capacity of 0 or above MT_RING_CAP_MAX), all MT_EINVAL with nothing
 * changed. */
static void do_rinit(int k, int r, unsigned cap, unsigned size, int bad)
{
    int g = NSG + r, rc, want;
    unsigned char *buf = M.rbuf[r];
    switch (bad) {
    case 1:
        rc = rinit_call(r, NULL, 0, buf, size, cap);
        break;
    case 2:
        rc = rinit_call(r, S(k), 1, buf, size, cap);
        CHECK(NULL, rc == MT_EINVAL, "mt_ring_init(s, NULL, ...) returned %d", rc);
        rc = rinit_call(r, S(k), 0, NULL, size, cap);
        break;
    case 3:
        rc = rinit_call(r, S(k), 0, buf, 0, cap);
        break;
    case 4:
        rc = rinit_call(r, S(k), 0, buf, size, 0);
        CHECK(NULL, rc == MT_EINVAL, "mt_ring_init with capacity 0 returned %d", rc);
        rc = rinit_call(r, S(k), 0, buf, size, MT_RING_CAP_MAX + 1);
        break;
    default:
        rc = 0;
        break;
    }
    if (bad) {
        CHECK(NULL, rc == MT_EINVAL, "mt_%s_init with bad argument %d returned %d",
              is_chan(r) ? "chan" : "ring", bad, rc);
        return;
    }
    if (M.sg_reg[g] == k && rg_consumer(NULL, g))
        return; /* the contract: no init again while a consumer waits */
    want = M.sg_reg[g] >= 0 && M.sg_reg[g] != k ? MT_EBUSY : 0;
    rc = rinit_call(r, S(k), 0, buf, size, cap);
    trace(NULL, "ring %d: init with scheduler %d, capacity %u, size %u: %d%s", r, k, cap, size,
          rc, M.sg_reg[g] == k ? " (again)" : "");
    CHECK(NULL, rc == want, "mt_%s_init returned %d, model %d", is_chan(r) ? "chan" : "ring",
          rc, want);
    if (rc)
        return;
    if (M.sg_reg[g] != k)
        sg_register(k, g); /* registered again with k: its post and unit stay */
    M.rg_dropped[r] += M.rg_n[r];
    M.rg_n[r] = M.rg_head[r] = 0;
    M.rg_cap[r] = cap;
    M.rg_size[r] = size;
}

/* ---- Descriptors: the pairs, and the model of descriptor waits ------------
 * README "I/O": an operation tries first and waits only if it would block;
 * a wake-up that finds nothing waits again within the same timeout; a
 * descriptor ready by its deadline is tried first; a hang-up ends every
 * wait on poll and epoll (select sees only what select sees); a descriptor
 * closed under a waiter fails it with MT_EBADF: select and poll at the next
 * poll, epoll when the loop is next idle and within 1000 ticks. */

static void imm(struct tf *f, int v, const char *msg)
{
    f->w_imm = 1;
    f->w_imm_v = v;
    f->w_imm_msg = msg;
}

#if FUZZ_IO
static int fd_a(int p) { return FD0 + 2 * p; }
static int fd_b(int p) { return FD0 + 2 * p + 1; }

/* The bytes of pair p's stream from B to A, and of a task's sends. */
static unsigned char pat(int p, uint32_t i) { return (unsigned char)(i * 131u + (unsigned)p * 7u + 1u); }
static unsigned char spat(const struct tf *f, int i)
{
    return (unsigned char)(f->w_seq * 29u + (unsigned)f->slot * 3u + (unsigned)i);
}

/* The events of ev that A of pair p has ready, as the backend sees them. */
static int io_ready(int p, int ev)
{
    const struct mio *m = &M.io[p];
    int r = (m->wr != m->rd || m->b_shut || m->b_closed ? MT_READABLE : 0) |
            (!m->full ? MT_WRITABLE : 0);
    if (m->b_closed && !BK_SELECT)
        r = MT_READABLE | MT_WRITABLE | MT_EXCEPT;
    return r & ev;
}

static void nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    CHECK(NULL, fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0, "fcntl(%d) failed", fd);
}

/* A fresh pair at its numbers, far above what the library opens (self-
 * pipes, epoll instances take the lowest free), so a closed A is never
 * reused behind the model's back. A's send buffer is small: filling it
 * is cheap. */
static void pair_open(int p)
{
    int sv[2], sz = 4096;
    CHECK(NULL, socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair failed");
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    CHECK(NULL, dup2(sv[0], fd_a(p)) == fd_a(p) && dup2(sv[1], fd_b(p)) == fd_b(p),
          "dup2 to %d failed (descriptor limit?)", fd_a(p));
    close(sv[0]);
    close(sv[1]);
    nonblock(fd_a(p));
    nonblock(fd_b(p));
    memset(&M.io[p], 0, sizeof M.io[p]);
}

static void pair_close(int p)
{
    int k;
    for (k = 0; k < NSCH; k++) /* the file goes: the instances drop it */
        M.kreg[k][p] = 0;
    if (!M.io[p].a_closed)
        close(fd_a(p));
    if (!M.io[p].b_closed)
        close(fd_b(p));
    M.io[p].a_closed = M.io[p].b_closed = 1;
}

/* B reads what A's fill left (tasks' sends are read as they complete). */
static void drain_b(int p)
{
    unsigned char b[4096];
    while (recv(fd_b(p), b, sizeof b, 0) > 0) {
    }
    M.io[p].full = 0;
}

/* A chooser of scheduler k, waiting; its descriptor clauses (each a
 * waiter of the backend). */
static int ch_parked(const struct tf *f, int k)
{
    return live(f) && sch_of(f) == k && f->w_pending && f->w_kind == K_CHOOSE && f->w_parked &&
           !f->w_has_v;
}

static int ch_fds(const struct tf *f)
{
    int i, n = 0;
    for (i = 0; i < f->ch_n; i++)
        n += f->ch_kind[i] == CK_FD;
    return n;
}

/* Scheduler k's descriptor waiters, parked and registered (not f); a
 * chooser counts once per descriptor clause. */
static int io_waiters(int k, const struct tf *except)
{
    int i, n = 0;
    for (i = 0; i < NFRAMES; i++) {
        const struct tf *f = frame_at(i);
        n += f != except && live(f) && sch_of(f) == k && f->w_pending && IO_KIND(f->w_kind) &&
             f->w_parked && !f->w_has_v && !f->w_ylike;
        n += f != except && ch_parked(f, k) ? ch_fds(f) : 0;
    }
    return n;
}

/* A task waits on its descriptor (again): last among its waiters; epoll
 * starts its 1000-tick clock for closed descriptors when the first one
 * comes (the library: io.n from 0 to 1). */
/* epoll: f's descriptors (its A, or its clauses' A) not in scheduler k's
 * table are registered as it parks there (A is open: on a closed one the
 * first try failed). */
static void ep_reg_waiter(const struct tf *f, int k)
{
    int c;
    if (!BK_EPOLL)
        return;
    if (IO_KIND(f->w_kind) && !M.reg[k][f->w_p])
        M.reg[k][f->w_p] = M.kreg[k][f->w_p] = 1;
    for (c = 0; f->w_kind == K_CHOOSE && c < f->ch_n; c++)
        if (f->ch_kind[c] == CK_FD && !M.reg[k][f->ch_obj[c]])
            M.reg[k][f->ch_obj[c]] = M.kreg[k][f->ch_obj[c]] = 1;
}

static void io_register(struct tf *f)
{
    int k = sch_of(f);
    if (BK_EPOLL && !io_waiters(k, f))
        M.chk_at[k] = M.vnow + 1000;
    f->w_io = ++M.io_stamp;
    f->w_regat = M.vnow;
    ep_reg_waiter(f, k);
}

/* epoll: the table holds A of pair p for scheduler k and the edges left
 * none of ev "seen" since an operation found them not ready: a first try
 * (timeout not 0) waits without the system call. What the table saw
 * depends on the kernel's edges, so the model asks the table; a waiter
 * parked so while ready is then owed a wake-up by the next poll (the plan),
 * so a wrong "not ready" is still caught. */
static int ep_known_idle(int k, int p, int ev)
{
#if MT_BACKEND == MT_BACKEND_EPOLL
    return M.reg[k][p] && (size_t)fd_a(p) < S(k)->io.cap &&
           !(S(k)->io.fds[fd_a(p)].st & (unsigned)ev);
#else
    (void)k, (void)p, (void)ev;
    return 0;
#endif
}

/* The operation tries (first: not woken): its outcome now, or nothing
 * (it waits). */
static void io_try(struct tf *f, int first)
{
    const struct mio *m = f->w_p >= 0 ? &M.io[f->w_p] : NULL;
    uint32_t inq;
    if (!m || (f->w_kind == K_FDWAIT && !f->w_ev)) {
        imm(f, MT_EINVAL, msg_any);
        return;
    }
    if (BK_EPOLL && first && f->w_tmo != 0 &&
        ep_known_idle(sch_of(f), f->w_p,
                      f->w_kind == K_READ ? MT_READABLE
                      : f->w_kind == K_SEND ? MT_WRITABLE : (f->w_ev & 7))) {
        trace(f, "known not ready (epoll): waits without trying");
        return;
    }
    if (m->a_closed) {
        imm(f, MT_EBADF, NULL);
        return;
    }
    inq = m->wr - m->rd;
    if (f->w_kind == K_FDWAIT && (f->w_got = io_ready(f->w_p, f->w_ev)) != 0) {
        imm(f, 0, "");
    } else if (f->w_kind == K_READ && (inq || m->b_shut || m->b_closed)) {
        f->w_n = inq < (uint32_t)f->w_len ? (long)inq : f->w_len; /* 0: end of file */
        imm(f, 0, "");
    } else if (f->w_kind == K_SEND && m->b_closed) {
        imm(f, MT_ESYS(EPIPE), NULL);
    } else if (f->w_kind == K_SEND && !m->full) {
        f->w_n = f->w_len;
        imm(f, 0, "");
    } else if (!f->w_tmo) {
        imm(f, MT_ETIMEDOUT, NULL);
    }
}

/* An operation starts (a valid timeout, not cancelled): past the burst it
 * gives way, to start afresh when resumed. */
static void io_begin(struct tf *f)
{
    if (++M.burst[sch_of(f)] > MT_IO_BURST) {
        trace(f, "burst: gives way");
        f->w_ylike = f->w_redo = 1;
        return;
    }
    io_try(f, 1);
}

/* Woken ready, resumed: the operation tries again. Would it block, it
 * waits again, or fails MT_ETIMEDOUT once its deadline has come. */
static void io_retry(struct tf *f)
{
    f->w_imm = 0;
    if (f->w_kind != K_FDWAIT) { /* MT_WAIT_FD: the events the poll found */
        io_try(f, 0);
        if (f->w_imm) {
            f->w_imm = 0;
            verdict(f, f->w_imm_v, f->w_imm_msg);
        } else if (f->w_armed && f->w_deadline <= M.vnow) {
            verdict(f, MT_ETIMEDOUT, NULL);
        } else {
            trace(f, "woken, would block: waits again");
            f->w_has_v = 0;
            f->w_repark = 1;
            return;
        }
    }
    disarm(f);
}

/* f stopped waiting on its descriptor (a timeout, a cancel): the others
 * wait on. (epoll keeps the registration: a withdrawal costs no system
 * call, and the waiters left on a closed descriptor wait for the check.) */
static void io_withdrawn(struct tf *f) { (void)f; }

/* A descriptor wait resumed. Returns 1 if handled here. */
static int io_resume(struct tf *f)
{
    if (f->w_redo) { /* it resumes where it gave way */
        f->w_redo = f->w_ylike = f->w_parked = 0;
        if (f->w_has_v)
            return 1; /* cancelled meanwhile: the operation ends MT_ECANCELED */
        f->w_call = f->calls;
        f->w_start = M.vnow;
        io_try(f, 1); /* afresh (the burst counts it as the one it resumes in) */
        return 1;
    }
    if (!f->w_woke)
        return 0; /* timed out or cancelled: that verdict stands */
    f->w_woke = 0;
    if (f->w_v) /* MT_EBADF from the poll */
        disarm(f);
    else
        io_retry(f);
    return 1;
}

static void plan_add(struct tf *f, int err, int got)
{
    trace(f, "the poll must wake it: err %d events %d", err, got);
    M.plan_cl[M.nplan] = -1;
    M.plan[M.nplan] = f;
    M.plan_err[M.nplan] = err;
    M.plan_got[M.nplan++] = got;
}

/* Is f (a chooser) among the planned wake-ups before entry n? */
static int planned(const struct tf *f, int n)
{
    int j;
    for (j = 0; j < n; j++)
        if (M.plan[j] == f)
            return 1;
    return 0;
}

/* Scheduler k's parked descriptor waiters on a closed (1) or open (0) A,
 * of the pairs in `mask` (epoll: those its instance reports), choosers not
 * planned before entry `from`. */
static void plan_each_of(int k, int closed, unsigned mask, int from)
{
    int i;
    for (i = 0; i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        if (live(f) && sch_of(f) == k && f->w_pending && IO_KIND(f->w_kind) && f->w_parked &&
            !f->w_has_v && !f->w_ylike && M.io[f->w_p].a_closed == closed &&
            (mask >> f->w_p & 1)) {
            int got = closed ? 0 : io_ready(f->w_p, f->w_ev);
            if (closed || got)
                plan_add(f, closed ? MT_EBADF : 0, got);
        }
        if (!closed && ch_parked(f, k) && !planned(f, from)) { /* its ready clauses: one fires */
            int c;
            for (c = 0; c < f->ch_n; c++) {
                int got = f->ch_kind[c] == CK_FD && (mask >> f->ch_obj[c] & 1)
                              ? io_ready(f->ch_obj[c], f->ch_ev[c]) : 0;
                if (got) {
                    plan_add(f, 0, got);
                    M.plan_cl[M.nplan - 1] = c;
                }
            }
        }
    }
}

static void plan_each(int k, int closed) { plan_each_of(k, closed, (1u << NP) - 1, 0); }

#if MT_BACKEND == MT_BACKEND_EPOLL
/* The waiters the planned wake-ups take off the backend: a chooser's
 * every descriptor clause (one fires, the others are withdrawn). */
static int plan_taken(void)
{
    int i, j, n = 0;
    for (i = 0; i < M.nplan; i++) {
        for (j = 0; j < i && M.plan[j] != M.plan[i]; j++) {
        }
        if (j == i)
            n += M.plan_cl[i] < 0 ? 1 : ch_fds(M.plan[i]);
    }
    return n;
}

/* Scheduler k has a waiter on pair p (not a chooser planned before entry
 * `from`: the poll fired it). */
static int io_waits_on(int k, int p, int from)
{
    int i, c;
    for (i = 0; i < NFRAMES; i++) {
        const struct tf *f = frame_at(i);
        if (live(f) && sch_of(f) == k && f->w_pending && IO_KIND(f->w_kind) && f->w_parked &&
            !f->w_has_v && !f->w_ylike && f->w_p == p)
            return 1;
        for (c = 0; ch_parked(f, k) && !planned(f, from) && c < f->ch_n; c++)
            if (f->ch_kind[c] == CK_FD && f->ch_obj[c] == p)
                return 1;
    }
    return 0;
}

/* epoll, the cycle's first epoll_wait returned nev events, with tasks
 * still waiting (README "epoll in detail"): when nothing came and nothing
 * was runnable, the loop looks for closed descriptors (their waiters fail
 * MT_EBADF, the table forgets them); when its 1000 ticks are up, the full
 * check also registers a reused number again (its waiters ready wake in
 * this cycle). */
static void io_decide(int k, int nev)
{
    int p, from = M.nplan, due;
    if (nev < 0 || io_waiters(k, NULL) <= plan_taken())
        return;
    due = M.vnow >= M.chk_at[k];
    if (!due && !(nev == 0 && M.ep_rqe))
        return;
    trace(NULL, "epoll checks its registrations (%d events came, %s)", nev,
          due ? "full" : "closed ones");
    if (due)
        M.chk_at[k] = M.vnow + 1000;
    for (p = 0; p < NP; p++) {
        if (!io_waits_on(k, p, from) || M.kreg[k][p])
            continue;
        if (M.io[p].a_closed) {
            M.reg[k][p] = 0;
            plan_each_of(k, 1, 1u << p, from);
        } else if (due) {
            M.reg[k][p] = M.kreg[k][p] = 1;
            plan_each_of(k, 0, 1u << p, from);
        }
    }
    if (M.nplan)
        M.pred_idle = 0;
}

/* The shim saw an epoll_wait return n: the cycle's first decides the
 * check; any takes the wake pipe's byte. */
static void ep_waited(int ep, int n)
{
    int k = M.cur;
    if (!M.in_cycle || M.cycle_begun || !S(k)->io.open || S(k)->io.epfd != ep)
        return;
    M.pipe_byte[k] = 0;
    if (!M.ep_pending)
        return;
    M.ep_pending = 0;
    io_decide(k, n);
}
#endif

/* The poll of scheduler k's next cycle, which blocks up to `wait`: which
 * waiters it wakes. The backend is polled when a task waits on a
 * descriptor, or to block on the wake pipe. select fails whole on a
 * closed descriptor (only its waiters wake, the pipe stays unread); poll
 * reports it with the others; epoll reports the descriptors its instance
 * holds, then checks its registrations (io_decide, once the first
 * epoll_wait said how many events came). */
static void io_plan(int k, long wait)
{
    int n = io_waiters(k, NULL), i, closed = 0;
    unsigned held = 0;
    M.nplan = 0;
    M.ep_pending = 0;
    if (!n && !(M.haspipe[k] && wait != 0))
        return;
    if (BK_EPOLL) {
        for (i = 0; i < NP; i++)
            held |= (unsigned)M.kreg[k][i] << i;
        plan_each_of(k, 0, held, 0);
        M.ep_pending = n > 0;
        M.ep_rqe = rq_empty(k);
        M.pipe_byte[k] = 0;
        return;
    }
    for (i = 0; i < NP; i++)
        closed |= M.io[i].a_closed;
    if (BK_SELECT && closed) {
        plan_each(k, 1);
        if (M.nplan)
            return;
    }
    plan_each(k, 0);
    plan_each(k, 1);
    M.pipe_byte[k] = 0;
}

/* The cycle has polled: the planned waiters come next in the scheduler's
 * run queue (after those runnable before; the task being called first),
 * in any order that keeps each descriptor's waiters first come, first
 * served. They join the model's queue in that order. */
/* The planned entry of f: its own (-1), or for a chooser, that of the
 * clause that fired (the library's c[0].fired until it resumes); -1 if
 * none. */
static int plan_find(const struct tf *f)
{
    int j, cl = f->w_kind == K_CHOOSE ? f->cl[0].fired : -1;
    for (j = 0; j < M.nplan; j++)
        if (M.plan[j] == f && M.plan_cl[j] == cl)
            return j;
    return -1;
}

/* The tasks the planned entries wake: a chooser once, however many of
 * its clauses were ready. */
static int plan_tasks(void)
{
    int i, j, n = 0;
    for (i = 0; i < M.nplan; i++) {
        for (j = 0; j < i && M.plan[j] != M.plan[i]; j++) {
        }
        n += j == i;
    }
    return n;
}

static void io_observe(int k)
{
    struct tf *seq[NFRAMES + 1];
    const mt_task *t;
    unsigned long l = M.rqt[k] - M.rqh[k];
    int ns = 0, i, j, nt = plan_tasks();
    if (M.calling)
        seq[ns++] = M.calling;
    for (t = S(k)->rq.head; t && ns <= NFRAMES; t = t->next)
        seq[ns++] = (struct tf *)(void *)t;
    CHECK(NULL, (unsigned long)ns >= l + (unsigned long)nt,
          "the poll woke fewer than the %d descriptor waiters it must", nt);
    for (i = 0; i < nt; i++) {
        struct tf *f = seq[l + (unsigned long)i];
        j = plan_find(f);
        CHECK(f, j >= 0, "the poll woke a task it must not (or a clause not ready)");
        CHECK(f, f->w_parked && !f->w_has_v, "the poll woke a task twice");
        for (j = 0; j < i && f->w_kind != K_CHOOSE; j++) {
            const struct tf *g = seq[l + (unsigned long)j];
            CHECK(f, g->w_kind == K_CHOOSE || g->w_p != f->w_p || g->w_io < f->w_io,
                  "a descriptor's waiters woke out of their order");
        }
        j = plan_find(f);
        verdict(f, M.plan_err[j], M.plan_err[j] ? NULL : "");
        f->w_got = M.plan_got[j];
        if (f->w_kind == K_CHOOSE) { /* fired: its nodes and timer are gone */
            f->w_fired = f->w_which = M.plan_cl[j];
            disarm(f);
        } else {
            f->w_woke = 1;
        }
        rq_push(f);
    }
}

/* After the cycle's timers (which may have cancelled some of them): each
 * woken task holds the model's verdict. */
static void io_observed(void)
{
    int i;
    for (i = 0; i < M.nplan; i++) {
        struct tf *f = M.plan[i];
        CHECK(f, mt_err(&f->task) == f->w_v, "woken by the poll with error %d, the model says %d",
              mt_err(&f->task), f->w_v);
    }
    M.nplan = 0;
}

/* README: a descriptor closed under a waiter is noticed at the next poll
 * (select, poll) or within 1000 ticks (epoll), however busy the loop. */
static void io_check_closed(int k)
{
    int i;
    for (i = 0; i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        if (live(f) && sch_of(f) == k && f->w_pending && IO_KIND(f->w_kind) && f->w_parked &&
            !f->w_has_v && !f->w_ylike && M.io[f->w_p].a_closed)
            CHECK(f, BK_EPOLL && M.vnow < (M.io[f->w_p].closed_at > f->w_regat
                                                ? M.io[f->w_p].closed_at : f->w_regat) + 1000,
                  "a wait on a descriptor closed at %llu is still pending",
                  (unsigned long long)M.io[f->w_p].closed_at);
    }
}

/* A task's send completed: B receives exactly its bytes. */
static void io_sent(struct tf *f)
{
    unsigned char b[16];
    ssize_t r = recv(fd_b(f->w_p), b, sizeof b, 0);
    int i;
    CHECK(f, r == f->n, "B received %ld bytes of a send of %ld", (long)r, (long)f->n);
    for (i = 0; i < (int)r; i++)
        CHECK(f, b[i] == spat(f, i), "B received byte %d wrong", i);
}

/* A task's read completed: the stream's next bytes, none lost or twice. */
static void io_got(struct tf *f)
{
    struct mio *m = &M.io[f->w_p];
    int i;
    CHECK(f, f->n == f->w_n, "read %ld bytes, the model says %ld", (long)f->n, f->w_n);
    for (i = 0; i < (int)f->n; i++)
        CHECK(f, f->iobuf[i] == pat(f->w_p, m->rd + (uint32_t)i), "read byte %d wrong", i);
    m->rd += (uint32_t)f->n;
}

/* mt_sched_close(S(k), A of pair p), k = a>>3&1 (a>>4&3 == 3: bad
 * arguments, MT_EINVAL): k's waiters on A, plain and MT_CHOOSE clauses,
 * are made runnable now with MT_EBADF, on every backend (the next cycle
 * runs them; no check, no poll needed), the table forgets A, then
 * close(2): 0, or MT_EBADF if A was closed already. The other scheduler
 * sees a plain close. (Not while a chooser of the other scheduler has a
 * clause on A: see the plain close.) */
static void io_close_op(int p, unsigned a)
{
    int k = (int)((a >> 3) & 1), i, j, c, r, want, nw = 0, ns = 0;
    struct tf *w[NFRAMES], *seq[NFRAMES + 1];
    int wc[NFRAMES];
    unsigned long l = M.rqt[k] - M.rqh[k], u;
    const mt_task *t;
    struct mio *m = &M.io[p];
    if (((a >> 4) & 3) == 3) {
        CHECK(NULL, mt_sched_close(NULL, fd_a(p)) == MT_EINVAL &&
                        mt_sched_close(S(k), -1) == MT_EINVAL,
              "mt_sched_close with bad arguments did not refuse");
        return;
    }
    for (i = 0; i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        int cl = -1;
        for (c = 0; live(f) && f->w_pending && f->w_kind == K_CHOOSE && c < f->ch_n; c++)
            if (f->ch_kind[c] == CK_FD && f->ch_obj[c] == p && cl < 0)
                cl = c;
        if (cl >= 0 && sch_of(f) != k)
            return;
        if (live(f) && sch_of(f) == k && f->w_pending && IO_KIND(f->w_kind) && f->w_parked &&
            !f->w_has_v && !f->w_ylike && f->w_p == p)
            w[nw] = f, wc[nw++] = -1;
        else if (cl >= 0 && ch_parked(f, k))
            w[nw] = f, wc[nw++] = cl; /* its first clause on A fires */
    }
    want = m->a_closed ? MT_EBADF : 0;
    r = mt_sched_close(S(k), fd_a(p));
    trace(NULL, "mt_sched_close(%d, A of pair %d): %d, %d waiters", k, p, r, nw);
    CHECK(NULL, r == want, "mt_sched_close returned %d, the model says %d", r, want);
    for (t = S(k)->rq.head, u = 0; t && ns <= NFRAMES; t = t->next, u++)
        if (u >= l)
            seq[ns++] = (struct tf *)(void *)t;
    CHECK(NULL, ns == nw, "mt_sched_close made %d tasks runnable, the model says %d", ns, nw);
    for (i = 0; i < ns; i++) {
        struct tf *f = seq[i];
        for (j = 0; j < nw && w[j] != f; j++) {
        }
        CHECK(f, j < nw, "mt_sched_close woke a task not waiting on the descriptor");
        CHECK(f, f->w_parked && !f->w_has_v, "mt_sched_close woke a task twice");
        for (c = 0; c < i && wc[j] < 0; c++)
            CHECK(f, seq[c]->w_kind == K_CHOOSE || seq[c]->w_io < f->w_io,
                  "mt_sched_close woke the descriptor's waiters out of their order");
        trace(f, "its descriptor closed (mt_sched_close): MT_EBADF");
        verdict(f, MT_EBADF, NULL);
        if (wc[j] >= 0) { /* fired: its nodes and timer are gone */
            f->w_fired = f->w_which = wc[j];
            disarm(f);
        } else {
            f->w_woke = 1;
        }
        rq_push(f);
    }
    for (i = 0; i < NSCH; i++) /* the file is gone from every instance */
        M.kreg[i][p] = 0;
    M.reg[k][p] = 0;
    if (!m->a_closed) {
        m->a_closed = 1;
        m->closed_at = M.vnow;
    }
}

/* Plain code plays the peers. op 24: B writes 1-8 bytes (at most INQ_MAX
 * unread: B's buffer never fills); 25: B shuts down writing, or closes (a
 * hang-up; B reads what it had first, so A sees no reset); 26: A's send
 * buffer filled, or B drains it; 27: A closed under its waiters (plain
 * close(2), or with a&4 mt_sched_close: io_close_op), or the pair made
 * afresh (once nothing waits on it). */
static void io_op(unsigned op, unsigned a)
{
    int p = (int)(a & 1), alt = (int)((a >> 1) & 1), i;
    struct mio *m = &M.io[p];
    unsigned char b[8];
    trace(NULL, "pair %d: op %u/%d", p, op, alt);
    switch (op) {
    case 24: {
        unsigned cnt = 1 + ((a >> 2) & 7);
        if (m->a_closed || m->b_shut || m->b_closed || m->wr - m->rd + cnt > INQ_MAX)
            return;
        for (i = 0; i < (int)cnt; i++)
            b[i] = pat(p, m->wr + (uint32_t)i);
        CHECK(NULL, send(fd_b(p), b, cnt, MSG_NOSIGNAL) == (ssize_t)cnt, "B's send failed");
        m->wr += cnt;
        return;
    }
    case 25:
        if (m->b_closed)
            return;
        if (!alt) {
            CHECK(NULL, shutdown(fd_b(p), SHUT_WR) == 0, "shutdown failed");
            m->b_shut = 1;
            return;
        }
        drain_b(p);
        close(fd_b(p));
        m->b_closed = 1;
        return;
    case 26:
        if (m->a_closed || m->b_closed)
            return;
        if (alt) {
            drain_b(p);
            return;
        }
        while (send(fd_a(p), b, 1, MSG_NOSIGNAL) == 1 ||
               send(fd_a(p), b, sizeof b, MSG_NOSIGNAL) > 0) {
        }
        m->full = 1;
        return;
    default:
        if (!alt && (a & 4)) {
            io_close_op(p, a);
            return;
        }
        for (i = 0; i < NFRAMES; i++) { /* the model leaves choosers' descriptors open */
            const struct tf *f = frame_at(i);
            int c;
            for (c = 0; live(f) && f->w_pending && f->w_kind == K_CHOOSE && c < f->ch_n; c++)
                if (f->ch_kind[c] == CK_FD && f->ch_obj[c] == p)
                    return;
        }
        if (!alt) {
            if (!m->a_closed) {
                close(fd_a(p));
                m->a_closed = 1;
                m->closed_at = M.vnow;
                for (i = 0; i < NSCH; i++) /* the instances drop the file */
                    M.kreg[i][p] = 0;
            }
            return;
        }
        for (i = 0; i < NFRAMES; i++) {
            const struct tf *f = frame_at(i);
            if (live(f) && f->w_pending && IO_KIND(f->w_kind) && f->w_p == p)
                return; /* reusing a descriptor under its waiter: the user's bug */
        }
        pair_close(p);
        pair_open(p);
        return;
    }
}

/* mt_sched_merge(d, c), epoll: c's waiters register with d's instance, in
 * descriptor order; one on a closed descriptor is woken with MT_EBADF. On
 * every backend they come after d's waiters of the same descriptor. */
static void io_merge(int d, int c)
{
    int p, i, moved = io_waiters(c, NULL);
    uint32_t from = M.io_stamp;
    if (BK_EPOLL && moved && !io_waiters(d, NULL))
        M.chk_at[d] = M.vnow + 1000;
    for (p = 0; p < NP; p++) {
        for (;;) { /* c's waiters on p in their order */
            struct tf *best = NULL;
            for (i = 0; i < NFRAMES; i++) {
                struct tf *f = frame_at(i);
                if (live(f) && sch_of(f) == c && f->w_pending && IO_KIND(f->w_kind) &&
                    f->w_parked && !f->w_has_v && !f->w_ylike && f->w_p == p &&
                    f->w_io <= from && (!best || f->w_io < best->w_io))
                    best = f;
            }
            if (!best)
                break;
            best->w_io = ++M.io_stamp;
            /* d's table holds A already (open or not): it waits there;
             * else A is registered, which fails on a closed one */
            if (BK_EPOLL && !M.reg[d][p] && M.io[p].a_closed) {
                verdict(best, MT_EBADF, NULL);
                best->w_woke = 1;
                M.rq[d][M.rqt[d]++ % RQN] = best; /* d's queue: sch_of is still c */
                best->inrq = 1;
            } else if (BK_EPOLL && !M.reg[d][p]) {
                M.reg[d][p] = M.kreg[d][p] = 1;
            }
        }
    }
    for (i = 0; BK_EPOLL && i < NFRAMES; i++) /* c's choosers: their clauses' A */
        if (ch_parked(frame_at(i), c))
            ep_reg_waiter(frame_at(i), d);
    for (p = 0; p < NP; p++) /* c's table is empty */
        M.reg[c][p] = M.kreg[c][p] = 0;
}
#else
static void io_withdrawn(struct tf *f) { (void)f; }
#endif /* FUZZ_IO */

/* f starts running prog (a top-level task or a group child: in scheduler
 * k). Its group stays as the last task in the frame left it (closed). */
static void frame_start(struct tf *f, int prog, int k)
{
    struct tf *parent = f->parent, *child = f->child;
    int slot = f->slot, depth = f->depth;
    unsigned seq = f->w_seq;
    memset(&f->parent, 0, sizeof *f - offsetof(struct tf, parent));
    f->parent = parent;
    f->child = child;
    f->slot = slot;
    f->depth = depth;
    f->w_seq = seq;
    f->prog = prog;
    f->started = 1;
    f->fresh = 1;
    f->saw = 0;
    if (!depth)
        f->sch = k;
    M.live[sch_of(f)]++;
}

static int prog_task(mt_task *t);

static void do_add(struct tf *caller, int k, int slot, int prog)
{
    struct tf *f = &M.fr[slot][0];
    int r;
    if (live(f)) {
        CHECK(f, mt_state(&f->task) >= MT_RUNNABLE, "the model's live task is not live");
#if defined(MT_ASSERT) && MT_ASSERT
        return; /* adding a live frame is a misuse stop there, not MT_EBUSY */
#endif
        r = mt_sched_add(S(k), &f->task, prog_task);
        CHECK(caller, r == MT_EBUSY, "adding a live task returned %d", r);
        return;
    }
    CHECK(f, mt_state(&f->task) < MT_RUNNABLE, "an ended task is live");
    r = mt_sched_add(S(k), &f->task, prog_task);
    CHECK(caller, r == 0, "mt_sched_add returned %d", r);
    frame_start(f, prog, k);
    rq_push(f);
}

/* The frame a cancel names: a top-level slot's (a%32) or with a&128 a
 * group row's (a&7), at depth a>>5&3. */
static struct tf *frame_pick(unsigned a)
{
    unsigned row = (a & 128) ? NSLOT + (a & (NGROW - 1)) : a % NSLOT;
    return &M.fr[row][(a >> 5) & 3];
}

static void do_cancel(struct tf *caller, struct tf *f)
{
    int r;
    model_cancel(f);
    r = mt_cancel(&f->task);
    CHECK(caller, r == 0, "mt_cancel returned %d", r);
}

/* ---- The task side: what every call, wait and ending tells the model ------ */

static int end_state(int err)
{
    return !err ? MT_DONE : err == MT_ECANCELED ? MT_CANCELLED : MT_FAILED;
}

static void check_msg(struct tf *f, int err, const char *want, const char *what)
{
    const char *got = mt_errmsg(&f->task);
    if (want == msg_any)
        return;
    if (!err)
        want = "";
    else if (!want)
        want = mt_strerror(err);
    CHECK(f, strcmp(got, want) == 0, "%s: message \"%s\", expected \"%s\"", what, got, want);
}

/* ---- Task groups: the model's side -----------------------------------------
 * README "Task groups": the first child to fail (not MT_ECANCELED) cancels
 * its siblings at once, and its error rises at the join; later errors are
 * reported and counted. A child leaves its group after its finally pass:
 * the first to complete is remembered, MT_JOIN_FIRST's n completed cancel
 * the rest; the last to leave resumes a joining owner at once (like an
 * awaited child's parent), or lets an owner that ended with children live
 * finish. */

static void sticky(struct tf *f);
static void saw_code(struct tf *f, int code);

/* Child k failed (before its finally section). */
static void group_failed(struct tf *k)
{
    struct tf *o = k->gown;
    struct gmod *g = &o->gm;
    if (!g->err) {
        trace(k, "the first failure in its group: %d", k->end_err);
        g->err = k->end_err;
        g->msg = k->end_msg;
        g->failed = k;
        model_gcancel(o);
        return;
    }
    trace(k, "a later failure in its group: reported");
    g->lost++;
    M.exp_reports++;
}

/* The task finishes now: its groups (no child live) close, innermost
 * first, and an error of theirs that no join raised becomes the task's if
 * it ended without one (else it is counted lost); then sticky
 * cancellation. Its finally pass comes next. */
static void model_finish(struct tf *f)
{
    struct tf *gs[3];
    int i, n = owned(f, gs);
    for (i = 0; i < n; i++) {
        struct gmod *g = &gs[i]->gm;
        if (g->err && !f->end_err) {
            f->end_err = g->err;
            f->end_msg = g->msg;
        } else if (g->err) {
            g->lost++; /* its own error stands */
        }
        g->open = g->cancelling = 0;
        g->owner = NULL;
    }
    f->closing = 0;
    sticky(f);
    trace(f, "finishes with %d", f->end_err);
    M.expect_final = f;
}

/* Children live in a group f owns. */
static int busy(struct tf *f)
{
    struct tf *gs[3];
    int i, n = owned(f, gs);
    for (i = 0; i < n; i++)
        if (gs[i]->gm.nk)
            return 1;
    return 0;
}

/* The task's body ended with err (0: normally). With children live in its
 * groups it cancels them all (the idle ones too: no more children) and
 * waits for them (MT_WAITING); else it finishes. */
static void model_end(struct tf *f, int err, const char *msg)
{
    struct tf *gs[3];
    int i, n;
    f->end_set = 1;
    f->end_err = err;
    f->end_msg = msg;
    f->w_pending = f->w_has_v = 0;
    CHECK(f, !f->w_armed, "model: ended with a timer armed");
    if (busy(f)) {
        trace(f, "ends with %d, children live: closing", err);
        f->closing = 1;
        for (i = 0, n = owned(f, gs); i < n; i++)
            model_gcancel(gs[i]);
        return;
    }
    model_finish(f);
}

/* The joining owner's verdict: a cancel stands; else the group's error,
 * or success. A timeout (README "Task groups", Timeouts: as MT_AWAIT's)
 * stands unless a child failed meanwhile, or none of the children saw the
 * cancellation it brought (they completed by the deadline): not if the
 * owner was cancelled after it. */
static void join_verdict(struct tf *o)
{
    const struct gmod *g = &o->gm;
    int late = !o->cancel && (g->err || !g->saw);
    if (!o->w_has_v || (o->w_v == MT_ETIMEDOUT && late))
        verdict(o, g->err, g->err ? g->msg : "");
}

/* Child k's finally pass ran: it leaves its group (in frame gf, owned by
 * o: only the frame's own task joins it). */
static void group_left(struct tf *k)
{
    struct tf *gf = k->gown, *o = gf->gm.owner;
    struct gmod *g = &gf->gm;
    int i = 0;
    while (i < g->nk && g->kids[i] != k)
        i++;
    CHECK(k, i < g->nk && o && !o->incall, "model: a child left a group it is not in");
    for (g->nk--; i < g->nk; i++)
        g->kids[i] = g->kids[i + 1];
    g->saw |= k->saw;
    if (!k->end_err) {
        if (!g->first)
            g->first = k;
        g->done++;
        if (g->want && g->done >= g->want && !g->cancelling)
            model_gcancel(gf);
    }
    if (g->nk)
        return;
    if (o == gf && o->w_pending && o->w_kind == K_JOIN && o->w_parked) {
        trace(o, "its join is over");
        disarm(o);
        join_verdict(o);
        g->open = g->cancelling = 0;
        g->owner = NULL;
        M.expect_inline = o;
    } else if (o->closing && !busy(o)) {
        model_finish(o);
    }
}

/* A finally pass: the task has ended as the model said it would. */
static void on_final(struct tf *f)
{
    int st = mt_state(&f->task), err = mt_err(&f->task);
    trace(f, "final state %d err %d", st, err);
    if (M.expect_final == f) {
        M.expect_final = NULL;
    } else {
        CHECK(f, f->fresh && f->cancel && !M.expect_inline,
              "a finally pass the model did not expect");
        rq_pop(f); /* cancelled before its first run: it never runs its body */
        f->saw = f->end_set = 1;
        f->end_err = MT_ECANCELED;
        f->end_msg = NULL;
    }
    CHECK(f, f->end_set, "model: no ending known");
    CHECK(f, st == end_state(f->end_err) && err == f->end_err,
          "ended in state %d with %d, expected state %d with %d", st, err,
          end_state(f->end_err), f->end_err);
    check_msg(f, err, f->end_msg, "ended");
    CHECK(f, !f->w_armed, "model: an ended task with a timer");
    CHECK(f, !f->closing && !busy(f), "model: ended owning groups");
    if (top(f) && st == MT_FAILED)
        M.exp_reports++;
    f->ended = 1;
    f->fin_state = st;
    f->w_pending = 0;
    f->fresh = 0;
    M.live[sch_of(f)]--;
    CHECK(f, mt_sched_live(S(sch_of(f))) == (unsigned long)M.live[sch_of(f)],
          "live %lu, model %ld", mt_sched_live(S(sch_of(f))), M.live[sch_of(f)]);
    if (f->gown && f->end_err && f->end_err != MT_ECANCELED)
        group_failed(f);
    if (f->parent) { /* the child's ending is the parent's verdict */
        struct tf *p = f->parent;
        CHECK(p, p->w_pending && p->w_kind == K_AWAIT, "model: a child ended unawaited");
        disarm(p);
        /* A cancel stands; a timeout only if the child saw the cancellation
         * it brought: a child that completed by the deadline reports. */
        if (!p->w_has_v ||
            (p->w_v == MT_ETIMEDOUT && !p->cancel && !f->saw &&
             f->end_err != MT_ECANCELED))
            verdict(p, f->end_err, f->end_msg);
    }
}

static void chput_retry(struct tf *f);

static void on_body_call(struct tf *f)
{
    CHECK(f, !M.expect_final, "expected the finally pass of slot %d depth %d",
          M.expect_final ? M.expect_final->slot : -1, M.expect_final ? M.expect_final->depth : -1);
    if (M.expect_inline) {
        CHECK(f, M.expect_inline == f, "expected slot %d depth %d to run inline",
              M.expect_inline->slot, M.expect_inline->depth);
        M.expect_inline = NULL;
    } else {
        rq_pop(f);
    }
    f->incall++;
    if (f->fresh) {
        CHECK(f, !f->cancel, "a task cancelled before its first run ran its body");
        f->fresh = 0;
        return;
    }
    CHECK(f, f->w_pending && !f->w_imm, "resumed with no wait to resume");
    if (f->doomed)
        fail(f, "resumed after the wait that must have ended it");
#if FUZZ_IO
    if (IO_KIND(f->w_kind) && io_resume(f))
        return;
#endif
    if (f->w_kind == K_CHPUT && f->w_woke) {
        chput_retry(f);
        return;
    }
    if (f->w_ylike && !f->w_has_v)
        verdict(f, 0, "");
    if (f->w_kind == K_COND && !f->w_has_v && M.flag[f->w_obj]) {
        disarm(f); /* the condition holds: the poll ends */
        verdict(f, 0, "");
    }
    if (f->w_kind != K_COND)
        CHECK(f, f->w_has_v, "woken with no cause (no hand-off, timeout or cancel)");
}

/* A producer woken to try for room resumed (mt__chan_put_again): cancelled
 * meanwhile, its wait ends MT_ECANCELED, as if it were parked; else
 * it stores if there is room, fails MT_ETIMEDOUT if its first deadline has
 * come, or parks again with what is left of it. */
static void chput_retry(struct tf *f)
{
    int r = f->w_obj;
    long left = f->w_tmo;
    f->w_woke = 0;
    if (f->cancel && !f->w_shield) {
        trace(f, "woken for room, cancelled meanwhile: MT_ECANCELED");
        verdict(f, MT_ECANCELED, NULL);
        return;
    }
    if (f->w_tmo > 0)
        left = f->w_deadline > M.vnow ? (long)(f->w_deadline - M.vnow) : 0;
    if (M.rg_n[r] < M.rg_cap[r]) {
        trace(f, "room now");
        verdict(f, 0, "");
    } else if (left == 0) {
        verdict(f, MT_ETIMEDOUT, NULL);
    } else {
        trace(f, "still full: waits again, %ld left", left);
        f->w_has_v = 0;
        f->w_repark = 1;
        f->w_rleft = left;
    }
}

/* MT_CHOOSE: 1-3 clauses (a&3), each 4 bits of sub: get from or put to a
 * queue, an event, a semaphore. Described afresh before each wait. */
static void ch_describe(struct tf *f, const struct step *o)
{
    int i;
    f->ch_n = 1 + (o->a & 3) % 3;
    f->w_fired = f->w_match = -1;
    for (i = 0; i < f->ch_n; i++) {
        unsigned bits = (o->sub >> (4 * i)) & 15;
        int kind = (int)(bits & 3), obj = (int)(bits >> 2);
        f->ch_kind[i] = kind;
        f->ch_obj[i] = kind == CK_EV || kind == CK_SEM ? obj & 1 : obj;
        memset(f->chbuf[i], 0xEE, sizeof f->chbuf[i]);
#if FUZZ_IO
        if (kind == CK_EV && (o->a & 4)) { /* A of pair obj&1, reading or writing */
            f->ch_kind[i] = CK_FD;
            f->ch_obj[i] = obj & 1;
            f->ch_ev[i] = (obj & 2) ? MT_WRITABLE | MT_EXCEPT : MT_READABLE;
            mt_clause_fd(&f->cl[i], fd_a(obj & 1), f->ch_ev[i]);
            continue;
        }
#endif
        if (kind == CK_GET) {
            mt_clause_get(&f->cl[i], &M.q[obj], f->chbuf[i]);
        } else if (kind == CK_PUT) {
            f->ch_id[i] = M.next_id++;
            mk_item(f->chput[i], M.mq[obj].size, f->ch_id[i]);
            mt_clause_put(&f->cl[i], &M.q[obj], f->chput[i]);
        } else if (kind == CK_EV) {
            mt_clause_event(&f->cl[i], &M.ev[obj & 1]);
        } else {
            mt_clause_sem(&f->cl[i], &M.sem[obj & 1]);
        }
    }
}

static int ch_ready(const struct tf *f, int i)
{
    int obj = f->ch_obj[i];
    switch (f->ch_kind[i]) {
    case CK_GET:
        return M.mq[obj].n > M.mq[obj].held;
    case CK_PUT:
        return mq_room(obj);
    case CK_EV:
        return M.ev_set[obj];
#if FUZZ_IO
    case CK_FD: /* closed: it completes at once, failing MT_EBADF */
        return M.io[obj].a_closed || io_ready(obj, f->ch_ev[i]);
#endif
    default:
        return M.sem_count[obj] > 0;
    }
}

/* README "Waiting for the first of several": ready clauses are tried from
 * the one after the last chosen; the first ready completes at once, else
 * it waits (timeout 0: MT_ETIMEDOUT), and `which` says -1 until a clause
 * fires. */
static void ch_start(struct tf *f)
{
    int first = f->which >= 0 && f->which < f->ch_n - 1 ? f->which + 1 : 0, i;
    f->w_which = -1;
    for (i = 0; i < f->ch_n; i++) {
        int k = (first + i) % f->ch_n;
        if (ch_ready(f, k)) {
            imm(f, 0, "");
#if FUZZ_IO
            if (f->ch_kind[k] == CK_FD && M.io[f->ch_obj[k]].a_closed)
                imm(f, MT_EBADF, NULL);
            else if (f->ch_kind[k] == CK_FD)
                f->w_got = io_ready(f->ch_obj[k], f->ch_ev[k]);
#endif
            f->w_fired = f->w_which = k;
            return;
        }
    }
    if (!f->w_tmo)
        imm(f, MT_ETIMEDOUT, NULL);
}

/* The chooser completed clause w_fired: at once, or woken by its object
 * (then the item or slot was promised to it). */
static void ch_done(struct tf *f, int imm_)
{
    int k = f->w_fired, obj;
    CHECK(f, k >= 0 && k < f->ch_n, "model: MT_CHOOSE completed no clause");
    obj = f->ch_obj[k];
    switch (f->ch_kind[k]) {
    case CK_GET:
        mq_take(f, obj, !imm_, item_id(f, f->chbuf[k], M.mq[obj].size));
        break;
    case CK_PUT:
        if (!imm_) {
            CHECK(f, M.mq[obj].freed > 0, "model: a woken put clause without a slot");
            M.mq[obj].freed--;
        }
        mq_store(obj, f->ch_id[k]);
        break;
    case CK_EV:
        break;
#if FUZZ_IO
    case CK_FD:
        CHECK(f, mt_clause_ready(&f->cl[k]) == f->w_got, "clause ready %d, the model says %d",
              mt_clause_ready(&f->cl[k]), f->w_got);
        break;
#endif
    default:
        if (imm_)
            M.sem_count[obj]--;
        M.sem_waits[obj]++;
        break;
    }
}

/* MT_JOIN, MT_JOIN_FIRST (n w_nf): README "Task groups". A group never
 * opened, or joined, joins at once; n children completed already cancel
 * the others; with none live it closes now, raising its error. */
static void join_start(struct tf *f, int bad)
{
    struct gmod *g = &f->gm;
    if (bad || f->w_nf < 0 || (g->open && g->owner != f)) { /* only its owner */
        imm(f, MT_EINVAL, msg_any);
        return;
    }
    if (!g->open) {
        imm(f, 0, "");
        return;
    }
    g->want = f->w_nf;
    if (f->w_nf && g->done >= f->w_nf && !g->cancelling)
        model_gcancel(f);
    if (!g->nk) {
        g->open = g->cancelling = 0;
        g->owner = NULL;
        imm(f, g->err, g->err ? g->msg : "");
    }
}

/* The task's group as mt_group_* (and its fields) tell it. */
static void check_group(struct tf *f)
{
    const struct gmod *g = &f->gm;
    const mt_group *gr = &f->grp;
    CHECK(f, mt_group_live(gr) == (g->open ? g->nk : 0), "mt_group_live %d, model %d (open %d)",
          mt_group_live(gr), g->nk, g->open);
    CHECK(f, gr->owner == (g->open ? &g->owner->task : NULL),
          "the group's owner is not the model's");
    CHECK(f, !g->open || !gr->cancelling == !g->cancelling, "the group cancelling %d, model %d",
          gr->cancelling, g->cancelling);
    CHECK(f, mt_group_first(gr) == (g->first ? &g->first->task : NULL),
          "mt_group_first is not the model's (slot %d depth %d)", g->first ? g->first->slot : -1,
          g->first ? g->first->depth : -1);
    CHECK(f, mt_group_failed(gr) == (g->failed ? &g->failed->task : NULL),
          "mt_group_failed is not the model's");
    CHECK(f, mt_group_lost(gr) == g->lost, "mt_group_lost %d, model %d", mt_group_lost(gr),
          g->lost);
}

/* The object of a K_SIGWAIT step: signal a&3 (3: NULL), or with a&8
 * MT_RING_GET on ring a&1 (a&3 == 3: NULL), with a&4 too MT_CHAN_GET on
 * channel a&1 (ring NRG0 + a&1; a&3 == 3: NULL). */
static int sigwait_obj(unsigned a)
{
    if (a & 8)
        return (a & 3) == 3 ? NG : NSG + (FUZZ_CHAN && (a & 4) ? NRG0 : 0) + (int)(a & 1);
    return sg_arg(a);
}

/* The channel of an MT_CHAN_PUT step (a K_QPUT with a&8): ring NRG0 + a&1;
 * a&3 == 3: NULL (with a&4, channel 1 and a NULL item). */
static int chput_obj(unsigned a, int *noitem)
{
    *noitem = (a & 3) == 3 && (a & 4);
    return (a & 3) == 3 && !(a & 4) ? NRG : NRG0 + (int)(a & 1);
}

/* The wait a step runs: MT_SHIELD's (w_shield; it wants a finite
 * timeout: *bad), a join for MT_JOIN_FIRST (n: w_nf), or a yield where the
 * harness keeps to the contract. */
static int wait_kind(struct tf *f, const struct step *o, long tmo, int *bad)
{
    int k = o->kind;
    f->w_shield = k == K_SHIELD;
    if (k == K_SHIELD) {
        k = shield_tab[o->a & 3];
        *bad |= tmo < 0;
    }
    f->w_nf = k == K_JOINF ? jf_tab[o->a & 3] : 0;
    if (k == K_JOINF)
        k = K_JOIN;
#if FUZZ_CHAN
    if (k == K_QPUT && (o->a & 8))
        k = K_CHPUT; /* any task, of either scheduler, into any channel */
#endif
    if ((k == K_QPUT && M.next_id >= MAXIDS) || (k == K_CHOOSE && M.next_id + 3 > MAXIDS))
        k = K_YIELD;
    /* A signal is waited on once registered, by its scheduler's tasks (a
     * wait before mt_signal_init is a use before init; so is one on a
     * signal of another scheduler, which a destroy of that one could leave
     * to a new init, which empties the wait list). NULL (3) is refused. */
    if (k == K_SIGWAIT && sigwait_obj(o->a) < NG && M.sg_reg[sigwait_obj(o->a)] != sch_of(f))
        k = K_YIELD;
    /* A ring has one consumer: no second MT_RING_GET while a task waits on
     * it or is woken for it. */
    if (k == K_SIGWAIT && (o->a & 8) && sigwait_obj(o->a) < NG &&
        rg_consumer(f, sigwait_obj(o->a)))
        k = K_YIELD;
    if (IO_KIND(k) && !FUZZ_IO)
        k = K_YIELD;
    return k;
}

/* A wait is about to start: predict it. */
static void wait_start(struct tf *f)
{
    const struct step *o = &M.progs[f->prog].op[f->pc];
    long tmo = tmo_tab[o->a >> 4];
    int bad = tmo < MT_FOREVER || tmo > MT_TIMEOUT_MAX;
    int k = wait_kind(f, o, tmo, &bad);

    cyc();
    CHECK(f, mt_sched_now(S(sch_of(f))) == vclock(),
          "the cycle's clock reading %lu is not the clock %lu",
          (unsigned long)mt_sched_now(S(sch_of(f))), (unsigned long)vclock());
    f->w_kind = k;
    f->w_catch = o->catch_it || f->w_shield;
    f->w_obj = k == K_EVWAIT || k == K_SEMWAIT ? o->a & 1
               : k == K_QGET || k == K_QPUT || k == K_COND ? o->a & 3
               : k == K_SIGWAIT ? sigwait_obj(o->a) : 0;
    f->w_ring = k == K_SIGWAIT && (o->a & 8);
    f->w_chan = (f->w_ring && FUZZ_CHAN && (o->a & 4)) || k == K_CHPUT;
    f->w_noitem = 0;
    if (k == K_CHPUT)
        f->w_obj = chput_obj(o->a, &f->w_noitem);
    if (f->w_shield && k == K_EVWAIT)
        f->w_obj = (o->a >> 2) & 1;
    f->w_ylike = k == K_YIELD;
    f->w_pending = 1;
    f->w_parked = f->w_imm = f->w_has_v = f->w_armed = 0;
    f->w_v = 0;
    f->w_msg = NULL;
    f->w_tmo = tmo;
    f->w_start = M.vnow;
    f->w_stamp = ++M.stamp;
    f->w_call = f->calls;
    f->w_cycle = M.cid;
    f->w_seq++;
    f->w_resumes = 0;
    f->w_woke = f->w_redo = f->w_repark = 0;
    /* Descriptor waits: pair a&1 (-1 with a&8 for MT_READ, MT_SEND),
     * events a>>1&7 (MT_WAIT_FD), length 1-4. */
    f->w_p = IO_KIND(k) && k != K_FDWAIT && (o->a & 8) ? -1 : (int)(o->a & 1);
    f->w_ev = k == K_READ ? MT_READABLE : k == K_SEND ? MT_WRITABLE : (o->a >> 1) & 7;
    f->w_len = 1 + ((o->a >> 1) & 3);
    f->w_n = -2;
    f->n = -3;
    if (k == K_SEND) {
        int i;
        for (i = 0; i < f->w_len; i++)
            f->iobuf[i] = spat(f, i);
    } else {
        memset(f->iobuf, 0xEE, sizeof f->iobuf);
    }
    if (k == K_CHOOSE)
        ch_describe(f, o);
    trace(f, "wait %d tmo %ld catch %d%s%s", k, tmo, f->w_catch, f->w_shield ? " shielded" : "",
          f->cancel && !f->w_shield ? " doomed" : "");
    if (f->cancel && !f->w_shield) { /* cancelled: this wait ends the task, whatever it is */
        f->doomed = 1;
        return;
    }
    /* A cancelled task's shielded wait: it will end cancelled (a timeout
     * out of range is refused first; MT_SLEEP's never is). */
    if (f->cancel && (k == K_SLEEP || !bad))
        f->saw = 1;
#define IMM(v, msg) (f->w_imm = 1, f->w_imm_v = (v), f->w_imm_msg = (msg))
    switch (k) {
    case K_YIELD:
        break;
    case K_SLEEP:
        if (f->w_shield) { /* MT_SLEEP(t, tmo): negative is MT_EINVAL, 0 a yield */
            f->w_until = 0;
            f->w_ylike = !tmo;
            if (tmo < 0)
                IMM(MT_EINVAL, msg_any);
            break;
        }
        f->w_tmo = tmo = sleep_tab[o->a & 7];
        /* MT_SLEEP_UNTIL(mt_deadline(t, ms)): a deadline now or past
         * gives way, it is never MT_EINVAL. */
        if ((f->w_until = (o->a >> 3) & 1) != 0 && tmo < 0)
            f->w_tmo = tmo = 0;
        if (tmo < 0)
            IMM(MT_EINVAL, msg_any);
        else if (tmo == 0)
            f->w_ylike = 1;
        break;
    case K_QGET:
    case K_QPUT: {
        struct mq *m = &M.mq[f->w_obj];
        int ready = k == K_QGET ? m->n > m->held : mq_room(f->w_obj);
        if (k == K_QPUT) {
            f->w_id = M.next_id++;
            mk_item(f->qitem, m->size, f->w_id);
        } else {
            memset(f->qitem, 0xEE, sizeof f->qitem);
        }
        if (bad)
            IMM(MT_EINVAL, msg_any);
        else if (ready)
            IMM(0, "");
        else if (!tmo)
            IMM(MT_ETIMEDOUT, NULL);
        break;
    }
    case K_EVWAIT:
        if (bad)
            IMM(MT_EINVAL, msg_any);
        else if (M.ev_set[f->w_obj])
            IMM(0, "");
        else if (!tmo)
            IMM(MT_ETIMEDOUT, NULL);
        break;
    case K_SEMWAIT:
        if (bad)
            IMM(MT_EINVAL, msg_any);
        else if (M.sem_count[f->w_obj])
            IMM(0, "");
        else if (!tmo)
            IMM(MT_ETIMEDOUT, NULL);
        break;
    case K_SIGWAIT:
        if (f->w_ring) { /* MT_RING_GET: an item at once, or it parks */
            memset(f->qitem, 0xEE, sizeof f->qitem);
            if (bad || f->w_obj >= NG)
                IMM(MT_EINVAL, msg_any);
            else if (M.rg_n[f->w_obj - NSG])
                IMM(0, "");
            else if (!tmo)
                IMM(MT_ETIMEDOUT, NULL);
            break;
        }
        if (bad || f->w_obj >= NSG)
            IMM(MT_EINVAL, msg_any);
        else if (M.sg_kept[f->w_obj])
            IMM(0, ""); /* a post before anyone waited */
        else if (!tmo)
            IMM(MT_ETIMEDOUT, NULL);
        break;
    case K_CHPUT: { /* MT_CHAN_PUT: stores at once, or waits for room */
        int r = f->w_obj;
        f->w_rid = r < NRG ? M.rg_seq[r]++ : 0;
        memset(f->qitem, 0xEE, sizeof f->qitem);
        rg_item(f->qitem, RSIZE, f->w_rid); /* the ring copies its size's bytes */
        if (bad || r >= NRG || f->w_noitem || !M.rg_cap[r])
            IMM(MT_EINVAL, msg_any);
        else if (M.rg_n[r] < M.rg_cap[r])
            IMM(0, "");
        else if (!tmo)
            IMM(MT_ETIMEDOUT, NULL);
        break;
    }
    case K_COND: /* a bad timeout is refused even when the condition holds */
        if (bad)
            IMM(MT_EINVAL, msg_any);
        else if (M.flag[f->w_obj])
            IMM(0, "");
        else if (!tmo)
            IMM(MT_ETIMEDOUT, NULL);
        break;
    case K_AWAIT:
        if (bad) {
            IMM(MT_EINVAL, msg_any);
            break;
        }
        CHECK(f->child, mt_state(&f->child->task) < MT_RUNNABLE, "the child frame is live");
        frame_start(f->child, o->sub, 0);
        M.expect_inline = f->child; /* children run at once, inside MT_AWAIT */
        break;
    case K_JOIN:
        join_start(f, bad);
        break;
    case K_CHOOSE:
        if (bad) {
            IMM(MT_EINVAL, msg_any); /* before `which` is read or written */
            f->w_which = f->which;
        } else {
            ch_start(f);
        }
        break;
#if FUZZ_IO
    case K_FDWAIT:
    case K_READ:
    case K_SEND:
        if (bad)
            IMM(MT_EINVAL, msg_any);
        else
            io_begin(f);
        break;
#endif
    default:
        fail(f, "model: not a wait");
    }
#undef IMM
}

/* The line after a wait ran: it completed, once, with what the model said. */
static void wait_done(struct tf *f)
{
    int err = mt_err(&f->task), v;
    const char *msg;
    int imm = f->calls == f->w_call;

    cyc();
    trace(f, "done err %d", err);
    CHECK(f, f->w_pending, "model: completion of no wait");
    CHECK(f, !f->doomed, "the code after a wait ran in a cancelled task");
    CHECK(f, ++f->w_resumes == 1, "wait %u resumed %u times", f->w_seq, f->w_resumes);
    if (f->w_kind == K_AWAIT && imm) { /* the child ended inside MT_AWAIT */
        if (f->w_imm) {
            v = f->w_imm_v;
            msg = f->w_imm_msg;
        } else if (f->cancel && !f->w_shield) { /* by the child's chain, meanwhile: that wins */
            CHECK(f, f->child->ended, "MT_AWAIT went on with its child live");
            v = MT_ECANCELED;
            msg = NULL;
        } else {
            CHECK(f, f->child->ended && f->w_has_v, "MT_AWAIT went on with its child live");
            v = f->w_v;
            msg = f->w_msg;
        }
    } else if (imm) {
        CHECK(f, f->w_imm, "completed at once, the model says it must wait");
        v = f->w_imm_v;
        msg = f->w_imm_msg;
    } else {
        CHECK(f, !f->w_imm, "waited, the model says it completes at once");
        CHECK(f, f->w_has_v, "resumed with no verdict");
        v = f->w_v;
        msg = f->w_msg;
    }
    CHECK(f, err == v, "wait ended with %d (%s), expected %d", err, mt_errname(err), v);
    /* MT_CHOOSE: the clause that completed, -1 if none (a bad timeout
     * leaves `which` as it was) */
    if (f->w_kind == K_CHOOSE)
        CHECK(f, f->which == f->w_which, "MT_CHOOSE: which %d, the model says %d", f->which,
              f->w_which);
    CHECK(f, !v || f->w_catch, "an uncaught error went on");
    check_msg(f, err, msg, "caught");
    /* An await's MT_ETIMEDOUT may be its child's own, a join's a child's. */
    if (!imm && f->w_tmo >= 0 && !f->w_ylike &&
        ((v == MT_ETIMEDOUT && (f->w_kind != K_AWAIT || f->child->fin_state != MT_FAILED ||
                                mt_err(&f->child->task) != MT_ETIMEDOUT) &&
          (f->w_kind != K_JOIN || f->gm.err != MT_ETIMEDOUT)) ||
         (f->w_kind == K_SLEEP && !v)))
        CHECK(f, M.vnow >= f->w_start + (uint64_t)f->w_tmo,
              "timed out or woke %llu ticks early",
              (unsigned long long)(f->w_start + (uint64_t)f->w_tmo - M.vnow));
    if (!v) {
        int qi = f->w_obj;
        switch (f->w_kind) {
        case K_QGET:
            mq_take(f, qi, !imm, item_id(f, f->qitem, M.mq[qi].size));
            break;
        case K_QPUT:
            if (!imm) {
                CHECK(f, M.mq[qi].freed > 0, "model: a woken putter without a slot");
                M.mq[qi].freed--;
            }
            mq_store(qi, f->w_id);
            break;
        case K_SEMWAIT:
            if (imm)
                M.sem_count[qi]--;
            M.sem_waits[qi]++;
            break;
        case K_SIGWAIT:
            if (f->w_ring) { /* the oldest item; woken, it took the unit */
                rg_take(f, qi - NSG, f->qitem);
                if (!imm)
                    M.sg_waits[qi]++;
                break;
            }
            if (imm)
                M.sg_kept[qi]--;
            M.sg_waits[qi]++;
            break;
        case K_COND:
            CHECK(f, M.flag[qi], "a condition wait ended with the condition false");
            break;
        case K_CHPUT: /* stored (the library did as it tried) */
            trace(f, "ring %d: put item %u", qi, (unsigned)f->w_rid);
            rg_store(qi, f->w_rid);
            break;
        case K_AWAIT:
            CHECK(f, f->child->ended && f->child->fin_state == MT_DONE,
                  "MT_AWAIT succeeded but the child did not end done");
            break;
        case K_CHOOSE:
            ch_done(f, imm);
            break;
#if FUZZ_IO
        case K_FDWAIT:
            CHECK(f, mt_fd_ready(&f->task) == f->w_got, "ready events %d, the model says %d",
                  mt_fd_ready(&f->task), f->w_got);
            break;
        case K_READ:
            io_got(f);
            break;
        case K_SEND:
            CHECK(f, f->n == f->w_n, "sent %ld bytes, the model says %ld", (long)f->n, f->w_n);
            io_sent(f);
            break;
#endif
        default:
            break;
        }
    }
    if (f->w_kind == K_JOIN) /* a join that ran (not refused) closed the group */
        CHECK(f, (v == MT_EINVAL && f->w_imm) || !f->gm.open, "model: joined, the group open");
    check_group(f);
    f->w_pending = f->w_shield = 0;
    f->w_has_v = 0;
    saw_code(f, v);
    CHECK(f, !f->w_armed, "model: a completed wait kept its timer");
}

/* Sticky cancellation: a cancelled task that saw its cancellation ends
 * cancelled, however it ends (normally, or by raising something else).
 * Seeing it is meeting MT_ECANCELED while cancelled (README
 * "Cancellation": a wait of its ended by it; a cancelled child's
 * MT_ECANCELED is not the task's own). */
static void saw_code(struct tf *f, int code)
{
    if (code == MT_ECANCELED && f->cancel)
        f->saw = 1;
}

static void sticky(struct tf *f)
{
    if (f->cancel && f->saw) {
        f->end_err = MT_ECANCELED;
        f->end_msg = NULL;
    }
}

/* The task function returned MT__WAITING: it parked (an await's or a
 * join's timeout 0 arms a timer too). */
static void on_parked(struct tf *f)
{
    if (f->w_kind == K_CHPUT && f->w_repark) { /* at the end of the list again */
        f->w_repark = 0;
        if (f->w_tmo > 0)
            arm(f, f->w_rleft); /* its first deadline */
        f->w_room = ++M.room_stamp;
        return;
    }
#if FUZZ_IO
    if (IO_KIND(f->w_kind) && f->w_repark) { /* woken, found nothing: waits again */
        f->w_repark = 0;
        io_register(f);
        return;
    }
#endif
    CHECK(f, !f->w_parked && !f->w_imm && !f->w_ylike && f->w_kind != K_YIELD &&
          f->w_kind != K_COND, "parked in a wait the model says does not park");
    if (f->w_kind == K_AWAIT)
        CHECK(f, live(f->child), "parked on a child that has ended");
    if (f->w_kind == K_JOIN)
        CHECK(f, f->gm.open && f->gm.owner == f && f->gm.nk,
              "parked in a join with no child live");
    f->w_parked = 1;
    if (f->w_tmo > 0 || ((f->w_kind == K_AWAIT || f->w_kind == K_JOIN) && f->w_tmo == 0))
        arm(f, f->w_tmo);
    if (f->w_kind == K_CHPUT)
        f->w_room = ++M.room_stamp;
#if FUZZ_IO
    if (IO_KIND(f->w_kind))
        io_register(f);
    if (f->w_kind == K_CHOOSE && ch_fds(f) && BK_EPOLL && !io_waiters(sch_of(f), f))
        M.chk_at[sch_of(f)] = M.vnow + 1000; /* its first node was the first waiter */
    if (f->w_kind == K_CHOOSE)
        ep_reg_waiter(f, sch_of(f));
#endif
    /* Cancelled while running (by its child's chain, during the child's
     * first run): mt_cancel only flagged it; MT_AWAIT now cancels as it
     * parks (not in MT_SHIELD). */
    if (f->w_kind == K_AWAIT && f->cancel && !f->w_shield) {
        verdict(f, MT_ECANCELED, NULL);
        model_cancel(f->child);
    }
}

/* The task function returned r: what the scheduler does next. An ending
 * goes through model_end (its group's children first). */
static void on_return(struct tf *f, int r)
{
    trace(f, "return %d", r);
    f->incall--;
    if (r == MT__FINISH) {
        CHECK(f, !f->w_pending, "ended normally inside a wait");
        model_end(f, 0, "");
        return;
    }
    if (!f->w_pending) {
        CHECK(f, r == MT__FAILED && f->raising, "returned %d outside a wait (raising %d)", r,
              f->raising);
        model_end(f, f->end_err, f->end_msg); /* MT_RAISE, MT_SPAWN: set by the step */
        return;
    }
    if (f->doomed) {
        CHECK(f, r == MT__FAILED || (r == MT__YIELDED && f->w_kind == K_YIELD),
              "a cancelled task's wait returned %d", r);
        f->saw = 1;
        model_end(f, MT_ECANCELED, NULL);
        return;
    }
    switch (r) {
    case MT__FAILED: {
        int imm = f->calls == f->w_call && f->w_imm;
        int v = imm ? f->w_imm_v : f->w_v;
        const char *msg = imm ? f->w_imm_msg : f->w_msg;
        CHECK(f, imm || f->w_has_v || (f->w_kind == K_AWAIT && f->child->ended),
              "failed at a wait with no verdict");
        if (f->w_kind == K_AWAIT && !imm && f->calls == f->w_call && f->cancel &&
            !f->w_shield) {
            v = MT_ECANCELED; /* cancelled while its child ran inside MT_AWAIT */
            msg = NULL;
        }
        CHECK(f, v && !f->w_catch, "failed at a wait with %d, caught %d", v, f->w_catch);
        saw_code(f, v);
        model_end(f, v, msg);
        return;
    }
    case MT__YIELDED:
        CHECK(f, f->w_ylike && !f->w_parked, "gave way in a wait that is not a yield");
        f->w_parked = 1;
        rq_push(f);
        return;
    case MT__POLL:
        CHECK(f, f->w_kind == K_COND && !f->w_imm && !f->w_has_v && !M.flag[f->w_obj],
              "polled a condition that holds, or after its verdict");
        if (!f->w_parked) {
            f->w_parked = 1;
            if (f->w_tmo > 0)
                arm(f, f->w_tmo);
        }
        rq_push(f);
        return;
    case MT__WAITING:
        on_parked(f);
        return;
    default:
        fail(f, "the task function returned %d", r);
    }
}

/* The frame of the group a step names (a>>4&3): the task's own; the one it
 * runs in (a group child); its awaited child's frame's; its awaiting
 * parent's frame's (without one: its own). */
static struct tf *gtarget(struct tf *f, unsigned a)
{
    struct tf *t[4];
    t[0] = f;
    t[1] = f->gown;
    t[2] = f->child;
    t[3] = f->parent;
    return t[(a >> 4) & 3] ? t[(a >> 4) & 3] : f;
}

/* mt_group_init of a group (gtarget): cap cap_tab[a&7], with a&8 no slots. */
static void ginit(struct tf *f, unsigned a)
{
    struct tf *gf = gtarget(f, a);
    int cap = cap_tab[a & 7], r;
    int want = cap < 1 || cap > 0xFFFF || (a & 8) ? MT_EINVAL
               : gf->gm.open && gf->gm.nk       ? MT_EBUSY
                                                : 0;
    r = mt_group_init(&gf->grp, (a & 8) ? NULL : gf->gslots, cap);
    trace(f, "init s%d.%d's group, cap %d: %d", gf->slot, gf->depth, cap, r);
    CHECK(f, r == want, "mt_group_init returned %d, the model says %d", r, want);
    if (!r)
        gf->gm.cap = cap;
}

/* The child frame of a spawn: group row a&7's, or with a&8 clear the
 * first not live from there. */
static struct tf *spawn_child(unsigned a)
{
    int r = (int)(a & 7), i;
    for (i = 0; !(a & 8) && i < NGROW; i++)
        if (!live(&M.fr[NSLOT + (r + i) % NGROW][0])) {
            r = (r + i) % NGROW;
            break;
        }
    return &M.fr[NSLOT + r][0];
}

/* MT_SPAWN into a group (gtarget: the task's own, the one it runs in, a
 * sibling's start, or its awaited child's or awaiting parent's frame's),
 * README "Task groups": refused with MT_EINVAL (no slots yet, the child is
 * the task or the owner), MT_EBUSY (the child is live; with MT_ASSERT a
 * misuse stop: not made), MT_ECANCELED (the group cancels), MT_ENOMEM
 * (its slots are full); else the child starts in the next cycle, and a
 * group not open opens, the task its owner. */
static void spawn_start(struct tf *f)
{
    const struct step *o = &M.progs[f->prog].op[f->pc];
    struct tf *gf = gtarget(f, o->a), *c = spawn_child(o->a);
    struct gmod *g = &gf->gm;
    int err = !g->cap || c == f || (g->open && c == g->owner) ? MT_EINVAL
              : live(c)                                      ? MT_EBUSY
              : g->open && g->cancelling                     ? MT_ECANCELED
              : g->open && g->nk >= g->cap                   ? MT_ENOMEM
                                                             : 0;
    cyc();
    f->pc++;
    f->sp_g = &gf->grp;
    f->sp_c = c;
    f->sp_err = err;
    f->sp_catch = o->catch_it;
    f->sp_call = !(MT_ASSERT && err == MT_EBUSY);
    trace(f, "spawn s%d.%d into s%d.%d's group: %d", c->slot, c->depth, gf->slot, gf->depth,
          err);
    f->sp_msg = err == MT_EBUSY ? NULL : msg_any;
    if (!f->sp_call)
        return;
    if (err) {
        if (!f->sp_catch) { /* it raises */
            saw_code(f, err);
            f->end_set = f->raising = 1;
            f->end_err = err;
            f->end_msg = f->sp_msg;
        }
        return;
    }
    CHECK(c, mt_state(&c->task) < MT_RUNNABLE, "the model's free child frame is live");
    if (!g->open) { /* opened afresh, f its owner */
        int cap = g->cap;
        memset(g, 0, sizeof *g);
        g->cap = cap;
        g->open = 1;
        g->owner = f;
        g->seq = ++M.gseq;
    }
    frame_start(c, o->sub, sch_of(f));
    c->gown = gf;
    g->kids[g->nk++] = c;
    rq_push(c);
}

/* A spawn went on: caught, or made. */
static void spawn_done(struct tf *f)
{
    int err = mt_err(&f->task);
    CHECK(f, err == f->sp_err, "MT_SPAWN: %d, the model says %d", err, f->sp_err);
    check_msg(f, err, f->sp_msg, "MT_SPAWN");
    saw_code(f, err); /* refused by a cancelling group */
}

/* A step that does not wait. Returns 1 to raise (f->end_*), 2 to exit. */
static int plain_step(struct tf *f)
{
    const struct step *o = &M.progs[f->prog].op[f->pc];
    unsigned a = o->a;
    cyc();
    f->pc++;
    switch (o->kind) {
    case K_RAISE: {
        int code = raise_tab[a & 7];
        const char *msg = msg_tab[(a >> 3) & 3];
        f->end_set = f->raising = 1;
        f->end_err = code >= 0 || code < INT16_MIN ? MT_EINVAL : code;
        f->end_msg = code >= 0 || code < INT16_MIN ? msg_any : msg;
        f->raise_code = code;
        f->raise_msg = msg;
        saw_code(f, f->end_err);
        return 1;
    }
    case K_GINIT:
        ginit(f, a);
        break;
    case K_EXIT:
        return 2;
    case K_SEMSIG:
        do_sem_signal(f, (int)(a & 1));
        break;
    case K_EVSET:
        do_ev_set((int)(a & 1));
        break;
    case K_EVCLR:
        do_ev_clear((int)(a & 1));
        break;
    case K_FLAG:
        M.flag[a & 3] = (int)((a >> 2) & 1);
        break;
    case K_TRYPUT:
        do_tryput(f, (int)(a & 3));
        break;
    case K_TRYGET:
        do_tryget(f, (int)(a & 3));
        break;
    case K_LOOP:
        if (f->loops < (int)(a % 4) + 1) {
            f->loops++;
            f->pc = 0;
        }
        break;
    case K_CANCEL: /* any task: itself, its ancestors, another slot's */
        do_cancel(f, frame_pick(a));
        break;
    case K_SPAWN:
        do_add(f, sch_of(f), (int)(a % NSLOT), o->sub); /* to its own scheduler */
        break;
    case K_SIGPOST: /* a signal (0-2) or NULL (3) */
        do_post(f, sg_arg(a));
        break;
    default:
        fail(f, "model: not a step");
    }
    return 0;
}

#define OPK(f) (M.progs[(f)->prog].op[(f)->pc].kind)
#define QOF(f) (&M.q[(f)->w_obj])
#define EOF_(f) (&M.ev[(f)->w_obj])
#define SOF(f) (&M.sem[(f)->w_obj])
#define GOF(f) ((f)->w_obj < NSG ? &M.sig[(f)->w_obj] : NULL)
#define ROF(f) ((f)->w_obj < NG ? RG((f)->w_obj - NSG) : NULL)
#if FUZZ_CHAN
#define CGOF(f) ((f)->w_obj < NG ? CH((f)->w_obj - NSG) : NULL)
#define CPOF(f) CH((f)->w_obj)
#define CPITEM(f) ((f)->w_noitem ? NULL : (f)->qitem)
#endif
#define CHILD(f) (&(f)->child->task)
#define IOFD(f) ((f)->w_p < 0 ? -1 : fd_a((f)->w_p))

/* The interpreter. One wait per line; the model's hooks around each. */
static int prog_body(mt_task *t)
{
    struct tf *f = (struct tf *)t;
    MT_BEGIN(t);
    while (f->pc < M.progs[f->prog].n) {
        if (OPK(f) == K_GSPAWN) {
            spawn_start(f);
            if (!f->sp_call) {
                /* MT_ASSERT: a live child is a misuse stop */
            } else if (f->sp_catch) {
                MT_CATCH(t, MT_SPAWN(t, f->sp_g, &f->sp_c->task, prog_task));
                spawn_done(f);
            } else {
                MT_SPAWN(t, f->sp_g, &f->sp_c->task, prog_task);
                spawn_done(f);
            }
            continue;
        }
        if (!IS_WAIT(OPK(f))) {
            int r = plain_step(f);
            if (r == 1)
                MT_RAISE(t, f->raise_code, f->raise_msg);
            if (r == 2)
                MT_EXIT(t);
            continue;
        }
        wait_start(f);
        if (f->w_shield && f->w_kind != K_JOIN) {
            if (f->w_kind == K_SLEEP)
                MT_SHIELD(t, MT_SLEEP(t, f->w_tmo));
            else if (f->w_kind == K_EVWAIT)
                MT_SHIELD(t, MT_EVENT_WAIT(t, EOF_(f), f->w_tmo));
            else
                MT_SHIELD(t, MT_AWAIT(t, CHILD(f), prog_task, f->w_tmo));
        } else if (f->w_kind == K_JOIN) {
            if (f->w_shield)
                MT_SHIELD(t, MT_JOIN(t, &f->grp, f->w_tmo));
            else if (f->w_nf && f->w_catch)
                MT_CATCH(t, MT_JOIN_FIRST(t, &f->grp, f->w_nf, f->w_tmo));
            else if (f->w_nf)
                MT_JOIN_FIRST(t, &f->grp, f->w_nf, f->w_tmo);
            else if (f->w_catch)
                MT_CATCH(t, MT_JOIN(t, &f->grp, f->w_tmo));
            else
                MT_JOIN(t, &f->grp, f->w_tmo);
        } else if (f->w_kind == K_YIELD) {
            if (f->w_catch)
                MT_CATCH(t, MT_YIELD(t));
            else
                MT_YIELD(t);
        } else if (f->w_kind == K_SLEEP && f->w_until) {
            f->deadline = mt_deadline(t, f->w_tmo);
            if (f->w_catch)
                MT_CATCH(t, MT_SLEEP_UNTIL(t, f->deadline));
            else
                MT_SLEEP_UNTIL(t, f->deadline);
        } else if (f->w_kind == K_SLEEP) {
            if (f->w_catch)
                MT_CATCH(t, MT_SLEEP(t, f->w_tmo));
            else
                MT_SLEEP(t, f->w_tmo);
        } else if (f->w_kind == K_QGET) {
            if (f->w_catch)
                MT_CATCH(t, MT_QUEUE_GET(t, QOF(f), f->qitem, f->w_tmo));
            else
                MT_QUEUE_GET(t, QOF(f), f->qitem, f->w_tmo);
        } else if (f->w_kind == K_QPUT) {
            if (f->w_catch)
                MT_CATCH(t, MT_QUEUE_PUT(t, QOF(f), f->qitem, f->w_tmo));
            else
                MT_QUEUE_PUT(t, QOF(f), f->qitem, f->w_tmo);
        } else if (f->w_kind == K_EVWAIT) {
            if (f->w_catch)
                MT_CATCH(t, MT_EVENT_WAIT(t, EOF_(f), f->w_tmo));
            else
                MT_EVENT_WAIT(t, EOF_(f), f->w_tmo);
        } else if (f->w_kind == K_SEMWAIT) {
            if (f->w_catch)
                MT_CATCH(t, MT_SEM_WAIT(t, SOF(f), f->w_tmo));
            else
                MT_SEM_WAIT(t, SOF(f), f->w_tmo);
        } else if (f->w_kind == K_COND) {
            if (f->w_catch)
                MT_CATCH(t, MT_WAIT_UNTIL(t, M.flag[f->w_obj], f->w_tmo));
            else
                MT_WAIT_UNTIL(t, M.flag[f->w_obj], f->w_tmo);
#if FUZZ_CHAN
        } else if (f->w_kind == K_SIGWAIT && f->w_chan) {
            if (f->w_catch)
                MT_CATCH(t, MT_CHAN_GET(t, CGOF(f), f->qitem, f->w_tmo));
            else
                MT_CHAN_GET(t, CGOF(f), f->qitem, f->w_tmo);
        } else if (f->w_kind == K_CHPUT) {
            if (f->w_catch)
                MT_CATCH(t, MT_CHAN_PUT(t, CPOF(f), CPITEM(f), f->w_tmo));
            else
                MT_CHAN_PUT(t, CPOF(f), CPITEM(f), f->w_tmo);
#endif
        } else if (f->w_kind == K_SIGWAIT && f->w_ring) {
            if (f->w_catch)
                MT_CATCH(t, MT_RING_GET(t, ROF(f), f->qitem, f->w_tmo));
            else
                MT_RING_GET(t, ROF(f), f->qitem, f->w_tmo);
        } else if (f->w_kind == K_SIGWAIT) {
            if (f->w_catch)
                MT_CATCH(t, MT_SIGNAL_WAIT(t, GOF(f), f->w_tmo));
            else
                MT_SIGNAL_WAIT(t, GOF(f), f->w_tmo);
        } else if (f->w_kind == K_CHOOSE) {
            if (f->w_catch)
                MT_CATCH(t, MT_CHOOSE(t, f->cl, f->ch_n, &f->which, f->w_tmo));
            else
                MT_CHOOSE(t, f->cl, f->ch_n, &f->which, f->w_tmo);
#if FUZZ_IO
        } else if (f->w_kind == K_FDWAIT) {
            if (f->w_catch)
                MT_CATCH(t, MT_WAIT_FD(t, IOFD(f), f->w_ev, f->w_tmo));
            else
                MT_WAIT_FD(t, IOFD(f), f->w_ev, f->w_tmo);
        } else if (f->w_kind == K_READ) {
            if (f->w_catch)
                MT_CATCH(t, MT_READ(t, IOFD(f), f->iobuf, (size_t)f->w_len, &f->n, f->w_tmo));
            else
                MT_READ(t, IOFD(f), f->iobuf, (size_t)f->w_len, &f->n, f->w_tmo);
        } else if (f->w_kind == K_SEND) {
            if (f->w_catch)
                MT_CATCH(t, MT_SEND(t, IOFD(f), f->iobuf, (size_t)f->w_len, 0, &f->n, f->w_tmo));
            else
                MT_SEND(t, IOFD(f), f->iobuf, (size_t)f->w_len, 0, &f->n, f->w_tmo);
#endif
        } else {
            if (f->w_catch)
                MT_CATCH(t, MT_AWAIT(t, CHILD(f), prog_task, f->w_tmo));
            else
                MT_AWAIT(t, CHILD(f), prog_task, f->w_tmo);
        }
        wait_done(f);
        f->pc++;
    }
    MT_FINALLY(t);
    f->fin_runs++;
    MT_END(t);
}

/* A call that asks the task function its name and file (mt__ask, MT_DUMP),
 * not a run. */
static int is_query(const mt_task *t)
{
#if MT_LC_LABELS
    return t->lc == MT__LC_QUERY;
#else
    return t->lc == MT__LC_QUERY_LINE;
#endif
}

/* Every call goes through here: a body call (state RUNNING) or the finally
 * pass (the state already final); and the library's questions. */
static int prog_task(mt_task *t)
{
    struct tf *f = (struct tf *)t;
    int fin, r;
    if (is_query(t)) /* the library asks its name (a report): it answers */
        return prog_body(t);
    fin = mt_state(t) != MT_RUNNING;
    M.calling = M.in_cycle && !M.cycle_begun ? f : NULL; /* the cycle's first */
    cyc();
    f->calls++;
    if (!fin) /* mt__run: the operation it resumes in counts */
        M.burst[sch_of(f)] = 1;
    trace(f, "call%s", fin ? " (finally)" : "");
    if (fin)
        on_final(f);
    else
        on_body_call(f);
    r = prog_body(t);
    if (fin) {
        CHECK(f, r == MT__DONE && f->fin_runs == 1, "the finally pass returned %d, ran %lu times",
              r, f->fin_runs);
        /* A parent resumes as its child ends, unless the child ended inside
         * the parent's MT_AWAIT call, which just goes on; a group child
         * leaves its group. */
        if (f->parent && !f->parent->incall)
            M.expect_inline = f->parent;
        else if (f->gown)
            group_left(f);
    } else {
        on_return(f, r);
    }
    return r;
}

/* ---- Plain code: the whole scheduler against the model --------------------- */

static int expected_state(const struct tf *f)
{
    if (f->ended)
        return f->fin_state;
    if (!f->started)
        return MT_NEW;
    if (f->incall)
        return MT_RUNNING;
    if (f->closing)
        return MT_WAITING; /* ended, waiting for its group's children */
    if (f->fresh || (f->w_pending && f->w_ylike))
        return MT_RUNNABLE;
    if (f->w_kind == K_COND || f->w_kind == K_AWAIT || f->w_kind == K_JOIN)
        return MT_WAITING;
    return f->w_has_v ? MT_RUNNABLE : MT_WAITING;
}

/* Scheduler k between cycles: its counts, its timers, what
 * mt_sched_timeout says, its signal list (walked at most one step past
 * the model's length, so a loop is found, not followed). */
static void check_sched(int k)
{
    mt_sched *s = S(k);
    const mt_signal *p;
    unsigned long timers;
    long tmo, want;
    int i;
    CHECK(NULL, mt_sched_live(s) == (unsigned long)M.live[k], "scheduler %d: live %lu, model %ld",
          k, mt_sched_live(s), M.live[k]);
    CHECK(NULL, mt_sched_has_runnable(s) == !rq_empty(k), "scheduler %d: has_runnable %d, model %d",
          k, mt_sched_has_runnable(s), !rq_empty(k));
    CHECK(NULL, mt_sched_has_timeouts(s) == (M.narmed[k] > 0),
          "scheduler %d: has_timeouts %d, model %lu", k, mt_sched_has_timeouts(s), M.narmed[k]);
    timers = s->nheap;
#if MT_WHEEL_BITS
    timers += s->nwheel + s->ncoarse;
#endif
    CHECK(NULL, timers == M.narmed[k], "scheduler %d: %lu timers armed, model %lu", k, timers,
          M.narmed[k]);
#if FUZZ_IO
    CHECK(NULL, mt_sched_has_io_waits(s) == (io_waiters(k, NULL) > 0),
          "scheduler %d: has_io_waits %d, model %d waiters", k, mt_sched_has_io_waits(s),
          io_waiters(k, NULL));
#else
    CHECK(NULL, mt_sched_has_io_waits(s) == 0, "I/O waits without the I/O layer");
#endif
    CHECK(NULL, mt_sched_signalled(s) == M.signalled[k], "scheduler %d: signalled %d, model %d",
          k, mt_sched_signalled(s), M.signalled[k]);
    /* 0 with a task runnable or a post to take, else up to the earliest
     * deadline (a fresh clock reading: the model's clock). */
    want = MT_FOREVER;
    if (!rq_empty(k) || M.signalled[k]) {
        want = 0;
    } else if (M.narmed[k]) {
        const struct tf *f = first_timer(k);
        want = f->w_deadline > M.vnow ? (long)(f->w_deadline - M.vnow) : 0;
    }
    want = room_cap(k, want);
#if FUZZ_IO
    /* epoll never blocks past 1000 ticks while a task waits on a descriptor */
    if (BK_EPOLL && io_waiters(k, NULL) && (want < 0 || want > 1000))
        want = 1000;
#endif
    tmo = mt_sched_timeout(s);
    CHECK(NULL, tmo == want, "scheduler %d: mt_sched_timeout %ld, model %ld", k, tmo, want);
#if FUZZ_CHAN
    /* The producers waiting for room: listed, counted as waits a run goes
     * on for (mt_sched_run ends stranded only without them), the last
     * wake-up's tick. */
    CHECK(NULL, (s->roomq.head != NULL) == (room_parked(k) > 0),
          "scheduler %d: producers waiting for room %s, model %u", k,
          s->roomq.head ? "listed" : "none", room_parked(k));
    CHECK(NULL, s->xwaits == room_live(k), "scheduler %d: xwaits %lu, model %lu", k, s->xwaits,
          room_live(k));
    CHECK(NULL, s->room_tick == M.room_tick[k], "scheduler %d: room_tick %lu, model %lu", k,
          (unsigned long)s->room_tick, (unsigned long)M.room_tick[k]);
#endif
    CHECK(NULL, mt__has_waits(s) == (M.narmed[k] > 0 || mt_sched_has_io_waits(s) || room_live(k)),
          "scheduler %d: a run %s on (timers %lu, I/O waits %d, producers waiting for room %lu)",
          k, mt__has_waits(s) ? "would go" : "would not go", M.narmed[k],
          mt_sched_has_io_waits(s), room_live(k));
    for (i = 0, p = s->signals; p && i <= M.sg_n[k]; p = p->next, i++)
        CHECK(NULL, i < M.sg_n[k] && p == SG(M.sg_list[k][i]),
              "scheduler %d: signal list entry %d is %s, model signal %d of %d", k, i,
              i < M.sg_n[k] ? "another" : "one too many (a loop?)",
              i < M.sg_n[k] ? M.sg_list[k][i] : -1, M.sg_n[k]);
    CHECK(NULL, i == M.sg_n[k], "scheduler %d: %d signals listed, model %d", k, i, M.sg_n[k]);
}

/* Each signal: its scheduler, pending flag and kept post, and the units
 * its posts made accounted for. */
static void check_signals(void)
{
    int g, j;
    unsigned long hand[NG] = {0};
    for (j = 0; j < NFRAMES; j++) { /* units handed to waiters not yet resumed */
        const struct tf *f = frame_at(j);
        if (live(f) && f->w_pending && f->w_kind == K_SIGWAIT && f->w_obj < NG &&
            f->w_has_v && !f->w_v)
            hand[f->w_obj]++;
    }
    for (g = 0; g < NG; g++) {
        const mt_signal *sig = SG(g);
        unsigned long handed = hand[g];
        CHECK(NULL, sig->sched == (M.sg_reg[g] < 0 ? NULL : S(M.sg_reg[g])),
              "signal %d: registered with %s, model %d", g,
              !sig->sched ? "none" : sig->sched == S(0) ? "0" : sig->sched == S(1) ? "1" : "?",
              M.sg_reg[g]);
        CHECK(NULL, !!sig->pending == M.sg_pend[g], "signal %d: pending %d, model %d", g,
              sig->pending, M.sg_pend[g]);
        CHECK(NULL, mt_sem_count(&sig->sem) == (unsigned long)M.sg_kept[g],
              "signal %d: %lu posts kept, model %d", g, mt_sem_count(&sig->sem), M.sg_kept[g]);
        CHECK(NULL, M.sg_units[g] ==
                        M.sg_waits[g] + (unsigned long)M.sg_kept[g] + handed + M.sg_dropped[g],
              "signal %d: posts not conserved (%lu made, %lu waits, %d kept, %lu handed, "
              "%lu dropped)", g, M.sg_units[g], M.sg_waits[g], M.sg_kept[g], handed,
              M.sg_dropped[g]);
    }
    for (g = 0; g < NRG; g++) {
        CHECK(NULL, mt_ring_count(RG(g)) == M.rg_n[g], "ring %d: count %u, model %u", g,
              (unsigned)mt_ring_count(RG(g)), M.rg_n[g]);
#if FUZZ_CHAN
        CHECK(NULL, !is_chan(g) || mt_chan_count(CH(g)) == M.rg_n[g],
              "channel %d: count %u, model %u", g - NRG0, (unsigned)mt_chan_count(CH(g)),
              M.rg_n[g]);
#endif
        CHECK(NULL, M.rg_puts[g] == M.rg_gets[g] + M.rg_n[g] + M.rg_dropped[g],
              "ring %d: items not conserved (%lu put, %lu taken, %u held, %lu emptied)", g,
              M.rg_puts[g], M.rg_gets[g], M.rg_n[g], M.rg_dropped[g]);
    }
}

static void check_all(void)
{
    int i;
    for (i = 0; i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        int st = mt_state(&f->task);
        CHECK(f, st == expected_state(f), "state %d, the model says %d", st, expected_state(f));
        check_group(f);
    }
    for (i = 0; i < NSCH; i++)
        check_sched(i);
#if MT_BACKEND == MT_BACKEND_EPOLL && MT_IO
    for (i = 0; i < NSCH * NP; i++) { /* epoll's table: registered as modelled */
        const mt_sched *s = S(i / NP);
        int fd = fd_a(i % NP);
        CHECK(NULL, ((size_t)fd < s->io.cap && (s->io.fds[fd].st & MT__EP_REG)) ==
                        (M.reg[i / NP][i % NP] != 0),
              "scheduler %d: epoll's table %s A of pair %d, the model says otherwise", i / NP,
              M.reg[i / NP][i % NP] ? "does not hold" : "holds", i % NP);
    }
#endif
    check_signals();
    CHECK(NULL, M.reports == M.exp_reports, "%lu reports, model %lu", M.reports, M.exp_reports);
    for (i = 0; i < NQ; i++) {
        const struct mq *m = &M.mq[i];
        CHECK(NULL, mt_queue_len(&M.q[i]) == m->n - m->held, "queue %d: len %u, model %u", i,
              (unsigned)mt_queue_len(&M.q[i]), m->n - m->held);
        CHECK(NULL, mt_queue_empty(&M.q[i]) == (m->n == m->held), "queue %d: empty", i);
        CHECK(NULL, mt_queue_full(&M.q[i]) == !mq_room(i), "queue %d: full %d, model %d", i,
              mt_queue_full(&M.q[i]), !mq_room(i));
        CHECK(NULL, M.q[i].held == m->held && M.q[i].freed == m->freed,
              "queue %d: held %u freed %u, model %u %u", i, (unsigned)M.q[i].held,
              (unsigned)M.q[i].freed, m->held, m->freed);
        CHECK(NULL, m->puts == m->gets + m->n, "queue %d: %lu put, %lu got, %u left", i,
              m->puts, m->gets, m->n);
    }
    for (i = 0; i < NS; i++) {
        unsigned long handed = 0;
        int j;
        for (j = 0; j < NFRAMES; j++) {
            const struct tf *f = frame_at(j);
            if (live(f) && f->w_pending && f->w_has_v && !f->w_v &&
                ((f->w_kind == K_SEMWAIT && f->w_obj == i) ||
                 (f->w_kind == K_CHOOSE && f->w_parked && f->w_fired >= 0 &&
                  f->ch_kind[f->w_fired] == CK_SEM && f->ch_obj[f->w_fired] == i)))
                handed++;
        }
        CHECK(NULL, mt_sem_count(&M.sem[i]) == M.sem_count[i], "semaphore %d: count %lu, model %lu",
              i, mt_sem_count(&M.sem[i]), M.sem_count[i]);
        CHECK(NULL, M.sem_init[i] + M.sem_sig[i] ==
                        M.sem_waits[i] + M.sem_try[i] + M.sem_count[i] + handed,
              "semaphore %d: units not conserved", i);
    }
    for (i = 0; i < NE; i++)
        CHECK(NULL, mt_event_is_set(&M.ev[i]) == M.ev_set[i], "event %d: set %d, model %d", i,
              mt_event_is_set(&M.ev[i]), M.ev_set[i]);
}

/* A cycle of scheduler k. */
static void do_run(int k, long tmo)
{
    long wait;
    int r;
    if (M.cycles >= MAXCYC && !M.tearing)
        return;
    M.cycles++;
    M.cid++;
    M.cur = k;
    trace(NULL, "cycle of scheduler %d, timeout %ld", k, tmo);
    model_take(k); /* the posts made since the last cycle */
    /* The idle wait README promises: none with tasks runnable, else up to
     * the earliest deadline; with neither and a signal registered, until a
     * post (MT_FOREVER). */
    wait = !rq_empty(k) ? 0 : tmo;
    if (wait != 0 && M.narmed[k]) {
        struct tf *f = first_timer(k);
        long left = f->w_deadline > M.vnow ? (long)(f->w_deadline - M.vnow) : 0;
        if (wait < 0 || left < wait)
            wait = left;
    }
    wait = room_cap(k, wait);
    M.pred_idle = wait > 0 ? wait : wait < 0 && M.sg_n[k] ? MT_FOREVER : 0;
#if FUZZ_IO
    io_plan(k, wait);
    if (M.nplan) /* the poll makes tasks runnable: no idle wait */
        M.pred_idle = 0;
#endif
    M.idles0 = M.idles;
    M.in_cycle = 1;
    M.cycle_begun = 0;
    M.pops = 0;
    M.calling = NULL;
    r = mt_sched_run_once(S(k), tmo);
    cyc();
    CHECK(NULL, !M.expect_inline && !M.expect_final, "a call the model expected did not come");
    CHECK(NULL, M.rqh[k] == M.rq_end, "%lu tasks runnable at the cycle's start did not run",
          M.rq_end - M.rqh[k]);
    CHECK(NULL, r >= 0 && (unsigned long)r == M.pops, "run_once returned %d, %lu ran", r, M.pops);
    M.in_cycle = 0;
    check_all();
    /* Once a cycle runs with the clock past a deadline, the timer has fired
     * and its task has run (waits begun in this cycle aside). */
    for (r = 0; r < NFRAMES; r++) {
        struct tf *f = frame_at(r);
        /* (an await's or a join's timer fired: it waits for its children) */
        if (live(f) && sch_of(f) == k && f->w_pending && f->w_parked && !f->w_ylike &&
            f->w_tmo >= 0 && f->w_cycle < M.cid && f->w_start + (uint64_t)f->w_tmo <= M.vnow)
            CHECK(f, (f->w_kind == K_AWAIT || f->w_kind == K_JOIN) && !f->w_armed,
                  "a cycle ran past the wait's deadline and the wait is still pending");
    }
#if FUZZ_IO
    io_check_closed(k);
#endif
}

/* The schedulers' output (the dump, the stranded report): lines counted
 * while an operation reads them, else dropped. */
static struct {
    int on, lines, stranded, room, forever, due, nleft;
    long left[NFRAMES];
} D;

static void on_out(void *arg, const char *line)
{
    const char *p;
    (void)arg;
    if (!D.on)
        return;
    D.lines++;
    D.stranded += strstr(line, " stranded: ") != NULL;
    if (!strstr(line, "room in a channel"))
        return;
    D.room++;
    if (strstr(line, "no timeout")) {
        D.forever++;
    } else if (strstr(line, "  due")) {
        D.due++;
    } else if ((p = strstr(line, " ticks left")) != NULL && D.nleft < NFRAMES) {
        while (p > line && p[-1] >= '0' && p[-1] <= '9')
            p--;
        D.left[D.nleft++] = strtol(p, NULL, 10);
    }
}

static void set_hooks(int k)
{
    mt_sched_set_clock(S(k), fake_now, fake_idle, NULL);
    mt_sched_set_report(S(k), on_report, NULL);
    mt_sched_set_out(S(k), on_out, NULL);
}

#if MT_DUMP
static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}
#endif

/* mt_sched_dump(k) between cycles: one line per live task; a producer
 * waiting for room says so, with the time left to its first deadline
 * (re-parks keep it) or "no timeout". */
static void do_dump(int k)
{
#if MT_DUMP
    long want[NFRAMES];
    int i, n = 0, forever = 0, due = 0, r;
    for (i = 0; i < NFRAMES; i++) {
        const struct tf *f = frame_at(i);
        if (!room_parked_f(f) || sch_of(f) != k)
            continue;
        if (f->w_tmo < 0)
            forever++;
        else if (f->w_deadline <= M.vnow)
            due++;
        else
            want[n++] = (long)(f->w_deadline - M.vnow);
    }
    memset(&D, 0, sizeof D);
    D.on = 1;
    r = mt_sched_dump(S(k), on_out, NULL);
    D.on = 0;
    trace(NULL, "dump of scheduler %d: %d tasks, %d waiting for room", k, r, D.room);
    CHECK(NULL, r == D.lines, "mt_sched_dump returned %d, wrote %d lines", r, D.lines);
    CHECK(NULL, r == M.live[k], "mt_sched_dump listed %d tasks, model %ld live", r, M.live[k]);
    CHECK(NULL, D.room == n + forever + due && D.forever == forever && D.due == due &&
                    D.nleft == n,
          "the dump shows %d producers waiting for room (%d with no timeout, %d due), model "
          "%d (%d, %d)", D.room, D.forever, D.due, n + forever + due, forever, due);
    qsort(want, (size_t)n, sizeof want[0], cmp_long);
    qsort(D.left, (size_t)n, sizeof D.left[0], cmp_long);
    for (i = 0; i < n; i++)
        CHECK(NULL, D.left[i] == want[i], "the dump shows %ld ticks left to a first deadline, "
              "model %ld", D.left[i], want[i]);
#else
    (void)k;
#endif
}

/* mt_sched_run(k), as cycles of mt_sched_run_once(k, MT_FOREVER) while a
 * task is runnable or a wait is pending that can end (a timer, a
 * descriptor, a producer waiting for room: check_sched compares the
 * library's test with the model's), at most 32; then mt_sched_run itself
 * must return at once: MT_ESTRANDED with tasks live (its report says so),
 * else 0. A producer waiting for room with no timeout keeps the run going
 * (the real call is then not made: it would not return). */
static void do_sched_run(int k)
{
    int n, r;
    for (n = 0; n < 32 && M.cycles < MAXCYC &&
                (!rq_empty(k) || M.narmed[k] || mt_sched_has_io_waits(S(k)) || room_live(k));
         n++)
        do_run(k, MT_FOREVER); /* checks everything after the cycle */
    if (!rq_empty(k) || M.narmed[k] || mt_sched_has_io_waits(S(k)) || room_live(k))
        return;
    memset(&D, 0, sizeof D);
    D.on = 1;
    M.idles0 = M.idles;
    r = mt_sched_run(S(k));
    D.on = 0;
    trace(NULL, "mt_sched_run(%d): %d", k, r);
    CHECK(NULL, M.idles == M.idles0, "mt_sched_run with nothing to wait for idled");
    CHECK(NULL, r == (M.live[k] ? MT_ESTRANDED : 0), "mt_sched_run returned %d, model %s", r,
          M.live[k] ? "MT_ESTRANDED" : "0");
    CHECK(NULL, D.stranded == (MT_DUMP && M.live[k] != 0),
          "mt_sched_run's stranded report: %d lines", D.stranded);
}

/* mt_sched_destroy(k): MT_EBUSY with a task live, nothing changed; else
 * its signals are forgotten (a post to them does nothing until a new
 * init; a post kept stays the semaphore's), its self-pipe closed, and it
 * is empty and reusable. */
static void do_destroy(int k)
{
    int r, i;
#if MT_IO
    int pipe = S(k)->wake_pipe, fd0 = S(k)->wake_fd[0], fd1 = S(k)->wake_fd[1];
#endif
    r = mt_sched_destroy(S(k));
    trace(NULL, "destroy scheduler %d: %d", k, r);
    if (M.live[k]) {
        CHECK(NULL, r == MT_EBUSY, "mt_sched_destroy with %ld tasks live returned %d",
              M.live[k], r);
        return;
    }
    CHECK(NULL, r == 0, "mt_sched_destroy returned %d", r);
    CHECK(NULL, rq_empty(k) && !M.narmed[k], "model: work left with no task live");
    for (i = 0; i < M.sg_n[k]; i++)
        M.sg_reg[M.sg_list[k][i]] = -1;
    M.sg_n[k] = 0;
    M.signalled[k] = 0;
    M.room_tick[k] = 0; /* a scheduler as mt_sched_init leaves it */
    M.haspipe[k] = M.pipe_byte[k] = 0;
    for (i = 0; i < NP; i++) /* its table and instance are gone */
        M.reg[k][i] = M.kreg[k][i] = 0;
#if MT_IO
    CHECK(NULL, !S(k)->wake_pipe, "a destroyed scheduler has a wake pipe");
    CHECK(NULL, !pipe || (fcntl(fd0, F_GETFD) < 0 && fcntl(fd1, F_GETFD) < 0),
          "mt_sched_destroy left its wake pipe (%d, %d) open", fd0, fd1);
#endif
    set_hooks(k);
}

/* c's producers waiting for room go, in their order, after those of the
 * scheduler it merges into. */
static void room_merge(int c)
{
    struct tf *w[NFRAMES];
    int n = 0, i, j;
    for (i = 0; i < NFRAMES; i++) {
        struct tf *f = frame_at(i);
        if (!room_parked_f(f) || sch_of(f) != c)
            continue;
        for (j = n++; j > 0 && w[j - 1]->w_room > f->w_room; j--)
            w[j] = w[j - 1];
        w[j] = f;
    }
    for (i = 0; i < n; i++)
        w[i]->w_room = ++M.room_stamp;
}

/* mt_sched_merge(d, c): c's run queue after d's, c's timers re-armed in
 * their firing order (after d's, in ties), its tasks and signals d's (its
 * list before d's), its untaken post d's to take. */
static void do_merge(int d, int c)
{
    struct tf *timers[NFRAMES], *f;
    int r, i, j, n = 0;
    r = mt_sched_merge(S(d), S(c));
    trace(NULL, "merge scheduler %d into %d: %d", c, d, r);
    CHECK(NULL, r == 0, "mt_sched_merge returned %d", r);
    for (i = 0; i < NFRAMES; i++) { /* c's timers in firing order */
        f = frame_at(i);
        if (!f->w_armed || sch_of(f) != c)
            continue;
        for (j = n++; j > 0 && (timers[j - 1]->w_deadline > f->w_deadline ||
                                (timers[j - 1]->w_deadline == f->w_deadline &&
                                 timers[j - 1]->w_arm > f->w_arm)); j--)
            timers[j] = timers[j - 1];
        timers[j] = f;
    }
    CHECK(NULL, (unsigned long)n == M.narmed[c], "model: %d timers, %lu armed", n, M.narmed[c]);
    for (i = 0; i < n; i++)
        timers[i]->w_arm = ++M.arms;
    M.narmed[d] += M.narmed[c];
    M.narmed[c] = 0;
    while (!rq_empty(c)) {
        f = M.rq[c][M.rqh[c]++ % RQN];
        CHECK(f, M.rqt[d] - M.rqh[d] < RQN, "model: run queue overflow");
        M.rq[d][M.rqt[d]++ % RQN] = f;
    }
#if FUZZ_IO
    io_merge(d, c); /* after the run queue, as the library does */
#endif
    room_merge(c);
    for (i = 0; i < NROW; i++)
        if (M.fr[i][0].sch == c)
            M.fr[i][0].sch = d;
    M.haspipe[d] |= FUZZ_IO && M.sg_n[c] > 0; /* a merge with signals opens it */
    M.live[d] += M.live[c];
    M.live[c] = 0;
    for (i = M.sg_n[d] - 1; i >= 0; i--)
        M.sg_list[d][i + M.sg_n[c]] = M.sg_list[d][i];
    for (i = 0; i < M.sg_n[c]; i++) {
        M.sg_list[d][i] = M.sg_list[c][i];
        M.sg_reg[M.sg_list[c][i]] = d;
    }
    M.sg_n[d] += M.sg_n[c];
    M.sg_n[c] = 0;
    M.signalled[d] |= M.signalled[c];
    M.signalled[c] = 0;
}

static void setup(void)
{
    static const size_t qsize[NQ] = {4, 8, 5, 4}, qcap[NQ] = {1, 2, 3, QCAP3};
    unsigned char *qbuf[NQ];
    unsigned h = byte(), init = byte();
    int i, d;

    qbuf[0] = qstore0;
    qbuf[1] = qstore1;
    qbuf[2] = qstore2;
    qbuf[3] = QSTORE3;
    M.ops = M.cycles = M.cid = 0;
    M.tearing = 0;
    M.vnow = 0;
    M.base = base_tab[h & 3];
    M.idles = 0;
    M.in_cycle = M.cycle_begun = 0;
    M.cur = 0;
    M.rq_end = 0;
    for (i = 0; i < NSCH; i++) {
        M.live[i] = 0;
        M.rqh[i] = M.rqt[i] = 0;
        M.narmed[i] = 0;
        M.sg_n[i] = M.signalled[i] = 0;
    }
    M.expect_inline = M.expect_final = NULL;
    M.stamp = M.arms = M.next_id = 0;
    M.gseq = 0;
    M.reports = M.exp_reports = 0;
    M.nprog = 1;
    M.progs[0].n = 1;
    M.progs[0].op[0].kind = K_YIELD;
    M.progs[0].op[0].catch_it = 0;
    M.progs[0].op[0].a = 0;
    memset(M.fr, 0, sizeof M.fr);
    for (i = 0; i < NROW; i++)
        for (d = 0; d < DEPTH; d++) {
            struct tf *f = &M.fr[i][d];
            f->slot = i;
            f->depth = d;
            f->parent = d ? &M.fr[i][d - 1] : NULL;
            f->child = d + 1 < DEPTH ? &M.fr[i][d + 1] : NULL;
        }
    for (i = 0; i < NSCH; i++) {
        mt_sched_init(S(i));
        set_hooks(i);
    }
    /* Signals, rings and channels start zeroed: never registered. */
    memset(M.sig, 0, sizeof M.sig);
    memset(M.ring, 0, sizeof M.ring);
#if FUZZ_CHAN
    memset(M.chan, 0, sizeof M.chan);
#endif
    for (i = 0; i < NSCH; i++)
        M.room_tick[i] = 0;
    M.room_stamp = 0;
    for (i = 0; i < NRG; i++) {
        M.rg_seq[i] = M.rg_head[i] = M.rg_n[i] = M.rg_cap[i] = M.rg_size[i] = 0;
        M.rg_puts[i] = M.rg_gets[i] = M.rg_dropped[i] = 0;
    }
    for (i = 0; i < NG; i++) {
        M.sg_reg[i] = -1;
        M.sg_pend[i] = M.sg_kept[i] = 0;
        M.sg_units[i] = M.sg_waits[i] = M.sg_dropped[i] = 0;
    }
    M.irq = -1;
    M.irq_put = 0;
    for (i = 0; i < NSCH; i++) {
        M.haspipe[i] = M.pipe_byte[i] = 0;
        M.burst[i] = 0;
        M.chk_at[i] = 0;
        for (d = 0; d < NP; d++)
            M.reg[i][d] = M.kreg[i][d] = 0;
    }
    M.ep_pending = 0;
    M.io_stamp = 0;
    M.nplan = 0;
    M.calling = NULL;
#if FUZZ_IO
    for (i = 0; i < NP; i++)
        pair_open(i);
#endif
    for (i = 0; i < NQ; i++) {
        /* Queue 1 may start with items (mt_queue_init's contents). */
        unsigned char contents[2 * 8];
        size_t count = i == 1 ? (init & 3) % 3 : 0, j;
        struct mq *m = &M.mq[i];
        int r;
        m->size = qsize[i];
        m->cap = qcap[i];
        m->head = m->n = m->held = m->freed = 0;
        m->puts = m->gets = 0;
        for (j = 0; j < count; j++)
            mk_item(contents + j * qsize[i], qsize[i], M.next_id + (uint32_t)j);
        r = mt_queue_init(&M.q[i], qbuf[i], qsize[i], qcap[i], contents, count);
        CHECK(NULL, r == 0, "mt_queue_init returned %d", r);
        for (j = 0; j < count; j++)
            mq_store(i, M.next_id++);
    }
    for (i = 0; i < NE; i++) {
        mt_event_init(&M.ev[i]);
        M.ev_set[i] = 0;
    }
    for (i = 0; i < NS; i++) {
        M.sem_init[i] = M.sem_count[i] = (init >> (2 + 2 * i)) & 1;
        M.sem_sig[i] = M.sem_waits[i] = M.sem_try[i] = 0;
        mt_sem_init(&M.sem[i], M.sem_count[i]);
    }
    for (i = 0; i < NFLAG; i++)
        M.flag[i] = 0;
    check_all();
}

/* While a task is in MT_SHIELD's wait (a cancel does not end it) the
 * clock moves on to the earliest deadline: its own, or its child's or its
 * group's, which it waits for (a loop kept busy never idles). */
static void shield_clock(void)
{
    struct tf *a, *b;
    int i = 0;
    while (i < NFRAMES && !(live(frame_at(i)) && frame_at(i)->w_pending &&
                            frame_at(i)->w_shield))
        i++;
    if (i == NFRAMES)
        return;
    a = first_timer(0);
    b = first_timer(1);
    if (!a || (b && b->w_deadline < a->w_deadline))
        a = b;
    if (a && a->w_deadline > M.vnow) {
        trace(NULL, "teardown: the clock moves to %llu", (unsigned long long)a->w_deadline);
        M.vnow = a->w_deadline;
    }
}

/* Cancel everything, run until nothing is left, and account for every item
 * and unit. */
static void teardown(void)
{
    int i, n;
    M.tearing = 1; /* the cycle budget does not apply */
    M.irq = -1;
    for (n = 0; n < 64 && (M.live[0] || M.live[1] || !rq_empty(0) || !rq_empty(1)); n++) {
        /* Again each time: tasks woken before the cancel go on to their
         * next wait, and may add tasks meanwhile. */
        for (i = 0; i < NSLOT; i++)
            if (live(&M.fr[i][0]))
                do_cancel(NULL, &M.fr[i][0]);
        check_all();
        shield_clock();
        do_run(0, 0);
        do_run(1, 0);
    }
    for (i = 0; i < NSCH; i++) {
        CHECK(NULL, M.live[i] == 0 && mt_sched_live(S(i)) == 0, "cancelled tasks are still live");
        CHECK(NULL, !mt_sched_has_runnable(S(i)) && !mt_sched_has_timeouts(S(i)) &&
                        !mt_sched_has_io_waits(S(i)),
              "an empty scheduler has work left");
    }
    for (i = 0; i < NRG; i++) { /* the rings drain to the model's items */
        while (M.rg_n[i])
            do_rget(i);
        do_rget(i);
    }
    for (i = 0; i < NQ; i++) {
        struct mq *m = &M.mq[i];
        int r;
        CHECK(NULL, !m->held && !m->freed, "queue %d: promises left", i);
        while (m->n)
            do_tryget(NULL, i);
        do_tryget(NULL, i); /* and then it is empty */
        CHECK(NULL, m->puts == m->gets, "queue %d: ids lost or duplicated", i);
        r = mt_queue_free(&M.q[i]);
        CHECK(NULL, r == 0, "mt_queue_free returned %d", r);
    }
    check_all();
    /* Both destroyed (their pipes closed); a post then does nothing. */
    for (i = 0; i < NSCH; i++)
        do_destroy(i);
    for (i = 0; i < NSG; i++)
        do_post(NULL, i);
    do_post(NULL, NG);
    for (i = 0; i < NRG; i++) /* a ring's put stores, and wakes no one */
        do_rput(i);
    check_all();
#if FUZZ_IO
    for (i = 0; i < NP; i++)
        pair_close(i);
#endif
}

/* Operations 28-31: rings, and channels (rings NRG0..: a channel's
 * operations are its ring's, called through mt_chan_*). */
static void ring_op(unsigned op)
{
    unsigned a = byte(), v = a >> 5;
    int chan = FUZZ_CHAN && (op == 28 ? v >= 1 && v <= 3 : op == 31 ? (a >> 7) : (a >> 3) & 1);
    int r = (chan ? NRG0 : 0) + (int)(a & 1);
    switch (op) {
    case 28: /* ring a&1 registered with scheduler a>>1&1, capacity 1-4 (a>>2&3),
              * items of 1-2 bytes (a>>4&1); a>>5: 4-7 a bad argument; 1 or 3:
              * channel a&1, 2: a bad argument 1-4 (a>>2&3) to mt_chan_init */
        do_rinit((int)((a >> 1) & 1), r, 1 + ((a >> 2) & 3), 1 + ((a >> 4) & 1),
                 v >= 4 ? (int)v - 3 : chan && v == 2 ? 1 + (int)((a >> 2) & 3) : 0);
        break;
    case 29: /* a put from plain code: ring a&1, with a&8 channel a&1 (a&6 == 6:
              * NULL arguments) */
        do_rput_((a & 6) == 6 ? NRG : r, chan);
        break;
    case 30: /* a get from plain code: as the put */
        do_rget_((a & 6) == 6 ? NRG : r, chan);
        break;
    default: /* an interrupt puts to ring a&1 during the next idle wait, after
              * a>>1 ticks; a&128: another thread puts to channel a&1 (a&64:
              * gets from it, making room), after a>>1&31 ticks */
        M.irq = NSG + r;
        M.irq_put = chan && (a & 64) ? 2 : 1;
        M.irq_ticks = (long)(chan ? (a >> 1) & 31 : a >> 1);
        break;
    }
}

/* Operations 16-23: signals, destroy, the second scheduler. */
static void signal_op(unsigned op)
{
    unsigned a = byte();
    switch (op) {
    case 16: /* signal a&3 (3: NULL) registered with scheduler a>>2&1 */
        do_init((int)((a >> 2) & 1), sg_arg(a));
        break;
    case 17:
    case 18: /* a post from plain code: signal a&3 (3: NULL) */
        do_post(NULL, sg_arg(a));
        break;
    case 19: /* an interrupt posts a&3 during the next idle wait, after a>>2 ticks */
        M.irq = sg_arg(a);
        M.irq_put = 0;
        M.irq_ticks = (long)(a >> 2);
        break;
    case 20: /* scheduler a&1: destroyed, or (a>>1&3) 1: dumped, 2: run */
        if (((a >> 1) & 3) == 1)
            do_dump((int)(a & 1));
        else if (((a >> 1) & 3) == 2)
            do_sched_run((int)(a & 1));
        else
            do_destroy((int)(a & 1));
        break;
    case 21: /* the second into the main scheduler (a&3 == 1: the other way) */
        a &= 3;
        if (a == 3)
            CHECK(NULL, mt_sched_merge(S(0), S(0)) == MT_EINVAL &&
                            mt_sched_merge(NULL, S(1)) == MT_EINVAL &&
                            mt_sched_merge(S(0), NULL) == MT_EINVAL,
                  "mt_sched_merge with bad arguments did not refuse");
        else
            do_merge(a == 1, a != 1);
        break;
    case 22: /* a task of the second scheduler */
        do_add(NULL, 1, (int)(a % NSLOT), prog_parse(0));
        break;
    default: /* a cycle of the second scheduler */
        do_run(1, run_tab[a & 7]);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    M.in = data;
    M.len = size;
    M.pos = 0;
    setup();
    while (M.pos < M.len && M.ops < MAXOPS && M.cycles < MAXCYC) {
        unsigned op = byte() % 32, a;
        M.ops++;
        switch (op) {
        case 0:
        case 1:
            a = byte() % NSLOT;
            do_add(NULL, 0, (int)a, prog_parse(0));
            break;
        case 2:
            a = byte();
            do_cancel(NULL, frame_pick(a));
            break;
        case 3:
            do_tryput(NULL, (int)(byte() & 3));
            break;
        case 4:
            do_tryget(NULL, (int)(byte() & 3));
            break;
        case 5:
            do_ev_set((int)(byte() & 1));
            break;
        case 6:
            do_ev_clear((int)(byte() & 1));
            break;
        case 7:
            do_sem_signal(NULL, (int)(byte() & 1));
            break;
        case 8:
            do_sem_try(NULL, (int)(byte() & 1));
            break;
        case 9:
            a = byte();
            M.vnow += a < 128 ? a : (a - 128u) * 32u;
            break;
        case 10:
        case 11:
            do_run(0, 0);
            break;
        case 12:
            do_run(0, run_tab[byte() & 7]);
            break;
        case 13:
            a = byte();
            M.flag[a & 3] = (int)((a >> 2) & 1);
            break;
        case 14:
        case 15:
            for (a = byte() % 8 + 1; a > 0; a--)
                do_run(0, MT_FOREVER);
            break;
        case 24:
        case 25:
        case 26:
        case 27:
#if FUZZ_IO
            io_op(op, byte());
#else
            (void)byte();
#endif
            break;
        case 28:
        case 29:
        case 30:
        case 31:
            ring_op(op);
            break;
        default:
            signal_op(op);
            break;
        }
        check_all();
    }
    teardown();
    return 0;
}
