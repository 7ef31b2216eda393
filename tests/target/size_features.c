/* A program whose features grow with LEVEL, for the size table of
 * `make size` (run.sh): what each feature adds to a whole image.
 *   1  one task that yields
 *   2  + a sleep (a tick interrupt drives the clock)
 *   3  + awaiting a child task
 *   4  + a queue hand-off between two tasks
 *   5  + an event and a semaphore
 *   6  + a signal posted from the interrupt handler, waited on by a task
 *   7  + a ring the interrupt handler puts bytes in, read by a task
 *   8  + the task dump (written to a UART)
 * Cortex-M0 (-nostdlib, tests/target/arm/microbit.ld): its own vector table
 * and reset code, no port, no libc. AVR: avr-libc's startup and vectors. */
#include "multitask.h"

#ifndef LEVEL
#define LEVEL 8
#endif

#if defined(__AVR__)
#include <avr/interrupt.h>
#include <avr/io.h>
#include <util/atomic.h>
#define UART_TX(c) (UDR0 = (uint8_t)(c))
#define WAIT_FOR_INTERRUPT() ((void)0) /* a plain spin */
#elif defined(__arm__)
#include <stdint.h>
#define UART_TX(c) (*(volatile uint32_t *)0x4000251Cu = (uint32_t)(c)) /* nRF51 TXD */
#define WAIT_FOR_INTERRUPT() __asm__ volatile("wfi" ::: "memory")
#else
#error "size_features.c: Cortex-M or AVR"
#endif

static mt_sched sched;
static int done;

#if LEVEL >= 2
static volatile mt_time ticks;
#if LEVEL >= 6
static mt_signal sig;
static volatile uint8_t to_post;
#endif
#if LEVEL >= 7
static mt_ring ring;
static uint8_t ring_buf[8];
#endif

/* The 1 kHz tick interrupt (ARM: SysTick, in the vector table below). */
static void tick_isr(void)
{
    ticks++;
#if LEVEL >= 6
    if (++to_post == 10) {
        to_post = 0;
        mt_signal_post(&sig);
    }
#endif
#if LEVEL >= 7
    if (to_post == 5) {
        uint8_t b = (uint8_t)ticks;
        (void)mt_ring_put(&ring, &b);
    }
#endif
}

static mt_time now(void *arg)
{
    mt_time t;
    (void)arg;
#if defined(__AVR__)
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { t = ticks; }
#else
    t = ticks;
#endif
    return t;
}

static void idle(void *arg, long ms)
{
    mt_time start = now(arg);
    while (ms < 0 || (long)(mt_time)(now(arg) - start) < ms) {
#if LEVEL >= 6
        if (mt_sched_signalled(&sched))
            return;
#endif
        WAIT_FOR_INTERRUPT();
    }
}
#endif

