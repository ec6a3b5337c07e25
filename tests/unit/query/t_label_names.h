/* Destination names for label_replace, shared by test_eval.c (PromQL) and
 * test_logeval.c (LogQL) so both languages are shown to accept and refuse the
 * same names (engine/labels.h labels_name_utf8_valid: non-empty valid UTF-8).
 * Each is the body of a query string literal, so escapes are the lexer's. */
#ifndef T_LABEL_NAMES_H
#define T_LABEL_NAMES_H

static const char *const t_label_names_ok[] = {
    "dst", "_x", "1abc", "a.b", "a-b", "\\u00fcn\\u00ef",
};
static const char *const t_label_names_bad[] = {
    "", "\\xff", "\\xc0\\x80" /* overlong NUL */, "\\xed\\xa0\\x80" /* surrogate */,
};

#endif
