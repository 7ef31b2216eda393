/* What a target port gives the target tests. */
#ifndef PORT_H
#define PORT_H
#include "multitask.h"
void port_init(void);
void port_putc(char c);
void port_exit(int code);
mt_time port_ticks(void);
/* Sleep until the tick has advanced `ms` (MT_FOREVER: no limit) or an
 * interrupt posted a signal of `s`. */
void port_idle(long ms, mt_sched *s);
/* Called by the port's 1 kHz timer interrupt. */
void target_tick_isr(void);
#endif
