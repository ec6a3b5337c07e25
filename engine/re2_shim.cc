// re2_shim.cc — the C API of re2_shim.h over RE2. The only file that includes re2/re2.h.
//
// Kept deliberately small: option setup, one Match() call per entry point,
// group names copied out once at compile time, and no exception escaping to
// C (RE2 allocates with new; std::bad_alloc becomes RE2S_ENOMEM).
#include "re2_shim.h"

#include <re2/re2.h>

#include <cstring>
#include <new>
#include <string>
#include <vector>

static_assert((int)RE2S_ERR_INTERNAL == (int)re2::RE2::ErrorInternal, "RE2 error codes moved");
static_assert((int)RE2S_ERR_BAD_ESCAPE == (int)re2::RE2::ErrorBadEscape, "RE2 error codes moved");
static_assert((int)RE2S_ERR_REPEAT_SIZE == (int)re2::RE2::ErrorRepeatSize, "RE2 error codes moved");
static_assert((int)RE2S_ERR_REPEAT_OP == (int)re2::RE2::ErrorRepeatOp, "RE2 error codes moved");
static_assert((int)RE2S_ERR_PATTERN_TOO_LARGE == (int)re2::RE2::ErrorPatternTooLarge, "RE2 error codes moved");

struct re2s {
    re2::RE2 *re;
    int ngroups;
    std::vector<std::string> names; // index = group number; "" when unnamed
};

namespace {

re2::RE2::Anchor shim_anchor(int a)
{
    switch (a) {
    case RE2S_ANCHOR_START: return re2::RE2::ANCHOR_START;
    case RE2S_ANCHOR_BOTH: return re2::RE2::ANCHOR_BOTH;
    default: return re2::RE2::UNANCHORED;
    }
}

// RE2 tells an empty text from a NULL one only by the pointer; always pass a real one.
re2::StringPiece shim_text(const char *s, size_t n) { return re2::StringPiece(n ? s : "", n); }

} // namespace

extern "C" int re2s_compile(const char *pat, size_t len, int flags, int64_t max_mem, re2s **out, int *why,
                            char *frag, size_t frag_cap)
{
    *out = nullptr;
    if (why) *why = 0;
    if (frag && frag_cap) frag[0] = 0;
    re2s *r = new (std::nothrow) re2s();
    if (!r) return RE2S_ENOMEM;
    try {
        re2::RE2::Options o;
        o.set_encoding(re2::RE2::Options::EncodingUTF8);
        o.set_posix_syntax(false); // Perl classes, \b, (?flags): Go's syntax.Perl
        o.set_longest_match(false);
        o.set_log_errors(false);
        o.set_dot_nl((flags & RE2S_DOT_NL) != 0);
        o.set_case_sensitive((flags & RE2S_CASELESS) == 0);
        o.set_never_capture((flags & RE2S_NO_CAPTURE) != 0);
        if (max_mem > 0) o.set_max_mem(max_mem);
        r->re = new re2::RE2(re2::StringPiece(len ? pat : "", len), o);
        if (!r->re->ok()) {
            if (why) *why = (int)r->re->error_code();
            if (frag && frag_cap) {
                const std::string &a = r->re->error_arg();
                size_t k = a.size() < frag_cap - 1 ? a.size() : frag_cap - 1;
                std::memcpy(frag, a.data(), k);
                frag[k] = 0;
            }
            re2s_free(r);
            return RE2S_ESYNTAX;
        }
        r->ngroups = r->re->NumberOfCapturingGroups();
        if (r->ngroups < 0) r->ngroups = 0;
        r->names.assign((size_t)r->ngroups + 1, std::string());
        for (const auto &kv : r->re->CapturingGroupNames())
            if (kv.first > 0 && kv.first <= r->ngroups) r->names[(size_t)kv.first] = kv.second;
    } catch (...) {
        re2s_free(r);
        return RE2S_ENOMEM;
    }
    *out = r;
    return RE2S_OK;
}

extern "C" void re2s_free(re2s *re)
{
    if (!re) return;
    delete re->re;
    delete re;
}

extern "C" int re2s_match(const re2s *re, const char *s, size_t n, int anchor)
{
    try {
        return re->re->Match(shim_text(s, n), 0, n, shim_anchor(anchor), nullptr, 0) ? 1 : 0;
    } catch (...) {
        return RE2S_ENOMEM;
    }
}

extern "C" int re2s_ngroups(const re2s *re) { return re->ngroups; }

extern "C" const char *re2s_group_name(const re2s *re, int i, size_t *len)
{
    if (i <= 0 || i > re->ngroups || re->names[(size_t)i].empty()) return nullptr;
    if (len) *len = re->names[(size_t)i].size();
    return re->names[(size_t)i].c_str();
}

extern "C" int re2s_match_groups(const re2s *re, const char *s, size_t n, int anchor, ptrdiff_t *off, int n_pairs)
{
    for (int i = 0; i < 2 * n_pairs; i++) off[i] = -1;
    int want = n_pairs < re->ngroups + 1 ? n_pairs : re->ngroups + 1;
    if (want <= 0) return re2s_match(re, s, n, anchor);
    try {
        re2::StringPiece small[8];
        std::vector<re2::StringPiece> big;
        re2::StringPiece *sub = small;
        if (want > 8) {
            big.resize((size_t)want);
            sub = big.data();
        }
        re2::StringPiece t = shim_text(s, n);
        if (!re->re->Match(t, 0, n, shim_anchor(anchor), sub, want)) return 0;
        for (int i = 0; i < want; i++) {
            if (!sub[i].data()) continue;
            off[2 * i] = sub[i].data() - t.data();
            off[2 * i + 1] = off[2 * i] + (ptrdiff_t)sub[i].size();
        }
        return 1;
    } catch (...) {
        return RE2S_ENOMEM;
    }
}
