/* Every public macro, as user code writes it, for the compiler's strictest
 * warnings: make user-warnings compiles this file (not linked, not run)
 * with -Wconversion -Wsign-conversion -Wcast-qual -Wshadow -Wundef and
 * -Werror, in the hosted and the microcontroller configurations, with gcc
 * and clang. A macro that makes user code warn fails the build here, where
 * embedded projects, which build with such sets, would otherwise find it. */
#include "multitask.h"

struct child { mt_task task; int v; };

static int child_fn(mt_task *t)
{
    struct child *f = (struct child *)t;
    MT_BEGIN(t);
    f->v = 1;
    MT_YIELD(t);
    if (f->v < 0)
        MT_RAISE(t, MT_EINVAL, "negative");
    if (f->v > 9)
        MT_EXIT(t);
    MT_FINALLY(t);
    f->v = 0;
    MT_END(t);
}

struct frame {
    mt_task task;
    struct child one;
    mt_group g;
    mt_task *slots[2];
    struct child kids[2];
    mt_queue *q;
    mt_event *ev;
    mt_sem *sem;
    mt_signal *sig;
    mt_ring *ring;
#if MT_THREADS
    mt_chan *chan;
    mt_pool *pool;
    mt_work *work;
#endif
    unsigned char byte;
    mt_clause cl[2];
    int item, which, flag;
#if MT_IO
    int fd, newfd;
    char buf[16];
    ssize_t n;
    size_t done;
    mt_line lb;
    struct sockaddr_storage addr;
    socklen_t alen;
#endif
};

static int user_fn(mt_task *t)
{
    struct frame *f = (struct frame *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, 10);
    MT_SLEEP_UNTIL(t, 100);
    MT_AWAIT(t, &f->one.task, child_fn, 50);
    MT_CATCH(t, MT_AWAIT(t, &f->one.task, child_fn, MT_FOREVER));
    MT_WAIT_UNTIL(t, f->flag != 0, 20);
    MT_WAIT_WHILE(t, f->flag == 0, MT_FOREVER);
    MT_QUEUE_PUT(t, f->q, &f->item, 5);
    MT_QUEUE_GET(t, f->q, &f->item, 5);
    MT_EVENT_WAIT(t, f->ev, MT_FOREVER);
    MT_SEM_WAIT(t, f->sem, 1);
    MT_SIGNAL_WAIT(t, f->sig, MT_FOREVER);
    MT_RING_GET(t, f->ring, &f->byte, 10);
    if (mt_ring_count(f->ring) && mt_ring_get(f->ring, &f->byte) == 0)
        (void)mt_ring_put(f->ring, &f->byte);
#if MT_THREADS
    MT_CHAN_PUT(t, f->chan, &f->item, 10);
    MT_CHAN_GET(t, f->chan, &f->item, MT_FOREVER);
    if (mt_chan_count(f->chan) && mt_chan_get(f->chan, &f->item) == 0)
        (void)mt_chan_put(f->chan, &f->item);
    MT_OFFLOAD(t, f->pool, f->work, 100);
#endif
    mt_group_init(&f->g, f->slots, 2);
    MT_SPAWN(t, &f->g, &f->kids[0].task, child_fn);
    MT_SPAWN(t, &f->g, &f->kids[1].task, child_fn);
    MT_JOIN_FIRST(t, &f->g, 1, 100);
    MT_JOIN(t, &f->g, MT_FOREVER);
    mt_clause_get(&f->cl[0], f->q, &f->item);
    mt_clause_event(&f->cl[1], f->ev);
    MT_CHOOSE(t, f->cl, 2, &f->which, 30);
    MT_SHIELD(t, MT_SLEEP(t, 1));
#if MT_IO
    MT_WAIT_FD(t, f->fd, MT_READABLE, 10);
    MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, 10);
    MT_WRITE(t, f->fd, f->buf, (size_t)f->n, &f->n, 10);
    MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, 10);
    MT_SEND(t, f->fd, f->buf, (size_t)f->n, 0, &f->n, 10);
    f->alen = (socklen_t)sizeof f->addr;
    MT_RECVFROM(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, (struct sockaddr *)&f->addr,
                &f->alen, 10);
    MT_SENDTO(t, f->fd, f->buf, (size_t)f->n, 0, &f->n, (struct sockaddr *)&f->addr, f->alen, 10);
    MT_ACCEPT(t, f->fd, &f->newfd, NULL, NULL, MT_FOREVER);
    MT_CONNECT(t, f->newfd, (struct sockaddr *)&f->addr, f->alen, 10);
    MT_READ_ALL(t, f->fd, f->buf, sizeof f->buf, &f->done, 10);
    MT_WRITE_ALL(t, f->fd, f->buf, sizeof f->buf, &f->done, 10);
    MT_READLINE(t, f->fd, &f->lb, 10);
    if (mt_fd_ready(t) & MT_READABLE)
        (void)mt_close(f->newfd);
#endif
    if (t->err == MT_ESYS(4))
        MT_RAISE(t, MT_ETIMEDOUT, NULL);
    MT_END(t);
}

/* Something must refer to the task function, or -Wunused warns. */
mt_fn user_warnings_fn(void);
mt_fn user_warnings_fn(void) { return user_fn; }
