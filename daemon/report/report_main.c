/* mailscope report (being written). */
#include "build.h"

#include "report.h"

int
report_main(const struct config *cfg, int argc, char *argv[], FILE *err)
{
	(void)cfg; (void)argc; (void)argv;
	fprintf(err, "mailscope: report: not yet\n");
	return 1;
}
