/* multitask.h - stackless cooperative multitasking for C99.
 *
 * Tasks are plain functions whose resume points hide behind MT_BEGIN /
 * MT_YIELD / MT_END (switch-based local continuations, as in protothreads).
 * A task's locals live in a frame struct that embeds an mt_task header; one
 * scheduler runs the tasks, waking them on timers, child completion, queues,
 * events, semaphores, interrupt wake-ups and file descriptors (select, poll
 * or epoll). Children report results in their own frames; their errors
 * propagate to the parent unless it catches. The scheduler can also run
 * inside another event loop (mt_sched_pollfds, mt_sched_timeout).
 *
 * HOW TO ADD IT: copy multitask.h and multitask.c into your project and
 * compile multitask.c with the rest. No build system of ours is needed
 * (though make install, CMake, Meson and a single-file edition are there:
 * README "Getting it into your project").
 * Or header-only: in exactly one file, #define MT_IMPLEMENTATION (and
 * MT_STATIC, to keep every symbol private to that file) before including
 * multitask.h; or #include "multitask.c" there. On POSIX that file must
 * define _POSIX_C_SOURCE (200809L) before its first system header.
 * Set the options below the same way for every file that includes this
 * header (best in MT_USER_CONFIG): the layout of mt_sched and mt_task
 * depends on them.
 *
 * !! C LOCAL VARIABLES DO NOT SURVIVE A WAIT. Keep everything a task needs
 * !! after MT_YIELD, MT_AWAIT or any other wait in its frame struct.
 *
 * COMPILE OPTIONS (define before including, or in MT_USER_CONFIG):
 *   MT_USER_CONFIG  unset     a header to #include first, e.g. "mt_config.h"
 *   MT_LC_LABELS    0         1: labels-as-values continuations (GCC/Clang);
 *                             lifts the "no wait inside a switch" limit
 *   MT_TIME_T       uint32_t  unsigned tick type of the clock (ms on POSIX);
 *                             all comparisons are wrap-safe
 *   MT_POSIX        1 on Unix POSIX default clock and idle wait; 0 for
 *                             bare metal (then set hooks with mt_sched_set_clock;
 *                             with ARDUINO defined: millis(), and on AVR an
 *                             idle wait that sleeps until an interrupt)
 *   MT_NO_STDIO     0 hosted  1: no <stdio.h>; the default error report is silent
 *                             (off POSIX it is silent anyway: reports go only
 *                             to the hooks you set, and no stdio is linked)
 *   MT_FUNC         __func__  how reports and dumps name a task; 0: no names
 *                   0 on AVR  (avr-gcc keeps strings in RAM: see MT_DUMP)
 *   MT_FILE         __FILE__  how dumps name a task's source file; 0: not
 *                   0 on AVR
 *   MT_IO           MT_POSIX  the I/O layer (descriptors, sockets)
 *   MT_BACKEND      SELECT    MT_BACKEND_SELECT, _POLL or _EPOLL (Linux)
 *   MT_IO_BURST     16        I/O operations a task completes without
 *                             waiting before it gives way to the others
 *   MT_NO_HEAP      0 POSIX   1: no allocator; unbounded queues are refused
 *                   1 else    (MT_ENOTSUP); 0, or MT_REALLOC, brings them
 *                             (Arduino: 0)
 *   MT_REALLOC(p,n) realloc   with MT_FREE(p) (free): the allocator of
 *                             unbounded queues; define both or neither
 *   MT_TIMER_LIST   0 POSIX   1: timers in one sorted list (O(n) arming, for
 *                   1 else    a few tasks): a task header of 32 bytes on
 *                             32-bit targets instead of 40
 *   MT_WHEEL_BITS   10 POSIX  timers due within 2^BITS ticks go in a wheel of
 *                   0 else    that many slots in mt_sched (O(1)); the rest in
 *                             its second level or a heap (O(log n)); with 0,
 *                             all in the heap
 *   MT_WHEEL2_BITS  6 POSIX   with a wheel, its second level: 2^BITS2 slots
 *                   0 else    of 2^BITS ticks each, for timers due within
 *                             2^(BITS+BITS2) ticks (65.5 s of ms by default),
 *                             O(1) too; fewer slots where MT_TIME_T is narrow
 *                             (both levels reach a quarter of its range: 16
 *                             slots at 16-bit ticks and 10 bits); 0: none.
 *                             mt_sched grows by a pointer and a bit per slot
 *                             and 12 bytes: 528 on 64-bit hosts, 276 on a
 *                             32-bit MCU at 6; 16 and 20 at 0
 *   MT_DUMP         1         0: no task dump nor stranded-task report
 *                   0 on AVR  (avr-gcc copies string literals to RAM: its
 *                             texts, MT_MSGS's, MT_FUNC's and MT_FILE's
 *                             would be 1.2 KB of a one-task program's RAM;
 *                             left out, it has 42 bytes of .data. Define
 *                             them (MT_FUNC __func__, MT_FILE __FILE__,
 *                             these two 1) to have them, at that cost)
 *   MT_MSGS         1         0: no messages of the library's own (mt_errmsg
 *                   0 on AVR  gives mt_strerror's text). mt_strerror's and
 *                             mt_errname's texts stay in flash on AVR with
 *                             avr-gcc (see mt_strerror)
 *   MT_DEBUG        0         1: task names (mt_set_name), the lost-locals
 *                             detector and per-wait statistics
 *   MT_DEBUG_POISON 2048      bytes of stack poisoned before each resume
 *   MT_DEBUG_STATS  64        resume points the statistics can tell apart
 *   MT_ASSERT       MT_DEBUG  1: API misuse stops the program
 *   MT_ASSERT_FAIL(msg)       how: stderr and abort() (POSIX), a trap
 *                             (bare metal, GCC); must not longjmp
 *   MT_RING_INDEX_T unsigned char where int is 16 bits (GCC, Clang, SDCC;
 *                             or 16-bit pointer differences), else unsigned:
 *                             an mt_ring's indices, which an interrupt and a
 *                             task read and write; an unsigned type the
 *                             target loads and stores in one instruction.
 *                             A ring holds at most half its range of items
 *   MT_THREADS      1 on POSIX threads: the default scheduler is per thread
 *                   with GCC  (MT_THREAD_LOCAL); mt_chan, the channel between
 *                   or Clang, threads, and mt_pool, the worker threads, are
 *                   and MT_IO compiled; 0: none of it
 *   MT_THREAD_LOCAL __thread  the storage class of the default scheduler
 *                             (empty: one for the process); every thread
 *                             then carries its sizeof(mt_sched), used or not
 *   MT_FLAG_T       volatile unsigned char
 *                             the flag type interrupt handlers store to
 *                             (one store must be atomic on the target)
 *   MT_STATIC       unset     defined: every library symbol is static (for
 *                             a program that compiles the library in its
 *                             one file, see HOW TO ADD IT)
 *   MT_IMPLEMENTATION unset   defined in one file: including this header
 *                             there compiles the implementation too
 *
 * EXAMPLE:
 *   struct counter { mt_task task; int i; };          // the frame
 *
 *   static int count(mt_task *t) {
 *       struct counter *f = (struct counter *)t;       // task is first member
 *       MT_BEGIN(t);
 *       for (f->i = 0; f->i < 3; f->i++) {
 *           printf("%d\n", f->i);
 *           MT_YIELD(t);                               // others run here
 *       }
 *       MT_END(t);
 *   }
 *
 *   int main(void) {
 *       static struct counter a, b;                    // frames start zeroed
 *       mt_add(&a.task, count);
 *       mt_add(&b.task, count);
 *       return mt_run() == 0 ? 0 : 1;
 *   }
 *
 * STATUS AND ERROR CODES: 0 is success; errors are negative MT_E* codes (see
 * MT__ERRORS below, and mt_strerror / mt_errname). Codes -1..-99 are the
 * library's; users raise their own at MT_EUSER and below.
 *
 * The README is the full manual. License: MIT, at the end of this file.
 */
#ifndef MULTITASK_H
#define MULTITASK_H

/* The version of this header (CHANGELOG.md); mt_version() tells the
 * library's. */
#define MT_VERSION_MAJOR 0
#define MT_VERSION_MINOR 2
#define MT_VERSION_PATCH 0

#ifdef MT_USER_CONFIG
#include MT_USER_CONFIG
#endif

#include <stddef.h>
#include <stdint.h>

/* ---- Configuration defaults ------------------------------------------- */

#ifndef MT_LC_LABELS
#define MT_LC_LABELS 0
#endif
#ifndef MT_TIME_T
#define MT_TIME_T uint32_t
#endif
#ifndef MT_POSIX
#if defined(__unix__) || defined(__APPLE__)
#define MT_POSIX 1
#else
#define MT_POSIX 0
#endif
#endif
#ifndef MT_NO_STDIO
#define MT_NO_STDIO (!__STDC_HOSTED__)
#endif
#ifndef MT_TIMER_LIST
#if MT_POSIX
#define MT_TIMER_LIST 0
#else
#define MT_TIMER_LIST 1
#endif
#endif
#ifndef MT_WHEEL_BITS
#if MT_POSIX && !MT_TIMER_LIST
#define MT_WHEEL_BITS 10
#else
#define MT_WHEEL_BITS 0
#endif
#endif
#if MT_TIMER_LIST && MT_WHEEL_BITS
#error "MT_TIMER_LIST takes no wheel: set MT_WHEEL_BITS to 0"
#endif
#ifndef MT_WHEEL2_BITS
#if MT_POSIX
#define MT_WHEEL2_BITS 6
#else
#define MT_WHEEL2_BITS 0 /* RAM is scarce there: ask for it */
#endif
#endif
/* The I/O layer: POSIX descriptors and sockets, one backend. */
#ifndef MT_IO
#define MT_IO MT_POSIX
#endif
/* How many I/O operations a task may complete without waiting in one
 * resume before it gives way: a flood on one socket cannot starve others. */
#ifndef MT_IO_BURST
#define MT_IO_BURST 16
#endif
#define MT_BACKEND_SELECT 1
#define MT_BACKEND_POLL 2
#define MT_BACKEND_EPOLL 3
#ifndef MT_BACKEND
#define MT_BACKEND MT_BACKEND_SELECT
#endif

/* Threads: a default scheduler per thread, and the channel, which needs
 * the GCC/Clang atomic builtins (an exchange for the producers' lock). */
#ifndef MT_THREADS
#if MT_POSIX && MT_IO && defined(__GNUC__) && defined(__ATOMIC_ACQUIRE)
#define MT_THREADS 1
#else
#define MT_THREADS 0
#endif
#endif
#if MT_THREADS && !MT_IO
#error "MT_THREADS needs MT_IO: another thread wakes a scheduler through its self-pipe"
#endif
#ifndef MT_THREAD_LOCAL
#if MT_THREADS
#define MT_THREAD_LOCAL __thread
#else
#define MT_THREAD_LOCAL
#endif
#endif

/* The allocator, used only by unbounded queues. Define both or neither.
 * Off POSIX the default is none: the library is one object, so a reference
 * to realloc links the allocator (and sbrk) into every program, queues or
 * not (newlib keeps it once linked); a program that wants unbounded queues
 * there sets MT_NO_HEAP 0 or defines MT_REALLOC and MT_FREE. Arduino keeps
 * it: a sketch cannot set options, and the cores link malloc anyway. */
