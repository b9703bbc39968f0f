import { WebSocket } from 'ws';

/** A test's HTTP client for kern's server: form posts, SSE read frame by frame as a client would, and WebSockets. */

export interface SseFrame {
  event: string;
  data: string;
  id?: string;
  /** `data` parsed as JSON. */
  json: Record<string, unknown>;
}

/** A response's wire JSON, loosely typed: the tests check its shape field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Wire = any;

/** A response's status and JSON body. */
export async function statusAndJson(response: Response): Promise<{ status: number; body: Wire }> {
  return { status: response.status, body: (await response.json()) as Wire };
}

/** POSTs a form (urlencoded, as the framework's Python client sends it). */
export function postForm(
  url: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    ...(signal ? { signal } : {}),
  });
}

/**
 * The SSE frames of a response, as they arrive. Stop iterating to disconnect: the body is cancelled, and the server
 * sees the client go away.
 */
export async function* sseFrames(response: Response): AsyncGenerator<SseFrame, void> {
  if (!response.body) throw new Error('no body');
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const frame: Partial<SseFrame> = {};
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) frame.event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
          else if (line.startsWith('id: ')) frame.id = line.slice(4);
        }
        if (!frame.event) continue;
        frame.data = data.join('\n');
        frame.json = JSON.parse(frame.data) as Record<string, unknown>;
        yield frame as SseFrame;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Every frame until the server ends the stream, or the first `limit`, then disconnects. */
export async function readFrames(response: Response, limit = Infinity): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  if (limit <= 0) return frames;
  for await (const frame of sseFrames(response)) {
    frames.push(frame);
    if (frames.length >= limit) break;
  }
  return frames;
}

/** A WebSocket client that collects what the server sends and can wait for a message. */
export async function openSocket(url: string, options: { origin?: string } = {}) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), options.origin ? { origin: options.origin } : {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  const received: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (data) => {
    received.push(String(data));
    for (const wake of waiters) wake();
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const waitFor = async (predicate: (message: string) => boolean, timeoutMs = 15_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(predicate);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no such message; got ${received.slice(-3).join(' | ')}`);
      await new Promise<void>((resolve) => {
        waiters.add(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const send = (message: unknown) => socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  return { socket, received, waitFor, send, closed, close: () => socket.close() };
}
