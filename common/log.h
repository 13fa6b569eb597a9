/*
 * log: one line per event, "time pid level component message", to stderr or
 * the configured logfile.  Callers format key=value pairs into the message
 * and never pass a password.
 */
#ifndef PGIRIS_LOG_H
#define PGIRIS_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARNING, LOG_LEVEL_ERROR };

/* Open 'path' for appending ("" or NULL: stderr). 0 or -1. */
int log_open(const char *path);
void log_set_level(enum log_level level);
/* Suppress info and debug lines (-q). */
void log_set_quiet(int quiet);

/* The current settings, to hand them to a worker process. */
enum log_level log_get_level(void);
int log_get_quiet(void);

void log_write(enum log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(c, ...) log_write(LOG_LEVEL_DEBUG, c, __VA_ARGS__)
#define log_info(c, ...) log_write(LOG_LEVEL_INFO, c, __VA_ARGS__)
#define log_warning(c, ...) log_write(LOG_LEVEL_WARNING, c, __VA_ARGS__)
#define log_error(c, ...) log_write(LOG_LEVEL_ERROR, c, __VA_ARGS__)

#endif
