/* An HTTP/1.1 server for the files under one directory, plus a /hello
 * route: GET and HEAD, keep-alive and pipelining, a Content-Length on every
 * response. One task per connection, in a malloc'ed frame. A request head
 * must arrive whole within IDLE_MS of the previous response (or of the
 * connect), so idle and slow clients go. Refused: a request line over
 * 8 KiB (414), heads over 8 KiB (431), methods other than GET and HEAD
 * (405), malformed requests (400: RFC 9112's syntax, a missing, repeated or
 * invalid Host, a bad Content-Length, Content-Length with
 * Transfer-Encoding, a chunked body that is not), transfer codings other
 * than chunked (501), bodies over 1 MiB (413), paths with a ".." segment
 * (403). Request targets in origin form or absolute form (http, https).
 * A request body (Content-Length, or chunked) is read and dropped after
 * the answer, within the same IDLE_MS. Errors other than 404 and 405 close
 * the connection; answers to HEAD never carry a body.
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
#define BODY_MAX (1L << 20) /* a longer Content-Length: 413 */
#define OUT_CAP 16384
#define WRITE_MS 10000 /* a client that takes nothing for this long goes */
#define DRAIN_MS 1000  /* before closing: time to take what the client still sends */

static const char *root = ".";
static long idle_ms = 5000;

/* Where the reader is in a chunked body (RFC 9112 section 7.1). */
enum { CH_NONE, CH_SIZE0, CH_SIZE, CH_BWS, CH_EXT, CH_LF, CH_DATA, CH_DATA_END, CH_DATA_LF,
       CH_TRAILER, CH_FIELD, CH_FIELD_LF, CH_END_LF };

struct conn {
    mt_task task;
    struct conn *prev, *next; /* the live ones, for shutdown */
    int fd, file;             /* file: the one being sent, or -1 */
    int keep, http10;         /* keep: the connection outlives this response */
    int head_only;            /* a HEAD request: no body in the answer */
    int chunk;                /* CH_NONE, or where in a chunked request body */
    long long body;           /* request body bytes to skip (of this chunk) */
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
                 {405, "Method Not Allowed"}, {413, "Content Too Large"},
                 {414, "URI Too Long"}, {431, "Request Header Fields Too Large"},
                 {501, "Not Implemented"}, {505, "HTTP Version Not Supported"}};
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
static void answer(struct conn *c, int code, const char *body)
{
    size_t n = strlen(body);
    if (code != 200 && code != 404 && code != 405)
        c->keep = 0;
    status_line(c, code, "text/plain; charset=utf-8", (long long)n);
    out(c, "%s\r\n%s", code == 405 ? "Allow: GET, HEAD\r\n" : "", c->head_only ? "" : body);
}

