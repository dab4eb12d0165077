/* log.h: level-filtered, one-line-per-event logging to stderr. */
#ifndef VIVO_LOG_H
#define VIVO_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Set the program name printed on every line (a static string). */
void log_init(const char *program);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn"/"warning", "info", "debug", "trace" (and "off" = error). 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
/* Write one line; newlines inside the message are escaped so a line is an event. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
