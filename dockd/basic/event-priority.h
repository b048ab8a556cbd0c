/* SPDX-License-Identifier: Apache-2.0 */
/* event-priority.h: the event loop's priorities, where a source is not at
 * sd-event's normal one. */
#pragma once

#include <systemd/sd-event.h>

/* The uploads' sources (curl's sockets and timer, the bandwidth cap's timer,
 * the uploader's scheduling, the completions of their workers) are dispatched
 * before the others that are pending at the same time. At a shift change the
 * uplink is the bottleneck: every camera is pulled in a fraction of the time
 * its bytes take to leave the dock, so an uplink left waiting is time lost for
 * good, while a pull held back a moment only finishes a moment later, well
 * before the uploads do. The uploads' own work on the loop is small (their
 * hashing runs in workers); the pulls keep the rest of a loop that many bays'
 * USB completions keep busy. A store that took bytes faster than the loop can
 * send them (gigabytes a second per connection) would keep curl's sockets
 * writable and the pulls waiting, except while each part waits for its
 * answer; [storage] bandwidth_limit bounds that. */
#define EVENT_PRIORITY_UPLINK (SD_EVENT_PRIORITY_NORMAL - 10)