#ifndef MT_NO_HEAP
#if (__STDC_HOSTED__ && (MT_POSIX || defined(ARDUINO))) || defined(MT_REALLOC)
#define MT_NO_HEAP 0
#else
#define MT_NO_HEAP 1
#endif
#endif
#if MT_IO && MT_BACKEND != MT_BACKEND_SELECT && MT_NO_HEAP
#error "the poll and epoll backends need an allocator (MT_NO_HEAP is set)"
#endif
#if defined(MT_REALLOC) != defined(MT_FREE)
#error "define MT_REALLOC and MT_FREE together"
#endif
/* At most 15, and less than the width of MT_TIME_T. */
#if MT_WHEEL_BITS != 0 && (MT_WHEEL_BITS < 5 || MT_WHEEL_BITS > 15)
#error "MT_WHEEL_BITS must be 0 or 5..15"
#endif
#if MT_WHEEL2_BITS < 0 || MT_WHEEL2_BITS > 10
#error "MT_WHEEL2_BITS must be 0..10"
#endif

/* MT_STATIC: every library symbol static, for a program that includes
 * multitask.c (or defines MT_IMPLEMENTATION) in its one file. */
#ifdef MT_STATIC
#if defined(__GNUC__)
#define MT_API static __attribute__((__unused__))
#else
#define MT_API static
#endif
#else
/* Not `extern`: SDCC 4.2 drops the .globl of a function whose definition
 * and earlier declaration both say `extern`, and no other file can link
 * to it. A function has external linkage without it. */
#define MT_API
#endif

/* How a failing task is named in reports: its function's name; and the
 * source file that dumps name. On AVR, where avr-gcc copies every string
 * literal and __func__ to RAM at startup, these texts and the library's
 * own (MT_DUMP, MT_MSGS) are left out unless asked for: with them a
 * one-task program has 1.2 KB of .data, without 42 bytes. */
#ifndef MT_FUNC
#if defined(__AVR__)
#define MT_FUNC 0
#else
#define MT_FUNC __func__
#endif
#endif
#ifndef MT_FILE
#if defined(__AVR__)
#define MT_FILE 0
#else
#define MT_FILE __FILE__
#endif
#endif

/* The task dump and the stranded-task report; and debugging aids that
 * cost time or memory (see the README, "Debugging"). */
#ifndef MT_DUMP /* its texts: about 420 bytes of RAM on AVR */
#if defined(__AVR__) && !(defined(MT_DEBUG) && MT_DEBUG) /* MT_DEBUG writes through it */
#define MT_DUMP 0
#else
#define MT_DUMP 1
#endif
#endif
#ifndef MT_MSGS /* the library's messages for its errors: 670 B of RAM on AVR */
#if defined(__AVR__)
#define MT_MSGS 0
#else
#define MT_MSGS 1
#endif
#endif
#ifndef MT_DEBUG
#define MT_DEBUG 0
#endif
#if MT_DEBUG && !MT_DUMP
#error "MT_DEBUG needs MT_DUMP (the statistics are written like a dump)"
#endif
/* Misuse checks: a task function called outside the scheduler, a live
 * frame added or awaited again, a task function returning outside MT_END,
 * a lost resume point, a scheduler run from its own task. With MT_ASSERT
 * they stop the program through MT_ASSERT_FAIL(msg) (default: the message
 * on stderr, then abort()); without, they are the error codes documented. */
#ifndef MT_ASSERT
#define MT_ASSERT MT_DEBUG
#endif
#ifndef MT_DEBUG_POISON
#define MT_DEBUG_POISON 2048
#endif
#ifndef MT_DEBUG_STATS
#define MT_DEBUG_STATS 64
#endif

/* The flag an interrupt or signal handler writes: one store, atomic. */
#ifndef MT_FLAG_T
#define MT_FLAG_T volatile unsigned char
#endif
/* A ring's index: one load or store where an interrupt may cut in between
 * two instructions (an 8-bit CPU splits an int's). */
#ifndef MT_RING_INDEX_T
#if (defined(__SIZEOF_INT__) && __SIZEOF_INT__ < 4) || defined(__SDCC) ||                         \
    (defined(PTRDIFF_MAX) && PTRDIFF_MAX <= 0x7FFF)
#define MT_RING_INDEX_T unsigned char /* int narrower than 32 bits */
#else
#define MT_RING_INDEX_T unsigned
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Types ------------------------------------------------------------- */

/* Clock ticks (milliseconds with the POSIX clock). Unsigned, and it wraps:
 * compare with mt_time_before, never with <. */
typedef MT_TIME_T mt_time;

typedef struct mt_task mt_task;
typedef struct mt_sched mt_sched;

/* A task function. It resumes the task where it last waited and returns an
 * internal status; write its body between MT_BEGIN and MT_END and never
 * return any other way. */
typedef int (*mt_fn)(mt_task *t);

/* The task header. Put it first in your frame struct, and let the frame
 * start zeroed (static storage, "= {0}", calloc) or be one whose task has
 * ended. All fields are private: use the functions below. They are visible
 * only so that frames can be allocated statically. */
/* A task's state and flags (private; see bits below). */
#if MT_TIMER_LIST
typedef uint16_t mt__bits;
#else
typedef uint32_t mt__bits;
#endif

struct mt_task {
    mt_task *next;      /* run queue, or the waiters list of an object */
    mt_fn fn;           /* the task function */
    union {             /* the awaiting parent, or for a top-level task */
        mt_task *parent;    /* (flag ROOT) its scheduler */
        mt_sched *sched;
    } up;
    union {             /* meaning follows the state; written only by the */
        void *obj;      /* wait-outcome functions of multitask.c: while */
        const char *msg;/* parked, what on; after an error, its message */
        intptr_t io;    /* fd << 3 | events; after the wait: events ready */
    } w;
#if MT_TIMER_LIST
    mt_task *link[1];   /* timer list, or forever list: next */
#else
    mt_task *link[2];   /* heap children, or wheel / forever-list prev, next */
#endif
#if MT_LC_LABELS
    void *lc;           /* resume point: label address */
#endif
    mt_time deadline;   /* when the current wait times out */
#if MT_TIMER_LIST
    mt__bits bits;      /* shield << 11 | saw << 10 | timed << 9 | flags << 5 | state */
#else
    uint32_t seq;       /* arming order: equal deadlines fire FIFO */
    mt__bits bits;      /* saw << 31 | shield << 30 | timer position << 9 | flags << 5 | state */
#endif
#if !MT_LC_LABELS
    uint16_t lc;        /* resume point: source line */
#else
    uint16_t line;      /* source line of the resume point (in padding) */
#endif
    int16_t err;        /* result of the last wait, or the final error */
#if MT_DEBUG
    const char *name;   /* mt_set_name's; kept across adds */
    const char *func, *file; /* set by MT_BEGIN at each resume */
#endif
};

/* A FIFO of tasks through their next links: the run queue, the waiters of
 * a queue, event or semaphore, the descriptor waiters (private). */
typedef struct mt__waitq {
    mt_task *head, *tail;
} mt__waitq;

#if MT_IO
/* Each I/O backend's state in the scheduler (multitask.c, "I/O backends").
 * Every one counts its waiting tasks in n. Private. */
#if MT_BACKEND == MT_BACKEND_EPOLL
/* Per descriptor: its waiters, and what the instance knows of it. */
typedef struct mt__epfd {
    mt_task *waiters;           /* FIFO */
    unsigned char st;           /* readiness seen, registered, stream: multitask.c */
} mt__epfd;

typedef struct mt__io {
    unsigned long n;            /* tasks waiting on descriptors */
    mt__epfd *fds;              /* indexed by descriptor */
    size_t cap;                 /* entries in fds */
    unsigned long nreg;         /* descriptors in the instance */
    long pid;                   /* the process that opened the instance */
    int epfd;                   /* the epoll instance, once open */
    int open;
    mt_time check_at;           /* when to look for closed descriptors */
} mt__io;
#elif MT_BACKEND == MT_BACKEND_POLL
typedef struct mt__io {
    unsigned long n;            /* tasks waiting on descriptors */
    mt__waitq waiters;          /* all of them, first come first */
    void *buf;                  /* pollfd array, entry indexes, fd hash */
    size_t cap;                 /* pollfd entries buf has room for */
} mt__io;
#elif MT_BACKEND == MT_BACKEND_SELECT
typedef struct mt__io {
    unsigned long n;            /* tasks waiting on descriptors */
    mt__waitq waiters;          /* all of them, first come first */
} mt__io;
#else
#error "MT_BACKEND: MT_BACKEND_SELECT, MT_BACKEND_POLL or MT_BACKEND_EPOLL"
#endif
#endif

/* Where the library writes text (the task dump, the stranded-task report):
 * called once per line, `line` ending in a newline. */
typedef void (*mt_out)(void *arg, const char *line);

#if MT_DEBUG
/* Per-wait statistics: one resume point (function, line) each. Private. */
typedef struct mt__stat {
    mt_fn fn;
    const char *name, *file;
    unsigned long resumes;
    mt_time longest;    /* ticks the task ran after this resume, at most */
    uint16_t line;      /* 0: the start of the body */
} mt__stat;
#endif

#if MT_WHEEL_BITS
/* The wheel's second level (private): 2^MT_WHEEL2_BITS slots, fewer if
 * mt_time is too narrow for them: the two levels then reach a quarter of
 * its range, so that deadlines beyond them (or overdue) still compare
 * right. MT__W2_BITS <= 0: no second level (its one slot stays empty). */
#define MT__W2_ROOM ((int)sizeof(mt_time) * 8 - 2 - MT_WHEEL_BITS)
#define MT__W2_BITS (MT_WHEEL2_BITS < MT__W2_ROOM ? MT_WHEEL2_BITS : MT__W2_ROOM)
#define MT__W2 (1u << (MT__W2_BITS > 0 ? MT__W2_BITS : 0))
#endif

/* The scheduler. A zeroed mt_sched is a valid empty scheduler with the
 * default clock and error report; mt_sched_init makes one so. Private. */
