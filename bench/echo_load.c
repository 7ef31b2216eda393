/* The load client: N connections over loopback, each a closed loop of
 * 64-byte messages (send, wait for the echo, send again), driven by epoll.
 * It measures only the steady state: once every connection has had one
 * echo back (connecting 1000 at once can overflow a server's listen
 * backlog, and those connections then wait for the kernel's SYN retries),
 * it counts for MS milliseconds, and measures the server's CPU time and
 * system calls (of PID, every thread) over that window, and its own CPU.
 * DEPTH (default 1) pipelines: each connection keeps DEPTH messages in
 * flight, and whenever some come back sends as many in one write, so a
 * read and a write carry many round trips, on both sides. (Waking the
 * client only once many are back, with SO_RCVLOWAT, would make its reads
 * bigger than the server's, but stalls a server that leaves Nagle's
 * algorithm on, as ours do: its next small echo waits for the ACK of the
 * one before, which the client's kernel delays 40 ms while nobody reads.)
 * THREADS (default 1) client threads share the connections, each with
 * its own epoll.
 * Usage: echo_load PORT N MS [PID [DEPTH [THREADS]]]
 * Prints: round trips (messages echoed), round trips/s, p50 and p99
 * latency in microseconds (of the first 4M round trips), the server's CPU
 * time in the window in ns, its system calls in the window (each -1
 * without PID or when it cannot be measured), this client's CPU time
 * (all its threads) in the window in ns, and the whole machine's busy CPU
 * time in the window in ns (-1 without /proc/stat): what is neither the
 * server's nor the client's is other work, which takes CPU from both. */
#define _GNU_SOURCE /* syscall() for perf_event_open */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
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

/* One client thread: its share of the connections. Per connection: the
 * bytes of a partial echo, and the send times of the messages in flight
 * (a ring of DEPTH, oldest at head: echoes come back in order). */
struct loader {
    int ep, n, *fd, *got, *head;
    char *echoed; /* has had its first echo */
    double *sent;
    float *lat;
    size_t cap, count;
    pthread_t thread;
};

static int depth = 1;
static int phase; /* 0 warming up, 1 counting, 2 done: main sets it */
static int warm;  /* connections that have had their first echo */
static char *out; /* DEPTH messages */

/* Writes k messages; the socket blocks, which it does only briefly: at
 * most DEPTH messages are in flight, and the buffers on the way hold them. */
static int send_msgs(int fd, int k)
{
    size_t len = (size_t)k * MSG, done = 0;
    while (done < len) {
        ssize_t w = write(fd, out + done, len - done);
        if (w <= 0 && errno != EINTR)
            return -1;
        done += w > 0 ? (size_t)w : 0;
    }
    return 0;
}

/* Takes what connection c has echoed; sends as many messages again. */
static int on_echo(struct loader *l, int c, char *buf, int counting)
{
    ssize_t r = recv(l->fd[c], buf, (size_t)depth * MSG, MSG_DONTWAIT);
    int k, j, slot;
    double t;

    if (r <= 0)
        return 0;
    l->got[c] += (int)r;
    if ((k = l->got[c] / MSG) == 0)
        return 0;
    l->got[c] -= k * MSG;
    t = now_us();
    if (!l->echoed[c]) {
        l->echoed[c] = 1;
        __atomic_add_fetch(&warm, 1, __ATOMIC_RELAXED);
    }
    for (j = 0; j < k; j++) {
        slot = c * depth + (l->head[c] + j) % depth;
        if (counting && l->count < l->cap)
            l->lat[l->count] = (float)(t - l->sent[slot]);
        l->count += counting;
        l->sent[slot] = t;
    }
    l->head[c] = (l->head[c] + k) % depth;
    return send_msgs(l->fd[c], k);
}

static void *load(void *arg)
{
    struct loader *l = (struct loader *)arg;
    struct epoll_event evs[1024];
    char *buf = malloc((size_t)depth * MSG);
    int counting = 0, ph, k, i;

    while (buf && (ph = __atomic_load_n(&phase, __ATOMIC_ACQUIRE)) != 2) {
        if (ph == 1 && !counting)
            counting = 1; /* counts from here */
        k = epoll_wait(l->ep, evs, 1024, 100);
        for (i = 0; i < k; i++)
            if (on_echo(l, (int)evs[i].data.u32, buf, counting) < 0) {
                perror("echo_load: write");
                exit(1);
            }
    }
    free(buf);
    return NULL;
}

/* Connects l's share of the connections and sends each its first DEPTH. */
static int connect_all(struct loader *l, int port)
{
    struct sockaddr_in a;
    struct epoll_event ev;
    int i, j, one = 1;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    for (i = 0; i < l->n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            perror("echo_load: connect");
            return -1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ev.events = EPOLLIN;
        ev.data.u32 = (unsigned)i;
        epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
        l->fd[i] = fd;
        for (j = 0; j < depth; j++)
            l->sent[i * depth + j] = now_us();
        if (send_msgs(fd, depth) < 0)
            return -1;
    }
    return 0;
}

