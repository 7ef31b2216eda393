/* What the Cortex-M and RISC-V ports share, included once by each port
 * after it defines semihost(op, arg), its architecture's semihosting call:
 * output, the exit code, and (mem.h) the two functions the compiler may
 * call for structure copies (there is no libc here). */
#ifndef PORT_COMMON_H
#define PORT_COMMON_H
#include <stdint.h>

void port_putc(char c) { (void)semihost(0x03, &c); } /* SYS_WRITEC */

void port_exit(int code)
{
    static uint32_t block[2];
    block[0] = 0x20026u; /* ADP_Stopped_ApplicationExit */
    block[1] = (uint32_t)code;
    (void)semihost(0x20, block); /* SYS_EXIT_EXTENDED */
    for (;;) {
    }
}

#include "mem.h"
#endif
