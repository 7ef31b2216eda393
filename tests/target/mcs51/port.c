/* 8051 port for the target tests (an 8052 with 64 KB of xdata, SDCC, under
 * ucsim's s51): the serial port for output (SBUF, polling TI; baud rate
 * from Timer 1), Timer 2 in 16-bit auto-reload at 1 kHz as the interrupt,
 * the PCON idle mode as the idle wait, and ucsim's simulator interface (a
 * byte of xdata, s51 -I if=xram[0xffff]) to stop the run.
 *
 * SDCC puts an interrupt's vector only in the module that defines main, and
 * only for the handlers that module declares: this file is the program's
 * one module with the library's tests, so it includes target_tests.c at its
 * end (run.sh compiles this file and multitask.c). Build: sdcc -mmcs51
 * --std-c99 --model-large --stack-auto (the tasks are called through
 * function pointers and the library functions run in the interrupt too:
 * they must be reentrant), --nogcse for this file (SDCC 4.2's GCSE
 * miscompiles the consumer task, a `case` inside a `for`: wrong sum).
 * Run: s51 -t 8052 -X 12M -G -I if=xram[0xffff] -S out=FILE tests.ihx
 *
 * run.sh only builds it: the suite does not fit the 8051's stack. With
 * --stack-auto every frame is on the 256-byte internal stack (return
 * addresses, 3-byte generic pointers, locals); an await starts its child
 * within the parent's call, 18 frames deep, and overflows it at check 5.
 * Without the nested awaits the rest passes, or overflows when the tick
 * lands at the deepest point (--xstack moves frames to xdata but the code
 * outgrows 64 KB). */
#include <8052.h>

#include "../port.h"

#define CPU_HZ 12000000ul                /* s51 -X 12M */
#define T2_RELOAD (65536u - CPU_HZ / 12 / 1000) /* machine cycles per ms */
#define SIF (*(volatile __xdata unsigned char *)0xFFFFu) /* s51 -I if=xram[0xffff] */
#define SIF_STOP 's'

static volatile mt_time ticks = (mt_time)0xFFFFFFF0ul; /* wraps at once */

void port_timer2_isr(void) __interrupt(5); /* TF2: vector 0x2B */

void port_putc(char c)
{
    if (c == '\n')
        port_putc('\r');
    while (!TI) {
    }
    TI = 0;
    SBUF = c;
}

void port_exit(int code)
{
    (void)code; /* the harness reads the EXIT line */
    while (!TI) { /* the last character out */
    }
    EA = 0;
    SIF = SIF_STOP; /* s51 -G quits here */
    for (;;) {
    }
}

mt_time port_ticks(void)
{
    mt_time t;
    unsigned char ea = EA;
    EA = 0; /* four bytes on an 8-bit CPU: not torn by the tick */
    t = ticks;
    EA = ea;
    return t;
}

void port_idle(long ms, mt_sched *s)
{
    mt_time start = port_ticks();
    while (ms < 0 || (long)(mt_time)(port_ticks() - start) < ms) { /* <0: till a post */
        EA = 0;
        if (mt_sched_signalled(s)) {
            EA = 1;
            return;
        }
        /* An interrupt is not taken in the instruction after a write to IE:
         * the CPU is idle before the tick can run, and the tick ends it. */
        __asm
            setb _EA
            orl _PCON, #0x01
        __endasm;
    }
}

void port_init(void)
{
    /* The serial port: mode 1 (8 bits), Timer 1 mode 2 as the baud clock;
     * TI set, as if a character had gone out. */
    SCON = 0x52;
    TMOD = (TMOD & 0x0F) | 0x20;
    TH1 = 0xFF;
    TL1 = 0xFF;
    PCON |= 0x80; /* SMOD: 62500 baud at 12 MHz */
    TR1 = 1;
    /* Timer 2: 16-bit auto-reload, an interrupt every millisecond. */
    T2CON = 0;
    RCAP2H = (unsigned char)(T2_RELOAD >> 8);
    RCAP2L = (unsigned char)T2_RELOAD;
    TH2 = RCAP2H;
    TL2 = RCAP2L;
    ET2 = 1;
    TR2 = 1;
    EA = 1;
}

void port_timer2_isr(void) __interrupt(5)
{
    TF2 = 0; /* not cleared by the hardware */
    ticks++;
    target_tick_isr();
}

#include "../target_tests.c"
