/* SPDX-License-Identifier: Apache-2.0 */
/* bay-bus.c: see bay-bus.h. Every property is read from one BayView, filled
 * from the bay and its offload; the same view tells the BusWatcher what
 * changed, so a getter and its signal cannot disagree. */
#include <inttypes.h>
#include <stdio.h>

#include "bay-bus.h"
#include "bus-changes.h"
#include "bus-names.h"
#include "operator-bus.h"

typedef struct BayView {
        const char *state, *fault_reason, *serial, *model, *firmware, *officer, *waiting, *report_id;
        bool enabled, connected;
        uint64_t docked_at, bytes_done, bytes_total;
        uint32_t segments_done, segments_total;
        const char *recording;       /* CurrentSegment */
        uint32_t index;
        char current_key[128];       /* what tells a change of CurrentSegment */
        char findings_key[48];       /* ... of Findings: they only grow within a docking */
} BayView;

static void bay_view(void *userdata, void *ret) {
        Bay *b = userdata;
        BayView *v = ret;
        OffloadProgress p = {};

        if (b->offload)
                offload_get_progress(b->offload, &p);
        *v = (BayView) {
                .state = bay_state_to_string(b->state),
                .fault_reason = b->state == BAY_FAULT ? b->fault_reason : NULL,
                .serial = b->serial,
                .model = b->serial ? b->model : NULL,
                .firmware = b->serial ? b->firmware : NULL,
                .officer = b->serial ? b->officer_id : NULL,
                .waiting = p.spool_full ? "spool" : p.waiting_for_storage ? "storage" : NULL,
                .report_id = b->report_id,
                .enabled = !b->disabled,
                .connected = bay_device_present(b),
                .docked_at = b->serial ? b->docked_at : 0,
                .bytes_done = p.bytes_done,
                .bytes_total = p.bytes_total,
                .segments_done = p.done,
                .segments_total = p.total,
                .recording = p.recording,
                .index = p.index,
        };
        (void) snprintf(v->current_key, sizeof v->current_key, "%s/%" PRIu32, strempty(p.recording), p.index);
        (void) snprintf(v->findings_key, sizeof v->findings_key, "%zu@%" PRIu64, b->findings.n, v->docked_at);
}

#define P(name, type, member, rate_limited) BUS_PROPERTY(BayView, name, type, member, rate_limited)
static const BusProperty bay_properties[] = {
        P("State", BUS_VALUE_STRING, state, false),
        P("Enabled", BUS_VALUE_BOOL, enabled, false),
        P("FaultReason", BUS_VALUE_STRING, fault_reason, false),
        P("CameraSerial", BUS_VALUE_STRING, serial, false),
        P("CameraModel", BUS_VALUE_STRING, model, false),
        P("CameraFirmware", BUS_VALUE_STRING, firmware, false),
        P("CameraConnected", BUS_VALUE_BOOL, connected, false),
        P("DockedTimestamp", BUS_VALUE_U64, docked_at, false),
        P("Officer", BUS_VALUE_STRING, officer, false),
        P("BytesDone", BUS_VALUE_U64, bytes_done, true),
        P("BytesTotal", BUS_VALUE_U64, bytes_total, true),
        P("CurrentSegment", BUS_VALUE_CHARS, current_key, true),
        P("SegmentsDone", BUS_VALUE_U32, segments_done, true),
        P("SegmentsTotal", BUS_VALUE_U32, segments_total, true),
        P("Waiting", BUS_VALUE_STRING, waiting, false),
        P("Findings", BUS_VALUE_CHARS, findings_key, false),
        P("ReportId", BUS_VALUE_STRING, report_id, false),
};
#undef P

static const BusObjectType bay_object_type = {
        .interface = DOCKD_BAY_INTERFACE,
        .properties = bay_properties,
        .n_properties = ELEMENTSOF(bay_properties),
        .view_size = sizeof(BayView),
        .view = bay_view,
};

static int append_findings(sd_bus_message *reply, Bay *b) {
        int r = sd_bus_message_open_container(reply, 'a', "(sss)");

        if (r < 0)
                return r;
        for (size_t i = 0; b->serial && i < b->findings.n; i++) {
                const Finding *f = &b->findings.items[i];

                r = sd_bus_message_append(reply, "(sss)", f->code, severity_to_string(f->severity),
                                          strempty(f->summary));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* One getter for every property of the view: the table says where its value is. */
static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bay *b = userdata;
        BayView v;
        int r;

        bay_view(b, &v);
        if (streq(property, "Number"))
                return sd_bus_message_append(reply, "u", (uint32_t) b->index);
        if (streq(property, "Port"))
                return sd_bus_message_append(reply, "s", strempty(b->config->port));
        if (streq(property, "CurrentSegment"))
                return sd_bus_message_append(reply, "(su)", strempty(v.recording), v.index);
        if (streq(property, "Findings"))
                return append_findings(reply, b);
        r = bus_property_append(reply, &bay_object_type, &v, property);
        if (r != -ENOENT)
                return r;
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "No property %s.", property);
}

#define CHANGE SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
static const sd_bus_vtable bay_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Number", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Port", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("Enabled", "b", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("FaultReason", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("CameraSerial", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("CameraModel", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("CameraFirmware", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("CameraConnected", "b", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("DockedTimestamp", "t", property_get, 0, CHANGE),
        /* Who recorded: never in a broadcast, only in answers the bus policy allowed. */
        SD_BUS_PROPERTY("Officer", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("BytesDone", "t", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("BytesTotal", "t", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("CurrentSegment", "(su)", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("SegmentsDone", "u", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("SegmentsTotal", "u", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("Waiting", "s", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("Findings", "a(sss)", property_get, 0, CHANGE),
        SD_BUS_PROPERTY("ReportId", "s", property_get, 0, CHANGE),
        /* Operator actions: anyone may call, polkit decides (operator-bus.c). */
        SD_BUS_METHOD_WITH_ARGS("SetEnabled", SD_BUS_ARGS("b", enabled), SD_BUS_NO_RESULT, method_set_enabled,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RunSelfTest", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_run_self_test,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
#undef CHANGE

int bay_bus_add(Manager *m, Bay *b) {
        char path[64];
        int r;

        (void) snprintf(path, sizeof path, "%s/bay/%u", DOCKD_BUS_PATH, b->index);
        r = sd_bus_add_object_vtable(m->bus, NULL, path, DOCKD_BAY_INTERFACE, bay_vtable, b);
        if (r < 0)
                return r;
        return bus_watcher_add(m->bus_watcher, path, &bay_object_type, b);
}
