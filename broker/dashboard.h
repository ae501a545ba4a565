/* broker/dashboard.h - the dashboard page the broker serves at / (obs.h).
 * SPDX-License-Identifier: MIT
 *
 * One self-contained HTML page (no external script, style or font): it
 * polls /api/state every second and shows the actors (address, service,
 * state, node, pid, mailbox, in flight, calls per second, restarts), the
 * nodes and the recent lifecycle events. The text is in dashboard.c.
 */
#ifndef BRK_DASHBOARD_H
#define BRK_DASHBOARD_H

extern const char brk_dashboard_html[]; /* NUL-terminated */

#endif
