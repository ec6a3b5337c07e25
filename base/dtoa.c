/*
 * dtoa.c — the shortest decimal that reads back as the same double
 * (dtoa.h), for the sample values of the JSON APIs.
 *
 * Prometheus and Loki print values with Go's strconv.FormatFloat(v, …, -1,
 * 64): the fewest significant digits that parse back to the same bits. The
 * first version of api/json.c found them with printf("%.16e") and strtod
 * loops, ~430 ns per value, which made the HTTP answer of a large `rate`
 * matrix 13 times slower than evaluating it. This file computes the digits
 * with integer arithmetic only, in a fixed number of steps (no loop over
 * candidates): ~30 ns (docs/benchmarks/http_query.md).
 *
 * Algorithm: Schubfach (R. Giulietti, "The Schubfach way to render doubles",
 * 2020). Write v = c × 2^q (c the 53-bit significand). Every real in the
 * rounding interval R = [v - ulp_below/2, v + ulp/2] (closed when c is even,
 * open when odd: strtod ties to even) reads back as v. Pick
 * k = floor(log10(width of R)), so that R holds at least one integer
 * multiple of 10^k and at most one of 10^(k+1). Then with s = floor(v / 10^k):
 *   - if exactly one of the two multiples of 10^(k+1) around s·10^k lies in
 *     R, it is the answer (after dropping its trailing zeros: any shorter
 *     decimal in R would also be a multiple of 10^(k+1), and there is at
 *     most one of those);
 *   - else the answer is s or s+1 (times 10^k): the one in R, or if both
 *     are, the one nearer v (ties to even).
 * All four tests compare 4·x·10^-k for x in {v, lower bound, upper bound}
 * (two fraction bits) against small integers. Those products come from a
 * 128-bit over-approximation g of 10^-k (scaled into [2^127, 2^128)) times
 * the 64-bit integer 4c·2^h, keeping the integer part and a sticky bit
 * ("round to odd"). The paper proves the 126-bit version decides every
 * comparison exactly; ours carries two bits more. The sticky bit looks only
 * at bits above 2^-64 of the product (the lowest limb is never added), so
 * the excess of g (< cp / 2^128 < 2^-69) can never make an exact product
 * look inexact. The lower bound of R is only half as far below v when c is
 * 2^52 (the exponent steps down); k then uses log10(3/4 · 2^q). The two
 * smallest subnormals (c = 1, 2) are constants: 5e-324 and 1e-323.
 * Integers below 2^53 are their own shortest form and skip all of this.
 *
 * Why not the alternatives: printf/strtod loops are the old 430 ns; Ryu
 * (Adams, PLDI 2018) needs the same table and then removes digits one at a
 * time in a loop; Grisu needs a fallback for the ~0.5 % it cannot decide.
 *
 * Invariants: h = q + floor(log2 10^-k) + 1 is in [1, 4], so 4c·2^h < 2^59
 * and every product fits in 192 bits with a 59-bit integer part; for normal
 * doubles s has 16 or 17 digits (fewer for subnormals); the result m < 10^17. floor(log10 2^q), floor(log10(3/4·2^q))
 * and floor(log2 10^e) are fixed-point multiplications valid for
 * |q| <= 1100 and |e| <= 400 (checked exhaustively with exact integers in
 * tests/unit/base/test_dtoa.c, which also recomputes every table entry).
 *
 * The table: pow10_g[e + 292] = floor(10^e · 2^(127 - floor(log2 10^e))) + 1
 * for e in [-292, 324], as two 64-bit halves, generated once with exact
 * integer arithmetic (any bignum tool; test_dtoa.c's small one checks it).
 *
 * Threads: pure functions over a const table; nothing is shared or written.
 */
#include <string.h>

#include "dtoa.h"

__extension__ typedef unsigned __int128 dtoa_u128;

/* ==== Powers of ten ================================================================ */

/* 10^-k for k = floor(log10 2^q), q in [-1074, 971] */
#define POW10_MIN DTOA_POW10_MIN
#define POW10_MAX DTOA_POW10_MAX

