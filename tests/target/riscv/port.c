/* RV32IMAC port for the target tests, on qemu's virt board (-bios none):
 * start-up, the machine timer (CLINT, 10 MHz) at 1 kHz, wfi as the idle
 * wait, semihosting for output and the exit code. Machine mode only. */
#include <stdint.h>

#include "../port.h"

extern uint32_t _sbss, _ebss, _estack;
int main(void);
void port_start(void);

static volatile mt_time ticks = (mt_time)0xFFFFFFF0u; /* wraps at once */

#define CLINT_MTIMECMP_LO (*(volatile uint32_t *)0x02004000u) /* hart 0 */
#define CLINT_MTIMECMP_HI (*(volatile uint32_t *)0x02004004u)
#define CLINT_MTIME_LO (*(volatile uint32_t *)0x0200BFF8u)
#define CLINT_MTIME_HI (*(volatile uint32_t *)0x0200BFFCu)
#define TIMER_HZ 10000000u /* virt's timebase-frequency */

static uint64_t next_tick; /* the compare value of the next tick */

/* The semihosting call: the three instructions, uncompressed, are its
 * marker; aligned so that they share one page. */
static int semihost(int op, const void *arg)
{
    register int a0 __asm__("a0") = op;
    register const void *a1 __asm__("a1") = arg;
    __asm__ volatile(".option push\n\t.option norvc\n\t.balign 16\n\t"
                     "slli x0, x0, 0x1f\n\tebreak\n\tsrai x0, x0, 7\n\t.option pop"
                     : "+r"(a0) : "r"(a1) : "memory");
    return a0;
}

#include "../port_common.h"


mt_time port_ticks(void) { return ticks; }

void port_idle(long ms, mt_sched *s)
{
    mt_time start = ticks;
    while (ms < 0 || (long)(mt_time)(ticks - start) < ms) { /* <0: till a post */
        /* With interrupts masked (mstatus.MIE), a pending enabled interrupt
         * still ends wfi, and a post that landed before the mask is seen
         * by the check. */
        __asm__ volatile("csrc mstatus, 8" ::: "memory");
        if (mt_sched_signalled(s)) {
            __asm__ volatile("csrs mstatus, 8" ::: "memory");
            return;
        }
        __asm__ volatile("wfi\n\tcsrs mstatus, 8" ::: "memory");
    }
}

static void set_compare(uint64_t when)
{
    CLINT_MTIMECMP_HI = 0xFFFFFFFFu; /* no early match while the halves change */
    CLINT_MTIMECMP_LO = (uint32_t)when;
    CLINT_MTIMECMP_HI = (uint32_t)(when >> 32);
}

static uint64_t mtime(void)
{
    uint32_t hi, lo;
    do {
        hi = CLINT_MTIME_HI;
        lo = CLINT_MTIME_LO;
    } while (hi != CLINT_MTIME_HI);
    return (uint64_t)hi << 32 | lo;
}

__attribute__((interrupt("machine"), aligned(4))) static void trap(void)
{
    uint32_t cause;
    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    if (cause != 0x80000007u) /* anything but the machine timer */
        port_exit(99);
    next_tick += TIMER_HZ / 1000u;
    set_compare(next_tick);
    ticks++;
    target_tick_isr();
}

void port_init(void)
{
    next_tick = mtime() + TIMER_HZ / 1000u;
    set_compare(next_tick);
    __asm__ volatile("csrw mtvec, %0" ::"r"(trap));
    __asm__ volatile("csrs mie, %0" ::"r"(1u << 7)); /* MTIE */
    __asm__ volatile("csrs mstatus, 8" ::: "memory"); /* MIE */
}

/* Entered from _start with the stack set. */
void port_start(void)
{
    uint32_t *p;
    for (p = &_sbss; p < &_ebss;)
        *p++ = 0;
    port_exit(main());
}

__asm__(".section .text.start\n"
        ".globl _start\n"
        "_start:\n"
        "    la sp, _estack\n"
        "    j port_start\n");

