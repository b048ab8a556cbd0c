/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz the manifest parser (§12.2). The grammar has one spelling per manifest,
 * so an accepted manifest must print back to exactly the input bytes; a
 * rejected one must say where and why. */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "manifest.h"
#include "parse-util.h"

static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) {
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vsnprintf(buf + *len, size - *len, fmt, ap);
        va_end(ap);
        fuzz_check(k >= 0 && (size_t) k < size - *len);
        *len += (size_t) k;
}

static void append_time(char *buf, size_t size, size_t *len, const char *key, time_t t) {
        struct tm tm;

        fuzz_check(gmtime_r(&t, &tm));
        append(buf, size, len, "%s=%04d-%02d-%02dT%02d:%02d:%02dZ\n", key, tm.tm_year + 1900, tm.tm_mon + 1,
               tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The canonical text of m: must equal what was parsed. */
static size_t manifest_print(const Manifest *m, char *buf, size_t size) {
        char sha[65], prev[65];
        size_t len = 0;

        append(buf, size, &len,
               "format=%u\ndevice_serial=%s\nmodel=%s\nfirmware=%s\nrecording_id=%s\n"
               "segment_index=%u\nfile_name=%s\nsize=%llu\nsha256=%s\nprev=%s\n",
               m->format, m->device_serial, m->model, m->firmware, m->recording_id,
               (unsigned) m->segment_index, m->file_name, (unsigned long long) m->size,
               hex_sha256(m->sha256, sha), hex_sha256(m->prev, prev));
        append_time(buf, size, &len, "start_time", m->start_time);
        append_time(buf, size, &len, "end_time", m->end_time);
        append(buf, size, &len, "officer_id=%s\ncategories=", m->officer_id);
        for (size_t i = 0; i < m->n_categories; i++)
                append(buf, size, &len, "%s%s", i > 0 ? "," : "", m->categories[i]);
        append(buf, size, &len, "\n");
        return len;
}

/* §12.6: a dock-sealed manifest is the camera's keys and three more; no input
 * is both, and what the sealed reader takes prints back to the same bytes. */
static void check_sealed(const uint8_t *data, size_t size, bool camera_ok) {
        Manifest *m = NULL;
        char *error = NULL;
        char buf[MANIFEST_MAX_SIZE + 1];
        size_t len;

        if (manifest_parse_sealed(data, size, &m, &error) < 0) {
                fuzz_check(!m && error && utf8_is_valid(error, strlen(error)));
                free(error);
                return;
        }
        fuzz_check(!camera_ok);
        fuzz_check(name_is_valid(m->sealed_by, 64));
        fuzz_check(source_path_is_valid(m->source_path));
        len = manifest_print(m, buf, sizeof buf);
        append(buf, sizeof buf, &len, "sealed_by=%s\n", m->sealed_by);
        append_time(buf, sizeof buf, &len, "sealed_time", m->sealed_time);
        append(buf, sizeof buf, &len, "source_path=%s\n", m->source_path);
        fuzz_check(len == size && memcmp(buf, data, size) == 0);
        manifest_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Manifest *m = (Manifest *) 0x1;
        char *error = NULL;
        int r = manifest_parse(data, size, &m, &error);

        check_sealed(data, size, r >= 0);

        if (r < 0) {
                fuzz_check(r == -EBADMSG);
                fuzz_check(m == (Manifest *) 0x1);
                fuzz_check(error && *error);
                fuzz_check(strncmp(error, "line ", 5) == 0 || size == 0 || size > MANIFEST_MAX_SIZE);
                fuzz_check(utf8_is_valid(error, strlen(error)));
                free(error);
                return 0;
        }

        fuzz_check(!error);
        fuzz_check(m->format == 1);
        fuzz_check(serial_is_valid(m->device_serial));
        fuzz_check(recording_id_is_valid(m->recording_id));
        fuzz_check(officer_id_is_valid(m->officer_id));
        fuzz_check(m->segment_index <= 999999);
        fuzz_check(m->size <= INT64_MAX);
        fuzz_check(m->end_time >= m->start_time);
        fuzz_check(m->n_categories <= MANIFEST_MAX_CATEGORIES && m->categories);
        fuzz_check(!m->categories[m->n_categories]);
        for (size_t i = 0; i < m->n_categories; i++)
                fuzz_check(category_is_valid(m->categories[i]));
        {
                char buf[MANIFEST_MAX_SIZE + 1];
                size_t len = manifest_print(m, buf, sizeof buf);
                fuzz_check(len == size && memcmp(buf, data, size) == 0);
        }
        manifest_free(m);
        return 0;
}
