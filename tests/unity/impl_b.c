#include <stdio.h>

#include "../../multitask.h"

struct counter { mt_task task; int i; };

static int counter(mt_task *t)
{
    struct counter *f = (struct counter *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 2; f->i++)
        MT_SLEEP(t, 1);
    printf("impl %d\n", f->i);
    MT_END(t);
}

int run_b(void);

int run_b(void)
{
    static struct counter c;
    mt_add(&c.task, counter);
    return mt_run();
}
