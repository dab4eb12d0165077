/* tap.h: a tiny TAP producer for C unit tests (ok lines, a plan, the exit status). */
#ifndef VIVO_TAP_H
#define VIVO_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 4, 5), unused))
static bool tap_ok(bool cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 5, 6), unused))
static bool tap_is_str(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
	bool cond = got && want && strcmp(got, want) == 0;
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   at %s:%d\n#   got:  %s\n#   want: %s\n", file, line, got ? got : "(null)", want ? want : "(null)");
	}
	fflush(stdout);
	return cond;
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
