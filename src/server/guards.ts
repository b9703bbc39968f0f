import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';

/**
 * Defences of the server as a whole: where it may listen without authentication, and the requests a web page
 * elsewhere sends on a user's behalf.
 */

/** True for an address only this machine reaches: `localhost`, `127.0.0.0/8`, `::1`. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '::ffff:127.0.0.1';
}

const SAFE_METHOD = /^(GET|HEAD|OPTIONS)$/;

/** True for a request that asks to become a WebSocket. */
export function isWebSocketUpgrade(c: Context): boolean {
  return c.req.header('upgrade')?.toLowerCase() === 'websocket';
}

/**
 * Refuses a request a browser sends from another site: a form post, a `fetch` or a WebSocket a page elsewhere opens
 * (CORS does not stop a form post, nor a WebSocket, from reaching the server). Browsers say where a request comes from
 * in `Origin` and `Sec-Fetch-Site`; programs (curl, the framework's client, kern's examples) send neither and pass.
 * Allowed: no such header, the server's own origin, or one of `origins` (those CORS allows).
 *
 * Hono's `csrf` middleware is not used: it also refuses a form post that carries neither header, which is how the
 * framework's own client posts its runs.
 */
export function refuseCrossSite(origins: readonly string[], loopbackNamesOnly: () => boolean): MiddlewareHandler {
  return async (c, next) => {
    // DNS rebinding: a page elsewhere whose name now points at 127.0.0.1 sends its own name as `Host` (and `Origin`),
    // so its requests look same-origin. A server on loopback with no authentication answers only to loopback names
    // (with authentication, such a page has no credentials to send).
    const host = hostOf(c.req.header('host'));
    if (loopbackNamesOnly() && host !== undefined && !isLoopback(host)) {
      return c.json(
        {
          detail: `Host '${host}' refused: this server listens on loopback and answers to localhost or 127.0.0.1 only`,
        },
        403,
      );
    }
    if (SAFE_METHOD.test(c.req.method) && !isWebSocketUpgrade(c)) return next();
    const origin = c.req.header('origin');
    const site = c.req.header('sec-fetch-site');
    const allowed =
      origin === undefined
        ? site === undefined || site === 'same-origin' || site === 'none'
        : origin === new URL(c.req.url).origin || origins.includes(origin);
    if (allowed) return next();
    return c.json(
      {
        detail:
          `Cross-origin request refused: ${origin ?? 'a page on another site'} is not an allowed origin ` +
          '(the server allows the origins in KERN_CORS_ORIGINS)',
      },
      403,
    );
  };
}

/** The host name of a `Host` header (`name:port`, `[::1]:port`), or undefined when there is none. */
function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(header);
  return bracketed ? bracketed[1] : header.replace(/:\d+$/, '');
}
