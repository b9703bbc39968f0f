import { jsonBytes, truncateText, truncateToJsonBytes } from './limits';
import type { Message } from './run-output';
import type { RunKind } from './specs';

/**
 * Sessions, with Temporal as the only store. Every session is one entity workflow (`kernSession`, workflow id
 * `kern-session-<sessionId>`), started by the client beside the session's first run. It holds the session's state and
 * the turns its runs remember; the runs themselves are listed from Temporal visibility (`KernSessionId`).
 *
 * - A run reads its session (earlier turns, state) with a query when it starts, which costs the session nothing. Only
 *   runs that may use it read: a run given a session id whose component keeps history or has tools, or that was
 *   given `sessionState`.
 * - A run that completes writes to it with an update, and only when it has something to write: its turn (when its
 *   component keeps history) or its changes to the state. The update returns once the session has applied it, and
 *   the run completes after that, so a run that was seen to finish is in the next run's history: no
 *   eventual-consistency gap.
 */

/** What a session's workflow id starts with; the rest is the session id. */
export const SESSION_WORKFLOW_ID_PREFIX = 'kern-session-';

/** The Temporal workflow id of a session's entity workflow. */
export function workflowIdForSession(sessionId: string): string {
  return `${SESSION_WORKFLOW_ID_PREFIX}${sessionId}`;
}

/** The most earlier runs a run may put before its input (`numHistoryRuns`). */
export const MAX_HISTORY_RUNS = 20;

/** How many completed runs a session keeps for history; older ones drop out. */
export const SESSION_TURNS_KEPT = 50;

/** The most characters of a remembered run's input, and of its answer, that go into a later run's context. */
export const MAX_TURN_CHARS = 8_000;

/**
 * The most a remembered run's input, and its answer, weigh in the session as JSON (8,000 characters of CJK text are
 * 24 KB; of control characters, 48 KB, and are cut to 4,000).
 */
export const MAX_TURN_TEXT_BYTES = 24 * 1024;

/**
 * The most a session's turns weigh together as JSON; the oldest go first past it. With the state's 256 KB, what a
 * session carries across continue-as-new stays far below Temporal's 2 MB payload limit, whatever the text.
 */
export const MAX_SESSION_TURNS_BYTES = 1024 * 1024;

/** How many of the latest writes' run ids a session remembers, to take each run's write once (see `CloseSessionRequest`). */
export const SESSION_WRITES_REMEMBERED = 200;

/** The largest session state, as JSON, in bytes. It travels in every tool call's input and the session's history. */
export const MAX_SESSION_STATE_BYTES = 256 * 1024;

/** A session's state: a JSON object kept between runs, handed to tools as `context.sessionState`. */
export type SessionState = Record<string, unknown>;

/** One completed run as the session remembers it: what was asked and what was answered. */
export interface SessionTurn {
  runId: string;
  kind: RunKind;
  componentId: string;
  input: string;
  content: string;
  createdAt: string;
}

/**
 * What a run changed in the session state, key by key: keys set (to their new values) and keys deleted. Concurrent
 * runs' changes merge key by key; for a key two runs changed, the run that completes last wins.
 */
export interface SessionStateChanges {
  set: SessionState;
  unset: string[];
}

/** The format of {@link SessionSnapshot} that this kern writes and reads. */
export const SESSION_FORMAT_VERSION = 1;

/** What a session holds: its workflow's input, carried across continue-as-new. */
export interface SessionSnapshot {
  version: number;
  sessionId: string;
  userId?: string;
  createdAt: string;
  updatedAt: string;
  sessionState: SessionState;
  /** Completed runs that keep history, oldest first, at most {@link SESSION_TURNS_KEPT} and {@link MAX_SESSION_TURNS_BYTES}. */
  turns: SessionTurn[];
  /**
   * The run ids of the latest writes, oldest first, at most {@link SESSION_WRITES_REMEMBERED}: a write retried after
   * it landed (its activity timed out, its worker died) changes nothing. Absent in sessions written before it.
   */
  writtenBy?: string[];
}

/** A run reading its session when it starts: whose earlier turns it wants, and how many. */
export interface SessionContextRequest {
  kind: RunKind;
  componentId: string;
  /** The earlier runs of this component to return, the newest this many, oldest first (0: none). */
  numHistoryRuns: number;
}

/** What a run reads from its session when it starts. */
export interface SessionContext {
  turns: SessionTurn[];
  sessionState: SessionState;
}

/** What a session says of itself (the `session` query): everything but its turns. */
export type SessionSummary = Omit<SessionSnapshot, 'turns' | 'version'>;

/** A completed run writing to its session: its turn (when its component keeps history) and its state changes. */
export interface CloseSessionRequest {
  runId: string;
  turn?: SessionTurn;
  /** A regenerate's: the turn of the run it regenerated, which its own turn replaces in the session's history. */
  replacesRunId?: string;
  changes?: SessionStateChanges;
  userId?: string;
  at: string;
}

/**
 * A change to a session from outside its runs (`KernClient.updateSession`, the framework's rename and `PATCH`): its
 * name and metadata (kept in its memo, so listings show them with no worker) and its state, replaced whole.
 */
export interface UpdateSessionRequest {
  name?: string;
  sessionState?: SessionState;
  metadata?: Record<string, unknown>;
  at: string;
}

