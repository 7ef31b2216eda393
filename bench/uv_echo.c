/* The libuv baseline for the echo benchmark: a minimal libuv echo server
 * (uv_read_start, and uv_try_write with uv_write for what is left).
 * Usage: uv_echo  (prints "listening on 127.0.0.1:PORT") */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct conn {
    uv_tcp_t tcp; /* first: the callbacks' handle is the connection */
    char buf[4096];
};

struct wreq {
    uv_write_t req; /* first: the write callback's request is this */
    char data[];
};

static uv_loop_t *loop;

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct conn *c = (struct conn *)h;
    (void)hint;
    *b = uv_buf_init(c->buf, sizeof c->buf); /* one buffer per connection, reused */
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    uv_buf_t out;
    struct wreq *r;
    int w;

    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (n == 0)
        return;
    /* On loopback the write nearly always completes at once, as in the raw
     * epoll server: no request, no callback. */
    out = uv_buf_init(b->base, (unsigned)n);
    w = uv_try_write(s, &out, 1);
    if (w == n)
        return;
    if (w < 0 && w != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (w < 0)
        w = 0;
    /* The rest is copied: the connection's buffer is reused by the next read. */
    r = malloc(sizeof *r + (size_t)(n - w));
    if (!r) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    memcpy(r->data, b->base + w, (size_t)(n - w));
    out = uv_buf_init(r->data, (unsigned)(n - w));
    uv_write(&r->req, s, &out, 1, on_written);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct conn *c;

    if (status < 0 || !(c = malloc(sizeof *c)))
        return;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    else
        uv_close((uv_handle_t *)&c->tcp, on_close);
}

int main(void)
{
    static uv_tcp_t server;
    struct sockaddr_in a;
    int alen = sizeof a;

    loop = uv_default_loop();
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", 0, &a);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&a, 0) ||
        uv_listen((uv_stream_t *)&server, 1024, on_connection) ||
        uv_tcp_getsockname(&server, (struct sockaddr *)&a, &alen))
        return 1;
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
