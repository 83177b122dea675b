/* repro: the authors' YAML experiment config (MV24 §5.1), read with libyaml's
 * document API and checked against one range table.
 *
 * Scalars follow YAML 1.1 as PyYAML (the authors' loader) reads them, with
 * three deliberate differences, each on the strict side or harmless:
 *   - integers are decimal only: 0x.., 0b.., 1_000 and leading zeros (YAML
 *     1.1 octal: 010 = 8) are refused rather than silently reinterpreted;
 *   - a number may be written 1e-7 as well as 1.0e-7 (PyYAML would read 1e-7
 *     as a string and the authors' code would then fail);
 *   - a quoted scalar ("30") is a string, so it is refused where a number or a
 *     boolean is needed, unless tagged (!!int "30").  An explicit !!str on a
 *     plain scalar cannot be told apart from no tag through the document API
 *     (libyaml gives both the default str tag) and so reads as untagged.
 * Anchors and aliases are resolved by libyaml; the walk below descends at
 * most three levels, so even a self-referencing alias cannot make it loop.
 *
 * Hostile input (the parser is fuzzed): libyaml keeps explicit stacks, not
 * recursion, but its scanner checks every open flow level on each token and
 * its loader searches every anchor on each anchor and alias, so both are
 * quadratic (measured: 40000 nested '[' take 3 s, 1 MiB would take half an
 * hour).  A first pass over the events therefore refuses, before the loader
 * runs, input larger than IBC_REPRO_MAX_BYTES, nesting deeper than
 * IBC_REPRO_MAX_DEPTH, more nodes or anchors than a config can have, and a
 * second document.  Measured after it: every 1 MiB pathological input tried
 * (deep flow or block nesting, 10^5 anchors, keys, list items, documents)
 * is refused in under 10 ms. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "ibcheck/repro.h"

#define IBC_REPRO_MAX_BYTES (1L << 20)   /* a config is a few hundred bytes */
#define IBC_REPRO_MAX_DEPTH 8            /* a config has 3: sections, keys, lists */
#define IBC_REPRO_MAX_EVENTS 4096        /* a config has about 60 */
#define IBC_REPRO_MAX_ANCHORS 64         /* anchors + aliases; a config needs none */

enum { T_BOOL, T_INT, T_REAL };

/* The value slots of the config; a list key owns three consecutive slots. */
enum {
    V_RUN, V_D, V_K, V_K1, V_SAVE, V_NTRAIN, V_NTEST, V_REPEAT,
    V_SIG0, V_SIG1, V_SIG2, V_EPS0, V_EPS1, V_EPS2,
    V_BATCH, V_EPOCH, V_LR, V_WIDTH, V_INIT, V_BDIST, V_BNUM, V_PLOT, V_N
};

typedef struct {
    const char *path;   /* key path as the error lines name it */
    const char *name;   /* the name in range texts */
    int type;
    size_t off;         /* member of ibc_repro_config */
} slot;

#define OFF(m) offsetof(ibc_repro_config, m)
static const slot slots[V_N] = {
    [V_RUN] = {"train.run", "run", T_BOOL, OFF(run)},
    [V_D] = {"train.D", "D", T_INT, OFF(D)},
    [V_K] = {"train.k", "k", T_INT, OFF(K)},
    [V_K1] = {"train.k1", "k1", T_INT, OFF(K1)},
    [V_SAVE] = {"train.save_model", "save_model", T_INT, OFF(save_model)},
    [V_NTRAIN] = {"train.n_train", "n_train", T_INT, OFF(n_train)},
    [V_NTEST] = {"train.n_test", "n_test", T_INT, OFF(n_test)},
    [V_REPEAT] = {"train.repeat", "repeat", T_INT, OFF(repeat)},
    [V_SIG0] = {"train.sigma_list[0]", "sigma start", T_REAL, OFF(sigma_start)},
    [V_SIG1] = {"train.sigma_list[1]", "sigma stop", T_REAL, OFF(sigma_stop)},
    [V_SIG2] = {"train.sigma_list[2]", "sigma count", T_INT, OFF(sigma_count)},
    [V_EPS0] = {"train.epsilon_list[0]", "epsilon start", T_REAL, OFF(eps_start)},
    [V_EPS1] = {"train.epsilon_list[1]", "epsilon stop", T_REAL, OFF(eps_stop)},
    [V_EPS2] = {"train.epsilon_list[2]", "epsilon count", T_INT, OFF(eps_count)},
    [V_BATCH] = {"train_opt.batch_size", "batch_size", T_INT, OFF(batch_size)},
    [V_EPOCH] = {"train_opt.max_epoch", "max_epoch", T_INT, OFF(max_epoch)},
    [V_LR] = {"train_opt.lr", "lr", T_REAL, OFF(lr)},
    [V_WIDTH] = {"train_net.hidden_width", "hidden_width", T_INT, OFF(hidden_width)},
    [V_INIT] = {"train_net.init_scale", "init_scale", T_REAL, OFF(init_scale)},
    [V_BDIST] = {"train_dist.batch_size_dist", "batch_size_dist", T_INT, OFF(batch_size_dist)},
    [V_BNUM] = {"train_dist.batch_num_dist", "batch_num_dist", T_INT, OFF(batch_num_dist)},
    [V_PLOT] = {"plot.run", "run", T_BOOL, OFF(plot_run)},
};

