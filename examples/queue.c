/* Queues between tasks: the seed's sender and receiver, then a bounded
 * pipeline (producer -> squarer -> printer) where a full queue holds the
 * producer back. Items are copied in and out; storage is the caller's. */
#include <stdio.h>

#include "multitask.h"

/* ---- sender / receiver over one queue ---- */

struct sender {
    mt_task task;
    mt_queue *q;
    int i, msg; /* msg is the frame field the put copies from */
};

static int sender(mt_task *t)
{
    struct sender *f = (struct sender *)t;
    MT_BEGIN(t);
    for (f->i = 1; f->i <= 3; f->i++) {
        f->msg = f->i * 10;
        printf("sender: sends %d\n", f->msg);
        MT_QUEUE_PUT(t, f->q, &f->msg, MT_FOREVER);
    }
    f->msg = -1; /* end of stream */
    MT_QUEUE_PUT(t, f->q, &f->msg, MT_FOREVER);
    MT_END(t);
}

struct receiver {
    mt_task task;
    mt_queue *q;
    int msg;
};

static int receiver(mt_task *t)
{
    struct receiver *f = (struct receiver *)t;
    MT_BEGIN(t);
    for (;;) {
        /* Wait at most a second for each message. */
        MT_QUEUE_GET(t, f->q, &f->msg, 1000);
        if (f->msg < 0)
            break;
        printf("receiver: got %d\n", f->msg);
    }
    MT_END(t);
}

/* ---- a bounded pipeline ---- */

struct stage {
    mt_task task;
    mt_queue *in, *out; /* either may be NULL at the ends */
    int n, i, item;
};

static int producer(mt_task *t)
{
    struct stage *f = (struct stage *)t;
    MT_BEGIN(t);
    for (f->i = 1; f->i <= f->n; f->i++) {
        f->item = f->i;
        MT_QUEUE_PUT(t, f->out, &f->item, MT_FOREVER); /* waits when full */
        printf("producer: queued %d (%lu waiting)\n", f->item,
               (unsigned long)mt_queue_len(f->out));
    }
    f->item = 0;
    MT_QUEUE_PUT(t, f->out, &f->item, MT_FOREVER);
    MT_END(t);
}

static int squarer(mt_task *t)
{
    struct stage *f = (struct stage *)t;
    MT_BEGIN(t);
    do {
        MT_QUEUE_GET(t, f->in, &f->item, MT_FOREVER);
        f->item *= f->item;
        MT_QUEUE_PUT(t, f->out, &f->item, MT_FOREVER);
    } while (f->item != 0);
    MT_END(t);
}

static int printer(mt_task *t)
{
    struct stage *f = (struct stage *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_QUEUE_GET(t, f->in, &f->item, MT_FOREVER);
        if (!f->item)
            break;
        printf("printer: %d\n", f->item);
        /* A slow consumer: the queues fill up meanwhile. Counted in turns,
         * not milliseconds, so the output is the same on any machine. */
        for (f->i = 0; f->i < 10; f->i++)
            MT_YIELD(t);
    }
    MT_END(t);
}

int main(void)
{
    static int mailbox_store[1], a_store[2], b_store[2];
    static mt_queue mailbox, a, b;
    static struct sender snd;
    static struct receiver rcv;
    static struct stage prod, sq, prt;
    int r;

    mt_queue_init(&mailbox, mailbox_store, sizeof(int), 1, NULL, 0);
    snd.q = rcv.q = &mailbox;
    mt_add(&snd.task, sender);
    mt_add(&rcv.task, receiver);
    r = mt_run();

    printf("-- pipeline, queues of 2 --\n");
    mt_queue_init(&a, a_store, sizeof(int), 2, NULL, 0);
    mt_queue_init(&b, b_store, sizeof(int), 2, NULL, 0);
    prod.n = 6;
    prod.out = &a;
    sq.in = &a;
    sq.out = &b;
    prt.in = &b;
    mt_add(&prod.task, producer);
    mt_add(&sq.task, squarer);
    mt_add(&prt.task, printer);
    if (mt_run() != 0)
        r = 1;
    mt_sched_destroy(mt_default()); /* closes what it opened (epoll, self-pipe) */
    return r == 0 ? 0 : 1;
}
