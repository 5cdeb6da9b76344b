/*
 * The web's own pages around the report (report_html()): the start page,
 * the error pages and the one script they load.  Same stylesheet as the
 * report (report_html_style()); no inline script, no style attribute.
 * Pure (writes to a FILE); event loop thread or a worker.
 */
#ifndef MAILSCOPE_WEB_PAGES_H
#define MAILSCOPE_WEB_PAGES_H

#include <stdio.h>

/*
 * The start page: what mailscope measures, a form that POSTs to /tests
 * (works without script), where the API is described; with PROBE, the
 * form of a probe too.  SCRIPT_SRC: the URL of web_script() (NULL: no
 * <script>).  0, or -1 on an output error.
 */
int		 web_page_home(FILE *fp, const char *script_src, int probe);

/*
 * The page of /probe: what a probe does and does not do, its form (GET
 * /probe?domain=D, no script), the limits and how an owner opts out.
 * 0, or -1 on an output error.
 */
int		 web_page_probe(FILE *fp);

/*
 * A small page for HTTP status STATUS (404, 429, 503 ...) with TITLE and
 * TEXT, both escaped.  0, or -1 on an output error.
 */
int		 web_page_error(FILE *fp, int status, const char *title,
		    const char *text);

/*
 * The script served at /static/mailscope.js: "Copy all" of the address
 * set and the live update of a report page (main[data-live="1"]).
 */
const char	*web_script(void);

#endif /* MAILSCOPE_WEB_PAGES_H */
