import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

/**
 * A TLS endpoint in front of a plain Temporal server, as a cluster or Temporal Cloud presents one: it ends TLS with
 * the given certificate and forwards each gRPC call, headers, body and trailers, to the server. It keeps the headers
 * of every call, so a test sees what a client sent (its API key).
 */
export interface GrpcTlsProxy {
  /** `127.0.0.1:<port>`. */
  address: string;
  /** The request headers of each call, in order. */
  calls: http2.IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function startGrpcTlsProxy(upstream: string, tls: { key: Buffer; cert: Buffer }): Promise<GrpcTlsProxy> {
  const target = http2.connect(`http://${upstream}`);
  target.on('error', () => undefined);
  const calls: http2.IncomingHttpHeaders[] = [];
  const server = http2.createSecureServer({ ...tls, ALPNProtocols: ['h2'] });
  server.on('stream', (stream, headers) => {
    calls.push(headers);
    const forwarded: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name === ':method' || name === ':path' || !name.startsWith(':')) forwarded[name] = value;
    }
    const call = target.request(forwarded);
    let trailers: http2.IncomingHttpHeaders = {};
    call.on('response', (response) => {
      const answer = { ...response };
      delete answer[':status'];
      // A gRPC error with no body comes as headers only ("trailers-only"): passed on as such.
      if (response['grpc-status'] !== undefined)
        stream.respond({ ':status': response[':status'], ...answer }, { endStream: true });
      else stream.respond({ ':status': response[':status'], ...answer }, { waitForTrailers: true });
    });
    call.on('trailers', (received) => (trailers = received));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers));
    call.on('data', (chunk) => {
      if (!stream.destroyed && !stream.closed) stream.write(chunk);
    });
    call.on('end', () => {
      if (!stream.destroyed && !stream.closed && stream.headersSent) stream.end();
    });
    call.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('data', (chunk) => call.write(chunk));
    stream.on('end', () => call.end());
    stream.on('close', () => call.close());
    stream.on('error', () => undefined);
  });
  server.on('secureConnection', (socket) => socket.on('error', () => undefined));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    calls,
    async close() {
      for (const session of sessions) session.destroy();
      target.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
