/* log.c: stderr logger; each event is written with one write(2) so lines never interleave. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "vivo";
static atomic_int log_level = LOG_INFO;
static const char *const log_names[] = { "error", "warn", "info", "debug", "trace" };

void log_init(const char *program)
{
	log_program = program;
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

int log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	if (strcasecmp(s, "off") == 0) {
		*out = LOG_ERROR;
		return 0;
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048], msg[1536];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t i, o;
	int n;

	if ((int)level > atomic_load(&log_level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, ts.tv_nsec / 1000000, log_program, (long)getpid(), log_names[level]);
	if (n < 0)
		return;
	o = (size_t)n;
	for (i = 0; msg[i] && o < sizeof(line) - 3; i++) {
		if (msg[i] == '\n' || msg[i] == '\r') {
			line[o++] = '\\';
			line[o++] = msg[i] == '\n' ? 'n' : 'r';
		} else {
			line[o++] = msg[i];
		}
	}
	line[o++] = '\n';
	if (write(STDERR_FILENO, line, o) < 0)
		return;
}