struct mt_sched {
    mt__waitq rq;               /* the run queue */
    mt_task *heap;              /* timer heap root (list head with MT_TIMER_LIST) */
    uint32_t nheap;             /* timers in the heap (or list) */
#if MT_WHEEL_BITS
    uint32_t nwheel;            /* timers in the wheel's first level */
    uint32_t ncoarse;           /* timers in its second level */
    mt_time wbase;              /* the first level holds deadlines wbase + [0, wlen), */
    mt_time wlen;               /* the second the 2^BITS2 blocks of 2^BITS ticks */
    unsigned cslot;             /* after them, the first in slot cslot */
    mt_task *wheel[1u << MT_WHEEL_BITS];          /* one FIFO ring per tick */
    uint32_t wbits[(1u << MT_WHEEL_BITS) / 32];  /* non-empty slots */
    mt_task *coarse[MT__W2];    /* one FIFO ring per 2^BITS ticks */
    uint32_t cbits[(MT__W2 + 31) / 32];
#endif
    uint32_t seq;               /* next arming number */
    mt_task *forever;           /* waiting tasks without a deadline */
    mt_time now;                /* the cycle's clock reading, if now_valid */
    int now_valid;
    unsigned long live;         /* tasks added or awaited and not yet ended */
    unsigned long failed;       /* top-level tasks ended by an unhandled error */
    mt_time (*clock)(void *arg);
    void (*idle)(void *arg, long ms);
    void *clock_arg;
    void (*report)(mt_task *t, const char *name, void *arg);
    void *report_arg;
    const char *fail_name;      /* function of the top-level task failing now */
    mt_task *finishing;         /* ending: reported, finally section to run */
    int running;                /* in a cycle (mt_sched_run: its whole loop) */
#if MT_IO
    mt__io io;                  /* the backend's own state */
    unsigned burst;             /* I/O operations done without waiting, this resume */
    int io_try;                 /* the operation starting has timeout 0: it tries */
    int wake_pipe;              /* 1: wake_fd[] is a self-pipe for posts */
    int wake_fd[2];
#endif
#if MT_THREADS
    mt__waitq roomq;            /* tasks waiting for room in a channel */
    mt_time room_tick;          /* when they were last woken to try */
    unsigned long xwaits;       /* tasks that other threads' work wakes: in
                                   roomq, waiting on a channel or for
                                   offloaded work */
    unsigned long offloads;     /* those waiting for offloaded work */
#endif
    struct mt_signal *signals;  /* registered interrupt wake-ups */
    void (*take_signals)(mt_sched *s);
    MT_FLAG_T signalled;        /* one of them was posted */
    mt_task *current;           /* the task being resumed (innermost) */
    mt_out out;                 /* the library's text: dump, reports */
    void *out_arg;
    void (*stranded)(mt_sched *s); /* the report, once there is an out */
    const char *q_name, *q_file; /* a task function's answer to a query */
#if MT_DEBUG
    unsigned long stats_lost;   /* resumes of points the table had no room for */
    mt__stat stats[MT_DEBUG_STATS];
#endif
};

/* A FIFO of fixed-size items copied in and out (the seed's Queue). All
 * fields private; see mt_queue_init. */
typedef struct mt_queue {
    unsigned char *buf;   /* cap * size bytes: the caller's, or allocated */
    size_t size;          /* bytes per item */
    size_t cap;           /* capacity in items */
    size_t head, len;     /* ring: index of the first item, items stored */
    size_t held;          /* stored items promised to woken getters */
    size_t freed;         /* free slots promised to woken putters */
    int unbounded;        /* grows through MT_REALLOC; buf is ours */
    mt__waitq getters, putters;
} mt_queue;

/* An event: set, clear, and wait until set (asyncio's Event). Private. */
typedef struct mt_event {
    int set;
    mt__waitq waiters;
} mt_event;

/* A counting semaphore (protothreads' pt-sem; a mutex is one of count 1).
 * Private. */
typedef struct mt_sem {
    unsigned long count;
    mt__waitq waiters;
} mt_sem;

/* A wake-up that an interrupt handler may post (no locks, no allocation):
 * the scheduler turns it into a semaphore signal at its next cycle. */
typedef struct mt_signal {
    MT_FLAG_T pending;       /* written by the handler */
    unsigned char ring;      /* an mt_ring's: wake only if it holds items */
    struct mt_signal *next;  /* the scheduler's list */
    mt_sched *sched;
    mt_sem sem;              /* one unit at most */
} mt_signal;

/* A single-producer single-consumer ring of fixed-size items in the
 * caller's storage: an interrupt handler (or one thread) puts, one task of
 * the scheduler gets. Private. */
typedef struct mt_ring {
    mt_signal sig;                 /* first: the scheduler finds the ring */
    unsigned char *buf;
    size_t size;                   /* bytes per item */
    MT_RING_INDEX_T cap;           /* items; indices run over 2 * cap */
    volatile MT_RING_INDEX_T head; /* next to get: the consumer's */
    volatile MT_RING_INDEX_T tail; /* next to put: the producer's */
} mt_ring;

#if MT_THREADS
#include <pthread.h>

/* A bounded channel between threads: a ring whose producers, on any
 * thread, take turns. Private. */
typedef struct mt_chan {
    mt_ring ring;        /* first: the consumer's side is the ring's */
    MT_FLAG_T lock;      /* held by the producer putting now */
} mt_chan;

/* Blocking work for a worker thread (see mt_pool_start). Put it first in a
 * struct of your own that holds the work's input and result; set fn (and
 * drop, if a result holds resources). The other fields are private. */
typedef struct mt_work {
    void (*fn)(struct mt_work *w);   /* runs on a worker thread */
    void (*drop)(struct mt_work *w); /* releases a result no one waits for */
    mt_signal sig;                   /* wakes the waiting task */
    struct mt_pool *pool;            /* of its last wait */
    struct mt_work *next;            /* the pool's queue */
    int state;                       /* under the pool's lock */
} mt_work;

#ifndef MT_POOL_MAX
#define MT_POOL_MAX 64
#endif
/* A pool of worker threads. Private. */
typedef struct mt_pool {
    pthread_mutex_t lock;
    pthread_cond_t more;             /* work queued, or stopping */
    mt_work *head, *tail;
    int stopping, inited;            /* inited: lock and more made */
    size_t n;                        /* threads running */
    pthread_t threads[MT_POOL_MAX];
} mt_pool;
#endif

/* ---- Error codes ------------------------------------------------------- */

/* One list makes the enum, mt_strerror and mt_errname. */
#define MT__ERRORS(X)                                                        \
    X(MT_EFAIL, -1, "task failed")                                           \
    X(MT_EINVAL, -2, "invalid argument")                                     \
    X(MT_EBUSY, -3, "task is live (already added or awaited)")               \
    X(MT_ETIMEDOUT, -4, "timed out")                                         \
    X(MT_ECANCELED, -5, "cancelled")                                         \
    X(MT_EUNHANDLED, -6, "a top-level task ended with an unhandled error")   \
    X(MT_ENOMEM, -7, "out of capacity")                                      \
    X(MT_EAGAIN, -8, "would block")                                          \
    X(MT_ENOTSUP, -9, "not supported in this build")                         \
    X(MT_EBADF, -10, "bad file descriptor (closed while waited on?)")        \
    X(MT_ERANGE, -11, "descriptor out of range for the I/O backend")         \
    X(MT_EEOF, -12, "end of file before the whole buffer")                   \
    X(MT_ETOOLONG, -13, "line longer than the buffer")                     \
    X(MT_ESTRANDED, -14, "tasks stranded: nothing can wake them")

enum mt_error_code {
    MT_OK = 0,
#define MT__ENUM(name, value, text) name = value,
    MT__ERRORS(MT__ENUM)
#undef MT__ENUM
    MT_EUSER = -100, /* first user code; users may raise MT_EUSER..-999 */
    MT_ESYS_BASE = -1000 /* system errors: MT_ESYS(errno) */
};

/* A system error (errno value e) as an error code, e.g. MT_ESYS(ECONNRESET). */
#define MT_ESYS(e) (MT_ESYS_BASE - (e))

/* Task states, as mt_state reports them. "Live" is one comparison:
 * state >= MT_RUNNABLE. */
enum mt_state {
    MT_NEW = 0,      /* zeroed frame, never added */
    MT_DONE = 1,     /* ended normally */
    MT_FAILED = 2,   /* ended by an error it did not handle */
    MT_CANCELLED = 3,/* ended by cancellation */
    MT_RUNNABLE = 4, /* in the run queue */
    MT_RUNNING = 5,  /* executing now */
    MT_WAITING = 6   /* parked: on a child, a sleep, a condition, a queue,
                        an event, a semaphore, a signal or a ring */
};

/* "Forever": a timeout that never expires. Any other negative timeout is
 * MT_EINVAL. Timeouts are in clock ticks (ms on POSIX), at most
 * MT_TIMEOUT_MAX, and measured from the current cycle's clock reading. */
#define MT_FOREVER (-1L)
#define MT_TIMEOUT_MAX                                                       \
    ((long)((((mt_time)-1) >> 1) < 0x7fffffffUL ? (((mt_time)-1) >> 1)      \
                                                : 0x7fffffffUL))

/* ---- Continuations (private) -------------------------------------------- */

#if defined(__has_attribute)
#if __has_attribute(__fallthrough__)
#define MT__FALLTHROUGH __attribute__((__fallthrough__))
#endif
#endif
#ifndef MT__FALLTHROUGH
#define MT__FALLTHROUGH ((void)0)
#endif

/* Internal statuses a task function returns. Alive is "<= MT__POLL". */
#define MT__WAITING 0 /* parked; the wait is registered */
#define MT__YIELDED 1 /* requeue at the back */
#define MT__POLL 2    /* condition wait: requeue, keep the timer */
#define MT__DONE 3    /* ended, no finally section reached */
#define MT__FINISH 4  /* ended: run the finally section */
#define MT__FAILED 5  /* ended by t->err */
#define MT__QUERIED 6 /* answered mt__query, did not run */
#define MT__GO (-1)   /* from wait starters: go on now, result in t->err */
#define MT__PROCEED 7 /* multitask.c: a wait's common checks passed */

#define MT__F_ROOT 0x20u    /* up is the scheduler */
#define MT__F_CATCH 0x40u   /* errors at waits do not raise */
#define MT__F_CANCEL 0x80u  /* cancellation requested */
#define MT__F_FINAL 0x100u  /* running the finally section */
#if MT_TIMER_LIST
#define MT__F_SHIELD 0x800u /* in MT_SHIELD's wait: cancellation waits */
#else
#define MT__F_SHIELD 0x40000000u
#endif

#if MT_LC_LABELS
#if !defined(__GNUC__)
#error "MT_LC_LABELS needs GCC or Clang (labels as values)"
#endif
/* Labels as values are a GNU extension; say so once, not per use. */
#if defined(__clang__) || __GNUC__ < 12
#define MT__LBL_PUSH                                                         \
    _Pragma("GCC diagnostic push")                                           \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")
#else
#define MT__LBL_PUSH                                                         \
    _Pragma("GCC diagnostic push")                                           \
    _Pragma("GCC diagnostic ignored \"-Wpedantic\"")                         \
    _Pragma("GCC diagnostic ignored \"-Wdangling-pointer\"")
