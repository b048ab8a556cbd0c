/* SPDX-License-Identifier: Apache-2.0 */
/* log.h: logging to journald with structured fields, or one readable line on stderr.
 * Messages about a bay, camera or segment carry DOCKD_BAY=, DOCKD_CAMERA_SERIAL=,
 * DOCKD_SEGMENT=; events an operator acts on carry a MESSAGE_ID= (message-ids.h). */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,     /* journal when stderr is connected to it (JOURNAL_STREAM), else console */
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
        _LOG_TARGET_MAX,
        _LOG_TARGET_INVALID = -EINVAL,
} LogTarget;

/* Extra journal fields, "KEY=value" each. */
typedef struct LogField {
        const char *key;
        const char *value;
} LogField;

/* What a message is about. Every member may be NULL. */
typedef struct LogContext {
        const char *bay;
        const char *serial;
        const char *segment;
        const char *message_id;   /* 32 lower-case hex digits */
        const LogField *fields;   /* terminated by a NULL key */
} LogContext;

void log_setup(LogTarget target, int max_level);
void log_set_max_level(int level);
int log_get_max_level(void);
LogTarget log_get_target(void);
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);
LogTarget log_target_from_string(const char *s);

int log_internal(int level, int error, const LogContext *ctx, const char *file, int line,
                 const char *func, const char *format, ...) _printf_(7, 8);

#define log_full_errno_ctx(level, error, ctx, ...)                                         \
        ({                                                                                 \
                int _l_ = (level), _e_ = (error);                                          \
                (_l_ & LOG_PRIMASK) <= log_get_max_level()                                 \
                        ? log_internal(_l_, _e_, (ctx), __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -abs(_e_);                                                       \
        })

#define log_full_errno(level, error, ...) log_full_errno_ctx(level, error, NULL, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

/* These return -abs(error), so "return log_error_errno(r, …);" works. */
#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* An operator-facing event with its MESSAGE_ID and extra fields. */
#define log_event(level, id, ...) \
        (void) log_full_errno_ctx(level, 0, (&(LogContext){ .message_id = (id) }), __VA_ARGS__)