static const uint64_t pow10_g[POW10_MAX - POW10_MIN + 1][2] = {
    {0xff77b1fcbebcdc4fU, 0x25e8e89c13bb0f7bU}, /* -292 */
    {0x9faacf3df73609b1U, 0x77b191618c54e9adU}, /* -291 */
    {0xc795830d75038c1dU, 0xd59df5b9ef6a2418U}, /* -290 */
    {0xf97ae3d0d2446f25U, 0x4b0573286b44ad1eU}, /* -289 */
    {0x9becce62836ac577U, 0x4ee367f9430aec33U}, /* -288 */
    {0xc2e801fb244576d5U, 0x229c41f793cda740U}, /* -287 */
    {0xf3a20279ed56d48aU, 0x6b43527578c11110U}, /* -286 */
    {0x9845418c345644d6U, 0x830a13896b78aaaaU}, /* -285 */
    {0xbe5691ef416bd60cU, 0x23cc986bc656d554U}, /* -284 */
    {0xedec366b11c6cb8fU, 0x2cbfbe86b7ec8aa9U}, /* -283 */
    {0x94b3a202eb1c3f39U, 0x7bf7d71432f3d6aaU}, /* -282 */
    {0xb9e08a83a5e34f07U, 0xdaf5ccd93fb0cc54U}, /* -281 */
    {0xe858ad248f5c22c9U, 0xd1b3400f8f9cff69U}, /* -280 */
    {0x91376c36d99995beU, 0x23100809b9c21fa2U}, /* -279 */
    {0xb58547448ffffb2dU, 0xabd40a0c2832a78bU}, /* -278 */
    {0xe2e69915b3fff9f9U, 0x16c90c8f323f516dU}, /* -277 */
    {0x8dd01fad907ffc3bU, 0xae3da7d97f6792e4U}, /* -276 */
    {0xb1442798f49ffb4aU, 0x99cd11cfdf41779dU}, /* -275 */
    {0xdd95317f31c7fa1dU, 0x40405643d711d584U}, /* -274 */
    {0x8a7d3eef7f1cfc52U, 0x482835ea666b2573U}, /* -273 */
    {0xad1c8eab5ee43b66U, 0xda3243650005eed0U}, /* -272 */
    {0xd863b256369d4a40U, 0x90bed43e40076a83U}, /* -271 */
    {0x873e4f75e2224e68U, 0x5a7744a6e804a292U}, /* -270 */
    {0xa90de3535aaae202U, 0x711515d0a205cb37U}, /* -269 */
    {0xd3515c2831559a83U, 0x0d5a5b44ca873e04U}, /* -268 */
    {0x8412d9991ed58091U, 0xe858790afe9486c3U}, /* -267 */
    {0xa5178fff668ae0b6U, 0x626e974dbe39a873U}, /* -266 */
    {0xce5d73ff402d98e3U, 0xfb0a3d212dc81290U}, /* -265 */
    {0x80fa687f881c7f8eU, 0x7ce66634bc9d0b9aU}, /* -264 */
    {0xa139029f6a239f72U, 0x1c1fffc1ebc44e81U}, /* -263 */
    {0xc987434744ac874eU, 0xa327ffb266b56221U}, /* -262 */
    {0xfbe9141915d7a922U, 0x4bf1ff9f0062baa9U}, /* -261 */
    {0x9d71ac8fada6c9b5U, 0x6f773fc3603db4aaU}, /* -260 */
    {0xc4ce17b399107c22U, 0xcb550fb4384d21d4U}, /* -259 */
    {0xf6019da07f549b2bU, 0x7e2a53a146606a49U}, /* -258 */
    {0x99c102844f94e0fbU, 0x2eda7444cbfc426eU}, /* -257 */
    {0xc0314325637a1939U, 0xfa911155fefb5309U}, /* -256 */
    {0xf03d93eebc589f88U, 0x793555ab7eba27cbU}, /* -255 */
    {0x96267c7535b763b5U, 0x4bc1558b2f3458dfU}, /* -254 */
    {0xbbb01b9283253ca2U, 0x9eb1aaedfb016f17U}, /* -253 */
    {0xea9c227723ee8bcbU, 0x465e15a979c1caddU}, /* -252 */
    {0x92a1958a7675175fU, 0x0bfacd89ec191ecaU}, /* -251 */
    {0xb749faed14125d36U, 0xcef980ec671f667cU}, /* -250 */
    {0xe51c79a85916f484U, 0x82b7e12780e7401bU}, /* -249 */
    {0x8f31cc0937ae58d2U, 0xd1b2ecb8b0908811U}, /* -248 */
    {0xb2fe3f0b8599ef07U, 0x861fa7e6dcb4aa16U}, /* -247 */
    {0xdfbdcece67006ac9U, 0x67a791e093e1d49bU}, /* -246 */
    {0x8bd6a141006042bdU, 0xe0c8bb2c5c6d24e1U}, /* -245 */
    {0xaecc49914078536dU, 0x58fae9f773886e19U}, /* -244 */
    {0xda7f5bf590966848U, 0xaf39a475506a899fU}, /* -243 */
    {0x888f99797a5e012dU, 0x6d8406c952429604U}, /* -242 */
    {0xaab37fd7d8f58178U, 0xc8e5087ba6d33b84U}, /* -241 */
    {0xd5605fcdcf32e1d6U, 0xfb1e4a9a90880a65U}, /* -240 */
    {0x855c3be0a17fcd26U, 0x5cf2eea09a550680U}, /* -239 */
    {0xa6b34ad8c9dfc06fU, 0xf42faa48c0ea481fU}, /* -238 */
    {0xd0601d8efc57b08bU, 0xf13b94daf124da27U}, /* -237 */
    {0x823c12795db6ce57U, 0x76c53d08d6b70859U}, /* -236 */
    {0xa2cb1717b52481edU, 0x54768c4b0c64ca6fU}, /* -235 */
    {0xcb7ddcdda26da268U, 0xa9942f5dcf7dfd0aU}, /* -234 */
    {0xfe5d54150b090b02U, 0xd3f93b35435d7c4dU}, /* -233 */
    {0x9efa548d26e5a6e1U, 0xc47bc5014a1a6db0U}, /* -232 */
    {0xc6b8e9b0709f109aU, 0x359ab6419ca1091cU}, /* -231 */
    {0xf867241c8cc6d4c0U, 0xc30163d203c94b63U}, /* -230 */
    {0x9b407691d7fc44f8U, 0x79e0de63425dcf1eU}, /* -229 */
    {0xc21094364dfb5636U, 0x985915fc12f542e5U}, /* -228 */
    {0xf294b943e17a2bc4U, 0x3e6f5b7b17b2939eU}, /* -227 */
    {0x979cf3ca6cec5b5aU, 0xa705992ceecf9c43U}, /* -226 */
    {0xbd8430bd08277231U, 0x50c6ff782a838354U}, /* -225 */
    {0xece53cec4a314ebdU, 0xa4f8bf5635246429U}, /* -224 */
    {0x940f4613ae5ed136U, 0x871b7795e136be9aU}, /* -223 */
    {0xb913179899f68584U, 0x28e2557b59846e40U}, /* -222 */
    {0xe757dd7ec07426e5U, 0x331aeada2fe589d0U}, /* -221 */
    {0x9096ea6f3848984fU, 0x3ff0d2c85def7622U}, /* -220 */
    {0xb4bca50b065abe63U, 0x0fed077a756b53aaU}, /* -219 */
    {0xe1ebce4dc7f16dfbU, 0xd3e8495912c62895U}, /* -218 */
    {0x8d3360f09cf6e4bdU, 0x64712dd7abbbd95dU}, /* -217 */
    {0xb080392cc4349decU, 0xbd8d794d96aacfb4U}, /* -216 */
    {0xdca04777f541c567U, 0xecf0d7a0fc5583a1U}, /* -215 */
    {0x89e42caaf9491b60U, 0xf41686c49db57245U}, /* -214 */
    {0xac5d37d5b79b6239U, 0x311c2875c522ced6U}, /* -213 */
    {0xd77485cb25823ac7U, 0x7d633293366b828cU}, /* -212 */
    {0x86a8d39ef77164bcU, 0xae5dff9c02033198U}, /* -211 */
    {0xa8530886b54dbdebU, 0xd9f57f830283fdfdU}, /* -210 */
    {0xd267caa862a12d66U, 0xd072df63c324fd7cU}, /* -209 */
    {0x8380dea93da4bc60U, 0x4247cb9e59f71e6eU}, /* -208 */
    {0xa46116538d0deb78U, 0x52d9be85f074e609U}, /* -207 */
    {0xcd795be870516656U, 0x67902e276c921f8cU}, /* -206 */
    {0x806bd9714632dff6U, 0x00ba1cd8a3db53b7U}, /* -205 */
    {0xa086cfcd97bf97f3U, 0x80e8a40eccd228a5U}, /* -204 */
    {0xc8a883c0fdaf7df0U, 0x6122cd128006b2ceU}, /* -203 */
    {0xfad2a4b13d1b5d6cU, 0x796b805720085f82U}, /* -202 */
    {0x9cc3a6eec6311a63U, 0xcbe3303674053bb1U}, /* -201 */
    {0xc3f490aa77bd60fcU, 0xbedbfc4411068a9dU}, /* -200 */
    {0xf4f1b4d515acb93bU, 0xee92fb5515482d45U}, /* -199 */
    {0x991711052d8bf3c5U, 0x751bdd152d4d1c4bU}, /* -198 */
    {0xbf5cd54678eef0b6U, 0xd262d45a78a0635eU}, /* -197 */
    {0xef340a98172aace4U, 0x86fb897116c87c35U}, /* -196 */
    {0x9580869f0e7aac0eU, 0xd45d35e6ae3d4da1U}, /* -195 */
    {0xbae0a846d2195712U, 0x8974836059cca10aU}, /* -194 */
    {0xe998d258869facd7U, 0x2bd1a438703fc94cU}, /* -193 */
    {0x91ff83775423cc06U, 0x7b6306a34627ddd0U}, /* -192 */
    {0xb67f6455292cbf08U, 0x1a3bc84c17b1d543U}, /* -191 */
    {0xe41f3d6a7377eecaU, 0x20caba5f1d9e4a94U}, /* -190 */
    {0x8e938662882af53eU, 0x547eb47b7282ee9dU}, /* -189 */
    {0xb23867fb2a35b28dU, 0xe99e619a4f23aa44U}, /* -188 */
    {0xdec681f9f4c31f31U, 0x6405fa00e2ec94d5U}, /* -187 */
    {0x8b3c113c38f9f37eU, 0xde83bc408dd3dd05U}, /* -186 */
    {0xae0b158b4738705eU, 0x9624ab50b148d446U}, /* -185 */
    {0xd98ddaee19068c76U, 0x3badd624dd9b0958U}, /* -184 */
    {0x87f8a8d4cfa417c9U, 0xe54ca5d70a80e5d7U}, /* -183 */
    {0xa9f6d30a038d1dbcU, 0x5e9fcf4ccd211f4dU}, /* -182 */
    {0xd47487cc8470652bU, 0x7647c32000696720U}, /* -181 */
    {0x84c8d4dfd2c63f3bU, 0x29ecd9f40041e074U}, /* -180 */
    {0xa5fb0a17c777cf09U, 0xf468107100525891U}, /* -179 */
    {0xcf79cc9db955c2ccU, 0x7182148d4066eeb5U}, /* -178 */
    {0x81ac1fe293d599bfU, 0xc6f14cd848405531U}, /* -177 */
    {0xa21727db38cb002fU, 0xb8ada00e5a506a7dU}, /* -176 */
    {0xca9cf1d206fdc03bU, 0xa6d90811f0e4851dU}, /* -175 */
    {0xfd442e4688bd304aU, 0x908f4a166d1da664U}, /* -174 */
    {0x9e4a9cec15763e2eU, 0x9a598e4e043287ffU}, /* -173 */
    {0xc5dd44271ad3cdbaU, 0x40eff1e1853f29feU}, /* -172 */
    {0xf7549530e188c128U, 0xd12bee59e68ef47dU}, /* -171 */
    {0x9a94dd3e8cf578b9U, 0x82bb74f8301958cfU}, /* -170 */
    {0xc13a148e3032d6e7U, 0xe36a52363c1faf02U}, /* -169 */
    {0xf18899b1bc3f8ca1U, 0xdc44e6c3cb279ac2U}, /* -168 */
    {0x96f5600f15a7b7e5U, 0x29ab103a5ef8c0baU}, /* -167 */
    {0xbcb2b812db11a5deU, 0x7415d448f6b6f0e8U}, /* -166 */
    {0xebdf661791d60f56U, 0x111b495b3464ad22U}, /* -165 */
    {0x936b9fcebb25c995U, 0xcab10dd900beec35U}, /* -164 */
    {0xb84687c269ef3bfbU, 0x3d5d514f40eea743U}, /* -163 */
    {0xe65829b3046b0afaU, 0x0cb4a5a3112a5113U}, /* -162 */
    {0x8ff71a0fe2c2e6dcU, 0x47f0e785eaba72acU}, /* -161 */
    {0xb3f4e093db73a093U, 0x59ed216765690f57U}, /* -160 */
    {0xe0f218b8d25088b8U, 0x306869c13ec3532dU}, /* -159 */
    {0x8c974f7383725573U, 0x1e414218c73a13fcU}, /* -158 */
    {0xafbd2350644eeacfU, 0xe5d1929ef90898fbU}, /* -157 */
    {0xdbac6c247d62a583U, 0xdf45f746b74abf3aU}, /* -156 */
    {0x894bc396ce5da772U, 0x6b8bba8c328eb784U}, /* -155 */
    {0xab9eb47c81f5114fU, 0x066ea92f3f326565U}, /* -154 */
    {0xd686619ba27255a2U, 0xc80a537b0efefebeU}, /* -153 */
    {0x8613fd0145877585U, 0xbd06742ce95f5f37U}, /* -152 */
    {0xa798fc4196e952e7U, 0x2c48113823b73705U}, /* -151 */
    {0xd17f3b51fca3a7a0U, 0xf75a15862ca504c6U}, /* -150 */
    {0x82ef85133de648c4U, 0x9a984d73dbe722fcU}, /* -149 */
    {0xa3ab66580d5fdaf5U, 0xc13e60d0d2e0ebbbU}, /* -148 */
    {0xcc963fee10b7d1b3U, 0x318df905079926a9U}, /* -147 */
    {0xffbbcfe994e5c61fU, 0xfdf17746497f7053U}, /* -146 */
    {0x9fd561f1fd0f9bd3U, 0xfeb6ea8bedefa634U}, /* -145 */
    {0xc7caba6e7c5382c8U, 0xfe64a52ee96b8fc1U}, /* -144 */
    {0xf9bd690a1b68637bU, 0x3dfdce7aa3c673b1U}, /* -143 */
    {0x9c1661a651213e2dU, 0x06bea10ca65c084fU}, /* -142 */
    {0xc31bfa0fe5698db8U, 0x486e494fcff30a63U}, /* -141 */
    {0xf3e2f893dec3f126U, 0x5a89dba3c3efccfbU}, /* -140 */
    {0x986ddb5c6b3a76b7U, 0xf89629465a75e01dU}, /* -139 */
    {0xbe89523386091465U, 0xf6bbb397f1135824U}, /* -138 */
    {0xee2ba6c0678b597fU, 0x746aa07ded582e2dU}, /* -137 */
    {0x94db483840b717efU, 0xa8c2a44eb4571cddU}, /* -136 */
    {0xba121a4650e4ddebU, 0x92f34d62616ce414U}, /* -135 */
    {0xe896a0d7e51e1566U, 0x77b020baf9c81d18U}, /* -134 */
    {0x915e2486ef32cd60U, 0x0ace1474dc1d122fU}, /* -133 */
    {0xb5b5ada8aaff80b8U, 0x0d819992132456bbU}, /* -132 */
    {0xe3231912d5bf60e6U, 0x10e1fff697ed6c6aU}, /* -131 */
    {0x8df5efabc5979c8fU, 0xca8d3ffa1ef463c2U}, /* -130 */
    {0xb1736b96b6fd83b3U, 0xbd308ff8a6b17cb3U}, /* -129 */
    {0xddd0467c64bce4a0U, 0xac7cb3f6d05ddbdfU}, /* -128 */
    {0x8aa22c0dbef60ee4U, 0x6bcdf07a423aa96cU}, /* -127 */
    {0xad4ab7112eb3929dU, 0x86c16c98d2c953c7U}, /* -126 */
    {0xd89d64d57a607744U, 0xe871c7bf077ba8b8U}, /* -125 */
    {0x87625f056c7c4a8bU, 0x11471cd764ad4973U}, /* -124 */
    {0xa93af6c6c79b5d2dU, 0xd598e40d3dd89bd0U}, /* -123 */
    {0xd389b47879823479U, 0x4aff1d108d4ec2c4U}, /* -122 */
    {0x843610cb4bf160cbU, 0xcedf722a585139bbU}, /* -121 */
    {0xa54394fe1eedb8feU, 0xc2974eb4ee658829U}, /* -120 */
    {0xce947a3da6a9273eU, 0x733d226229feea33U}, /* -119 */
    {0x811ccc668829b887U, 0x0806357d5a3f5260U}, /* -118 */
    {0xa163ff802a3426a8U, 0xca07c2dcb0cf26f8U}, /* -117 */
    {0xc9bcff6034c13052U, 0xfc89b393dd02f0b6U}, /* -116 */
    {0xfc2c3f3841f17c67U, 0xbbac2078d443ace3U}, /* -115 */
    {0x9d9ba7832936edc0U, 0xd54b944b84aa4c0eU}, /* -114 */
    {0xc5029163f384a931U, 0x0a9e795e65d4df12U}, /* -113 */
    {0xf64335bcf065d37dU, 0x4d4617b5ff4a16d6U}, /* -112 */
    {0x99ea0196163fa42eU, 0x504bced1bf8e4e46U}, /* -111 */
    {0xc06481fb9bcf8d39U, 0xe45ec2862f71e1d7U}, /* -110 */
    {0xf07da27a82c37088U, 0x5d767327bb4e5a4dU}, /* -109 */
    {0x964e858c91ba2655U, 0x3a6a07f8d510f870U}, /* -108 */
    {0xbbe226efb628afeaU, 0x890489f70a55368cU}, /* -107 */
    {0xeadab0aba3b2dbe5U, 0x2b45ac74ccea842fU}, /* -106 */
    {0x92c8ae6b464fc96fU, 0x3b0b8bc90012929eU}, /* -105 */
    {0xb77ada0617e3bbcbU, 0x09ce6ebb40173745U}, /* -104 */
    {0xe55990879ddcaabdU, 0xcc420a6a101d0516U}, /* -103 */
    {0x8f57fa54c2a9eab6U, 0x9fa946824a12232eU}, /* -102 */
    {0xb32df8e9f3546564U, 0x47939822dc96abfaU}, /* -101 */
    {0xdff9772470297ebdU, 0x59787e2b93bc56f8U}, /* -100 */
    {0x8bfbea76c619ef36U, 0x57eb4edb3c55b65bU}, /* -99 */
    {0xaefae51477a06b03U, 0xede622920b6b23f2U}, /* -98 */
    {0xdab99e59958885c4U, 0xe95fab368e45eceeU}, /* -97 */
    {0x88b402f7fd75539bU, 0x11dbcb0218ebb415U}, /* -96 */
    {0xaae103b5fcd2a881U, 0xd652bdc29f26a11aU}, /* -95 */
    {0xd59944a37c0752a2U, 0x4be76d3346f04960U}, /* -94 */
    {0x857fcae62d8493a5U, 0x6f70a4400c562ddcU}, /* -93 */
    {0xa6dfbd9fb8e5b88eU, 0xcb4ccd500f6bb953U}, /* -92 */
    {0xd097ad07a71f26b2U, 0x7e2000a41346a7a8U}, /* -91 */
    {0x825ecc24c873782fU, 0x8ed400668c0c28c9U}, /* -90 */
    {0xa2f67f2dfa90563bU, 0x728900802f0f32fbU}, /* -89 */
    {0xcbb41ef979346bcaU, 0x4f2b40a03ad2ffbaU}, /* -88 */
    {0xfea126b7d78186bcU, 0xe2f610c84987bfa9U}, /* -87 */
    {0x9f24b832e6b0f436U, 0x0dd9ca7d2df4d7caU}, /* -86 */
    {0xc6ede63fa05d3143U, 0x91503d1c79720dbcU}, /* -85 */
    {0xf8a95fcf88747d94U, 0x75a44c6397ce912bU}, /* -84 */
    {0x9b69dbe1b548ce7cU, 0xc986afbe3ee11abbU}, /* -83 */
    {0xc24452da229b021bU, 0xfbe85badce996169U}, /* -82 */
    {0xf2d56790ab41c2a2U, 0xfae27299423fb9c4U}, /* -81 */
    {0x97c560ba6b0919a5U, 0xdccd879fc967d41bU}, /* -80 */
    {0xbdb6b8e905cb600fU, 0x5400e987bbc1c921U}, /* -79 */
    {0xed246723473e3813U, 0x290123e9aab23b69U}, /* -78 */
    {0x9436c0760c86e30bU, 0xf9a0b6720aaf6522U}, /* -77 */
    {0xb94470938fa89bceU, 0xf808e40e8d5b3e6aU}, /* -76 */
    {0xe7958cb87392c2c2U, 0xb60b1d1230b20e05U}, /* -75 */
    {0x90bd77f3483bb9b9U, 0xb1c6f22b5e6f48c3U}, /* -74 */
    {0xb4ecd5f01a4aa828U, 0x1e38aeb6360b1af4U}, /* -73 */
    {0xe2280b6c20dd5232U, 0x25c6da63c38de1b1U}, /* -72 */
    {0x8d590723948a535fU, 0x579c487e5a38ad0fU}, /* -71 */
    {0xb0af48ec79ace837U, 0x2d835a9df0c6d852U}, /* -70 */
    {0xdcdb1b2798182244U, 0xf8e431456cf88e66U}, /* -69 */
    {0x8a08f0f8bf0f156bU, 0x1b8e9ecb641b5900U}, /* -68 */
    {0xac8b2d36eed2dac5U, 0xe272467e3d222f40U}, /* -67 */
    {0xd7adf884aa879177U, 0x5b0ed81dcc6abb10U}, /* -66 */
    {0x86ccbb52ea94baeaU, 0x98e947129fc2b4eaU}, /* -65 */
    {0xa87fea27a539e9a5U, 0x3f2398d747b36225U}, /* -64 */
    {0xd29fe4b18e88640eU, 0x8eec7f0d19a03aaeU}, /* -63 */
    {0x83a3eeeef9153e89U, 0x1953cf68300424adU}, /* -62 */
    {0xa48ceaaab75a8e2bU, 0x5fa8c3423c052dd8U}, /* -61 */
    {0xcdb02555653131b6U, 0x3792f412cb06794eU}, /* -60 */
    {0x808e17555f3ebf11U, 0xe2bbd88bbee40bd1U}, /* -59 */
    {0xa0b19d2ab70e6ed6U, 0x5b6aceaeae9d0ec5U}, /* -58 */
    {0xc8de047564d20a8bU, 0xf245825a5a445276U}, /* -57 */
    {0xfb158592be068d2eU, 0xeed6e2f0f0d56713U}, /* -56 */
    {0x9ced737bb6c4183dU, 0x55464dd69685606cU}, /* -55 */
    {0xc428d05aa4751e4cU, 0xaa97e14c3c26b887U}, /* -54 */
    {0xf53304714d9265dfU, 0xd53dd99f4b3066a9U}, /* -53 */
    {0x993fe2c6d07b7fabU, 0xe546a8038efe402aU}, /* -52 */
    {0xbf8fdb78849a5f96U, 0xde98520472bdd034U}, /* -51 */
    {0xef73d256a5c0f77cU, 0x963e66858f6d4441U}, /* -50 */
    {0x95a8637627989aadU, 0xdde7001379a44aa9U}, /* -49 */
    {0xbb127c53b17ec159U, 0x5560c018580d5d53U}, /* -48 */
    {0xe9d71b689dde71afU, 0xaab8f01e6e10b4a7U}, /* -47 */
    {0x9226712162ab070dU, 0xcab3961304ca70e9U}, /* -46 */
    {0xb6b00d69bb55c8d1U, 0x3d607b97c5fd0d23U}, /* -45 */
    {0xe45c10c42a2b3b05U, 0x8cb89a7db77c506bU}, /* -44 */
    {0x8eb98a7a9a5b04e3U, 0x77f3608e92adb243U}, /* -43 */
    {0xb267ed1940f1c61cU, 0x55f038b237591ed4U}, /* -42 */
    {0xdf01e85f912e37a3U, 0x6b6c46dec52f6689U}, /* -41 */
    {0x8b61313bbabce2c6U, 0x2323ac4b3b3da016U}, /* -40 */
    {0xae397d8aa96c1b77U, 0xabec975e0a0d081bU}, /* -39 */
    {0xd9c7dced53c72255U, 0x96e7bd358c904a22U}, /* -38 */
    {0x881cea14545c7575U, 0x7e50d64177da2e55U}, /* -37 */
    {0xaa242499697392d2U, 0xdde50bd1d5d0b9eaU}, /* -36 */
    {0xd4ad2dbfc3d07787U, 0x955e4ec64b44e865U}, /* -35 */
    {0x84ec3c97da624ab4U, 0xbd5af13bef0b113fU}, /* -34 */
    {0xa6274bbdd0fadd61U, 0xecb1ad8aeacdd58fU}, /* -33 */
    {0xcfb11ead453994baU, 0x67de18eda5814af3U}, /* -32 */
    {0x81ceb32c4b43fcf4U, 0x80eacf948770ced8U}, /* -31 */
    {0xa2425ff75e14fc31U, 0xa1258379a94d028eU}, /* -30 */
    {0xcad2f7f5359a3b3eU, 0x096ee45813a04331U}, /* -29 */
    {0xfd87b5f28300ca0dU, 0x8bca9d6e188853fdU}, /* -28 */
    {0x9e74d1b791e07e48U, 0x775ea264cf55347eU}, /* -27 */
    {0xc612062576589ddaU, 0x95364afe032a819eU}, /* -26 */
    {0xf79687aed3eec551U, 0x3a83ddbd83f52205U}, /* -25 */
    {0x9abe14cd44753b52U, 0xc4926a9672793543U}, /* -24 */
    {0xc16d9a0095928a27U, 0x75b7053c0f178294U}, /* -23 */
    {0xf1c90080baf72cb1U, 0x5324c68b12dd6339U}, /* -22 */
    {0x971da05074da7beeU, 0xd3f6fc16ebca5e04U}, /* -21 */
    {0xbce5086492111aeaU, 0x88f4bb1ca6bcf585U}, /* -20 */
    {0xec1e4a7db69561a5U, 0x2b31e9e3d06c32e6U}, /* -19 */
    {0x9392ee8e921d5d07U, 0x3aff322e62439fd0U}, /* -18 */
    {0xb877aa3236a4b449U, 0x09befeb9fad487c3U}, /* -17 */
    {0xe69594bec44de15bU, 0x4c2ebe687989a9b4U}, /* -16 */
    {0x901d7cf73ab0acd9U, 0x0f9d37014bf60a11U}, /* -15 */
    {0xb424dc35095cd80fU, 0x538484c19ef38c95U}, /* -14 */
    {0xe12e13424bb40e13U, 0x2865a5f206b06fbaU}, /* -13 */
    {0x8cbccc096f5088cbU, 0xf93f87b7442e45d4U}, /* -12 */
    {0xafebff0bcb24aafeU, 0xf78f69a51539d749U}, /* -11 */
    {0xdbe6fecebdedd5beU, 0xb573440e5a884d1cU}, /* -10 */
    {0x89705f4136b4a597U, 0x31680a88f8953031U}, /* -9 */
    {0xabcc77118461cefcU, 0xfdc20d2b36ba7c3eU}, /* -8 */
    {0xd6bf94d5e57a42bcU, 0x3d32907604691b4dU}, /* -7 */
    {0x8637bd05af6c69b5U, 0xa63f9a49c2c1b110U}, /* -6 */
    {0xa7c5ac471b478423U, 0x0fcf80dc33721d54U}, /* -5 */
    {0xd1b71758e219652bU, 0xd3c36113404ea4a9U}, /* -4 */
    {0x83126e978d4fdf3bU, 0x645a1cac083126eaU}, /* -3 */
    {0xa3d70a3d70a3d70aU, 0x3d70a3d70a3d70a4U}, /* -2 */
    {0xccccccccccccccccU, 0xcccccccccccccccdU}, /* -1 */
    {0x8000000000000000U, 0x0000000000000001U}, /* 0 */
    {0xa000000000000000U, 0x0000000000000001U}, /* 1 */
    {0xc800000000000000U, 0x0000000000000001U}, /* 2 */
    {0xfa00000000000000U, 0x0000000000000001U}, /* 3 */
    {0x9c40000000000000U, 0x0000000000000001U}, /* 4 */
    {0xc350000000000000U, 0x0000000000000001U}, /* 5 */
    {0xf424000000000000U, 0x0000000000000001U}, /* 6 */
    {0x9896800000000000U, 0x0000000000000001U}, /* 7 */
    {0xbebc200000000000U, 0x0000000000000001U}, /* 8 */
    {0xee6b280000000000U, 0x0000000000000001U}, /* 9 */
    {0x9502f90000000000U, 0x0000000000000001U}, /* 10 */
    {0xba43b74000000000U, 0x0000000000000001U}, /* 11 */
    {0xe8d4a51000000000U, 0x0000000000000001U}, /* 12 */
    {0x9184e72a00000000U, 0x0000000000000001U}, /* 13 */
    {0xb5e620f480000000U, 0x0000000000000001U}, /* 14 */
    {0xe35fa931a0000000U, 0x0000000000000001U}, /* 15 */
    {0x8e1bc9bf04000000U, 0x0000000000000001U}, /* 16 */
    {0xb1a2bc2ec5000000U, 0x0000000000000001U}, /* 17 */
    {0xde0b6b3a76400000U, 0x0000000000000001U}, /* 18 */
    {0x8ac7230489e80000U, 0x0000000000000001U}, /* 19 */
    {0xad78ebc5ac620000U, 0x0000000000000001U}, /* 20 */
    {0xd8d726b7177a8000U, 0x0000000000000001U}, /* 21 */
    {0x878678326eac9000U, 0x0000000000000001U}, /* 22 */
    {0xa968163f0a57b400U, 0x0000000000000001U}, /* 23 */
    {0xd3c21bcecceda100U, 0x0000000000000001U}, /* 24 */
    {0x84595161401484a0U, 0x0000000000000001U}, /* 25 */
    {0xa56fa5b99019a5c8U, 0x0000000000000001U}, /* 26 */
    {0xcecb8f27f4200f3aU, 0x0000000000000001U}, /* 27 */
    {0x813f3978f8940984U, 0x4000000000000001U}, /* 28 */
    {0xa18f07d736b90be5U, 0x5000000000000001U}, /* 29 */
    {0xc9f2c9cd04674edeU, 0xa400000000000001U}, /* 30 */
    {0xfc6f7c4045812296U, 0x4d00000000000001U}, /* 31 */
    {0x9dc5ada82b70b59dU, 0xf020000000000001U}, /* 32 */
    {0xc5371912364ce305U, 0x6c28000000000001U}, /* 33 */
    {0xf684df56c3e01bc6U, 0xc732000000000001U}, /* 34 */
    {0x9a130b963a6c115cU, 0x3c7f400000000001U}, /* 35 */
    {0xc097ce7bc90715b3U, 0x4b9f100000000001U}, /* 36 */
    {0xf0bdc21abb48db20U, 0x1e86d40000000001U}, /* 37 */
    {0x96769950b50d88f4U, 0x1314448000000001U}, /* 38 */
    {0xbc143fa4e250eb31U, 0x17d955a000000001U}, /* 39 */
    {0xeb194f8e1ae525fdU, 0x5dcfab0800000001U}, /* 40 */
    {0x92efd1b8d0cf37beU, 0x5aa1cae500000001U}, /* 41 */
    {0xb7abc627050305adU, 0xf14a3d9e40000001U}, /* 42 */
    {0xe596b7b0c643c719U, 0x6d9ccd05d0000001U}, /* 43 */
    {0x8f7e32ce7bea5c6fU, 0xe4820023a2000001U}, /* 44 */
    {0xb35dbf821ae4f38bU, 0xdda2802c8a800001U}, /* 45 */
    {0xe0352f62a19e306eU, 0xd50b2037ad200001U}, /* 46 */
    {0x8c213d9da502de45U, 0x4526f422cc340001U}, /* 47 */
    {0xaf298d050e4395d6U, 0x9670b12b7f410001U}, /* 48 */
    {0xdaf3f04651d47b4cU, 0x3c0cdd765f114001U}, /* 49 */
    {0x88d8762bf324cd0fU, 0xa5880a69fb6ac801U}, /* 50 */
    {0xab0e93b6efee0053U, 0x8eea0d047a457a01U}, /* 51 */
    {0xd5d238a4abe98068U, 0x72a4904598d6d881U}, /* 52 */
    {0x85a36366eb71f041U, 0x47a6da2b7f864751U}, /* 53 */
    {0xa70c3c40a64e6c51U, 0x999090b65f67d925U}, /* 54 */
    {0xd0cf4b50cfe20765U, 0xfff4b4e3f741cf6eU}, /* 55 */
    {0x82818f1281ed449fU, 0xbff8f10e7a8921a5U}, /* 56 */
    {0xa321f2d7226895c7U, 0xaff72d52192b6a0eU}, /* 57 */
    {0xcbea6f8ceb02bb39U, 0x9bf4f8a69f764491U}, /* 58 */
    {0xfee50b7025c36a08U, 0x02f236d04753d5b5U}, /* 59 */
    {0x9f4f2726179a2245U, 0x01d762422c946591U}, /* 60 */
    {0xc722f0ef9d80aad6U, 0x424d3ad2b7b97ef6U}, /* 61 */
    {0xf8ebad2b84e0d58bU, 0xd2e0898765a7deb3U}, /* 62 */
    {0x9b934c3b330c8577U, 0x63cc55f49f88eb30U}, /* 63 */
    {0xc2781f49ffcfa6d5U, 0x3cbf6b71c76b25fcU}, /* 64 */
    {0xf316271c7fc3908aU, 0x8bef464e3945ef7bU}, /* 65 */
    {0x97edd871cfda3a56U, 0x97758bf0e3cbb5adU}, /* 66 */
    {0xbde94e8e43d0c8ecU, 0x3d52eeed1cbea318U}, /* 67 */
    {0xed63a231d4c4fb27U, 0x4ca7aaa863ee4bdeU}, /* 68 */
    {0x945e455f24fb1cf8U, 0x8fe8caa93e74ef6bU}, /* 69 */
    {0xb975d6b6ee39e436U, 0xb3e2fd538e122b45U}, /* 70 */
    {0xe7d34c64a9c85d44U, 0x60dbbca87196b617U}, /* 71 */
    {0x90e40fbeea1d3a4aU, 0xbc8955e946fe31ceU}, /* 72 */
    {0xb51d13aea4a488ddU, 0x6babab6398bdbe42U}, /* 73 */
    {0xe264589a4dcdab14U, 0xc696963c7eed2dd2U}, /* 74 */
    {0x8d7eb76070a08aecU, 0xfc1e1de5cf543ca3U}, /* 75 */
    {0xb0de65388cc8ada8U, 0x3b25a55f43294bccU}, /* 76 */
    {0xdd15fe86affad912U, 0x49ef0eb713f39ebfU}, /* 77 */
    {0x8a2dbf142dfcc7abU, 0x6e3569326c784338U}, /* 78 */
    {0xacb92ed9397bf996U, 0x49c2c37f07965405U}, /* 79 */
    {0xd7e77a8f87daf7fbU, 0xdc33745ec97be907U}, /* 80 */
    {0x86f0ac99b4e8dafdU, 0x69a028bb3ded71a4U}, /* 81 */
    {0xa8acd7c0222311bcU, 0xc40832ea0d68ce0dU}, /* 82 */
    {0xd2d80db02aabd62bU, 0xf50a3fa490c30191U}, /* 83 */
    {0x83c7088e1aab65dbU, 0x792667c6da79e0fbU}, /* 84 */
    {0xa4b8cab1a1563f52U, 0x577001b891185939U}, /* 85 */
    {0xcde6fd5e09abcf26U, 0xed4c0226b55e6f87U}, /* 86 */
    {0x80b05e5ac60b6178U, 0x544f8158315b05b5U}, /* 87 */
    {0xa0dc75f1778e39d6U, 0x696361ae3db1c722U}, /* 88 */
    {0xc913936dd571c84cU, 0x03bc3a19cd1e38eaU}, /* 89 */
    {0xfb5878494ace3a5fU, 0x04ab48a04065c724U}, /* 90 */
    {0x9d174b2dcec0e47bU, 0x62eb0d64283f9c77U}, /* 91 */
    {0xc45d1df942711d9aU, 0x3ba5d0bd324f8395U}, /* 92 */
    {0xf5746577930d6500U, 0xca8f44ec7ee3647aU}, /* 93 */
    {0x9968bf6abbe85f20U, 0x7e998b13cf4e1eccU}, /* 94 */
    {0xbfc2ef456ae276e8U, 0x9e3fedd8c321a67fU}, /* 95 */
    {0xefb3ab16c59b14a2U, 0xc5cfe94ef3ea101fU}, /* 96 */
    {0x95d04aee3b80ece5U, 0xbba1f1d158724a13U}, /* 97 */
    {0xbb445da9ca61281fU, 0x2a8a6e45ae8edc98U}, /* 98 */
    {0xea1575143cf97226U, 0xf52d09d71a3293beU}, /* 99 */
    {0x924d692ca61be758U, 0x593c2626705f9c57U}, /* 100 */
    {0xb6e0c377cfa2e12eU, 0x6f8b2fb00c77836dU}, /* 101 */
    {0xe498f455c38b997aU, 0x0b6dfb9c0f956448U}, /* 102 */
    {0x8edf98b59a373fecU, 0x4724bd4189bd5eadU}, /* 103 */
    {0xb2977ee300c50fe7U, 0x58edec91ec2cb658U}, /* 104 */
    {0xdf3d5e9bc0f653e1U, 0x2f2967b66737e3eeU}, /* 105 */
    {0x8b865b215899f46cU, 0xbd79e0d20082ee75U}, /* 106 */
    {0xae67f1e9aec07187U, 0xecd8590680a3aa12U}, /* 107 */
    {0xda01ee641a708de9U, 0xe80e6f4820cc9496U}, /* 108 */
    {0x884134fe908658b2U, 0x3109058d147fdcdeU}, /* 109 */
    {0xaa51823e34a7eedeU, 0xbd4b46f0599fd416U}, /* 110 */
    {0xd4e5e2cdc1d1ea96U, 0x6c9e18ac7007c91bU}, /* 111 */
    {0x850fadc09923329eU, 0x03e2cf6bc604ddb1U}, /* 112 */
    {0xa6539930bf6bff45U, 0x84db8346b786151dU}, /* 113 */
    {0xcfe87f7cef46ff16U, 0xe612641865679a64U}, /* 114 */
    {0x81f14fae158c5f6eU, 0x4fcb7e8f3f60c07fU}, /* 115 */
    {0xa26da3999aef7749U, 0xe3be5e330f38f09eU}, /* 116 */
    {0xcb090c8001ab551cU, 0x5cadf5bfd3072cc6U}, /* 117 */
    {0xfdcb4fa002162a63U, 0x73d9732fc7c8f7f7U}, /* 118 */
    {0x9e9f11c4014dda7eU, 0x2867e7fddcdd9afbU}, /* 119 */
    {0xc646d63501a1511dU, 0xb281e1fd541501b9U}, /* 120 */
    {0xf7d88bc24209a565U, 0x1f225a7ca91a4227U}, /* 121 */
    {0x9ae757596946075fU, 0x3375788de9b06959U}, /* 122 */
    {0xc1a12d2fc3978937U, 0x0052d6b1641c83afU}, /* 123 */
    {0xf209787bb47d6b84U, 0xc0678c5dbd23a49bU}, /* 124 */
    {0x9745eb4d50ce6332U, 0xf840b7ba963646e1U}, /* 125 */
    {0xbd176620a501fbffU, 0xb650e5a93bc3d899U}, /* 126 */
    {0xec5d3fa8ce427affU, 0xa3e51f138ab4cebfU}, /* 127 */
    {0x93ba47c980e98cdfU, 0xc66f336c36b10138U}, /* 128 */
    {0xb8a8d9bbe123f017U, 0xb80b0047445d4185U}, /* 129 */
    {0xe6d3102ad96cec1dU, 0xa60dc059157491e6U}, /* 130 */
    {0x9043ea1ac7e41392U, 0x87c89837ad68db30U}, /* 131 */
    {0xb454e4a179dd1877U, 0x29babe4598c311fcU}, /* 132 */
    {0xe16a1dc9d8545e94U, 0xf4296dd6fef3d67bU}, /* 133 */
    {0x8ce2529e2734bb1dU, 0x1899e4a65f58660dU}, /* 134 */
    {0xb01ae745b101e9e4U, 0x5ec05dcff72e7f90U}, /* 135 */
    {0xdc21a1171d42645dU, 0x76707543f4fa1f74U}, /* 136 */
    {0x899504ae72497ebaU, 0x6a06494a791c53a9U}, /* 137 */
    {0xabfa45da0edbde69U, 0x0487db9d17636893U}, /* 138 */
    {0xd6f8d7509292d603U, 0x45a9d2845d3c42b7U}, /* 139 */
    {0x865b86925b9bc5c2U, 0x0b8a2392ba45a9b3U}, /* 140 */
    {0xa7f26836f282b732U, 0x8e6cac7768d7141fU}, /* 141 */
    {0xd1ef0244af2364ffU, 0x3207d795430cd927U}, /* 142 */
    {0x8335616aed761f1fU, 0x7f44e6bd49e807b9U}, /* 143 */
    {0xa402b9c5a8d3a6e7U, 0x5f16206c9c6209a7U}, /* 144 */
    {0xcd036837130890a1U, 0x36dba887c37a8c10U}, /* 145 */
    {0x802221226be55a64U, 0xc2494954da2c978aU}, /* 146 */
    {0xa02aa96b06deb0fdU, 0xf2db9baa10b7bd6dU}, /* 147 */
    {0xc83553c5c8965d3dU, 0x6f92829494e5acc8U}, /* 148 */
    {0xfa42a8b73abbf48cU, 0xcb772339ba1f17faU}, /* 149 */
    {0x9c69a97284b578d7U, 0xff2a760414536efcU}, /* 150 */
    {0xc38413cf25e2d70dU, 0xfef5138519684abbU}, /* 151 */
    {0xf46518c2ef5b8cd1U, 0x7eb258665fc25d6aU}, /* 152 */
    {0x98bf2f79d5993802U, 0xef2f773ffbd97a62U}, /* 153 */
    {0xbeeefb584aff8603U, 0xaafb550ffacfd8fbU}, /* 154 */
    {0xeeaaba2e5dbf6784U, 0x95ba2a53f983cf39U}, /* 155 */
    {0x952ab45cfa97a0b2U, 0xdd945a747bf26184U}, /* 156 */
    {0xba756174393d88dfU, 0x94f971119aeef9e5U}, /* 157 */
    {0xe912b9d1478ceb17U, 0x7a37cd5601aab85eU}, /* 158 */
    {0x91abb422ccb812eeU, 0xac62e055c10ab33bU}, /* 159 */
    {0xb616a12b7fe617aaU, 0x577b986b314d600aU}, /* 160 */
    {0xe39c49765fdf9d94U, 0xed5a7e85fda0b80cU}, /* 161 */
    {0x8e41ade9fbebc27dU, 0x14588f13be847308U}, /* 162 */
    {0xb1d219647ae6b31cU, 0x596eb2d8ae258fc9U}, /* 163 */
    {0xde469fbd99a05fe3U, 0x6fca5f8ed9aef3bcU}, /* 164 */
    {0x8aec23d680043beeU, 0x25de7bb9480d5855U}, /* 165 */
    {0xada72ccc20054ae9U, 0xaf561aa79a10ae6bU}, /* 166 */
    {0xd910f7ff28069da4U, 0x1b2ba1518094da05U}, /* 167 */
    {0x87aa9aff79042286U, 0x90fb44d2f05d0843U}, /* 168 */
    {0xa99541bf57452b28U, 0x353a1607ac744a54U}, /* 169 */
    {0xd3fa922f2d1675f2U, 0x42889b8997915ce9U}, /* 170 */
    {0x847c9b5d7c2e09b7U, 0x69956135febada12U}, /* 171 */
    {0xa59bc234db398c25U, 0x43fab9837e699096U}, /* 172 */
    {0xcf02b2c21207ef2eU, 0x94f967e45e03f4bcU}, /* 173 */
    {0x8161afb94b44f57dU, 0x1d1be0eebac278f6U}, /* 174 */
    {0xa1ba1ba79e1632dcU, 0x6462d92a69731733U}, /* 175 */
    {0xca28a291859bbf93U, 0x7d7b8f7503cfdcffU}, /* 176 */
    {0xfcb2cb35e702af78U, 0x5cda735244c3d43fU}, /* 177 */
    {0x9defbf01b061adabU, 0x3a0888136afa64a8U}, /* 178 */
    {0xc56baec21c7a1916U, 0x088aaa1845b8fdd1U}, /* 179 */
    {0xf6c69a72a3989f5bU, 0x8aad549e57273d46U}, /* 180 */
    {0x9a3c2087a63f6399U, 0x36ac54e2f678864cU}, /* 181 */
    {0xc0cb28a98fcf3c7fU, 0x84576a1bb416a7deU}, /* 182 */
    {0xf0fdf2d3f3c30b9fU, 0x656d44a2a11c51d6U}, /* 183 */
    {0x969eb7c47859e743U, 0x9f644ae5a4b1b326U}, /* 184 */
    {0xbc4665b596706114U, 0x873d5d9f0dde1fefU}, /* 185 */
    {0xeb57ff22fc0c7959U, 0xa90cb506d155a7ebU}, /* 186 */
    {0x9316ff75dd87cbd8U, 0x09a7f12442d588f3U}, /* 187 */
    {0xb7dcbf5354e9beceU, 0x0c11ed6d538aeb30U}, /* 188 */
    {0xe5d3ef282a242e81U, 0x8f1668c8a86da5fbU}, /* 189 */
    {0x8fa475791a569d10U, 0xf96e017d694487bdU}, /* 190 */
    {0xb38d92d760ec4455U, 0x37c981dcc395a9adU}, /* 191 */
    {0xe070f78d3927556aU, 0x85bbe253f47b1418U}, /* 192 */
    {0x8c469ab843b89562U, 0x93956d7478ccec8fU}, /* 193 */
    {0xaf58416654a6babbU, 0x387ac8d1970027b3U}, /* 194 */
    {0xdb2e51bfe9d0696aU, 0x06997b05fcc0319fU}, /* 195 */
    {0x88fcf317f22241e2U, 0x441fece3bdf81f04U}, /* 196 */
    {0xab3c2fddeeaad25aU, 0xd527e81cad7626c4U}, /* 197 */
    {0xd60b3bd56a5586f1U, 0x8a71e223d8d3b075U}, /* 198 */
    {0x85c7056562757456U, 0xf6872d5667844e4aU}, /* 199 */
    {0xa738c6bebb12d16cU, 0xb428f8ac016561dcU}, /* 200 */
    {0xd106f86e69d785c7U, 0xe13336d701beba53U}, /* 201 */
    {0x82a45b450226b39cU, 0xecc0024661173474U}, /* 202 */
    {0xa34d721642b06084U, 0x27f002d7f95d0191U}, /* 203 */
    {0xcc20ce9bd35c78a5U, 0x31ec038df7b441f5U}, /* 204 */
    {0xff290242c83396ceU, 0x7e67047175a15272U}, /* 205 */
    {0x9f79a169bd203e41U, 0x0f0062c6e984d387U}, /* 206 */
    {0xc75809c42c684dd1U, 0x52c07b78a3e60869U}, /* 207 */
    {0xf92e0c3537826145U, 0xa7709a56ccdf8a83U}, /* 208 */
    {0x9bbcc7a142b17ccbU, 0x88a66076400bb692U}, /* 209 */
    {0xc2abf989935ddbfeU, 0x6acff893d00ea436U}, /* 210 */
    {0xf356f7ebf83552feU, 0x0583f6b8c4124d44U}, /* 211 */
    {0x98165af37b2153deU, 0xc3727a337a8b704bU}, /* 212 */
    {0xbe1bf1b059e9a8d6U, 0x744f18c0592e4c5dU}, /* 213 */
    {0xeda2ee1c7064130cU, 0x1162def06f79df74U}, /* 214 */
    {0x9485d4d1c63e8be7U, 0x8addcb5645ac2ba9U}, /* 215 */
    {0xb9a74a0637ce2ee1U, 0x6d953e2bd7173693U}, /* 216 */
    {0xe8111c87c5c1ba99U, 0xc8fa8db6ccdd0438U}, /* 217 */
    {0x910ab1d4db9914a0U, 0x1d9c9892400a22a3U}, /* 218 */
    {0xb54d5e4a127f59c8U, 0x2503beb6d00cab4cU}, /* 219 */
    {0xe2a0b5dc971f303aU, 0x2e44ae64840fd61eU}, /* 220 */
    {0x8da471a9de737e24U, 0x5ceaecfed289e5d3U}, /* 221 */
    {0xb10d8e1456105dadU, 0x7425a83e872c5f48U}, /* 222 */
    {0xdd50f1996b947518U, 0xd12f124e28f7771aU}, /* 223 */
    {0x8a5296ffe33cc92fU, 0x82bd6b70d99aaa70U}, /* 224 */
    {0xace73cbfdc0bfb7bU, 0x636cc64d1001550cU}, /* 225 */
    {0xd8210befd30efa5aU, 0x3c47f7e05401aa4fU}, /* 226 */
    {0x8714a775e3e95c78U, 0x65acfaec34810a72U}, /* 227 */
    {0xa8d9d1535ce3b396U, 0x7f1839a741a14d0eU}, /* 228 */
    {0xd31045a8341ca07cU, 0x1ede48111209a051U}, /* 229 */
    {0x83ea2b892091e44dU, 0x934aed0aab460433U}, /* 230 */
    {0xa4e4b66b68b65d60U, 0xf81da84d56178540U}, /* 231 */
    {0xce1de40642e3f4b9U, 0x36251260ab9d668fU}, /* 232 */
    {0x80d2ae83e9ce78f3U, 0xc1d72b7c6b42601aU}, /* 233 */
    {0xa1075a24e4421730U, 0xb24cf65b8612f820U}, /* 234 */
    {0xc94930ae1d529cfcU, 0xdee033f26797b628U}, /* 235 */
    {0xfb9b7cd9a4a7443cU, 0x169840ef017da3b2U}, /* 236 */
    {0x9d412e0806e88aa5U, 0x8e1f289560ee864fU}, /* 237 */
    {0xc491798a08a2ad4eU, 0xf1a6f2bab92a27e3U}, /* 238 */
    {0xf5b5d7ec8acb58a2U, 0xae10af696774b1dcU}, /* 239 */
    {0x9991a6f3d6bf1765U, 0xacca6da1e0a8ef2aU}, /* 240 */
    {0xbff610b0cc6edd3fU, 0x17fd090a58d32af4U}, /* 241 */
    {0xeff394dcff8a948eU, 0xddfc4b4cef07f5b1U}, /* 242 */
    {0x95f83d0a1fb69cd9U, 0x4abdaf101564f98fU}, /* 243 */
    {0xbb764c4ca7a4440fU, 0x9d6d1ad41abe37f2U}, /* 244 */
    {0xea53df5fd18d5513U, 0x84c86189216dc5eeU}, /* 245 */
    {0x92746b9be2f8552cU, 0x32fd3cf5b4e49bb5U}, /* 246 */
    {0xb7118682dbb66a77U, 0x3fbc8c33221dc2a2U}, /* 247 */
    {0xe4d5e82392a40515U, 0x0fabaf3feaa5334bU}, /* 248 */
    {0x8f05b1163ba6832dU, 0x29cb4d87f2a7400fU}, /* 249 */
    {0xb2c71d5bca9023f8U, 0x743e20e9ef511013U}, /* 250 */
    {0xdf78e4b2bd342cf6U, 0x914da9246b255417U}, /* 251 */
    {0x8bab8eefb6409c1aU, 0x1ad089b6c2f7548fU}, /* 252 */
    {0xae9672aba3d0c320U, 0xa184ac2473b529b2U}, /* 253 */
    {0xda3c0f568cc4f3e8U, 0xc9e5d72d90a2741fU}, /* 254 */
    {0x8865899617fb1871U, 0x7e2fa67c7a658893U}, /* 255 */
    {0xaa7eebfb9df9de8dU, 0xddbb901b98feeab8U}, /* 256 */
    {0xd51ea6fa85785631U, 0x552a74227f3ea566U}, /* 257 */
    {0x8533285c936b35deU, 0xd53a88958f872760U}, /* 258 */
    {0xa67ff273b8460356U, 0x8a892abaf368f138U}, /* 259 */
    {0xd01fef10a657842cU, 0x2d2b7569b0432d86U}, /* 260 */
    {0x8213f56a67f6b29bU, 0x9c3b29620e29fc74U}, /* 261 */
    {0xa298f2c501f45f42U, 0x8349f3ba91b47b90U}, /* 262 */
    {0xcb3f2f7642717713U, 0x241c70a936219a74U}, /* 263 */
    {0xfe0efb53d30dd4d7U, 0xed238cd383aa0111U}, /* 264 */
    {0x9ec95d1463e8a506U, 0xf4363804324a40abU}, /* 265 */
    {0xc67bb4597ce2ce48U, 0xb143c6053edcd0d6U}, /* 266 */
    {0xf81aa16fdc1b81daU, 0xdd94b7868e94050bU}, /* 267 */
    {0x9b10a4e5e9913128U, 0xca7cf2b4191c8327U}, /* 268 */
    {0xc1d4ce1f63f57d72U, 0xfd1c2f611f63a3f1U}, /* 269 */
    {0xf24a01a73cf2dccfU, 0xbc633b39673c8cedU}, /* 270 */
    {0x976e41088617ca01U, 0xd5be0503e085d814U}, /* 271 */
    {0xbd49d14aa79dbc82U, 0x4b2d8644d8a74e19U}, /* 272 */
    {0xec9c459d51852ba2U, 0xddf8e7d60ed1219fU}, /* 273 */
    {0x93e1ab8252f33b45U, 0xcabb90e5c942b504U}, /* 274 */
    {0xb8da1662e7b00a17U, 0x3d6a751f3b936244U}, /* 275 */
    {0xe7109bfba19c0c9dU, 0x0cc512670a783ad5U}, /* 276 */
    {0x906a617d450187e2U, 0x27fb2b80668b24c6U}, /* 277 */
    {0xb484f9dc9641e9daU, 0xb1f9f660802dedf7U}, /* 278 */
    {0xe1a63853bbd26451U, 0x5e7873f8a0396974U}, /* 279 */
    {0x8d07e33455637eb2U, 0xdb0b487b6423e1e9U}, /* 280 */
    {0xb049dc016abc5e5fU, 0x91ce1a9a3d2cda63U}, /* 281 */
    {0xdc5c5301c56b75f7U, 0x7641a140cc7810fcU}, /* 282 */
    {0x89b9b3e11b6329baU, 0xa9e904c87fcb0a9eU}, /* 283 */
    {0xac2820d9623bf429U, 0x546345fa9fbdcd45U}, /* 284 */
    {0xd732290fbacaf133U, 0xa97c177947ad4096U}, /* 285 */
    {0x867f59a9d4bed6c0U, 0x49ed8eabcccc485eU}, /* 286 */
    {0xa81f301449ee8c70U, 0x5c68f256bfff5a75U}, /* 287 */
    {0xd226fc195c6a2f8cU, 0x73832eec6fff3112U}, /* 288 */
    {0x83585d8fd9c25db7U, 0xc831fd53c5ff7eacU}, /* 289 */
    {0xa42e74f3d032f525U, 0xba3e7ca8b77f5e56U}, /* 290 */
    {0xcd3a1230c43fb26fU, 0x28ce1bd2e55f35ecU}, /* 291 */
    {0x80444b5e7aa7cf85U, 0x7980d163cf5b81b4U}, /* 292 */
    {0xa0555e361951c366U, 0xd7e105bcc3326220U}, /* 293 */
    {0xc86ab5c39fa63440U, 0x8dd9472bf3fefaa8U}, /* 294 */
    {0xfa856334878fc150U, 0xb14f98f6f0feb952U}, /* 295 */
    {0x9c935e00d4b9d8d2U, 0x6ed1bf9a569f33d4U}, /* 296 */
    {0xc3b8358109e84f07U, 0x0a862f80ec4700c9U}, /* 297 */
    {0xf4a642e14c6262c8U, 0xcd27bb612758c0fbU}, /* 298 */
    {0x98e7e9cccfbd7dbdU, 0x8038d51cb897789dU}, /* 299 */
    {0xbf21e44003acdd2cU, 0xe0470a63e6bd56c4U}, /* 300 */
    {0xeeea5d5004981478U, 0x1858ccfce06cac75U}, /* 301 */
    {0x95527a5202df0ccbU, 0x0f37801e0c43ebc9U}, /* 302 */
    {0xbaa718e68396cffdU, 0xd30560258f54e6bbU}, /* 303 */
    {0xe950df20247c83fdU, 0x47c6b82ef32a206aU}, /* 304 */
    {0x91d28b7416cdd27eU, 0x4cdc331d57fa5442U}, /* 305 */
    {0xb6472e511c81471dU, 0xe0133fe4adf8e953U}, /* 306 */
    {0xe3d8f9e563a198e5U, 0x58180fddd97723a7U}, /* 307 */
    {0x8e679c2f5e44ff8fU, 0x570f09eaa7ea7649U}, /* 308 */
    {0xb201833b35d63f73U, 0x2cd2cc6551e513dbU}, /* 309 */
    {0xde81e40a034bcf4fU, 0xf8077f7ea65e58d2U}, /* 310 */
    {0x8b112e86420f6191U, 0xfb04afaf27faf783U}, /* 311 */
    {0xadd57a27d29339f6U, 0x79c5db9af1f9b564U}, /* 312 */
    {0xd94ad8b1c7380874U, 0x18375281ae7822bdU}, /* 313 */
    {0x87cec76f1c830548U, 0x8f2293910d0b15b6U}, /* 314 */
    {0xa9c2794ae3a3c69aU, 0xb2eb3875504ddb23U}, /* 315 */
    {0xd433179d9c8cb841U, 0x5fa60692a46151ecU}, /* 316 */
    {0x849feec281d7f328U, 0xdbc7c41ba6bcd334U}, /* 317 */
    {0xa5c7ea73224deff3U, 0x12b9b522906c0801U}, /* 318 */
    {0xcf39e50feae16befU, 0xd768226b34870a01U}, /* 319 */
    {0x81842f29f2cce375U, 0xe6a1158300d46641U}, /* 320 */
    {0xa1e53af46f801c53U, 0x60495ae3c1097fd1U}, /* 321 */
    {0xca5e89b18b602368U, 0x385bb19cb14bdfc5U}, /* 322 */
    {0xfcf62c1dee382c42U, 0x46729e03dd9ed7b6U}, /* 323 */
    {0x9e19db92b4e31ba9U, 0x6c07a2c26a8346d2U}, /* 324 */
};

