/*
 * Fuzzes the executor against the waker contract.
 *
 * The input decodes to a sequence of operations on up to SLOTS probe
 * tasks: spawn (joinable, in one allocation) or start (in this file's
 * memory, with a release callback), wake or wake_by_ref a waker the
 * harness holds, wake from another thread, clone or drop a held waker,
 * script the next poll (complete, wake itself, wake another task), abort,
 * detach, shut down, and run the runtime until it is quiet. A model
 * follows each task, and the checks are:
 *
 * - no poll after completion or cancellation, and no poll nobody asked
 *   for: a probe's poll aborts unless the model has a wake pending;
 * - every wake of an idle task leads to exactly one poll: several wakes
 *   before a poll count once, a wake during the poll gives one more poll,
 *   and when the runtime is quiet no wake is left pending (the root
 *   future of each run sees its own polls follow each other with no probe
 *   poll between while the model still waits for one: a lost wakeup);
 * - an aborted task is dropped within the abort (no op runs inside a
 *   poll, so every task is idle or queued then), never polled, and its
 *   future is dropped exactly once (completed tasks' futures too);
 * - refcounts balance: a started task's release callback runs exactly
 *   once, exactly when it finished and the harness holds no waker of it;
 *   the runtime's count of held tasks matches the tasks the model says
 *   are alive;
 *   the runtime's stats (spawned, completed, cancelled, live, polls) match
 *   the model; and after evfut_runtime_destroy() every waker can still be
 *   woken and dropped, after which nothing is left allocated.
 *
 * Build: test/fuzz/run (libFuzzer), or the meson 'fuzz' suite replays
 * test/fuzz/corpus/executor/.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evfut.h"

#include "input.h"

#define SLOTS   12
#define HELD    3
#define MAX_OPS 512

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
			        __LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

struct slot;

struct probe {
	struct evfut_future base;
	struct slot *slot;
};

struct slot {
	int used;
	int joinable; /* spawned with a handle, else started in .task */
	struct evfut_task task;
	struct probe fut;
	struct evfut_join_handle handle;
	int has_handle;
	struct evfut_waker held[HELD]; /* clones the harness owns */
	pthread_t thread;
	int has_thread;
	struct evfut_waker thread_waker; /* moved to the thread */
	int thread_by_ref;
	/* the script of the next poll */
	int ready_next;
	int self_wake_next;
	int wake_other_next; /* slot index + 1, or 0 */
	/* the model */
	int m_notified; /* a wake is pending: exactly one poll must follow */
	int m_aborted;
	int m_finished;
	int m_completed; /* finished by returning ready */
	/* observed */
	unsigned long polls;
	int drops;
	atomic_int released;
};

static struct slot slots[SLOTS];
static struct evfut_runtime *rt;
static int destroying;
static unsigned long probe_polls, probe_drops, root_polls, roots;
static unsigned long spawned, completed, cancelled;

/* An allocator that counts live blocks (the tasks, the runtime). */
static atomic_long live_blocks;

static void *
count_malloc(size_t size)
{
	void *p = malloc(size);

	if (p != NULL)
		atomic_fetch_add(&live_blocks, 1);
	return p;
}

static void *
count_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size);

	if (ptr == NULL && p != NULL)
		atomic_fetch_add(&live_blocks, 1);
	return p;
}

static void
count_free(void *ptr)
{
	if (ptr != NULL)
		atomic_fetch_sub(&live_blocks, 1);
	free(ptr);
}

static const struct evfut_allocator counting = {count_malloc, count_realloc,
                                                count_free};

static int
held_count(const struct slot *s)
{
	int n = 0;

	for (int h = 0; h < HELD; h++)
		n += !evfut_waker_is_empty(&s->held[h]);
	return n;
}

/* The model: a wake of a task that can still be polled. */
static void
model_wake(struct slot *s)
{
	if (!s->m_finished && !s->m_aborted)
		s->m_notified = 1;
}