#endif
#define MT__LBL_POP _Pragma("GCC diagnostic pop")
#define MT__CAT2(a, b) a##b
#define MT__CAT(a, b) MT__CAT2(a, b)
#define MT__LABEL MT__CAT(mt__resume_, __LINE__)
#define MT__LC_DISPATCH(t)                                                   \
    switch ((t)->bits & MT__F_FINAL) {                                       \
    case 0:                                                                  \
        if (MT_DUMP && (t)->lc == MT__LC_QUERY)                              \
            return mt__query((t), MT_FUNC, MT_FILE);                         \
        /* Always an indirect jump: clang insists on one address-of-label \
         * in a function with "goto *", even with no wait in it. */       \
        MT__LBL_PUSH goto *((t)->lc ? (t)->lc : &&mt__start);                \
        MT__LBL_POP mt__start:
#define MT__LC_FINAL case MT__F_FINAL:
/* A resume point no label has: the task function answers mt__query. */
#define MT__LC_QUERY ((void *)(uintptr_t)1)
#define MT__LC_SET(t)                                                        \
    (void)sizeof(char[__LINE__ <= 0xffff ? 1 : -1]);                         \
    MT__LBL_PUSH (t)->lc = &&MT__LABEL; MT__LBL_POP                          \
    (t)->line = (uint16_t)__LINE__
#define MT__LC_RESUME(t) MT__LABEL:
#define MT__LC_HERE(t) MT__LABEL:
#else
#define MT__LC_FINAL_LINE 0xffffu /* the finally section's "line" */
#define MT__LC_QUERY_LINE 0xfffeu /* answer mt__query: name and file */
#if MT_DUMP
#define MT__LC_QUERY_CASE(t)                                                 \
    case MT__LC_QUERY_LINE:                                                  \
        return mt__query((t), MT_FUNC, MT_FILE);
#else
#define MT__LC_QUERY_CASE(t)
#endif
#define MT__LC_DISPATCH(t)                                                   \
    switch ((t)->lc) {                                                       \
    MT__LC_QUERY_CASE(t)                                                     \
    case 0:
#define MT__LC_FINAL case MT__LC_FINAL_LINE:
/* One wait per line, on lines below 65534: two waits on one line are a
 * duplicate case label, a compile error. */
#define MT__LC_SET(t)                                                        \
    (void)sizeof(char[__LINE__ < MT__LC_QUERY_LINE ? 1 : -1]);               \
    (t)->lc = __LINE__
#define MT__LC_RESUME(t) case __LINE__:
#define MT__LC_HERE(t) MT__FALLTHROUGH; case __LINE__:
#endif

#if MT_DEBUG /* the statistics name resume points without asking */
#define MT__DEBUG_HERE(t) (t)->func = MT_FUNC, (t)->file = MT_FILE;
#else
#define MT__DEBUG_HERE(t)
#endif
#if MT_ASSERT /* called by its scheduler, not by plain code */
#define MT__ENTER(t) mt__enter(t);
#else
#define MT__ENTER(t)
#endif

/* After a wait: raise its error unless caught. */
#define MT__CHECK(t)                                                         \
    if ((t)->err && !mt__caught((t), MT_FUNC)) return MT__FAILED

/* A wait whose starter returns MT__GO (done now), or a status to return. */
#define MT__WAIT(t, start)                                                   \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        MT__LC_SET(t);                                                       \
        {                                                                    \
            int mt__r = (start);                                             \
            if (mt__r != MT__GO) return mt__r;                               \
        }                                                                    \
        MT__LC_HERE(t)                                                       \
        MT__CHECK(t);                                                        \
    } while (0)

/* A wait that, resumed after parking, completes with `finish` (run only if
 * the wait succeeded); a start that completes at once did the work. */
#define MT__WAIT2(t, start, finish)                                          \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        MT__LC_SET(t);                                                       \
        if (0) {                                                             \
            MT__LC_RESUME(t)                                                 \
            if (!(t)->err)                                                   \
                finish;                                                      \
        } else {                                                             \
            int mt__r = (start);                                             \
            if (mt__r != MT__GO) return mt__r;                               \
        }                                                                    \
        MT__CHECK(t);                                                        \
    } while (0)

/* ---- Task macros -------------------------------------------------------- */

/* Open the task body. `t` is the task function's parameter. MT_BEGIN opens
 * a block that MT_END closes: a missing MT_END, or a wait outside the body,
 * is a compile error. Without MT_LC_LABELS no wait may sit inside a switch
 * statement of yours, and each line holds at most one wait. */
#define MT_BEGIN(t)                                                          \
    {                                                                        \
        typedef char mt__task_body;                                          \
        MT__ENTER(t)                                                         \
        MT__DEBUG_HERE(t)                                                    \
        MT__LC_DISPATCH(t)

/* Close the task body. Reaching it ends the task normally. */
#define MT_END(t)                                                            \
    return MT__DONE;                                                         \
    default:                                                                 \
        return mt__lost((t), MT_FUNC);                                       \
    }                                                                        \
    (void)sizeof(mt__task_body);                                             \
    }                                                                        \
    (void)(t);                                                               \
    return MT__DONE

/* Mark the start of the task's finally section, between the body and
 * MT_END. Reaching it from the body ends the task normally; the section then
 * runs once however the task ended (done, failed, cancelled, timed out),
 * after the task's state is final and its error reported, so it may close
 * descriptors and free the frame. The scheduler never touches the frame
 * after the section, and refuses to add or await the frame again before it
 * (MT_EBUSY; a misuse stop with MT_ASSERT). It must not wait, MT_EXIT or
 * MT_RAISE: with MT_ASSERT a misuse stop; without, that ends the section
 * there (the rest is skipped), and the task keeps its result. */
#define MT_FINALLY(t)                                                        \
    (void)sizeof(mt__task_body);                                             \
    return MT__FINISH;                                                       \
    MT__LC_FINAL

/* Give way: go to the back of the run queue; others run first. */
#define MT_YIELD(t)                                                          \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        MT__LC_SET(t);                                                       \
        return MT__YIELDED;                                                  \
        MT__LC_RESUME(t)                                                     \
        MT__CHECK(t);                                                        \
    } while (0)

/* End the task now, normally (its finally section runs). */
#define MT_EXIT(t)                                                           \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        return MT__FINISH;                                                   \
    } while (0)

/* End the task with error `code` (negative) and a static message (or
 * NULL). The error propagates to an awaiting parent. */
#define MT_RAISE(t, code, msg)                                               \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        return mt__raise((t), (code), (msg), MT_FUNC);                       \
    } while (0)

/* Wait until `cond` holds, re-checking it once per scheduler cycle, for at
 * most `timeout` ticks (MT_FOREVER: no limit). `cond` is evaluated at each
 * check; `timeout` once. The task stays runnable while it polls, so the
 * scheduler does not sleep meanwhile: prefer events and queues for waits
 * that may be long. */
#define MT_WAIT_UNTIL(t, cond, timeout)                                      \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        MT__LC_SET(t);                                                       \
        if (!(cond)) {                                                       \
            {                                                                \
                int mt__r = mt__poll_begin((t), (timeout));                  \
                if (mt__r != MT__GO) return mt__r;                           \
            }                                                                \
            MT__LC_HERE(t)                                                   \
            if (!(t)->err) {                                                 \
                if (!(cond)) return MT__POLL;                                \
                mt__wait_end(t);                                             \
            }                                                                \
            MT__CHECK(t);                                                    \
        } else {                                                             \
            int mt__r = mt__cond_met((t), (timeout));                        \
            if (mt__r != MT__GO) return mt__r;                               \
            MT__CHECK(t);                                                    \
        }                                                                    \
    } while (0)

#define MT_WAIT_WHILE(t, cond, timeout) MT_WAIT_UNTIL(t, !(cond), timeout)

/* Run `child` (a frame's mt_task, zeroed or ended; not t itself: MT_EINVAL;
 * not a live task: MT_EBUSY) with function `fn` to
 * completion, for at most `timeout` ticks. The child starts at once, inside
 * this call; if it ends without waiting, no scheduling happens at all. Its
 * results are fields of its frame. If it fails, this task fails with the same
 * error, unless caught. On timeout the child is cancelled, and this task
 * resumes with MT_ETIMEDOUT once the child has ended (its frame is then
 * free to reuse); but a child that completed in the deadline's tick
 * without seeing the cancellation hands over its own outcome. */
#define MT_AWAIT(t, child, fn, timeout)                                      \
    MT__WAIT(t, mt__await((t), (child), (fn), (timeout)))

/* ---- Task groups (structured concurrency) --------------------------------
 * A group, kept in a task's frame, runs several children at once, each in
 * its own frame, as ordinary tasks of the task's scheduler; a join waits
 * for them. The group records its children in `slots`, an array of the
 * user's (one entry per live child: size it for the most children live at
 * once). Its fields are private. */
struct mt__gops;

typedef struct mt_group {
    mt_task node;            /* stands between the children and the owner */
#if !MT_POSIX
    const struct mt__gops *ops; /* set when it opens (multitask.c) */
#endif
    mt_task *owner;          /* the task that opened it */
    mt_task **slots;         /* children in slots[lo, hi) (NULL: ended) */
    mt_task *first, *failed; /* the first child to complete; to fail */
    const char *msg;         /* the failed child's message */
    unsigned short cap, lo, hi, live, done, want, lost;
    int16_t err;             /* the failed child's error */
    unsigned char cancelling, saw; /* saw: a child saw its cancellation */
} mt_group;

/* Give group g the array slots[0, cap) (cap 1..65535) for its children.
 * Call it before the first MT_SPAWN, in any zeroed or joined group. Returns
 * 0, MT_EINVAL (NULL g or slots, cap out of range), MT_EBUSY (the group
 * has live children). */
MT_API int mt_group_init(mt_group *g, mt_task **slots, int cap);

/* Start `child` (a frame's mt_task, zeroed or ended) with function `fn` in
 * group g, as a task of this task's scheduler: it runs from the next cycle
 * on, while this task goes on. The task that starts a child in a group not
 * open (never opened, or closed by a join or its owner's end) opens it and
 * owns it until then; any task of the same scheduler may start more. Does not wait. Raises
 * MT_EINVAL (NULL or uninitialised group, NULL child or fn, child is t or
 * the owner, another scheduler's group, in a finally section), MT_EBUSY
 * (the child is live), MT_ENOMEM (no free slot), MT_ECANCELED (the group
 * is cancelling its children: after a failure, a winner, a timeout, or
 * its owner's cancellation or end). */
#define MT_SPAWN(t, g, child, fn)                                            \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        mt__spawn((t), (g), (child), (fn));                                  \
        MT__CHECK(t);                                                        \
    } while (0)

/* Wait until every child of group g has ended, for at most `timeout`
 * ticks, then close the group: its children's frames are free to reuse.
 * Only its owner joins it (MT_EINVAL); a group with no live child joins at
 * once. The first child to fail (any error but MT_ECANCELED) cancels its
 * siblings at once, and the join raises its error and message
 * (mt_group_failed names it); errors of children after that one are
 * reported through the scheduler's report hook and counted
 * (mt_group_lost). On timeout the children are cancelled and the join
 * raises MT_ETIMEDOUT once they have ended, unless none of them saw that
 * cancellation (all completed by the deadline, as MT_AWAIT's child may) or
 * one failed meanwhile (its error rises). A cancel of this task cancels
 * them first, and the join raises MT_ECANCELED once they have ended. */
#define MT_JOIN(t, g, timeout) MT__WAIT(t, mt__join((t), (g), 0, (timeout)))

/* MT_JOIN, but done once n children (1..65535; 0 joins all, as MT_JOIN)
 * have completed (ended without error) since the group was opened: the
 * others are cancelled, and the join returns once they have ended too
 * (their cleanup has run; a deadline that passes once the n are in does
 * not count).
 * mt_group_first names the first child that completed; each child's
 * mt_state says how it ended (MT_DONE: it completed). If every child ends
 * with fewer than n completed, the join returns all the same. Errors and
 * timeouts as MT_JOIN. */
#define MT_JOIN_FIRST(t, g, n, timeout)                                      \
    MT__WAIT(t, mt__join((t), (g), (n), (timeout)))

/* The first child of g to complete since the group was opened (NULL: none
 * yet); the child whose error the join raised (NULL: none); the number of
 * later errors not raised; the children live now. NULL g: NULL, or 0. */
MT_API mt_task *mt_group_first(const mt_group *g);
MT_API mt_task *mt_group_failed(const mt_group *g);
MT_API int mt_group_lost(const mt_group *g);
MT_API int mt_group_live(const mt_group *g);

