// Browser and operating system from a User-Agent header ("Chrome on Android"), for default passkey names and session lists.

import Bowser from 'bowser';

/** What a user agent says about itself, in words a person recognises. Empty strings where it says nothing usable. */
export interface UserAgentDescription {
  /** The browser: `"Chrome"`, `"Safari"`, `"Firefox"`, `"Edge"`, `"Samsung Internet"`, ...; `""` when unknown. */
  browser: string;
  /**
   * Where it runs: the device for Apple's phones and tablets (`"iPhone"`, `"iPad"`), else the operating system
   * (`"Android"`, `"macOS"`, `"Windows"`, `"Linux"`, `"ChromeOS"`, ...); `""` when unknown.
   */
  os: string;
  /** `"<browser> on <os>"`, or whichever of the two is known, or `""`. */
  label: string;
}

/** Longer headers are cut before parsing: no real browser sends more, and the parser's work stays bounded. */
const MAX_USER_AGENT = 512;
/** Each part of a label is at most this long (a parser may echo a product token of the header). */
const MAX_PART = 24;

/** Bowser's names, shortened where the long form is not what people call the browser or the system. */
const BROWSER_NAMES: Readonly<Record<string, string>> = {
  'Microsoft Edge': 'Edge',
  'Samsung Internet for Android': 'Samsung Internet',
  'NAVER Whale Browser': 'Whale',
  'Yandex Browser': 'Yandex',
};
const OS_NAMES: Readonly<Record<string, string>> = {
  'Chrome OS': 'ChromeOS',
};
/**
 * The browsers Bowser knows by name. Anything else is its catch-all, which echoes the header's first product token
 * ("Mozilla", "MyApp"): not a name to show.
 */
const KNOWN_BROWSERS: ReadonlySet<string> = new Set(
  Object.values(Bowser.BROWSER_MAP as Record<string, string>).filter((name) => name !== 'Generic'),
);

const EMPTY: UserAgentDescription = Object.freeze({ browser: '', os: '', label: '' });

/**
 * Describe a `User-Agent` header: `describeUserAgent(req.get('user-agent'))`. Never throws; a missing, empty or
 * unrecognised header gives empty strings. Parsing is by [Bowser](https://github.com/bowser-js/bowser) (MIT).
 */
export function describeUserAgent(userAgent: string | null | undefined): UserAgentDescription {
  if (typeof userAgent !== 'string') return EMPTY;
  const header = userAgent.slice(0, MAX_USER_AGENT).trim();
  if (header === '') return EMPTY;
  let parsed: Bowser.Parser.ParsedResult;
  try {
    parsed = Bowser.parse(header);
  } catch {
    return EMPTY;
  }
  const rawBrowser = parsed.browser.name ?? '';
  const browser = KNOWN_BROWSERS.has(rawBrowser) ? clean(BROWSER_NAMES[rawBrowser] ?? rawBrowser) : '';
  const model = parsed.platform.model ?? '';
  const rawOs = parsed.os.name ?? '';
  // Apple's own devices are what people call them ("Safari on iPhone"); other phones go by their system.
  const os = clean(
    rawOs === 'iOS' && (model === 'iPhone' || model === 'iPad' || model === 'iPod')
      ? model
      : (OS_NAMES[rawOs] ?? rawOs),
  );
  const label = browser && os ? `${browser} on ${os}` : browser || os;
  return { browser, os, label };
}

/** Printable, single-spaced, bounded: a label ends up in HTML (escaped) and in a name field of limited length. */
function clean(value: string): string {
  const text = value
    .replace(/[^\p{L}\p{N} .+\-_()]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  return [...text].slice(0, MAX_PART).join('').trim();
}
