/* The single-file edition, any other file of the program: a plain
 * #include. A sleeper and a child that reports a result. */
#include <stdio.h>

#include "multitask.h"

struct child { mt_task task; int result; };
struct parent { mt_task task; struct child c; int i; };

static int child(mt_task *t)
{
    struct child *f = (struct child *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, 1);
    f->result = 7;
    MT_END(t);
}

static int parent(mt_task *t)
{
    struct parent *f = (struct parent *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 2; f->i++)
        MT_YIELD(t);
    MT_AWAIT(t, &f->c.task, child, 1000);
    printf("single %d %s\n", f->c.result, mt_version());
    MT_END(t);
}

int run_b(void);

int run_b(void)
{
    static struct parent p;
    mt_add(&p.task, parent);
    return mt_run();
}
