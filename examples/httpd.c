/* An HTTP/1.1 server for the files under one directory, plus a /hello
 * route: GET and HEAD, keep-alive and pipelining, a Content-Length on every
 * response. One task per connection, in a malloc'ed frame. A request head
 * must arrive whole within IDLE_MS of the previous response (or of the
 * connect), so idle and slow clients go. Refused: heads over 8 KiB (431),
 * methods other than GET and HEAD (405), malformed requests (400), paths
 * with a ".." segment (403). Request bodies are not read: a request with
 * one is answered, then the connection is closed.
 * Usage: httpd [PORT] [DIR] [IDLE_MS]   (port 0: any; prints the port)
 * Try:   curl -v http://127.0.0.1:PORT/hello */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "multitask.h"

#define HEAD_MAX 8192
#define OUT_CAP 16384
#define WRITE_MS 10000 /* a client that takes nothing for this long goes */
#define DRAIN_MS 1000  /* before closing: time to take what the client still sends */

static const char *root = ".";
static long idle_ms = 5000;

struct conn {
    mt_task task;
    struct conn *prev, *next; /* the live ones, for shutdown */
    int fd, file;             /* file: the one being sent, or -1 */
    int keep, http10;         /* keep: the connection outlives this response */
    mt_time deadline;
    size_t len, head;         /* in[0, len) read; in[0, head) the request head */
    size_t olen, done;
    long long left;           /* bytes of the file still to send */
    ssize_t n;
    char in[HEAD_MAX];
    char out[OUT_CAP];
};

static struct conn *conns;

/* ---- Responses ---- */

static void out(struct conn *c, const char *fmt, ...)
{
    size_t room = OUT_CAP - c->olen;
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(c->out + c->olen, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->olen += (size_t)n < room ? (size_t)n : room - 1;
}

static void status_line(struct conn *c, int code, const char *type, long long length)
{
    static const struct {
        int code;
        const char *text;
    } texts[] = {{200, "OK"}, {400, "Bad Request"}, {403, "Forbidden"}, {404, "Not Found"},
                 {405, "Method Not Allowed"}, {431, "Request Header Fields Too Large"},
                 {505, "HTTP Version Not Supported"}};
    const char *text = "Error";
    char date[40];
    time_t now = time(NULL);
    struct tm tm;
    size_t i;

    for (i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].code == code)
            text = texts[i].text;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    out(c, "HTTP/1.1 %d %s\r\nServer: multitask-httpd\r\nDate: %s\r\n"
           "Content-Type: %s\r\nContent-Length: %lld\r\n%s",
        code, text, date, type, length,
        !c->keep ? "Connection: close\r\n" : c->http10 ? "Connection: keep-alive\r\n" : "");
}

/* A response whose body is a line of text (none for HEAD). Errors other
 * than 404 and 405 end the connection: the request may be out of step. */
static void answer(struct conn *c, int code, const char *body, int head_only)
{
    size_t n = strlen(body);
    if (code != 200 && code != 404 && code != 405)
        c->keep = 0;
    status_line(c, code, "text/plain; charset=utf-8", (long long)n);
    out(c, "%s\r\n%s", code == 405 ? "Allow: GET, HEAD\r\n" : "", head_only ? "" : body);
}

static const char *mime_type(const char *path)
{
    static const char *types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".txt", "text/plain; charset=utf-8"},
        {".css", "text/css"},   {".js", "text/javascript"}, {".json", "application/json"},
        {".png", "image/png"},  {".jpg", "image/jpeg"},     {".gif", "image/gif"},
        {".svg", "image/svg+xml"}};
    const char *dot = strrchr(path, '.');
    size_t i;
    for (i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i][0]) == 0)
            return types[i][1];
    return "application/octet-stream";
}

/* The headers and as much of the file as fits after them go out in one
 * write; the rest follows as the client takes it (fill). */
