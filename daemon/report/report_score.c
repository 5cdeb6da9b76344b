/* The score (being written). */
#include "build.h"

#include "report.h"

void
report_score(struct rp_report *r)
{
	r->score = -1;
}
