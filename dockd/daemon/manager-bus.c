/* SPDX-License-Identifier: Apache-2.0 */
/* manager-bus.c: the D-Bus API (org.dockd.Dock1) that dockctl and monitoring use. Methods
 * return JSON documents so that the schema can grow without breaking callers. */
#include "bus-names.h"
#include "config.h"
#include "manager-bus.h"
#include "operations-bus.h"

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

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_dock_name(sd_bus *bus, const char *path, const char *interface,
                                  const char *property, sd_bus_message *reply, void *userdata,
                                  sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config->dock_name);
}

static const sd_bus_vtable dock_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DockName", "s", property_get_dock_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("GetStatus", "", "s", method_get_status, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListBays", "", "s", method_list_bays, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListReports", "", "s", method_list_reports, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reconcile", "", "s", method_reconcile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("GetReconcileResult", "", "s", method_get_reconcile_result, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("SummarizeReports", "tt", "s", method_summarize_reports, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int on_name_acquired(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e)
                log_warning("Cannot own D-Bus name %s, dockctl will not reach this dockd: %s",
                            DOCKD_BUS_NAME, e->message);
        else
                log_debug("Acquired D-Bus name %s.", DOCKD_BUS_NAME);
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
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* Asynchronously: a stuck bus must never hold up cameras. */
        return sd_bus_request_name_async(m->bus, NULL, DOCKD_BUS_NAME, 0, on_name_acquired, m);
}