/* THE RANGE TABLE: every bound a config value must meet lives here, checked
 * in this order.  A bound is a constant, or (ref >= 0) the value of an
 * earlier row's slot, which is then already known to be valid.
 *
 *   key                        range
 *   train.D                    2 <= D <= 100000
 *   train.k                    2 <= k <= D
 *   train.k1                   1 <= k1 < k
 *   train.n_train              k <= n_train <= 10^7        (k >= 2, so also >= 1)
 *   train.n_test               1 <= n_test <= 10^7
 *   train.repeat               1 <= repeat <= 1000
 *   train.sigma_list[0]        0 <= start <= 100
 *   train.sigma_list[1]        start <= stop <= 100
 *   train.sigma_list[2]        1 <= count <= 1000   (count 1: the list is [start]
 *                                                    whatever stop is, as numpy)
 *   train.save_model           0 <= save_model < sigma count
 *   train.epsilon_list[0..2]   as sigma_list
 *   train_opt.batch_size       1 <= batch_size <= n_train
 *   train_opt.max_epoch        1 <= max_epoch <= 10^6
 *   train_opt.lr               0 < lr <= 100
 *   train_net.hidden_width     1 <= hidden_width <= 10^6
 *   train_net.init_scale       0 < init_scale <= 1
 *   train_dist.batch_size_dist 1 <= batch_size_dist <= 10^7
 *   train_dist.batch_num_dist  1 <= batch_num_dist <= 10^4
 * train.run and plot.run are booleans; scale (set by --scale) is finite, >= 1. */
typedef struct {
    int v;
    double lo;
    int lo_ref, lo_open;
    double hi;
    int hi_ref, hi_open;
} range;
#define NOREF (-1)
static const range ranges[] = {
    {V_D, 2, NOREF, 0, 1e5, NOREF, 0},
    {V_K, 2, NOREF, 0, 0, V_D, 0},
    {V_K1, 1, NOREF, 0, 0, V_K, 1},
    {V_NTRAIN, 0, V_K, 0, 1e7, NOREF, 0},
    {V_NTEST, 1, NOREF, 0, 1e7, NOREF, 0},
    {V_REPEAT, 1, NOREF, 0, 1000, NOREF, 0},
    {V_SIG0, 0, NOREF, 0, 100, NOREF, 0},
    {V_SIG1, 0, V_SIG0, 0, 100, NOREF, 0},
    {V_SIG2, 1, NOREF, 0, 1000, NOREF, 0},
    {V_SAVE, 0, NOREF, 0, 0, V_SIG2, 1},
    {V_EPS0, 0, NOREF, 0, 100, NOREF, 0},
    {V_EPS1, 0, V_EPS0, 0, 100, NOREF, 0},
    {V_EPS2, 1, NOREF, 0, 1000, NOREF, 0},
    {V_BATCH, 1, NOREF, 0, 0, V_NTRAIN, 0},
    {V_EPOCH, 1, NOREF, 0, 1e6, NOREF, 0},
    {V_LR, 0, NOREF, 1, 100, NOREF, 0},
    {V_WIDTH, 1, NOREF, 0, 1e6, NOREF, 0},
    {V_INIT, 0, NOREF, 1, 1, NOREF, 0},
    {V_BDIST, 1, NOREF, 0, 1e7, NOREF, 0},
    {V_BNUM, 1, NOREF, 0, 1e4, NOREF, 0},
};
#define NRANGES ((int)(sizeof ranges / sizeof ranges[0]))

/* The file's keys: nslots = 1 for a scalar, 3 for a [start, stop, count] list. */
typedef struct {
    const char *key;
    int first, nslots;
} key_spec;
typedef struct {
    const char *name;
    const key_spec *keys;
    int nkeys;
} section_spec;

