#include "config.h"
#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"
#include "util.h"

/*
 * At most 4 redraws a second: the tracing line is drawn at the ticks of a
 * 250 ms timer (with some slack for their jitter), the progress bar when
 * 250 ms have passed.
 */
#define STATUS_INTERVAL_NS 250000000L
#define STATUS_TICK_SLACK_NS 25000000L
#define STATUS_MAX 512
#define ERASE "\r\033[K"

volatile sig_atomic_t status_due;
static volatile sig_atomic_t shown;  /* a line is on the terminal now */
static bool enabled;
static bool unthrottled;  /* FINGERPRINT_TEST_STATUS=every (for the tests): redraw at every call */
static struct timespec started, last_draw;

/* write(2) all of it; a signal may cut a write to a terminal short. Async-signal-safe. */
static void write_all(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

bool status_init(bool allowed)
{
	const char *term = getenv("TERM");
	const char *test = getenv("FINGERPRINT_TEST_STATUS");

	enabled = allowed && verbosity >= 1 && isatty(STDERR_FILENO) && term && *term && strcmp(term, "dumb") != 0;
	unthrottled = test && strcmp(test, "every") == 0;
	clock_gettime(CLOCK_MONOTONIC, &started);
	last_draw = started;
	if (enabled)
		atexit(status_stop);
	return enabled;
}

bool status_enabled(void)
{
	return enabled;
}

void status_wake(void)
{
	status_due = 1;
}

void status_erase(void)
{
	int saved_errno = errno;
	if (shown) {
		shown = 0;
		write_all(ERASE, sizeof(ERASE) - 1);
	}
	errno = saved_errno;
}

void status_stop(void)
{
	status_erase();
	enabled = false;
}

static long ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

/* Whether a redraw may happen now (not within `interval` ns of the last one); notes it. */
static bool may_draw(long interval)
{
	struct timespec now;
	if (!enabled)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!unthrottled && ns_between(&last_draw, &now) < interval)
		return false;
	last_draw = now;
	return true;
}

/* The terminal's width, less one column (a full line would wrap on some terminals). */
static size_t line_width(void)
{
	struct winsize ws;
	size_t cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
	if (cols > STATUS_MAX - 8)
		cols = STATUS_MAX - 8;
	return cols > 20 ? cols - 1 : 19;
}

/* A line being put together, cut at the terminal's width. */
struct line {
	char s[STATUS_MAX];
	size_t n, width;
};

/* Append n bytes, one column each: NUL as a space, anything but printable ASCII as '?'. */
static void line_put(struct line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n && l->n < l->width; i++)
		l->s[l->n++] = !s[i] ? ' ' : s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
}

static void line_add(struct line *l, const char *fmt, ...) FP_PRINTF(2, 3);

static void line_add(struct line *l, const char *fmt, ...)
{
	char piece[STATUS_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(piece, sizeof(piece), fmt, ap);
	va_end(ap);
	if (n > 0)
		line_put(l, piece, (size_t)n < sizeof(piece) ? (size_t)n : sizeof(piece) - 1);
}

static void line_show(struct line *l)
{
	char out[STATUS_MAX + 16];
	size_t n = 0;
	out[n++] = '\r';
	memcpy(out + n, l->s, l->n);
	n += l->n;
	memcpy(out + n, "\033[K", 3);
	n += 3;
	shown = 1;
	write_all(out, n);
}

/* The newest process still running: what the traced job is doing now. */
static const struct mf_process *newest_running(const struct manifest *m)
{
	for (size_t i = m->nprocs; i-- > 0;) {
		const struct mf_process *p = m->procs[i];
		if (!p->exit.exited && !p->detached && p->argv_len)
			return p;
	}
	return NULL;
}

void status_trace(const struct manifest *m)
{
	struct line l = { .n = 0 };
	struct timespec now;
	size_t alive = 0;

	status_due = 0;
	if (!may_draw(STATUS_INTERVAL_NS - STATUS_TICK_SLACK_NS))
		return;
	l.width = line_width(); /* an ioctl: only for a line drawn (the wait loop's timer may tick every 10 ms) */
	clock_gettime(CLOCK_MONOTONIC, &now);
	long s = ns_between(&started, &now) / 1000000000L;
	for (size_t i = 0; i < m->nprocs; i++)
		alive += !m->procs[i]->exit.exited && !m->procs[i]->detached;
	line_add(&l, "%s: %ld:%02ld  processes %zu/%zu  files %zu  libraries %zu", program_name, s / 60, s % 60,
		 alive, m->nprocs, m->files.size, m->libraries.size);
	const struct mf_process *p = newest_running(m);
	if (p) {
		line_add(&l, "  ");
		line_put(&l, p->argv, p->argv_len); /* its words, joined by spaces */
	}
	line_show(&l);
}

void status_progress(size_t done, size_t total)
{
	struct line l = { .n = 0 };
	char bar[41];
	size_t cells = sizeof(bar) - 1;

	if (!total || !may_draw(STATUS_INTERVAL_NS))
		return;
	l.width = line_width();
	if (done > total)
		done = total;
	size_t full = done * cells / total;
	memset(bar, '#', full);
	memset(bar + full, '.', cells - full);
	bar[cells] = '\0';
	line_add(&l, "%s: hashing [%s] %zu/%zu files", program_name, bar, done, total);
	line_show(&l);
}