/* Sleep `ms` ticks (ms with the POSIX clock), counted from the cycle's
 * clock reading. 0 gives way like MT_YIELD; a negative duration raises
 * MT_EINVAL. Sleepers wake in deadline order, equal deadlines in the order
 * they were set. Only a cancellation ends a sleep early. */
#define MT_SLEEP(t, ms) MT__WAIT(t, mt__sleep((t), (ms)))

/* Sleep until tick `deadline` (a time already past gives way like
 * MT_YIELD). */
#define MT_SLEEP_UNTIL(t, deadline) MT_SLEEP(t, mt_until((t), (deadline)))

/* Take the oldest item of queue `q` into `*item` (item_size bytes),
 * waiting up to `timeout` while the queue is empty. Getters are served first
 * come, first served. `item` is evaluated again when the task resumes: pass
 * a frame field. Raises MT_EINVAL (NULL q or item), MT_ETIMEDOUT. */
#define MT_QUEUE_GET(t, q, item, timeout)                                    \
    MT__WAIT2(t, mt__queue_get((t), (q), (item), (timeout)),                 \
              mt__queue_got((t), (item)))

/* Append a copy of `*item` to queue `q`, waiting up to `timeout` while it
 * is full; a waiting getter is handed the item at once. `item` is evaluated
 * again when the task resumes. Raises MT_EINVAL, MT_ETIMEDOUT, MT_ENOMEM
 * (an unbounded queue could not grow). */
#define MT_QUEUE_PUT(t, q, item, timeout)                                    \
    MT__WAIT2(t, mt__queue_put((t), (q), (item), (timeout)),                 \
              mt__queue_putted((t), (item)))

/* Wait until event `e` is set (at once if it is). Raises MT_EINVAL,
 * MT_ETIMEDOUT. */
#define MT_EVENT_WAIT(t, e, timeout)                                         \
    MT__WAIT(t, mt__event_wait((t), (e), (timeout)))

/* A wait whose resume, whatever ended it, calls `resumed`: it may finish
 * the wait, or start it again (a retry); both return MT__GO or a status
 * to return. (mt__r is assigned on either path before use.) */
#define MT__WAIT_AGAIN(t, start, resumed)                                    \
    do {                                                                     \
        int mt__r;                                                           \
        (void)sizeof(mt__task_body);                                         \
        MT__LC_SET(t);                                                       \
        if (0) {                                                             \
            MT__LC_RESUME(t)                                                 \
            mt__r = (resumed);                                               \
        } else {                                                             \
            mt__r = (start);                                                 \
        }                                                                    \
        if (mt__r != MT__GO) return mt__r;                                   \
        MT__CHECK(t);                                                        \
    } while (0)

/* Take one unit of semaphore `sem`, waiting up to `timeout` while it has
 * none; waiters are served first come, first served. Raises MT_EINVAL,
 * MT_ETIMEDOUT. */
#define MT_SEM_WAIT(t, sem, timeout)                                         \
    MT__WAIT(t, mt__sem_wait((t), (sem), (timeout)))

/* Wait until signal `sig` is posted (at once if it was since the last
 * wait), consuming the post. Raises MT_EINVAL, MT_ETIMEDOUT. */
#define MT_SIGNAL_WAIT(t, sig, timeout)                                      \
    MT__WAIT(t, mt__signal_wait((t), (sig), (timeout)))

/* Wait up to `timeout` for an item of ring `r` (see mt_ring_init) and copy
 * it to `*item`; `item` is evaluated again when the task resumes. */
#define MT_RING_GET(t, r, item, timeout)                                     \
    MT__WAIT2(t, mt__ring_wait((t), (r), (item), (timeout)),                 \
              mt__ring_got((t), (item)))

#if MT_THREADS
/* Wait up to `timeout` for an item of channel `c` (see mt_chan_init), a
 * task of its owning scheduler; `item` is evaluated again on resuming. */
#define MT_CHAN_GET(t, c, item, timeout)                                     \
    MT__WAIT_AGAIN(t, mt__chan_get_wait((t), (c), (item), (timeout)),        \
                   mt__chan_got((t), (item)))

/* Put `*item` into channel `c`, from a task of any scheduler on any
 * thread, waiting up to `timeout` for room; `c`, `item` and `timeout` are
 * evaluated again each time it tries. */
#define MT_CHAN_PUT(t, c, item, timeout)                                     \
    MT__WAIT_AGAIN(t, mt__chan_put_wait((t), (c), (item), (timeout)),        \
                   mt__chan_put_again((t), (c), (item), (timeout)))
#endif

#if MT_THREADS
/* Run work `w` on a worker thread of pool `p` and wait up to `timeout` for
 * it to finish (see mt_pool_start); `w` is evaluated again on resuming. */
#define MT_OFFLOAD(t, p, w, timeout)                                         \
    MT__WAIT_AGAIN(t, mt__work_start((t), (p), (w), (timeout)), mt__work_end((t), (w)))
#endif

/* ---- Waiting for the first of several ------------------------------------ */

#ifndef MT_CHOOSE_MAX
#define MT_CHOOSE_MAX 1024 /* clauses in one MT_CHOOSE */
#endif

/* One clause of MT_CHOOSE, kept in the frame (an array of them) and
 * described by one of the mt_clause_* calls, once or before each wait.
 * Its fields are private; node stands for the task in the object's wait
 * list while the wait is armed. */
typedef struct mt_clause {
    mt_task node;
    void *obj;        /* the queue, event, semaphore or signal */
    void *item;       /* get: where the item goes; put: the item */
    int fd;           /* a descriptor clause's */
    short fired;      /* the first clause, while armed: the one that fired */
    unsigned short n; /* the first clause, while armed: their number */
    unsigned char kind, events, ready;
} mt_clause;

MT_API void mt_clause_get(mt_clause *c, mt_queue *q, void *item);
MT_API void mt_clause_put(mt_clause *c, mt_queue *q, const void *item);
MT_API void mt_clause_event(mt_clause *c, mt_event *e);
MT_API void mt_clause_sem(mt_clause *c, mt_sem *sem);
MT_API void mt_clause_signal(mt_clause *c, mt_signal *sig);

/* Wait until the first of clauses[0, n) can complete, and complete exactly
 * that one: an item taken into `item` (get) or put, an event seen set, a
 * unit of a semaphore or a signal's post taken, a descriptor ready
 * (mt_clause_ready says for what). *which (an int frame field) gets its
 * index, or -1 when none completed. The others leave their objects as they
 * were: nothing taken, promised or consumed, also on timeout and cancel.
 * Clauses ready at once are tried in turn from the one after *which (the
 * last chosen; -1 starts at clause 0): none is starved; while it waits, the first object to serve
 * it wins. Waiters of one object are served first come, first served, this
 * task among them. `clauses` and `which` are evaluated again when it
 * resumes. Raises MT_EINVAL (NULL which, n outside 1..MT_CHOOSE_MAX, a
 * clause not described or with a NULL object or item, a negative
 * descriptor or no events), MT_EBUSY (the clauses are armed by a wait of
 * another task), MT_ERANGE (select: descriptor >= FD_SETSIZE),
 * MT_ETIMEDOUT, a descriptor clause's error (MT_EBADF: closed; *which
 * names it), MT_ENOMEM (an unbounded queue could not grow). */
#define MT_CHOOSE(t, clauses, n, which, timeout)                              \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        MT__LC_SET(t);                                                       \
        if (0) {                                                             \
            MT__LC_RESUME(t)                                                 \
            mt__chosen((t), (clauses), (which));                             \
        } else {                                                             \
            int mt__r = mt__choose((t), (clauses), (n), (which), (timeout)); \
            if (mt__r != MT__GO) return mt__r;                               \
        }                                                                    \
        MT__CHECK(t);                                                        \
    } while (0)

MT_API int mt__choose(mt_task *t, mt_clause *c, int n, int *which, long timeout);
MT_API void mt__chosen(mt_task *t, mt_clause *c, int *which);

/* Run one wait (any wait macro of this header, the I/O ones below too) and
 * keep its error instead of raising it: read it with mt_err / mt_errmsg right after.
 * A cancelled task that catches MT_ECANCELED is still ended at its next
 * wait. */
#define MT_CATCH(t, wait)                                                    \
    do {                                                                     \
        (t)->bits |= MT__F_CATCH;                                            \
        wait;                                                                \
        (t)->bits = (mt__bits)((t)->bits & ~MT__F_CATCH); /* keeps timer bits */\
    } while (0)

/* Run one wait (any wait macro, with a finite timeout) shielded from this
 * task's cancellation, and keep its error as MT_CATCH does: the cleanup of
 * a task that caught its cancellation (or a timeout, or an error) and must
 * still flush, say goodbye or shut down. The wait runs even if the task
 * was cancelled, and a cancel while it waits does not interrupt it (nor
 * the child it awaits or the group it joins): the task is ended at its
 * next wait after it, and ends MT_CANCELLED if it ends first. A wait with
 * MT_FOREVER is refused (MT_EINVAL); keep each bounded, and their number
 * too (a cancel does not end a loop of shielded waits). */
#define MT_SHIELD(t, wait)                                                   \
    do {                                                                     \
        (t)->bits |= MT__F_CATCH | MT__F_SHIELD;                             \
        wait;                                                                \
        (t)->bits = (mt__bits)((t)->bits & ~(MT__F_CATCH | MT__F_SHIELD));   \
    } while (0)

/* ---- I/O --------------------------------------------------------------- */
#if MT_IO
#include <poll.h>
#include <sys/types.h>
#include <sys/socket.h>

#define MT_READABLE 1
#define MT_WRITABLE 2
#define MT_EXCEPT 4

/* A wait on a descriptor: try `attempt` (nonzero: it would block), and
 * while it would block, wait for `ev` on `fd`. The timeout counts once, from
 * the first wait. Private. */
#define MT__IO(t, fd, ev, timeout, attempt)                                  \
    do {                                                                     \
        (void)sizeof(mt__task_body);                                         \
        MT__LC_SET(t);                                                       \
        {                                                                    \
            int mt__r = mt__io_begin((t), (timeout));                        \
            if (mt__r != MT__GO) return mt__r;                               \
        }                                                                    \
        while (!(t)->err && (attempt)) {                                     \
            {                                                                \
                int mt__r = mt__io_park((t), (fd), (ev), (timeout));         \
                if (mt__r != MT__GO) return mt__r;                           \
            }                                                                \
            MT__LC_HERE(t);                                                  \
        }                                                                    \
        mt__wait_end(t);                                                     \
        MT__CHECK(t);                                                        \
    } while (0)

/* Wait until `fd` is ready for any of `events` (MT_READABLE | MT_WRITABLE |
 * MT_EXCEPT); then mt_fd_ready(t) says which. On poll and epoll a hang-up
 * or an error on fd ends the wait whatever its events (all of them are
 * reported ready: the next operation tells what happened); select reports
 * only what select sees. Raises MT_EINVAL (fd < 0, no events), MT_ERANGE
 * (select: fd >= FD_SETSIZE), MT_EBADF (fd closed), MT_ETIMEDOUT. */
#define MT_WAIT_FD(t, fd, events, timeout)                                   \
    MT__IO(t, fd, events, timeout, mt__fd_ready_now((t), (fd), (events)))

