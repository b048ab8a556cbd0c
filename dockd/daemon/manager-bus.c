/* SPDX-License-Identifier: Apache-2.0 */
/* manager-bus.c: the D-Bus API (org.dockd.Dock1) that dockctl and monitoring use. Methods
 * return JSON documents so that the schema can grow without breaking callers; the
 * typed properties (docs/dbus-api.md) are the dock's, the bays' are bay-bus.c's. */
#include "bay-bus.h"
#include "bus-changes.h"
#include "bus-polkit.h"
#include "bus-names.h"
#include "config.h"
#include "manager-bus.h"
#include "operations-bus.h"
#include "operator-bus.h"

static int reply_json(sd_bus_message *msg, struct json_object *o) {
        int r;

        if (!o)
                return -ENOMEM;
        r = sd_bus_reply_method_return(msg, "s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return r;
}

static int method_list_bays(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        struct json_object *arr = json_object_new_array();

        for (unsigned i = 0; i < m->config->n_bays; i++)
                if (m->bays[i])
                        json_object_array_add(arr, bay_status_json(m->bays[i]));
        return reply_json(msg, arr);
}

static int method_list_reports(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (!m->dock.reports)
                return reply_json(msg, json_object_new_array());
        return reply_json(msg, report_outbox_list_json(m->dock.reports, 50));
}

static int method_get_status(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ char *json = manager_status_json(m);

        if (!json)
                return -ENOMEM;
        return sd_bus_reply_method_return(msg, "s", json);
}

/* The dock's properties that change, read from the parts as the metrics are. */
typedef struct DockView {
        const char *status_text, *storage_last_error;
        bool storage_failing, spool_full;
        uint32_t uploads_queued, reports_pending;
        uint64_t upload_bytes_pending, oldest_unconfirmed, spool_used;
        uint32_t holds_generation;   /* what tells a change of Holds */
} DockView;

static void dock_view(void *userdata, void *ret) {
        Manager *m = userdata;
        DockView *v = ret;
        UploaderStats us = {};
        ReportOutboxStats rs = {};
        usec_t oldest = 0;
        size_t n = 0;

        uploader_get_stats(central_uploader(m->dock.central), &us);
        report_outbox_get_stats(m->dock.reports, &rs);
        central_unconfirmed(m->dock.central, &n, &oldest);
        *v = (DockView) {
                .status_text = m->last_status,
                .storage_last_error = us.failing ? us.last_error : NULL,
                .storage_failing = us.failing,
                .spool_full = spool_is_full(m->dock.spool),
                .uploads_queued = (uint32_t) us.queued,
                .reports_pending = (uint32_t) rs.undelivered,
                .upload_bytes_pending = us.bytes_pending,
                .oldest_unconfirmed = n > 0 ? oldest : 0,
                .spool_used = spool_usage(m->dock.spool),
                .holds_generation = holds_generation(m->holds),
        };
}

#define P(name, type, member, rate_limited) BUS_PROPERTY(DockView, name, type, member, rate_limited)
static const BusProperty dock_properties[] = {
        P("StatusText", BUS_VALUE_STRING, status_text, false),
        P("StorageFailing", BUS_VALUE_BOOL, storage_failing, false),
        P("StorageLastError", BUS_VALUE_STRING, storage_last_error, false),
        P("UploadsQueued", BUS_VALUE_U32, uploads_queued, true),
        P("UploadBytesPending", BUS_VALUE_U64, upload_bytes_pending, true),
        P("OldestUnconfirmedTimestamp", BUS_VALUE_U64, oldest_unconfirmed, false),
        P("SpoolUsedBytes", BUS_VALUE_U64, spool_used, true),
        P("SpoolFull", BUS_VALUE_BOOL, spool_full, false),
        P("ReportsPending", BUS_VALUE_U32, reports_pending, false),
        P("Holds", BUS_VALUE_U32, holds_generation, false),
};
#undef P

static const BusObjectType dock_object_type = {
        .interface = DOCKD_BUS_INTERFACE,
        .properties = dock_properties,
        .n_properties = ELEMENTSOF(dock_properties),
        .view_size = sizeof(DockView),
        .view = dock_view,
};

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        DockView v;
        int r;

        if (streq(property, "Version"))
                return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
        if (streq(property, "DockName"))
                return sd_bus_message_append(reply, "s", m->config->dock_name);
        if (streq(property, "NBays"))
                return sd_bus_message_append(reply, "u", (uint32_t) m->config->n_bays);
        if (streq(property, "StorageBackend"))
                return sd_bus_message_append(reply, "s", storage_backend_to_string(m->config->storage_backend));
        if (streq(property, "SpoolQuotaBytes"))
                return sd_bus_message_append(reply, "t", (uint64_t) m->config->spool_quota);
        if (streq(property, "Holds"))
                return holds_append(m->holds, reply);
        dock_view(m, &v);
        r = bus_property_append(reply, &dock_object_type, &v, property);
        if (r != -ENOENT)
                return r;
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "No property %s.", property);
}

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST
static const sd_bus_vtable dock_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get, 0, CONST),
        SD_BUS_PROPERTY("DockName", "s", property_get, 0, CONST),
        SD_BUS_PROPERTY("NBays", "u", property_get, 0, CONST),
        SD_BUS_PROPERTY("StatusText", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("StorageBackend", "s", property_get, 0, CONST),
        SD_BUS_PROPERTY("StorageFailing", "b", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("StorageLastError", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("UploadsQueued", "u", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("UploadBytesPending", "t", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("OldestUnconfirmedTimestamp", "t", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("SpoolUsedBytes", "t", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("SpoolQuotaBytes", "t", property_get, 0, CONST),
        SD_BUS_PROPERTY("SpoolFull", "b", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("ReportsPending", "u", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("Holds", "a(ssstus)", property_get, 0, CHANGE),
        SD_BUS_METHOD("GetStatus", "", "s", method_get_status, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListBays", "", "s", method_list_bays, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListReports", "", "s", method_list_reports, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reconcile", "", "s", method_reconcile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("GetReconcileResult", "", "s", method_get_reconcile_result, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("SummarizeReports", "tt", "s", method_summarize_reports, SD_BUS_VTABLE_UNPRIVILEGED),
        /* Operator actions: anyone may call, polkit decides (operator-bus.c). */
        SD_BUS_METHOD_WITH_ARGS("HoldRecording", SD_BUS_ARGS("s", camera, "s", recording, "s", reference),
                                SD_BUS_NO_RESULT, method_hold_recording, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReleaseRecording", SD_BUS_ARGS("s", camera, "s", recording, "s", reference),
                                SD_BUS_NO_RESULT, method_release_recording, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RetryStorage", "", "", method_retry_storage, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
#undef CONST
#undef CHANGE

/* RequestName's answer (D-Bus specification): 1 primary owner, 2 in queue,
 * 3 exists, 4 already owner. A callback given to sd_bus_request_name_async()
 * gets it raw: a name that another process owns is no error. */
static int name_request_result(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t ret;
        int r;

        if (e)
                return -sd_bus_error_get_errno(e) ?: -EIO;
        r = sd_bus_message_read(reply, "u", &ret);
        if (r < 0)
                return r;
        return ret == 1 || ret == 4 ? 0 : -EEXIST;
}

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        int r = name_request_result(reply);

        if (r < 0) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                /* Another dockd has it, or policy forbids it, or the bus went away:
                 * running on without the name would be a dock nobody can ask. Exit
                 * failed, so that the service manager restarts us. */
                if (e)
                        log_error("Cannot own D-Bus name %s: %s", DOCKD_BUS_NAME, e->message);
                else
                        log_error_errno(r, "Cannot own D-Bus name %s: %m", DOCKD_BUS_NAME);
                manager_stop(m);
                (void) sd_event_exit(m->event, r);
                return 0;
        }
        log_debug("Acquired D-Bus name %s.", DOCKD_BUS_NAME);
        manager_notify_ready(m);
        return 0;
}

int manager_bus_setup(Manager *m) {
        int r;

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(m->bus, &m->bus_vtable_slot, DOCKD_BUS_PATH,
                                     DOCKD_BUS_INTERFACE, dock_vtable, m);
        if (r < 0)
                return r;
        /* The bays are there before the name is: clients find them all at once. */
        r = sd_bus_add_object_manager(m->bus, NULL, DOCKD_BUS_PATH);
        if (r < 0)
                return r;
        r = bus_polkit_new(&m->polkit);
        if (r < 0)
                return r;
        r = bus_watcher_new(m->bus, m->event, &m->bus_watcher);
        if (r < 0)
                return r;
        r = bus_watcher_add(m->bus_watcher, DOCKD_BUS_PATH, &dock_object_type, m);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < m->config->n_bays; i++)
                if (m->bays[i]) {
                        r = bay_bus_add(m, m->bays[i]);
                        if (r < 0)
                                return r;
                }
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* No timeout on our calls (the only one is RequestName): the bus always
         * answers or hangs up, and a busy bus that answers after sd-bus's 25 s
         * would otherwise leave us running without our name. */
        r = sd_bus_set_method_call_timeout(m->bus, UINT64_MAX);
        if (r < 0)
                return r;
        /* Asynchronously: a stuck bus must never hold up cameras. */
        return sd_bus_request_name_async(m->bus, NULL, DOCKD_BUS_NAME, 0, on_name_acquired, m);
}
