/* scenario.h: the scenario file (GLib key file): dock, cameras, recordings,
 * faults and the timeline. Keys are documented in tests/vdock/README.md. */
#pragma once
#include <glib.h>

#include "camera.h"

enum { MAX_BAYS = 15 };

typedef enum { CHARGER_OK, CHARGER_OVERTEMP, CHARGER_FAULT } ChargerFault;

typedef struct {
        double at;      /* seconds after start */
        char *command;  /* control-socket syntax */
        gboolean docked; /* `bay =` of a camera: done before COMMAND starts */
} TimedCommand;

typedef struct {
        unsigned bays;
        double time_scale;
        double default_link_mbps;
        ChargerFault charger[MAX_BAYS + 1];
        GPtrArray *cameras;  /* Camera* (owned) */
        GPtrArray *timeline; /* TimedCommand*, sorted by time */
} Scenario;

Scenario *scenario_parse(const char *data, gsize len, const char *origin, GError **error);
Scenario *scenario_load(const char *path, GError **error);
void scenario_free(Scenario *s);
Camera *scenario_camera(Scenario *s, const char *serial);

/* One camera fault or property, KEY VALUE exactly as in a [camera] group;
 * also used by the control socket's `fault` command. runtime is TRUE when the
 * camera's objects already exist. */
gboolean camera_apply_key(Camera *cam, const char *key, const char *value, gboolean runtime, GError **error);
const char *raw_field_key(RawField f);
const char *challenge_mode_to_string(ChallengeMode m);
const char *prop_list_mode_to_string(PropListMode m);
gboolean parse_charger_fault(const char *value, ChargerFault *ret);
gboolean parse_size(const char *s, uint64_t *ret);
double parse_link(const char *s, gboolean *ret_ok);
gboolean valid_serial(const char *s);
gboolean valid_recording_id(const char *s);
/* "3x1M, 512K": append segments of these video sizes to rec. */
gboolean recording_add_sizes(Recording *rec, const char *spec, GError **error);
