import { readFileSync } from 'node:fs';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import {
  createLocalJWKSet,
  errors,
  importSPKI,
  importX509,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { RUN_KIND_LIST, RUN_KINDS } from '../shared/kinds';
import type { KernClient } from '../client/kern-client';
import { isWebSocketUpgrade } from './guards';
import { HttpProblem, NotFound } from './http-errors';

/**
 * Who is asking, and what they may do: the server's bearer key, or JWTs verified and authorized as the Python
 * framework's AgentOS does it (`agno/os/middleware/jwt.py`, `agno/os/scopes.py`): the user is the token's `sub`, and
 * scopes such as `agents:read`, `agents:<id>:run`, `workflows:*:run` or `agent_os:admin` say what they may do.
 */

/** How the server verifies JWTs. Unset fields come from the environment, then from the defaults. */
export interface JwtOptions {
  /**
   * PEM public keys (or certificates) for RS*, PS* and ES* tokens, shared secrets for HS* ones; default
   * `JWT_VERIFICATION_KEY`. Tried after the JWKS file's key.
   */
  verificationKeys?: string[];
  /** A JSON Web Key Set file (`{"keys": […]}`), its key chosen by the token's `kid`; default `JWT_JWKS_FILE`. */
  jwksFile?: string;
  /** The one algorithm tokens are signed with; default `JWT_ALGORITHM`, else `RS256`. */
  algorithm?: string;
  /** When set (default `JWT_AUDIENCE`, comma-separated), a token's `aud` must name one of these. */
  audience?: string | string[];
  /** When set (default `JWT_ISSUER`), a token's `iss` must be this. */
  issuer?: string;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds (default 10, as the framework). */
  leewaySeconds?: number;
  /** The cookie a browser may send the token in, when there is no `Authorization` header (default `access_token`). */
  cookieName?: string;
}

/** Who a request comes from, once authenticated. */
export interface Caller {
  /**
   * The user the request acts as and whose runs, sessions and schedules it may see: the token's `sub` under JWT.
   * Undefined for an admin, and on a server with no JWT (a bearer key or none), where `user_id` is the caller's to say.
   */
  owner?: string;
  /** The token's `sub`, also for an admin. */
  userId?: string;
  /** The token's `session_id` claim: runs this caller starts go to that session. */
  sessionId?: string;
  /** The token's scopes; undefined when scopes are not checked (a bearer key, or no auth). */
  scopes?: readonly string[];
  /** When the token expires (epoch ms): a WebSocket it authenticated closes then. */
  expiresAt?: number;
}

/** The scope that grants everything, as the framework names it. */
export const ADMIN_SCOPE = 'agent_os:admin';

/** 401 with the framework's body. */
export class Unauthorized extends HttpProblem {
  constructor(detail: string) {
    super(401, detail);
  }
}

/** 403: authenticated, but without a scope the request needs. */
export class Forbidden extends HttpProblem {
  constructor(detail: string) {
    super(403, detail);
  }
}

/** Verifies tokens; `undefined` from {@link jwtVerifier} when JWT is not configured. */
export interface JwtVerifier {
  verify(token: string): Promise<Caller>;
  readonly cookieName: string;
}

/**
 * The server's JWT verifier, from `options` and the environment (`JWT_VERIFICATION_KEY`, `JWT_JWKS_FILE`,
 * `JWT_ALGORITHM`, `JWT_AUDIENCE`, `JWT_ISSUER`); `undefined` when no key is configured. A key that does not load
 * is an error now, not a 401 on every request.
 */
export async function jwtVerifier(options: JwtOptions = {}): Promise<JwtVerifier | undefined> {
  const env = process.env;
  const secrets = options.verificationKeys ?? (env.JWT_VERIFICATION_KEY ? [env.JWT_VERIFICATION_KEY] : []);
  const jwksFile = options.jwksFile ?? (env.JWT_JWKS_FILE || undefined);
  if (secrets.length === 0 && jwksFile === undefined) return undefined;
  const algorithm = options.algorithm ?? (env.JWT_ALGORITHM || 'RS256');
  const audience =
    options.audience ??
    env.JWT_AUDIENCE?.split(',')
      .map((value) => value.trim())
      .filter(Boolean);
  const issuer = options.issuer ?? (env.JWT_ISSUER || undefined);
  const leeway = options.leewaySeconds ?? 10;

  const keys: Array<Parameters<typeof jwtVerify>[1]> = [];
  if (jwksFile !== undefined) {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(readFileSync(jwksFile, 'utf8')) as JSONWebKeySet;
    } catch (err) {
      throw new Error(`JWT: cannot read the JWKS file ${jwksFile}: ${(err as Error).message}`);
    }
    keys.push(createLocalJWKSet(jwks) as JWTVerifyGetKey);
  }
  for (const secret of secrets) keys.push(await verificationKey(secret, algorithm));

  const checks = {
    algorithms: [algorithm],
    // A token that never expires is a key that cannot be taken back.
    requiredClaims: ['exp'],
    clockTolerance: leeway,
    ...(audience !== undefined && audience.length > 0 ? { audience } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
  };
  return {
    cookieName: options.cookieName ?? 'access_token',
    async verify(token) {
      let failure: unknown;
      for (const key of keys) {
        let payload: JWTPayload;
        try {
          ({ payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], checks));
        } catch (err) {
          // An expired token is expired whatever key is tried next; a key that does not fit may be followed by one that does.
          if (!(err instanceof errors.JWSSignatureVerificationFailed || err instanceof errors.JWKSNoMatchingKey)) {
            throw unauthorized(err, issuer);
          }
          failure = err;
          continue;
        }
        return callerOf(payload);
      }
      throw unauthorized(failure, issuer);
    },
  };
}