/* An error answer: the status line's text as the body. */
static void fail(struct conn *c, int code)
{
    static const struct {
        int code;
        const char *body;
    } bodies[] = {{400, "400 Bad Request\n"}, {403, "403 Forbidden\n"},
                  {404, "404 Not Found\n"}, {405, "405 Method Not Allowed\n"},
                  {413, "413 Content Too Large\n"}, {414, "414 URI Too Long\n"},
                  {431, "431 Request Header Fields Too Large\n"},
                  {501, "501 Not Implemented\n"}, {505, "505 HTTP Version Not Supported\n"}};
    const char *body = "Error\n";
    size_t i;
    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        if (bodies[i].code == code)
            body = bodies[i].body;
    answer(c, code, body);
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
static void send_file(struct conn *c, const char *path)
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
        fail(c, forbidden ? 403 : 404);
        return;
    }
    status_line(c, 200, mime_type(path), (long long)st.st_size);
    out(c, "\r\n");
    if (c->head_only) {
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

/* Whether ch is one of `set` (never NUL). */
static int one_of(int ch, const char *set)
{
    return ch != 0 && strchr(set, ch) != NULL;
}

/* The characters of a token (RFC 9110 section 5.6.2): methods, field
 * names, transfer codings. */
static int tchar(int ch)
{
    return ch > 0x20 && ch < 0x7f && !one_of(ch, "\"(),/:;<=>?@[\\]{}");
}

static int hexval(int ch)
{
    static const char digits[] = "0123456789abcdef0123456789ABCDEF";
    const char *d = one_of(ch, digits) ? strchr(digits, ch) : NULL;
    return d ? (int)((d - digits) % 16) : -1;
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static int ows(int ch)
{
    return ch == ' ' || ch == '\t';
}

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

/* Whether a comma-separated value holds `token` (any case). */
static int has_token(const char *v, size_t n, const char *token)
{
    size_t k = strlen(token), i;
    for (i = 0; v && i + k <= n; i++)
        if (strncasecmp(v + i, token, k) == 0 && (i == 0 || one_of(v[i - 1], " ,\t")) &&
            (i + k == n || one_of(v[i + k], " ,\t")))
            return 1;
    return 0;
}

/* Whether [v, v + n) is uri-host [":" port] (RFC 3986): a bracketed IP
 * literal, or a non-empty IPv4 address or registered name; no user info.
 * The form of a Host value and of an absolute target's authority. */
static int valid_authority(const char *v, size_t n)
{
    size_t i = 0;
    if (n && v[0] == '[') {
        for (i = 1; i < n && (hexval(v[i]) >= 0 || v[i] == ':' || v[i] == '.'); i++)
            ;
        if (i == 1 || i == n || v[i] != ']')
            return 0;
        i++;
    } else {
        for (; i < n && v[i] != ':'; i++) {
            if (v[i] == '%' && i + 2 < n && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0)
                i += 2;
            else if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
                       is_digit(v[i]) || one_of(v[i], "-._~!$&'()*+,;=")))
                return 0;
        }
        if (i == 0)
            return 0;
    }
    if (i < n && v[i++] != ':')
        return 0;
    for (; i < n; i++) /* the port: digits, maybe none */
        if (!is_digit(v[i]))
            return 0;
    return 1;
}

/* One Content-Length line, a comma-separated list of 1*DIGIT, into *cl
 * (-1 until a value is seen; over BODY_MAX counts as BODY_MAX + 1) and
 * *digits (the first value, without leading zeros, to compare the others
 * with). 0, or -1 if the line holds no value, or an element is no number
 * or differs from the first (RFC 9112 section 6.3, item 5). */
static int content_length(const char *v, size_t n, long long *cl, const char **digits,
                          size_t *ndigits)
{
    size_t i = 0, k;
    int found = 0;
    while (i < n) {
        long long x = 0;
        while (i < n && ows(v[i]))
            i++;
        while (i + 1 < n && v[i] == '0' && is_digit(v[i + 1]))
            i++; /* 007 is 7 */
        for (k = i; k < n && is_digit(v[k]); k++)
            x = x > BODY_MAX ? BODY_MAX + 1 : x * 10 + (v[k] - '0');
        if (k > i) {
            if (*cl >= 0 && (k - i != *ndigits || memcmp(v + i, *digits, k - i) != 0))
                return -1; /* 0, 40 */
            *cl = x;
            *digits = v + i;
            *ndigits = k - i;
            found = 1;
        }
        for (i = k; i < n && ows(v[i]); i++)
            ;
        if (i < n && v[i++] != ',')
            return -1; /* -1, abc, 1 2 */
    }
    return found ? 0 : -1; /* none: empty */
}

/* What the Transfer-Encoding lines say, all of them taken as one list. */
struct codings {
    int lines, n, chunked, others, last_chunked, bad;
};

static void transfer_codings(const char *v, size_t n, struct codings *tc)
{
    size_t i = 0, k;
    tc->lines++;
    while (i < n) {
        int chunked;
        while (i < n && (ows(v[i]) || v[i] == ','))
            i++; /* empty list elements are allowed */
        if (i == n)
            break;
        for (k = i; k < n && tchar(v[k]); k++)
            ;
        if (k == i) {
            tc->bad = 1;
            return;
        }
        chunked = k - i == 7 && strncasecmp(v + i, "chunked", 7) == 0;
        for (i = k; i < n && ows(v[i]); i++)
            ;
        if (i < n && v[i] == ';') { /* parameters: chunked has none */
            chunked = 0;
            while (i < n && v[i] != ',')
                i++;
        }
        if (i < n && v[i] != ',') {
            tc->bad = 1;
            return;
        }
        tc->n++;
        tc->chunked += chunked;
        tc->others += !chunked;
        tc->last_chunked = chunked;
    }
}