/* The operations: each tries at once and waits only when the call would
 * block (with epoll, one known to block waits first, unless its timeout is
 * 0: see the README); results go where the last pointers point (frame fields: the
 * arguments are evaluated again at each try). System errors are raised as
 * MT_ESYS(errno). Sends never raise SIGPIPE (MSG_NOSIGNAL; write() to a
 * socket: use MT_SEND). */
#define MT_READ(t, fd, buf, len, n, timeout)                                 \
    MT__IO(t, fd, MT_READABLE, timeout,                                      \
           mt__read((t), (fd), (buf), (len), (n)))
#define MT_WRITE(t, fd, buf, len, n, timeout)                                \
    MT__IO(t, fd, MT_WRITABLE, timeout,                                      \
           mt__write((t), (fd), (buf), (len), (n)))
#define MT_RECV(t, fd, buf, len, flags, n, timeout)                          \
    MT__IO(t, fd, MT_READABLE, timeout,                                      \
           mt__recv((t), (fd), (buf), (len), (flags), (n), NULL, NULL))
#define MT_SEND(t, fd, buf, len, flags, n, timeout)                          \
    MT__IO(t, fd, MT_WRITABLE, timeout,                                      \
           mt__send((t), (fd), (buf), (len), (flags), (n), NULL, 0))
#define MT_RECVFROM(t, fd, buf, len, flags, n, addr, addrlen, timeout)       \
    MT__IO(t, fd, MT_READABLE, timeout,                                      \
           mt__recv((t), (fd), (buf), (len), (flags), (n), (addr), (addrlen)))
#define MT_SENDTO(t, fd, buf, len, flags, n, addr, addrlen, timeout)         \
    MT__IO(t, fd, MT_WRITABLE, timeout,                                      \
           mt__send((t), (fd), (buf), (len), (flags), (n), (addr), (addrlen)))
/* *newfd: the accepted connection, non-blocking; addr/addrlen may be NULL. */
#define MT_ACCEPT(t, fd, newfd, addr, addrlen, timeout)                      \
    MT__IO(t, fd, MT_READABLE, timeout,                                      \
           mt__accept((t), (fd), (newfd), (addr), (addrlen)))
/* Connect a non-blocking socket: start, wait writable, read SO_ERROR. */
#define MT_CONNECT(t, fd, addr, addrlen, timeout)                            \
    MT__IO(t, fd, MT_WRITABLE, timeout,                                      \
           mt__connect((t), (fd), (addr), (addrlen)))
/* Move all `len` bytes; *done counts them (also on error). Reading raises
 * MT_EEOF if the peer closes first. The timeout covers the whole. */
#define MT_READ_ALL(t, fd, buf, len, done, timeout)                          \
    MT__IO(t, fd, MT_READABLE, timeout,                                      \
           mt__xfer_all((t), (fd), (buf), (len), (done), 0))
#define MT_WRITE_ALL(t, fd, buf, len, done, timeout)                         \
    MT__IO(t, fd, MT_WRITABLE, timeout,                                      \
           mt__xfer_all((t), (fd), (void *)(buf), (len), (done), 1))

/* A line reader over a buffer you give (the seed's readline). */
typedef struct mt_line {
    char *buf;     /* your storage */
    size_t cap;    /* its size: the longest line */
    size_t len;    /* bytes held */
    size_t line;   /* the current line: buf[0, line), '\n' included; 0 at EOF */
} mt_line;

MT_API void mt_line_init(mt_line *lb, char *storage, size_t cap);

/* Read the next line into lb (dropping the previous one): lb->buf[0,
 * lb->line), ending in '\n', or the last bytes before EOF without one;
 * lb->line is 0 at EOF. Raises MT_ETOOLONG if no '\n' fits in lb->cap. */
#define MT_READLINE(t, fd, lb, timeout)                                      \
    MT__IO(t, fd, MT_READABLE, timeout, mt__readline((t), (fd), (lb)))

/* After MT_WAIT_FD: the events that were ready. */
MT_API int mt_fd_ready(const mt_task *t);

/* Make fd non-blocking (and close-on-exec). Returns 0 or MT_ESYS(errno). */
MT_API int mt_fd_nonblock(int fd);

/* Close fd where the scheduler sees it: the tasks waiting on it end their
 * waits with MT_EBADF (they never touch the number again, which the next
 * socket may get), the backend lets it go, then close(2). Use it for every
 * descriptor tasks waited on: the epoll backend keeps a descriptor
 * registered between waits, and learns of a plain close() only at its
 * checks (when the loop is idle; a number reused, within a second).
 * Returns 0, MT_EINVAL (s NULL, fd < 0), MT_EBADF (fd was not open) or
 * MT_ESYS(errno) of close(2). mt_close is the short form for the default
 * scheduler. */
MT_API int mt_sched_close(mt_sched *s, int fd);
MT_API int mt_close(int fd);

/* An MT_CHOOSE clause that waits until fd is ready for any of `events`;
 * once it completed, mt_clause_ready(c) tells which were. On poll and
 * epoll a hang-up or an error completes it, as with MT_WAIT_FD. */
MT_API void mt_clause_fd(mt_clause *c, int fd, int events);
MT_API int mt_clause_ready(const mt_clause *c);

MT_API int mt__io_begin(mt_task *t, long timeout);
MT_API int mt__io_park(mt_task *t, int fd, int events, long timeout);
MT_API int mt__fd_ready_now(mt_task *t, int fd, int events);
MT_API int mt__read(mt_task *t, int fd, void *buf, size_t len, ssize_t *n);
MT_API int mt__write(mt_task *t, int fd, const void *buf, size_t len, ssize_t *n);
MT_API int mt__recv(mt_task *t, int fd, void *buf, size_t len, int flags,
                    ssize_t *n, struct sockaddr *addr, socklen_t *addrlen);
MT_API int mt__send(mt_task *t, int fd, const void *buf, size_t len, int flags,
                    ssize_t *n, const struct sockaddr *addr, socklen_t addrlen);
MT_API int mt__accept(mt_task *t, int fd, int *newfd, struct sockaddr *addr,
                      socklen_t *addrlen);
MT_API int mt__connect(mt_task *t, int fd, const struct sockaddr *addr,
                       socklen_t addrlen);
MT_API int mt__xfer_all(mt_task *t, int fd, void *buf, size_t len,
                        size_t *done, int writing);
MT_API int mt__readline(mt_task *t, int fd, mt_line *lb);
#endif /* MT_IO */

/* ---- Scheduler ---------------------------------------------------------- */

/* Make `s` an empty scheduler with the default clock and report. */
MT_API void mt_sched_init(mt_sched *s);

/* Release what a scheduler acquired on its own: the self-pipe of
 * mt_signal_init and the poll backend's array. Call it when done with a
 * scheduler that used them; it must have no live task (MT_EBUSY) and is
 * left empty and reusable. Returns 0, MT_EINVAL or MT_EBUSY. */
MT_API int mt_sched_destroy(mt_sched *s);

/* Start task `t` (a frame's header) running `fn` as a top-level task of
 * `s`: it runs in the next cycle. Callable from tasks and from plain code.
 * Returns 0, MT_EINVAL (NULL s, t or fn) or MT_EBUSY (t is live). */
MT_API int mt_sched_add(mt_sched *s, mt_task *t, mt_fn fn);

/* Run cycles until no task is runnable, timed or waiting on I/O. Returns 0;
 * MT_ESTRANDED if tasks are still waiting then (on a queue, an event, a
 * semaphore, a signal, or on each other), with nothing left that could wake
 * them: they are written out, one line each, as by mt_sched_dump, and stay
 * parked (plain code may still wake them and run again); else
 * MT_EUNHANDLED if a top-level task ended with an unhandled error during the
 * run (each was reported); MT_EINVAL (NULL) or MT_EBUSY (called from a
 * task). */
MT_API int mt_sched_run(mt_sched *s);

/* Run one cycle, for embedding in another loop: wait up to `timeout` ticks
 * (0: poll; MT_FOREVER: until a timer is due) for a timer or an event when
 * no task is runnable, fire due timers, then resume each task that was
 * runnable at that point once. Tasks made runnable meanwhile run in the next
 * cycle. With no task runnable and no timer armed, MT_FOREVER waits for
 * descriptors and posts (a signal registered: until a post) and returns at
 * once when there is nothing to wait for. Timeouts beyond the backend's
 * range are clamped (poll and epoll: INT_MAX ms), never wrapped. Returns
 * the number of tasks taken from the run queue (>= 0), MT_EINVAL or
 * MT_EBUSY. */
MT_API int mt_sched_run_once(mt_sched *s, long timeout);

/* How many tasks are alive (added or awaited, and not yet ended). */
MT_API unsigned long mt_sched_live(const mt_sched *s);

/* 1 if a task is runnable, 0 if not. */
MT_API int mt_sched_has_runnable(const mt_sched *s);
/* 1 if a task waits on a file descriptor (always 0 without the I/O layer). */
MT_API int mt_sched_has_io_waits(const mt_sched *s);
/* 1 if a timer is armed (a wait with a finite timeout), 0 if not. */
MT_API int mt_sched_has_timeouts(const mt_sched *s);

/* Move every task of `src` into `dst`, keeping their order and deadlines,
 * and its registered signals (they post to `dst` from then on, and a post
 * `src` had not taken yet is `dst`'s); `src` is left empty. Returns 0,
 * MT_EINVAL (NULL or dst == src), MT_EBUSY (either is running, or a task
 * of src waits for offloaded work), MT_ENOMEM (too many timers), or the error of making `dst`'s self-pipe (as
 * mt_signal_init; nothing moved then). */
MT_API int mt_sched_merge(mt_sched *dst, mt_sched *src);

/* Inside another event loop (GLib, Qt, libuv, a poll() loop of your own):
 * watch what mt_sched_pollfds names, block for at most mt_sched_timeout,
 * then run mt_sched_run_once(s, 0). Ask both again before each block: the
 * set changes as tasks wait and wake.
 *
 * mt_sched_timeout: how long the loop may block before the scheduler needs
 * a cycle: 0 if a task is runnable or a wake-up was posted, the ticks left
 * to the earliest deadline, or MT_FOREVER. (With epoll and tasks waiting on
 * descriptors, at most 1000, so closed descriptors are found; while a
 * task waits for room in a channel, at most 1.) 0 for NULL.
 *
 * mt_sched_pollfds (I/O layer): fills fds[0..cap) with the descriptors to
 * watch (fd and events as poll() takes them; revents 0): with epoll, one
 * entry, its instance; with select and poll, each descriptor waited on
 * (one entry each, events merged) and the self-pipe of mt_signal_init, so
 * that a post from a thread or a handler ends the foreign loop's wait.
 * (select cannot watch a pipe at or above FD_SETSIZE, but it is named all
 * the same: the foreign loop's poll() can.) Returns the number of entries
 * needed (call again with a larger array if it exceeds cap; nothing past
 * cap is written), MT_EINVAL (NULL s, a negative cap, or NULL fds with cap
 * > 0), MT_ENOMEM (the poll backend could not grow its array), or
 * MT_ESYS(errno) (epoll could not open). */
MT_API long mt_sched_timeout(mt_sched *s);
#if MT_IO
MT_API int mt_sched_pollfds(mt_sched *s, struct pollfd *fds, int cap);
#endif

