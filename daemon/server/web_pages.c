/*
 * The web's own pages: the start page, the probe's form page, the error
 * pages, and the script the pages load from /static/ (no inline script: the CSP allows only
 * 'self' and the hash of report_html_style()).  Text is escaped by the
 * report's one HTML escaper.  Pure; any thread.
 */
#include "build.h"

#include <stdio.h>

#include "report.h"
#include "web_pages.h"

/*
 * What a page loads: "Copy all" (clipboard, else the text selected), and
 * the live report.  The live report never builds markup from strings: it
 * fetches its own page, which the server escaped, parses it with
 * DOMParser and moves the parsed <main>'s nodes in; no innerHTML.
 */
static const char script[] =
	"/* mailscope: \"Copy all\" and the live update of a report. */\n"
	"(function () {\n"
	"\t\"use strict\";\n"
	"\tvar announce = document.getElementById(\"announce\");\n"
	"\tvar list = document.getElementById(\"address-list\");\n"
	"\tvar copy = document.getElementById(\"copy-all\");\n"
	"\tvar main = document.querySelector('main[data-live=\"1\"]');\n"
	"\tvar delay = 5000;\n"
	"\n"
	"\tfunction say(text) {\n"
	"\t\tif (announce)\n"
	"\t\t\tannounce.textContent = text;\n"
	"\t}\n"
	"\n"
	"\tfunction copied() {\n"
	"\t\tcopy.textContent = \"Copied\";\n"
	"\t\tsay(\"The addresses are copied.\");\n"
	"\t\tsetTimeout(function () {\n"
	"\t\t\tcopy.textContent = \"Copy all\";\n"
	"\t\t}, 2000);\n"
	"\t}\n"
	"\n"
	"\tfunction selected() {\n"
	"\t\tlist.focus();\n"
	"\t\tlist.select();\n"
	"\t\tsay(\"The addresses are selected: copy them with Ctrl+C.\");\n"
	"\t}\n"
	"\n"
	"\tif (list && copy) {\n"
	"\t\tcopy.hidden = false;\n"
	"\t\tcopy.addEventListener(\"click\", function () {\n"
	"\t\t\tif (navigator.clipboard && window.isSecureContext)\n"
	"\t\t\t\tnavigator.clipboard.writeText(list.value)\n"
	"\t\t\t\t    .then(copied, selected);\n"
	"\t\t\telse\n"
	"\t\t\t\tselected();\n"
	"\t\t});\n"
	"\t}\n"
	"\n"
	"\tfunction text(root, id) {\n"
	"\t\tvar e = root.querySelector(\"#\" + id);\n"
	"\t\treturn e ? e.textContent : \"\";\n"
	"\t}\n"
	"\n"
	"\t/* The focused element's id, or its tag and the id around it. */\n"
	"\tfunction where() {\n"
	"\t\tvar a = document.activeElement, p;\n"
	"\t\tif (!a || !main.contains(a))\n"
	"\t\t\treturn null;\n"
	"\t\tif (a.id)\n"
	"\t\t\treturn { id: a.id, tag: null };\n"
	"\t\tp = a.parentElement.closest(\"[id]\");\n"
	"\t\treturn p ? { id: p.id, tag: a.tagName } : null;\n"
	"\t}\n"
	"\n"
	"\tfunction refocus(w) {\n"
	"\t\tvar e = w ? document.getElementById(w.id) : null;\n"
	"\t\tif (e && w.tag)\n"
	"\t\t\te = e.querySelector(w.tag);\n"
	"\t\tif (e)\n"
	"\t\t\te.focus({ preventScroll: true });\n"
	"\t}\n"
	"\n"
	"\t/*\n"
	"\t * NEXT's nodes into MAIN, open details, focus and scroll kept;\n"
	"\t * the new progress line, or \"\" when it did not change.\n"
	"\t */\n"
	"\tfunction swap(next) {\n"
	"\t\tvar before = text(main, \"progress\"), focus = where();\n"
	"\t\tvar x = window.scrollX, y = window.scrollY, open = [];\n"
	"\t\tvar table = document.getElementById(\"challenge-table\");\n"
	"\t\tvar left = table ? table.scrollLeft : 0, after;\n"
	"\t\tmain.querySelectorAll(\"details[open]\").forEach(function (d) {\n"
	"\t\t\tvar p = d.closest(\"[id]\");\n"
	"\t\t\tif (p)\n"
	"\t\t\t\topen.push(p.id);\n"
	"\t\t});\n"
	"\t\t/* a copy: inserting a node takes it out of NEXT's list */\n"
	"\t\tmain.replaceChildren(...Array.from(next.childNodes));\n"
	"\t\topen.forEach(function (id) {\n"
	"\t\t\tvar d = document.getElementById(id);\n"
	"\t\t\td = d ? d.querySelector(\"details\") : null;\n"
	"\t\t\tif (d)\n"
	"\t\t\t\td.open = true;\n"
	"\t\t});\n"
	"\t\trefocus(focus);\n"
	"\t\tif ((table = document.getElementById(\"challenge-table\")))\n"
	"\t\t\ttable.scrollLeft = left;\n"
	"\t\twindow.scrollTo(x, y);\n"
	"\t\tafter = text(main, \"progress\");\n"
	"\t\treturn after !== before ? after : \"\";\n"
	"\t}\n"
	"\n"
	"\tfunction update() {\n"
	"\t\tif (document.hidden)\n"
	"\t\t\treturn schedule();\n"
	"\t\tfetch(location.pathname, { cache: \"no-store\",\n"
	"\t\t    headers: { Accept: \"text/html\" } }).then(function (res) {\n"
	"\t\t\tif (!res.ok)\n"
	"\t\t\t\tthrow new Error(\"HTTP \" + res.status);\n"
	"\t\t\treturn res.text();\n"
	"\t\t}).then(function (html) {\n"
	"\t\t\tvar doc = new DOMParser().parseFromString(html,\n"
	"\t\t\t    \"text/html\");\n"
	"\t\t\tvar next = doc.querySelector(\"main#report\");\n"
	"\t\t\tif (!next)\n"
	"\t\t\t\tthrow new Error(\"no report in the page\");\n"
	"\t\t\tvar news = swap(next);\n"
	"\t\t\tdelay = 5000;\n"
	"\t\t\tif (next.getAttribute(\"data-live\") === \"1\") {\n"
	"\t\t\t\tif (news)\n"
	"\t\t\t\t\tsay(news);\n"
	"\t\t\t\treturn schedule();\n"
	"\t\t\t}\n"
	"\t\t\tmain.removeAttribute(\"data-live\");\n"
	"\t\t\tsay((news ? news + \" \" : \"\") +\n"
	"\t\t\t    \"This page no longer updates.\");\n"
	"\t\t}).catch(function () {\n"
	"\t\t\tdelay = Math.min(delay * 2, 60000);\n"
	"\t\t\tschedule();\n"
	"\t\t});\n"
	"\t}\n"
	"\n"
	"\tfunction schedule() {\n"
	"\t\tsetTimeout(update, delay);\n"
	"\t}\n"
	"\n"
	"\tif (main && window.fetch && window.DOMParser)\n"
	"\t\tschedule();\n"
	"})();\n";

