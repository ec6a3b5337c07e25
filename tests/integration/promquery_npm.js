// Drives cairn with the npm prometheus-query client (3.5.1), a third-party
// parser of the Prometheus API envelopes: instant and range queries, series,
// label names and values, in GET mode and in POST mode (preferPost, which
// sends form bodies and an empty-bodied POST /api/v1/labels).
// Usage: node promquery_npm.js URL T0 (T0 = first sample, unix seconds).
'use strict';
const { PrometheusDriver } = require('prometheus-query');

const [url, t0s] = process.argv.slice(2);
const T0 = Number(t0s);
let fails = 0;
function check(name, cond, detail) {
  if (!cond) {
    fails++;
    console.error(`FAIL ${name}: ${JSON.stringify(detail)}`);
  }
}

async function run(preferPost) {
  const tag = preferPost ? 'POST' : 'GET';
  const prom = new PrometheusDriver({ endpoint: url, baseURL: '/api/v1', preferPost });
  // instant: a vector of two series at T0 + 300 s
  const inst = await prom.instantQuery('cairn_test_total', new Date((T0 + 300) * 1000));
  check(`${tag} instant type`, inst.resultType === 'vector', inst.resultType);
  const byCode = {};
  for (const s of inst.result) byCode[s.metric.labels.code] = s.value.value;
  check(`${tag} instant values`, byCode['200'] === 300 && byCode['500'] === 60, byCode);
  check(`${tag} instant time`, inst.result[0].value.time.getTime() === (T0 + 300) * 1000, inst.result[0].value.time);
  // scalar
  const sc = await prom.instantQuery('1+1', new Date(4000));
  // this client hands scalars through as the raw [time, "value"] pair
  check(`${tag} scalar`, sc.resultType === 'scalar' && sc.result[0] === 4 && sc.result[1] === '2', sc.result);
  // range: 11 points 30 s apart
  const rng = await prom.rangeQuery('sum(rate(cairn_test_total[1m]))', new Date((T0 + 60) * 1000),
                                    new Date((T0 + 360) * 1000), 30);
  check(`${tag} range type`, rng.resultType === 'matrix' && rng.result.length === 1, rng.resultType);
  const vals = rng.result[0].values;
  check(`${tag} range points`, vals.length === 11, vals.length);
  check(`${tag} range step`, vals.every((v, i) => v.time.getTime() === (T0 + 60 + 30 * i) * 1000), vals.map(v => v.time));
  // counters grow 15 and 3 per 15 s: 1.2/s together once the window is inside the data
  check(`${tag} range rate`, vals.slice(1).every(v => Math.abs(v.value - 1.2) < 1e-9), vals.map(v => v.value));
  // series, labels, values
  const ser = await prom.series('cairn_test_total', new Date(T0 * 1000), new Date((T0 + 600) * 1000));
  check(`${tag} series`, ser.length === 2 && ser.every(s => s.name === 'cairn_test_total'), ser);
  const names = await prom.labelNames();
  check(`${tag} labels`, JSON.stringify(names) === JSON.stringify(['__name__', 'code', 'job']), names);
  const codes = await prom.labelValues('code');
  check(`${tag} label values`, JSON.stringify(codes) === JSON.stringify(['200', '500']), codes);
  // an error comes back as the client's error object with errorType
  try {
    await prom.rangeQuery('up', new Date(10000), new Date(5000), 15);
    check(`${tag} error thrown`, false, 'no error');
  } catch (e) {
    check(`${tag} error type`, e.httpStatus === 400 && e.prometheus && e.prometheus.errorType === 'bad_data' &&
                                  /before start/.test(e.error), e);
  }
}

(async () => {
  await run(false);
  await run(true);
  if (fails) process.exit(1);
  console.log('promquery_npm: ok');
})().catch(e => { console.error(e); process.exit(1); });