/* floor(q · log10 2), |q| <= 1100 (2^32 · log10 2 = 1292913986.49). */
static inline int flog10_pow2(int q) { return (int)(((int64_t)q * 1292913986) >> 32); }

/* floor(log10(3/4 · 2^q)), |q| <= 1100 (2^32 · log10(3/4) = -536607787.74). */
static inline int flog10_34pow2(int q) { return (int)(((int64_t)q * 1292913986 - 536607788) >> 32); }

/* floor(e · log2 10), |e| <= 400 (2^32 · log2 10 = 14267572527.20). */
static inline int flog2_pow10(int e) { return (int)(((int64_t)e * 14267572527) >> 32); }

/*
 * Round to odd of g · cp / 2^128: the integer part, with its lowest bit set
 * when the fraction (bits 2^-1 … 2^-64; the lowest limb of g.lo · cp is
 * deliberately left out, see the essay) is not zero.
 */
static inline uint64_t rop(const uint64_t g[2], uint64_t cp)
{
    dtoa_u128 lo = (dtoa_u128)g[1] * cp;
    dtoa_u128 z = (dtoa_u128)g[0] * cp + (uint64_t)(lo >> 64);
    return (uint64_t)(z >> 64) | ((uint64_t)z != 0);
}

int dtoa_pow10_g(int e, uint64_t g[2])
{
    if (e < POW10_MIN || e > POW10_MAX) return -1;
    g[0] = pow10_g[e - POW10_MIN][0];
    g[1] = pow10_g[e - POW10_MIN][1];
    return 0;
}

