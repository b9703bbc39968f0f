/** A test's HTTP client for kern's server: form posts, and SSE read frame by frame as a client would. */

export interface SseFrame {
  event: string;
  data: string;
  id?: string;
  /** `data` parsed as JSON. */
  json: Record<string, unknown>;
}

/** POSTs a form (urlencoded, as the framework's Python client sends it). */
export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
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
