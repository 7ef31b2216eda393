/* Cortex-M port for the target tests, on qemu's microbit (nRF51822: a
 * Cortex-M0, 16 KB of RAM; microbit.ld) and mps2-an386 (Cortex-M4;
 * mps2.ld) boards: vector table, reset, SysTick at 1 kHz, wfi as the idle
 * wait, semihosting for output and the exit code. */
#include <stdint.h>

#include "../port.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

static volatile mt_time ticks = (mt_time)0xFFFFFFF0u; /* wraps at once */

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#ifndef CPU_HZ
#define CPU_HZ 25000000u /* mps2-an386; the micro:bit runs at 16 MHz (run.sh) */
#endif

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

#include "../port_common.h"


mt_time port_ticks(void) { return ticks; }

void port_idle(long ms, mt_sched *s)
{
    mt_time start = ticks;
    while (ms < 0 || (long)(mt_time)(ticks - start) < ms) { /* <0: till a post */
        /* Masked, a pending interrupt still ends wfi, and a post that
         * landed before the mask is seen by the check. */
        __asm__ volatile("cpsid i" ::: "memory");
        if (mt_sched_signalled(s)) {
            __asm__ volatile("cpsie i" ::: "memory");
            return;
        }
        __asm__ volatile("wfi\n\tcpsie i" ::: "memory");
    }
}

void port_init(void)
{
    SYST_RVR = CPU_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* enable, interrupt, processor clock */
}

void SysTick_Handler(void)
{
    ticks++;
    target_tick_isr();
}

static void Default_Handler(void)
{
    port_exit(99);
}

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    port_exit(main());
}

#define V(f) ((uintptr_t)(f))
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    V(&_estack), V(Reset_Handler), V(Default_Handler), V(Default_Handler),
    V(Default_Handler), V(Default_Handler), V(Default_Handler), 0, 0, 0, 0,
    V(Default_Handler), V(Default_Handler), 0, V(Default_Handler),
    V(SysTick_Handler),
};

/* Clang calls the ARM run-time ABI's helpers for structure copies and
 * clears (compiler-rt or a libc has them; libgcc does not). */
void __aeabi_memcpy(void *dst, const void *src, unsigned int n);
void __aeabi_memcpy4(void *dst, const void *src, unsigned int n);
void __aeabi_memcpy8(void *dst, const void *src, unsigned int n);
void __aeabi_memclr(void *dst, unsigned int n);
void __aeabi_memclr4(void *dst, unsigned int n);
void __aeabi_memclr8(void *dst, unsigned int n);
void __aeabi_memset(void *dst, unsigned int n, int c);
void __aeabi_memcpy(void *dst, const void *src, unsigned int n) { (void)memcpy(dst, src, n); }
void __aeabi_memcpy4(void *dst, const void *src, unsigned int n) { (void)memcpy(dst, src, n); }
void __aeabi_memcpy8(void *dst, const void *src, unsigned int n) { (void)memcpy(dst, src, n); }
void __aeabi_memclr(void *dst, unsigned int n) { (void)memset(dst, 0, n); }
void __aeabi_memclr4(void *dst, unsigned int n) { (void)memset(dst, 0, n); }
void __aeabi_memclr8(void *dst, unsigned int n) { (void)memset(dst, 0, n); }
void __aeabi_memset(void *dst, unsigned int n, int c) { (void)memset(dst, c, n); }