static void
wake_other(struct slot *self, struct slot *other,
           const struct evfut_waker *mine)
{
	if (other == self) {
		evfut_waker_wake_by_ref(mine);
		model_wake(self);
		return;
	}
	for (int h = 0; h < HELD; h++) {
		if (!evfut_waker_is_empty(&other->held[h])) {
			evfut_waker_wake_by_ref(&other->held[h]);
			model_wake(other);
			return;
		}
	}
}

static enum evfut_poll
probe_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct probe *p = evfut_container_of(self, struct probe, base);
	struct slot *s = p->slot;
	struct evfut_waker copy;
	int other;

	CHECK(!s->m_finished && s->drops == 0); /* never after completion */
	CHECK(!s->m_aborted);                   /* never after abort */
	CHECK(s->m_notified);                   /* only when woken */
	CHECK(cx->runtime == rt);
	s->m_notified = 0;
	s->polls++;
	probe_polls++;
	/* One vtable per waker kind: a clone wakes the same task. */
	copy = evfut_waker_clone(cx->waker);
	CHECK(evfut_waker_will_wake(&copy, cx->waker));
	evfut_waker_drop(&copy);
	evfut_waker_store(&s->held[0], cx->waker);
	other = s->wake_other_next;
	s->wake_other_next = 0;
	if (other > 0)
		wake_other(s, &slots[other - 1], cx->waker);
	if (s->self_wake_next) {
		s->self_wake_next = 0;
		evfut_waker_wake_by_ref(cx->waker);
		model_wake(s);
	}
	if (s->ready_next) {
		s->ready_next = 0;
		s->m_finished = 1;
		s->m_completed = 1;
		s->m_notified = 0;
		completed++;
		return EVFUT_READY;
	}
	return EVFUT_PENDING;
}

static void
probe_drop(struct evfut_future *self)
{
	struct probe *p = evfut_container_of(self, struct probe, base);
	struct slot *s = p->slot;

	CHECK(s->drops == 0); /* dropped exactly once */
	s->drops = 1;
	probe_drops++;
	if (s->m_completed)
		return;
	/* Cancelled: only an aborted task, or at destroy. */
	CHECK(s->m_aborted || destroying);
	s->m_finished = 1;
	s->m_notified = 0;
	cancelled++;
}

static void
probe_release(struct evfut_task *task)
{
	struct slot *s = evfut_container_of(task, struct slot, task);

	CHECK(atomic_fetch_add(&s->released, 1) == 0);
}

/* The root of each run: yields until the model has no wake pending. */
struct root {
	struct evfut_future base;
	unsigned long seen; /* probe polls and drops at the last poll */
	int polled;
};

static int
model_quiet(void)
{
	for (int i = 0; i < SLOTS; i++) {
		const struct slot *s = &slots[i];

		if (s->used && !s->m_finished &&
		    (s->m_notified || s->m_aborted))
			return 0;
	}
	return 1;
}

static enum evfut_poll
root_poll(struct evfut_future *self, struct evfut_context *cx)
{
	struct root *r = evfut_container_of(self, struct root, base);
	unsigned long seen = probe_polls + probe_drops;

	root_polls++;
	if (model_quiet())
		return EVFUT_READY;
	/*
	 * The ready queue is FIFO and the root goes to its back: a task with
	 * a wake pending is polled (or cancelled) before the root's next
	 * poll. Two root polls in a row with nothing between lost a wake.
	 */
	CHECK(!r->polled || seen != r->seen);
	r->polled = 1;
	r->seen = seen;
	evfut_waker_wake_by_ref(cx->waker);
	return EVFUT_PENDING;
}

static void *
thread_main(void *arg)
{
	struct slot *s = arg;

	if (s->thread_by_ref) {
		evfut_waker_wake_by_ref(&s->thread_waker);
		evfut_waker_drop(&s->thread_waker);
	} else {
		evfut_waker_wake(&s->thread_waker);
	}
	return NULL;
}

