/* Core behaviour tests that run on a microcontroller (or its emulator):
 * no cmocka, no libc, no heap. A port supplies port_init, port_putc,
 * port_exit, a millisecond tick and an idle wait, and calls
 * target_tick_isr() from its 1 kHz timer interrupt. Output: one line per
 * check, then "EXIT <failures>". The tick starts just below the 32-bit wrap,
 * so every timer here crosses it. */
#include "multitask.h"
#include "port.h"

static int failures, checks;

static void puts_(const char *s)
{
    while (*s)
        port_putc(*s++);
}

static void putn(long n)
{
    char b[12];
    int i = 0;
    if (n < 0) {
        port_putc('-');
        n = -n;
    }
    do
        b[i++] = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    while (i)
        port_putc(b[--i]);
}

/* Lines, not the checks' text: on AVR every string costs RAM. */
static void check(int ok, int line)
{
    checks++;
    if (!ok)
        failures++;
    puts_(ok ? "ok " : "FAIL ");
    putn(checks);
    puts_(" line ");
    putn(line);
    puts_("\n");
}
#define CHECK(cond) check((cond) != 0, __LINE__)

static mt_sched sched;
static mt_signal tick_signal;
/* The tick has work only while ticks_to_post or ring_ticks_left is not 0:
 * the 8051 port's interrupt reads them, and calls target_tick_isr only
 * then, for its stack. */
static volatile unsigned ticks_to_post; /* the ISR posts when it reaches 0 */

/* The ring test: while ring_ticks_left, each tick puts a numbered item
 * (number and complement: a torn copy shows) into a ring of 4. */
struct sample { unsigned char seq, inv; };
/* Where int is 16 bits the CPU may split a wider index: it must be a byte. */
typedef char ring_index_fits[sizeof(int) >= 4 || sizeof(MT_RING_INDEX_T) == 1 ? 1 : -1];
static mt_ring ring;
static struct sample ring_buf[4];
static volatile unsigned char ring_ticks_left, ring_next, ring_drops;

/* The 8051 port's tick calls this only while ticks_to_post or
 * ring_ticks_left is non-zero: other per-tick work goes there too. */
void target_tick_isr(void)
{
    if (ticks_to_post && --ticks_to_post == 0)
        mt_signal_post(&tick_signal);
    if (ring_ticks_left) {
        struct sample x;
        ring_ticks_left--;
        x.seq = ring_next;
        x.inv = (unsigned char)~ring_next;
        if (mt_ring_put(&ring, &x) == 0)
            ring_next++;
        else
            ring_drops++;
    }
}

static char trail[32];
static int ntrail;
static void mark(char c)
{
    if (ntrail < (int)sizeof trail - 1)
        trail[ntrail++] = c;
    trail[ntrail] = 0;
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* ---- tasks ---- */

struct turn { mt_task task; char c; int i; };

static int turn(mt_task *t)
{
    struct turn *f = (struct turn *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 3; f->i++) {
        mark(f->c);
        MT_YIELD(t);
    }
    MT_END(t);
}

struct kid { mt_task task; int value; int fail; long ms; };

static int kid(mt_task *t)
{
    struct kid *f = (struct kid *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->ms ? f->ms : 3);
    if (f->fail)
        MT_RAISE(t, MT_EUSER - 1, "kid");
    f->value = 42;
    MT_END(t);
}

struct parent {
    mt_task task;
    struct kid k;
    int value, caught, timed_out, kid_state;
};

static int parent(mt_task *t)
{
    struct parent *f = (struct parent *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->k.task, kid, MT_FOREVER);
    f->value = f->k.value;
    f->k.fail = 1;
    MT_CATCH(t, MT_AWAIT(t, &f->k.task, kid, MT_FOREVER));
    f->caught = mt_err(t);
    f->k.fail = 0;
    MT_CATCH(t, MT_AWAIT(t, &f->k.task, kid, 1)); /* kid needs 3 ticks */
    f->timed_out = mt_err(t);
    f->kid_state = mt_state(&f->k.task);
    MT_END(t);
}

/* A task group: join all, an error that rises at the join, a race. */
struct grouper {
    mt_task task;
    mt_group g;
    mt_task *slots[2];
    struct kid k[2];
    int all, err, loser_state;
    mt_task *first;
};

static int grouper(mt_task *t)
{
    struct grouper *f = (struct grouper *)t;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->slots, 2);
    MT_SPAWN(t, &f->g, &f->k[0].task, kid);
    MT_SPAWN(t, &f->g, &f->k[1].task, kid);
    MT_JOIN(t, &f->g, MT_FOREVER);
    f->all = f->k[0].value + f->k[1].value;
    f->k[1].fail = 1;
    MT_SPAWN(t, &f->g, &f->k[0].task, kid);
    MT_SPAWN(t, &f->g, &f->k[1].task, kid);
    MT_CATCH(t, MT_JOIN(t, &f->g, MT_FOREVER));
    f->err = mt_err(t);
    f->k[1].fail = 0;
    f->k[0].ms = 100;
    MT_SPAWN(t, &f->g, &f->k[0].task, kid);
    MT_SPAWN(t, &f->g, &f->k[1].task, kid);
    MT_JOIN_FIRST(t, &f->g, 1, MT_FOREVER);
    f->first = mt_group_first(&f->g);
    f->loser_state = mt_state(&f->k[0].task);
    MT_END(t);
}

