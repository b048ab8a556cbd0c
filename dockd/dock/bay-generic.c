/* SPDX-License-Identifier: Apache-2.0 */
/* bay-generic.c: how a bay tells about a device without the extension (a
 * camera that does not sign, or anything else): its one log line, and the
 * status "generic" of what the survey found (bay-generic.h). */
#include <inttypes.h>

#include "bay-generic.h"
#include "message-ids.h"
#include "parse-util.h"
#include "seal.h"

void bay_generic_log(Bay *b, Camera *c, const GenericCameraConfig *g, const char *reason, const char *fmt, ...) {
        const char *claimed = camera_claimed_serial(c);
        const char *serial = claimed && name_is_valid(claimed, 64) ? claimed : NULL;
        _cleanup_free_ char *text = NULL;
        char id[16];
        va_list ap;

        snprintf(id, sizeof id, "%04x:%04x", c->usb_id >> 16, c->usb_id & 0xffff);
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        log_full_errno_ctx(LOG_WARNING, 0,
                           (&(LogContext) {
                                   .bay = b->name, .serial = g ? serial : NULL, .message_id = DOCKD_MESSAGE_CAMERA_UNTRUSTED,
                                   .fields = (const LogField[]) { { "DOCKD_REASON", reason }, { "DOCKD_USB_ID", id },
                                                                  /* no key: the list ends here */
                                                                  { g ? "DOCKD_GENERIC" : NULL, g ? g->name : NULL }, {} },
                           }),
                           "%s %s (USB %s) on port %s %s", g ? "Camera" : "Device", strna(serial), id, c->port,
                           strna(text));
}

/* Status "generic": what the survey found, for the operator; paths as a
 * sealed manifest writes them (protocol §12.6), never the camera's raw bytes. */
#define GENERIC_STATUS_FILES_MAX 64
#define GENERIC_LOG_FILES_MAX 16

const char *generic_clock_to_string(const GenericSurveyResult *res) {
        if (!res->have_clock)
                return "not-offered";
        switch (res->clock_decision) {
        case CLOCK_SET:
                return res->clock_corrected ? "set" : "set-refused";
        case CLOCK_NOT_SET_UNSYNCHRONISED:
                return "not-set-dock-unsynchronised";
        default:
                return "drift-recorded";
        }
}

struct json_object *bay_generic_status(const GenericCameraConfig *g, const GenericSurveyResult *res,
                                          size_t complete, const char *note) {
        const GenericListing *l = res->listing;
        struct json_object *o = json_object_new_object(), *files = json_object_new_array();

        if (!o || !files) {
                json_object_put(o);
                json_object_put(files);
                return NULL;
        }
        json_object_object_add(o, "section", json_object_new_string(g->name));
        json_object_object_add(o, "note", json_object_new_string(note));
        json_object_object_add(o, "recordings", json_object_new_int64((int64_t) l->n_files));
        json_object_object_add(o, "complete", json_object_new_int64((int64_t) complete));
        json_object_object_add(o, "still_growing", json_object_new_int64((int64_t) (l->n_files - complete)));
        json_object_object_add(o, "not_recordings", json_object_new_int64((int64_t) l->n_not_wanted));
        json_object_object_add(o, "path_unknown", json_object_new_int64((int64_t) l->n_skipped));
        json_object_object_add(o, "battery", json_object_new_string(res->have_battery ? "offered" : "not-offered"));
        if (res->have_battery)
                json_object_object_add(o, "battery_percent", json_object_new_int((int) res->battery_percent));
        json_object_object_add(o, "clock", json_object_new_string(generic_clock_to_string(res)));
        if (res->have_clock)
                json_object_object_add(o, "clock_drift_seconds", json_object_new_int64(res->clock_drift));
        for (size_t i = 0; i < MIN(l->n_files, (size_t) GENERIC_STATUS_FILES_MAX); i++) {
                _cleanup_free_ char *path = seal_source_path_encode(l->files[i].path);
                struct json_object *f = json_object_new_object();

                if (!f)
                        continue;
                json_object_object_add(f, "path", json_object_new_string(strna(path)));
                if (l->files[i].size != UINT64_MAX)
                        json_object_object_add(f, "size", json_object_new_int64((int64_t) l->files[i].size));
                json_object_object_add(f, "complete", json_object_new_boolean(l->files[i].complete));
                json_object_array_add(files, f);
        }
        json_object_object_add(o, "files", files);
        return o;
}

void bay_generic_log_files(Bay *b, const GenericListing *l) {
        for (size_t i = 0; i < MIN(l->n_files, (size_t) GENERIC_LOG_FILES_MAX); i++) {
                _cleanup_free_ char *path = seal_source_path_encode(l->files[i].path);

                log_bay_info(b, "Generic camera recording %s: %" PRIu64 " bytes, %s.", strna(path),
                             l->files[i].size, l->files[i].complete ? "complete" : "still growing");
        }
        if (l->n_files > GENERIC_LOG_FILES_MAX)
                log_bay_info(b, "Generic camera: %zu more recording(s) (dockctl status --json shows %d).",
                             l->n_files - GENERIC_LOG_FILES_MAX, GENERIC_STATUS_FILES_MAX);
}
