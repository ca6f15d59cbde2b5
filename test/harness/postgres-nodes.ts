/**
 * Several servers on one PostgreSQL database, as nodes of one installation: a fresh database in the test
 * cluster, each node a whole server on its own ports and data_dir; stop() ends the nodes, drops the database.
 */
import { startTestServer, type TestServer, type TestServerOptions } from './server.ts';
import { testPostgres, type TestPostgres } from './postgres.ts';

export interface PostgresNodes {
  /** The nodes started with the set-up, in order (node A, node B, ...). */
  nodes: TestServer[];
  url: string;
  /** One more node on the same database (a node started later), stopped with the others unless stopped before. */
  startNode(config?: TestServerOptions['config']): Promise<TestServer>;
  stop(): Promise<void>;
}

/**
 * `count` nodes with `config` (storage set to the shared database; pool_size 4 unless the config says) and
 * the other server options in `server` (host name, queue).
 */
export async function startPostgresNodes(count: number, config: TestServerOptions['config'] = {}, server: Pick<TestServerOptions, 'hostname' | 'startQueue'> = {}): Promise<PostgresNodes> {
  const cluster: TestPostgres = await testPostgres();
  const url = await cluster.createDatabase();
  const started: TestServer[] = [];
  const startNode = async (own: TestServerOptions['config'] = config): Promise<TestServer> => {
    const patch = own as Record<string, unknown>;
    const node = await startTestServer({ ...server, config: { ...patch, storage: { poolSize: 4, ...(patch.storage as object | undefined), backend: 'postgres', url } } as never });
    started.push(node);
    return node;
  };
  const stop = async (): Promise<void> => {
    for (const node of started) await node.stop().catch(() => undefined);
    try {
      await cluster.dropDatabase(url);
    } finally {
      await cluster.stop();
    }
  };
  try {
    for (let i = 0; i < count; i++) await startNode();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { nodes: [...started], url, startNode, stop };
}
