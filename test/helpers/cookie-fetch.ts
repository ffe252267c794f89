/**
 * A `fetch` with a cookie jar, for driving a server the way a browser would from Node (whose fetch keeps no cookies).
 *
 * Every response's `Set-Cookie` lines are stored as name=value (an expired or Max-Age<=0 cookie is dropped) and the
 * jar goes back as one `Cookie` header on every request. Redirects are followed by hand, as a browser does (303, and
 * 301/302 after a POST, turn into a GET without a body), so the cookies set on each hop are kept; every hop is
 * recorded in `redirects`. The jar is for one host only: domain and path are not checked.
 */

export interface CookieFetch {
  /** Pass as `fetchApi` (Ory's SDK) or call directly. */
  fetch: typeof fetch;
  /** name → value of the cookies held. */
  cookies: Map<string, string>;
  /** Every redirect followed: status and the absolute Location. */
  redirects: { status: number; location: string }[];
  /** Every request sent: method, URL and whether it carried a Cookie header. */
  requests: { method: string; url: string; cookie: boolean }[];
}

const MAX_REDIRECTS = 10;

export function cookieFetch(): CookieFetch {
  const cookies = new Map<string, string>();
  const redirects: CookieFetch['redirects'] = [];
  const requests: CookieFetch['requests'] = [];

  const store = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key = '', raw = ''] = attribute.split('=').map((s) => s.trim());
        if (key.toLowerCase() === 'max-age') return Number(raw) <= 0;
        if (key.toLowerCase() === 'expires') return Date.parse(raw) <= Date.now();
        return false;
      });
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
  };

  const jarFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url = input instanceof Request ? input.url : String(input);
    let method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    let body = init.body;
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    for (let hop = 0; ; hop++) {
      if (cookies.size > 0) {
        headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
      } else {
        headers.delete('cookie');
      }
      requests.push({ method, url, cookie: headers.has('cookie') });
      const { credentials: _ignored, ...rest } = init;
      const response = await fetch(url, { ...rest, method, headers, body, redirect: 'manual' });
      store(response);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location || init.redirect === 'manual') return response;
      if (hop >= MAX_REDIRECTS) throw new TypeError(`too many redirects from ${url}`);
      url = new URL(location, url).href;
      redirects.push({ status: response.status, location: url });
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
      }
    }
  };

  return { fetch: jarFetch as typeof fetch, cookies, redirects, requests };
}