static const key_spec keys_train[] = {
    {"run", V_RUN, 1}, {"D", V_D, 1}, {"k", V_K, 1}, {"k1", V_K1, 1},
    {"save_model", V_SAVE, 1}, {"n_train", V_NTRAIN, 1}, {"n_test", V_NTEST, 1},
    {"repeat", V_REPEAT, 1}, {"sigma_list", V_SIG0, 3}, {"epsilon_list", V_EPS0, 3},
};
static const key_spec keys_opt[] = {{"batch_size", V_BATCH, 1}, {"max_epoch", V_EPOCH, 1}, {"lr", V_LR, 1}};
static const key_spec keys_net[] = {{"hidden_width", V_WIDTH, 1}, {"init_scale", V_INIT, 1}};
static const key_spec keys_dist[] = {{"batch_size_dist", V_BDIST, 1}, {"batch_num_dist", V_BNUM, 1}};
static const key_spec keys_plot[] = {{"run", V_PLOT, 1}};
#define NK(a) ((int)(sizeof a / sizeof a[0]))
static const section_spec sections[] = {
    {"train", keys_train, NK(keys_train)},
    {"train_opt", keys_opt, NK(keys_opt)},
    {"train_net", keys_net, NK(keys_net)},
    {"train_dist", keys_dist, NK(keys_dist)},
    {"plot", keys_plot, NK(keys_plot)},
};
#define NSECTIONS NK(sections)
#define MAXKEYS 10
_Static_assert(NK(keys_train) <= MAXKEYS, "walk_section's seen[] holds MAXKEYS keys");

/* ---- one-line error texts ---- */

/* Copies s[0..n) into out (size cap) so that it stays on one line: bytes
 * outside printable ASCII become \xHH (keep_utf8: bytes >= 0x80 pass, for
 * file names).  Longer text keeps its head (tail_first: its tail) and "...". */
static void clean(char *out, size_t cap, const char *s, size_t n, int keep_utf8, int tail_first)
{
    size_t room = cap - 1, o = 0;
    size_t start = 0;
    int cut = 0;
    if (tail_first && n > room / 2) {
        start = n - room / 2;
        memcpy(out, "...", 3);
        o = 3;
    }
    for (size_t i = start; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        int plain = (b >= 0x20 && b < 0x7f) || (keep_utf8 && b >= 0x80);
        size_t need = plain ? 1 : 4;
        if (o + need + 3 > room) {
            cut = 1;
            break;
        }
        if (plain)
            out[o++] = (char)b;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", b);
    }
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

typedef struct {
    const char *name;   /* labels the errors */
    char *err;
    /* Where each slot came from, for error lines (line 0: not seen). */
    long line[V_N];
    const char *text[V_N];
    size_t tlen[V_N];
} src_info;

static int fail(const src_info *s, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(const src_info *s, long line, const char *fmt, ...)
{
    if (!s->err)
        return IBC_EINPUT;
    size_t o = 0;
    if (s->name) {
        char nm[128];
        clean(nm, sizeof nm, s->name, strlen(s->name), 1, 1);
        o = line > 0 ? (size_t)snprintf(s->err, IBC_ERRLEN, "%s: line %ld: ", nm, line)
                     : (size_t)snprintf(s->err, IBC_ERRLEN, "%s: ", nm);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err + o, IBC_ERRLEN - o, fmt, ap);   /* o < 128 + 30 < IBC_ERRLEN */
    va_end(ap);
    return IBC_EINPUT;
}

/* snprintf where cutting the text short is acceptable (error texts only). */
static void say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

/* Shortest %g form that reads back to x, so 0.01 prints as 0.01. */
static void fmt_real(char *buf, size_t cap, double x)
{
    if (x == floor(x) && fabs(x) < 1e15) {   /* 10000000, not 1e+07 */
        snprintf(buf, cap, "%.0f", x);
        return;
    }
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, x);
        if (strtod(buf, NULL) == x || x != x)
            return;
    }
}

static double slot_get(const ibc_repro_config *c, int v)
{
    const char *b = (const char *)c + slots[v].off;
    switch (slots[v].type) {
    case T_BOOL: return *(const int *)(const void *)b;
    case T_INT: return (double)*(const long *)(const void *)b;
    default: return *(const double *)(const void *)b;
    }
}

static void value_text(char *buf, size_t cap, const ibc_repro_config *c, int v)
{
    const char *b = (const char *)c + slots[v].off;
    if (slots[v].type == T_REAL)
        fmt_real(buf, cap, *(const double *)(const void *)b);
    else if (slots[v].type == T_INT)
        snprintf(buf, cap, "%ld", *(const long *)(const void *)b);
    else
        snprintf(buf, cap, "%d", *(const int *)(const void *)b);
}

static const range *range_of(int v)
{
    for (int i = 0; i < NRANGES; i++)
        if (ranges[i].v == v)
            return &ranges[i];
    return NULL;
}

/* One end of a range: another field's name (with its value when c is
 * given), or the constant v. */
static void bound_text(char *buf, size_t cap, int ref, double v, const ibc_repro_config *c)
{
    char t[40];
    if (ref < 0) {
        fmt_real(buf, cap, v);
    } else if (c) {
        value_text(t, sizeof t, c, ref);
        say(buf, cap, "%s (= %s)", slots[ref].name, t);
    } else {
        say(buf, cap, "%s", slots[ref].name);
    }
}