struct sleeper { mt_task task; long ms; char c; };

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->ms);
    mark(f->c);
    MT_END(t);
}

static int qstore[1];
static mt_queue q;

struct producer { mt_task task; int i, item; };

static int producer(mt_task *t)
{
    struct producer *f = (struct producer *)t;
    MT_BEGIN(t);
    for (f->i = 1; f->i <= 5; f->i++) {
        f->item = f->i;
        MT_QUEUE_PUT(t, &q, &f->item, 100);
    }
    MT_END(t);
}

struct consumer { mt_task task; int item, expect, sum, order_ok, timeout; };

static int consumer(mt_task *t)
{
    struct consumer *f = (struct consumer *)t;
    MT_BEGIN(t);
    f->order_ok = 1;
    for (;;) {
        MT_CATCH(t, MT_QUEUE_GET(t, &q, &f->item, 20));
        if (mt_err(t)) {
            f->timeout = mt_err(t);
            break;
        }
        f->order_ok &= f->item == f->expect + 1;
        f->expect = f->item;
        f->sum += f->item;
    }
    MT_END(t);
}

static mt_event ev;
static mt_sem sem;

struct evwaiter { mt_task task; char c; };

static int evwaiter(mt_task *t)
{
    struct evwaiter *f = (struct evwaiter *)t;
    MT_BEGIN(t);
    MT_EVENT_WAIT(t, &ev, MT_FOREVER);
    mark(f->c);
    MT_SEM_WAIT(t, &sem, MT_FOREVER);
    mark((char)(f->c - 'a' + 'A'));
    MT_END(t);
}

static int releaser(mt_task *t)
{
    MT_BEGIN(t);
    MT_SLEEP(t, 2);
    mt_event_set(&ev);
    MT_SLEEP(t, 2);
    mt_sem_signal(&sem);
    mt_sem_signal(&sem);
    mt_sem_signal(&sem);
    MT_END(t);
}

struct victim { mt_task task; int cleaned; };

static int victim(mt_task *t)
{
    struct victim *f = (struct victim *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, 1000);
    MT_FINALLY(t);
    f->cleaned = 1;
    MT_END(t);
}

struct irqwaiter { mt_task task; mt_time start, waited; int err; };

static int irqwaiter(mt_task *t)
{
    struct irqwaiter *f = (struct irqwaiter *)t;
    MT_BEGIN(t);
    f->start = mt_sched_now(&sched);
    ticks_to_post = 20; /* the timer interrupt posts in 20 ms */
    MT_CATCH(t, MT_SIGNAL_WAIT(t, &tick_signal, 1000));
    f->err = mt_err(t);
    f->waited = (mt_time)(mt_sched_now(&sched) - f->start);
    MT_END(t);
}

/* Waits for the interrupt with no deadline at all: the idle hook must be
 * told MT_FOREVER, so the port sleeps until the interrupt. */
struct irqforever { mt_task task; int err; };

static int irqforever(mt_task *t)
{
    struct irqforever *f = (struct irqforever *)t;
    MT_BEGIN(t);
    ticks_to_post = 20;
    MT_CATCH(t, MT_SIGNAL_WAIT(t, &tick_signal, MT_FOREVER));
    f->err = mt_err(t);
    MT_END(t);
}

/* Takes what the tick interrupt puts in the ring: 40 items, in order,
 * none torn. */
struct ringreader { mt_task task; struct sample x; unsigned char n, bad; int err; };

static int ringreader(mt_task *t)
{
    struct ringreader *f = (struct ringreader *)t;
    MT_BEGIN(t);
    ring_ticks_left = 60;
    while (f->n < 40) {
        MT_CATCH(t, MT_RING_GET(t, &ring, &f->x, 100));
        f->err = mt_err(t);
        if (f->err)
            break;
        if (f->x.seq != f->n || f->x.inv != (unsigned char)~f->n)
            f->bad++;
        f->n++;
    }
    MT_END(t);
}

static unsigned idle_forever; /* idle hook calls with no deadline */

/* ---- the run ---- */

static mt_time clock_now(void *arg)
{
    (void)arg;
    return port_ticks();
}

static void clock_idle(void *arg, long ms)
{
    (void)arg;
    if (ms < 0)
        idle_forever++;
    port_idle(ms, &sched);
}

