/* Revert's facts about firewalld zones (struct revert_zone_stock of src/plan/plan-revert.h): the
 * stock zone each zone file of the journal is made from, read before the revert plans. */
#pragma once
#include "journal.h"
#include "plan-revert.h"

struct zone_stock {
	struct revert_zone_stock *v;
	size_t n;
};

/* For every whole file the journal names in /etc/firewalld/zones, ROOT/usr/lib/firewalld/zones/
 * NAME.xml when it is there and readable (a zone without one is left out: the plan then does
 * without it). 0 or -ENOMEM. */
int zone_stock_read(const char *root, const struct journal *j, struct zone_stock *out);
void zone_stock_done(struct zone_stock *z);
