/* report: the table of checked claims as Markdown, CSV, LaTeX or JSON.
 * One column list serves every format, so the formats cannot drift apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "ibcheck/report.h"

static const char *const fmt_names[] = {"md", "csv", "tex", "json"};

int ibc_report_format_parse(ibc_format *f, const char *s, char *err)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, fmt_names[i]) == 0) {
            *f = (ibc_format)i;
            return IBC_OK;
        }
    snprintf(err, IBC_ERRLEN, "format = %.200s is not allowed: need one of md, csv, tex, json", s ? s : "");
    return IBC_EINPUT;
}

const char *ibc_report_format_name(ibc_format f)
{
    return (unsigned)f < 4 ? fmt_names[f] : "?";
}

/* Column headings (JSON keys) and the cell of each column in a row. */
enum { NCOL = 9 };
static const char *const col_names[NCOL] = {
    "claim", "quantity", "parameters", "precision", "measured", "bound", "margin", "verdict", "source"};

static const char *cell(const ibc_row *r, int c)
{
    switch (c) {
    case 0: return r->claim;
    case 1: return r->what;
    case 2: return r->params;
    case 3: return r->precision;
    case 4: return r->measured;
    case 5: return r->bound;
    case 6: return r->margin;
    case 7: return ibc_claim_verdict_name(r->verdict);
    default: return r->source;
    }
}

/* A pipe would end a Markdown cell and a newline the row. */
static void put_md(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else if (*s == '\n' || *s == '\r')
            fputc(' ', out);
        else
            fputc(*s, out);
    }
}

/* RFC 4180: quote a field holding a comma, quote or line break; double quotes. */
static void put_csv(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* LaTeX specials; < > | too, which the default OT1 encoding misprints. */
static void put_tex(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '_': case '%': case '&': case '#': case '$': case '{': case '}':
            fputc('\\', out);
            fputc(*s, out);
            break;
        case '~': fputs("\\textasciitilde{}", out); break;
        case '^': fputs("\\textasciicircum{}", out); break;
        case '\\': fputs("\\textbackslash{}", out); break;
        case '<': fputs("\\textless{}", out); break;
        case '>': fputs("\\textgreater{}", out); break;
        case '|': fputs("\\textbar{}", out); break;
        case '\n': case '\r': fputc(' ', out); break;
        default: fputc(*s, out);
        }
    }
}

typedef void (*put_fn)(FILE *out, const char *s);

/* One line: lead, cells joined by sep, tail. */
static void put_line(FILE *out, const char *const *cells, put_fn put,
                     const char *lead, const char *sep, const char *tail)
{
    fputs(lead, out);
    for (int c = 0; c < NCOL; c++) {
        if (c)
            fputs(sep, out);
        put(out, cells[c]);
    }
    fputs(tail, out);
}

static void row_cells(const ibc_row *r, const char *cells[NCOL])
{
    for (int c = 0; c < NCOL; c++)
        cells[c] = cell(r, c);
}

static void write_summary(FILE *out, const ibc_rows *rows)
{
    long count[4] = {0, 0, 0, 0};
    for (long i = 0; i < rows->n; i++)
        if ((unsigned)rows->row[i].verdict < 4)
            count[rows->row[i].verdict]++;
    fprintf(out, "\n%ld rows: %ld hold, %ld refuted, %ld info, %ld findings\n",
            rows->n, count[IBC_HOLDS], count[IBC_REFUTED], count[IBC_INFO], count[IBC_FINDING]);
}

static int write_json(FILE *out, const ibc_rows *rows)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return -1;
    for (long i = 0; i < rows->n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return -1;
        }
        for (int c = 0; c < NCOL; c++)
            if (!cJSON_AddStringToObject(o, col_names[c], cell(&rows->row[i], c))) {
                cJSON_Delete(arr);
                return -1;
            }
    }
    char *s = cJSON_Print(arr);
    cJSON_Delete(arr);
    if (!s)
        return -1;
    fputs(s, out);
    fputc('\n', out);
    cJSON_free(s);
    return 0;
}

int ibc_report_rows(FILE *out, const ibc_rows *rows, ibc_format fmt)
{
    const char *cells[NCOL];
    switch (fmt) {
    case IBC_FMT_MD:
        put_line(out, col_names, put_md, "| ", " | ", " |\n");
        fputs("|", out);
        for (int c = 0; c < NCOL; c++)
            fputs("---|", out);
        fputc('\n', out);
        for (long i = 0; i < rows->n; i++) {
            row_cells(&rows->row[i], cells);
            put_line(out, cells, put_md, "| ", " | ", " |\n");
        }
        write_summary(out, rows);
        break;
    case IBC_FMT_CSV:
        put_line(out, col_names, put_csv, "", ",", "\n");
        for (long i = 0; i < rows->n; i++) {
            row_cells(&rows->row[i], cells);
            put_line(out, cells, put_csv, "", ",", "\n");
        }
        break;
    case IBC_FMT_TEX:
        fputs("\\begin{tabular}{lllllllll}\n\\toprule\n", out);
        put_line(out, col_names, put_tex, "", " & ", " \\\\\n");
        fputs("\\midrule\n", out);
        for (long i = 0; i < rows->n; i++) {
            row_cells(&rows->row[i], cells);
            put_line(out, cells, put_tex, "", " & ", " \\\\\n");
        }
        fputs("\\bottomrule\n\\end{tabular}\n", out);
        break;
    case IBC_FMT_JSON:
        if (write_json(out, rows) != 0)
            return -1;
        break;
    default:
        return -1;
    }
    if (fflush(out) != 0 || ferror(out))
        return -1;
    return 0;
}
