/* SPDX-License-Identifier: Apache-2.0 */
/* message-ids.h: MESSAGE_ID= values of the events operators and supervisors act on.
 * Each has an entry in systemd/dockd.catalog; never change an id once released. */
#pragma once

/* A segment failed verification and was quarantined. */
#define DOCKD_MESSAGE_INTEGRITY_ALERT "0e83f0e743c94d5bb2707a636bddc224"
/* A docked camera could not be authenticated. */
#define DOCKD_MESSAGE_CAMERA_UNTRUSTED "869af271b61b42faa4b814da979f5cd6"
/* A malfunction report was filed. */
#define DOCKD_MESSAGE_MALFUNCTION_REPORT "d0c7ba40e3564698bd481874f6f050ed"
/* A bay or its camera is faulty. */
#define DOCKD_MESSAGE_BAY_FAULT "ab6e82b3640343e0a9f73bcf7690d0e4"
/* A bay's charger reported a fault or over-temperature. */
#define DOCKD_MESSAGE_CHARGER_FAULT "78fe16ab639f4fbf970fc17c94ab064f"
/* Central storage refuses or cannot be reached. */
#define DOCKD_MESSAGE_STORAGE_FAILING "8003c809aa304eb092dd775c5283fbef"
/* The local spool is full; pulls are paused. */
#define DOCKD_MESSAGE_SPOOL_FULL "515bf51dbd634881bcc92ae58202d576"
/* A segment is safe in central storage and was deleted from the camera. */
#define DOCKD_MESSAGE_SEGMENT_OFFLOADED "4f825baac9ab41919ae9cf249f62da9b"
/* A camera is offloaded, charged and tested. */
#define DOCKD_MESSAGE_CAMERA_READY "f88f51cea4f149349c0144a39415d5d7"
/* A report could not be delivered to the webhook yet. */
#define DOCKD_MESSAGE_REPORT_UNDELIVERED "d08de42bd3de4590a0c5c25e017909e1"
/* The custody log could not be written. */
#define DOCKD_MESSAGE_CUSTODY_FAILURE "1630483ddefd4a66ba4dda5460b14d65"
/* A camera's clock was corrected. */
#define DOCKD_MESSAGE_CLOCK_ADJUSTED "7eec65190a7744b6b0404866b30ad712"
/* Reconciliation: an object this dock deleted from a camera is missing or
 * different in central storage (one entry per object). */
#define DOCKD_MESSAGE_RECONCILE_PROBLEM "e09237141a4643e294700949ea7c3c87"
/* Reconciliation finished (counts). */
#define DOCKD_MESSAGE_RECONCILE_DONE "ec8f18e8158a41bd84afb9f627a46d69"
/* Reconciliation could not finish (central storage did not answer). */
#define DOCKD_MESSAGE_RECONCILE_FAILED "d281b69c133e4d9b9dee5a750b44a41f"