/* "2 <= k <= D (= 1000)"; c NULL: the references without their values. */
static void bounds_text(char *buf, size_t cap, const range *r, const ibc_repro_config *c)
{
    char lo[96], hi[96];
    bound_text(lo, sizeof lo, r->lo_ref, r->lo, c);
    bound_text(hi, sizeof hi, r->hi_ref, r->hi, c);
    say(buf, cap, "%s %s %s %s %s", lo, r->lo_open ? "<" : "<=", slots[r->v].name,
             r->hi_open ? "<" : "<=", hi);
}

static const char *type_word(int type)
{
    return type == T_INT ? "an integer" : "a number";
}

#define BOOL_NEED "a boolean (true/false, yes/no, on/off)"

/* What a key needs, for missing-key and wrong-type lines. */
static void need_text(char *buf, size_t cap, const key_spec *k, const ibc_repro_config *c)
{
    char b[3][128];
    if (slots[k->first].type == T_BOOL) {
        say(buf, cap, BOOL_NEED);
        return;
    }
    for (int i = 0; i < k->nslots; i++)
        bounds_text(b[i], sizeof b[i], range_of(k->first + i), c);
    if (k->nslots == 1)
        say(buf, cap, "%s %s", type_word(slots[k->first].type), b[0]);
    else
        say(buf, cap, "a list [start, stop, count] with %s, %s, integer %s", b[0], b[1], b[2]);
}

static void keys_text(char *buf, size_t cap, const section_spec *sec)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < sec->nkeys && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", sec->keys[i].key);
}

static void sections_text(char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < NSECTIONS && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", sections[i].name);
}

/* ---- the range check (shared by parse and ibc_repro_config_check) ---- */

static int check_impl(const ibc_repro_config *c, const src_info *s)
{
    char val[64], b[160];
    for (int v = 0; v < V_N; v++) {
        if (slots[v].type != T_BOOL)
            continue;
        int x = (int)slot_get(c, v);
        if (x != 0 && x != 1)
            return fail(s, s->line[v], "%s = %d: need 0 or 1 (false or true)", slots[v].path, x);
    }
    for (int i = 0; i < NRANGES; i++) {
        const range *r = &ranges[i];
        double x = slot_get(c, r->v);
        double lo = r->lo_ref >= 0 ? slot_get(c, r->lo_ref) : r->lo;
        double hi = r->hi_ref >= 0 ? slot_get(c, r->hi_ref) : r->hi;
        /* Written so that NaN fails. */
        int ok = (r->lo_open ? x > lo : x >= lo) && (r->hi_open ? x < hi : x <= hi);
        if (ok)
            continue;
        if (s->text[r->v])
            clean(val, sizeof val, s->text[r->v], s->tlen[r->v], 0, 0);
        else
            value_text(val, sizeof val, c, r->v);
        bounds_text(b, sizeof b, r, c);
        return fail(s, s->line[r->v], "%s = %s: need %s %s", slots[r->v].path, val,
                    type_word(slots[r->v].type), b);
    }
    /* The literal must be the value: the driver passes it on as the exact decimal. */
    if (!memchr(c->init_scale_str, '\0', sizeof c->init_scale_str) || !c->init_scale_str[0] ||
        strtod(c->init_scale_str, NULL) != c->init_scale) {
        clean(val, sizeof val, c->init_scale_str, strnlen(c->init_scale_str, sizeof c->init_scale_str), 0, 0);
        fmt_real(b, sizeof b, c->init_scale);
        return fail(s, s->line[V_INIT], "train_net.init_scale_str = \"%s\": need the decimal text of init_scale = %s",
                    val, b);
    }
    if (!(c->scale >= 1) || !isfinite(c->scale)) {
        fmt_real(b, sizeof b, c->scale);
        return fail(s, 0, "scale = %s: need a finite number >= 1", b);
    }
    return IBC_OK;
}

int ibc_repro_config_check(const ibc_repro_config *c, char *err)
{
    src_info s;
    memset(&s, 0, sizeof s);
    s.err = err;
    return check_impl(c, &s);
}

/* ---- scalars ---- */

/* Decimal integer without leading zeros (YAML 1.1 would read 010 as octal 8). */
static int int_syntax(const char *t, size_t n)
{
    size_t i = 0;
    if (i < n && (t[i] == '+' || t[i] == '-'))
        i++;
    if (i == n)
        return 0;
    if (t[i] == '0' && i + 1 < n)
        return 0;
    for (; i < n; i++)
        if (t[i] < '0' || t[i] > '9')
            return 0;
    return 1;
}