int dtoa_flog10_pow2(int q) { return flog10_pow2(q); }
int dtoa_flog10_34pow2(int q) { return flog10_34pow2(q); }
int dtoa_flog2_pow10(int e) { return flog2_pow10(e); }

/* ==== Shortest decimal ============================================================= */

#define C_HIDDEN ((uint64_t)1 << 52)
#define Q_MIN (-1074)

static inline void strip_zeros(uint64_t *m, int *e)
{
    uint64_t x = *m;
    int k = *e;
    while (x % 10000 == 0) {
        x /= 10000;
        k += 4;
    }
    while (x % 10 == 0) {
        x /= 10;
        k++;
    }
    *m = x;
    *e = k;
}

/*
 * Schubfach on c × 2^q, c >= 3. Names: v4, lo4 and hi4 are 4·10^-k times v
 * and the two bounds of R (integer part + sticky bit); `open` is 1 when R
 * excludes its bounds, so "x in R" is lo4 + open <= 4x and 4x + open <= hi4.
 */
static void schubfach(uint64_t c, int q, uint64_t *m, int *e10)
{
    uint64_t open = c & 1; /* odd c: a bound of R ties to the even neighbour */
    uint64_t c4 = c << 2, c4_hi = c4 + 2, c4_lo;
    int k;
    if (c != C_HIDDEN || q == Q_MIN) {
        c4_lo = c4 - 2;
        k = flog10_pow2(q);
    } else {
        c4_lo = c4 - 1; /* the gap below is half the gap above */
        k = flog10_34pow2(q);
    }
    int h = q + flog2_pow10(-k) + 1;
    const uint64_t *g = pow10_g[-k - POW10_MIN];
    uint64_t v4 = rop(g, c4 << h);
    uint64_t lo4 = rop(g, c4_lo << h);
    uint64_t hi4 = rop(g, c4_hi << h);

    uint64_t s = v4 >> 2, r;
    int e = k;
    /* one digit shorter: the multiples of 10 (units of 10^k) on either side of s */
    uint64_t down10 = s / 10 * 10, up10 = down10 + 10;
    int down10_in = lo4 + open <= down10 << 2;
    int up10_in = (up10 << 2) + open <= hi4;
    if (down10_in != up10_in) {
        r = down10_in ? down10 : up10;
    } else {
        int s_in = lo4 + open <= s << 2;
        int s1_in = ((s + 1) << 2) + open <= hi4;
        if (s_in != s1_in) {
            r = s_in ? s : s + 1;
        } else {
            /* both in R: the nearer; v4 - (4s + 2) compares v with s + 1/2 */
            int64_t cmp = (int64_t)(v4 - ((s << 2) + 2));
            r = (cmp < 0 || (cmp == 0 && (s & 1) == 0)) ? s : s + 1;
        }
    }
    strip_zeros(&r, &e);
    *m = r;
    *e10 = e;
}

