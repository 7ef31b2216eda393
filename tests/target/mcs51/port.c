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
 * they must be reentrant), -DCPU_HZ=<s51's -X>, --nogcse for this file
 * (SDCC 4.2's GCSE miscompiles the consumer task, a `case` inside a `for`:
 * wrong sum); the library with --nogcse --fomit-frame-pointer, for the
 * stack (below). Run (run.sh): printf 'run\nquit\n' | s51 -t 8052 -X 48M
 * -I if=xram[0xffff] -S out=FILE tests.ihx (with -G, s51 quits without
 * writing out the last lines of FILE).
 *
 * The stack. With --stack-auto every frame is on the internal stack, 223
 * bytes from 0x21 (below it: the registers, SDCC's _bp, this file's
 * isr_save, the bit registers at 0x20): return addresses, 3-byte generic
 * pointers, locals. An await runs its child within the parent's call: the
 * nested awaits reach 213 bytes with the library built as above (over 223
 * without --nogcse --fomit-frame-pointer; the group test: 203, 167 with).
 * So the tick costs 2 bytes when the tests have nothing for it to do (the
 * return address: it keeps the registers it uses in isr_save, not on the
 * stack); it calls target_tick_isr, 43 bytes more with a ring put, only
 * while the tests armed it (target_tests.c's ticks_to_post, ring_ticks_left).
 * port_exit prints the deepest the stack went (port_init fills it with a
 * pattern). Speed: the ring test's reader keeps up with a put every tick
 * from -X 36M (3 MIPS); at 30M and below it misses items. */
#include <8052.h>

#include "../port.h"

#ifndef CPU_HZ
#define CPU_HZ 48000000ul /* s51 -X 48M */
#endif
#define T2_RELOAD (65536u - CPU_HZ / 12 / 1000) /* machine cycles per ms */
#define SIF (*(volatile __xdata unsigned char *)0xFFFFu) /* s51 -I if=xram[0xffff] */
#define SIF_STOP 's'

/* The tick's saved registers (internal RAM below the stack; one interrupt
 * level, so one save area): PSW, A, DPL, DPH, B, the bit registers, R0-R7. */
static __data unsigned char isr_save[14];
static volatile mt_time ticks = (mt_time)0xFFFFFFF0ul; /* wraps at once */

void port_timer2_isr(void) __interrupt(5) __naked; /* TF2: vector 0x2B */

void port_putc(char c)
{
    if (c == '\n')
        port_putc('\r');
    while (!TI) {
    }
    TI = 0;
    SBUF = c;
}

/* The stack's high-water mark: port_init fills the internal RAM above SP
 * with a pattern; port_exit finds the highest byte that changed. */
#define STACK_FILL 0xA5
extern __idata unsigned char _start__stack; /* SDCC: the stack's first byte */

static void stack_fill(void)
{
    __idata unsigned char *p = (__idata unsigned char *)(SP + 1);
    do
        *p = STACK_FILL;
    while (++p != 0);
}

static void putu8(unsigned char n)
{
    if (n >= 10)
        putu8(n / 10);
    port_putc((char)('0' + n % 10));
}

static void stack_report(void) /* "stack: used of size bytes" */
{
    unsigned char top = 0xFF, first = (unsigned char)&_start__stack;
    const char *s = "stack: ";
    while (top > SP && *(__idata unsigned char *)top == STACK_FILL)
        top--;
    while (*s)
        port_putc(*s++);
    putu8((unsigned char)(top - first + 1));
    for (s = " of "; *s; s++)
        port_putc(*s);
    putu8((unsigned char)(0xFF - first + 1));
    for (s = " bytes\n"; *s; s++)
        port_putc(*s);
}

void port_exit(int code)
{
    (void)code; /* the harness reads the EXIT line */
    stack_report();
    while (!TI) { /* the last character out */
    }
    EA = 0;
    SIF = SIF_STOP; /* the simulation stops here */
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
    stack_fill();
    /* The serial port: mode 1 (8 bits), Timer 1 mode 2 as the baud clock;
     * TI set, as if a character had gone out. */
    SCON = 0x52;
    TMOD = (TMOD & 0x0F) | 0x20;
    TH1 = 0xFF;
    TL1 = 0xFF;
    PCON |= 0x80; /* SMOD: CPU_HZ / 192 baud */
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

/* The tick, in assembly for the stack: it keeps what it uses in isr_save,
 * adds 1 to ticks and calls target_tick_isr only while the tests armed a
 * post countdown or ring puts (then it keeps what a C function may change
 * as well, as SDCC's interrupt prologue would, but not on the stack). */
void port_timer2_isr(void) __interrupt(5) __naked
{
    __asm
        mov _isr_save+0,psw
        mov _isr_save+1,a
        mov _isr_save+2,dpl
        mov _isr_save+3,dph
        clr _TF2
        mov dptr,#_ticks
        movx a,@dptr
        add a,#1
        movx @dptr,a
        inc dptr
        movx a,@dptr
        addc a,#0
        movx @dptr,a
        inc dptr
        movx a,@dptr
        addc a,#0
        movx @dptr,a
        inc dptr
        movx a,@dptr
        addc a,#0
        movx @dptr,a
        mov dptr,#_ticks_to_post
        movx a,@dptr
        jnz 09990$
        inc dptr
        movx a,@dptr
        jnz 09990$
        mov dptr,#_ring_ticks_left
        movx a,@dptr
        jz 09991$
    09990$:
        mov _isr_save+4,b
        mov _isr_save+5,bits
        mov _isr_save+6,0x00
        mov _isr_save+7,0x01
        mov _isr_save+8,0x02
        mov _isr_save+9,0x03
        mov _isr_save+10,0x04
        mov _isr_save+11,0x05
        mov _isr_save+12,0x06
        mov _isr_save+13,0x07
        mov psw,#0x00
        lcall _target_tick_isr
        mov 0x07,_isr_save+13
        mov 0x06,_isr_save+12
        mov 0x05,_isr_save+11
        mov 0x04,_isr_save+10
        mov 0x03,_isr_save+9
        mov 0x02,_isr_save+8
        mov 0x01,_isr_save+7
        mov 0x00,_isr_save+6
        mov bits,_isr_save+5
        mov b,_isr_save+4
    09991$:
        mov dph,_isr_save+3
        mov dpl,_isr_save+2
        mov a,_isr_save+1
        mov psw,_isr_save+0
        reti
    __endasm;
}

#include "../target_tests.c"

/* The tick above is assembly that knows these objects' sizes (and gates
 * on the two counters): a change to them must fail the build, not the run. */
typedef char port_ticks_is_4_bytes[sizeof ticks == 4 ? 1 : -1];
typedef char port_ticks_to_post_is_2_bytes[sizeof ticks_to_post == 2 ? 1 : -1];
typedef char port_ring_ticks_left_is_1_byte[sizeof ring_ticks_left == 1 ? 1 : -1];