/* The request body's bytes at the start of p[0, n): how many there are
 * (the caller drops them), or -1 if chunked framing is malformed. Chunk
 * sizes are hexadecimal, under 2^60; lines end in CRLF or a bare LF;
 * chunk extensions and trailer fields are skipped. */
static long skip_body(struct conn *c, const char *p, size_t n)
{
    size_t i = 0;
    if (c->chunk == CH_NONE) { /* Content-Length */
        i = c->body < (long long)n ? (size_t)c->body : n;
        c->body -= (long long)i;
        return (long)i;
    }
    for (; i < n && c->chunk != CH_NONE; i++) {
        int ch = (unsigned char)p[i];
        size_t take;
        switch (c->chunk) {
        case CH_SIZE0:
        case CH_SIZE:
            if (hexval(ch) >= 0) {
                if (c->body >> 56)
                    return -1;
                c->body = c->body * 16 + hexval(ch);
                c->chunk = CH_SIZE;
                break;
            }
            if (c->chunk == CH_SIZE0)
                return -1; /* no digits */
            /* fall through */
        case CH_BWS:
            if (ows(ch))
                c->chunk = CH_BWS;
            else if (ch == ';')
                c->chunk = CH_EXT;
            else if (ch == '\r')
                c->chunk = CH_LF;
            else if (ch == '\n')
                c->chunk = c->body ? CH_DATA : CH_TRAILER;
            else
                return -1;
            break;
        case CH_EXT:
            if (ch == '\r')
                c->chunk = CH_LF;
            else if (ch == '\n')
                c->chunk = c->body ? CH_DATA : CH_TRAILER;
            else if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
                return -1;
            break;
        case CH_LF:
            if (ch != '\n')
                return -1;
            c->chunk = c->body ? CH_DATA : CH_TRAILER;
            break;
        case CH_DATA:
            take = c->body < (long long)(n - i) ? (size_t)c->body : n - i;
            c->body -= (long long)take;
            i += take - 1;
            if (!c->body)
                c->chunk = CH_DATA_END;
            break;
        case CH_DATA_END:
            if (ch == '\r')
                c->chunk = CH_DATA_LF;
            else if (ch == '\n')
                c->chunk = CH_SIZE0;
            else
                return -1; /* the data was longer than its size */
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                return -1;
            c->chunk = CH_SIZE0;
            break;
        case CH_TRAILER: /* a trailer field, or the blank line that ends the body */
            if (ch == '\r')
                c->chunk = CH_END_LF;
            else if (ch == '\n')
                c->chunk = CH_NONE;
            else if (tchar(ch))
                c->chunk = CH_FIELD;
            else
                return -1;
            break;
        case CH_FIELD:
            if (ch == '\r')
                c->chunk = CH_FIELD_LF;
            else if (ch == '\n')
                c->chunk = CH_TRAILER;
            else if (ch == 0)
                return -1;
            break;
        case CH_FIELD_LF:
        case CH_END_LF:
            if (ch != '\n')
                return -1;
            c->chunk = c->chunk == CH_END_LF ? CH_NONE : CH_TRAILER;
            break;
        }
    }
    return (long)i;
}

/* The target's path, %-decoded, into dst: 0, 400 (malformed) or 403 (a
 * ".." segment: it would climb out of the root). */