static int loader_init(struct loader *l, int n, size_t cap)
{
    l->ep = epoll_create1(0);
    l->n = n;
    l->fd = calloc((size_t)n, sizeof *l->fd);
    l->got = calloc((size_t)n, sizeof *l->got);
    l->head = calloc((size_t)n, sizeof *l->head);
    l->echoed = calloc((size_t)n, 1);
    l->sent = calloc((size_t)n * (size_t)depth, sizeof *l->sent);
    l->cap = cap;
    l->lat = malloc(cap * sizeof *l->lat);
    return l->ep >= 0 && l->fd && l->got && l->head && l->echoed && l->sent && l->lat ? 0 : -1;
}

/* CPU time the whole machine spent busy so far, in ns (all CPUs, from
 * /proc/stat's clock ticks: user, nice, system, irq, softirq, steal);
 * -1 where it cannot be read. Less the server's and ours: other work. */
static double machine_cpu(void)
{
    unsigned long long v[8] = { 0 };
    FILE *f = fopen("/proc/stat", "r");
    int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                       &v[3], &v[4], &v[5], &v[6], &v[7]) : 0;

    if (f)
        fclose(f);
    if (n < 8)
        return -1;
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) * 1e9 / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The latencies of all threads, sorted: p50 and p99. */
static void percentiles(struct loader *l, int nt, double *p50, double *p99)
{
    size_t n = 0, i;
    float *all;
    int t;

    for (t = 0; t < nt; t++)
        n += l[t].count < l[t].cap ? l[t].count : l[t].cap;
    *p50 = *p99 = 0;
    if (n == 0 || (all = malloc(n * sizeof *all)) == NULL)
        return;
    for (t = 0, n = 0; t < nt; t++)
        for (i = 0; i < l[t].count && i < l[t].cap; i++)
            all[n++] = l[t].lat[i];
    qsort(all, n, sizeof *all, cmp);
    *p50 = all[n / 2];
    *p99 = all[n * 99 / 100];
    free(all);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0, n = argc > 2 ? atoi(argv[2]) : 1;
    double ms = argc > 3 ? atof(argv[3]) : 1000, start, left, cpu0, cpu1, self0, all0, all1, calls;
    double p50, p99;
    int pid = argc > 4 ? atoi(argv[4]) : 0, nt = argc > 6 ? atoi(argv[6]) : 1, t;
    struct loader *l;
    size_t count = 0;
    struct timespec pause = { 0, 1000000 };

    depth = argc > 5 ? atoi(argv[5]) : 1;
    if (n < 1 || depth < 1 || nt < 1 || nt > n || (out = malloc((size_t)depth * MSG)) == NULL ||
        (l = calloc((size_t)nt, sizeof *l)) == NULL) {
        fprintf(stderr, "usage: echo_load PORT N MS [PID [DEPTH [THREADS]]] (THREADS <= N)\n");
        return 2;
    }
    memset(out, 'x', (size_t)depth * MSG);
    for (t = 0; t < nt; t++)
        if (loader_init(&l[t], n / nt + (t < n % nt), ((size_t)1 << 22) / (size_t)nt) ||
            connect_all(&l[t], port))
            return 1;
    for (t = 0; t < nt; t++)
        if (pthread_create(&l[t].thread, NULL, load, &l[t]) != 0)
            return 1;
    start = now_us(); /* the warm-up gives up after 10 s */
    while (__atomic_load_n(&warm, __ATOMIC_RELAXED) < n && now_us() - start < 10e6)
        nanosleep(&pause, NULL);
    syscalls_start(pid);
    cpu0 = cpu_of(pid);
    self0 = self_cpu();
    all0 = machine_cpu();
    start = now_us();
    __atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
    while ((left = ms * 1000 - (now_us() - start)) > 0) { /* in 100 ms steps at most */
        pause.tv_nsec = left < 100000 ? (long)(left * 1000) : 100000000L;
        nanosleep(&pause, NULL);
    }
    __atomic_store_n(&phase, 2, __ATOMIC_RELEASE);
    cpu1 = cpu_of(pid);
    calls = syscalls_read();
    syscalls_stop();
    ms = (now_us() - start) / 1000;
    self0 = self_cpu() - self0;
    all1 = machine_cpu();
    for (t = 0; t < nt; t++) {
        pthread_join(l[t].thread, NULL);
        count += l[t].count;
    }
    percentiles(l, nt, &p50, &p99);
    printf("%zu %.0f %.1f %.1f %.0f %.0f %.0f %.0f\n", count, (double)count / (ms / 1000), p50, p99,
           cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : -1.0, calls, self0,
           all0 >= 0 && all1 >= 0 ? all1 - all0 : -1.0);
    return 0;
}