/* [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits]; no inf, nan, hex. */
static int real_syntax(const char *t, size_t n)
{
    size_t i = 0, mant = 0;
    int dot = 0, exp = 0;
    if (i < n && (t[i] == '+' || t[i] == '-'))
        i++;
    for (; i < n && ((t[i] >= '0' && t[i] <= '9') || (t[i] == '.' && !dot)); i++) {
        if (t[i] == '.')
            dot = 1;
        else
            mant++;
    }
    if (mant == 0)
        return 0;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        exp = 1;
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        size_t e = 0;
        for (; i < n && t[i] >= '0' && t[i] <= '9'; i++)
            e++;
        if (e == 0)
            return 0;
    }
    if (i != n)
        return 0;
    /* Without dot or exponent it is an integer: the same rule as int_syntax. */
    return dot || exp || int_syntax(t, n);
}

static long parse_long(const char *t, size_t n)
{
    size_t i = 0;
    int neg = 0;
    if (t[i] == '+' || t[i] == '-')
        neg = t[i++] == '-';
    long x = 0;
    for (; i < n; i++) {
        int d = t[i] - '0';
        if (x > (LONG_MAX - d) / 10)   /* saturate: far outside every range */
            return neg ? LONG_MIN : LONG_MAX;
        x = 10 * x + d;
    }
    return neg ? -x : x;
}

static int eq(const char *t, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(t, lit, n) == 0;
}

static int bool_value(const char *t, size_t n)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (int i = 0; i < 9; i++) {
        if (eq(t, n, yes[i]))
            return 1;
        if (eq(t, n, no[i]))
            return 0;
    }
    return -1;
}