void dtoa_decimal(double v, uint64_t *m, int *e10)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t t = bits & (C_HIDDEN - 1);
    int bq = (int)(bits >> 52) & 0x7ff;
    *m = 0;
    *e10 = 0;
    if (bq == 0x7ff) return; /* NaN, ±Inf */
    if (bq != 0) {
        uint64_t c = C_HIDDEN | t;
        int q = bq - 1075;
        if (q < 0 && q > -53) { /* an integer below 2^53 is its own shortest form */
            uint64_t f = c >> -q;
            if (f << -q == c) {
                int e = 0;
                strip_zeros(&f, &e);
                *m = f;
                *e10 = e;
                return;
            }
        }
        schubfach(c, q, m, e10);
        return;
    }
    if (t == 0) return; /* ±0 */
    if (t < 3) { /* too few bits for the lemma behind rop(); R is wide: one digit */
        *m = t == 1 ? 5 : 1;
        *e10 = t == 1 ? -324 : -323;
        return;
    }
    schubfach(t, Q_MIN, m, e10);
}

/* ==== Digits ======================================================================= */

static const char pairs[200] = "0001020304050607080910111213141516171819"
                               "2021222324252627282930313233343536373839"
                               "4041424344454647484950515253545556575859"
                               "6061626364656667686970717273747576777879"
                               "8081828384858687888990919293949596979899";

