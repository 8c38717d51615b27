/*
 * Logging to stderr.  Under systemd (JOURNAL_STREAM names our stderr) every line carries a
 * "<N>" syslog priority prefix that journald turns into the entry's priority; elsewhere the
 * line carries a UTC timestamp and the level in words.
 */
#ifndef KRBWATCH_LOG_H
#define KRBWATCH_LOG_H

#include <stdarg.h>

enum log_level { LOG_L_ERR = 3, LOG_L_WARN = 4, LOG_L_NOTICE = 5, LOG_L_INFO = 6, LOG_L_DEBUG = 7 };

void log_init(int verbose);
void log_quiet(void);
void log_msg(enum log_level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level, const char *fmt, va_list) __attribute__((format(printf, 2, 0)));

#define log_err(...) log_msg(LOG_L_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_L_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_L_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_L_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_L_DEBUG, __VA_ARGS__)

/* A broken invariant: log and abort. */
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
