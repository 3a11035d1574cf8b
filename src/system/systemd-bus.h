/* systemd's names on D-Bus (org.freedesktop.systemd1), for the units (units*.c) and the job
 * waiter (jobwait.c). */
#pragma once

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SERVICE "org.freedesktop.systemd1.Service"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"

#define USEC_PER_SEC 1000000ull
#define USEC_PER_MSEC 1000ull
/* One plain method call (Subscribe, property reads, LoadUnit) is answered at once by a live
 * manager: it never waits longer than this. */
#define SD_CALL_TIMEOUT_USEC (5 * USEC_PER_SEC)