async function verificationKey(secret: string, algorithm: string): Promise<Parameters<typeof jwtVerify>[1]> {
  if (algorithm.startsWith('HS')) return new TextEncoder().encode(secret);
  const pem = secret.replace(/\\n/g, '\n');
  try {
    return pem.includes('BEGIN CERTIFICATE') ? await importX509(pem, algorithm) : await importSPKI(pem, algorithm);
  } catch (err) {
    throw new Error(
      `JWT: the verification key is not a PEM public key for ${algorithm} (${(err as Error).message}); ` +
        'for a shared secret, set JWT_ALGORITHM=HS256',
    );
  }
}

/** The framework's 401 detail for a token that does not verify. */
function unauthorized(err: unknown, issuer: string | undefined): Unauthorized {
  if (err instanceof errors.JWTExpired) return new Unauthorized('Token has expired');
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud' && err.reason === 'check_failed') {
    return new Unauthorized('Invalid token audience - token not valid for this AgentOS instance');
  }
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'iss' && err.reason === 'check_failed') {
    return new Unauthorized(`Invalid token: Invalid issuer. Expected: ${issuer}, got: ${String(err.payload.iss)}`);
  }
  if (err instanceof errors.JOSEError) return new Unauthorized(`Invalid token: ${err.message}`);
  return new Unauthorized('Invalid token');
}

function callerOf(payload: JWTPayload): Caller {
  const claimed = payload.scopes;
  const scopes = Array.isArray(claimed)
    ? claimed.filter((scope): scope is string => typeof scope === 'string')
    : typeof claimed === 'string'
      ? [claimed]
      : [];
  const userId = typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
  const sessionId = typeof payload.session_id === 'string' ? payload.session_id : undefined;
  const admin = scopes.includes(ADMIN_SCOPE);
  // Each user sees only their own: a token that names no user could only be let see everyone's.
  if (userId === undefined && !admin) throw new Forbidden('Authenticated request is missing a user identity');
  return {
    scopes,
    expiresAt: (payload.exp ?? 0) * 1000,
    ...(userId !== undefined ? { userId } : {}),
    ...(userId !== undefined && !admin ? { owner: userId } : {}),
    ...(sessionId !== undefined ? { sessionId } : {}),
  };
}

/**
 * True when the caller's scopes grant `action` on `family` (`agents`, `sessions`, …), for the component `id` when
 * given: `agent_os:admin`; `family:action`; `family:*:action`; or, for an id, `family:<id>:action`. A caller whose
 * scopes are not checked (bearer key, no auth) may do everything.
 */
