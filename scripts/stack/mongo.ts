/**
 * The MongoDB settings of a local stack (`npm start`): its own database on whatever server it uses, so two
 * stacks on other ISEKAI_PORT_BASEs never share subtitles or inboxes (as the RabbitMQ vhost
 * `isekai-dev-<edge port>` and the Redis prefix `isekai:dev:<edge port>:` keep their other data apart).
 */

/** This stack's MongoDB database name: `isekai-dev-<edge port>` (MONGO_DATABASE of the functions). */
export const stackMongoDatabase = (edgePort: number) => `isekai-dev-${edgePort}`;

export interface MongoServerFacts {
  readonly url: string;
  /** Whether a server already answering on the port was reused (another stack's, or the test harness's). */
  readonly reused: boolean;
}

/** The functions' MONGO_* settings and the start banner's line for the mongo-wire server. */
export function mongoWireSettings(
  server: MongoServerFacts,
  edgePort: number,
  database = stackMongoDatabase(edgePort),
): { env: Record<string, string>; line: string } {
  const owner = server.reused
    ? 'a mongo-java-server already running on this machine, reused (shared server, in memory; not stopped with this stack)'
    : 'mongo-java-server, in memory: a wire-compatible substitute';
  return {
    env: { MONGO_URL: server.url, MONGO_DATABASE: database },
    line: `MongoDB      ${server.url} database ${database} (${owner})`,
  };
}
