import { describe, expect, it } from 'vitest';
import { mongoWireSettings, stackMongoDatabase } from './mongo.ts';

describe("a local stack's MongoDB settings", () => {
  it('gives each stack its own database, named after its edge port', () => {
    const a = mongoWireSettings({ url: 'mongodb://127.0.0.1:47017', reused: false }, 8100);
    const b = mongoWireSettings({ url: 'mongodb://127.0.0.1:47017', reused: true }, 8300);
    expect(a.env).toEqual({ MONGO_URL: 'mongodb://127.0.0.1:47017', MONGO_DATABASE: 'isekai-dev-8100' });
    expect(b.env.MONGO_DATABASE).toBe('isekai-dev-8300');
    expect(stackMongoDatabase(8300)).toBe('isekai-dev-8300');
  });

  it('says in the banner when it reused a server already running, and when it started its own', () => {
    const reused = mongoWireSettings({ url: 'mongodb://127.0.0.1:47017', reused: true }, 8300).line;
    expect(reused).toContain('database isekai-dev-8300');
    expect(reused).toMatch(/already running on this machine, reused/);
    const own = mongoWireSettings({ url: 'mongodb://127.0.0.1:47017', reused: false }, 8100).line;
    expect(own).not.toMatch(/reused/);
    expect(own).toContain('in memory');
  });

  it('keeps a MONGO_DATABASE given by the user', () => {
    expect(mongoWireSettings({ url: 'mongodb://x', reused: false }, 8100, 'mine').env.MONGO_DATABASE).toBe(
      'mine',
    );
  });
});
