/* The load client: N connections over loopback, each a closed loop of
 * 64-byte messages (send, wait for the echo, send again), driven by epoll.
 * It measures only the steady state: once every connection has had one
 * echo back (connecting 1000 at once can overflow a server's listen
 * backlog, and those connections then wait for the kernel's SYN retries),
 * it counts for MS milliseconds, and reads the server's CPU time (of PID,
 * from /proc) at the start and end of that window.
 * Usage: echo_load PORT N MS [PID]
 * Prints: round trips, round trips/s, p50 and p99 latency in microseconds,
 * the server's CPU time in the window in ns (-1 without PID). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* CPU time of process `pid` so far, in ns: /proc/PID/schedstat, or the
 * clock ticks of /proc/PID/stat where it is missing; -1 without a pid. */
static double cpu_of(int pid)
{
    char path[64], buf[1024], *p;
    double ns = -1, ut, st;
    FILE *f;

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    if ((f = fopen(path, "r")) != NULL) {
        if (fscanf(f, "%lf", &ns) != 1)
            ns = -1;
        fclose(f);
        if (ns >= 0)
            return ns;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL; /* the name may hold spaces */
    fclose(f);
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lf %lf", &ut, &st) == 2)
        ns = (ut + st) * 1e9 / (double)sysconf(_SC_CLK_TCK);
    return ns;
}

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0, n = argc > 2 ? atoi(argv[2]) : 1;
    double ms = argc > 3 ? atof(argv[3]) : 1000, start, end, cpu0, cpu1;
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
    ms = (now_us() - start) / 1000;
    if (count > cap)
        count = cap;
    qsort(lat, count, sizeof *lat, cmp);
    printf("%zu %.0f %.1f %.1f %.0f\n", count, (double)count / (ms / 1000),
           count ? lat[count / 2] : 0.0, count ? lat[count * 99 / 100] : 0.0,
           cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1.0);
    return 0;
}
