/** A real server the integration tests talk to, started (or found running) by the harness. */
export interface StartedServer {
  /** 'ceph-rgw' | 'mongo-wire' | 'zipkin' */
  name: string;
  /** Environment variables that point functions and tests at this server. */
  env: Record<string, string>;
  /** True when one was already answering on our port: we did not start it and will not stop it. */
  reused: boolean;
  /** Milliseconds taken to start it (or to find it running). */
  ms: number;
  /** Stops only what we started and removes its data directory; a no-op when reused. */
  stop(): Promise<void>;
}

export type StartServer = () => Promise<StartedServer>;