/* The head of every page but the report's, with TITLE (escaped). */
static void
page_head(FILE *fp, const char *title, const char *script_src)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n"
	    "<link rel=\"icon\" href=\"data:,\">\n<title>", fp);
	report_html_esc(fp, title);
	fprintf(fp, "</title>\n<style>%s</style>\n", report_html_style());
	if (script_src != NULL) {
		fputs("<script src=\"", fp);
		report_html_esc(fp, script_src);
		fputs("\" defer></script>\n", fp);
	}
	fputs("</head>\n<body>\n", fp);
}

static int
page_end(FILE *fp)
{
	fputs("</main>\n</body>\n</html>\n", fp);
	return fflush(fp) == EOF || ferror(fp) ? -1 : 0;
}

/* The probe's form: a GET, so that the result page has an address. */
static void
probe_form(FILE *fp)
{
	fputs("<form method=\"get\" action=\"/probe\" class=\"actions\">\n"
	    "<label for=\"probe-domain\">Domain</label>\n"
	    "<input id=\"probe-domain\" name=\"domain\" type=\"text\" "
	    "required maxlength=\"253\" autocomplete=\"off\" "
	    "autocapitalize=\"none\" spellcheck=\"false\" "
	    "placeholder=\"example.org\">\n"
	    "<button type=\"submit\">Probe its mail servers</button>\n"
	    "</form>\n", fp);
}