static void send_file(struct conn *c, const char *path, int head_only)
{
    char index[HEAD_MAX + 512 + sizeof "/index.html"];
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK); /* a FIFO must not hang us */

    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        snprintf(index, sizeof index, "%s/index.html", path);
        fd = open(index, O_RDONLY | O_NONBLOCK);
        path = index;
    }
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int forbidden = fd < 0 && errno == EACCES;
        if (fd >= 0)
            close(fd);
        answer(c, forbidden ? 403 : 404, forbidden ? "403 Forbidden\n" : "404 Not Found\n",
               head_only);
        return;
    }
    status_line(c, 200, mime_type(path), (long long)st.st_size);
    out(c, "\r\n");
    if (head_only) {
        close(fd);
        return;
    }
    c->file = fd;
    c->left = (long long)st.st_size;
}

/* More of the file into out: 0, or -1 if the file came up short. Regular
 * files never block, so a plain read() is right. */
static int fill(struct conn *c)
{
    while (c->left > 0 && c->olen < OUT_CAP) {
        size_t want = OUT_CAP - c->olen;
        ssize_t r;
        if ((long long)want > c->left)
            want = (size_t)c->left;
        if ((r = read(c->file, c->out + c->olen, want)) <= 0)
            return -1; /* shrunk under us: the length we promised is wrong */
        c->olen += (size_t)r;
        c->left -= r;
    }
    return 0;
}

/* ---- Requests ---- */

