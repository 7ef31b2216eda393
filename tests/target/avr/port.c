/* AVR port for the target tests (atmega328p at 16 MHz, under simavr):
 * UART0 for output, Timer1 at 1 kHz, sleep as the idle wait. simavr always
 * exits 0, so the harness reads the final "EXIT n" line. */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <util/atomic.h>

#include "../port.h"

static volatile mt_time ticks = (mt_time)0xFFFFFFF0u; /* wraps at once */

void port_putc(char c)
{
    if (c == '\n')
        port_putc('\r');
    while (!(UCSR0A & (1 << UDRE0))) {
    }
    UDR0 = (uint8_t)c;
}

void port_exit(int code)
{
    (void)code;
    while (!(UCSR0A & (1 << TXC0)) && (UCSR0B & (1 << TXEN0))) {
    }
    cli();
    sleep_enable();
    sleep_cpu(); /* simavr stops here */
    for (;;) {
    }
}

mt_time port_ticks(void)
{
    mt_time t;
    ATOMIC_BLOCK(ATOMIC_RESTORESTATE) { t = ticks; } /* 4 bytes, 8-bit CPU */
    return t;
}

void port_idle(long ms, mt_sched *s)
{
    mt_time start = port_ticks();
    set_sleep_mode(SLEEP_MODE_IDLE);
    while (ms < 0 || (long)(mt_time)(port_ticks() - start) < ms) { /* <0: till a post */
        cli();
        if (mt_sched_signalled(s)) {
            sei();
            return;
        }
        sleep_enable();
        sei(); /* the instruction after sei runs before any interrupt */
        sleep_cpu();
        sleep_disable();
    }
}

void port_init(void)
{
    UBRR0H = 0;
    UBRR0L = 8; /* 115200 baud at 16 MHz */
    UCSR0B = (1 << TXEN0);
    UCSR0C = (1 << UCSZ01) | (1 << UCSZ00);
    OCR1A = 249; /* 16 MHz / 64 / 250 = 1 kHz */
    TCCR1A = 0;
    TCCR1B = (1 << WGM12) | (1 << CS11) | (1 << CS10);
    TIMSK1 = (1 << OCIE1A);
    sei();
}

ISR(TIMER1_COMPA_vect)
{
    ticks++;
    target_tick_isr();
}