static const uint64_t pow10_u64[20] = {1ULL,
                                       10ULL,
                                       100ULL,
                                       1000ULL,
                                       10000ULL,
                                       100000ULL,
                                       1000000ULL,
                                       10000000ULL,
                                       100000000ULL,
                                       1000000000ULL,
                                       10000000000ULL,
                                       100000000000ULL,
                                       1000000000000ULL,
                                       10000000000000ULL,
                                       100000000000000ULL,
                                       1000000000000000ULL,
                                       10000000000000000ULL,
                                       100000000000000000ULL,
                                       1000000000000000000ULL,
                                       10000000000000000000ULL};

/* Exactly 8 digits of u < 10^8 at o[0..8): two independent 4-digit halves. */
static inline void put8(char *o, uint32_t u)
{
    uint32_t hi = u / 10000, lo = u % 10000;
    memcpy(o, pairs + 2 * (hi / 100), 2);
    memcpy(o + 2, pairs + 2 * (hi % 100), 2);
    memcpy(o + 4, pairs + 2 * (lo / 100), 2);
    memcpy(o + 6, pairs + 2 * (lo % 100), 2);
}

/* The n (1..8) digits of u < 10^n ending at o. */
static inline void put_tail(char *o, uint32_t u, int n)
{
    while (n >= 2) {
        uint32_t d = u % 100;
        u /= 100;
        o -= 2;
        memcpy(o, pairs + 2 * d, 2);
        n -= 2;
    }
    if (n) o[-1] = (char)('0' + u);
}

size_t dtoa_u64(char *dst, uint64_t u)
{
    /* digit count from the bit length: bits · log10 2 rounded up is exact or one too many */
    int bits = 64 - __builtin_clzll(u | 1);
    int n = (bits * 1233 >> 12) + 1;
    if (n > 1 && u < pow10_u64[n - 1]) n--;
    int left = n;
    while (left > 8) { /* whole groups of 8 from the end */
        put8(dst + left - 8, (uint32_t)(u % 100000000));
        u /= 100000000;
        left -= 8;
    }
    put_tail(dst + left, (uint32_t)u, left);
    return (size_t)n;
}

size_t dtoa_digits(double v, char digits[DTOA_MAX_DIGITS + 1], int *e10)
{
    uint64_t m;
    int e;
    dtoa_decimal(v, &m, &e);
    if (m == 0) {
        digits[0] = 0;
        *e10 = 0;
        return 0;
    }
    size_t n = dtoa_u64(digits, m);
    digits[n] = 0;
    *e10 = e + (int)n;
    return n;
}
