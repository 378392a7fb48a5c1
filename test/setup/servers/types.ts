export interface StartedServer {
  name: string;
  env: Record<string, string>;
  reused: boolean;
  ms: number;
  stop(): Promise<void>;
}
