import type { KernClient } from '../client/kern-client';
import type { Catalog } from './catalog';
import type { RunFeeds } from './run-feeds';

/** What the routes use; the client connects on first use, so creating the server never waits for Temporal. */
export interface ServerDeps {
  client: KernClient;
  catalog: Catalog;
  feeds: RunFeeds;
}