export function allows(caller: Caller, family: string, action: string, id?: string): boolean {
  if (caller.scopes === undefined || caller.scopes.includes(ADMIN_SCOPE)) return true;
  return caller.scopes.some((scope) => {
    const parts = scope.split(':');
    const scopeFamily = parts[0] === 'system' ? 'config' : parts[0];
    if (scopeFamily !== family) return false;
    if (parts.length === 2) return parts[1] === action;
    return parts.length === 3 && parts[2] === action && (parts[1] === '*' || (id !== undefined && parts[1] === id));
  });
}

/** What a route needs: scopes (all of them), or `list` for the component lists, which are filtered by `read`. */
type Need = Array<{ family: string; action: string; id?: string }> | 'list';

const ID = '([^/]+)';
const KIND_ROUTES = RUN_KIND_LIST.map((kind) => RUN_KINDS[kind].route).join('|');

/** Every route the server serves, and what it needs: a route missing here needs `agent_os:admin` (fail closed). */
const ROUTE_NEEDS: Array<[method: string, path: RegExp, need: (match: RegExpExecArray) => Need]> = [
  ['GET', /^\/config$/, () => [{ family: 'config', action: 'read' }]],
  ['GET', new RegExp(`^/(${KIND_ROUTES})$`), () => 'list'],
  ['GET', new RegExp(`^/(${KIND_ROUTES})/${ID}$`), ([, family, id]) => [{ family: family!, action: 'read', id: id! }]],
  ['POST', new RegExp(`^/(${KIND_ROUTES})/${ID}/runs$`), ([, family, id]) => [{ family: family!, action: 'run', id }]],
  // Reading runs needs `read` and `run`, as on the framework's server.
  [
    'GET',
    new RegExp(`^/(${KIND_ROUTES})/${ID}/runs(/${ID}(/events|/checkpoints(/${ID})?)?)?$`),
    ([, family, id]) => [
      { family: family!, action: 'read', id: id! },
      { family: family!, action: 'run', id: id! },
    ],
  ],
  [
    'POST',
    new RegExp(`^/(${KIND_ROUTES})/${ID}/runs/${ID}/(cancel|continue|resume)$`),
    ([, family, id]) => [{ family: family!, action: 'run', id: id! }],
  ],
  // A session's fork makes a session from the agent's runs there: the framework asks for the agent's `run`.
  [
    'POST',
    new RegExp(`^/(agents)/${ID}/sessions/${ID}/fork$`),
    ([, family, id]) => [{ family: family!, action: 'run', id: id! }],
  ],
  ['GET', /^\/sessions(\/[^/]+(\/runs(\/[^/]+)?|\/run-previews)?)?$/, () => [{ family: 'sessions', action: 'read' }]],
  ['DELETE', /^\/sessions(\/[^/]+)?$/, () => [{ family: 'sessions', action: 'delete' }]],
  ['POST', /^\/sessions(\/[^/]+\/rename)?$/, () => [{ family: 'sessions', action: 'write' }]],
  ['PATCH', /^\/sessions\/[^/]+$/, () => [{ family: 'sessions', action: 'write' }]],
  ['GET', /^\/schedules(\/[^/]+(\/runs(\/[^/]+)?)?)?$/, () => [{ family: 'schedules', action: 'read' }]],
  ['POST', /^\/schedules(\/[^/]+\/(enable|disable|trigger))?$/, () => [{ family: 'schedules', action: 'write' }]],
  ['PATCH', /^\/schedules\/[^/]+$/, () => [{ family: 'schedules', action: 'write' }]],
  ['DELETE', /^\/schedules\/[^/]+$/, () => [{ family: 'schedules', action: 'delete' }]],
  ['GET', /^\/approvals(\/[^/]+(\/status)?)?$/, () => [{ family: 'approvals', action: 'read' }]],
  ['POST', /^\/approvals\/[^/]+\/resolve$/, () => [{ family: 'approvals', action: 'write' }]],
  ['DELETE', /^\/approvals\/[^/]+$/, () => [{ family: 'approvals', action: 'delete' }]],
  // Any authenticated caller reaches the MCP server; each of its tools calls a route above, which checks its scopes.
  ...['GET', 'POST', 'DELETE'].map((method): (typeof ROUTE_NEEDS)[number] => [method, /^\/mcp\/?$/, () => []]),
];