/* The length of the head (through its blank line) in in[0, len), or 0. */
static size_t head_end(const char *p, size_t len)
{
    size_t i;
    for (i = 0; i + 1 < len; i++) {
        if (p[i] != '\n')
            continue;
        if (p[i + 1] == '\n')
            return i + 2;
        if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* The value of header `name` among the lines [p, end), trimmed, or NULL. */
static const char *header(const char *p, const char *end, const char *name, size_t *len)
{
    size_t n = strlen(name);
    while (p < end) {
        const char *eol = (const char *)memchr(p, '\n', (size_t)(end - p)), *v;
        if ((size_t)(eol - p) > n && p[n] == ':' && strncasecmp(p, name, n) == 0) {
            for (v = p + n + 1; *v == ' ' || *v == '\t'; v++)
                ;
            for (*len = (size_t)(eol - v); *len && strchr("\r \t", v[*len - 1]); (*len)--)
                ;
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/* Whether a comma-separated value holds `token` (any case). */
static int has_token(const char *v, size_t n, const char *token)
{
    size_t k = strlen(token), i;
    for (i = 0; v && i + k <= n; i++)
        if (strncasecmp(v + i, token, k) == 0 && (i == 0 || strchr(" ,", v[i - 1])) &&
            (i + k == n || strchr(" ,\t", v[i + k])))
            return 1;
    return 0;
}

/* The target's path, %-decoded, into dst: 0, 400 (malformed) or 403 (a
 * ".." segment: it would climb out of the root). */
static int decode_path(const char *p, const char *end, char *dst, size_t cap)
{
    size_t n = 0, seg = 0;
    if (p == end || *p != '/')
        return 400; /* origin form only */
    for (; p < end && *p != '?' && *p != '#'; p++) {
        int ch = (unsigned char)*p;
        if (ch == '%') {
            static const char digits[] = "0123456789abcdef0123456789ABCDEF";
            const char *hi = end - p > 2 && p[1] ? strchr(digits, p[1]) : NULL;
            const char *lo = hi && p[2] ? strchr(digits, p[2]) : NULL;
            if (!lo)
                return 400;
            ch = (int)((hi - digits) % 16 * 16 + (lo - digits) % 16);
            p += 2;
        }
        if (ch == 0 || n + 1 >= cap)
            return 400;
        if (ch == '/') {
            if (n - seg == 2 && dst[seg] == '.' && dst[seg + 1] == '.')
                return 403;
            seg = n + 1;
        }
        dst[n++] = (char)ch;
    }
    if (n - seg == 2 && dst[seg] == '.' && dst[seg + 1] == '.')
        return 403;
    dst[n] = '\0';
    return 0;
}

/* Answer the request in in[0, head): the response head (and the start of a
 * file) into out, and whether the connection stays. Order of checks: the
 * request line (400, 505), the headers (400), the method (405), the path. */
static void handle(struct conn *c)
{
    const char *p = c->in, *end = c->in + c->head, *eol, *sp1, *sp2, *line, *v;
    char path[HEAD_MAX], full[HEAD_MAX + 512];
    size_t vlen = 0, n;
    int head_only, code;

    c->keep = 0; /* until the request shows it may stay */
    c->http10 = 0;
    eol = (const char *)memchr(p, '\n', (size_t)(end - p));
    n = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
    sp1 = (const char *)memchr(p, ' ', n);
    sp2 = sp1 ? (const char *)memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - p)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1) {
        answer(c, 400, "400 Bad Request\n", 0);
        return;
    }
    if (p + n - sp2 != 9 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
        (sp2[8] != '0' && sp2[8] != '1')) {
        int http = p + n - sp2 == 9 && strncmp(sp2 + 1, "HTTP/", 5) == 0;
        if (http)
            answer(c, 505, "505 HTTP Version Not Supported\n", 0);
        else
            answer(c, 400, "400 Bad Request\n", 0);
        return;
    }
    c->http10 = sp2[8] == '0';
    for (line = eol + 1; line < end; line = eol + 1) { /* each "name: value" */
        eol = (const char *)memchr(line, '\n', (size_t)(end - line));
        if (eol == line || (eol == line + 1 && *line == '\r'))
            break; /* the blank line */
        v = (const char *)memchr(line, ':', (size_t)(eol - line));
        if (!v || v == line || memchr(line, ' ', (size_t)(v - line)) ||
            memchr(line, '\t', (size_t)(v - line))) {
            answer(c, 400, "400 Bad Request\n", 0);
            return;
        }
    }
    line = (const char *)memchr(c->in, '\n', c->head) + 1; /* the first header */
    if (!c->http10 && !header(line, end, "Host", &vlen)) {
        answer(c, 400, "400 Bad Request\n", 0); /* HTTP/1.1 requires it */
        return;
    }
    v = header(line, end, "Connection", &vlen);
    c->keep = c->http10 ? has_token(v, vlen, "keep-alive") : !has_token(v, vlen, "close");
    v = header(line, end, "Content-Length", &vlen);
    if ((v && !(vlen == 1 && *v == '0')) || header(line, end, "Transfer-Encoding", &vlen))
        c->keep = 0; /* a body we do not read would pass for the next request */
    head_only = sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0;
    if (!head_only && !(sp1 - p == 3 && memcmp(p, "GET", 3) == 0)) {
        answer(c, 405, "405 Method Not Allowed\n", 0);
        return;
    }
    if ((code = decode_path(sp1 + 1, sp2, path, sizeof path)) != 0) {
        answer(c, code, code == 403 ? "403 Forbidden\n" : "400 Bad Request\n", head_only);
        return;
    }
    if (strcmp(path, "/hello") == 0) {
        answer(c, 200, "Hello, world!\n", head_only);
        return;
    }
    snprintf(full, sizeof full, "%s%s", root, path);
    send_file(c, full, head_only);
}

static int conn(mt_task *t)
{
    struct conn *c = (struct conn *)t;
    size_t i;
    MT_BEGIN(t);
    do {
        c->deadline = mt_deadline(t, idle_ms);
        for (;;) {
            for (i = 0; i < c->len && (c->in[i] == '\r' || c->in[i] == '\n'); i++)
                ; /* blank lines between requests are allowed */
            memmove(c->in, c->in + i, c->len - i);
            c->len -= i;
            if ((c->head = head_end(c->in, c->len)) != 0 || c->len == HEAD_MAX)
                break;
            MT_CATCH(t, MT_RECV(t, c->fd, c->in + c->len, HEAD_MAX - c->len, 0, &c->n,
                                mt_until(t, c->deadline)));
            if (mt_err(t) || c->n == 0)
                MT_EXIT(t); /* idle, too slow, reset or gone: nothing to answer */
            c->len += (size_t)c->n;
        }
        if (c->head) {
            handle(c);
            memmove(c->in, c->in + c->head, c->len - c->head); /* the next request's start */
            c->len -= c->head;
        } else {
            c->keep = 0;
            answer(c, 431, "431 Request Header Fields Too Large\n", 0);
        }
        for (;;) {
            if (c->file >= 0 && fill(c))
                MT_EXIT(t);
            if (!c->olen)
                break;
            MT_CATCH(t, MT_WRITE_ALL(t, c->fd, c->out, c->olen, &c->done, WRITE_MS));
            if (mt_err(t))
                MT_EXIT(t);
            c->olen = 0;
        }
        if (c->file >= 0) {
            close(c->file);
            c->file = -1;
        }
    } while (c->keep);
    /* Closing with input unread would reset the connection, and the client
     * could lose our answer: stop sending, take what it still sends. */
    shutdown(c->fd, SHUT_WR);
    c->deadline = mt_deadline(t, DRAIN_MS);
    do
        MT_CATCH(t, MT_RECV(t, c->fd, c->in, HEAD_MAX, 0, &c->n, mt_until(t, c->deadline)));
    while (!mt_err(t) && c->n > 0);
    MT_FINALLY(t);
    if (c->file >= 0)
        close(c->file);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    free(c);
    MT_END(t);
}

struct listener {
    mt_task task;
    int fd, conn;
};

static int listener(mt_task *t)
{
    struct listener *f = (struct listener *)t;
    struct conn *c;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_ACCEPT(t, f->fd, &f->conn, NULL, NULL, MT_FOREVER));
        if (mt_err(t) == MT_ECANCELED)
            break;
        if (mt_err(t)) {
            MT_SLEEP(t, 100); /* out of descriptors, say: let some close */
            continue;
        }
        if ((c = (struct conn *)calloc(1, sizeof *c)) == NULL) {
            close(f->conn);
            continue;
        }
        c->fd = f->conn;
        c->file = -1;
        c->next = conns;
        if (conns)
            conns->prev = c;
        conns = c;
        mt_add(&c->task, conn);
    }
    MT_FINALLY(t);
    close(f->fd);
    MT_END(t);
}

/* SIGINT/SIGTERM post a signal; this task turns it into cancellations. */
static mt_signal stop_signal;
static struct listener lst;

static void on_stop(int signo)
{
    (void)signo;
    mt_signal_post(&stop_signal);
}

static int stopper(mt_task *t)
{
    struct conn *c;
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &stop_signal, MT_FOREVER);
    fprintf(stderr, "httpd: shutting down\n");
    mt_cancel(&lst.task);
    for (c = conns; c; c = c->next)
        mt_cancel(&c->task);
    MT_END(t);
}

int main(int argc, char **argv)
{
    static mt_task stop_task;
    int port = argc > 1 ? atoi(argv[1]) : 0, one = 1, r;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    struct sigaction sa;
    struct stat st;

    if (argc > 2)
        root = argv[2];
    if (argc > 3)
        idle_ms = atol(argv[3]);
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode) || strlen(root) > 256 ||
        idle_ms <= 0 || idle_ms > MT_TIMEOUT_MAX) {
        fprintf(stderr, "usage: httpd [PORT] [DIR] [IDLE_MS]   (DIR: a directory)\n");
        return 2;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    lst.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lst.fd < 0 || setsockopt(lst.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lst.fd, (struct sockaddr *)&a, sizeof a) || listen(lst.fd, 511) ||
        mt_fd_nonblock(lst.fd) || getsockname(lst.fd, (struct sockaddr *)&a, &alen)) {
        perror("httpd");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);

    mt_signal_init(mt_default(), &stop_signal);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    mt_add(&lst.task, listener);
    mt_add(&stop_task, stopper);
    r = mt_run();
    mt_sched_destroy(mt_default());
    return r == 0 ? 0 : 1;
}
