/* SPDX-License-Identifier: Apache-2.0 */
/* log.c: the log sink. journald gets structured fields via sd_journal_sendv();
 * the console gets "<level>bay 2 [BWC-0001]: message" lines on stderr. */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_CONSOLE;
static int log_max_level = LOG_INFO;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg",   [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",       [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(level_names))
                return NULL;
        return level_names[level];
}

LogTarget log_target_from_string(const char *s) {
        if (streq_ptr(s, "auto"))
                return LOG_TARGET_AUTO;
        if (streq_ptr(s, "console"))
                return LOG_TARGET_CONSOLE;
        if (streq_ptr(s, "journal"))
                return LOG_TARGET_JOURNAL;
        return _LOG_TARGET_INVALID;
}

/* systemd sets JOURNAL_STREAM=dev:ino when stderr goes to the journal. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(LogTarget target, int max_level) {
        const char *e = getenv("DOCKD_LOG_TARGET");

        if (e && log_target_from_string(e) >= 0)
                target = log_target_from_string(e);
        if (target == LOG_TARGET_AUTO)
                target = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
        log_target = target;
        if (max_level >= 0)
                log_max_level = max_level;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

LogTarget log_get_target(void) {
        return log_target;
}

static void log_to_console(int level, const LogContext *ctx, const char *msg) {
        const char *prefix = "";

        switch (level & LOG_PRIMASK) {
        case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR:
                prefix = "error: ";
                break;
        case LOG_WARNING:
                prefix = "warning: ";
                break;
        case LOG_DEBUG:
                prefix = "debug: ";
                break;
        default:
                break;
        }

        flockfile(stderr);
        fputs(prefix, stderr);
        if (ctx && ctx->bay)
                fprintf(stderr, "bay %s: ", ctx->bay);
        if (ctx && ctx->serial)
                fprintf(stderr, "[%s] ", ctx->serial);
        if (ctx && ctx->segment)
                fprintf(stderr, "%s: ", ctx->segment);
        fputs(msg, stderr);
        fputc('\n', stderr);
        funlockfile(stderr);
}

#define MAX_FIELDS 32

static void iov_add(struct iovec *iov, size_t *n, const char *s) {
        if (s)
                iov[(*n)++] = (struct iovec) { .iov_base = (char *) s, .iov_len = strlen(s) };
}

static void log_to_journal(int level, int error, const LogContext *ctx, const char *file,
                           int line, const char *func, const char *msg) {
        char prio[16], errbuf[32], linebuf[32];
        _cleanup_free_ char *m = NULL, *bay = NULL, *serial = NULL, *seg = NULL, *mid = NULL,
                            *codefile = NULL, *codefunc = NULL;
        char *extra[MAX_FIELDS] = {};
        struct iovec iov[MAX_FIELDS + 12];
        size_t n = 0, n_extra = 0;

#define ADD(s) iov_add(iov, &n, (s))
        snprintf(prio, sizeof prio, "PRIORITY=%d", level & LOG_PRIMASK);
        ADD(prio);
        if (asprintf(&m, "MESSAGE=%s", msg) < 0)
                return;
        ADD(m);
        if (error != 0) {
                snprintf(errbuf, sizeof errbuf, "ERRNO=%d", abs(error));
                ADD(errbuf);
        }
        if (ctx) {
                if (ctx->bay && asprintf(&bay, "DOCKD_BAY=%s", ctx->bay) >= 0)
                        ADD(bay);
                if (ctx->serial && asprintf(&serial, "DOCKD_CAMERA_SERIAL=%s", ctx->serial) >= 0)
                        ADD(serial);
                if (ctx->segment && asprintf(&seg, "DOCKD_SEGMENT=%s", ctx->segment) >= 0)
                        ADD(seg);
                if (ctx->message_id && asprintf(&mid, "MESSAGE_ID=%s", ctx->message_id) >= 0)
                        ADD(mid);
                for (const LogField *f = ctx->fields; f && f->key && n_extra < MAX_FIELDS; f++)
                        if (asprintf(&extra[n_extra], "%s=%s", f->key, strna(f->value)) >= 0) {
                                ADD(extra[n_extra]);
                                n_extra++;
                        }
        }
        if (asprintf(&codefile, "CODE_FILE=%s", file) >= 0)
                ADD(codefile);
        snprintf(linebuf, sizeof linebuf, "CODE_LINE=%d", line);
        ADD(linebuf);
        if (asprintf(&codefunc, "CODE_FUNC=%s", func) >= 0)
                ADD(codefunc);
        ADD("SYSLOG_IDENTIFIER=dockd");
#undef ADD

        if (sd_journal_sendv(iov, (int) n) < 0)
                log_to_console(level, ctx, msg);
        for (size_t i = 0; i < n_extra; i++)
                free(extra[i]);
}

int log_internal(int level, int error, const LogContext *ctx, const char *file, int line,
                 const char *func, const char *format, ...) {
        char buf[2048];
        int saved_errno = errno;
        va_list ap;

        /* %m prints strerror of the error passed in, as in systemd. */
        errno = abs(error);
        va_start(ap, format);
        vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);

        if (log_target == LOG_TARGET_JOURNAL)
                log_to_journal(level, error, ctx, file, line, func, buf);
        else
                log_to_console(level, ctx, buf);

        errno = saved_errno;
        return -abs(error);
}
