/*
 * log: formats a whole line first and writes it with one write(2), so lines
 * from several processes and threads sharing the file never interleave.
 */
#include "common/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static enum log_level log_min = LOG_LEVEL_INFO;
static int log_quiet;

int log_open(const char *path)
{
    if (path == NULL || path[0] == '\0') {
        log_fd = 2;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (log_fd > 2)
        close(log_fd);
    log_fd = fd;
    return 0;
}

void log_set_level(enum log_level level)
{
    log_min = level;
}

void log_set_quiet(int quiet)
{
    log_quiet = quiet;
}

enum log_level log_get_level(void)
{
    return log_min;
}

int log_get_quiet(void)
{
    return log_quiet;
}

void log_write(enum log_level level, const char *component, const char *fmt, ...)
{
    static const char *const names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
    if (level < log_min || (log_quiet && level < LOG_LEVEL_WARNING))
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02d %02d:%02d:%02d.%03d %d %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)(tv.tv_usec / 1000), (int)getpid(), names[level], component);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(log_fd, line, len);
    (void)w;
}
