/* SPDX-License-Identifier: MIT */
/*
 * The HTML report's page, stylesheet, script and vendored libraries, embedded
 * in the binary so a report needs no network and `make` none either.  Each
 * asset is NAME (its bytes, then a NUL) and NAME_len (its length without the
 * NUL, 64-bit).  Paths are relative to the top of the tree, where make runs.
 */
	.macro asset name, file
	.section .rodata.ms_html, "a"
	.balign 16
	.globl \name
	.hidden \name
	.type \name, @object
\name:
	.incbin "\file"
\name\()_end:
	.byte 0
	.size \name, . - \name
	.balign 8
	.globl \name\()_len
	.hidden \name\()_len
	.type \name\()_len, @object
\name\()_len:
	.quad \name\()_end - \name
	.size \name\()_len, 8
	.endm

	asset ms_html_page,          "user/report/html/report.html"
	asset ms_html_css,           "user/report/html/report.css"
	asset ms_html_js,            "user/report/html/report.js"
	asset ms_html_d3_js,         "user/report/html/vendor/d3.min.js"
	asset ms_html_flamegraph_js, "user/report/html/vendor/d3-flamegraph.min.js"
	asset ms_html_uplot_js,      "user/report/html/vendor/uPlot.min.js"
	asset ms_html_uplot_css,     "user/report/html/vendor/uPlot.min.css"

	.section .note.GNU-stack, "", @progbits
