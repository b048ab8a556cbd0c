/* SPDX-License-Identifier: Apache-2.0 */
#include "backend.h"
int backend_tus_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error) {
        return -EOPNOTSUPP;
}
