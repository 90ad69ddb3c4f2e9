/* Unit tests of proc.c: the count of threads that may run at once (proc_runners). */
#include <stdio.h>

#include "proc.h"

#include "check.h"

#define RUNNERS(want, what) CHECK(proc_runners() == (want), "%s: %zu runners, want %d", what, proc_runners(), want)

int main(void)
{
	struct proc *sh = proc_new(100, NULL, NULL);
	RUNNERS(1, "a shell alone");

	struct proc *c1 = proc_new(101, NULL, sh->tg);
	CHECK(c1->tg->parent == sh->tg && sh->tg->children == 1, "the child's parent");
	RUNNERS(1, "the shell waiting for a child");

	struct proc *gc = proc_new(102, NULL, c1->tg);
	RUNNERS(1, "a chain of three");

	struct proc *c2 = proc_new(103, NULL, sh->tg);
	RUNNERS(2, "two children of the shell");

	struct proc *c2t = proc_new(104, c2->tg, NULL);
	RUNNERS(3, "the second child with a second thread");
	proc_remove(c2t);
	RUNNERS(2, "its thread gone");
	proc_remove(c2);
	RUNNERS(1, "the second child gone");

	/* A parent gone before its child: the shell runs again beside the grandchild. */
	proc_remove(c1);
	CHECK(sh->tg->children == 0, "the shell's children: %u", sh->tg->children);
	RUNNERS(2, "the middle of the chain gone");
	proc_remove(gc);
	RUNNERS(1, "the grandchild gone too");

	/* A child adopted at its first stop, its parent learned from the fork event. */
	struct proc *a = proc_new(105, NULL, NULL);
	RUNNERS(2, "a child whose parent is not known yet");
	tgroup_set_parent(a->tg, sh->tg);
	RUNNERS(1, "its parent known");
	tgroup_set_parent(a->tg, sh->tg);
	CHECK(sh->tg->children == 1, "set twice: %u children", sh->tg->children);

	/* A multi-threaded parent with a child: its other thread may run. */
	struct proc *sht = proc_new(106, sh->tg, NULL);
	RUNNERS(2, "a parent of two threads waiting for a child");
	proc_remove(a);
	RUNNERS(2, "the parent of two threads alone");
	proc_remove(sht);
	proc_remove(sh);
	RUNNERS(0, "none left");
	CHECK(proc_count() == 0, "%zu procs left", proc_count());
	return failures ? 1 : 0;
}