/** The most a session's metadata may weigh as JSON: it is in the session's memo, read by every listing. */
export const MAX_SESSION_METADATA_BYTES = 16 * 1024;

/** The longest name a session may be given (as many characters as a name taken from a first run's input). */
export const MAX_SESSION_NAME_CHARS = 1_000;

/** What is wrong with a session change, or `undefined` when it fits: the limits on its name, metadata and state. */
export function sessionUpdateProblem(request: UpdateSessionRequest): string | undefined {
  if (request.name !== undefined && request.name.length > MAX_SESSION_NAME_CHARS) {
    return `a session name may be ${MAX_SESSION_NAME_CHARS} characters at most; this one has ${request.name.length}`;
  }
  const metadataBytes = request.metadata === undefined ? 0 : sessionStateBytes(request.metadata);
  if (metadataBytes > MAX_SESSION_METADATA_BYTES) {
    return `the session metadata would be ${metadataBytes} bytes as JSON; the limit is ${MAX_SESSION_METADATA_BYTES}`;
  }
  const stateBytes = request.sessionState === undefined ? 0 : sessionStateBytes(request.sessionState);
  if (stateBytes > MAX_SESSION_STATE_BYTES) {
    return `the session state would be ${stateBytes} bytes as JSON; the limit is ${MAX_SESSION_STATE_BYTES}`;
  }
  return undefined;
}

/** The activity inputs that reach a session: the request, and the session it is for. */
export interface SessionCall<Request> {
  sessionId: string;
  request: Request;
}

/** A fresh session, as its first run (or the first write to it) creates it. */
export function newSession(sessionId: string, at: string, userId?: string): SessionSnapshot {
  return {
    version: SESSION_FORMAT_VERSION,
    sessionId,
    ...(userId !== undefined ? { userId } : {}),
    createdAt: at,
    updatedAt: at,
    sessionState: {},
    turns: [],
  };
}

/** The changes that turn `before` into `after`, or `undefined` when there are none. Values compare as JSON. */
export function sessionStateChanges(before: SessionState, after: SessionState): SessionStateChanges | undefined {
  const set: SessionState = {};
  for (const [key, value] of Object.entries(after)) {
    if (!(key in before) || JSON.stringify(before[key]) !== JSON.stringify(value)) set[key] = value;
  }
  const unset = Object.keys(before).filter((key) => !(key in after));
  return Object.keys(set).length > 0 || unset.length > 0 ? { set, unset } : undefined;
}

/** `state` with `changes` applied (a new object). */
export function applySessionStateChanges(state: SessionState, changes: SessionStateChanges | undefined): SessionState {
  if (!changes) return state;
  const next = { ...state, ...changes.set };
  for (const key of changes.unset) delete next[key];
  return next;
}

/**
 * `over` merged into `base` as the framework merges the state a run is given over the stored one: nested objects
 * merge key by key, any other value replaces what was there. A new object; neither argument changes.
 */
export function mergeSessionState(base: SessionState, over: SessionState | undefined): SessionState {
  if (!over) return base;
  const merged: SessionState = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeSessionState(current, value) : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is SessionState {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The size of a session state as JSON, in bytes (UTF-8). */
export function sessionStateBytes(state: SessionState): number {
  return new TextEncoder().encode(JSON.stringify(state)).length;
}

/** A run as a turn its session remembers, cut to {@link MAX_TURN_CHARS} and {@link MAX_TURN_TEXT_BYTES} each way. */
export function sessionTurn(run: SessionTurn): SessionTurn {
  const why = `earlier runs are cut to ${MAX_TURN_CHARS} characters in a session's history`;
  return boundTurnBytes({
    ...run,
    input: truncateText(run.input, MAX_TURN_CHARS, why),
    content: truncateText(run.content, MAX_TURN_CHARS, why),
  });
}

/** A turn with its input and answer cut to {@link MAX_TURN_TEXT_BYTES} each as JSON (what the session enforces). */
export function boundTurnBytes(turn: SessionTurn): SessionTurn {
  const why = `earlier runs are cut to ${MAX_TURN_TEXT_BYTES / 1024} KB in a session's history`;
  return {
    ...turn,
    input: truncateToJsonBytes(turn.input, MAX_TURN_TEXT_BYTES, why),
    content: truncateToJsonBytes(turn.content, MAX_TURN_TEXT_BYTES, why),
  };
}

/** `turns` less the oldest, until they weigh at most `maxBytes` as JSON (the newest is kept, bounded as it is). */
export function keepTurnsWithin(turns: SessionTurn[], maxBytes: number): SessionTurn[] {
  let total = 0;
  let first = turns.length;
  while (first > 0) {
    const weight = jsonBytes(turns[first - 1]) + 1;
    if (total + weight > maxBytes && first < turns.length) break;
    total += weight;
    first -= 1;
  }
  return first === 0 ? turns : turns.slice(first);
}

/** Earlier turns as the messages that go before a run's input, oldest first, each marked as history. */
export function historyMessages(turns: SessionTurn[]): Message[] {
  return turns.flatMap((turn): Message[] => [
    { role: 'user', content: turn.input, fromHistory: true },
    { role: 'assistant', content: turn.content, fromHistory: true },
  ]);
}