/* A node as an error line shows it. */
static void node_text(char *buf, size_t cap, const yaml_node_t *n)
{
    if (n->type == YAML_SEQUENCE_NODE) {
        long items = (long)(n->data.sequence.items.top - n->data.sequence.items.start);
        say(buf, cap, "a list of %ld item%s", items, items == 1 ? "" : "s");
    } else if (n->type == YAML_MAPPING_NODE)
        say(buf, cap, "a mapping");
    else if (n->data.scalar.length == 0 && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        say(buf, cap, "(empty)");
    else {
        /* An explicit tag is shown, since it may be the whole problem (!!float 30). */
        char t[64], tg[40], tag[48] = "";
        clean(t, sizeof t, (const char *)n->data.scalar.value, n->data.scalar.length, 0, 0);
        const char *full = n->tag ? (const char *)n->tag : YAML_DEFAULT_SCALAR_TAG;
        static const char std[] = "tag:yaml.org,2002:";
        if (strcmp(full, YAML_DEFAULT_SCALAR_TAG) != 0) {
            int is_std = strncmp(full, std, sizeof std - 1) == 0;
            const char *shown = is_std ? full + sizeof std - 1 : full;
            clean(tg, sizeof tg, shown, strlen(shown), 0, 0);
            say(tag, sizeof tag, is_std ? "!!%s " : "!<%s> ", tg);
        }
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            say(buf, cap, "%s%s", tag, t);
        else
            say(buf, cap, "%s\"%s\" (a quoted string)", tag, t);
    }
}

static long line_of(const yaml_node_t *n)
{
    return (long)n->start_mark.line + 1;
}

static int tag_is(const yaml_node_t *n, const char *tag)
{
    return n->tag && strcmp((const char *)n->tag, tag) == 0;
}

/* Stores one scalar into slot v of c (types only; ranges come later). */
static int set_scalar(ibc_repro_config *c, src_info *s, int v, const yaml_node_t *n)
{
    char shown[96], need[320];
    const slot *sl = &slots[v];
    if (n->type != YAML_SCALAR_NODE)
        goto wrong;
    const char *t = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    /* Untagged: only a plain scalar is a number or a boolean. */
    int untagged = tag_is(n, YAML_DEFAULT_SCALAR_TAG);
    if (untagged && n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        goto wrong;
    if (!untagged && !(sl->type == T_BOOL ? tag_is(n, YAML_BOOL_TAG)
                       : sl->type == T_INT ? tag_is(n, YAML_INT_TAG)
                                           : tag_is(n, YAML_INT_TAG) || tag_is(n, YAML_FLOAT_TAG)))
        goto wrong;
    char *b = (char *)c + sl->off;
    if (sl->type == T_BOOL) {
        int x = bool_value(t, len);
        if (x < 0)
            goto wrong;
        *(int *)(void *)b = x;
    } else if (sl->type == T_INT) {
        if (!int_syntax(t, len))
            goto wrong;
        *(long *)(void *)b = parse_long(t, len);
    } else {
        if (!real_syntax(t, len))
            goto wrong;
        char *copy = malloc(len + 1);
        if (!copy)
            return fail(s, line_of(n), "out of memory");
        memcpy(copy, t, len);
        copy[len] = '\0';
        double x = strtod(copy, NULL);
        free(copy);
        if (!isfinite(x))
            goto wrong;
        *(double *)(void *)b = x;
        if (v == V_INIT) {
            if (len >= sizeof c->init_scale_str)
                return fail(s, line_of(n), "train_net.init_scale = %.40s...: need at most %zu characters",
                            t, sizeof c->init_scale_str - 1);
            memcpy(c->init_scale_str, t, len);
            c->init_scale_str[len] = '\0';
        }
    }
    s->line[v] = line_of(n);
    s->text[v] = t;
    s->tlen[v] = len;
    return IBC_OK;
wrong:
    node_text(shown, sizeof shown, n);
    if (sl->type == T_BOOL)
        say(need, sizeof need, BOOL_NEED);
    else {
        char b[160];
        bounds_text(b, sizeof b, range_of(v), NULL);
        say(need, sizeof need, "%s %s", sl->type == T_INT ? "a decimal integer" : "a finite number", b);
    }
    return fail(s, line_of(n), "%s = %s: need %s", sl->path, shown, need);
}

/* ---- the document walk ---- */

static const yaml_node_t *get_node(yaml_document_t *doc, int i)
{
    return yaml_document_get_node(doc, i);
}

/* The key of a pair as text, or an error line when it is not a scalar. */
static int key_of(src_info *s, const yaml_node_t *k, const char *where, const char **t, size_t *n)
{
    if (!k || k->type != YAML_SCALAR_NODE) {
        char shown[96];
        if (k)
            node_text(shown, sizeof shown, k);
        return fail(s, k ? line_of(k) : 0, "%s: a key that is %s: need a plain name", where,
                    k ? shown : "missing");
    }
    *t = (const char *)k->data.scalar.value;
    *n = k->data.scalar.length;
    return IBC_OK;
}

static int walk_section(ibc_repro_config *c, src_info *s, yaml_document_t *doc, const section_spec *sec,
                        const yaml_node_t *m)
{
    char shown[96], keys[200];
    if (m->type != YAML_MAPPING_NODE) {
        node_text(shown, sizeof shown, m);
        keys_text(keys, sizeof keys, sec);
        return fail(s, line_of(m), "%s = %s: need a mapping with keys %s", sec->name, shown, keys);
    }
    long seen[MAXKEYS] = {0};
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = get_node(doc, p->key), *vn = get_node(doc, p->value);
        const char *t = NULL;
        size_t n = 0;
        int rc = key_of(s, kn, sec->name, &t, &n);
        if (rc)
            return rc;
        int ki = -1;
        for (int i = 0; i < sec->nkeys; i++)
            if (eq(t, n, sec->keys[i].key))
                ki = i;
        if (ki < 0) {
            char kt[64];
            clean(kt, sizeof kt, t, n, 0, 0);
            keys_text(keys, sizeof keys, sec);
            return fail(s, line_of(kn), "unknown key %s.%s (%s allows: %s)", sec->name, kt, sec->name, keys);
        }
        const key_spec *k = &sec->keys[ki];
        if (seen[ki])
            return fail(s, line_of(kn), "duplicate key %s.%s (first at line %ld)", sec->name, k->key, seen[ki]);
        seen[ki] = line_of(kn);
        if (!vn)
            return fail(s, line_of(kn), "%s.%s: no value", sec->name, k->key);
        if (k->nslots == 1) {
            rc = set_scalar(c, s, k->first, vn);
            if (rc)
                return rc;
            continue;
        }
        long items = vn->type == YAML_SEQUENCE_NODE
                         ? (long)(vn->data.sequence.items.top - vn->data.sequence.items.start) : -1;
        if (items != k->nslots) {
            char need[320];
            node_text(shown, sizeof shown, vn);
            need_text(need, sizeof need, k, NULL);
            return fail(s, line_of(vn), "%s.%s = %s: need %s", sec->name, k->key, shown, need);
        }
        for (int i = 0; i < k->nslots; i++) {
            const yaml_node_t *it = get_node(doc, vn->data.sequence.items.start[i]);
            if (!it)
                return fail(s, line_of(vn), "%s.%s: item %d missing", sec->name, k->key, i);
            rc = set_scalar(c, s, k->first + i, it);
            if (rc)
                return rc;
        }
    }
    for (int i = 0; i < sec->nkeys; i++) {
        if (seen[i])
            continue;
        char need[320];
        need_text(need, sizeof need, &sec->keys[i], NULL);
        return fail(s, 0, "missing key %s.%s (need %s)", sec->name, sec->keys[i].key, need);
    }
    return IBC_OK;
}

static int walk(ibc_repro_config *c, src_info *s, yaml_document_t *doc)
{
    char shown[96], names[120];
    const yaml_node_t *root = yaml_document_get_root_node(doc);
    sections_text(names, sizeof names);
    if (!root)
        return fail(s, 0, "empty: need a mapping with keys %s", names);
    if (root->type != YAML_MAPPING_NODE) {
        node_text(shown, sizeof shown, root);
        return fail(s, line_of(root), "the top level is %s: need a mapping with keys %s", shown, names);
    }
    long seen[NSECTIONS] = {0};
    const yaml_node_t *val[NSECTIONS] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const yaml_node_t *kn = get_node(doc, p->key);
        const char *t = NULL;
        size_t n = 0;
        int rc = key_of(s, kn, "top level", &t, &n);
        if (rc)
            return rc;
        int si = -1;
        for (int i = 0; i < NSECTIONS; i++)
            if (eq(t, n, sections[i].name))
                si = i;
        if (si < 0) {
            char kt[64];
            clean(kt, sizeof kt, t, n, 0, 0);
            return fail(s, line_of(kn), "unknown key %s (the top level allows: %s)", kt, names);
        }
        if (seen[si])
            return fail(s, line_of(kn), "duplicate key %s (first at line %ld)", sections[si].name, seen[si]);
        seen[si] = line_of(kn);
        val[si] = get_node(doc, p->value);
        if (!val[si])
            return fail(s, line_of(kn), "%s: no value", sections[si].name);
    }
    /* Sections in file order would report errors in file order; table order
     * is as good and keeps this loop simple. */
    for (int i = 0; i < NSECTIONS; i++) {
        if (!seen[i]) {
            char keys[200];
            keys_text(keys, sizeof keys, &sections[i]);
            return fail(s, 0, "missing key %s (need a mapping with keys %s)", sections[i].name, keys);
        }
        int rc = walk_section(c, s, doc, &sections[i], val[i]);
        if (rc)
            return rc;
    }
    return IBC_OK;
}

