// metrics.listen and metrics.textfile values: IP literals only, ports in range, .prom files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listenAddress, parseListen, promFileOrEmpty } from '../../src/config/values.js';

test('listen addresses: HOST:PORT, [V6]:PORT, PORT alone means loopback; names and bad ports refused', () => {
  assert.deepEqual(parseListen('127.0.0.1:9847'), { host: '127.0.0.1', port: 9847 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('9847'), { host: '127.0.0.1', port: 9847 });
  for (const bad of ['localhost:9847', '127.0.0.1:65536', '::1:9847', '[127.0.0.1]:1', '10.0.0.256:1', ':9847', '127.0.0.1:', 'http://127.0.0.1:9847']) {
    assert.equal(parseListen(bad), null, bad);
    assert.equal(listenAddress.parse(bad).ok, false, bad);
  }
  assert.equal(listenAddress.parse('').ok, true);
  assert.equal(promFileOrEmpty.parse('/var/lib/prometheus/node-exporter/pkgwatch.prom').ok, true);
  assert.deepEqual(promFileOrEmpty.parse('/tmp/pkgwatch.txt'), { ok: false, problem: "'/tmp/pkgwatch.txt': node_exporter's textfile collector reads only files ending in .prom" });
});
