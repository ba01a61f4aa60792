/*
 * evfut-timer: the timer demo of evfut.
 *
 * Run: ./build/examples/evfut-timer/evfut-timer 3s --virtual
 *      ./build/examples/evfut-timer/evfut-timer --count 1000000 --spread 1s
 *      ./build/examples/evfut-timer/evfut-timer --interval 100ms --ticks 10 \
 *              --missed skip --stall 350ms
 *
 * See docs/cli.md and the evfut-timer(1) man page.
 */
#include <errno.h>
#include <string.h>

#include "evfut-timer.h"

static int
create_runtime(const struct et_options *opts, struct evfut_runtime **rt)
{
	struct evfut_runtime_options ro;
	int rc;

	memset(&ro, 0, sizeof(ro));
	ro.clock = opts->virtual_clock ? EVFUT_CLOCK_VIRTUAL
	                               : EVFUT_CLOCK_MONOTONIC;
	rc = evfut_runtime_create(rt, &ro);
	if (rc < 0)
		fprintf(stderr, ET_NAME ": cannot create a runtime: %s\n",
		        strerror(-rc));
	return rc;
}

static int
run(const struct et_options *opts, struct evfut_runtime *rt)
{
	switch (opts->program) {
	case ET_MANY:
		return et_many_run(opts, rt);
	case ET_INTERVAL:
		return et_interval_run(opts, rt);
	case ET_CLASSIC:
	default:
		return et_classic_run(opts, rt);
	}
}

int
main(int argc, char **argv)
{
	struct et_options opts;
	struct evfut_runtime *rt;
	struct et_trace *trace = NULL;
	int status;
	int rc;

	status = et_cli_parse(&opts, argc, argv);
	if (status >= 0)
		return status;
	if (create_runtime(&opts, &rt) < 0)
		return ET_EXIT_FAILURE;
	et_log_start(opts.virtual_clock ? rt : NULL);
	if (opts.program == ET_CLASSIC || opts.trace_path != NULL) {
		rc = et_trace_open(&trace, opts.trace_path,
		                   opts.program == ET_CLASSIC);
		if (rc < 0) {
			fprintf(stderr, ET_NAME ": --trace %s: %s\n",
			        opts.trace_path, strerror(-rc));
			evfut_runtime_destroy(rt);
			return ET_EXIT_FAILURE;
		}
		et_trace_attach(trace, rt);
	}
	status = run(&opts, rt); /* destroys rt */
	rc = et_trace_close(trace);
	if (rc < 0) {
		fprintf(stderr, ET_NAME ": --trace %s: %s\n", opts.trace_path,
		        strerror(-rc));
		status = ET_EXIT_FAILURE;
	}
	return status;
}
