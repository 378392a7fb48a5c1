import { MongoClient } from 'mongodb';
import type { Runtime } from '../runtime.ts';

/** A MongoDB client with short server-selection timeouts, so an outage is a fast 503, not a hang. */
export function createMongo(runtime: Runtime, url: string): MongoClient {
  const client = new MongoClient(url, {
    serverSelectionTimeoutMS: 2_000,
    connectTimeoutMS: 2_000,
    maxPoolSize: 10,
    appName: runtime.name,
  });
  runtime.addCheck('mongodb', () => client.db('admin').command({ ping: 1 }));
  runtime.onShutdown(() => client.close());
  return client;
}
