import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KernWorker } from './start-worker';

/** How long a readiness check waits for Temporal's health service. */
const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/**
 * A worker's liveness and readiness over HTTP, for an orchestrator: `GET /livez` is 200 while the worker runs or
 * drains (503 once it has failed or stopped); `GET /readyz` is 200 while it polls for work and Temporal answers its
 * health check, and 503 otherwise, with the worker's state in lower case (`stopping`, `draining`, `drained`,
 * `stopped`, `failed`) or `temporal unreachable`. A port in use is an error here, before the worker is relied on.
 */
export async function serveWorkerHealth(
  worker: KernWorker,
  options: { port: number; hostname?: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    void answer(request.method, request.url).then(({ status, body }) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
  });
  const answer = async (method: string | undefined, url: string | undefined) => {
    const state = worker.worker.getState();
    if (method !== 'GET') return { status: 405, body: { detail: 'Method Not Allowed' } };
    if (url === '/livez') {
      const alive = state !== 'FAILED' && state !== 'STOPPED';
      return { status: alive ? 200 : 503, body: { status: alive ? 'ok' : state.toLowerCase() } };
    }
    if (url === '/readyz') {
      if (state !== 'RUNNING') return { status: 503, body: { status: state.toLowerCase() } };
      try {
        await worker.connection.withDeadline(Date.now() + HEALTH_CHECK_TIMEOUT_MS, () =>
          worker.connection.healthService.check({}),
        );
        return { status: 200, body: { status: 'ready', task_queue: worker.taskQueue } };
      } catch {
        return { status: 503, body: { status: 'temporal unreachable' } };
      }
    }
    return { status: 404, body: { detail: 'Not Found' } };
  };
  const hostname = options.hostname ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
