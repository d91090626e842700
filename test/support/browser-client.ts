/**
 * A minimal browser over fetch for HTTP-level flow tests: it keeps cookies per host, follows
 * redirects when asked, and reads forms out of server-rendered pages.
 */
export class BrowserClient {
  private readonly jar = new Map<string, Map<string, string>>();

  /** Sends a request with this browser's cookies and stores the cookies of the response. */
  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers(init.headers);
    const cookies = this.jar.get(target.host);
    if (cookies && cookies.size > 0) {
      headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    }
    let body: string | undefined;
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(target, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.storeCookies(target.host, response);
    return response;
  }

  /** Like request, then follows redirects (as GET) until a non-redirect response, up to 10 hops. */
  async follow(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<{ response: Response; url: string; body: string }> {
    let response = await this.request(url, init);
    let current = url;
    for (let hop = 0; hop < 10 && response.status >= 300 && response.status < 400; hop += 1) {
      const location = response.headers.get('location');
      if (!location) break;
      current = new URL(location, current).href;
      response = await this.request(current);
    }
    return { response, url: current, body: await response.text() };
  }

  /** Returns a cookie value for a host, or undefined. */
  cookie(host: string, name: string): string | undefined {
    return this.jar.get(host)?.get(name);
  }

  /** Sets or replaces a cookie for a host. */
  setCookie(host: string, name: string, value: string): void {
    if (!this.jar.has(host)) this.jar.set(host, new Map());
    this.jar.get(host)!.set(name, value);
  }

  private storeCookies(host: string, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';');
      const separator = pair!.indexOf('=');
      const name = pair!.slice(0, separator).trim();
      const value = pair!.slice(separator + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, attributeValue] = attribute.trim().split('=');
        if (key?.toLowerCase() === 'max-age') return Number(attributeValue) <= 0;
        if (key?.toLowerCase() === 'expires') return new Date(attributeValue ?? '').getTime() <= Date.now();
        return false;
      });
      if (!this.jar.has(host)) this.jar.set(host, new Map());
      if (expired || value === '') this.jar.get(host)!.delete(name);
      else this.jar.get(host)!.set(name, value);
    }
  }
}

/** Returns the action and the named input values of the first form whose action contains `actionPart`. */
export function readForm(html: string, actionPart: string): { action: string; fields: Record<string, string> } {
  const forms = html.match(/<form\b[\s\S]*?<\/form>/g) ?? [];
  for (const form of forms) {
    const action = /action="([^"]*)"/.exec(form)?.[1];
    if (action === undefined || !decodeEntities(action).includes(actionPart)) continue;
    const fields: Record<string, string> = {};
    for (const input of form.match(/<input\b[^>]*>/g) ?? []) {
      const name = /name="([^"]*)"/.exec(input)?.[1];
      if (name) fields[name] = decodeEntities(/value="([^"]*)"/.exec(input)?.[1] ?? '');
    }
    return { action: decodeEntities(action), fields };
  }
  throw new Error(`no form with an action containing ${actionPart}`);
}

function decodeEntities(value: string): string {
  return value.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}
