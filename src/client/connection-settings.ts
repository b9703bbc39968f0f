import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { ConnectionOptions } from '@temporalio/client';

/**
 * Where Temporal is and how to reach it, as Temporal's own tools define it (`@temporalio/envconfig`): the
 * environment (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, `TEMPORAL_PROFILE`,
 * `TEMPORAL_CONFIG_FILE`) over a profile of the `temporal.toml` config file, and explicit settings over both. The
 * client, the worker, the server and the CLI all connect through here, so one set of variables points all of them at
 * a cluster: Temporal Cloud with an API key, or a self-hosted one with mTLS.
 */

/** Settings given in code or on the command line; each wins over the environment and the config file. */
export interface ConnectionSettings {
  /** `host:port`; default `TEMPORAL_ADDRESS`, the profile's, else `localhost:7233`. */
  address?: string;
  /** Default `TEMPORAL_NAMESPACE`, the profile's, else `default`. */
  namespace?: string;
  /** The config file's profile to use; default `TEMPORAL_PROFILE`, else `default`. */
  profile?: string;
}

/** What to connect with: the options both Temporal connections (client and worker) take, and the namespace. */
export interface ResolvedConnection {
  address: string;
  namespace: string;
  connectionOptions: Pick<ConnectionOptions, 'address' | 'tls' | 'metadata'> & { apiKey?: string };
}

export function resolveConnection(settings: ConnectionSettings = {}): ResolvedConnection {
  const { connectionOptions, namespace } = loadClientConnectConfig(
    settings.profile !== undefined ? { profile: settings.profile } : {},
  );
  const address = settings.address ?? connectionOptions.address ?? 'localhost:7233';
  return {
    address,
    namespace: settings.namespace ?? namespace ?? 'default',
    connectionOptions: {
      address,
      ...(connectionOptions.tls !== undefined ? { tls: connectionOptions.tls as ConnectionOptions['tls'] } : {}),
      ...(connectionOptions.apiKey !== undefined ? { apiKey: connectionOptions.apiKey as string } : {}),
      ...(connectionOptions.metadata !== undefined ? { metadata: connectionOptions.metadata } : {}),
    },
  };
}
