/* The seed's parent/child example: a parent awaits four children that
 * return nothing, one value, two values, and raise an error it catches.
 * Prints: None, 1, (2, 3), caught exception: foo. */
#include <stdio.h>

#include "multitask.h"

/* Each child writes its results into its own frame. */
struct ret_one { mt_task task; int value; };
struct ret_many { mt_task task; int a, b; };

static int return_none(mt_task *t)
{
    MT_BEGIN(t);
    MT_YIELD(t);
    MT_END(t);
}

static int return_one(mt_task *t)
{
    struct ret_one *f = (struct ret_one *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    f->value = 1;
    MT_END(t);
}

static int return_many(mt_task *t)
{
    struct ret_many *f = (struct ret_many *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    f->a = 2;
    f->b = 3;
    MT_END(t);
}

static int raise_exception(mt_task *t)
{
    MT_BEGIN(t);
    MT_YIELD(t);
    MT_RAISE(t, MT_EFAIL, "foo");
    MT_END(t);
}

/* The parent holds its children's frames: one child at a time, so a union. */
struct parent {
    mt_task task;
    union {
        mt_task none;
        struct ret_one one;
        struct ret_many many;
        mt_task raiser;
    } child;
};

static int parent(mt_task *t)
{
    struct parent *f = (struct parent *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->child.none, return_none, MT_FOREVER);
    printf("None\n");
    MT_AWAIT(t, &f->child.one.task, return_one, MT_FOREVER);
    printf("%d\n", f->child.one.value);
    MT_AWAIT(t, &f->child.many.task, return_many, MT_FOREVER);
    printf("(%d, %d)\n", f->child.many.a, f->child.many.b);
    /* Caught here, so it goes no further. */
    MT_CATCH(t, MT_AWAIT(t, &f->child.raiser, raise_exception, MT_FOREVER));
    if (mt_err(t))
        printf("caught exception: %s\n", mt_errmsg(t));
    MT_END(t);
}

int main(void)
{
    static struct parent p;
    int r;
    mt_add(&p.task, parent);
    r = mt_run();
    mt_sched_destroy(mt_default()); /* closes what it opened (epoll, self-pipe) */
    return r == 0 ? 0 : 1;
}
