/* camera-history.c: new, lost and reused recordings (camera-history.h). */
#include "camera-history.h"

#include <string.h>

#include "scenario.h"

static void retire_object(Object *obj, gboolean replaced)
{
        if (!obj || obj->deleted)
                return;
        obj->deleted = TRUE;
        obj->replaced = replaced;
        obj->lost = !replaced;
}

gboolean camera_reuse_recording(Camera *cam, const char *recording, const char *segments, GError **error)
{
        Recording *rec = camera_find_recording(cam, recording);
        RecordingGeneration *old;
        GPtrArray *before;

        if (!rec) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no recording %s", recording ? recording : "");
                return FALSE;
        }
        before = rec->segments;
        rec->segments = g_ptr_array_new();
        rec->generation++;
        if (segments) {
                if (!recording_add_sizes(rec, segments, error)) {
                        g_ptr_array_unref(rec->segments);
                        rec->segments = before;
                        rec->generation--;
                        return FALSE;
                }
        } else {
                for (guint i = 0; i < before->len; i++)
                        recording_add_segment(rec, ((Segment *) before->pdata[i])->size);
        }
        /* What was still on the camera under these names is overwritten. */
        for (guint i = 0; i < before->len; i++) {
                Segment *seg = before->pdata[i];
                for (int k = 0; k < FILE_N; k++)
                        retire_object(seg->files[k], TRUE);
        }
        old = g_new0(RecordingGeneration, 1);
        old->generation = rec->generation - 1;
        old->segments = before;
        if (!rec->previous)
                rec->previous = g_ptr_array_new();
        g_ptr_array_add(rec->previous, old);
        if (rec->folder->deleted)
                camera_add_folder(cam, rec);
        for (guint i = 0; i < rec->segments->len; i++)
                camera_add_segment_objects(cam, rec->segments->pdata[i]);
        return TRUE;
}

void camera_arm_reuse(Camera *cam, const char *recording, const char *segments)
{
        PendingReuse *p = g_new0(PendingReuse, 1);

        p->recording = g_strdup(recording);
        p->segments = g_strdup(segments);
        g_ptr_array_add(cam->pending_reuse, p);
}

void camera_undocked(Camera *cam)
{
        while (cam->pending_reuse->len) {
                PendingReuse *p = g_ptr_array_steal_index(cam->pending_reuse, 0);
                g_autoptr(GError) error = NULL;

                if (!camera_reuse_recording(cam, p->recording, p->segments, &error))
                        g_warning("%s: reuse_recording_id: %s", cam->serial, error->message);
                g_free(p->recording);
                g_free(p->segments);
                g_free(p);
        }
}

gboolean camera_record(Camera *cam, const char *recording, const char *sizes, gboolean broken_chain, GError **error)
{
        Recording *rec = camera_find_recording(cam, recording);
        guint first;

        if (!rec) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no recording %s", recording ? recording : "");
                return FALSE;
        }
        first = rec->segments->len;
        if (!recording_add_sizes(rec, sizes, error))
                return FALSE;
        if (first < rec->segments->len && first > 0)
                ((Segment *) rec->segments->pdata[first])->broken_prev = broken_chain;
        if (cam->objects->len == 0)
                return TRUE; /* not finalized yet: camera_finalize() makes the objects */
        if (rec->folder->deleted)
                camera_add_folder(cam, rec);
        for (guint i = first; i < rec->segments->len; i++)
                camera_add_segment_objects(cam, rec->segments->pdata[i]);
        return TRUE;
}

void camera_lose(Camera *cam, Segment *seg)
{
        for (int k = 0; k < FILE_N; k++)
                retire_object(seg->files[k], FALSE);
}
