/** A real server the integration tests talk to, started (or found running) by the harness. */
export interface StartedServer {
  /** 'ceph-rgw' | 'mongo-wire' | 'zipkin' | 'keycloak' */
  name: string;
  /** Environment variables that point functions and tests at this server. */
  env: Record<string, string>;
  /** True when one was already answering on our port (another run's, or one started by hand). */
  reused: boolean;
  /** Milliseconds taken to start it (or to find it running). */
  ms: number;
  /** Gives back this user's lease: the server stops (and its data directory goes) when no other live
   * user holds one, whoever started it; one started by hand is never stopped (scripts/servers/shared-server.ts). */
  stop(): Promise<void>;
}

export type StartServer = () => Promise<StartedServer>;