#if LEVEL >= 3
struct child { mt_task task; int v; };
static int child(mt_task *t)
{
    struct child *f = (struct child *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    f->v = 1;
    MT_END(t);
}
#endif

#if LEVEL >= 4
static mt_queue q;
static int q_storage[2];
#endif
#if LEVEL >= 5
static mt_event ev;
static mt_sem sem;
#endif

#if LEVEL >= 4
/* The other side: puts three items, then (5) waits for the event and
 * signals the semaphore. */
struct helper { mt_task task; int i; };
static int helper(mt_task *t)
{
    struct helper *f = (struct helper *)t;
    MT_BEGIN(t);
    for (f->i = 1; f->i <= 3; f->i++)
        MT_QUEUE_PUT(t, &q, &f->i, MT_FOREVER);
#if LEVEL >= 5
    MT_EVENT_WAIT(t, &ev, MT_FOREVER);
    (void)mt_sem_signal(&sem);
#endif
    MT_END(t);
}
static struct helper h;
#endif

#if LEVEL >= 8
static void out(void *arg, const char *line)
{
    (void)arg;
    while (*line)
        UART_TX(*line++);
}
#endif

struct job { mt_task task; int i, sum;
#if LEVEL >= 3
    struct child c;
#endif
#if LEVEL >= 4
    int item;
#endif
#if LEVEL >= 7
    uint8_t byte;
#endif
};
static int job(mt_task *t)
{
    struct job *f = (struct job *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 3; f->i++)
        MT_YIELD(t);
#if LEVEL >= 2
    MT_SLEEP(t, 5);
#endif
#if LEVEL >= 3
    MT_AWAIT(t, &f->c.task, child, MT_FOREVER);
    f->sum += f->c.v;
#endif
#if LEVEL >= 4
    for (f->i = 0; f->i < 3; f->i++) {
        MT_QUEUE_GET(t, &q, &f->item, MT_FOREVER);
        f->sum += f->item;
    }
#endif
#if LEVEL >= 5
    mt_event_set(&ev);
    MT_SEM_WAIT(t, &sem, MT_FOREVER);
#endif
#if LEVEL >= 6
    MT_SIGNAL_WAIT(t, &sig, 100); /* mt_sched_run returns when no timer is left */
#endif
#if LEVEL >= 7
    MT_RING_GET(t, &ring, &f->byte, 100);
    f->sum += f->byte;
#endif
#if LEVEL >= 8
    (void)mt_sched_dump(&sched, out, 0);
#endif
    done = 1 + f->sum;
    MT_END(t);
}
static struct job j;

static void start_tick(void)
{
#if LEVEL >= 2
#if defined(__AVR__)
    OCR0A = 249; /* 16 MHz / 64 / 250: 1 kHz */
    TCCR0A = 1 << WGM01;
    TCCR0B = (1 << CS01) | (1 << CS00);
    TIMSK0 = 1 << OCIE0A;
    sei();
#else
    *(volatile uint32_t *)0xE000E014u = 16000u - 1u; /* SysTick reload: 1 kHz at 16 MHz */
    *(volatile uint32_t *)0xE000E018u = 0;
    *(volatile uint32_t *)0xE000E010u = 7u; /* enable, interrupt, processor clock */
#endif
#endif
}

int main(void)
{
    int r;
    start_tick();
#if LEVEL >= 2
    mt_sched_set_clock(&sched, now, idle, 0);
#endif
#if LEVEL >= 4
    (void)mt_queue_init(&q, q_storage, sizeof q_storage[0], 2, 0, 0);
    (void)mt_sched_add(&sched, &h.task, helper);
#endif
#if LEVEL >= 5
    mt_event_init(&ev);
    mt_sem_init(&sem, 0);
#endif
#if LEVEL >= 6
    (void)mt_signal_init(&sched, &sig);
#endif
#if LEVEL >= 7
    (void)mt_ring_init(&sched, &ring, ring_buf, 1, sizeof ring_buf);
#endif
    (void)mt_sched_add(&sched, &j.task, job);
    r = mt_sched_run(&sched);
    return r != 0 || !done;
}

#if defined(__AVR__) && LEVEL >= 2
ISR(TIMER0_COMPA_vect) { tick_isr(); }
#endif

#if defined(__arm__)
/* Startup: the vector table, .data and .bss, main; and the two functions
 * the compiler may call for structure copies (no libc). */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
void Reset_Handler(void);
void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    (void)main();
    for (;;) {
    }
}

static void Default_Handler(void)
{
    for (;;) {
    }
}

#if LEVEL >= 2
#define TICK_HANDLER tick_isr
#else
#define TICK_HANDLER Default_Handler
#endif
#define V(f) ((uintptr_t)(f))
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    V(&_estack), V(Reset_Handler), V(Default_Handler), V(Default_Handler),
    V(Default_Handler), V(Default_Handler), V(Default_Handler), 0, 0, 0, 0,
    V(Default_Handler), V(Default_Handler), 0, V(Default_Handler),
    V(TICK_HANDLER),
};

#include "mem.h"
#endif