static int yaml_fail(src_info *s, const yaml_parser_t *y, const char *text, size_t len)
{
    if (y->error == YAML_MEMORY_ERROR)
        return fail(s, 0, "out of memory while reading the YAML");
    const char *problem = y->problem ? y->problem : "unknown problem";
    if (y->error == YAML_READER_ERROR) {
        /* The reader gives a byte offset, not a line: count the lines. */
        size_t end = y->problem_offset < len ? y->problem_offset : len;
        long line = 1;
        for (size_t i = 0; i < end; i++)
            line += text[i] == '\n';
        return fail(s, line, "not valid YAML (UTF-8): %s (byte offset %zu)", problem, y->problem_offset);
    }
    long line = (long)y->problem_mark.line + 1, col = (long)y->problem_mark.column + 1;
    if (y->context)
        return fail(s, line, "not valid YAML: %s %s (column %ld)", y->context, problem, col);
    return fail(s, line, "not valid YAML: %s (column %ld)", problem, col);
}

/* The first pass (see the top of this file): libyaml events only, so that
 * it stops as soon as the input exceeds a bound. */
static int prescan(src_info *s, const char *text, size_t len)
{
    yaml_parser_t y;
    yaml_event_t ev;
    if (!yaml_parser_initialize(&y))
        return fail(s, 0, "out of memory while reading the YAML");
    yaml_parser_set_encoding(&y, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
    long depth = 0, events = 0, anchors = 0, docs = 0;
    int rc = IBC_OK;
    for (;;) {
        if (!yaml_parser_parse(&y, &ev)) {   /* a failed parse leaves no event to delete */
            rc = yaml_fail(s, &y, text, len);
            break;
        }
        yaml_event_type_t t = ev.type;
        long line = (long)ev.start_mark.line + 1;
        const yaml_char_t *anchor = t == YAML_SCALAR_EVENT ? ev.data.scalar.anchor
                                    : t == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                    : t == YAML_MAPPING_START_EVENT ? ev.data.mapping_start.anchor : NULL;
        anchors += anchor != NULL || t == YAML_ALIAS_EVENT;
        depth += (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) -
                 (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT);
        events++;
        docs += t == YAML_DOCUMENT_START_EVENT;
        yaml_event_delete(&ev);
        if (docs > 1) {
            rc = fail(s, line, "a second YAML document: need one document");
            break;
        }
        if (depth > IBC_REPRO_MAX_DEPTH) {
            rc = fail(s, line, "nesting deeper than %d levels: need a config (3 levels)", IBC_REPRO_MAX_DEPTH);
            break;
        }
        if (events > IBC_REPRO_MAX_EVENTS) {
            rc = fail(s, line, "more than %d YAML nodes: need a config (about 60)", IBC_REPRO_MAX_EVENTS);
            break;
        }
        if (anchors > IBC_REPRO_MAX_ANCHORS) {
            rc = fail(s, line, "more than %d anchors and aliases: need a config (it needs none)",
                      IBC_REPRO_MAX_ANCHORS);
            break;
        }
        if (t == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&y);
    return rc;
}

int ibc_repro_config_parse(ibc_repro_config *c, const char *text, size_t len, const char *name, char *err)
{
    src_info s;
    memset(&s, 0, sizeof s);
    s.name = name ? name : "<config>";
    s.err = err;
    if (!text && len > 0)
        return fail(&s, 0, "no text");
    if (len > (size_t)IBC_REPRO_MAX_BYTES)
        return fail(&s, 0, "%zu bytes: need at most 1 MiB (%ld bytes) for a config", len, IBC_REPRO_MAX_BYTES);

    if (!text)
        text = "";
    int rc = prescan(&s, text, len);
    if (rc)
        return rc;
    ibc_repro_config cfg;
    memset(&cfg, 0, sizeof cfg);
    yaml_parser_t y;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&y))
        return fail(&s, 0, "out of memory while reading the YAML");
    /* Config files are UTF-8; without this a UTF-16 BOM would switch encodings. */
    yaml_parser_set_encoding(&y, YAML_UTF8_ENCODING);
    yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
    /* The prescan saw valid YAML, one document: only memory can fail here. */
    if (!yaml_parser_load(&y, &doc)) {   /* a failed load frees the document itself */
        rc = yaml_fail(&s, &y, text, len);
        yaml_parser_delete(&y);
        return rc;
    }
    rc = walk(&cfg, &s, &doc);
    cfg.scale = 1;
    if (rc == IBC_OK)
        rc = check_impl(&cfg, &s);   /* while the texts in s still live */
    yaml_document_delete(&doc);
    yaml_parser_delete(&y);
    if (rc == IBC_OK)
        *c = cfg;
    return rc;
}