/* Replace the clock: `now` returns ticks (wrapping freely); `idle` blocks
 * for up to `ms` ticks (MT_FOREVER: until an event, when tasks wait only
 * for signal posts: sleep until the next interrupt) when nothing is
 * runnable. A virtual clock's idle hook just advances the time. NULL hooks
 * restore the defaults (POSIX: CLOCK_MONOTONIC in ms, nanosleep). */
MT_API void mt_sched_set_clock(mt_sched *s, mt_time (*now)(void *arg),
                        void (*idle)(void *arg, long ms), void *arg);

/* The current cycle's clock reading: taken once per cycle, when first
 * needed (outside a cycle: the last one's, or a fresh reading). */
MT_API mt_time mt_sched_now(mt_sched *s);

/* Replace the report of top-level tasks that end with an unhandled error.
 * `name` is the task function's name. NULL restores the default: one line
 * on stderr, "multitask: task NAME failed: MESSAGE (MT_ECODE)", on POSIX;
 * elsewhere none (no stdio is linked unless asked for). */
MT_API void mt_sched_set_report(mt_sched *s,
                         void (*report)(mt_task *t, const char *name,
                                        void *arg),
                         void *arg);

/* The default scheduler, and short forms that use it. With MT_THREADS
 * (POSIX, GCC or Clang) each thread has its own (thread-local: a thread
 * that used it calls mt_sched_destroy(mt_default()) before it exits, to
 * close its descriptors); without, one for the process, which only one
 * thread may use. */
MT_API mt_sched *mt_default(void);
MT_API int mt_add(mt_task *t, mt_fn fn);
MT_API int mt_run(void);

/* ---- Tasks -------------------------------------------------------------- */

/* Cancel a task: its children (the one it awaits, and those of its open
 * groups) are cancelled first, then it resumes at its current wait with
 * MT_ECANCELED (raised, unless caught); a task cancelled before its first
 * run ends without running its body (its finally section still runs). A task whose wait has already completed (woken, not yet
 * resumed) keeps that wait's result, so nothing it was handed is lost; like
 * a task that cancels itself, it is ended at its next wait. A task that
 * catches MT_ECANCELED and waits again is ended at that wait. A task that
 * ends by an uncaught MT_ECANCELED (its own, or a cancelled child's) is
 * MT_CANCELLED and not reported. Sticky: a cancelled task that saw its
 * cancellation (a wait of its ended by it) ends MT_CANCELLED however it
 * handled it (caught, then ended normally or raised another error).
 * Cancelling an ended or never-added task does nothing; nor does
 * cancelling one that has ended and waits for its groups' children (it
 * keeps its outcome). Returns 0 or
 * MT_EINVAL. */
MT_API int mt_cancel(mt_task *t);

/* The task's state (enum mt_state). */
MT_API int mt_state(const mt_task *t);

/* Inside a task: the result of its last wait (0, or the caught error).
 * After the task ended: 0, or the error that ended it. */
MT_API int mt_err(const mt_task *t);

/* The message that goes with mt_err: the raiser's message, or
 * mt_strerror(mt_err(t)) when it gave none; "" when mt_err is 0. */
MT_API const char *mt_errmsg(const mt_task *t);

/* Text and name ("MT_ETIMEDOUT") of an error code; never NULL. On AVR
 * built by avr-gcc the texts stay in flash: each function copies its
 * answer into a static buffer of its own (47 and 14 bytes, in RAM only if
 * the function is linked), which its next call overwrites, as C's strerror
 * may. Built by clang (no flash data), they are in RAM: 600 bytes. */
MT_API const char *mt_strerror(int code);
MT_API const char *mt_errname(int code);

/* The library's version, "MAJOR.MINOR.PATCH": a program linked against an
 * installed one can compare it with the MT_VERSION_* it was built with. */
MT_API const char *mt_version(void);

/* ---- Queues, events, semaphores ------------------------------------------
 * Usable from tasks and from plain code (main, callbacks); a waiter woken by
 * plain code runs in its scheduler's next cycle. Not for interrupt handlers
 * or other threads. A timed-out or cancelled waiter leaves the object
 * exactly as it was: nothing lost, nothing duplicated. */

/* Make `q` an empty queue of items of `item_size` bytes in `storage`
 * (capacity * item_size bytes, yours; it must outlive the queue), then
 * append `count` items from `contents` (may be NULL when count is 0).
 * Capacity 0 with NULL storage: unbounded (the seed's maxsize=0), growing
 * through MT_REALLOC; free it with mt_queue_free. Returns 0, MT_EINVAL (NULL
 * q, item_size 0, NULL storage with a capacity, storage with capacity 0,
 * capacity * item_size over PTRDIFF_MAX, more contents than capacity),
 * MT_ENOTSUP (unbounded with MT_NO_HEAP), MT_ENOMEM (allocation failed). */
MT_API int mt_queue_init(mt_queue *q, void *storage, size_t item_size,
                  size_t capacity, const void *contents, size_t count);

/* Release an unbounded queue's storage (nothing for a bounded one).
 * Returns 0, MT_EINVAL, or MT_EBUSY while tasks wait on it. */
MT_API int mt_queue_free(mt_queue *q);

/* Without waiting: take the oldest item into *item / append a copy of
 * *item. Return 0, MT_EAGAIN (empty / full), MT_EINVAL (NULL), or MT_ENOMEM
 * (an unbounded queue could not grow). */
MT_API int mt_queue_try_get(mt_queue *q, void *item);
MT_API int mt_queue_try_put(mt_queue *q, const void *item);

/* mt_queue_len: the items a get would find (items already handed to woken
 * getters are not counted). mt_queue_empty: 1 if there are none.
 * mt_queue_full: 1 if a put would wait (never, for an unbounded queue). */
MT_API size_t mt_queue_len(const mt_queue *q);
MT_API int mt_queue_empty(const mt_queue *q);
MT_API int mt_queue_full(const mt_queue *q);

/* Events: init (clear), set (wakes every waiter; stays set), clear, is_set. */
MT_API void mt_event_init(mt_event *e);
MT_API void mt_event_set(mt_event *e);
MT_API void mt_event_clear(mt_event *e);
MT_API int mt_event_is_set(const mt_event *e);

/* Semaphores: init with `count` units; signal hands a unit to the first
 * waiter, or keeps it (MT_ENOMEM when the count would overflow);
 * try_wait takes a unit without waiting (0 or MT_EAGAIN). */
MT_API void mt_sem_init(mt_sem *sem, unsigned long count);
MT_API int mt_sem_signal(mt_sem *sem);
MT_API int mt_sem_try_wait(mt_sem *sem);
MT_API unsigned long mt_sem_count(const mt_sem *sem);

/* ---- Wake-ups from interrupt handlers and threads -------------------------
 * mt_signal_init registers `sig` (zeroed, or registered before) with `s`,
 * from plain code, before use; registering it again with `s` does nothing.
 * A signal belongs to one scheduler: mt_sched_merge moves it along, and
 * mt_sched_destroy forgets it (a post to it then does nothing until it is
 * registered again). Returns 0, MT_EINVAL, MT_EBUSY (registered with
 * another scheduler: merge or destroy that one first), MT_ESYS(e) when the
 * self-pipe cannot be made, or MT_ERANGE (select) when its descriptor would
 * be at or above FD_SETSIZE; a later init tries again.
 * mt_signal_post may be called from an interrupt or signal handler: it only
 * stores two flags (and, with the I/O layer, writes a byte to a self-pipe
 * the scheduler polls, so a blocked cycle wakes at once; this also makes it
 * safe from another thread; where byte exchange is lock-free only the first
 * post since the scheduler took its flags writes). A post to NULL, or to a signal registered
 * nowhere, does nothing. The scheduler's next cycle turns the post into a
 * wake-up of the first task in MT_SIGNAL_WAIT. No post is lost: posts that
 * come between two cycles merge into one, and a post before anyone waits
 * is kept (at most one). A thread's post never leaves the loop waking for
 * nothing: a byte that arrives after its flags were taken costs one cycle.
 * An idle hook that sleeps until an interrupt should not sleep if
 * mt_sched_signalled(s) (check it with interrupts masked). */
MT_API int mt_signal_init(mt_sched *s, mt_signal *sig);
MT_API void mt_signal_post(mt_signal *sig);
MT_API int mt_sched_signalled(const mt_sched *s);

/* ---- Data from an interrupt handler: the ring -----------------------------
 * An mt_ring carries fixed-size items from one producer (an interrupt
 * handler, a signal handler or one thread) to one consumer (a task of the
 * scheduler, or plain code between cycles), with no lock and no
 * allocation: each side writes only its own index, and the producer's
 * store of an item is ordered before the index that publishes it (the
 * same atomics, or fences, as mt_signal). A put wakes the consumer through
 * the ring's own mt_signal, so puts between two cycles cost one wake-up,
 * and the waiter is woken only when the ring holds an item.
 *
 * mt_ring_init(s, r, buf, size, capacity), from plain code before use, on
 * a zeroed ring (static storage, "= {0}") or one initialised before:
 * `buf` holds `capacity` items of `size` bytes (all of them usable), and
 * the ring is registered with `s` as mt_signal_init does (mt_sched_merge
 * moves it, mt_sched_destroy forgets it: puts then store items but wake
 * no one). Initialising it again empties it; no put may run meanwhile, nor
 * a consumer wait. Returns 0, MT_EINVAL (NULL, a size or capacity of 0, a
 * capacity above MT_RING_CAP_MAX, a buffer over PTRDIFF_MAX bytes), or
 * mt_signal_init's errors. The ring's signal is its own: a ring cannot be
 * a clause of MT_CHOOSE.
 * mt_ring_put(r, item), the producer only (an interrupt handler may call
 * it): copies `*item` in and wakes the consumer. 0, MT_EAGAIN when the
 * ring is full (the item is not stored: count drops yourself), MT_EINVAL
 * (NULL, or a ring never initialised).
 * mt_ring_get(r, item), the consumer only: copies the oldest item out
 * without waiting. 0, MT_EAGAIN when empty, MT_EINVAL.
 * mt_ring_count(r): the items held, as the producer or the consumer sees
 * it (0 for NULL).
 * MT_RING_GET(t, r, item, timeout), in a task, the consumer: waits up to
 * `timeout` for an item and copies it to `*item` (evaluated again when the
 * task resumes). Raises MT_EINVAL, MT_ETIMEDOUT, and MT_EAGAIN if a second
 * consumer took the item it was woken for (a misuse: one consumer per
 * ring). Items come in the order they were put; none is lost or
 * duplicated. As with signals, a task that waits on a ring with no
 * timeout is stranded for mt_sched_run when nothing else can run: a
 * low-power loop calls mt_sched_run_once(s, MT_FOREVER) instead. */
#define MT_RING_CAP_MAX                                                      \
    ((size_t)((MT_RING_INDEX_T)-1 < (unsigned)-1 ? (MT_RING_INDEX_T)-1 : (unsigned)-1) / 2 + 1)
MT_API int mt_ring_init(mt_sched *s, mt_ring *r, void *buf, size_t size, size_t capacity);
MT_API int mt_ring_put(mt_ring *r, const void *item);
MT_API int mt_ring_get(mt_ring *r, void *item);
MT_API size_t mt_ring_count(const mt_ring *r);

