/* The load client: N connections over loopback, each a closed loop of
 * 64-byte messages (send, wait for the echo, send again), driven by epoll.
 * It measures only the steady state: once every connection has had one
 * echo back (connecting 1000 at once can overflow a server's listen
 * backlog, and those connections then wait for the kernel's SYN retries),
 * it counts for MS milliseconds, and measures the server's CPU time and
 * system calls (of PID, every thread) over that window.
 * Usage: echo_load PORT N MS [PID]
 * Prints: round trips, round trips/s, p50 and p99 latency in microseconds,
 * the server's CPU time in the window in ns, and its system calls in the
 * window (each -1 without PID or when it cannot be measured). */
#define _GNU_SOURCE /* syscall() for perf_event_open */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of process `pid` so far, in ns; -1 without a pid. Its POSIX
 * CPU-time clock (clock_getcpuclockid) counts every thread of the process,
 * those that have exited included, in ns and up to date for a thread
 * running right now. /proc/PID/schedstat counts the main thread only; the
 * sum of /proc/PID/task/TID/schedstat over the threads loses those that
 * end within the window; /proc/PID/stat counts in clock ticks (10 ms: 5%
 * of a 200 ms run), the fallback where the clock is refused. */
static double cpu_of(int pid)
{
    char path[64], buf[1024], *p;
    double ns = -1, ut, st;
    clockid_t clk;
    struct timespec ts;
    FILE *f;

    if (pid <= 0)
        return -1;
    if (clock_getcpuclockid(pid, &clk) == 0 && clock_gettime(clk, &ts) == 0)
        return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL; /* the name may hold spaces */
    fclose(f);
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lf %lf", &ut, &st) == 2)
        ns = (ut + st) * 1e9 / (double)sysconf(_SC_CLK_TCK);
    return ns;
}

/* The server's system calls: a counter on the raw_syscalls:sys_enter
 * tracepoint per thread of the process (inherited by threads it starts),
 * which is what `perf stat -e raw_syscalls:sys_enter -p PID` opens, with no
 * ptrace. Opened here rather than by running perf, so that the count covers
 * the same window as the CPU time: perf takes tens of ms to start, and
 * could not say when it began counting. While it counts, the server's
 * system calls take the kernel's tracing path: about 80 ns more each on
 * the 2-core test machine, 1-3% of the server's CPU per round trip.
 * The tracepoint's id is in tracefs (root only); without tracefs, without
 * permission or beyond MAX_THREADS threads, no count (-1). */
#define MAX_THREADS 64
static int sc_fd[MAX_THREADS];
static int sc_n = -1; /* counters open; -1: no count */

static long tracepoint_id(void)
{
    static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
    char path[128];
    long id = -1;
    size_t i;
    FILE *f;

    for (i = 0; i < sizeof dirs / sizeof dirs[0] && id < 0; i++) {
        snprintf(path, sizeof path, "%s/events/raw_syscalls/sys_enter/id", dirs[i]);
        if ((f = fopen(path, "r")) != NULL) {
            if (fscanf(f, "%ld", &id) != 1)
                id = -1;
            fclose(f);
        }
    }
    return id;
}

static void syscalls_stop(void)
{
    while (sc_n > 0)
        close(sc_fd[--sc_n]);
    sc_n = -1;
}

static void syscalls_start(int pid)
{
    struct perf_event_attr pa;
    char path[64];
    struct dirent *e;
    long id = pid > 0 ? tracepoint_id() : -1;
    DIR *d;

    snprintf(path, sizeof path, "/proc/%d/task", pid);
    if (id < 0 || (d = opendir(path)) == NULL)
        return;
    memset(&pa, 0, sizeof pa);
    pa.type = PERF_TYPE_TRACEPOINT;
    pa.size = sizeof pa;
    pa.config = (unsigned long long)id;
    pa.inherit = 1;
    sc_n = 0;
    while (sc_n >= 0 && (e = readdir(d)) != NULL) {
        int tid = atoi(e->d_name), fd;
        if (tid <= 0)
            continue; /* "." and ".." */
        fd = (int)syscall(SYS_perf_event_open, &pa, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd >= 0 && sc_n < MAX_THREADS)
            sc_fd[sc_n++] = fd;
        else if (fd >= 0 || errno != ESRCH) { /* ESRCH: that thread has just ended */
            if (fd >= 0)
                close(fd);
            syscalls_stop();
        }
    }
    closedir(d);
}

/* The system calls counted since syscalls_start, or -1. */
static double syscalls_read(void)
{
    unsigned long long v;
    double sum = 0;
    int i;

    for (i = 0; i < sc_n; i++) {
        if (read(sc_fd[i], &v, sizeof v) != (ssize_t)sizeof v)
            return -1;
        sum += (double)v;
    }
    return sc_n > 0 ? sum : -1;
}

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0, n = argc > 2 ? atoi(argv[2]) : 1;
    double ms = argc > 3 ? atof(argv[3]) : 1000, start, end, cpu0 = -1, cpu1, calls;
    int pid = argc > 4 ? atoi(argv[4]) : 0, warm = 0, counting = 0;
    struct sockaddr_in a;
    struct epoll_event ev, evs[1024];
    int ep = epoll_create1(0), i, one = 1;
    int *got = calloc((size_t)n, sizeof *got);
    double *sent = calloc((size_t)n, sizeof *sent);
    char *echoed = calloc((size_t)n, 1); /* has had its first echo */
    size_t cap = 1 << 22, count = 0;
    float *lat = malloc(cap * sizeof *lat);
    char msg[MSG], buf[MSG];

    memset(msg, 'x', MSG);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    for (i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            perror("echo_load: connect");
            return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        ev.events = EPOLLIN;
        ev.data.u32 = (unsigned)i | ((unsigned)fd << 16);
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        sent[i] = now_us();
        if (write(fd, msg, MSG) != MSG)
            return 1;
    }
    start = now_us();
    end = start + 10e6; /* the warm-up gives up after 10 s */
    for (;;) {
        double t = now_us();
        int k;
        if (!counting && (warm == n || t >= end)) {
            counting = 1;
            count = 0;
            syscalls_start(pid);
            cpu0 = cpu_of(pid);
            start = t;
            end = start + ms * 1000;
        }
        if (counting && t >= end)
            break;
        k = epoll_wait(ep, evs, 1024, 100);
        for (i = 0; i < k; i++) {
            int c = (int)(evs[i].data.u32 & 0xffff), fd = (int)(evs[i].data.u32 >> 16);
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0)
                continue;
            got[c] += (int)r;
            if (got[c] >= MSG) {
                t = now_us();
                if (!echoed[c]) {
                    echoed[c] = 1;
                    warm++;
                }
                got[c] -= MSG;
                if (count < cap)
                    lat[count] = (float)(t - sent[c]);
                count++;
                sent[c] = t;
                if (write(fd, msg, MSG) != MSG)
                    return 1;
            }
        }
    }
    cpu1 = cpu_of(pid);
    calls = syscalls_read();
    syscalls_stop();
    ms = (now_us() - start) / 1000;
    if (count > cap)
        count = cap;
    qsort(lat, count, sizeof *lat, cmp);
    printf("%zu %.0f %.1f %.1f %.0f %.0f\n", count, (double)count / (ms / 1000),
           count ? lat[count / 2] : 0.0, count ? lat[count * 99 / 100] : 0.0,
           cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1.0, calls);
    return 0;
}
