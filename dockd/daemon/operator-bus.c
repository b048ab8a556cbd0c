/* SPDX-License-Identifier: Apache-2.0 */
/* operator-bus.c: see operator-bus.h. The order is always: arguments checked,
 * polkit asked, then anything looked up, the custody record written, the
 * change made. */
#include "bus-polkit.h"
#include "log.h"
#include "manager.h"
#include "operator-bus.h"

/* The custody record naming who asked: written before the change, and without
 * it nothing changes. */
static int record_action(Manager *m, const char *event, const char *bay, const char *camera, const char *action,
                         const BusCaller *caller, const LogField *extra, sd_bus_error *error) {
        LogField fields[8] = {
                { "action", action }, { "uid", caller->uid_text }, { "user", caller->user },
        };
        size_t n = 3;
        int r;

        for (const LogField *f = extra; f && f->key && n + 1 < ELEMENTSOF(fields); f++)
                fields[n++] = *f;
        r = custody_log_record(m->dock.custody, event, bay, camera, NULL, fields);
        if (r < 0)
                return sd_bus_error_setf(error, DOCKD_ERROR_CUSTODY_FAILED,
                                         "The custody record could not be written (%s): nothing was done.",
                                         strerror(-r));
        return 0;
}

static int retry_storage(sd_bus_message *call, const char *action, const BusCaller *caller, void *userdata,
                         sd_bus_error *error) {
        Manager *m = userdata;
        size_t n;
        int r;

        r = record_action(m, "storage-retry", NULL, NULL, action, caller, NULL, error);
        if (r < 0)
                return r;
        n = uploader_retry_now(central_uploader(m->dock.central));
        log_info("%s (uid %s) asked to retry central storage now: %zu upload(s) were waiting.",
                 caller->user[0] ? caller->user : "?", caller->uid_text, n);
        return sd_bus_reply_method_return(call, "");
}

int method_retry_storage(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_authorize(m->polkit, msg, DOCKD_ACTION_RETRY_STORAGE, NULL, retry_storage, userdata, error);
}