#if MT_THREADS
/* ---- Threads: the channel ---------------------------------------------------
 * A scheduler belongs to the thread that runs it: only that thread may
 * call its functions, and its tasks' (the default scheduler is one per
 * thread, see mt_default). Between threads there are two ways in, both
 * safe from any thread: mt_signal_post (a wake-up) and the channel (data
 * and a wake-up). Posts to one scheduler coalesce: the first since its
 * last cycle writes one byte to its self-pipe, the rest only set flags.
 * A post reads the scheduler it wakes: destroy or merge a scheduler only
 * once no other thread can post to it or put into its channels (stop
 * them, join them), as you would free any memory other threads use.
 *
 * An mt_chan is a bounded queue of fixed-size items in the caller's
 * storage that producers on any thread put into and the tasks of one
 * scheduler, its owner, get from. Items keep each producer's order; none
 * is lost or duplicated. Producers take turns through a lock held for one
 * copy (a producer that finds it held spins, and yields its core every 64
 * turns); the consumer takes no lock. A put wakes the owner as a post
 * does: a burst of puts between two of its cycles costs one wake-up.
 *
 * mt_chan_init(s, c, buf, size, capacity), on the owner's thread, before
 * any producer starts (starting a thread after it orders it; otherwise
 * hand the channel over as you would any data): as mt_ring_init, with the
 * same errors; `buf` holds `capacity` items of `size` bytes.
 * mt_chan_put(c, item), any thread (not a signal handler: it may spin on
 * the lock of the code it interrupted), never waits: 0, MT_EAGAIN when full
 * (the item is not stored), MT_EINVAL (NULL, or a channel never
 * initialised).
 * mt_chan_get(c, item), the owner's thread, never waits: 0, MT_EAGAIN
 * when empty, MT_EINVAL. mt_chan_count(c): the items held (0 for NULL).
 * MT_CHAN_GET(t, c, item, timeout), a task of the owner: as MT_RING_GET,
 * but a task waiting on a channel keeps mt_sched_run going (the producers,
 * on other threads, are not the scheduler's to see).
 * MT_CHAN_PUT(t, c, item, timeout), a task of any scheduler: puts, waiting
 * up to `timeout` for room. Raises MT_EINVAL, MT_ETIMEDOUT. The consumer
 * runs on another thread and cannot wake it, so while the channel is full
 * the task is woken to try again once a tick (its scheduler blocks at most
 * a tick meanwhile, mt_sched_timeout too): size channels so that a full one
 * is rare, the back pressure it is. Producers waiting for room are not
 * served in order, and keep mt_sched_run going. `timeout` must evaluate
 * the same each time: a retry waits what is left of the first deadline.
 * A cancel while the task is woken to try again ends the wait with
 * MT_ECANCELED, as it would while parked. */
MT_API int mt_chan_init(mt_sched *s, mt_chan *c, void *buf, size_t size, size_t capacity);
MT_API int mt_chan_put(mt_chan *c, const void *item);
MT_API int mt_chan_get(mt_chan *c, void *item);
MT_API size_t mt_chan_count(const mt_chan *c);

/* ---- Threads: blocking work offloaded -------------------------------------
 * A task that must make a blocking call (getaddrinfo, a file read, a
 * compression) hands it to a pool of worker threads and waits, while its
 * scheduler runs the others. The pool is shared: tasks of any scheduler,
 * on any thread, may use it.
 *
 * mt_pool_start(p, n), any thread, on a zeroed or stopped pool: starts
 * `n` worker threads (1 to MT_POOL_MAX), which block every signal (so
 * handlers run on your threads). 0, MT_EINVAL, MT_EBUSY (started already), MT_ESYS(e)
 * (nothing is left started).
 * mt_pool_stop(p): lets the work queued and running finish, then joins the
 * workers; the pool may be started again. 0, MT_EINVAL (NULL, or not
 * started). No wait may start on the pool meanwhile (MT_EINVAL after);
 * waits whose work finished still end well after it: the pool's lock is
 * made once and never destroyed, so a pool is not freed while in use.
 *
 * MT_OFFLOAD(t, p, w, timeout), in a task: queues `w`, whose fn a worker
 * calls with `w`, and waits up to `timeout` for it to return; then w's
 * result is the task's to read. Raises MT_EINVAL (NULL, a pool not
 * started or stopping, no fn), MT_EBUSY (w is queued, running, or its
 * last wait not yet over: one wait per work at a time), MT_ETIMEDOUT,
 * mt_signal_init's errors (a work's wake-up is registered with the waiting
 * task's scheduler for that wait only). A scheduler with tasks waiting for
 * offloaded work cannot be merged (MT_EBUSY).
 * A wait that times out or is cancelled leaves the work: unstarted, it is
 * taken off the queue; running, it finishes on its worker, which then
 * calls drop(w) if set (so drop must be safe on a worker thread), and w is
 * free again after that (MT_EBUSY till then). So the storage of `w` must
 * outlive the work, not only the wait: static, or in a frame that lives
 * on. The work itself cannot be interrupted: a timeout abandons it. */
MT_API int mt_pool_start(mt_pool *p, size_t n);
MT_API int mt_pool_stop(mt_pool *p);
#endif

/* Deadlines. mt_deadline: the tick `timeout` ticks after the task's cycle
 * reading (a negative timeout counts as 0: the deadline is now). mt_until: the timeout that ends at `deadline`, 0
 * if it has passed; pass it to any wait, or hand the deadline itself down
 * to a child, so a chain of tasks shares one deadline. Both take the task
 * (for its scheduler's clock) and need `deadline` within MT_TIMEOUT_MAX of
 * now. */
MT_API mt_time mt_deadline(mt_task *t, long timeout);
MT_API long mt_until(mt_task *t, mt_time deadline);

/* 1 if tick `a` comes before tick `b`, wrap-safe (for times less than half
 * the range of mt_time apart). */
#define mt_time_before(a, b)                                                 \
    ((mt_time)((mt_time)(a) - (mt_time)(b)) > (mt_time)(((mt_time)-1) >> 1))

/* ---- Diagnostics -----------------------------------------------------------
 * None of these allocates; each writes whole lines through an mt_out. */

/* Write one line per live task of `s` to `out`: its name, state, the
 * file:line of the wait it is parked at, what it waits on and the time left
 * before its deadline; children indented under the parents that await them.
 * Callable from tasks and from plain code (not from a signal handler: post
 * an mt_signal and dump from a task). The dump calls each task function
 * once to learn its name and file (it returns at MT_BEGIN), so code before
 * MT_BEGIN should only declare and cast. Returns the number of tasks
 * listed, MT_EINVAL (NULL s or out), or MT_ENOTSUP with MT_DUMP 0. */
MT_API int mt_sched_dump(mt_sched *s, mt_out out, void *arg);

/* MT_DEBUG: write the per-wait statistics: for each resume point (function
 * and line; line 0 is the start), how often tasks resumed there and the
 * longest they then ran, in clock ticks, before their next wait. Returns
 * the number of points listed, MT_EINVAL, or MT_ENOTSUP without MT_DEBUG. */
MT_API int mt_sched_stats(const mt_sched *s, mt_out out, void *arg);

/* Where `s` writes its reports: the stranded-task report of mt_sched_run.
 * NULL restores the default: stderr on POSIX. In bare-metal (MT_POSIX 0)
 * and MT_NO_STDIO builds there is no report unless an out is set (so the
 * dump is linked only then). MT_DUMP must be the same in every file. */
MT_API void mt_sched_set_out(mt_sched *s, mt_out out, void *arg);

/* MT_DEBUG: name the task in frame `t` for dumps and reports (a static
 * string; the frame keeps it across adds). Returns 0, MT_EINVAL (NULL t),
 * or MT_ENOTSUP without MT_DEBUG (dumps then name the function). */
MT_API int mt_set_name(mt_task *t, const char *name);

#if !MT_NO_STDIO
/* An mt_out that writes to a stdio stream: pass the FILE * as `arg`. */
MT_API void mt_out_stdio(void *file, const char *line);
#endif

/* ---- Internals used by the macros ---------------------------------------- */

MT_API int mt__raise(mt_task *t, int code, const char *msg, const char *func);
MT_API int mt__query(mt_task *t, const char *func, const char *file);
MT_API int mt__caught(mt_task *t, const char *func);
MT_API int mt__lost(mt_task *t, const char *func);
#if MT_ASSERT
MT_API void mt__enter(mt_task *t);
#endif
MT_API int mt__await(mt_task *t, mt_task *child, mt_fn fn, long timeout);
MT_API void mt__spawn(mt_task *t, mt_group *g, mt_task *child, mt_fn fn);
MT_API int mt__join(mt_task *t, mt_group *g, int n, long timeout);
MT_API int mt__poll_begin(mt_task *t, long timeout);
MT_API int mt__cond_met(mt_task *t, long timeout);
MT_API void mt__wait_end(mt_task *t);
MT_API int mt__sleep(mt_task *t, long ms);
MT_API int mt__queue_get(mt_task *t, mt_queue *q, void *item, long timeout);
MT_API void mt__queue_got(mt_task *t, void *item);
MT_API int mt__queue_put(mt_task *t, mt_queue *q, const void *item, long timeout);
MT_API void mt__queue_putted(mt_task *t, const void *item);
MT_API int mt__event_wait(mt_task *t, mt_event *e, long timeout);
MT_API int mt__sem_wait(mt_task *t, mt_sem *sem, long timeout);
MT_API int mt__signal_wait(mt_task *t, mt_signal *sig, long timeout);
MT_API int mt__ring_wait(mt_task *t, mt_ring *r, void *item, long timeout);
#if MT_THREADS
MT_API mt_ring *mt__chan_ring(mt_chan *c);
MT_API int mt__chan_get_wait(mt_task *t, mt_chan *c, void *item, long timeout);
MT_API int mt__chan_got(mt_task *t, void *item);
MT_API int mt__chan_put_wait(mt_task *t, mt_chan *c, const void *item, long timeout);
MT_API int mt__chan_put_again(mt_task *t, mt_chan *c, const void *item, long timeout);
MT_API int mt__work_start(mt_task *t, mt_pool *p, mt_work *w, long timeout);
MT_API int mt__work_end(mt_task *t, mt_work *w);
#endif
MT_API void mt__ring_got(mt_task *t, void *item);

#ifdef __cplusplus
}
#endif

#endif /* MULTITASK_H */

/* One file of a program may define MT_IMPLEMENTATION before including this
 * header to compile the implementation there (with MT_STATIC, privately). */
#if defined(MT_IMPLEMENTATION) && !defined(MT__IMPLEMENTED)
#define MT__IMPLEMENTED
#include "multitask.c"
#endif

/* MIT License. Copyright (c) 2026 the multitask for C authors.
 *
 * Permission is hereby granted, free of charge, to any person obtaining a
 * copy of this software and associated documentation files (the "Software"),
 * to deal in the Software without restriction, including without limitation
 * the rights to use, copy, modify, merge, publish, distribute, sublicense,
 * and/or sell copies of the Software, and to permit persons to whom the
 * Software is furnished to do so, subject to the following conditions: the
 * above copyright notice and this permission notice shall be included in all
 * copies or substantial portions of the Software. THE SOFTWARE IS PROVIDED
 * "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED. */
