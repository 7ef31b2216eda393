/* 32-bit big-endian PowerPC port for the target tests: a Linux user-space
 * program (linked static) under qemu-user's qemu-ppc. The 1 kHz interrupt
 * is SIGALRM from setitimer; the idle wait blocks it, checks for a post,
 * then sigsuspend()s, so a post cannot land between the check and the
 * sleep. It refuses to run where the target is not big-endian: the run is
 * here for the byte order. */
#define _XOPEN_SOURCE 700 /* sigaction, sigsuspend, setitimer */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "../port.h"

/* Written by the handler; a 32-bit aligned word is one load or store. */
static volatile mt_time ticks = (mt_time)0xFFFFFFF0u; /* wraps at once */

void port_putc(char c) { (void)putchar(c); }

void port_exit(int code)
{
    (void)fflush(stdout);
    exit(code);
}

mt_time port_ticks(void) { return ticks; }

void port_idle(long ms, mt_sched *s)
{
    mt_time start = ticks;
    sigset_t alrm, old;
    (void)sigemptyset(&alrm);
    (void)sigaddset(&alrm, SIGALRM);
    while (ms < 0 || (long)(mt_time)(ticks - start) < ms) { /* <0: till a post */
        /* Masked, a pending SIGALRM is kept for sigsuspend, and a post that
         * landed before the mask is seen by the check. */
        (void)sigprocmask(SIG_BLOCK, &alrm, &old);
        if (mt_sched_signalled(s)) {
            (void)sigprocmask(SIG_SETMASK, &old, NULL);
            return;
        }
        (void)sigsuspend(&old); /* the old mask has SIGALRM unblocked */
        (void)sigprocmask(SIG_SETMASK, &old, NULL);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    ticks++;
    target_tick_isr();
}

static void fail(const char *what)
{
    (void)fputs(what, stdout);
    port_exit(98);
}

void port_init(void)
{
    union { uint32_t word; unsigned char byte[4]; } order = { 0x01020304u };
    struct sigaction sa;
    struct itimerval it;

    (void)setvbuf(stdout, NULL, _IOLBF, 0); /* a hung run killed by timeout keeps its lines */
    if (order.byte[0] != 1 || order.byte[3] != 4)
        fail("FAIL not big-endian: this run is for a big-endian target\n");
    (void)fputs("big-endian\n", stdout);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    (void)sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        fail("FAIL sigaction\n");
    it.it_interval.tv_sec = 0;
    it.it_interval.tv_usec = 1000;
    it.it_value = it.it_interval;
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        fail("FAIL setitimer\n");
}