int ibc_repro_config_read(ibc_repro_config *c, const char *path, char *err)
{
    src_info s;
    memset(&s, 0, sizeof s);
    s.name = path ? path : "<config>";
    s.err = err;
    if (!path)
        return fail(&s, 0, "no file name");
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(&s, 0, "cannot open: %s", strerror(errno));
    /* Read at most one byte past the cap, so that a huge file (or an endless
     * pipe) is refused without being read whole. */
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = IBC_OK;
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            rc = fail(&s, 0, "cannot read: %s", strerror(errno));
            break;
        }
        if (n > (size_t)IBC_REPRO_MAX_BYTES) {
            rc = fail(&s, 0, "larger than 1 MiB (%ld bytes): not a config", IBC_REPRO_MAX_BYTES);
            break;
        }
        if (feof(f))
            break;
        if (n == cap) {
            size_t ncap = 2 * cap > (size_t)IBC_REPRO_MAX_BYTES + 1 ? (size_t)IBC_REPRO_MAX_BYTES + 1 : 2 * cap;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap = ncap;
        }
    }
    fclose(f);
    if (!buf)
        return fail(&s, 0, "out of memory while reading");
    if (rc == IBC_OK)
        rc = ibc_repro_config_parse(c, buf, n, path, err);
    free(buf);
    return rc;
}

int ibc_repro_config_scale(ibc_repro_config *c, double F, char *err)
{
    src_info s;
    memset(&s, 0, sizeof s);
    s.err = err;
    if (!(F >= 1) || !isfinite(F)) {
        char b[40];
        fmt_real(b, sizeof b, F);
        return fail(&s, 0, "scale = %s: need a finite number >= 1", b);
    }
    /* On a copy, so that a failed re-check leaves *c as it was. */
    ibc_repro_config t = *c;
    long *shrink[] = {&t.n_train, &t.n_test, &t.hidden_width, &t.max_epoch};
    for (int i = 0; i < 4; i++) {
        double q = floor((double)*shrink[i] / F);
        *shrink[i] = q < 1 ? 1 : (long)q;
    }
    if (t.n_train < t.K)
        t.n_train = t.K;   /* every subclass may then still hold a point */
    if (t.batch_size > t.n_train)
        t.batch_size = t.n_train;
    if (t.batch_size_dist > t.n_train)
        t.batch_size_dist = t.n_train;
    /* The product: twice --scale 2 is --scale 4 (F itself on a fresh config). */
    t.scale = c->scale * F;
    int rc = ibc_repro_config_check(&t, err);
    if (rc == IBC_OK)
        *c = t;
    return rc;
}

/* numpy.linspace(start, stop, count)[i] bit for bit: numpy rounds i * step
 * before adding start (no fused multiply-add: hence the volatile), uses
 * (i / div) * delta when step underflows to 0, and sets the last entry to stop. */
static double linspace(double start, double stop, long count, long i)
{
    if (i < 0 || i >= count)
        return NAN;
    double delta = stop - start;
    volatile double t;
    if (count == 1) {
        t = 0.0 * delta;   /* numpy: arange(1) * delta + start */
        return t + start;
    }
    if (i == count - 1)
        return stop;
    double div = (double)(count - 1), step = delta / div;
    if (step == 0)
        t = ((double)i / div) * delta;
    else
        t = (double)i * step;
    return t + start;
}

double ibc_repro_sigma(const ibc_repro_config *c, long i)
{
    return linspace(c->sigma_start, c->sigma_stop, c->sigma_count, i);
}

double ibc_repro_eps(const ibc_repro_config *c, long i)
{
    return linspace(c->eps_start, c->eps_stop, c->eps_count, i);
}