/** What `method path` needs of the caller's scopes. */
function needOf(method: string, path: string): Need {
  for (const [routeMethod, pattern, need] of ROUTE_NEEDS) {
    const match = routeMethod === method ? pattern.exec(path) : null;
    if (match) return need(match.map((part) => (part === undefined ? part : decoded(part))) as never);
  }
  return [{ family: 'agent_os', action: 'admin' }];
}

function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The framework's 403 for a missing scope. */
export function missingScope(needed: ReadonlyArray<{ family: string; action: string }>): Forbidden {
  return new Forbidden(
    `Insufficient permissions. Required scope(s): ${needed.map((n) => `${n.family}:${n.action}`).join(', ')}`,
  );
}

/** Paths open to everyone: what the server is, and whether it is up and ready. The WebSocket upgrade authenticates by message. */
const OPEN_PATHS = new Set(['/', '/health', '/ready']);

/**
 * The middleware that says who is asking ({@link callerIn}) and refuses what they may not do: with JWT, a verified
 * token from the `Authorization` header (or the cookie) and the scopes its route needs; with a bearer key, that key;
 * with neither, everyone may do everything (the server then listens on loopback only, unless told otherwise).
 */
export function authenticate(
  verifier: JwtVerifier | undefined,
  checkKey: ((token: string) => boolean) | undefined,
): MiddlewareHandler {
  return async (c, next) => {
    // The path within this app, also when another app mounts it under a prefix (`app.route('/kern', server.app)`).
    const prefix = c.req.routePath.endsWith('/*') ? c.req.routePath.slice(0, -2) : '';
    const path = c.req.path.slice(prefix.length) || '/';
    const open = path === '/workflows/ws' ? isWebSocketUpgrade(c) : OPEN_PATHS.has(path);
    if (open || c.req.method === 'OPTIONS') {
      c.set(CALLER as never, {} as never);
      return next();
    }
    const header = c.req.header('authorization');
    if (verifier) {
      const token =
        (header ? (/^Bearer\s+(.+)$/i.exec(header)?.[1] ?? header).trim() : undefined) ||
        getCookie(c, verifier.cookieName);
      if (!token) throw new Unauthorized('Authorization header missing');
      const caller = await verifier.verify(token);
      const need = needOf(c.req.method, path);
      if (need !== 'list') {
        if (!need.every(({ family, action, id }) => allows(caller, family, action, id))) throw missingScope(need);
      }
      c.set(CALLER as never, caller as never);
      return next();
    }
    if (checkKey) {
      if (!header) throw new Unauthorized('Authorization header required');
      const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
      if (!token || !checkKey(token)) throw new Unauthorized('Invalid authentication token');
    }
    c.set(CALLER as never, {} as never);
    return next();
  };
}

const CALLER = 'kernCaller';

/** The caller of a request that passed {@link authenticate}. */
export function callerIn(c: Context): Caller {
  return (c.get(CALLER as never) as Caller | undefined) ?? {};
}

/** True when the caller may see this run, session or schedule: always, unless the caller is bound to a user. */
export function ownedBy(caller: Caller, owned: { userId?: string } | null | undefined): boolean {
  return caller.owner === undefined || (owned?.userId !== undefined && owned.userId === caller.owner);
}

/**
 * The user and session a run the caller starts belongs to: under JWT the token's (`sub`, and the `session_id` claim
 * when there is one), whatever the request says, as on the framework's server; otherwise what the request says.
 */
export function startedAs(
  caller: Caller,
  requested: { userId?: string | undefined; sessionId?: string | undefined },
): { userId?: string; sessionId?: string } {
  const userId = caller.owner ?? requested.userId;
  const sessionId = caller.sessionId ?? requested.sessionId;
  return { ...(userId !== undefined ? { userId } : {}), ...(sessionId !== undefined ? { sessionId } : {}) };
}

/** Refuses a run into another user's session, with the framework's 404 (which says nothing of the session). */
export async function refuseOthersSession(
  client: KernClient,
  caller: Caller,
  sessionId: string | undefined,
): Promise<void> {
  if (caller.owner === undefined || sessionId === undefined) return;
  const session = await client.getSessionInfo(sessionId);
  if (session && !ownedBy(caller, session)) throw new NotFound('Session not found');
}
