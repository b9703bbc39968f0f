import { Hono } from 'hono';

/**
 * The framework's server features that kern does not provide, by the paths that serve them there (agno 3.1.10's
 * `os/routers`). They belong to the framework's database (memories, knowledge bases, evaluations, learnings, traces
 * and usage metrics), outside what kern runs on Temporal. Each answers with a 404 that names the feature, so a client
 * that asks learns that this server does not have it, rather than that it mistyped a path.
 */
const NOT_PROVIDED: ReadonlyArray<{ feature: string; paths: readonly string[] }> = [
  { feature: 'memories', paths: ['/memories', '/memory_topics', '/user_memory_stats', '/optimize-memories'] },
  { feature: 'knowledge', paths: ['/knowledge'] },
  { feature: 'evals', paths: ['/eval-runs'] },
  { feature: 'learnings', paths: ['/learnings'] },
  { feature: 'traces', paths: ['/traces', '/trace_session_stats'] },
  { feature: 'metrics', paths: ['/metrics'] },
];

/** The 404s of the features in {@link NOT_PROVIDED}, for every method, on each path and everything under it. */
export function notProvidedRoutes(): Hono {
  const routes = new Hono();
  for (const { feature, paths } of NOT_PROVIDED) {
    const detail =
      `This server does not provide ${feature}: kern serves runs, sessions and schedules on Temporal, ` +
      "not the framework's database features (see kern's HTTP API guide)";
    for (const path of paths) {
      routes.all(path, (c) => c.json({ detail }, 404));
      routes.all(`${path}/*`, (c) => c.json({ detail }, 404));
    }
  }
  return routes;
}
