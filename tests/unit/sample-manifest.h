/* SPDX-License-Identifier: Apache-2.0 */
/* sample-manifest.h: the example manifest of docs/camera-protocol.md §12.2,
 * byte for byte, for the tests that parse or sign one. */
#pragma once

#define SAMPLE_MANIFEST                                                                 \
        "format=1\n"                                                                    \
        "device_serial=BWC-0001\n"                                                      \
        "model=Sentinel V3\n"                                                           \
        "firmware=3.2.1\n"                                                              \
        "recording_id=20261121T221500Z-0001\n"                                          \
        "segment_index=0\n"                                                             \
        "file_name=000000.mp4\n"                                                        \
        "size=268435456\n"                                                              \
        "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"     \
        "prev=0000000000000000000000000000000000000000000000000000000000000000\n"       \
        "start_time=2026-11-21T22:15:00Z\n"                                             \
        "end_time=2026-11-21T22:25:00Z\n"                                               \
        "officer_id=4711\n"                                                             \
        "categories=arrest,use-of-force\n"
