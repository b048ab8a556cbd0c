/* SPDX-License-Identifier: Apache-2.0 */
/* backend.c: picks the configured central storage backend. */
#include "backend-file.h"
#include "backend-s3.h"
#include "backend-tus.h"
#include "backend.h"

int backend_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error) {
        switch (config->storage_backend) {
        case STORAGE_BACKEND_FILE:
                return backend_file_new(event, config, ret, ret_error);
        case STORAGE_BACKEND_S3:
                return backend_s3_new(event, config, ret, ret_error);
        case STORAGE_BACKEND_TUS:
                return backend_tus_new(event, config, ret, ret_error);
        default:
                if (asprintf(ret_error, "storage backend %s is not available in this build",
                             storage_backend_to_string(config->storage_backend)) < 0)
                        *ret_error = NULL;
                return -EOPNOTSUPP;
        }
}

Backend *backend_free(Backend *b) {
        if (b)
                b->ops->free(b);
        return NULL;
}