int main(void)
{
    static struct turn a, b;
    static struct parent p;
    static struct sleeper s1, s2, s3;
    static struct producer pr;
    static struct consumer co;
    static struct evwaiter e1, e2, e3;
    static mt_task rel;
    static struct victim v;
    static struct irqwaiter iw;
    static struct ringreader rr;
    static struct irqforever fw;
    unsigned cycles = 0;

    port_init();
    puts_("multitask target tests\n");
    mt_sched_init(&sched);
    mt_sched_set_clock(&sched, clock_now, clock_idle, 0);
#if MT_TIMER_LIST
    CHECK(sizeof(mt_task) <= 4 * sizeof(void *) + 16);
#else /* the wheel's second link and arming order (the PowerPC Linux build) */
    CHECK(sizeof(mt_task) <= 6 * sizeof(void *) + 16);
#endif
#if !MT_DUMP
    CHECK(mt_sched_dump(&sched, 0, 0) == MT_ENOTSUP);
#endif
    /* On AVR (avr-gcc) the texts come from flash, through a buffer. */
    CHECK(same(mt_strerror(MT_ETIMEDOUT), "timed out"));
    CHECK(same(mt_strerror(MT_EUNHANDLED), "a top-level task ended with an unhandled error"));
    CHECK(same(mt_errname(MT_ECANCELED), "MT_ECANCELED") && same(mt_strerror(MT_EUSER - 1), "user-defined error"));

    a.c = 'a', b.c = 'b';
    mt_sched_add(&sched, &a.task, turn);
    mt_sched_add(&sched, &b.task, turn);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(same(trail, "ababab"));

    mt_sched_add(&sched, &p.task, parent);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(p.value == 42);
    CHECK(p.caught == MT_EUSER - 1);
    CHECK(p.timed_out == MT_ETIMEDOUT);
    CHECK(p.kid_state == MT_CANCELLED);

    {
        static struct grouper g;
        mt_sched_add(&sched, &g.task, grouper);
        CHECK(mt_sched_run(&sched) == 0);
        CHECK(g.all == 84);
        CHECK(g.err == MT_EUSER - 1);
        CHECK(g.first == &g.k[1].task);
        CHECK(g.loser_state == MT_CANCELLED);
        CHECK(mt_state(&g.task) == MT_DONE);
    }

    ntrail = 0;
    s1.ms = 30, s1.c = '3';
    s2.ms = 10, s2.c = '1';
    s3.ms = 20, s3.c = '2';
    mt_sched_add(&sched, &s1.task, sleeper);
    mt_sched_add(&sched, &s2.task, sleeper);
    mt_sched_add(&sched, &s3.task, sleeper);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(same(trail, "123"));

    CHECK(mt_queue_init(&q, qstore, sizeof(int), 1, 0, 0) == 0);
    mt_sched_add(&sched, &pr.task, producer);
    mt_sched_add(&sched, &co.task, consumer);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(co.sum == 15);
    CHECK(co.order_ok);
    CHECK(co.timeout == MT_ETIMEDOUT);
#if MT_NO_HEAP
    CHECK(mt_queue_init(&q, 0, sizeof(int), 0, 0, 0) == MT_ENOTSUP);
#else
    CHECK(mt_queue_init(&q, 0, sizeof(int), 0, 0, 0) == 0);
    CHECK(mt_queue_free(&q) == 0);
#endif

    ntrail = 0;
    mt_event_init(&ev);
    mt_sem_init(&sem, 0);
    e1.c = 'x', e2.c = 'y', e3.c = 'z';
    mt_sched_add(&sched, &e1.task, evwaiter);
    mt_sched_add(&sched, &e2.task, evwaiter);
    mt_sched_add(&sched, &e3.task, evwaiter);
    mt_sched_add(&sched, &rel, releaser);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(same(trail, "xyzXYZ"));

    mt_sched_add(&sched, &v.task, victim);
    mt_sched_run_once(&sched, 0);
    CHECK(mt_state(&v.task) == MT_WAITING);
    mt_cancel(&v.task);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(v.cleaned == 1);
    CHECK(mt_state(&v.task) == MT_CANCELLED);

    CHECK(mt_signal_init(&sched, &tick_signal) == 0);
    mt_sched_add(&sched, &iw.task, irqwaiter);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(iw.err == 0);
    CHECK(iw.waited >= 19 && iw.waited < 1000);
    CHECK(mt_sched_live(&sched) == 0);

    mt_sched_add(&sched, &fw.task, irqforever); /* the low-power loop */
    while (mt_sched_live(&sched) && cycles < 1000) {
        mt_sched_run_once(&sched, MT_FOREVER);
        cycles++;
    }
    CHECK(mt_state(&fw.task) == MT_DONE && fw.err == 0);
    CHECK(idle_forever >= 1);
    CHECK(cycles <= 4);

    CHECK(mt_ring_init(&sched, &ring, ring_buf, sizeof ring_buf[0], 4) == 0);
    mt_sched_add(&sched, &rr.task, ringreader);
    CHECK(mt_sched_run(&sched) == 0);
    CHECK(rr.err == 0 && rr.n == 40 && rr.bad == 0);
    while (ring_ticks_left) { /* the interrupt's last puts: no one takes them */
    }
    CHECK(mt_ring_count(&ring) == (unsigned char)(ring_next - 40));
    CHECK(ring_next + ring_drops == 60 && mt_ring_count(&ring) == 4);

    puts_("EXIT ");
    putn(failures);
    puts_("\n");
    port_exit(failures);
    return failures;
}
