// maskUrl (what every message, status and `config show` print of a URL) and the loopback rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackHost, maskUrl } from '../src/urls.js';

test('maskUrl keeps scheme, host and port; hides userinfo, path and query; drops the fragment', () => {
  const cases: [string, string][] = [
    ['https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX', 'https://hooks.slack.com/(hidden)'],
    ['https://user:pass@hooks.example.com:8443/hook?token=abc#frag', 'https://(hidden)@hooks.example.com:8443/(hidden)?(hidden)'],
    ['https://tokenonly@hooks.example.com/', 'https://(hidden)@hooks.example.com/'],
    ['https://hooks.example.com?token=abc', 'https://hooks.example.com/?(hidden)'],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080/'],
    ['http://[::1]:9/x', 'http://[::1]:9/(hidden)'],
    ['smtp://alerts%40example.com:p%40ss@mail.example.com:587', 'smtp://(hidden)@mail.example.com:587'],
    ['smtps://mail.example.com', 'smtps://mail.example.com'],
  ];
  for (const [url, shown] of cases) {
    assert.equal(maskUrl(url), shown, url);
    assert.equal(maskUrl(new URL(url)), shown, url);
  }
  // Not a URL: nothing of it is echoed.
  assert.equal(maskUrl('hooks.slack.com/services/T0/B0/secret'), '(hidden)');
});

test('a masked URL still parses to the same scheme, host and port', () => {
  for (const url of ['https://u:p@hooks.example.com:8443/a/b?c=d', 'smtp://u:p@[::1]:25', 'http://localhost/x?y']) {
    const a = new URL(url);
    const b = new URL(maskUrl(url));
    assert.deepEqual([b.protocol, b.hostname, b.port], [a.protocol, a.hostname, a.port]);
  }
});

test('the URL parser cannot be fooled into showing another host than the one requested', () => {
  // WHATWG treats \ as / in http URLs: the request goes to evil.example, and so says the mask.
  assert.equal(maskUrl('https://evil.example\\@good.example/'), 'https://evil.example/(hidden)');
});

test('loopback: localhost, 127.0.0.0/8 and ::1, as the URL parser writes them; nothing else', () => {
  const host = (url: string): string => new URL(url).hostname;
  for (const url of ['http://localhost/', 'http://LOCALHOST/', 'http://127.0.0.1/', 'http://127.1/', 'http://127.255.0.9/', 'http://[::1]/', 'http://[0:0:0:0:0:0:0:1]/', 'smtp://[::1]:25']) {
    assert.equal(isLoopbackHost(host(url)), true, url);
  }
  for (const url of ['http://localhost.example.com/', 'http://128.0.0.1/', 'http://10.0.0.1/', 'http://[::2]/', 'http://[fd00::1]/', 'http://0.0.0.0/', 'http://127.0.0.1.nip.io/']) {
    assert.equal(isLoopbackHost(host(url)), false, url);
  }
});
