// describeUserAgent: browser and system from real User-Agent headers, in the words used for default passkey names.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeUserAgent } from '../src/user-agent.js';

/** Real headers (as the browsers send them, with Chrome's reduced user agent where it applies) and their labels. */
const REAL: [string, string][] = [
  // Android
  [
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    'Chrome on Android',
  ],
  [
    'Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
    'Samsung Internet on Android',
  ],
  ['Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0', 'Firefox on Android'],
  [
    'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64',
    'Edge on Android',
  ],
  [
    'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36',
    'Chrome on Android',
  ],
  // iPhone, iPad
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Safari on iPhone',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
    'Chrome on iPhone',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15',
    'Firefox on iPhone',
  ],
  [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/124.0.2478.89 Version/17.0 Mobile/15E148 Safari/604.1',
    'Edge on iPhone',
  ],
  [
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'Safari on iPad',
  ],
  // macOS (an iPad asking for the desktop site says Macintosh too: it is named as a Mac)
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'Safari on macOS',
  ],
  [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Chrome on macOS',
  ],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox on macOS'],
  // Windows
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox on Windows'],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Chrome on Windows',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
    'Edge on Windows',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0',
    'Opera on Windows',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Vivaldi/6.7.3329.21',
    'Vivaldi on Windows',
  ],
  [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 YaBrowser/24.4.0.0 Safari/537.36',
    'Yandex on Windows',
  ],
  // Linux, ChromeOS (headless Chromium, as in this project's browser tests, is Chrome)
  [
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Chrome on Linux',
  ],
  [
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
    'Chrome on Linux',
  ],
  ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 'Firefox on Linux'],
  [
    'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'Chrome on ChromeOS',
  ],
];

describe('describeUserAgent', () => {
  for (const [header, label] of REAL) {
    it(`${label} ← ${header.slice(0, 60)}…`, () => {
      const described = describeUserAgent(header);
      assert.equal(described.label, label);
      assert.equal(`${described.browser} on ${described.os}`, label);
    });
  }

  it('gives two different labels to browsers a person tells apart', () => {
    const labels = REAL.map(([header]) => describeUserAgent(header).label);
    assert.ok(new Set(labels).size >= 18, `only ${new Set(labels).size} distinct labels`);
  });

  it('returns empty strings for nothing usable, and never throws', () => {
    const empty = { browser: '', os: '', label: '' };
    for (const header of [undefined, null, '', '   ', 'curl/8.4.0', 'okhttp/4.12.0', '-', '\u0000\u0001']) {
      assert.deepEqual(describeUserAgent(header), empty, JSON.stringify(header));
    }
    assert.deepEqual(describeUserAgent(42 as unknown as string), empty);
  });

  it('names the system alone when the browser is not known', () => {
    // A native app's header: its product token is not a browser name (the parser's catch-all would echo it).
    assert.deepEqual(describeUserAgent('MyApp/3.2 (iPhone; iOS 17.4; Scale/3.00)'), {
      browser: '',
      os: 'iPhone',
      label: 'iPhone',
    });
    assert.equal(describeUserAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64)').label, 'Windows');
  });

  it('bounds what it reads and what it returns (a header is attacker-chosen)', () => {
    const huge = `Mozilla/5.0 (Windows NT 10.0; Win64; x64) ${'A'.repeat(100_000)} Chrome/124.0.0.0 Safari/537.36`;
    const t0 = performance.now();
    const described = describeUserAgent(huge);
    assert.ok(performance.now() - t0 < 1000, 'a 100 kB header is cut, not parsed whole');
    assert.ok(described.label.length <= 2 * 24 + 4);
    const odd = describeUserAgent('Mozilla/5.0 (Windows NT 10.0) <script>alert(1)</script>/1.0');
    for (const part of [odd.browser, odd.os, odd.label]) assert.doesNotMatch(part, /[<>"'&]/);
  });
});