static void
join_thread(struct slot *s)
{
	if (s->has_thread) {
		CHECK(pthread_join(s->thread, NULL) == 0);
		s->has_thread = 0;
	}
}

static void
check_model(long base_blocks)
{
	struct evfut_stats st;
	unsigned long live = 0;
	uint64_t held = 0;

	CHECK(evfut_runtime_stats(rt, &st) == 0);
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];
		int alive;

		if (!s->used)
			continue;
		live += !s->m_finished;
		alive = !s->m_finished || held_count(s) > 0 || s->has_handle ||
		        s->has_thread;
		if (s->joinable)
			held += alive;
		else if (!s->has_thread)
			CHECK(atomic_load(&s->released) == !alive);
		if (!s->joinable)
			held += !atomic_load(&s->released);
		if (s->has_handle)
			CHECK(evfut_task_finished(&s->handle) == s->m_finished);
	}
	CHECK(st.tasks_spawned == spawned + roots);
	CHECK(st.tasks_completed == completed + roots);
	CHECK(st.tasks_cancelled == cancelled);
	CHECK(st.tasks_live == live);
	CHECK(st.polls == probe_polls + root_polls);
	CHECK(st.tasks_held == held);
	/* The pool keeps finished tasks' memory; the runtime the rest. */
	CHECK(atomic_load(&live_blocks) >= base_blocks);
}

/* Runs the runtime until every pending wake was served. */
static void
settle(long base_blocks)
{
	struct root r;

	for (int i = 0; i < SLOTS; i++)
		join_thread(&slots[i]);
	memset(&r, 0, sizeof r);
	r.base.poll = root_poll;
	roots++;
	CHECK(evfut_runtime_block_on(rt, &r.base) == 0);
	CHECK(model_quiet());
	check_model(base_blocks);
}

static struct slot *
free_slot(void)
{
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];

		if (!s->used)
			return s;
		/* A finished task whose memory is gone may be replaced. */
		if (s->m_finished && held_count(s) == 0 && !s->has_handle &&
		    !s->has_thread &&
		    (s->joinable || atomic_load(&s->released)))
			return s;
	}
	return NULL;
}

static void
spawn(int joinable)
{
	struct slot *s = free_slot();

	if (s == NULL)
		return;
	memset(s, 0, sizeof(*s));
	atomic_init(&s->released, 0);
	s->used = 1;
	s->joinable = joinable;
	s->fut.base.poll = probe_poll;
	s->fut.base.drop = probe_drop;
	s->fut.slot = s;
	if (joinable) {
		CHECK(evfut_task_spawn_joinable(rt, &s->fut.base, sizeof s->fut,
		                                &s->handle) == 0);
		s->has_handle = 1;
	} else {
		CHECK(evfut_task_start(rt, &s->task, &s->fut.base,
		                       probe_release) == 0);
	}
	s->m_notified = 1; /* spawned tasks are scheduled */
	spawned++;
}

static void
wake_from_thread(struct slot *s, int h, int by_ref)
{
	if (evfut_waker_is_empty(&s->held[h]))
		return;
	join_thread(s);
	s->thread_waker = s->held[h];
	s->held[h].data = NULL;
	s->held[h].vtable = NULL;
	s->thread_by_ref = by_ref;
	model_wake(s);
	CHECK(pthread_create(&s->thread, NULL, thread_main, s) == 0);
	s->has_thread = 1;
}