int
web_page_home(FILE *fp, const char *script_src, int probe)
{
	page_head(fp, "mailscope: how does your mail server send?",
	    script_src);
	fputs("<header>\n<h1>mailscope</h1>\n<p class=\"meta\">How does your "
	    "mail server send?</p>\n</header>\n<main id=\"home\">\n"
	    "<p>mailscope is a mail server built to measure senders: a test "
	    "is a set of addresses, each behind a server or DNS zone that "
	    "checks one thing. Your server's delivery to each of them shows "
	    "whether it sends over IPv4 and IPv6, insists on TLS and which "
	    "versions and ciphers, validates certificates, DANE, MTA-STS and "
	    "DNSSEC, and retries after greylisting. The message itself is "
	    "checked for SPF, DKIM, DMARC and its headers, and the report "
	    "sums it all up with a score from 0 to 10.</p>\n"
	    "<form method=\"post\" action=\"/tests\" class=\"actions\">\n"
	    "<button type=\"submit\">Start a test</button>\n</form>\n"
	    "<p>Starting a test gives you its addresses and the page of its "
	    "report, which fills in as your mail arrives. Anyone who knows "
	    "the address of that page can see the report.</p>\n"
	    "<p class=\"meta\">Programs use the HTTP API instead: "
	    "<code>POST /api/tests</code> starts a test, "
	    "<code>GET /api/tests/ID</code> answers its report in JSON; "
	    "docs/api.md in mailscope's source describes it.</p>\n", fp);
	if (probe) {
		fputs("<h2>How does your mail server receive?</h2>\n"
		    "<p>A probe connects to the mail servers of a domain, "
		    "as a sender would, and grades what it finds: "
		    "<a href=\"/probe\">more about probes</a>.</p>\n", fp);
		probe_form(fp);
	}
	return page_end(fp);
}

int
web_page_probe(FILE *fp)
{
	page_head(fp, "mailscope: how does a domain receive mail?", NULL);
	fputs("<header>\n<h1>mailscope probe</h1>\n<p class=\"meta\">How "
	    "does a domain receive mail?</p>\n</header>\n"
	    "<main id=\"probe\">\n"
	    "<p>A probe looks up a domain's MX hosts and connects to each "
	    "of their addresses on port 25, as a sender would: it reads "
	    "the banner and the EHLO reply, starts TLS with every protocol "
	    "version and checks the certificate, DANE and MTA-STS, and asks "
	    "whether the server takes mail for the domain's postmaster, for "
	    "a made-up address and for a domain of someone else (an open "
	    "relay). It never sends a message: every dialogue ends with "
	    "RSET and QUIT before DATA. The result is a grade from A+ to F "
	    "with the evidence of each finding; this server keeps it.</p>\n",
	    fp);
	probe_form(fp);
	fputs("<p>A network can ask for a few probes an hour, and a "
	    "domain is probed a few times an hour at most: beyond that its "
	    "latest result is shown.</p>\n"
	    "<p>Owners who do not want their domain probed from here "
	    "publish a TXT record <code>opt-out</code> at "
	    "<code>_mailscope-probe.</code> followed by the domain, for "
	    "example <code>_mailscope-probe.example.org. TXT "
	    "\"opt-out\"</code>; it covers the domain's subdomains "
	    "too.</p>\n"
	    "<p class=\"meta\">Programs use <code>GET /api/probe/DOMAIN</code>"
	    ", which answers the result in JSON; docs/api.md in "
	    "mailscope's source describes it.</p>\n", fp);
	return page_end(fp);
}

int
web_page_error(FILE *fp, int status, const char *title, const char *text)
{
	page_head(fp, title, NULL);
	fputs("<header>\n<h1>", fp);
	report_html_esc(fp, title);
	fprintf(fp, "</h1>\n<p class=\"meta\">HTTP status %d</p>\n</header>\n"
	    "<main id=\"error\">\n<p>", status);
	report_html_esc(fp, text);
	fputs("</p>\n<p><a href=\"/\">The start page</a></p>\n", fp);
	return page_end(fp);
}

const char *
web_script(void)
{
	return script;
}
