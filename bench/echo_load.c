/* The load client: N connections over loopback, each a closed loop of
 * 64-byte messages (send, wait for the echo, send again), driven by epoll.
 * Usage: echo_load PORT N MS
 * Prints: round trips, round trips/s, p50 and p99 latency in microseconds. */
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

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0, n = argc > 2 ? atoi(argv[2]) : 1;
    double ms = argc > 3 ? atof(argv[3]) : 1000, start, end;
    struct sockaddr_in a;
    struct epoll_event ev, evs[1024];
    int ep = epoll_create1(0), i, one = 1;
    int *got = calloc((size_t)n, sizeof *got);
    double *sent = calloc((size_t)n, sizeof *sent);
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
    end = start + ms * 1000;
    while (now_us() < end) {
        int k = epoll_wait(ep, evs, 1024, 100);
        for (i = 0; i < k; i++) {
            int c = (int)(evs[i].data.u32 & 0xffff), fd = (int)(evs[i].data.u32 >> 16);
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0)
                continue;
            got[c] += (int)r;
            if (got[c] >= MSG) {
                double t = now_us();
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
    ms = (now_us() - start) / 1000;
    if (count > cap)
        count = cap;
    qsort(lat, count, sizeof *lat, cmp);
    printf("%zu %.0f %.1f %.1f\n", count, (double)count / (ms / 1000),
           count ? lat[count / 2] : 0.0, count ? lat[count * 99 / 100] : 0.0);
    return 0;
}
