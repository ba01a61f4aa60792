/*
 * The runtime's trace hook. It feeds two sinks: the classic mode's log
 * (one timestamped line per event) and a Chrome trace-event file, the
 * "traceEvents" JSON array that Perfetto and chrome://tracing open: an "X"
 * complete event per poll, "i" instant events for spawns, wakes and timer
 * fires. The records carry no time, so the hook stamps them with
 * CLOCK_MONOTONIC, in microseconds since the trace was opened; timer fires
 * also carry their deadline and firing time on the runtime's clock.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "evfut-timer.h"

struct et_trace {
	bool log;
	FILE *file; /* NULL: no trace file */
	int error;  /* the first write error, as -errno */
	long pid;
	evfut_nsec origin;     /* CLOCK_MONOTONIC when attached */
	evfut_nsec poll_begin; /* of the poll in progress */
	evfut_nsec virtual_origin;
};

static evfut_nsec
monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (evfut_nsec)ts.tv_sec * EVFUT_SEC + (evfut_nsec)ts.tv_nsec;
}

/* Prints @ns as microseconds with three decimals: JSON numbers. */
static void
put_us(FILE *f, evfut_nsec ns)
{
	fprintf(f, "%llu.%03u", (unsigned long long)(ns / 1000),
	        (unsigned)(ns % 1000));
}

/* A JSON string; "where" is a source path, which may hold anything. */
static void
put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* The fields every event shares, up to and including "ts". */
static void
begin_event(struct et_trace *t, const char *name, const char *cat,
            const char *ph, evfut_nsec at)
{
	fprintf(t->file,
	        ",\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"%s\",\"pid\":%ld,"
	        "\"tid\":1,\"ts\":",
	        name, cat, ph, t->pid);
	put_us(t->file, at - t->origin);
}

static void
write_task_event(struct et_trace *t, const struct evfut_trace_record *r,
                 evfut_nsec at)
{
	switch (r->event) {
	case EVFUT_TRACE_SPAWN:
		begin_event(t, "spawn", "task", "i", at);
		fprintf(t->file,
		        ",\"s\":\"t\",\"args\":{\"task\":%u,\"where\":",
		        (unsigned)r->task);
		put_string(t->file, r->where != NULL ? r->where : "");
		fputs("}}", t->file);
		break;
	case EVFUT_TRACE_POLL_BEGIN:
		t->poll_begin = at;
		break;
	case EVFUT_TRACE_POLL_END:
		begin_event(t, "poll", "task", "X", t->poll_begin);
		fputs(",\"dur\":", t->file);
		put_us(t->file, at - t->poll_begin);
		fprintf(t->file, ",\"args\":{\"task\":%u,\"ready\":%s}}",
		        (unsigned)r->task, r->ready ? "true" : "false");
		break;
	case EVFUT_TRACE_WAKE:
		begin_event(t, "wake", "task", "i", at);
		fprintf(t->file,
		        ",\"s\":\"t\",\"args\":{\"task\":%u,\"remote\":%s}}",
		        (unsigned)r->task, r->remote ? "true" : "false");
		break;
	default:
		break;
	}
}

static void
write_event(struct et_trace *t, const struct evfut_trace_record *r)
{
	evfut_nsec at = monotonic_now();

	if (r->event != EVFUT_TRACE_TIMER_FIRE) {
		write_task_event(t, r, at);
		return;
	}
	begin_event(t, "timer fire", "timer", "i", at);
	fprintf(t->file,
	        ",\"s\":\"t\",\"args\":{\"deadline_ns\":%llu,\"now_ns\":%llu,"
	        "\"late_ns\":%llu}}",
	        (unsigned long long)(r->deadline - t->virtual_origin),
	        (unsigned long long)(r->now - t->virtual_origin),
	        (unsigned long long)(r->now - r->deadline));
}

static void
log_event(const struct evfut_trace_record *r)
{
	char late[32];

	switch (r->event) {
	case EVFUT_TRACE_SPAWN:
		et_log("runtime", "task %u spawned (%s)", (unsigned)r->task,
		       r->where);
		break;
	case EVFUT_TRACE_POLL_BEGIN:
		et_log("runtime", "task %u is polled", (unsigned)r->task);
		break;
	case EVFUT_TRACE_POLL_END:
		et_log("runtime", "task %u's poll returned %s",
		       (unsigned)r->task, r->ready ? "Ready" : "Pending");
		break;
	case EVFUT_TRACE_WAKE:
		et_log("runtime", "task %u woken: on the ready queue%s",
		       (unsigned)r->task,
		       r->remote ? " (the wake came from another thread)" : "");
		break;
	case EVFUT_TRACE_TIMER_FIRE:
		et_duration_format(late, sizeof(late), r->now - r->deadline);
		et_log("runtime",
		       "timer fired: its deadline passed %s ago; the driver "
		       "takes the stored waker and wakes it",
		       late);
		break;
	}
}

static void
on_trace(const struct evfut_trace_record *record, void *arg)
{
	struct et_trace *t = arg;

	if (t->log)
		log_event(record);
	if (t->file != NULL)
		write_event(t, record);
}

int
et_trace_open(struct et_trace **out, const char *path, bool log)
{
	struct et_trace *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	t->log = log;
	t->pid = (long)getpid();
	if (path != NULL) {
		t->file = fopen(path, "w");
		if (t->file == NULL) {
			free(t);
			return -errno;
		}
		fprintf(t->file,
		        "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n"
		        "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%ld,"
		        "\"tid\":1,\"args\":{\"name\":\"" ET_NAME "\"}},\n"
		        "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%ld,"
		        "\"tid\":1,\"args\":{\"name\":\"runtime\"}}",
		        t->pid, t->pid);
	}
	*out = t;
	return 0;
}

void
et_trace_attach(struct et_trace *t, struct evfut_runtime *rt)
{
	/* Both origins now: "ts" and the fires' times then read alike. */
	t->origin = monotonic_now();
	t->virtual_origin = evfut_runtime_now(rt);
	evfut_runtime_set_trace(rt, on_trace, t);
}

int
et_trace_close(struct et_trace *t)
{
	int rc = 0;

	if (t == NULL)
		return 0;
	if (t->file != NULL) {
		fputs("\n]}\n", t->file);
		if (fflush(t->file) != 0)
			rc = -errno;
		else if (ferror(t->file))
			rc = -EIO; /* an earlier write failed; errno is gone */
		if (fclose(t->file) != 0 && rc == 0)
			rc = -errno;
	}
	free(t);
	return rc;
}