static void
apply(struct fuzz_input *in, long base_blocks)
{
	uint8_t op = fuzz_u8(in);
	uint8_t arg = fuzz_u8(in);
	struct slot *s = &slots[arg % SLOTS];
	int h = (arg / SLOTS) % HELD;

	switch (op % 16) {
	case 0:
	case 1:
		spawn(op & 16);
		break;
	case 2: /* wake_by_ref from the harness's thread */
		if (s->used && !evfut_waker_is_empty(&s->held[h])) {
			evfut_waker_wake_by_ref(&s->held[h]);
			model_wake(s);
		}
		break;
	case 3: /* wake, consuming */
		if (s->used && !evfut_waker_is_empty(&s->held[h])) {
			evfut_waker_wake(&s->held[h]);
			model_wake(s);
		}
		break;
	case 4:
		if (s->used)
			wake_from_thread(s, h, op & 16);
		break;
	case 5: /* clone a held waker into an empty place */
		if (s->used && !evfut_waker_is_empty(&s->held[h])) {
			for (int k = 0; k < HELD; k++) {
				if (evfut_waker_is_empty(&s->held[k])) {
					s->held[k] =
					        evfut_waker_clone(&s->held[h]);
					break;
				}
			}
		}
		break;
	case 6:
		if (s->used)
			evfut_waker_drop(&s->held[h]);
		break;
	case 7:
		s->ready_next = 1;
		break;
	case 8:
		s->self_wake_next = 1;
		break;
	case 9:
		s->wake_other_next = 1 + fuzz_u8(in) % SLOTS;
		break;
	case 10: /* abort through the join handle */
		if (s->used && s->has_handle) {
			/* Before the call: an idle or queued task's future
			 * is dropped within it. */
			if (!s->m_finished)
				s->m_aborted = 1;
			evfut_task_abort(&s->handle);
			CHECK(s->m_finished);
		}
		break;
	case 11:
		if (s->used && s->has_handle) {
			evfut_task_detach(&s->handle);
			s->has_handle = 0;
		}
		break;
	case 12:
		if ((op & 0xf0) == 0xf0) { /* rare: abort everything */
			for (int i = 0; i < SLOTS; i++) {
				if (slots[i].used && !slots[i].m_finished)
					slots[i].m_aborted = 1;
			}
			CHECK(evfut_runtime_shutdown(rt) == 0);
		}
		break;
	default:
		settle(base_blocks);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size, 0};
	unsigned ops = 0;
	uint8_t flags = fuzz_u8(&in);
	long base_blocks;

	memset(slots, 0, sizeof slots);
	destroying = 0;
	probe_polls = probe_drops = root_polls = roots = 0;
	spawned = completed = cancelled = 0;
	atomic_store(&live_blocks, 0);
	CHECK(evfut_allocator_set(&counting) == 0);
	CHECK(evfut_runtime_create(&rt, NULL) == 0);
	base_blocks = atomic_load(&live_blocks);
	while (fuzz_more(&in) && ops++ < MAX_OPS)
		apply(&in, base_blocks);
	if (flags & 1)
		settle(base_blocks);
	/* Threads may still run across the destroy: wakers outlive it. */
	if (!(flags & 2)) {
		for (int i = 0; i < SLOTS; i++)
			join_thread(&slots[i]);
	}
	if (flags & 4) {
		for (int i = 0; i < SLOTS; i++)
			evfut_task_detach(&slots[i].handle);
	}
	destroying = 1;
	evfut_runtime_destroy(rt);
	rt = NULL;
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];

		join_thread(s);
		if (s->used)
			CHECK(s->m_finished && s->drops == 1);
		/* Waking after the runtime is gone is a harmless no-op. */
		for (int h = 0; h < HELD; h++) {
			evfut_waker_wake_by_ref(&s->held[h]);
			if (h == 0)
				evfut_waker_wake(&s->held[h]);
			else
				evfut_waker_drop(&s->held[h]);
		}
		evfut_task_detach(&s->handle);
		if (s->used && !s->joinable)
			CHECK(atomic_load(&s->released) == 1);
	}
	CHECK(atomic_load(&live_blocks) == 0);
	CHECK(evfut_allocator_set(NULL) == 0);
	return 0;
}
