import { start as startMongoWire } from '../servers/mongo-wire.ts';
import { redact } from './redact.ts';

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
    ? 'a mongo-java-server already running on this machine, reused (in memory; shared: it stops when its last user does, never under this stack)'
    : 'mongo-java-server, in memory: a wire-compatible substitute';
  return {
    env: { MONGO_URL: server.url, MONGO_DATABASE: database },
    line: `MongoDB      ${server.url} database ${database} (${owner})`,
  };
}

/** What `npm start` uses for MongoDB: its settings, its start line, and what to call when it stops. */
export interface StackMongo {
  readonly env: Record<string, string>;
  readonly line: string;
  stop(): Promise<void>;
}

/**
 * `npm start`'s MongoDB: MONGO_URL when set, else the machine's MongoDB wire server (mongo-java-server, in
 * memory; a substitute: no transactions, no TTL expiry), started or joined as one of its users — it stops
 * only when its last user does, so a test run ending never takes the stack's data with it. Either way the
 * stack uses a database of its own (MONGO_DATABASE, default `isekai-dev-<edge port>`). Without Java: no
 * MongoDB (subtitles and inboxes answer 503), said through `say`.
 */
export async function startStackMongo(edgePort: number, say: (line: string) => void): Promise<StackMongo> {
  const database = process.env.MONGO_DATABASE ?? stackMongoDatabase(edgePort);
  const none = async () => {};
  if (process.env.MONGO_URL) {
    const url = process.env.MONGO_URL;
    return {
      env: { MONGO_URL: url, MONGO_DATABASE: database },
      line: `MongoDB      ${redact(url)} database ${database} (from MONGO_URL)`,
      stop: none,
    };
  }
  const mongo = await startMongoWire().catch((error: unknown) => {
    say(`MongoDB wire server not started: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
  if (!mongo)
    return {
      env: {},
      line: 'MongoDB      none (set MONGO_URL, or install Java: subtitles and inboxes answer 503)',
      stop: none,
    };
  const settings = mongoWireSettings(
    { url: mongo.env.MONGO_URL ?? '', reused: mongo.reused },
    edgePort,
    database,
  );
  return { ...settings, stop: mongo.stop };
}