static int decode_path(const char *p, const char *end, char *dst, size_t cap)
{
    size_t n = 0, seg = 0;
    if (p == end || *p != '/')
        return 400;
    for (; p < end && *p != '?' && *p != '#'; p++) {
        int ch = (unsigned char)*p;
        if (ch == '%') {
            int hi = end - p > 2 ? hexval(p[1]) : -1, lo = hi >= 0 ? hexval(p[2]) : -1;
            if (lo < 0)
                return 400;
            ch = hi * 16 + lo;
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

/* The path of the target [p, end) into dst: origin form (/path?query), or
 * absolute form (http://host/path?query: the host is not used, as there
 * is one site). 0, 400 or 403. */
static int target_path(const char *p, const char *end, char *dst, size_t cap)
{
    const char *s = p, *a;
    if (p < end && *p == '/')
        return decode_path(p, end, dst, cap);
    while (s < end && ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        s++;
    if (!((s - p == 4 && strncasecmp(p, "http", 4) == 0) ||
          (s - p == 5 && strncasecmp(p, "https", 5) == 0)) ||
        end - s < 3 || memcmp(s, "://", 3) != 0)
        return 400; /* the asterisk and authority forms are for OPTIONS and CONNECT */
    for (a = s += 3; s < end && !one_of(*s, "/?#"); s++)
        ;
    if (!valid_authority(a, (size_t)(s - a)))
        return 400;
    if (s == end || *s == '?') { /* an empty path is "/" */
        strcpy(dst, "/");
        return 0;
    }
    return decode_path(s, end, dst, cap);
}

/* The request line, in[0, n): method SP request-target SP HTTP-version
 * (RFC 9112 section 3), single spaces, no control characters in the
 * target. Sets head_only and http10, *method (its length) and the target
 * [*target, *tend). 0, 400 or 505. */
static int request_line(struct conn *c, size_t n, size_t *method, const char **target,
                        const char **tend)
{
    const char *p = c->in, *v;
    size_t m;
    for (m = 0; m < n && tchar(p[m]); m++)
        ;
    *method = m;
    c->head_only = m == 4 && memcmp(p, "HEAD", 4) == 0;
    *target = p + m + 1;
    *tend = m < n ? (const char *)memchr(*target, ' ', n - m - 1) : NULL;
    if (m == 0 || m == n || p[m] != ' ' || !*tend || *tend == *target)
        return 400;
    for (v = *target; v < *tend; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 400;
    v = *tend + 1;
    if (p + n - v != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) || v[6] != '.' ||
        !is_digit(v[7]))
        return 400;
    if (v[5] != '1')
        return 505; /* HTTP/1.x only; 1.2 and up are answered as 1.1 */
    c->http10 = v[7] == '0';
    return 0;
}

/* The field lines from `line` through the blank one that ends the head:
 * name ":" OWS value OWS, the name a token (so no space before the colon,
 * no folded lines), no NUL or bare CR in a value (RFC 9112 section 5).
 * Then one valid Host (section 3.2; HTTP/1.1 must send one); a
 * Content-Length of digits, repeated only as the same value (6.3, item 5);
 * Transfer-Encoding not in HTTP/1.0, not with Content-Length (6.1),
 * chunked once and last (6.3, item 4; 7), no other coding (501). Sets keep
 * and the body to skip. 0, 400, 413 or 501. */
static int fields(struct conn *c, const char *line)
{
    const char *end = c->in + c->head, *eol, *le, *v, *ve, *digits = NULL;
    size_t m, ndigits = 0;
    int hosts = 0, bad = 0, closing = 0, keep_alive = 0;
    long long cl = -1;
    struct codings tc = {0, 0, 0, 0, 0, 0};

    for (;; line = eol + 1) {
        eol = (const char *)memchr(line, '\n', (size_t)(end - line));
        le = eol - (eol > line && eol[-1] == '\r');
        if (le == line)
            break; /* the blank line */
        for (v = line; v < le && tchar(*v); v++)
            ;
        if (v == line || v == le || *v != ':')
            return 400;
        m = (size_t)(v - line);
        for (v++; v < le && ows(*v); v++)
            ;
        for (ve = le; ve > v && ows(ve[-1]); ve--)
            ;
        if (memchr(v, '\0', (size_t)(ve - v)) || memchr(v, '\r', (size_t)(ve - v)))
            return 400;
        if (m == 4 && strncasecmp(line, "Host", 4) == 0)
            bad |= ++hosts > 1 || !valid_authority(v, (size_t)(ve - v));
        else if (m == 14 && strncasecmp(line, "Content-Length", 14) == 0)
            bad |= content_length(v, (size_t)(ve - v), &cl, &digits, &ndigits);
        else if (m == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0)
            transfer_codings(v, (size_t)(ve - v), &tc);
        else if (m == 10 && strncasecmp(line, "Connection", 10) == 0) {
            closing |= has_token(v, (size_t)(ve - v), "close");
            keep_alive |= has_token(v, (size_t)(ve - v), "keep-alive");
        }
    }
    c->keep = c->http10 ? keep_alive && !closing : !closing;
    if (bad || (!c->http10 && hosts == 0) ||
        (tc.lines && (c->http10 || cl >= 0 || tc.bad || !tc.n || !tc.last_chunked ||
                      tc.chunked > 1)))
        return 400;
    if (tc.others)
        return 501;
    if (cl > BODY_MAX)
        return 413;
    c->chunk = tc.lines ? CH_SIZE0 : CH_NONE;
    c->body = cl > 0 ? cl : 0;
    return 0;
}

/* Answer the request in in[0, head): the response head (and the start of a
 * file) into out, whether the connection stays, and what of a body to skip.
 * Order of checks: the request line (400, 505), the fields (400, 501,
 * 413), the chunked framing that came with the head (400), the method
 * (405), the target (400, 403). */
static void handle(struct conn *c)
{
    const char *eol = (const char *)memchr(c->in, '\n', c->head), *target = NULL, *tend = NULL;
    char path[HEAD_MAX], full[HEAD_MAX + 512];
    size_t method = 0;
    long k;
    int code;

    c->keep = 0; /* until the request shows it may stay */
    c->http10 = 0;
    code = request_line(c, (size_t)(eol - c->in) - (eol > c->in && eol[-1] == '\r'), &method,
                        &target, &tend);
    if (!code)
        code = fields(c, eol + 1);
    if (!code) { /* what of the body came with the head goes with it, so bad
                  * chunked framing there is answered; the rest is skipped after */
        if ((k = skip_body(c, c->in + c->head, c->len - c->head)) < 0)
            code = 400;
        else
            c->head += (size_t)k;
    }
    if (!code && !c->head_only && !(method == 3 && memcmp(c->in, "GET", 3) == 0))
        code = 405;
    if (!code)
        code = target_path(target, tend, path, sizeof path);
    if (code) {
        fail(c, code);
        if (!c->keep) { /* the connection ends: nothing to skip */
            c->chunk = CH_NONE;
            c->body = 0;
        }
    } else if (strcmp(path, "/hello") == 0) {
        answer(c, 200, "Hello, world!\n");
    } else {
        snprintf(full, sizeof full, "%s%s", root, path);
        send_file(c, full);
    }
}

/* A head that does not fit in: 414 if it is the request line (a token,
 * a space, then the target), else 431. */
static void too_long(struct conn *c)
{
    size_t m;
    for (m = 0; m < c->len && tchar(c->in[m]); m++)
        ;
    c->head_only = m == 4 && memcmp(c->in, "HEAD ", 5) == 0;
    if (memchr(c->in, '\n', c->len))
        fail(c, 431);
    else
        fail(c, m > 0 && m < c->len && c->in[m] == ' ' ? 414 : 400);
}

static int conn(mt_task *t)
{
    struct conn *c = (struct conn *)t;
    size_t i;
    long k;
    MT_BEGIN(t);
    c->keep = 1;
    do {
        c->deadline = mt_deadline(t, idle_ms);
        for (;;) {
            if ((k = skip_body(c, c->in, c->len)) < 0) {
                c->keep = 0; /* the last request's body was malformed: hang up */
                break;
            }
            i = (size_t)k;
            if (!c->body && c->chunk == CH_NONE)
                for (; i < c->len && (c->in[i] == '\r' || c->in[i] == '\n'); i++)
                    ; /* blank lines between requests are allowed */
            memmove(c->in, c->in + i, c->len - i);
            c->len -= i;
            if (!c->body && c->chunk == CH_NONE &&
                ((c->head = head_end(c->in, c->len)) != 0 || c->len == HEAD_MAX))
                break;
            MT_CATCH(t, MT_RECV(t, c->fd, c->in + c->len, HEAD_MAX - c->len, 0, &c->n,
                                mt_until(t, c->deadline)));
            if (mt_err(t) || c->n == 0)
                MT_EXIT(t); /* idle, too slow, reset or gone: nothing to answer */
            c->len += (size_t)c->n;
        }
        if (!c->keep)
            break;
        if (c->head) {
            handle(c);
            memmove(c->in, c->in + c->head, c->len - c->head); /* the next request's start */
            c->len -= c->head;
        } else {
            too_long(c);
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
    mt_close(c->fd);
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
    mt_close(f->fd);
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
