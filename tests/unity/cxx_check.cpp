// multitask.h from C++: the API and the macros compile with -Wall -Werror
// (both continuation backends), and link against the C library.
#include <cstdio>

#include "../../multitask.h"

struct Child {
    mt_task task;
    int value;
};

static int child(mt_task *t)
{
    Child *f = reinterpret_cast<Child *>(t);
    MT_BEGIN(t);
    MT_SLEEP(t, 1);
    f->value = 3;
    MT_END(t);
}

struct Parent {
    mt_task task;
    Child c;
    int item;
    mt_queue *q;
};

static int parent(mt_task *t)
{
    Parent *f = reinterpret_cast<Parent *>(t);
    MT_BEGIN(t);
    MT_AWAIT(t, &f->c.task, child, MT_FOREVER);
    f->item = f->c.value;
    MT_QUEUE_PUT(t, f->q, &f->item, 10);
    MT_CATCH(t, MT_QUEUE_GET(t, f->q, &f->item, 10));
    std::printf("cxx %d %d\n", f->item, mt_err(t));
    MT_END(t);
}

int main()
{
    static Parent p;
    static int store[2];
    static mt_queue q;
    mt_queue_init(&q, store, sizeof(int), 2, 0, 0);
    p.q = &q;
    mt_add(&p.task, parent);
    return mt_run();
}
